//! `zitadel.user.v2.UserService/SetPassword`: a new password, proven by a reset code, by the
//! current password, or by the caller's permission alone.

use rekey_application::Ports;
use rekey_application::usecase::set_password::{self, Error, Input, Verification};
use rekey_domain::{Details, Password, PlainCode, Principal};
use rekey_proto::zitadel::user::v2::{
    SetPasswordRequest, SetPasswordResponse, set_password_request,
};

use super::add_human_user::weak_password;
use super::fields::{self, permission_denied, required};
use crate::status::{Code, Status};

/// Checks the request's fields.
///
/// # Errors
/// Code 3 for a missing new password or a field of the wrong length.
pub fn input(request: SetPasswordRequest) -> Result<Input, Status> {
    let user_id = fields::user_id("SetPasswordRequest.UserId", request.user_id)?;
    let new = request
        .new_password
        .ok_or_else(|| required("SetPasswordRequest.NewPassword"))?;
    let password = fields::text("Password.Password", new.password, 1, 200)?;
    let verification = match request.verification {
        Some(set_password_request::Verification::VerificationCode(code)) => {
            Verification::Code(PlainCode::new(fields::text(
                "SetPasswordRequest.VerificationCode",
                code,
                1,
                20,
            )?))
        }
        Some(set_password_request::Verification::CurrentPassword(current)) => {
            Verification::CurrentPassword(Password::new(fields::text(
                "SetPasswordRequest.CurrentPassword",
                current,
                1,
                200,
            )?))
        }
        None => Verification::None,
    };
    Ok(Input {
        user_id,
        new_password: Password::new(password),
        change_required: new.change_required,
        verification,
    })
}

/// ZITADEL's code, id and text for each refusal.
#[must_use]
pub fn error(error: Error) -> Status {
    let precondition = |id, message: &str| Status::with_id(Code::FailedPrecondition, id, message);
    let invalid = |id, message: &str| Status::with_id(Code::InvalidArgument, id, message);
    match error {
        Error::UserNotFound => precondition("COMMAND-G8dh3", "User could not be found"),
        Error::UserNotInitialized => precondition("COMMAND-Sfe4g", "User is not yet initialized"),
        Error::PermissionDenied => permission_denied(),
        Error::Exhausted(exhausted) => Status::exhausted(&exhausted),
        Error::CodeNotFound => precondition("COMMAND-2M9fs", "Code not found"),
        Error::CodeExpired => precondition("CODE-QvUQ4P", "Code is expired"),
        Error::CodeInvalid => invalid("CODE-woT0xc", "Code is invalid"),
        Error::CurrentPasswordInvalid { failed_attempts } => Status::credentials(
            Code::InvalidArgument,
            "COMMAND-3M0fs",
            "Password is invalid",
            failed_attempts,
        ),
        Error::UserLocked { failed_attempts } => Status::credentials(
            Code::FailedPrecondition,
            "COMMAND-JLK35",
            "User is locked",
            failed_attempts,
        ),
        Error::SamePassword => invalid(
            "COMMAND-Aesh5",
            "The new password must differ from the current one",
        ),
        Error::Password(weak) => weak_password(&weak),
        Error::Failure(failure) => Status::failure(failure),
    }
}

/// The details of the password change.
#[must_use]
pub fn response(changed: &Details) -> SetPasswordResponse {
    SetPasswordResponse {
        details: Some(fields::details(changed)),
    }
}

/// Runs SetPassword for `caller`.
///
/// # Errors
/// The refusal, as [`error`] maps it.
pub async fn call<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: SetPasswordRequest,
) -> Result<SetPasswordResponse, Status> {
    let input = input(request)?;
    let changed = set_password::execute(ports, caller, input)
        .await
        .map_err(error)?;
    Ok(response(&changed))
}
