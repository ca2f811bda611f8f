//! The RPCs, independent of the route they came in on: request messages as protojson decodes
//! them, field validation (docs/API.md, PasswordReset check 2), the use case, and the response message.

use rekey_application::ports::TemplateError;
use rekey_application::usecase::{
    WeakPassword, add_organization, add_user, get_user, password_reset, set_password,
};
use rekey_application::{Failure, Ports};
use rekey_domain::{
    BoundedText, ContactError, Email, Language, OrgId, OrgName, Password, Phone, PlainCode,
    Principal, ResetMedium, UrlTemplate, User, UserId, UserKind, UserState, Username,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, Code};
use crate::json::{Empty, NotificationTypeJson, details, timestamp};

/// An infrastructure failure as an answer: 503 when it may pass, 500 otherwise.
pub(crate) fn failure(failure: Failure) -> ApiError {
    match failure {
        Failure::Unavailable(cause) => ApiError::unavailable(cause),
        Failure::Unexpected(cause) => ApiError::internal(cause),
    }
}

/// protoc-gen-validate's message for a length rule.
fn length_error(field: &str, min: usize, max: usize) -> ApiError {
    ApiError::invalid(format!(
        "invalid {field}: value length must be between {min} and {max} runes, inclusive"
    ))
}

fn required(field: &str) -> ApiError {
    ApiError::invalid(format!("invalid {field}: value is required"))
}

fn user_id(field: &str, value: Option<String>) -> Result<UserId, ApiError> {
    UserId::try_from(value.unwrap_or_default()).map_err(|_| length_error(field, 1, 200))
}

fn bounded<const MIN: usize, const MAX: usize>(
    field: &str,
    value: Option<String>,
) -> Result<BoundedText<MIN, MAX>, ApiError> {
    BoundedText::new(value.unwrap_or_default()).map_err(|_| length_error(field, MIN, MAX))
}

fn optional<const MIN: usize, const MAX: usize>(
    field: &str,
    value: Option<String>,
) -> Result<Option<BoundedText<MIN, MAX>>, ApiError> {
    value.map(|v| bounded(field, Some(v))).transpose()
}

fn permission_denied() -> ApiError {
    ApiError::with_id(
        Code::PermissionDenied,
        "AUTH-AWfge",
        "No matching permissions found",
    )
}

fn user_not_found() -> ApiError {
    ApiError::with_id(Code::NotFound, "COMMAND-SAF4f", "User could not be found")
}

// ---------------------------------------------------------------------------------------------
// PasswordReset

/// `PasswordResetRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PasswordResetRequest {
    #[serde(alias = "user_id")]
    pub user_id: Option<String>,
    #[serde(alias = "send_link")]
    send_link: Option<SendLink>,
    #[serde(alias = "return_code")]
    return_code: Option<Empty>,
}

/// `SendPasswordResetLink`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendLink {
    #[serde(alias = "notification_type")]
    notification_type: Option<NotificationTypeJson>,
    #[serde(alias = "url_template")]
    url_template: Option<String>,
}

/// The use case's input from a decoded request: the user id and the medium, checked.
pub(crate) fn password_reset_input(
    request: PasswordResetRequest,
) -> Result<password_reset::Input, ApiError> {
    let user_id = user_id("PasswordResetRequest.UserId", request.user_id)?;
    let medium = match (request.send_link, request.return_code) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "invalid PasswordResetRequest: only one of sendLink and returnCode may be set",
            ));
        }
        (Some(link), None) => ResetMedium::SendLink {
            notification_type: link.notification_type.unwrap_or_default().0,
            url_template: link
                .url_template
                .map(UrlTemplate::try_from)
                .transpose()
                .map_err(|_| length_error("SendPasswordResetLink.UrlTemplate", 1, 200))?,
        },
        (None, Some(_)) => ResetMedium::ReturnCode,
        (None, None) => ResetMedium::default(),
    };
    Ok(password_reset::Input { user_id, medium })
}

/// `PasswordResetResponse`: the details, and the code for `returnCode`.
pub(crate) fn password_reset_response(output: &password_reset::Output) -> Value {
    let mut response = json!({ "details": details(&output.details) });
    if let Some(code) = &output.code {
        response["verificationCode"] = Value::from(code.expose());
    }
    response
}

pub(crate) async fn password_reset<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: PasswordResetRequest,
) -> Result<Value, ApiError> {
    let input = password_reset_input(request)?;
    let output = password_reset::execute(ports, caller, input)
        .await
        .map_err(|error| {
            use password_reset::Error as E;
            match error {
                // ZITADEL's words, then what was refused (a template part, never a value).
                E::InvalidTemplate(TemplateError::Parse(why)) => ApiError::with_id(
                    Code::InvalidArgument,
                    "DOMAIN-oGh5e",
                    format!("URL template is invalid: {why}"),
                ),
                E::InvalidTemplate(TemplateError::Render(why)) => ApiError::with_id(
                    Code::InvalidArgument,
                    "DOMAIN-ieYa7",
                    format!("URL template is invalid: {why}"),
                ),
                E::InvalidTemplate(not_http @ TemplateError::NotHttp(_)) => ApiError::with_id(
                    Code::InvalidArgument,
                    "REKEY-UrlScheme",
                    not_http.to_string(),
                ),
                E::UserNotFound => user_not_found(),
                E::UserNotInitialized => ApiError::with_id(
                    Code::FailedPrecondition,
                    "COMMAND-Sfe4g",
                    "User is not yet initialized",
                ),
                E::PermissionDenied => permission_denied(),
                E::Exhausted(exhausted) => ApiError::exhausted(&exhausted),
                E::SmsCountryNotAllowed(_) => ApiError::with_id(
                    Code::FailedPrecondition,
                    "REKEY-SmsCountry",
                    error.to_string(),
                ),
                E::NoRecipient(channel) => ApiError::with_id(
                    Code::FailedPrecondition,
                    match channel {
                        rekey_domain::NotificationType::Email => "REKEY-NoMail",
                        rekey_domain::NotificationType::Sms => "REKEY-NoPhone",
                    },
                    error.to_string(),
                ),
                E::Failure(f) => failure(f),
            }
        })?;
    Ok(password_reset_response(&output))
}

// ---------------------------------------------------------------------------------------------
// GetUserByID

/// `GetUserByIDRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetUserRequest {
    #[serde(alias = "user_id")]
    pub user_id: Option<String>,
}

fn state_name(state: UserState) -> &'static str {
    match state {
        UserState::Initial => "USER_STATE_INITIAL",
        UserState::Active => "USER_STATE_ACTIVE",
        UserState::Inactive => "USER_STATE_INACTIVE",
        UserState::Locked => "USER_STATE_LOCKED",
        UserState::Deleted => "USER_STATE_DELETED",
    }
}

/// Inserts `value` only when it is not the proto default (`false`, `""`).
fn set_if(map: &mut Map<String, Value>, key: &str, value: Value) {
    let is_default = matches!(&value, Value::Bool(false) | Value::Null)
        || value.as_str().is_some_and(str::is_empty);
    if !is_default {
        map.insert(key.to_owned(), value);
    }
}

fn user_json(user: &User) -> Value {
    let details = json!({
        "sequence": user.sequence.to_string(),
        "changeDate": timestamp(user.changed_at),
        "resourceOwner": user.org_id.as_str(),
    });
    let mut body = json!({
        "userId": user.id.as_str(),
        "details": details,
        "state": state_name(user.state),
        "username": user.username,
        "loginNames": user.login_names(),
        "preferredLoginName": user.username,
    });
    match &user.kind {
        UserKind::Human(p) => {
            let mut profile = Map::new();
            set_if(&mut profile, "givenName", json!(p.given_name));
            set_if(&mut profile, "familyName", json!(p.family_name));
            set_if(&mut profile, "displayName", json!(p.display_name));
            set_if(
                &mut profile,
                "preferredLanguage",
                json!(p.preferred_language.as_ref().map(Language::as_str)),
            );
            let mut email = Map::new();
            set_if(&mut email, "email", json!(p.email.as_str()));
            set_if(&mut email, "isVerified", json!(p.email_verified));
            let mut phone = Map::new();
            set_if(
                &mut phone,
                "phone",
                json!(p.phone.as_ref().map(Phone::as_str)),
            );
            set_if(&mut phone, "isVerified", json!(p.phone_verified));
            let mut human = Map::new();
            human.insert("profile".into(), Value::Object(profile));
            human.insert("email".into(), Value::Object(email));
            human.insert("phone".into(), Value::Object(phone));
            set_if(
                &mut human,
                "passwordChangeRequired",
                json!(p.password_change_required),
            );
            set_if(
                &mut human,
                "passwordChanged",
                json!(p.password_changed.map(timestamp)),
            );
            body["human"] = Value::Object(human);
        }
        UserKind::Machine { name } => body["machine"] = json!({ "name": name }),
    }
    json!({ "details": details, "user": body })
}

pub(crate) async fn get_user<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: GetUserRequest,
) -> Result<Value, ApiError> {
    let user_id = user_id("GetUserByIDRequest.UserId", request.user_id)?;
    let user = get_user::execute(ports, caller, &user_id)
        .await
        .map_err(|error| match error {
            get_user::Error::NotFound => user_not_found(),
            get_user::Error::PermissionDenied => permission_denied(),
            get_user::Error::Failure(f) => failure(f),
        })?;
    Ok(user_json(&user))
}

// ---------------------------------------------------------------------------------------------
// AddHumanUser

/// `AddHumanUserRequest` (the fields rekey uses; others are ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AddHumanUserRequest {
    #[serde(alias = "user_id")]
    user_id: Option<String>,
    username: Option<String>,
    organization: Option<OrganizationRef>,
    profile: Option<ProfileDto>,
    email: Option<EmailDto>,
    phone: Option<PhoneDto>,
    password: Option<PasswordDto>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationRef {
    #[serde(alias = "org_id")]
    org_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileDto {
    #[serde(alias = "given_name")]
    given_name: Option<String>,
    #[serde(alias = "family_name")]
    family_name: Option<String>,
    #[serde(alias = "display_name")]
    display_name: Option<String>,
    #[serde(alias = "preferred_language")]
    preferred_language: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailDto {
    email: Option<String>,
    #[serde(alias = "is_verified")]
    is_verified: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneDto {
    phone: Option<String>,
    #[serde(alias = "is_verified")]
    is_verified: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordDto {
    password: Option<String>,
    #[serde(alias = "change_required")]
    change_required: Option<bool>,
}

pub(crate) async fn add_human_user<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: AddHumanUserRequest,
) -> Result<Value, ApiError> {
    let profile = request
        .profile
        .ok_or_else(|| required("AddHumanUserRequest.Profile"))?;
    let email = request
        .email
        .ok_or_else(|| required("AddHumanUserRequest.Email"))?;
    let email_address = email.email.unwrap_or_default();
    if email_address.is_empty() || email_address.chars().count() > 200 {
        return Err(length_error("SetHumanEmail.Email", 1, 200));
    }
    let phone = request
        .phone
        .and_then(|p| {
            p.phone
                .filter(|n| !n.is_empty())
                .map(|n| (n, p.is_verified))
        })
        .map(|(number, verified)| {
            Phone::try_from(number)
                .map(|phone| (phone, verified.unwrap_or(false)))
                .map_err(|error| match error {
                    ContactError::PremiumRate => ApiError::with_id(
                        Code::InvalidArgument,
                        "REKEY-PhonePremium",
                        "Phone is a premium-rate number; rekey does not text those",
                    ),
                    _ => {
                        ApiError::with_id(Code::InvalidArgument, "PHONE-so0wa", "Phone is invalid")
                    }
                })
        })
        .transpose()?;
    let password = request
        .password
        .map(|p| -> Result<_, ApiError> {
            let text = p.password.unwrap_or_default();
            if text.is_empty() || text.chars().count() > 200 {
                return Err(length_error("Password.Password", 1, 200));
            }
            Ok((Password::new(text), p.change_required.unwrap_or(false)))
        })
        .transpose()?;
    let input = add_user::HumanInput {
        user_id: request
            .user_id
            .map(|id| user_id("AddHumanUserRequest.UserId", Some(id)))
            .transpose()?,
        username: optional::<1, 200>("AddHumanUserRequest.Username", request.username)?
            .map(|u| Username::new(u.as_str()))
            .transpose()
            .map_err(|_| length_error("AddHumanUserRequest.Username", 1, 200))?,
        org_id: request
            .organization
            .and_then(|o| o.org_id)
            .map(|id| OrgId::try_from(id).map_err(|_| length_error("Organization.OrgId", 1, 200)))
            .transpose()?,
        given_name: bounded("SetHumanProfile.GivenName", profile.given_name)?,
        family_name: bounded("SetHumanProfile.FamilyName", profile.family_name)?,
        display_name: optional("SetHumanProfile.DisplayName", profile.display_name)?,
        preferred_language: profile
            .preferred_language
            .filter(|l| !l.is_empty())
            .map(|l| {
                Language::new(&l).map_err(|_| {
                    ApiError::with_id(
                        Code::InvalidArgument,
                        "LANG-lg4DP",
                        "Language is not supported",
                    )
                })
            })
            .transpose()?,
        email: Email::try_from(email_address).map_err(|_| {
            ApiError::with_id(Code::InvalidArgument, "EMAIL-599BI", "Email is invalid")
        })?,
        email_verified: email.is_verified.unwrap_or(false),
        phone_verified: phone.as_ref().is_some_and(|(_, verified)| *verified),
        phone: phone.map(|(phone, _)| phone),
        password_change_required: password.as_ref().is_some_and(|(_, change)| *change),
        password: password.map(|(password, _)| password),
        initial: false,
    };
    let output = add_user::add_human(ports, caller, input)
        .await
        .map_err(add_user_error)?;
    Ok(json!({ "userId": output.user_id.as_str(), "details": details(&output.details) }))
}

/// A refused new password: 400 code 3, with ZITADEL's policy id or rekey's own.
fn weak_password(weak: &WeakPassword) -> ApiError {
    let id = match weak {
        WeakPassword::Policy(violation) => violation.id(),
        WeakPassword::TooWeak { .. } => "REKEY-PwWeak",
    };
    ApiError::with_id(Code::InvalidArgument, id, weak.to_string())
}

fn add_user_error(error: add_user::Error) -> ApiError {
    use add_user::Error as E;
    match error {
        E::PermissionDenied => permission_denied(),
        E::OrgNotFound => {
            ApiError::with_id(Code::NotFound, "REKEY-Org404", "Organisation not found")
        }
        E::Password(weak) => weak_password(&weak),
        E::AlreadyExists(_) => {
            ApiError::with_id(Code::AlreadyExists, "REKEY-UsrDup", "User already exists")
        }
        E::Failure(f) => failure(f),
    }
}

// ---------------------------------------------------------------------------------------------
// AddOrganization

/// `AddOrganizationRequest` (admins are not supported yet and ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AddOrganizationRequest {
    name: Option<String>,
    #[serde(alias = "org_id")]
    org_id: Option<String>,
}

pub(crate) async fn add_organization<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: AddOrganizationRequest,
) -> Result<Value, ApiError> {
    let name: OrgName = bounded("AddOrganizationRequest.Name", request.name)?;
    let org_id = request
        .org_id
        .filter(|id| !id.is_empty())
        .map(|id| {
            OrgId::try_from(id).map_err(|_| length_error("AddOrganizationRequest.OrgId", 1, 200))
        })
        .transpose()?;
    let output = add_organization::execute(ports, caller, add_organization::Input { name, org_id })
        .await
        .map_err(|error| match error {
            add_organization::Error::PermissionDenied => permission_denied(),
            add_organization::Error::AlreadyExists(_) => ApiError::with_id(
                Code::AlreadyExists,
                "REKEY-OrgDup",
                "Organisation already exists",
            ),
            add_organization::Error::Failure(f) => failure(f),
        })?;
    Ok(json!({
        "details": details(&output.details),
        "organizationId": output.org_id.as_str(),
    }))
}

// ---------------------------------------------------------------------------------------------
// SetPassword

/// `SetPasswordRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SetPasswordRequest {
    #[serde(alias = "user_id")]
    pub user_id: Option<String>,
    #[serde(alias = "new_password")]
    new_password: Option<PasswordDto>,
    #[serde(alias = "verification_code")]
    verification_code: Option<String>,
    #[serde(alias = "current_password")]
    current_password: Option<String>,
}

pub(crate) async fn set_password<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: SetPasswordRequest,
) -> Result<Value, ApiError> {
    let user_id = user_id("SetPasswordRequest.UserId", request.user_id)?;
    let new = request
        .new_password
        .ok_or_else(|| required("SetPasswordRequest.NewPassword"))?;
    let password = new.password.unwrap_or_default();
    if password.is_empty() || password.chars().count() > 200 {
        return Err(length_error("Password.Password", 1, 200));
    }
    let verification = match (request.verification_code, request.current_password) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "invalid SetPasswordRequest: only one of verificationCode and currentPassword may be set",
            ));
        }
        (Some(code), None) => {
            if code.is_empty() || code.chars().count() > 20 {
                return Err(length_error("SetPasswordRequest.VerificationCode", 1, 20));
            }
            set_password::Verification::Code(PlainCode::new(code))
        }
        (None, Some(current)) => {
            if current.is_empty() || current.chars().count() > 200 {
                return Err(length_error("SetPasswordRequest.CurrentPassword", 1, 200));
            }
            set_password::Verification::CurrentPassword(Password::new(current))
        }
        (None, None) => set_password::Verification::None,
    };
    let input = set_password::Input {
        user_id,
        new_password: Password::new(password),
        change_required: new.change_required.unwrap_or(false),
        verification,
    };
    let changed = set_password::execute(ports, caller, input)
        .await
        .map_err(|error| {
            use set_password::Error as E;
            let precondition =
                |id, message: &str| ApiError::with_id(Code::FailedPrecondition, id, message);
            let invalid = |id, message: &str| ApiError::with_id(Code::InvalidArgument, id, message);
            match error {
                E::UserNotFound => precondition("COMMAND-G8dh3", "User could not be found"),
                E::UserNotInitialized => {
                    precondition("COMMAND-Sfe4g", "User is not yet initialized")
                }
                E::PermissionDenied => permission_denied(),
                E::Exhausted(exhausted) => ApiError::exhausted(&exhausted),
                E::CodeNotFound => precondition("COMMAND-2M9fs", "Code not found"),
                E::CodeExpired => precondition("CODE-QvUQ4P", "Code is expired"),
                E::CodeInvalid => invalid("CODE-woT0xc", "Code is invalid"),
                E::CurrentPasswordInvalid => invalid("COMMAND-3M0fs", "Password is invalid"),
                E::SamePassword => invalid(
                    "COMMAND-Aesh5",
                    "The new password must differ from the current one",
                ),
                E::Password(weak) => weak_password(&weak),
                E::Failure(f) => failure(f),
            }
        })?;
    Ok(json!({ "details": details(&changed) }))
}
