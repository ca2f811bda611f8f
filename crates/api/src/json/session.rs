//! The proto3 JSON mapping of the Session Service v2 messages, of the Settings Service v2's
//! `GetPasswordComplexitySettings` and `GetLockoutSettings` and of the User Service v2's
//! `ListAuthenticationMethodTypes`, as [`crate::json`] does it for the other RPCs and as
//! protojson does it: camelCase or proto names accepted, unknown fields ignored, `null` =
//! absent, enums by name or number, 64-bit integers as strings (numbers accepted), bytes as
//! padded standard base64 (standard or URL-safe, padded or not, accepted), `Duration` as
//! `"1.5s"`, `Timestamp` as RFC 3339, default values omitted.

use std::collections::HashMap;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use chrono::DateTime;
use rekey_proto::zitadel::object::v2 as object;
use rekey_proto::zitadel::session::v2 as session;
use rekey_proto::zitadel::settings::v2 as settings;
use rekey_proto::zitadel::user::v2 as user;
use rekey_proto::zitadel::v1;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::{Map, Number, Value, json};

use crate::json::{Empty, JsonRequest, JsonResponse, details, only_one, set_if, timestamp};
use crate::status::Status;

// ---------------------------------------------------------------------------------------------
// Requests: Session Service

/// `CreateSessionRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionJson {
    checks: Option<ChecksJson>,
    metadata: Option<HashMap<String, BytesJson>>,
    challenges: Option<RequestChallengesJson>,
    #[serde(alias = "user_agent")]
    user_agent: Option<UserAgentJson>,
    lifetime: Option<DurationJson>,
}

impl JsonRequest for session::CreateSessionRequest {
    type Json = CreateSessionJson;

    fn from_json(json: CreateSessionJson) -> Result<Self, Status> {
        Ok(Self {
            checks: json.checks.map(ChecksJson::into_proto).transpose()?,
            metadata: metadata(json.metadata),
            challenges: json
                .challenges
                .map(RequestChallengesJson::into_proto)
                .transpose()?,
            user_agent: json.user_agent.map(UserAgentJson::into_proto),
            lifetime: json.lifetime.map(|d| d.0),
        })
    }
}

/// `SetSessionRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetSessionJson {
    #[serde(alias = "session_id")]
    session_id: Option<String>,
    #[serde(alias = "session_token")]
    session_token: Option<String>,
    checks: Option<ChecksJson>,
    metadata: Option<HashMap<String, BytesJson>>,
    challenges: Option<RequestChallengesJson>,
    lifetime: Option<DurationJson>,
}

impl JsonRequest for session::SetSessionRequest {
    type Json = SetSessionJson;

    fn from_json(json: SetSessionJson) -> Result<Self, Status> {
        Ok(Self {
            session_id: json.session_id.unwrap_or_default(),
            session_token: json.session_token.unwrap_or_default(),
            checks: json.checks.map(ChecksJson::into_proto).transpose()?,
            metadata: metadata(json.metadata),
            challenges: json
                .challenges
                .map(RequestChallengesJson::into_proto)
                .transpose()?,
            lifetime: json.lifetime.map(|d| d.0),
        })
    }
}

/// `GetSessionRequest` and `DeleteSessionRequest`: a session and, optionally, its token.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRefJson {
    #[serde(alias = "session_id")]
    session_id: Option<String>,
    #[serde(alias = "session_token")]
    session_token: Option<String>,
}

impl JsonRequest for session::GetSessionRequest {
    type Json = SessionRefJson;

    fn from_json(json: SessionRefJson) -> Result<Self, Status> {
        Ok(Self {
            session_id: json.session_id.unwrap_or_default(),
            session_token: json.session_token,
        })
    }
}

impl JsonRequest for session::DeleteSessionRequest {
    type Json = SessionRefJson;

    fn from_json(json: SessionRefJson) -> Result<Self, Status> {
        Ok(Self {
            session_id: json.session_id.unwrap_or_default(),
            session_token: json.session_token,
        })
    }
}

/// `ListSessionsRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListSessionsJson {
    query: Option<ListQueryJson>,
    queries: Option<Vec<SearchQueryJson>>,
    #[serde(alias = "sorting_column")]
    sorting_column: Option<EnumJson>,
}

impl JsonRequest for session::ListSessionsRequest {
    type Json = ListSessionsJson;

    fn from_json(json: ListSessionsJson) -> Result<Self, Status> {
        Ok(Self {
            query: json.query.map(ListQueryJson::into_proto),
            queries: json
                .queries
                .unwrap_or_default()
                .into_iter()
                .map(SearchQueryJson::into_proto)
                .collect::<Result<_, _>>()?,
            sorting_column: EnumJson::number(
                json.sorting_column,
                session::SessionFieldName::from_str_name,
            ),
        })
    }
}

/// `Checks`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChecksJson {
    user: Option<CheckUserJson>,
    password: Option<CheckPasswordJson>,
    #[serde(alias = "web_auth_n")]
    web_auth_n: Option<CheckWebAuthNJson>,
    #[serde(alias = "idp_intent")]
    idp_intent: Option<CheckIdpIntentJson>,
    totp: Option<CheckCodeJson>,
    #[serde(alias = "otp_sms")]
    otp_sms: Option<CheckCodeJson>,
    #[serde(alias = "otp_email")]
    otp_email: Option<CheckCodeJson>,
    #[serde(alias = "recovery_code")]
    recovery_code: Option<CheckCodeJson>,
}

impl ChecksJson {
    fn into_proto(self) -> Result<session::Checks, Status> {
        Ok(session::Checks {
            user: self.user.map(CheckUserJson::into_proto).transpose()?,
            password: self.password.map(|p| session::CheckPassword {
                password: p.password.unwrap_or_default(),
            }),
            web_auth_n: self.web_auth_n.map(|w| session::CheckWebAuthN {
                credential_assertion_data: w.credential_assertion_data.map(proto_struct),
            }),
            idp_intent: self.idp_intent.map(|i| session::CheckIdpIntent {
                idp_intent_id: i.idp_intent_id.unwrap_or_default(),
                idp_intent_token: i.idp_intent_token.unwrap_or_default(),
            }),
            totp: self.totp.map(|c| session::CheckTotp {
                code: c.code.unwrap_or_default(),
            }),
            otp_sms: self.otp_sms.map(|c| session::CheckOtp {
                code: c.code.unwrap_or_default(),
            }),
            otp_email: self.otp_email.map(|c| session::CheckOtp {
                code: c.code.unwrap_or_default(),
            }),
            recovery_code: self.recovery_code.map(|c| session::CheckRecoveryCode {
                code: c.code.unwrap_or_default(),
            }),
        })
    }
}

/// `CheckUser`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckUserJson {
    #[serde(alias = "user_id")]
    user_id: Option<String>,
    #[serde(alias = "login_name")]
    login_name: Option<String>,
}

impl CheckUserJson {
    fn into_proto(self) -> Result<session::CheckUser, Status> {
        use session::check_user::Search;
        let search = at_most_one(
            "CheckUser",
            [
                ("userId", self.user_id.map(Search::UserId)),
                ("loginName", self.login_name.map(Search::LoginName)),
            ],
        )?;
        Ok(session::CheckUser { search })
    }
}

/// `CheckPassword`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckPasswordJson {
    password: Option<String>,
}

/// `CheckWebAuthN`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckWebAuthNJson {
    #[serde(alias = "credential_assertion_data")]
    credential_assertion_data: Option<Map<String, Value>>,
}

/// `CheckIDPIntent`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckIdpIntentJson {
    #[serde(alias = "idp_intent_id")]
    idp_intent_id: Option<String>,
    #[serde(alias = "idp_intent_token")]
    idp_intent_token: Option<String>,
}

/// `CheckTOTP`, `CheckOTP`, `CheckRecoveryCode`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckCodeJson {
    code: Option<String>,
}

/// `RequestChallenges`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestChallengesJson {
    #[serde(alias = "web_auth_n")]
    web_auth_n: Option<WebAuthNChallengeJson>,
    #[serde(alias = "otp_sms")]
    otp_sms: Option<OtpSmsChallengeJson>,
    #[serde(alias = "otp_email")]
    otp_email: Option<OtpEmailChallengeJson>,
}

/// `RequestChallenges.WebAuthN`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebAuthNChallengeJson {
    domain: Option<String>,
    #[serde(alias = "user_verification_requirement")]
    user_verification_requirement: Option<EnumJson>,
}

/// `RequestChallenges.OTPSMS`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OtpSmsChallengeJson {
    #[serde(alias = "return_code")]
    return_code: Option<bool>,
}

/// `RequestChallenges.OTPEmail`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OtpEmailChallengeJson {
    #[serde(alias = "send_code")]
    send_code: Option<SendCodeJson>,
    #[serde(alias = "return_code")]
    return_code: Option<Empty>,
}

/// `RequestChallenges.OTPEmail.SendCode`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendCodeJson {
    #[serde(alias = "url_template")]
    url_template: Option<String>,
}

impl RequestChallengesJson {
    fn into_proto(self) -> Result<session::RequestChallenges, Status> {
        use session::request_challenges::{self as challenges, otp_email};
        let otp_email = match self.otp_email {
            None => None,
            Some(email) => Some(challenges::OtpEmail {
                delivery_type: at_most_one(
                    "OTPEmail",
                    [
                        (
                            "sendCode",
                            email.send_code.map(|s| {
                                otp_email::DeliveryType::SendCode(otp_email::SendCode {
                                    url_template: s.url_template,
                                })
                            }),
                        ),
                        (
                            "returnCode",
                            email.return_code.map(|_| {
                                otp_email::DeliveryType::ReturnCode(otp_email::ReturnCode {})
                            }),
                        ),
                    ],
                )?,
            }),
        };
        Ok(session::RequestChallenges {
            web_auth_n: self.web_auth_n.map(|w| challenges::WebAuthN {
                domain: w.domain.unwrap_or_default(),
                user_verification_requirement: EnumJson::number(
                    w.user_verification_requirement,
                    session::UserVerificationRequirement::from_str_name,
                ),
            }),
            otp_sms: self.otp_sms.map(|s| challenges::Otpsms {
                return_code: s.return_code.unwrap_or(false),
            }),
            otp_email,
        })
    }
}

/// `UserAgent`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserAgentJson {
    #[serde(alias = "fingerprint_id")]
    fingerprint_id: Option<String>,
    ip: Option<String>,
    description: Option<String>,
    header: Option<HashMap<String, HeaderValuesJson>>,
}

/// `UserAgent.HeaderValues`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeaderValuesJson {
    values: Option<Vec<String>>,
}

impl UserAgentJson {
    fn into_proto(self) -> session::UserAgent {
        session::UserAgent {
            fingerprint_id: self.fingerprint_id,
            ip: self.ip,
            description: self.description,
            header: self
                .header
                .unwrap_or_default()
                .into_iter()
                .map(|(name, values)| {
                    let values = session::user_agent::HeaderValues {
                        values: values.values.unwrap_or_default(),
                    };
                    (name, values)
                })
                .collect(),
        }
    }
}

/// `ListQuery`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQueryJson {
    offset: Option<U64Json>,
    limit: Option<U32Json>,
    asc: Option<bool>,
}

impl ListQueryJson {
    fn into_proto(self) -> object::ListQuery {
        object::ListQuery {
            offset: self.offset.map_or(0, |o| o.0),
            limit: self.limit.map_or(0, |l| l.0),
            asc: self.asc.unwrap_or(false),
        }
    }
}

/// `SearchQuery`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchQueryJson {
    #[serde(alias = "ids_query")]
    ids_query: Option<IdsQueryJson>,
    #[serde(alias = "user_id_query")]
    user_id_query: Option<IdQueryJson>,
    #[serde(alias = "creation_date_query")]
    creation_date_query: Option<CreationDateQueryJson>,
    #[serde(alias = "creator_query")]
    creator_query: Option<IdQueryJson>,
    #[serde(alias = "user_agent_query")]
    user_agent_query: Option<UserAgentQueryJson>,
    #[serde(alias = "expiration_date_query")]
    expiration_date_query: Option<ExpirationDateQueryJson>,
}

/// `IDsQuery`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdsQueryJson {
    ids: Option<Vec<String>>,
}

/// `UserIDQuery`, `CreatorQuery`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdQueryJson {
    id: Option<String>,
}

/// `CreationDateQuery`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreationDateQueryJson {
    #[serde(alias = "creation_date")]
    creation_date: Option<TimestampJson>,
    method: Option<EnumJson>,
}

/// `ExpirationDateQuery`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExpirationDateQueryJson {
    #[serde(alias = "expiration_date")]
    expiration_date: Option<TimestampJson>,
    method: Option<EnumJson>,
}

/// `UserAgentQuery`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserAgentQueryJson {
    #[serde(alias = "fingerprint_id")]
    fingerprint_id: Option<String>,
}

impl SearchQueryJson {
    fn into_proto(self) -> Result<session::SearchQuery, Status> {
        use session::search_query::Query;
        let method = |m| EnumJson::number(m, v1::TimestampQueryMethod::from_str_name);
        let query = at_most_one(
            "SearchQuery",
            [
                (
                    "idsQuery",
                    self.ids_query.map(|q| {
                        Query::IdsQuery(session::IDsQuery {
                            ids: q.ids.unwrap_or_default(),
                        })
                    }),
                ),
                (
                    "userIdQuery",
                    self.user_id_query.map(|q| {
                        Query::UserIdQuery(session::UserIdQuery {
                            id: q.id.unwrap_or_default(),
                        })
                    }),
                ),
                (
                    "creationDateQuery",
                    self.creation_date_query.map(|q| {
                        Query::CreationDateQuery(session::CreationDateQuery {
                            creation_date: q.creation_date.map(|t| t.0),
                            method: method(q.method),
                        })
                    }),
                ),
                (
                    "creatorQuery",
                    self.creator_query
                        .map(|q| Query::CreatorQuery(session::CreatorQuery { id: q.id })),
                ),
                (
                    "userAgentQuery",
                    self.user_agent_query.map(|q| {
                        Query::UserAgentQuery(session::UserAgentQuery {
                            fingerprint_id: q.fingerprint_id,
                        })
                    }),
                ),
                (
                    "expirationDateQuery",
                    self.expiration_date_query.map(|q| {
                        Query::ExpirationDateQuery(session::ExpirationDateQuery {
                            expiration_date: q.expiration_date.map(|t| t.0),
                            method: method(q.method),
                        })
                    }),
                ),
            ],
        )?;
        Ok(session::SearchQuery { query })
    }
}

fn metadata(json: Option<HashMap<String, BytesJson>>) -> HashMap<String, Vec<u8>> {
    json.unwrap_or_default()
        .into_iter()
        .map(|(key, value)| (key, value.0))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Requests: Settings Service, User Service

/// `GetPasswordComplexitySettingsRequest` and `GetLockoutSettingsRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsRequestJson {
    ctx: Option<RequestContextJson>,
}

/// `RequestContext`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContextJson {
    #[serde(alias = "org_id")]
    org_id: Option<String>,
    instance: Option<bool>,
}

impl RequestContextJson {
    fn into_proto(self) -> Result<object::RequestContext, Status> {
        use object::request_context::ResourceOwner;
        let resource_owner = at_most_one(
            "RequestContext",
            [
                ("orgId", self.org_id.map(ResourceOwner::OrgId)),
                ("instance", self.instance.map(ResourceOwner::Instance)),
            ],
        )?;
        Ok(object::RequestContext { resource_owner })
    }
}

impl JsonRequest for settings::GetPasswordComplexitySettingsRequest {
    type Json = SettingsRequestJson;

    fn from_json(json: SettingsRequestJson) -> Result<Self, Status> {
        Ok(Self {
            ctx: json.ctx.map(RequestContextJson::into_proto).transpose()?,
        })
    }
}

impl JsonRequest for settings::GetLockoutSettingsRequest {
    type Json = SettingsRequestJson;

    fn from_json(json: SettingsRequestJson) -> Result<Self, Status> {
        Ok(Self {
            ctx: json.ctx.map(RequestContextJson::into_proto).transpose()?,
        })
    }
}

/// `ListAuthenticationMethodTypesRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListAuthenticationMethodTypesJson {
    #[serde(alias = "user_id")]
    user_id: Option<String>,
    #[serde(alias = "domain_query")]
    domain_query: Option<DomainQueryJson>,
}

/// `DomainQuery`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DomainQueryJson {
    #[serde(alias = "include_without_domain")]
    include_without_domain: Option<bool>,
    domain: Option<String>,
}

impl JsonRequest for user::ListAuthenticationMethodTypesRequest {
    type Json = ListAuthenticationMethodTypesJson;

    fn from_json(json: ListAuthenticationMethodTypesJson) -> Result<Self, Status> {
        Ok(Self {
            user_id: json.user_id.unwrap_or_default(),
            domain_query: json.domain_query.map(|q| user::DomainQuery {
                include_without_domain: q.include_without_domain.unwrap_or(false),
                domain: q.domain.unwrap_or_default(),
            }),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Requests: scalar and well-known types

/// At most one member of a oneof: the one given, or `only_one` naming the first two given.
pub(super) fn at_most_one<'a, T, const N: usize>(
    message: &str,
    members: [(&'a str, Option<T>); N],
) -> Result<Option<T>, Status> {
    let mut found: Option<(&'a str, T)> = None;
    for (name, value) in members {
        if let Some(value) = value {
            if let Some((first, _)) = &found {
                return Err(only_one(message, first, name));
            }
            found = Some((name, value));
        }
    }
    Ok(found.map(|(_, value)| value))
}

/// An enum as protojson reads it: its exact name or its number. Unknown names become 0 (the
/// field is left unset, as protojson with `DiscardUnknown` does); numbers are kept, as proto3
/// enums are open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EnumJson {
    Name(String),
    Number(i32),
}

impl EnumJson {
    /// The enum's number, 0 when absent or an unknown name.
    pub(super) fn number<E: Into<i32>>(
        json: Option<Self>,
        from_name: fn(&str) -> Option<E>,
    ) -> i32 {
        match json {
            None => 0,
            Some(Self::Number(number)) => number,
            Some(Self::Name(name)) => from_name(&name).map_or(0, Into::into),
        }
    }
}

impl<'de> Deserialize<'de> for EnumJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnumVisitor;
        impl Visitor<'_> for EnumVisitor {
            type Value = EnumJson;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an enum name or number")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
                Ok(EnumJson::Name(name.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, number: i64) -> Result<Self::Value, E> {
                Ok(EnumJson::Number(i32::try_from(number).unwrap_or(0)))
            }
            fn visit_u64<E: de::Error>(self, number: u64) -> Result<Self::Value, E> {
                Ok(EnumJson::Number(i32::try_from(number).unwrap_or(0)))
            }
        }
        deserializer.deserialize_any(EnumVisitor)
    }
}

/// A `uint64`: a JSON number or a string holding one (`"10"`, `"1e3"`), integral, in range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct U64Json(pub(super) u64);

impl U64Json {
    fn from_number(number: &Number) -> Option<u64> {
        number.as_u64().or_else(|| {
            let float = number.as_f64()?;
            // 2^64 is exactly representable; every integral float below it fits a u64.
            let fits = (0.0..18_446_744_073_709_551_616.0).contains(&float) && float.fract() == 0.0;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let whole = float as u64;
            fits.then_some(whole)
        })
    }
}

impl<'de> Deserialize<'de> for U64Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct U64Visitor;
        impl Visitor<'_> for U64Visitor {
            type Value = U64Json;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an unsigned integer, as a number or a string")
            }
            fn visit_u64<E: de::Error>(self, number: u64) -> Result<Self::Value, E> {
                Ok(U64Json(number))
            }
            fn visit_i64<E: de::Error>(self, number: i64) -> Result<Self::Value, E> {
                u64::try_from(number)
                    .map(U64Json)
                    .map_err(|_| E::custom(format!("invalid value for uint field: {number}")))
            }
            fn visit_f64<E: de::Error>(self, number: f64) -> Result<Self::Value, E> {
                Number::from_f64(number)
                    .as_ref()
                    .and_then(U64Json::from_number)
                    .map(U64Json)
                    .ok_or_else(|| E::custom(format!("invalid value for uint field: {number}")))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                // protojson: the string holds a JSON number, without surrounding blanks.
                (text.trim() == text)
                    .then(|| text.parse::<Number>().ok())
                    .flatten()
                    .as_ref()
                    .and_then(U64Json::from_number)
                    .map(U64Json)
                    .ok_or_else(|| E::custom(format!("invalid value for uint field: {text:?}")))
            }
        }
        deserializer.deserialize_any(U64Visitor)
    }
}

/// A `uint32`, read as [`U64Json`] and range-checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct U32Json(pub(super) u32);

impl<'de> Deserialize<'de> for U32Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let U64Json(number) = U64Json::deserialize(deserializer)?;
        u32::try_from(number)
            .map(U32Json)
            .map_err(|_| de::Error::custom(format!("invalid value for uint32 field: {number}")))
    }
}

/// `bytes`: base64, standard or URL-safe (chosen by the presence of `-` or `_`, as protojson
/// does), padded or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct BytesJson(Vec<u8>);

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

impl<'de> Deserialize<'de> for BytesJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let engine = if text.contains(['-', '_']) {
            &URL_SAFE_LENIENT
        } else {
            &STANDARD_LENIENT
        };
        engine
            .decode(&text)
            .map(BytesJson)
            .map_err(|e| de::Error::custom(format!("invalid value for bytes field: {e}")))
    }
}

/// A `google.protobuf.Duration`: `"<seconds>[.<up to 9 digits>]s"`, optionally negative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct DurationJson(prost_types::Duration);

/// ±10,000 years, the range of `google.protobuf.Duration`.
const MAX_DURATION_SECONDS: i64 = 315_576_000_000;

/// The duration protojson reads from `text`, or `None`.
fn parse_duration(text: &str) -> Option<prost_types::Duration> {
    let body = text.strip_suffix('s')?;
    let (negative, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let (whole, fraction) = match body.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (body, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    // The whole seconds: `0` or no leading zero; absent only before a fraction (`.5s`).
    if (whole.is_empty() && fraction.is_none())
        || !digits(whole)
        || (whole.len() > 1 && whole.starts_with('0'))
    {
        return None;
    }
    let seconds: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let nanos: i32 = match fraction {
        None | Some("") => 0,
        Some(fraction) if fraction.len() <= 9 && digits(fraction) => {
            let scale = 10_i32.pow(9 - u32::try_from(fraction.len()).ok()?);
            fraction.parse::<i32>().ok()? * scale
        }
        Some(_) => return None,
    };
    if seconds > MAX_DURATION_SECONDS {
        return None;
    }
    Some(if negative {
        prost_types::Duration {
            seconds: -seconds,
            nanos: -nanos,
        }
    } else {
        prost_types::Duration { seconds, nanos }
    })
}

impl<'de> Deserialize<'de> for DurationJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text).map(DurationJson).ok_or_else(|| {
            de::Error::custom(format!("invalid google.protobuf.Duration value {text:?}"))
        })
    }
}

/// A `google.protobuf.Timestamp`: RFC 3339 with `Z` or an offset, years 0001 to 9999.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct TimestampJson(pub(super) prost_types::Timestamp);

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const TIMESTAMP_SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

impl<'de> Deserialize<'de> for TimestampJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .ok()
            .filter(|at| TIMESTAMP_SECONDS.contains(&at.timestamp()))
            .map(|at| {
                TimestampJson(prost_types::Timestamp {
                    seconds: at.timestamp(),
                    nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
                })
            })
            .ok_or_else(|| {
                de::Error::custom(format!("invalid google.protobuf.Timestamp value {text:?}"))
            })
    }
}

/// A `google.protobuf.Struct` from its JSON object.
fn proto_struct(fields: Map<String, Value>) -> prost_types::Struct {
    prost_types::Struct {
        fields: fields
            .into_iter()
            .map(|(key, value)| (key, proto_value(value)))
            .collect(),
    }
}

/// A `google.protobuf.Value` from its JSON.
fn proto_value(value: Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match value {
        Value::Null => Kind::NullValue(prost_types::NullValue::NullValue.into()),
        Value::Bool(b) => Kind::BoolValue(b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s),
        Value::Array(values) => Kind::ListValue(prost_types::ListValue {
            values: values.into_iter().map(proto_value).collect(),
        }),
        Value::Object(fields) => Kind::StructValue(proto_struct(fields)),
    };
    prost_types::Value { kind: Some(kind) }
}

// ---------------------------------------------------------------------------------------------
// Responses: Session Service

impl JsonResponse for session::CreateSessionResponse {
    fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("details".into(), details(self.details.as_ref()));
        set_if(&mut body, "sessionId", json!(self.session_id));
        set_if(&mut body, "sessionToken", json!(self.session_token));
        if let Some(c) = &self.challenges {
            body.insert("challenges".into(), challenges(c));
        }
        Value::Object(body)
    }
}

impl JsonResponse for session::SetSessionResponse {
    fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("details".into(), details(self.details.as_ref()));
        set_if(&mut body, "sessionToken", json!(self.session_token));
        if let Some(c) = &self.challenges {
            body.insert("challenges".into(), challenges(c));
        }
        Value::Object(body)
    }
}

impl JsonResponse for session::GetSessionResponse {
    fn to_json(&self) -> Value {
        let mut body = Map::new();
        if let Some(s) = &self.session {
            body.insert("session".into(), session_json(s));
        }
        Value::Object(body)
    }
}

impl JsonResponse for session::DeleteSessionResponse {
    fn to_json(&self) -> Value {
        json!({ "details": details(self.details.as_ref()) })
    }
}

impl JsonResponse for session::ListSessionsResponse {
    fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("details".into(), list_details(self.details.as_ref()));
        if !self.sessions.is_empty() {
            let sessions = self.sessions.iter().map(session_json).collect();
            body.insert("sessions".into(), Value::Array(sessions));
        }
        Value::Object(body)
    }
}

/// `Session`.
fn session_json(s: &session::Session) -> Value {
    let mut body = Map::new();
    set_if(&mut body, "id", json!(s.id));
    set_timestamp(&mut body, "creationDate", s.creation_date.as_ref());
    set_timestamp(&mut body, "changeDate", s.change_date.as_ref());
    set_u64(&mut body, "sequence", s.sequence);
    if let Some(f) = &s.factors {
        body.insert("factors".into(), factors(f));
    }
    if !s.metadata.is_empty() {
        let mut keys: Vec<_> = s.metadata.keys().collect();
        keys.sort_unstable();
        let metadata = keys
            .into_iter()
            .map(|key| (key.clone(), STANDARD.encode(&s.metadata[key]).into()))
            .collect();
        body.insert("metadata".into(), Value::Object(metadata));
    }
    if let Some(agent) = &s.user_agent {
        body.insert("userAgent".into(), user_agent(agent));
    }
    set_timestamp(&mut body, "expirationDate", s.expiration_date.as_ref());
    Value::Object(body)
}

/// `Factors`: each one that was checked.
fn factors(f: &session::Factors) -> Value {
    let verified = |at: Option<&prost_types::Timestamp>| {
        let mut factor = Map::new();
        set_timestamp(&mut factor, "verifiedAt", at);
        factor
    };
    let mut body = Map::new();
    if let Some(u) = &f.user {
        let mut user = verified(u.verified_at.as_ref());
        set_if(&mut user, "id", json!(u.id));
        set_if(&mut user, "loginName", json!(u.login_name));
        set_if(&mut user, "displayName", json!(u.display_name));
        set_if(&mut user, "organizationId", json!(u.organization_id));
        body.insert("user".into(), Value::Object(user));
    }
    if let Some(p) = &f.password {
        body.insert("password".into(), verified(p.verified_at.as_ref()).into());
    }
    if let Some(w) = &f.web_auth_n {
        let mut web = verified(w.verified_at.as_ref());
        set_if(&mut web, "userVerified", json!(w.user_verified));
        body.insert("webAuthN".into(), Value::Object(web));
    }
    if let Some(i) = &f.intent {
        body.insert("intent".into(), verified(i.verified_at.as_ref()).into());
    }
    if let Some(t) = &f.totp {
        body.insert("totp".into(), verified(t.verified_at.as_ref()).into());
    }
    if let Some(o) = &f.otp_sms {
        body.insert("otpSms".into(), verified(o.verified_at.as_ref()).into());
    }
    if let Some(o) = &f.otp_email {
        body.insert("otpEmail".into(), verified(o.verified_at.as_ref()).into());
    }
    if let Some(r) = &f.recovery_code {
        body.insert(
            "recoveryCode".into(),
            verified(r.verified_at.as_ref()).into(),
        );
    }
    Value::Object(body)
}

/// `UserAgent`: its `optional` fields whenever set, even empty.
fn user_agent(agent: &session::UserAgent) -> Value {
    let mut body = Map::new();
    let optional = [
        ("fingerprintId", &agent.fingerprint_id),
        ("ip", &agent.ip),
        ("description", &agent.description),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            body.insert(key.into(), value.as_str().into());
        }
    }
    if !agent.header.is_empty() {
        let mut names: Vec<_> = agent.header.keys().collect();
        names.sort_unstable();
        let header = names
            .into_iter()
            .map(|name| {
                let mut values = Map::new();
                let list = &agent.header[name].values;
                if !list.is_empty() {
                    values.insert("values".into(), json!(list));
                }
                (name.clone(), Value::Object(values))
            })
            .collect();
        body.insert("header".into(), Value::Object(header));
    }
    Value::Object(body)
}

/// `Challenges`.
fn challenges(c: &session::Challenges) -> Value {
    let mut body = Map::new();
    if let Some(w) = &c.web_auth_n {
        let mut web = Map::new();
        if let Some(options) = &w.public_key_credential_request_options {
            web.insert(
                "publicKeyCredentialRequestOptions".into(),
                struct_json(options),
            );
        }
        body.insert("webAuthN".into(), Value::Object(web));
    }
    if let Some(code) = &c.otp_sms {
        body.insert("otpSms".into(), code.as_str().into());
    }
    if let Some(code) = &c.otp_email {
        body.insert("otpEmail".into(), code.as_str().into());
    }
    Value::Object(body)
}

/// A `google.protobuf.Struct` as its JSON object.
fn struct_json(s: &prost_types::Struct) -> Value {
    Value::Object(
        s.fields
            .iter()
            .map(|(key, value)| (key.clone(), value_json(value)))
            .collect(),
    )
}

/// A `google.protobuf.Value` as its JSON. Integral numbers are written without a fraction, as
/// protojson does (`60000`, not `60000.0`); NaN and infinities, which protojson refuses to
/// write, become `null`.
fn value_json(value: &prost_types::Value) -> Value {
    use prost_types::value::Kind;
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::NumberValue(n)) => {
            // Below 2^53 every integral float is an exact i64.
            #[allow(clippy::cast_possible_truncation)]
            if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
                json!(*n as i64)
            } else {
                Number::from_f64(*n).map_or(Value::Null, Value::Number)
            }
        }
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::ListValue(list)) => Value::Array(list.values.iter().map(value_json).collect()),
        Some(Kind::StructValue(s)) => struct_json(s),
    }
}

// ---------------------------------------------------------------------------------------------
// Responses: Settings Service, User Service

impl JsonResponse for settings::GetPasswordComplexitySettingsResponse {
    fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("details".into(), details(self.details.as_ref()));
        if let Some(s) = &self.settings {
            let mut settings = Map::new();
            set_u64(&mut settings, "minLength", s.min_length);
            set_if(
                &mut settings,
                "requiresUppercase",
                json!(s.requires_uppercase),
            );
            set_if(
                &mut settings,
                "requiresLowercase",
                json!(s.requires_lowercase),
            );
            set_if(&mut settings, "requiresNumber", json!(s.requires_number));
            set_if(&mut settings, "requiresSymbol", json!(s.requires_symbol));
            set_resource_owner_type(&mut settings, s.resource_owner_type);
            body.insert("settings".into(), Value::Object(settings));
        }
        Value::Object(body)
    }
}

impl JsonResponse for settings::GetLockoutSettingsResponse {
    fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("details".into(), details(self.details.as_ref()));
        if let Some(s) = &self.settings {
            let mut settings = Map::new();
            set_u64(
                &mut settings,
                "maxPasswordAttempts",
                s.max_password_attempts,
            );
            set_resource_owner_type(&mut settings, s.resource_owner_type);
            set_u64(&mut settings, "maxOtpAttempts", s.max_otp_attempts);
            body.insert("settings".into(), Value::Object(settings));
        }
        Value::Object(body)
    }
}

fn set_resource_owner_type(map: &mut Map<String, Value>, number: i32) {
    let name = settings::ResourceOwnerType::try_from(number)
        .ok()
        .map(|t| t.as_str_name());
    set_enum(map, "resourceOwnerType", number, name);
}

impl JsonResponse for user::ListAuthenticationMethodTypesResponse {
    fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("details".into(), list_details(self.details.as_ref()));
        if !self.auth_method_types.is_empty() {
            let types = self
                .auth_method_types
                .iter()
                .map(|&number| {
                    user::AuthenticationMethodType::try_from(number)
                        .map_or_else(|_| number.into(), |t| t.as_str_name().into())
                })
                .collect();
            body.insert("authMethodTypes".into(), Value::Array(types));
        }
        Value::Object(body)
    }
}

// ---------------------------------------------------------------------------------------------
// Responses: helpers

/// `ListDetails {totalResult, processedSequence, timestamp}`, each only when set, the counts as
/// strings; `{}` when absent (as [`details`] always writes `details`).
fn list_details(details: Option<&object::ListDetails>) -> Value {
    let mut body = Map::new();
    if let Some(d) = details {
        set_u64(&mut body, "totalResult", d.total_result);
        set_u64(&mut body, "processedSequence", d.processed_sequence);
        set_timestamp(&mut body, "timestamp", d.timestamp.as_ref());
    }
    Value::Object(body)
}

/// Inserts a `uint64` as a string, unless it is 0.
fn set_u64(map: &mut Map<String, Value>, key: &str, number: u64) {
    if number != 0 {
        map.insert(key.to_owned(), number.to_string().into());
    }
}

/// Inserts a `Timestamp` when set.
fn set_timestamp(map: &mut Map<String, Value>, key: &str, at: Option<&prost_types::Timestamp>) {
    if let Some(at) = at {
        map.insert(key.to_owned(), timestamp(at).into());
    }
}

/// Inserts an enum by name (by number when it has none), unless it is 0.
fn set_enum(map: &mut Map<String, Value>, key: &str, number: i32, name: Option<&str>) {
    if number != 0 {
        let value = name.map_or_else(|| number.into(), Into::into);
        map.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::json::decode;

    fn at(seconds: i64, nanos: i32) -> prost_types::Timestamp {
        prost_types::Timestamp { seconds, nanos }
    }

    fn duration(seconds: i64, nanos: i32) -> prost_types::Duration {
        prost_types::Duration { seconds, nanos }
    }

    // --- requests ------------------------------------------------------------------------

    #[test]
    fn the_login_apps_create_session_body_decodes() {
        let body = br#"{"checks":{"user":{"userId":"123"},"password":{"password":"pw"}},"lifetime":"86400s","userAgent":{"ip":"192.0.2.1","header":{"user-agent":{"values":["Mozilla/5.0"]}},"description":"Firefox"},"metadata":{}}"#;
        let request: session::CreateSessionRequest = decode(body).unwrap();
        let expected = session::CreateSessionRequest {
            checks: Some(session::Checks {
                user: Some(session::CheckUser {
                    search: Some(session::check_user::Search::UserId("123".into())),
                }),
                password: Some(session::CheckPassword {
                    password: "pw".into(),
                }),
                ..session::Checks::default()
            }),
            metadata: HashMap::new(),
            challenges: None,
            user_agent: Some(session::UserAgent {
                fingerprint_id: None,
                ip: Some("192.0.2.1".into()),
                description: Some("Firefox".into()),
                header: HashMap::from([(
                    "user-agent".to_owned(),
                    session::user_agent::HeaderValues {
                        values: vec!["Mozilla/5.0".into()],
                    },
                )]),
            }),
            lifetime: Some(duration(86_400, 0)),
        };
        assert_eq!(request, expected);
    }

    #[test]
    fn create_session_with_login_name_metadata_challenges_and_unsupported_checks() {
        let body = br#"{
            "checks": {
                "user": {"loginName": "alice@example.com"},
                "webAuthN": {"credentialAssertionData": {"id": "abc", "response": {"n": 1, "ok": true, "x": null}}},
                "idpIntent": {"idpIntentId": "i1", "idpIntentToken": "t1"},
                "totp": {"code": "123456"},
                "otpSms": {"code": "111"},
                "otpEmail": {"code": "222"},
                "recoveryCode": {"code": "rc"}
            },
            "metadata": {"a": "aGk=", "b": "aGk", "c": "-_8", "d": "+/8=", "e": ""},
            "challenges": {
                "webAuthN": {"domain": "example.com", "userVerificationRequirement": "USER_VERIFICATION_REQUIREMENT_REQUIRED"},
                "otpSms": {"returnCode": true},
                "otpEmail": {"sendCode": {"urlTemplate": "https://x/{{.Code}}"}}
            },
            "unknownField": [1, 2, 3]
        }"#;
        let request: session::CreateSessionRequest = decode(body).unwrap();
        let checks = request.checks.unwrap();
        assert_eq!(
            checks.user.unwrap().search,
            Some(session::check_user::Search::LoginName(
                "alice@example.com".into()
            ))
        );
        let assertion = checks
            .web_auth_n
            .unwrap()
            .credential_assertion_data
            .unwrap();
        assert_eq!(
            struct_json(&assertion),
            json!({"id": "abc", "response": {"n": 1, "ok": true, "x": null}})
        );
        assert_eq!(
            checks.idp_intent,
            Some(session::CheckIdpIntent {
                idp_intent_id: "i1".into(),
                idp_intent_token: "t1".into(),
            })
        );
        assert_eq!(checks.totp.unwrap().code, "123456");
        assert_eq!(checks.otp_sms.unwrap().code, "111");
        assert_eq!(checks.otp_email.unwrap().code, "222");
        assert_eq!(checks.recovery_code.unwrap().code, "rc");

        assert_eq!(request.metadata["a"], b"hi");
        assert_eq!(request.metadata["b"], b"hi");
        assert_eq!(request.metadata["c"], [0xfb, 0xff]);
        assert_eq!(request.metadata["d"], [0xfb, 0xff]);
        assert_eq!(request.metadata["e"], b"");

        use session::request_challenges::{self as challenges, otp_email};
        assert_eq!(
            request.challenges,
            Some(session::RequestChallenges {
                web_auth_n: Some(challenges::WebAuthN {
                    domain: "example.com".into(),
                    user_verification_requirement: 1,
                }),
                otp_sms: Some(challenges::Otpsms { return_code: true }),
                otp_email: Some(challenges::OtpEmail {
                    delivery_type: Some(otp_email::DeliveryType::SendCode(otp_email::SendCode {
                        url_template: Some("https://x/{{.Code}}".into()),
                    })),
                }),
            })
        );
    }

    #[test]
    fn proto_names_and_camel_case_decode_alike() {
        let camel: session::CreateSessionRequest = decode(
            br#"{"checks": {"user": {"userId": "1"}, "webAuthN": {}, "idpIntent": {"idpIntentId": "i"}, "otpEmail": {"code": "c"}, "recoveryCode": {}},
                 "userAgent": {"fingerprintId": "f"},
                 "challenges": {"webAuthN": {"userVerificationRequirement": 2}, "otpEmail": {"returnCode": {}}}}"#,
        )
        .unwrap();
        let snake: session::CreateSessionRequest = decode(
            br#"{"checks": {"user": {"user_id": "1"}, "web_auth_n": {}, "idp_intent": {"idp_intent_id": "i"}, "otp_email": {"code": "c"}, "recovery_code": {}},
                 "user_agent": {"fingerprint_id": "f"},
                 "challenges": {"web_auth_n": {"user_verification_requirement": "USER_VERIFICATION_REQUIREMENT_PREFERRED"}, "otp_email": {"return_code": {}}}}"#,
        )
        .unwrap();
        assert_eq!(camel, snake);

        let camel: session::SetSessionRequest = decode(
            br#"{"sessionId": "s", "sessionToken": "t", "checks": {"password": {"password": "p"}}, "lifetime": "1.5s"}"#,
        )
        .unwrap();
        let snake: session::SetSessionRequest = decode(
            br#"{"session_id": "s", "session_token": "t", "checks": {"password": {"password": "p"}}, "lifetime": "1.500s"}"#,
        )
        .unwrap();
        assert_eq!(camel, snake);
        assert_eq!(camel.lifetime, Some(duration(1, 500_000_000)));

        let camel: session::ListSessionsRequest = decode(
            br#"{"queries": [{"idsQuery": {"ids": ["a"]}}, {"userAgentQuery": {"fingerprintId": "f"}}], "sortingColumn": 1}"#,
        )
        .unwrap();
        let snake: session::ListSessionsRequest = decode(
            br#"{"queries": [{"ids_query": {"ids": ["a"]}}, {"user_agent_query": {"fingerprint_id": "f"}}], "sorting_column": "SESSION_FIELD_NAME_CREATION_DATE"}"#,
        )
        .unwrap();
        assert_eq!(camel, snake);

        let camel: user::ListAuthenticationMethodTypesRequest = decode(
            br#"{"userId": "u", "domainQuery": {"includeWithoutDomain": true, "domain": "d"}}"#,
        )
        .unwrap();
        let snake: user::ListAuthenticationMethodTypesRequest = decode(
            br#"{"user_id": "u", "domain_query": {"include_without_domain": true, "domain": "d"}}"#,
        )
        .unwrap();
        assert_eq!(camel, snake);
        assert_eq!(
            camel,
            user::ListAuthenticationMethodTypesRequest {
                user_id: "u".into(),
                domain_query: Some(user::DomainQuery {
                    include_without_domain: true,
                    domain: "d".into(),
                }),
            }
        );

        let camel: settings::GetLockoutSettingsRequest =
            decode(br#"{"ctx": {"orgId": "o"}}"#).unwrap();
        let snake: settings::GetLockoutSettingsRequest =
            decode(br#"{"ctx": {"org_id": "o"}}"#).unwrap();
        assert_eq!(camel, snake);
    }

    #[test]
    fn a_field_in_both_spellings_is_refused() {
        let error =
            decode::<session::GetSessionRequest>(br#"{"sessionId": "a", "session_id": "b"}"#)
                .unwrap_err();
        assert!(
            error.message().contains("duplicate field"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn two_members_of_a_oneof_are_refused() {
        let both = br#"{"checks": {"user": {"userId": "1", "loginName": "a"}}}"#;
        let error = decode::<session::CreateSessionRequest>(both).unwrap_err();
        assert_eq!(
            error.message(),
            "invalid CheckUser: only one of userId and loginName may be set"
        );
        let both = br#"{"checks": {"user": {"user_id": "1", "login_name": "a"}}}"#;
        assert!(decode::<session::SetSessionRequest>(both).is_err());

        let both = br#"{"challenges": {"otpEmail": {"sendCode": {}, "returnCode": {}}}}"#;
        let error = decode::<session::CreateSessionRequest>(both).unwrap_err();
        assert_eq!(
            error.message(),
            "invalid OTPEmail: only one of sendCode and returnCode may be set"
        );

        let both =
            br#"{"queries": [{"creatorQuery": {}, "idsQuery": {"ids": []}, "userIdQuery": {}}]}"#;
        let error = decode::<session::ListSessionsRequest>(both).unwrap_err();
        assert_eq!(
            error.message(),
            "invalid SearchQuery: only one of idsQuery and userIdQuery may be set"
        );

        let both = br#"{"ctx": {"orgId": "o", "instance": true}}"#;
        let error = decode::<settings::GetPasswordComplexitySettingsRequest>(both).unwrap_err();
        assert_eq!(
            error.message(),
            "invalid RequestContext: only one of orgId and instance may be set"
        );

        // `null` is absent, so it does not count as a member given.
        let one = br#"{"checks": {"user": {"userId": "1", "loginName": null}}}"#;
        assert!(decode::<session::CreateSessionRequest>(one).is_ok());
    }

    #[test]
    fn durations_are_read_as_protojson_reads_them() {
        let parse = |text: &str| parse_duration(text);
        assert_eq!(parse("18000s"), Some(duration(18_000, 0)));
        assert_eq!(parse("1.5s"), Some(duration(1, 500_000_000)));
        assert_eq!(parse("0.000000001s"), Some(duration(0, 1)));
        assert_eq!(parse("0s"), Some(duration(0, 0)));
        assert_eq!(parse(".5s"), Some(duration(0, 500_000_000)));
        assert_eq!(parse("3.s"), Some(duration(3, 0)));
        assert_eq!(parse("-1.5s"), Some(duration(-1, -500_000_000)));
        assert_eq!(parse("-0.25s"), Some(duration(0, -250_000_000)));
        assert_eq!(
            parse("315576000000.999999999s"),
            Some(duration(315_576_000_000, 999_999_999))
        );
        for bad in [
            "",
            "s",
            "-s",
            "18000",
            "1.5",
            "01s",
            "+1s",
            " 1s",
            "1s ",
            "1e3s",
            "1.0000000001s",
            "1.-5s",
            "1.5ms",
            "315576000001s",
            "99999999999999999999s",
            "1h",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_bad_lifetime_is_invalid_argument() {
        for body in [
            br#"{"lifetime": "1h"}"#.as_slice(),
            br#"{"lifetime": 18000}"#,
            br#"{"lifetime": {"seconds": 1}}"#,
        ] {
            let error = decode::<session::CreateSessionRequest>(body).unwrap_err();
            assert_eq!(error.code(), crate::Code::InvalidArgument);
            assert!(
                error.message().starts_with("invalid request: "),
                "{}",
                error.message()
            );
        }
        let error = decode::<session::SetSessionRequest>(br#"{"lifetime": "1h"}"#).unwrap_err();
        assert!(
            error
                .message()
                .contains(r#"invalid google.protobuf.Duration value "1h""#),
            "{}",
            error.message()
        );
        let absent: session::CreateSessionRequest = decode(br#"{"lifetime": null}"#).unwrap();
        assert_eq!(absent.lifetime, None);
    }

    #[test]
    fn bad_bytes_are_invalid_argument() {
        for body in [
            br#"{"metadata": {"k": "not base64!"}}"#.as_slice(),
            br#"{"metadata": {"k": 1}}"#,
            br#"{"metadata": {"k": null}}"#,
        ] {
            let error = decode::<session::CreateSessionRequest>(body).unwrap_err();
            assert!(
                error.message().starts_with("invalid request: "),
                "{}",
                error.message()
            );
        }
    }

    #[test]
    fn list_sessions_reads_numbers_as_strings_or_numbers_and_enums_by_name_or_number() {
        let request: session::ListSessionsRequest = decode(
            br#"{
                "query": {"offset": "10", "limit": 5, "asc": true},
                "queries": [
                    {"idsQuery": {"ids": ["1", "2"]}},
                    {"userIdQuery": {"id": "u"}},
                    {"creationDateQuery": {"creationDate": "2024-06-13T08:44:35.86+02:00", "method": "TIMESTAMP_QUERY_METHOD_GREATER"}},
                    {"creatorQuery": {"id": "c"}},
                    {"creatorQuery": {}},
                    {"userAgentQuery": {"fingerprintId": "f"}},
                    {"expirationDateQuery": {"expirationDate": "2024-06-13T06:44:35Z", "method": 4}},
                    {}
                ],
                "sortingColumn": "SESSION_FIELD_NAME_CREATION_DATE"
            }"#,
        )
        .unwrap();
        use session::search_query::Query;
        let query = |q: Query| session::SearchQuery { query: Some(q) };
        assert_eq!(
            request,
            session::ListSessionsRequest {
                query: Some(object::ListQuery {
                    offset: 10,
                    limit: 5,
                    asc: true,
                }),
                queries: vec![
                    query(Query::IdsQuery(session::IDsQuery {
                        ids: vec!["1".into(), "2".into()],
                    })),
                    query(Query::UserIdQuery(session::UserIdQuery { id: "u".into() })),
                    query(Query::CreationDateQuery(session::CreationDateQuery {
                        creation_date: Some(at(1_718_261_075, 860_000_000)),
                        method: 1,
                    })),
                    query(Query::CreatorQuery(session::CreatorQuery {
                        id: Some("c".into()),
                    })),
                    query(Query::CreatorQuery(session::CreatorQuery { id: None })),
                    query(Query::UserAgentQuery(session::UserAgentQuery {
                        fingerprint_id: Some("f".into()),
                    })),
                    query(Query::ExpirationDateQuery(session::ExpirationDateQuery {
                        expiration_date: Some(at(1_718_261_075, 0)),
                        method: 4,
                    })),
                    session::SearchQuery { query: None },
                ],
                sorting_column: 1,
            }
        );

        let other: session::ListSessionsRequest = decode(
            br#"{"query": {"offset": 18446744073709551615, "limit": "4294967295"}, "sortingColumn": "SESSION_FIELD_NAME_NOPE"}"#,
        )
        .unwrap();
        let q = other.query.unwrap();
        assert_eq!((q.offset, q.limit, q.asc), (u64::MAX, u32::MAX, false));
        assert_eq!(other.sorting_column, 0);
        let exponent: session::ListSessionsRequest =
            decode(br#"{"query": {"offset": "1e3", "limit": 2.0}}"#).unwrap();
        let q = exponent.query.unwrap();
        assert_eq!((q.offset, q.limit), (1_000, 2));

        for bad in [
            br#"{"query": {"offset": -1}}"#.as_slice(),
            br#"{"query": {"offset": "-1"}}"#,
            br#"{"query": {"offset": " 1"}}"#,
            br#"{"query": {"offset": "1.5"}}"#,
            br#"{"query": {"offset": "ten"}}"#,
            br#"{"query": {"offset": true}}"#,
            br#"{"query": {"limit": 4294967296}}"#,
            br#"{"query": {"asc": "true"}}"#,
            br#"{"queries": [{"creationDateQuery": {"creationDate": "2024-06-13"}}]}"#,
            br#"{"queries": [{"creationDateQuery": {"creationDate": "0000-01-01T00:00:00Z"}}]}"#,
            br#"{"sortingColumn": true}"#,
        ] {
            let error = decode::<session::ListSessionsRequest>(bad).unwrap_err();
            assert_eq!(
                error.code(),
                crate::Code::InvalidArgument,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn get_and_delete_session_and_settings_requests_decode() {
        let get: session::GetSessionRequest =
            decode(br#"{"sessionId": "s", "sessionToken": "t"}"#).unwrap();
        assert_eq!(
            get,
            session::GetSessionRequest {
                session_id: "s".into(),
                session_token: Some("t".into()),
            }
        );
        let delete: session::DeleteSessionRequest = decode(br#"{"session_id": "s"}"#).unwrap();
        assert_eq!(
            delete,
            session::DeleteSessionRequest {
                session_id: "s".into(),
                session_token: None,
            }
        );
        let empty_token: session::DeleteSessionRequest =
            decode(br#"{"sessionId": "s", "sessionToken": ""}"#).unwrap();
        assert_eq!(empty_token.session_token, Some(String::new()));

        use object::request_context::ResourceOwner;
        let instance: settings::GetPasswordComplexitySettingsRequest =
            decode(br#"{"ctx": {"instance": true}}"#).unwrap();
        assert_eq!(
            instance.ctx.unwrap().resource_owner,
            Some(ResourceOwner::Instance(true))
        );
        let org: settings::GetLockoutSettingsRequest =
            decode(br#"{"ctx": {"orgId": "o1"}}"#).unwrap();
        assert_eq!(
            org.ctx.unwrap().resource_owner,
            Some(ResourceOwner::OrgId("o1".into()))
        );
        let none: settings::GetLockoutSettingsRequest = decode(b"").unwrap();
        assert_eq!(none.ctx, None);
        let empty: settings::GetLockoutSettingsRequest = decode(br#"{"ctx": {}}"#).unwrap();
        assert_eq!(empty.ctx, Some(object::RequestContext::default()));
    }

    // --- responses -----------------------------------------------------------------------

    fn command_details() -> Option<object::Details> {
        Some(object::Details {
            sequence: 42,
            change_date: Some(at(1_718_261_075, 860_000_000)),
            resource_owner: "org1".into(),
            creation_date: None,
        })
    }

    fn full_session() -> session::Session {
        session::Session {
            id: "s1".into(),
            creation_date: Some(at(1_718_261_075, 0)),
            change_date: Some(at(1_718_261_076, 500_000_000)),
            sequence: 7,
            factors: Some(session::Factors {
                user: Some(session::UserFactor {
                    verified_at: Some(at(1_718_261_075, 0)),
                    id: "u1".into(),
                    login_name: "alice@example.com".into(),
                    display_name: "Alice".into(),
                    organization_id: "org1".into(),
                }),
                password: Some(session::PasswordFactor {
                    verified_at: Some(at(1_718_261_076, 0)),
                }),
                ..session::Factors::default()
            }),
            metadata: HashMap::from([
                ("k".to_owned(), b"hi".to_vec()),
                ("bin".to_owned(), vec![0xfb, 0xff]),
                ("empty".to_owned(), Vec::new()),
            ]),
            user_agent: Some(session::UserAgent {
                fingerprint_id: Some("fp".into()),
                ip: Some("192.0.2.1".into()),
                description: Some(String::new()),
                header: HashMap::from([
                    (
                        "user-agent".to_owned(),
                        session::user_agent::HeaderValues {
                            values: vec!["Mozilla/5.0".into()],
                        },
                    ),
                    (
                        "x-empty".to_owned(),
                        session::user_agent::HeaderValues::default(),
                    ),
                ]),
            }),
            expiration_date: Some(at(1_718_347_475, 0)),
        }
    }

    fn full_session_json() -> Value {
        json!({
            "id": "s1",
            "creationDate": "2024-06-13T06:44:35Z",
            "changeDate": "2024-06-13T06:44:36.500Z",
            "sequence": "7",
            "factors": {
                "user": {
                    "verifiedAt": "2024-06-13T06:44:35Z",
                    "id": "u1",
                    "loginName": "alice@example.com",
                    "displayName": "Alice",
                    "organizationId": "org1",
                },
                "password": {"verifiedAt": "2024-06-13T06:44:36Z"},
            },
            "metadata": {"k": "aGk=", "bin": "+/8=", "empty": ""},
            "userAgent": {
                "fingerprintId": "fp",
                "ip": "192.0.2.1",
                "description": "",
                "header": {"user-agent": {"values": ["Mozilla/5.0"]}, "x-empty": {}},
            },
            "expirationDate": "2024-06-14T06:44:35Z",
        })
    }

    #[test]
    fn create_session_response() {
        let response = session::CreateSessionResponse {
            details: command_details(),
            session_id: "s1".into(),
            session_token: "tok".into(),
            challenges: None,
        };
        assert_eq!(
            response.to_json(),
            json!({
                "details": {"sequence": "42", "changeDate": "2024-06-13T06:44:35.860Z", "resourceOwner": "org1"},
                "sessionId": "s1",
                "sessionToken": "tok",
            })
        );

        let options = proto_struct(
            json!({"challenge": "abc", "timeout": 60000, "ratio": 0.5, "allowCredentials": [], "extensions": null})
                .as_object()
                .unwrap()
                .clone(),
        );
        let with_challenges = session::CreateSessionResponse {
            challenges: Some(session::Challenges {
                web_auth_n: Some(session::challenges::WebAuthN {
                    public_key_credential_request_options: Some(options),
                }),
                otp_sms: Some("123456".into()),
                otp_email: Some(String::new()),
            }),
            ..response
        };
        assert_eq!(
            with_challenges.to_json()["challenges"],
            json!({
                "webAuthN": {"publicKeyCredentialRequestOptions": {
                    "challenge": "abc", "timeout": 60000, "ratio": 0.5, "allowCredentials": [], "extensions": null,
                }},
                "otpSms": "123456",
                "otpEmail": "",
            })
        );
        assert_eq!(
            with_challenges.to_json()["challenges"]["webAuthN"]["publicKeyCredentialRequestOptions"]
                ["timeout"]
                .to_string(),
            "60000"
        );
    }

    #[test]
    fn set_and_delete_session_responses() {
        let set = session::SetSessionResponse {
            details: command_details(),
            session_token: "tok2".into(),
            challenges: None,
        };
        assert_eq!(
            set.to_json(),
            json!({
                "details": {"sequence": "42", "changeDate": "2024-06-13T06:44:35.860Z", "resourceOwner": "org1"},
                "sessionToken": "tok2",
            })
        );
        let no_token = session::SetSessionResponse {
            session_token: String::new(),
            challenges: Some(session::Challenges {
                web_auth_n: Some(session::challenges::WebAuthN::default()),
                ..session::Challenges::default()
            }),
            ..set
        };
        assert_eq!(
            no_token.to_json(),
            json!({
                "details": {"sequence": "42", "changeDate": "2024-06-13T06:44:35.860Z", "resourceOwner": "org1"},
                "challenges": {"webAuthN": {}},
            })
        );
        let delete = session::DeleteSessionResponse {
            details: command_details(),
        };
        assert_eq!(
            delete.to_json(),
            json!({
                "details": {"sequence": "42", "changeDate": "2024-06-13T06:44:35.860Z", "resourceOwner": "org1"},
            })
        );
    }

    #[test]
    fn get_session_response() {
        let response = session::GetSessionResponse {
            session: Some(full_session()),
        };
        assert_eq!(
            response.to_json(),
            json!({ "session": full_session_json() })
        );

        let fresh = session::GetSessionResponse {
            session: Some(session::Session {
                id: "s2".into(),
                creation_date: Some(at(1_718_261_075, 0)),
                change_date: Some(at(1_718_261_075, 0)),
                ..session::Session::default()
            }),
        };
        assert_eq!(
            fresh.to_json(),
            json!({"session": {
                "id": "s2",
                "creationDate": "2024-06-13T06:44:35Z",
                "changeDate": "2024-06-13T06:44:35Z",
            }})
        );
        assert_eq!(session::GetSessionResponse::default().to_json(), json!({}));

        let other_factors = session::Session {
            factors: Some(session::Factors {
                web_auth_n: Some(session::WebAuthNFactor {
                    verified_at: Some(at(0, 0)),
                    user_verified: true,
                }),
                intent: Some(session::IntentFactor::default()),
                totp: Some(session::TotpFactor::default()),
                otp_sms: Some(session::OtpFactor::default()),
                otp_email: Some(session::OtpFactor::default()),
                recovery_code: Some(session::RecoveryCodeFactor::default()),
                ..session::Factors::default()
            }),
            ..session::Session::default()
        };
        assert_eq!(
            session_json(&other_factors),
            json!({"factors": {
                "webAuthN": {"verifiedAt": "1970-01-01T00:00:00Z", "userVerified": true},
                "intent": {},
                "totp": {},
                "otpSms": {},
                "otpEmail": {},
                "recoveryCode": {},
            }})
        );
    }

    #[test]
    fn list_sessions_response() {
        let response = session::ListSessionsResponse {
            details: Some(object::ListDetails {
                total_result: 1,
                processed_sequence: 99,
                timestamp: Some(at(1_718_261_075, 123_456_000)),
            }),
            sessions: vec![full_session()],
        };
        assert_eq!(
            response.to_json(),
            json!({
                "details": {
                    "totalResult": "1",
                    "processedSequence": "99",
                    "timestamp": "2024-06-13T06:44:35.123456Z",
                },
                "sessions": [full_session_json()],
            })
        );
        let empty = session::ListSessionsResponse {
            details: Some(object::ListDetails {
                total_result: 0,
                processed_sequence: 0,
                timestamp: Some(at(1_718_261_075, 0)),
            }),
            sessions: Vec::new(),
        };
        assert_eq!(
            empty.to_json(),
            json!({"details": {"timestamp": "2024-06-13T06:44:35Z"}})
        );
    }

    #[test]
    fn settings_responses() {
        let query_details = Some(object::Details {
            sequence: 3,
            change_date: Some(at(1_718_261_075, 0)),
            resource_owner: "inst1".into(),
            creation_date: Some(at(1_718_000_000, 0)),
        });
        let complexity = settings::GetPasswordComplexitySettingsResponse {
            details: query_details.clone(),
            settings: Some(settings::PasswordComplexitySettings {
                min_length: 8,
                requires_uppercase: true,
                requires_lowercase: true,
                requires_number: true,
                requires_symbol: false,
                resource_owner_type: settings::ResourceOwnerType::Instance.into(),
            }),
        };
        let details_json = json!({
            "sequence": "3",
            "changeDate": "2024-06-13T06:44:35Z",
            "resourceOwner": "inst1",
            "creationDate": "2024-06-10T06:13:20Z",
        });
        assert_eq!(
            complexity.to_json(),
            json!({
                "details": details_json,
                "settings": {
                    "minLength": "8",
                    "requiresUppercase": true,
                    "requiresLowercase": true,
                    "requiresNumber": true,
                    "resourceOwnerType": "RESOURCE_OWNER_TYPE_INSTANCE",
                },
            })
        );

        let lockout = settings::GetLockoutSettingsResponse {
            details: query_details,
            settings: Some(settings::LockoutSettings {
                max_password_attempts: 5,
                resource_owner_type: settings::ResourceOwnerType::Org.into(),
                max_otp_attempts: 0,
            }),
        };
        assert_eq!(
            lockout.to_json(),
            json!({
                "details": details_json,
                "settings": {
                    "maxPasswordAttempts": "5",
                    "resourceOwnerType": "RESOURCE_OWNER_TYPE_ORG",
                },
            })
        );
        let defaults = settings::GetLockoutSettingsResponse {
            details: None,
            settings: Some(settings::LockoutSettings {
                resource_owner_type: 9,
                ..settings::LockoutSettings::default()
            }),
        };
        assert_eq!(
            defaults.to_json(),
            json!({
                "details": {"sequence": "0", "resourceOwner": ""},
                "settings": {"resourceOwnerType": 9},
            })
        );
    }

    #[test]
    fn list_authentication_method_types_response() {
        use user::AuthenticationMethodType as T;
        let response = user::ListAuthenticationMethodTypesResponse {
            details: Some(object::ListDetails {
                total_result: 2,
                processed_sequence: 0,
                timestamp: None,
            }),
            auth_method_types: vec![
                T::Password.into(),
                T::Totp.into(),
                T::Unspecified.into(),
                42,
            ],
        };
        assert_eq!(
            response.to_json(),
            json!({
                "details": {"totalResult": "2"},
                "authMethodTypes": [
                    "AUTHENTICATION_METHOD_TYPE_PASSWORD",
                    "AUTHENTICATION_METHOD_TYPE_TOTP",
                    "AUTHENTICATION_METHOD_TYPE_UNSPECIFIED",
                    42,
                ],
            })
        );
        assert_eq!(
            user::ListAuthenticationMethodTypesResponse::default().to_json(),
            json!({"details": {}})
        );
    }
}
