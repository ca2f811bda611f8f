//! Errors on the gRPC wire exactly as ZITADEL writes them (GRPC.md §5.2).
//!
//! - `grpc-status`: the code number;
//! - `grpc-message`: `"<text> (<ID>)"` (percent-encoded by [`encode_message`], see
//!   [`crate::context`], which rewrites what tonic wrote);
//! - `grpc-status-details-bin`: unpadded base64 of `google.rpc.Status{code, message,
//!   details: [Any(zitadel.v1.ErrorDetail{id, text})]}` (`rekey_api::Status::rpc_status`),
//!   only when the error has an id;
//! - `retry-after` (seconds) when the error says when to come back.
//!
//! A failure (Internal, Unavailable) carries only its fixed message and the request id; its
//! cause is logged here, once, and never sent.

use percent_encoding::{AsciiSet, CONTROLS, percent_encode};
use rekey_api::Status;

/// The `tonic::Status` of a refusal, with details and `retry-after` as ZITADEL sends them. A
/// failure (Internal, Unavailable) names the call's `request_id`, as the HTTP side does, so an
/// operator can find its log line; its cause is logged here, once, and never sent.
pub fn to_status(status: &Status, request_id: Option<&str>) -> tonic::Status {
    let number = status.code().number();
    let mut message = status.full_message();
    if status.code().is_failure() {
        tracing::error!(
            code = number,
            cause = status.cause().unwrap_or(""),
            "call failed"
        );
        if let Some(request_id) = request_id {
            message = format!("{message} (request id {request_id})");
        }
    } else {
        tracing::debug!(code = number, id = status.id(), "call refused");
    }
    let code = tonic::Code::from_i32(number);
    let mut answer = match status.rpc_status(&message) {
        Some(bytes) => tonic::Status::with_details(code, message, bytes.into()),
        None => tonic::Status::new(code, message),
    };
    if let Some(seconds) = status.retry_after()
        && let Ok(value) = seconds.max(0).to_string().parse()
    {
        answer.metadata_mut().insert("retry-after", value);
    }
    answer
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
    use prost::Message as _;
    use rekey_api::Code;
    use rekey_proto::google::rpc;

    use super::*;

    /// GRPC.md §5.2: PasswordReset for a missing user, as ZITADEL's stack encodes it.
    const NOT_FOUND_DETAILS: &str = "CAUSJ1VzZXIgY291bGQgbm90IGJlIGZvdW5kIChDT01NQU5ELVNBRjRmKRpWCip0eXBlLmdvb2dsZWFwaXMuY29tL3ppdGFkZWwudjEuRXJyb3JEZXRhaWwSKAoNQ09NTUFORC1TQUY0ZhIXVXNlciBjb3VsZCBub3QgYmUgZm91bmQ";

    fn headers(status: tonic::Status) -> http::HeaderMap {
        status.into_http::<()>().headers().clone()
    }

    #[test]
    fn not_found_details_are_zitadels_bytes() {
        let not_found = Status::with_id(Code::NotFound, "COMMAND-SAF4f", "User could not be found");
        let headers = headers(to_status(&not_found, Some("r1")));
        let sent = headers
            .get("grpc-status-details-bin")
            .expect("details header")
            .to_str()
            .expect("ascii");
        assert_eq!(sent, NOT_FOUND_DETAILS, "the header, as a string");
        let expected = STANDARD_NO_PAD.decode(NOT_FOUND_DETAILS).expect("base64");
        let decoded = rpc::Status::decode(expected.as_slice()).expect("google.rpc.Status");
        assert_eq!(decoded.message, "User could not be found (COMMAND-SAF4f)");
        assert_eq!(headers.get("grpc-status").expect("code"), "5");
    }

    #[test]
    fn no_id_no_details() {
        let missing = Status::new(Code::Unauthenticated, "auth header missing");
        let headers = headers(to_status(&missing, None));
        assert!(headers.get("grpc-status-details-bin").is_none());
        assert_eq!(headers.get("grpc-status").expect("code"), "16");
    }

    #[test]
    fn retry_after_goes_into_the_metadata() {
        let unavailable = Status::unavailable("pool timed out");
        let headers = headers(to_status(&unavailable, None));
        assert_eq!(headers.get("retry-after").expect("retry-after"), "1");
        let plain = Status::invalid("x");
        assert!(headers_of(&plain).get("retry-after").is_none());
    }

    fn headers_of(status: &Status) -> http::HeaderMap {
        headers(to_status(status, None))
    }

    #[test]
    fn the_cause_of_an_internal_error_is_never_sent_but_the_request_id_is() {
        let internal = Status::internal("connection refused to 10.0.0.7");
        let status = to_status(&internal, Some("req-42"));
        assert_eq!(status.message(), "Internal error (request id req-42)");
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
