//! Errors on the gRPC wire exactly as ZITADEL writes them (GRPC.md §5.2).
//!
//! - `grpc-status`: the code number;
//! - `grpc-message`: `"<text> (<ID>)"` (percent-encoded by [`encode_message`], see
//!   [`crate::context`], which rewrites what tonic wrote);
//! - `grpc-status-details-bin`: unpadded base64 of `google.rpc.Status{code, message,
//!   details: [Any(zitadel.v1.ErrorDetail{id, text})]}`, only when the error has an id;
//! - `retry-after` (seconds) when the error says when to come back.
//!
//! A 5xx-like error (Internal, Unavailable) carries only its fixed message; its cause is
//! logged here, once, and never sent.

use percent_encoding::{AsciiSet, CONTROLS, percent_encode};
use prost::Message as _;
use rekey_proto::ERROR_DETAIL_TYPE_URL;
use rekey_proto::google::rpc;
use rekey_proto::prost_types::Any;
use rekey_proto::zitadel::v1::ErrorDetail;

/// What an error is made of, independent of where it came from.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    /// The gRPC code number (1..=16).
    pub code: i32,
    /// ZITADEL's error id (`COMMAND-SAF4f`), if any.
    pub id: Option<&'a str>,
    /// The text for the client, without the id.
    pub message: &'a str,
    /// Seconds after which the caller may try again.
    pub retry_after: Option<i64>,
    /// The internal cause of a server-side failure: logged, never sent.
    pub cause: Option<&'a str>,
}

impl Failure<'_> {
    /// `"<text> (<ID>)"`, or the text alone when there is no id.
    pub fn full_message(&self) -> String {
        match self.id {
            Some(id) => format!("{} ({id})", self.message),
            None => self.message.to_owned(),
        }
    }

    fn is_server_side(&self) -> bool {
        matches!(
            tonic::Code::from_i32(self.code),
            tonic::Code::Internal | tonic::Code::Unavailable | tonic::Code::Unknown
        )
    }
}

/// The bytes of `grpc-status-details-bin` (before base64): `google.rpc.Status` with one
/// `zitadel.v1.ErrorDetail`; `None` when the failure has no id (ZITADEL then sends no details).
pub fn details(failure: &Failure<'_>) -> Option<Vec<u8>> {
    let id = failure.id?;
    let detail = ErrorDetail {
        id: id.to_owned(),
        message: failure.message.to_owned(),
    };
    let status = rpc::Status {
        code: failure.code,
        message: failure.full_message(),
        details: vec![Any {
            type_url: ERROR_DETAIL_TYPE_URL.to_owned(),
            value: detail.encode_to_vec(),
        }],
    };
    Some(status.encode_to_vec())
}

/// The `tonic::Status` of a failure, with details and `retry-after` as ZITADEL sends them.
/// Logs the cause of a server-side failure (once: nowhere else does).
pub fn to_status(failure: &Failure<'_>) -> tonic::Status {
    if failure.is_server_side() {
        tracing::error!(
            code = failure.code,
            id = failure.id,
            cause = failure.cause.unwrap_or(""),
            "call failed"
        );
    } else {
        tracing::debug!(code = failure.code, id = failure.id, "call refused");
    }
    let code = tonic::Code::from_i32(failure.code);
    let message = failure.full_message();
    let mut status = match details(failure) {
        Some(bytes) => tonic::Status::with_details(code, message, bytes.into()),
        None => tonic::Status::new(code, message),
    };
    if let Some(seconds) = failure.retry_after
        && let Ok(value) = seconds.max(0).to_string().parse()
    {
        status.metadata_mut().insert("retry-after", value);
    }
    status
}

/// Bytes escaped in `grpc-message`: controls, `%` and (always, by `percent_encode`) every byte
/// above 0x7E. Spaces and parentheses stay literal, as connect-go writes them.
const MESSAGE_ESCAPES: &AsciiSet = &CONTROLS.add(b'%');

/// `grpc-message` as ZITADEL (connect-go) encodes it.
pub fn encode_message(message: &[u8]) -> String {
    percent_encode(message, MESSAGE_ESCAPES).to_string()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD_NO_PAD;

    use super::*;

    /// GRPC.md §5.2: PasswordReset for a missing user, as ZITADEL's stack encodes it.
    const NOT_FOUND_DETAILS: &str = "CAUSJ1VzZXIgY291bGQgbm90IGJlIGZvdW5kIChDT01NQU5ELVNBRjRmKRpWCip0eXBlLmdvb2dsZWFwaXMuY29tL3ppdGFkZWwudjEuRXJyb3JEZXRhaWwSKAoNQ09NTUFORC1TQUY0ZhIXVXNlciBjb3VsZCBub3QgYmUgZm91bmQ";

    fn not_found() -> Failure<'static> {
        Failure {
            code: 5,
            id: Some("COMMAND-SAF4f"),
            message: "User could not be found",
            retry_after: None,
            cause: None,
        }
    }

    fn headers(status: tonic::Status) -> http::HeaderMap {
        status.into_http::<()>().headers().clone()
    }

    #[test]
    fn not_found_details_are_zitadels_bytes() {
        let status = to_status(&not_found());
        let headers = headers(status);
        let sent = headers
            .get("grpc-status-details-bin")
            .expect("details header")
            .to_str()
            .expect("ascii");
        assert_eq!(sent, NOT_FOUND_DETAILS, "the header, as a string");
        let expected = STANDARD_NO_PAD.decode(NOT_FOUND_DETAILS).expect("base64");
        assert_eq!(
            details(&not_found()).expect("an id gives details"),
            expected,
            "the decoded bytes"
        );
        let decoded = rpc::Status::decode(expected.as_slice()).expect("google.rpc.Status");
        assert_eq!(decoded.message, "User could not be found (COMMAND-SAF4f)");
        assert_eq!(headers.get("grpc-status").expect("code"), "5");
    }

    #[test]
    fn no_id_no_details() {
        let failure = Failure {
            code: 16,
            id: None,
            message: "auth header missing",
            retry_after: None,
            cause: None,
        };
        assert!(details(&failure).is_none());
        let headers = headers(to_status(&failure));
        assert!(headers.get("grpc-status-details-bin").is_none());
        assert_eq!(headers.get("grpc-status").expect("code"), "16");
    }

    #[test]
    fn retry_after_goes_into_the_metadata() {
        let failure = Failure {
            code: 8,
            id: Some("REKEY-Limit"),
            message: "Too many requests",
            retry_after: Some(42),
            cause: None,
        };
        let headers = headers(to_status(&failure));
        assert_eq!(headers.get("retry-after").expect("retry-after"), "42");
        let without = headers_of_plain(8);
        assert!(without.get("retry-after").is_none());
    }

    fn headers_of_plain(code: i32) -> http::HeaderMap {
        headers(to_status(&Failure {
            code,
            id: None,
            message: "x",
            retry_after: None,
            cause: None,
        }))
    }

    #[test]
    fn the_cause_of_an_internal_error_is_never_sent() {
        let failure = Failure {
            code: 13,
            id: None,
            message: "Internal error",
            retry_after: None,
            cause: Some("connection refused to 10.0.0.7"),
        };
        let status = to_status(&failure);
        assert_eq!(status.message(), "Internal error");
        let headers = headers(status);
        for value in headers.values() {
            assert!(
                !value.as_bytes().windows(7).any(|w| w == b"10.0.0.")
                    && !value.as_bytes().starts_with(b"connection"),
                "{value:?}"
            );
        }
    }

    #[test]
    fn messages_escape_only_controls_percent_and_non_ascii() {
        assert_eq!(
            encode_message(b"User could not be found (COMMAND-SAF4f)"),
            "User could not be found (COMMAND-SAF4f)"
        );
        assert_eq!(encode_message(b"100% {x} ?#<>`\""), "100%25 {x} ?#<>`\"");
        assert_eq!(
            encode_message("Benutzer für \n".as_bytes()),
            "Benutzer f%C3%BCr %0A"
        );
    }
}
