//! protoc-gen-validate's rules as ZITADEL's protos declare them, with its messages, and the
//! conversions the messages share (`Details`, timestamps).

use chrono::{DateTime, Utc};
use rekey_domain::{BoundedText, Details, UserId};
use rekey_proto::zitadel::object::v2 as object;

use crate::status::{Code, Status};

/// protoc-gen-validate's message for a length rule.
pub(crate) fn length_error(field: &str, min: usize, max: usize) -> Status {
    Status::invalid(format!(
        "invalid {field}: value length must be between {min} and {max} runes, inclusive"
    ))
}

/// protoc-gen-validate's message for a missing message.
pub(crate) fn required(field: &str) -> Status {
    Status::invalid(format!("invalid {field}: value is required"))
}

/// A text of `min..=max` runes, checked as PGV does.
pub(crate) fn text(field: &str, value: String, min: usize, max: usize) -> Result<String, Status> {
    let runes = value.chars().count();
    if runes < min || runes > max {
        return Err(length_error(field, min, max));
    }
    Ok(value)
}

pub(crate) fn user_id(field: &str, value: String) -> Result<UserId, Status> {
    UserId::try_from(value).map_err(|_| length_error(field, 1, 200))
}

/// A text of `min..=max` runes without control characters: an id or name that is looked up
/// (PostgreSQL refuses a NUL in a text parameter, so one must not reach the database).
pub(crate) fn plain_text(
    field: &str,
    value: String,
    min: usize,
    max: usize,
) -> Result<String, Status> {
    let value = text(field, value, min, max)?;
    if value.chars().any(char::is_control) {
        return Err(Status::invalid(format!(
            "invalid {field}: value must not contain control characters"
        )));
    }
    Ok(value)
}

pub(crate) fn bounded<const MIN: usize, const MAX: usize>(
    field: &str,
    value: String,
) -> Result<BoundedText<MIN, MAX>, Status> {
    BoundedText::new(value).map_err(|_| length_error(field, MIN, MAX))
}

pub(crate) fn optional<const MIN: usize, const MAX: usize>(
    field: &str,
    value: Option<String>,
) -> Result<Option<BoundedText<MIN, MAX>>, Status> {
    value.map(|v| bounded(field, v)).transpose()
}

pub(crate) fn permission_denied() -> Status {
    Status::with_id(
        Code::PermissionDenied,
        "AUTH-AWfge",
        "No matching permissions found",
    )
}

pub(crate) fn user_not_found() -> Status {
    Status::with_id(Code::NotFound, "COMMAND-SAF4f", "User could not be found")
}

/// A `google.protobuf.Timestamp`.
pub(crate) fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A `google.protobuf.Timestamp` as a time, or code 3 naming `field` when it is out of range.
pub(crate) fn time(field: &str, at: prost_types::Timestamp) -> Result<DateTime<Utc>, Status> {
    u32::try_from(at.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(at.seconds, nanos))
        .ok_or_else(|| Status::invalid(format!("invalid {field}: not a valid timestamp")))
}

/// `details` of a command's response: the sequence, the change date and the resource owner;
/// no creation date (ZITADEL leaves it unset on commands).
pub(crate) fn details(details: &Details) -> object::Details {
    object::Details {
        sequence: u64::try_from(details.sequence).unwrap_or(0),
        change_date: Some(timestamp(details.change_date)),
        resource_owner: details.resource_owner.as_str().to_owned(),
        creation_date: None,
    }
}
