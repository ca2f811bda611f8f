//! The outcome of a refused call, before any transport writes it: a gRPC code, ZITADEL's error
//! id when there is one, the client's message, and (for a failure) a cause for the log only.
//!
//! Each adapter frames a [`Status`] its own way: grpc-gateway's REST body, Connect's JSON body,
//! gRPC's `grpc-status` trailers. What they share is here: the code's number and names, the
//! `"<text> (<ID>)"` message, and ZITADEL's `zitadel.v1.ErrorDetail` in a `google.rpc.Status`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use prost::Message as _;
use rekey_application::Failure;
use rekey_application::usecase::limits::Exhausted;
use rekey_proto::zitadel::v1::{CredentialsCheckError, ErrorDetail};
use rekey_proto::{CREDENTIALS_CHECK_ERROR_TYPE_URL, ERROR_DETAIL_TYPE_URL, google};
use serde_json::{Value, json};

/// The gRPC status codes rekey answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 3.
    InvalidArgument,
    /// 5.
    NotFound,
    /// 6.
    AlreadyExists,
    /// 7.
    PermissionDenied,
    /// 8.
    ResourceExhausted,
    /// 9.
    FailedPrecondition,
    /// 12.
    Unimplemented,
    /// 13.
    Internal,
    /// 14.
    Unavailable,
    /// 16.
    Unauthenticated,
}

impl Code {
    /// The number gRPC sends in `grpc-status` and REST in `code`.
    #[must_use]
    pub fn number(self) -> i32 {
        match self {
            Self::InvalidArgument => 3,
            Self::NotFound => 5,
            Self::AlreadyExists => 6,
            Self::PermissionDenied => 7,
            Self::ResourceExhausted => 8,
            Self::FailedPrecondition => 9,
            Self::Unimplemented => 12,
            Self::Internal => 13,
            Self::Unavailable => 14,
            Self::Unauthenticated => 16,
        }
    }

    /// The name in lower snake case, as Connect spells it (`not_found`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::PermissionDenied => "permission_denied",
            Self::ResourceExhausted => "resource_exhausted",
            Self::FailedPrecondition => "failed_precondition",
            Self::Unimplemented => "unimplemented",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::Unauthenticated => "unauthenticated",
        }
    }

    /// The HTTP status grpc-gateway and Connect give the code (failed_precondition is 400).
    #[must_use]
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidArgument | Self::FailedPrecondition => 400,
            Self::NotFound => 404,
            Self::AlreadyExists => 409,
            Self::PermissionDenied => 403,
            Self::ResourceExhausted => 429,
            Self::Unimplemented => 501,
            Self::Internal => 500,
            Self::Unavailable => 503,
            Self::Unauthenticated => 401,
        }
    }

    /// Whether the code means the service failed, not the caller (its cause is logged).
    #[must_use]
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Internal | Self::Unavailable)
    }
}

/// A refused call, in no transport's shape yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    code: Code,
    id: Option<&'static str>,
    message: String,
    /// Seconds; `u32` keeps a `Status` (and every `Result` carrying one) small.
    retry_after: Option<u32>,
    cause: Option<String>,
    failed_attempts: Option<u32>,
}

impl Status {
    /// `code` with a client-facing `message` and no ZITADEL id (a field rule, a framing error).
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            id: None,
            message: message.into(),
            retry_after: None,
            cause: None,
            failed_attempts: None,
        }
    }

    /// A failed password check: its detail is a `zitadel.v1.CredentialsCheckError` carrying
    /// the user's wrong passwords in a row (this one included), as ZITADEL's login app reads
    /// them, instead of an `ErrorDetail`.
    pub fn credentials(
        code: Code,
        id: &'static str,
        message: impl Into<String>,
        failed_attempts: u32,
    ) -> Self {
        Self {
            failed_attempts: Some(failed_attempts),
            ..Self::with_id(code, id, message)
        }
    }

    /// A ZITADEL-style error: `message` is shown as `message (id)`, and the id travels in an
    /// `ErrorDetail`.
    pub fn with_id(code: Code, id: &'static str, message: impl Into<String>) -> Self {
        Self {
            id: Some(id),
            ..Self::new(code, message)
        }
    }

    /// Code 3, for a field that failed validation.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }

    /// Code 8 for a spent budget, with the seconds until it has room.
    #[must_use]
    pub fn exhausted(exhausted: &Exhausted) -> Self {
        Self {
            retry_after: Some(u32::try_from(exhausted.retry_after_seconds()).unwrap_or(u32::MAX)),
            ..Self::with_id(
                Code::ResourceExhausted,
                "REKEY-Limit",
                exhausted.to_string(),
            )
        }
    }

    /// Code 13: `cause` goes to the log, never to the client.
    pub fn internal(cause: impl Into<String>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(Code::Internal, "Internal error")
        }
    }

    /// Code 14, worth retrying after a second: `cause` goes to the log, never to the client.
    pub fn unavailable(cause: impl Into<String>) -> Self {
        Self {
            cause: Some(cause.into()),
            retry_after: Some(1),
            ..Self::new(Code::Unavailable, "Service temporarily unavailable")
        }
    }

    /// An infrastructure failure: 14 when it may pass, 13 otherwise.
    #[must_use]
    pub fn failure(failure: Failure) -> Self {
        match failure {
            Failure::Unavailable(cause) => Self::unavailable(cause),
            Failure::Unexpected(cause) => Self::internal(cause),
        }
    }

    /// The gRPC code.
    #[must_use]
    pub fn code(&self) -> Code {
        self.code
    }

    /// ZITADEL's error id (`COMMAND-SAF4f`), if the error has one.
    #[must_use]
    pub fn id(&self) -> Option<&'static str> {
        self.id
    }

    /// The text for the client, without the id.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `"<text> (<ID>)"`, or the text alone: what ZITADEL puts in `grpc-message` and `message`.
    #[must_use]
    pub fn full_message(&self) -> String {
        match self.id {
            Some(id) => format!("{} ({id})", self.message),
            None => self.message.clone(),
        }
    }

    /// Seconds the client should wait before retrying (a spent budget, an unavailable store).
    #[must_use]
    pub fn retry_after(&self) -> Option<i64> {
        self.retry_after.map(i64::from)
    }

    /// Why the service failed, for the log only.
    #[must_use]
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// `zitadel.v1.ErrorDetail{id, message}`, for an error with an id.
    #[must_use]
    pub fn error_detail(&self) -> Option<ErrorDetail> {
        self.id.map(|id| ErrorDetail {
            id: id.to_owned(),
            message: self.message.clone(),
        })
    }

    /// The encoded `google.rpc.Status` ZITADEL sends in `grpc-status-details-bin`: the code, the
    /// full `message`, and the `ErrorDetail` as an `Any`. `None` without an id: ZITADEL then
    /// sends no details.
    /// The wrong passwords in a row a failed password check reports.
    #[must_use]
    pub fn failed_attempts(&self) -> Option<u32> {
        self.failed_attempts
    }

    /// The detail as a `google.protobuf.Any`: its type URL and encoded message.
    fn detail_any(&self) -> Option<prost_types::Any> {
        let detail = self.error_detail()?;
        Some(match self.failed_attempts {
            Some(attempts) => prost_types::Any {
                type_url: CREDENTIALS_CHECK_ERROR_TYPE_URL.to_owned(),
                value: CredentialsCheckError {
                    id: detail.id,
                    message: detail.message,
                    failed_attempts: i32::try_from(attempts).unwrap_or(i32::MAX),
                    remaining_lock_duration: 0,
                }
                .encode_to_vec(),
            },
            None => prost_types::Any {
                type_url: ERROR_DETAIL_TYPE_URL.to_owned(),
                value: detail.encode_to_vec(),
            },
        })
    }

    #[must_use]
    pub fn rpc_status(&self, message: &str) -> Option<Vec<u8>> {
        let status = google::rpc::Status {
            code: self.code.number(),
            message: message.to_owned(),
            details: vec![self.detail_any()?],
        };
        Some(status.encode_to_vec())
    }

    /// grpc-gateway's error body: `{code: 5, message, details: [{"@type", id, message}]}`.
    #[must_use]
    pub fn rest_body(&self, message: &str) -> Value {
        let mut body = json!({ "code": self.code.number(), "message": message });
        if let Some(id) = self.id {
            body["details"] = match self.failed_attempts {
                Some(attempts) => json!([{
                    "@type": CREDENTIALS_CHECK_ERROR_TYPE_URL,
                    "id": id,
                    "message": self.message,
                    "failedAttempts": attempts,
                }]),
                None => json!([{
                    "@type": ERROR_DETAIL_TYPE_URL,
                    "id": id,
                    "message": self.message,
                }]),
            };
        }
        body
    }

    /// Connect's error body: `{code: "not_found", message, details: [{type, value, debug}]}`,
    /// the detail's type without the `type.googleapis.com/` prefix and its bytes in unpadded
    /// base64, as connect-go writes them.
    #[must_use]
    pub fn connect_body(&self, message: &str) -> Value {
        let mut body = json!({ "code": self.code.name(), "message": message });
        if let Some(any) = self.detail_any() {
            let type_name = any.type_url.rsplit('/').next().unwrap_or_default();
            let mut debug = json!({ "id": self.id, "message": self.message });
            if let Some(attempts) = self.failed_attempts {
                debug["failedAttempts"] = json!(attempts);
            }
            body["details"] = json!([{
                "type": type_name,
                "value": STANDARD_NO_PAD.encode(any.value),
                "debug": debug,
            }]);
        }
        body
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.full_message())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn not_found() -> Status {
        Status::with_id(Code::NotFound, "COMMAND-SAF4f", "User could not be found")
    }

    /// GRPC.md §5.2's worked example, produced by ZITADEL's own TypeScript encoder.
    #[test]
    fn the_status_detail_is_byte_for_byte_zitadels() {
        let status = not_found();
        let bytes = status.rpc_status(&status.full_message()).unwrap();
        assert_eq!(
            STANDARD_NO_PAD.encode(bytes),
            "CAUSJ1VzZXIgY291bGQgbm90IGJlIGZvdW5kIChDT01NQU5ELVNBRjRmKRpWCip0eXBlLmdvb2dsZWFwaXMu\
             Y29tL3ppdGFkZWwudjEuRXJyb3JEZXRhaWwSKAoNQ09NTUFORC1TQUY0ZhIXVXNlciBjb3VsZCBub3QgYmUg\
             Zm91bmQ"
        );
    }

    #[test]
    fn the_connect_body_is_zitadels() {
        let status = not_found();
        assert_eq!(
            status.connect_body(&status.full_message()),
            json!({
                "code": "not_found",
                "message": "User could not be found (COMMAND-SAF4f)",
                "details": [{
                    "type": "zitadel.v1.ErrorDetail",
                    "value": "Cg1DT01NQU5ELVNBRjRmEhdVc2VyIGNvdWxkIG5vdCBiZSBmb3VuZA",
                    "debug": {"id": "COMMAND-SAF4f", "message": "User could not be found"},
                }],
            })
        );
    }

    #[test]
    fn a_failed_password_check_carries_zitadels_credentials_check_error() {
        let status = Status::credentials(
            Code::InvalidArgument,
            "COMMAND-3M0fs",
            "Password is invalid",
            2,
        );
        assert_eq!(
            status.rest_body(&status.full_message()),
            json!({
                "code": 3,
                "message": "Password is invalid (COMMAND-3M0fs)",
                "details": [{
                    "@type": "type.googleapis.com/zitadel.v1.CredentialsCheckError",
                    "id": "COMMAND-3M0fs",
                    "message": "Password is invalid",
                    "failedAttempts": 2,
                }],
            })
        );
        let bytes = status.rpc_status(&status.full_message()).unwrap();
        let decoded = google::rpc::Status::decode(bytes.as_slice()).unwrap();
        assert_eq!(
            decoded.details[0].type_url,
            CREDENTIALS_CHECK_ERROR_TYPE_URL
        );
        let detail = CredentialsCheckError::decode(decoded.details[0].value.as_slice()).unwrap();
        assert_eq!(
            (detail.id.as_str(), detail.failed_attempts),
            ("COMMAND-3M0fs", 2)
        );
        let connect = status.connect_body(&status.full_message());
        assert_eq!(
            connect["details"][0]["type"],
            "zitadel.v1.CredentialsCheckError"
        );
    }

    #[test]
    fn an_error_without_an_id_has_no_details() {
        let status = Status::invalid("invalid PasswordResetRequest.UserId: value length");
        assert!(status.rpc_status(status.message()).is_none());
        assert!(
            status
                .connect_body(status.message())
                .get("details")
                .is_none()
        );
        assert!(status.rest_body(status.message()).get("details").is_none());
        assert_eq!(status.full_message(), status.message());
    }

    #[test]
    fn a_failure_keeps_its_cause_out_of_the_message() {
        let status = Status::failure(Failure::Unexpected("pool: connection refused".into()));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.full_message().contains("refused"));
        assert_eq!(status.cause(), Some("pool: connection refused"));
        let status = Status::failure(Failure::Unavailable("timeout".into()));
        assert_eq!(
            (status.code(), status.retry_after()),
            (Code::Unavailable, Some(1))
        );
    }
}
