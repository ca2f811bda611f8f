//! The proto3 JSON mapping of the RPCs' messages, as protojson does it: camelCase or proto
//! names accepted, unknown fields ignored, `null` = absent, enums by name or number, `int64` as
//! strings, RFC 3339 UTC timestamps, default values omitted.
//!
//! Requests decode into the protobuf messages of `rekey-proto`, so JSON and binary callers
//! meet the same `input()`; responses are written from the same messages.

use chrono::{DateTime, SecondsFormat, Utc};
use rekey_proto::zitadel::object::v2 as object;
use rekey_proto::zitadel::org::v2 as org;
use rekey_proto::zitadel::user::v2 as user;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::{Map, Value, json};

use crate::status::Status;

pub mod pat;
pub mod session;

/// Decodes a JSON request message; an empty body is `{}`.
///
/// # Errors
/// Code 3 with the decoder's message for malformed JSON, a wrong type, a field given twice (in
/// either spelling), or two members of one oneof.
pub fn decode<T: JsonRequest>(body: &[u8]) -> Result<T, Status> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let message: T::Json = serde_json::from_slice(body)
        .map_err(|e| Status::invalid(format!("invalid request: {e}")))?;
    T::from_json(message)
}

/// A request message with a JSON form.
pub trait JsonRequest: Sized {
    /// The serde shape of the JSON form.
    type Json: DeserializeOwned;
    /// The message from its JSON form.
    ///
    /// # Errors
    /// Code 3 when the JSON sets two members of one oneof.
    fn from_json(json: Self::Json) -> Result<Self, Status>;
}

/// A response message with a JSON form.
pub trait JsonResponse {
    /// The message in proto3 JSON.
    fn to_json(&self) -> Value;
}

pub(crate) fn only_one(message: &str, a: &str, b: &str) -> Status {
    Status::invalid(format!(
        "invalid {message}: only one of {a} and {b} may be set"
    ))
}

// ---------------------------------------------------------------------------------------------
// Requests

/// `PasswordResetRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetJson {
    #[serde(alias = "user_id")]
    user_id: Option<String>,
    #[serde(alias = "send_link")]
    send_link: Option<SendLinkJson>,
    #[serde(alias = "return_code")]
    return_code: Option<Empty>,
}

/// `SendPasswordResetLink`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendLinkJson {
    #[serde(alias = "notification_type")]
    notification_type: Option<NotificationTypeJson>,
    #[serde(alias = "url_template")]
    url_template: Option<String>,
}

impl JsonRequest for user::PasswordResetRequest {
    type Json = PasswordResetJson;

    fn from_json(json: PasswordResetJson) -> Result<Self, Status> {
        use user::password_reset_request::Medium;
        let medium = match (json.send_link, json.return_code) {
            (Some(_), Some(_)) => {
                return Err(only_one("PasswordResetRequest", "sendLink", "returnCode"));
            }
            (Some(link), None) => Some(Medium::SendLink(user::SendPasswordResetLink {
                notification_type: link.notification_type.unwrap_or_default().0,
                url_template: link.url_template,
            })),
            (None, Some(_)) => Some(Medium::ReturnCode(user::ReturnPasswordResetCode {})),
            (None, None) => None,
        };
        Ok(Self {
            user_id: json.user_id.unwrap_or_default(),
            medium,
        })
    }
}

/// `SetPasswordRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetPasswordJson {
    #[serde(alias = "user_id")]
    user_id: Option<String>,
    #[serde(alias = "new_password")]
    new_password: Option<PasswordJson>,
    #[serde(alias = "verification_code")]
    verification_code: Option<String>,
    #[serde(alias = "current_password")]
    current_password: Option<String>,
}

/// `Password`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordJson {
    password: Option<String>,
    #[serde(alias = "change_required")]
    change_required: Option<bool>,
}

impl From<PasswordJson> for user::Password {
    fn from(json: PasswordJson) -> Self {
        Self {
            password: json.password.unwrap_or_default(),
            change_required: json.change_required.unwrap_or(false),
        }
    }
}

impl JsonRequest for user::SetPasswordRequest {
    type Json = SetPasswordJson;

    fn from_json(json: SetPasswordJson) -> Result<Self, Status> {
        use user::set_password_request::Verification;
        let verification = match (json.verification_code, json.current_password) {
            (Some(_), Some(_)) => {
                return Err(only_one(
                    "SetPasswordRequest",
                    "verificationCode",
                    "currentPassword",
                ));
            }
            (Some(code), None) => Some(Verification::VerificationCode(code)),
            (None, Some(current)) => Some(Verification::CurrentPassword(current)),
            (None, None) => None,
        };
        Ok(Self {
            user_id: json.user_id.unwrap_or_default(),
            new_password: json.new_password.map(Into::into),
            verification,
        })
    }
}

/// `GetUserByIDRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetUserJson {
    #[serde(alias = "user_id")]
    user_id: Option<String>,
}

impl JsonRequest for user::GetUserByIdRequest {
    type Json = GetUserJson;

    fn from_json(json: GetUserJson) -> Result<Self, Status> {
        Ok(Self {
            user_id: json.user_id.unwrap_or_default(),
        })
    }
}

/// The life-cycle RPCs: a request of only `userId`, a response of only `details`.
macro_rules! user_id_only {
    ($($request:ident => $response:ident),* $(,)?) => {
        $(
            impl JsonRequest for user::$request {
                type Json = GetUserJson;

                fn from_json(json: GetUserJson) -> Result<Self, Status> {
                    Ok(Self {
                        user_id: json.user_id.unwrap_or_default(),
                    })
                }
            }

            impl JsonResponse for user::$response {
                fn to_json(&self) -> Value {
                    json!({ "details": details(self.details.as_ref()) })
                }
            }
        )*
    };
}

user_id_only!(
    DeactivateUserRequest => DeactivateUserResponse,
    ReactivateUserRequest => ReactivateUserResponse,
    LockUserRequest => LockUserResponse,
    UnlockUserRequest => UnlockUserResponse,
    DeleteUserRequest => DeleteUserResponse,
);

/// `AddHumanUserRequest`, the fields rekey uses.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddHumanUserJson {
    #[serde(alias = "user_id")]
    user_id: Option<String>,
    username: Option<String>,
    organization: Option<OrganizationJson>,
    profile: Option<ProfileJson>,
    email: Option<EmailJson>,
    phone: Option<PhoneJson>,
    password: Option<PasswordJson>,
    #[serde(alias = "hashed_password")]
    hashed_password: Option<HashedPasswordJson>,
}

/// `HashedPassword`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HashedPasswordJson {
    hash: Option<String>,
    #[serde(alias = "change_required")]
    change_required: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationJson {
    #[serde(alias = "org_id")]
    org_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileJson {
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
struct EmailJson {
    email: Option<String>,
    #[serde(alias = "is_verified")]
    is_verified: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneJson {
    phone: Option<String>,
    #[serde(alias = "is_verified")]
    is_verified: Option<bool>,
}

impl JsonRequest for user::AddHumanUserRequest {
    type Json = AddHumanUserJson;

    fn from_json(json: AddHumanUserJson) -> Result<Self, Status> {
        use user::add_human_user_request::PasswordType;
        Ok(Self {
            user_id: json.user_id,
            username: json.username,
            organization: json.organization.map(|o| object::Organization {
                org: o.org_id.map(object::organization::Org::OrgId),
            }),
            profile: json.profile.map(|p| user::SetHumanProfile {
                given_name: p.given_name.unwrap_or_default(),
                family_name: p.family_name.unwrap_or_default(),
                display_name: p.display_name,
                preferred_language: p.preferred_language,
                ..user::SetHumanProfile::default()
            }),
            email: json.email.map(|e| user::SetHumanEmail {
                email: e.email.unwrap_or_default(),
                verification: e
                    .is_verified
                    .map(user::set_human_email::Verification::IsVerified),
            }),
            phone: json.phone.map(|p| user::SetHumanPhone {
                phone: p.phone.unwrap_or_default(),
                verification: p
                    .is_verified
                    .map(user::set_human_phone::Verification::IsVerified),
            }),
            password_type: match (json.password, json.hashed_password) {
                (Some(_), Some(_)) => {
                    return Err(only_one(
                        "AddHumanUserRequest",
                        "password",
                        "hashedPassword",
                    ));
                }
                (Some(p), None) => Some(PasswordType::Password(p.into())),
                (None, Some(h)) => Some(PasswordType::HashedPassword(user::HashedPassword {
                    hash: h.hash.unwrap_or_default(),
                    change_required: h.change_required.unwrap_or(false),
                })),
                (None, None) => None,
            },
            ..user::AddHumanUserRequest::default()
        })
    }
}

/// `AddOrganizationRequest` (admins are ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddOrganizationJson {
    name: Option<String>,
    #[serde(alias = "org_id")]
    org_id: Option<String>,
    #[serde(alias = "organization_id")]
    organization_id: Option<String>,
}

impl JsonRequest for org::AddOrganizationRequest {
    type Json = AddOrganizationJson;

    fn from_json(json: AddOrganizationJson) -> Result<Self, Status> {
        Ok(Self {
            name: json.name.unwrap_or_default(),
            org_id: json.org_id,
            organization_id: json.organization_id,
            admins: Vec::new(),
        })
    }
}

/// `NotificationType` as protojson reads it: the exact enum name or its number. Unknown names
/// become `NOTIFICATION_TYPE_Unspecified` (which means email); numbers are kept, as proto3
/// enums are open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct NotificationTypeJson(i32);

impl<'de> Deserialize<'de> for NotificationTypeJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnumVisitor;
        impl Visitor<'_> for EnumVisitor {
            type Value = NotificationTypeJson;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a NotificationType name or number")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
                Ok(NotificationTypeJson(
                    user::NotificationType::from_str_name(name).map_or(0, |n| n as i32),
                ))
            }
            fn visit_i64<E: de::Error>(self, number: i64) -> Result<Self::Value, E> {
                Ok(NotificationTypeJson(i32::try_from(number).unwrap_or(0)))
            }
            fn visit_u64<E: de::Error>(self, number: u64) -> Result<Self::Value, E> {
                Ok(NotificationTypeJson(i32::try_from(number).unwrap_or(0)))
            }
        }
        deserializer.deserialize_any(EnumVisitor)
    }
}

/// An empty proto message (such as `returnCode: {}`): any object, its fields ignored.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(crate) struct Empty {}

// ---------------------------------------------------------------------------------------------
// Responses

/// A `Timestamp`: RFC 3339, UTC, `Z`, with 0, 3, 6 or 9 fractional digits as needed.
#[must_use]
pub fn timestamp(at: &prost_types::Timestamp) -> String {
    let nanos = u32::try_from(at.nanos).unwrap_or(0);
    DateTime::<Utc>::from_timestamp(at.seconds, nanos)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Inserts `value` only when it is not the proto default (`false`, `""`, absent).
pub(crate) fn set_if(map: &mut Map<String, Value>, key: &str, value: Value) {
    let is_default = matches!(&value, Value::Bool(false) | Value::Null)
        || value.as_str().is_some_and(str::is_empty);
    if !is_default {
        map.insert(key.to_owned(), value);
    }
}

/// `details {sequence, changeDate, resourceOwner[, creationDate]}`, `sequence` as a string.
pub(crate) fn details(details: Option<&object::Details>) -> Value {
    let details = details.cloned().unwrap_or_default();
    let mut body = json!({ "sequence": details.sequence.to_string() });
    if let Some(changed) = &details.change_date {
        body["changeDate"] = timestamp(changed).into();
    }
    body["resourceOwner"] = details.resource_owner.into();
    if let Some(created) = &details.creation_date {
        body["creationDate"] = timestamp(created).into();
    }
    body
}

impl JsonResponse for user::PasswordResetResponse {
    fn to_json(&self) -> Value {
        let mut body = json!({ "details": details(self.details.as_ref()) });
        if let Some(code) = &self.verification_code {
            body["verificationCode"] = code.as_str().into();
        }
        body
    }
}

impl JsonResponse for user::SetPasswordResponse {
    fn to_json(&self) -> Value {
        json!({ "details": details(self.details.as_ref()) })
    }
}

impl JsonResponse for user::AddHumanUserResponse {
    fn to_json(&self) -> Value {
        json!({ "userId": self.user_id, "details": details(self.details.as_ref()) })
    }
}

impl JsonResponse for org::AddOrganizationResponse {
    fn to_json(&self) -> Value {
        json!({
            "details": details(self.details.as_ref()),
            "organizationId": self.organization_id,
        })
    }
}

impl JsonResponse for user::GetUserByIdResponse {
    fn to_json(&self) -> Value {
        let Some(u) = &self.user else {
            return json!({ "details": details(self.details.as_ref()) });
        };
        let mut body = json!({
            "userId": u.user_id,
            "details": details(u.details.as_ref()),
            "state": user::UserState::try_from(u.state)
                .unwrap_or_default()
                .as_str_name(),
            "username": u.username,
            "loginNames": u.login_names,
            "preferredLoginName": u.preferred_login_name,
        });
        match &u.r#type {
            Some(user::user::Type::Human(h)) => body["human"] = human(h),
            Some(user::user::Type::Machine(m)) => body["machine"] = json!({ "name": m.name }),
            None => {}
        }
        json!({ "details": details(self.details.as_ref()), "user": body })
    }
}

fn human(h: &user::HumanUser) -> Value {
    let mut profile = Map::new();
    if let Some(p) = &h.profile {
        set_if(&mut profile, "givenName", json!(p.given_name));
        set_if(&mut profile, "familyName", json!(p.family_name));
        set_if(&mut profile, "displayName", json!(p.display_name));
        set_if(
            &mut profile,
            "preferredLanguage",
            json!(p.preferred_language),
        );
    }
    let mut email = Map::new();
    if let Some(e) = &h.email {
        set_if(&mut email, "email", json!(e.email));
        set_if(&mut email, "isVerified", json!(e.is_verified));
    }
    let mut phone = Map::new();
    if let Some(p) = &h.phone {
        set_if(&mut phone, "phone", json!(p.phone));
        set_if(&mut phone, "isVerified", json!(p.is_verified));
    }
    let mut human = Map::new();
    human.insert("profile".into(), Value::Object(profile));
    human.insert("email".into(), Value::Object(email));
    human.insert("phone".into(), Value::Object(phone));
    set_if(
        &mut human,
        "passwordChangeRequired",
        json!(h.password_change_required),
    );
    set_if(
        &mut human,
        "passwordChanged",
        json!(h.password_changed.as_ref().map(timestamp)),
    );
    Value::Object(human)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn timestamps_are_utc_with_minimal_fraction() {
        let at = prost_types::Timestamp {
            seconds: 1_718_261_075,
            nanos: 860_000_000,
        };
        assert_eq!(timestamp(&at), "2024-06-13T06:44:35.860Z");
        let whole = prost_types::Timestamp {
            seconds: 1_718_261_075,
            nanos: 0,
        };
        assert_eq!(timestamp(&whole), "2024-06-13T06:44:35Z");
    }

    #[test]
    fn enums_by_name_or_number_unknown_names_are_unspecified() {
        let parse = |v: &str| serde_json::from_str::<NotificationTypeJson>(v).map(|n| n.0);
        assert_eq!(parse("\"NOTIFICATION_TYPE_SMS\"").ok(), Some(2));
        assert_eq!(parse("\"NOTIFICATION_TYPE_Email\"").ok(), Some(1));
        assert_eq!(parse("\"NOTIFICATION_TYPE_Unspecified\"").ok(), Some(0));
        assert_eq!(parse("\"NOTIFICATION_TYPE_sms\"").ok(), Some(0));
        assert_eq!(parse("2").ok(), Some(2));
        assert_eq!(parse("99").ok(), Some(99));
        assert!(parse("true").is_err());
    }

    #[test]
    fn an_empty_body_is_an_empty_message() {
        let empty: user::GetUserByIdRequest = decode(b"").unwrap();
        assert_eq!(empty.user_id, "");
        let blank: user::GetUserByIdRequest = decode(b" \n").unwrap();
        assert_eq!(blank.user_id, "");
        assert!(decode::<user::GetUserByIdRequest>(b"[").is_err());
    }

    #[test]
    fn two_members_of_a_oneof_are_refused() {
        let both = br#"{"userId": "1", "sendLink": {}, "returnCode": {}}"#;
        let error = decode::<user::PasswordResetRequest>(both).unwrap_err();
        assert!(
            error
                .message()
                .contains("only one of sendLink and returnCode")
        );
        let both = br#"{"userId": "1", "verificationCode": "a", "current_password": "b"}"#;
        assert!(decode::<user::SetPasswordRequest>(both).is_err());
    }

    #[test]
    fn proto_names_and_camel_case_decode_alike() {
        let camel: user::PasswordResetRequest =
            decode(br#"{"userId": "7", "sendLink": {"urlTemplate": "x", "notificationType": 2}}"#)
                .unwrap();
        let snake: user::PasswordResetRequest = decode(
            br#"{"user_id": "7", "send_link": {"url_template": "x", "notification_type": "NOTIFICATION_TYPE_SMS"}}"#,
        )
        .unwrap();
        assert_eq!(camel, snake);
    }
}
