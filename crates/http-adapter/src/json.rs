//! The proto3 JSON mapping, as protojson does it: camelCase or proto names accepted, unknown
//! fields ignored, `null` = absent, enums by name or number, `int64` as strings, RFC 3339 UTC
//! timestamps, default values omitted.

use actix_web::http::StatusCode;
use actix_web::web::{Bytes, BytesMut, Payload};
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::StreamExt as _;
use rekey_domain::{Details, NotificationType};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::{Value, json};

use crate::error::{ApiError, Code};

/// Reads a request body of at most `limit` bytes.
///
/// # Errors
/// 413 (code 3) past the limit; 400 when the body cannot be read.
pub(crate) async fn read_body(
    payload: Payload,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Bytes, ApiError> {
    tokio::time::timeout(timeout, read_all(payload, limit))
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::invalid(format!(
                "request body not received within {} s",
                timeout.as_secs_f64()
            ))
            .with_status(StatusCode::REQUEST_TIMEOUT))
        })
}

async fn read_all(mut payload: Payload, limit: usize) -> Result<Bytes, ApiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::invalid(format!("request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::new(
                Code::InvalidArgument,
                format!("request body exceeds {limit} bytes"),
            )
            .with_status(StatusCode::PAYLOAD_TOO_LARGE));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Decodes a JSON request message; an empty body is `{}`.
///
/// # Errors
/// 400 code 3 with the decoder's message for malformed JSON, a wrong type, or a field given
/// twice (in either spelling).
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("invalid request: {e}")))
}

/// A proto `Timestamp`: RFC 3339, UTC, `Z`, with 0, 3, 6 or 9 fractional digits as needed.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `details {sequence, changeDate, resourceOwner}`, with `sequence` as a string (uint64).
pub(crate) fn details(details: &Details) -> Value {
    json!({
        "sequence": details.sequence.to_string(),
        "changeDate": timestamp(details.change_date),
        "resourceOwner": details.resource_owner.as_str(),
    })
}

/// `NotificationType` as protojson reads it: the exact enum name or its number. Unknown names
/// and numbers become `NOTIFICATION_TYPE_Unspecified` (which means email).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NotificationTypeJson(pub NotificationType);

impl<'de> serde::Deserialize<'de> for NotificationTypeJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnumVisitor;
        impl Visitor<'_> for EnumVisitor {
            type Value = NotificationTypeJson;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a NotificationType name or number")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
                Ok(NotificationTypeJson(match name {
                    "NOTIFICATION_TYPE_SMS" => NotificationType::Sms,
                    _ => NotificationType::Email,
                }))
            }
            fn visit_i64<E: de::Error>(self, number: i64) -> Result<Self::Value, E> {
                Ok(NotificationTypeJson(match number {
                    2 => NotificationType::Sms,
                    _ => NotificationType::Email,
                }))
            }
            fn visit_u64<E: de::Error>(self, number: u64) -> Result<Self::Value, E> {
                self.visit_i64(i64::try_from(number).unwrap_or(0))
            }
        }
        deserializer.deserialize_any(EnumVisitor)
    }
}

/// An empty proto message (such as `returnCode: {}`): any object, its fields ignored.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub(crate) struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_minimal_fraction() {
        let at: DateTime<Utc> = "2024-06-13T06:44:35.860Z".parse().expect("time");
        assert_eq!(timestamp(at), "2024-06-13T06:44:35.860Z");
        let whole: DateTime<Utc> = "2024-06-13T06:44:35Z".parse().expect("time");
        assert_eq!(timestamp(whole), "2024-06-13T06:44:35Z");
    }

    #[test]
    fn enums_by_name_or_number_unknown_is_default() {
        let parse = |v: &str| serde_json::from_str::<NotificationTypeJson>(v).map(|n| n.0);
        assert_eq!(
            parse("\"NOTIFICATION_TYPE_SMS\"").ok(),
            Some(NotificationType::Sms)
        );
        assert_eq!(
            parse("\"NOTIFICATION_TYPE_Email\"").ok(),
            Some(NotificationType::Email)
        );
        assert_eq!(
            parse("\"NOTIFICATION_TYPE_Unspecified\"").ok(),
            Some(NotificationType::Email)
        );
        assert_eq!(
            parse("\"NOTIFICATION_TYPE_sms\"").ok(),
            Some(NotificationType::Email)
        );
        assert_eq!(parse("2").ok(), Some(NotificationType::Sms));
        assert_eq!(parse("1").ok(), Some(NotificationType::Email));
        assert_eq!(parse("99").ok(), Some(NotificationType::Email));
        assert!(parse("true").is_err());
    }

    #[test]
    fn empty_body_is_an_empty_message() {
        #[derive(serde::Deserialize)]
        struct M {
            a: Option<String>,
        }
        assert!(decode::<M>(b"").expect("empty").a.is_none());
        assert!(decode::<M>(b" \n").expect("blank").a.is_none());
        assert!(decode::<M>(b"[").is_err());
    }
}
