//! `zitadel.user.v2.UserService/PasswordReset`: request a code to reset a password.

use rekey_application::Ports;
use rekey_application::ports::TemplateError;
use rekey_application::usecase::password_reset::{self, Error, Input, Output};
use rekey_domain::{NotificationType, Principal, ResetMedium, UrlTemplate};
use rekey_proto::zitadel::user::v2::{
    self as proto, PasswordResetRequest, PasswordResetResponse, password_reset_request::Medium,
};

use super::fields::{self, length_error, permission_denied, user_not_found};
use crate::status::{Code, Status};

/// Checks the request's fields (check 2 of PasswordReset's order).
///
/// # Errors
/// Code 3 with protoc-gen-validate's message for a user id or url template of the wrong length.
pub fn input(request: PasswordResetRequest) -> Result<Input, Status> {
    let user_id = fields::user_id("PasswordResetRequest.UserId", request.user_id)?;
    let medium = match request.medium {
        Some(Medium::SendLink(link)) => ResetMedium::SendLink {
            notification_type: notification_type(link.notification_type),
            url_template: link
                .url_template
                .map(UrlTemplate::try_from)
                .transpose()
                .map_err(|_| length_error("SendPasswordResetLink.UrlTemplate", 1, 200))?,
        },
        Some(Medium::ReturnCode(_)) => ResetMedium::ReturnCode,
        None => ResetMedium::default(),
    };
    Ok(Input { user_id, medium })
}

/// `NOTIFICATION_TYPE_SMS` is SMS; `Unspecified`, `Email` and numbers rekey does not know are
/// email (proto3 enums are open).
fn notification_type(number: i32) -> NotificationType {
    if number == proto::NotificationType::Sms as i32 {
        NotificationType::Sms
    } else {
        NotificationType::Email
    }
}

/// ZITADEL's code, id and text for each refusal.
#[must_use]
pub fn error(error: Error) -> Status {
    match error {
        // ZITADEL's words, then what was refused (a template part, never a value).
        Error::InvalidTemplate(TemplateError::Parse(why)) => Status::with_id(
            Code::InvalidArgument,
            "DOMAIN-oGh5e",
            format!("URL template is invalid: {why}"),
        ),
        Error::InvalidTemplate(TemplateError::Render(why)) => Status::with_id(
            Code::InvalidArgument,
            "DOMAIN-ieYa7",
            format!("URL template is invalid: {why}"),
        ),
        Error::InvalidTemplate(not_http @ TemplateError::NotHttp(_)) => Status::with_id(
            Code::InvalidArgument,
            "REKEY-UrlScheme",
            not_http.to_string(),
        ),
        Error::UserNotFound => user_not_found(),
        Error::UserNotInitialized => Status::with_id(
            Code::FailedPrecondition,
            "COMMAND-Sfe4g",
            "User is not yet initialized",
        ),
        Error::PermissionDenied => permission_denied(),
        Error::Exhausted(exhausted) => Status::exhausted(&exhausted),
        Error::SmsCountryNotAllowed(_) => Status::with_id(
            Code::FailedPrecondition,
            "REKEY-SmsCountry",
            error.to_string(),
        ),
        Error::NoRecipient(channel) => Status::with_id(
            Code::FailedPrecondition,
            match channel {
                NotificationType::Email => "REKEY-NoMail",
                NotificationType::Sms => "REKEY-NoPhone",
            },
            error.to_string(),
        ),
        Error::Failure(failure) => Status::failure(failure),
    }
}

/// The details, and the code for `returnCode`.
#[must_use]
pub fn response(output: &Output) -> PasswordResetResponse {
    PasswordResetResponse {
        details: Some(fields::details(&output.details)),
        verification_code: output.code.as_ref().map(|code| code.expose().to_owned()),
    }
}

/// Runs PasswordReset for `caller`.
///
/// # Errors
/// The refusal, as [`error`] maps it.
pub async fn call<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: PasswordResetRequest,
) -> Result<PasswordResetResponse, Status> {
    let input = input(request)?;
    let output = password_reset::execute(ports, caller, input)
        .await
        .map_err(error)?;
    Ok(response(&output))
}
