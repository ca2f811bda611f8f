//! Identifiers: opaque strings, as ZITADEL treats them, and the numeric ids rekey generates.

use std::fmt;
use std::str::FromStr;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Ids are 1..=200 code points.
    #[error("value length must be between 1 and 200 runes, inclusive")]
    Length,
    /// Ids may not contain control characters.
    #[error("value must not contain control characters")]
    Characters,
}

fn check_id(value: &str) -> Result<(), IdError> {
    let len = value.chars().count();
    if !(1..=200).contains(&len) {
        return Err(IdError::Length);
    }
    if value.chars().any(char::is_control) {
        return Err(IdError::Characters);
    }
    Ok(())
}

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                check_id(&value)?;
                Ok(Self(value))
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(value: &str) -> Result<Self, IdError> {
                Self::try_from(value.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

opaque_id!(
    /// The id of a user, human or machine: 1..=200 code points, no control characters.
    UserId
);
opaque_id!(
    /// The id of an organization (a user's "resource owner").
    OrgId
);

/// Start of rekey's id clock: 2025-01-01T00:00:00Z in Unix milliseconds.
const ID_EPOCH_MS: i64 = 1_735_689_600_000;

/// Builds a numeric id in the style of ZITADEL's (time-ordered, 18 digits for years to come):
/// milliseconds since 2025-01-01 in the high bits, then 10 bits of node and 12 bits of sequence.
///
/// Pure: the caller supplies time, node and a per-millisecond sequence (see the `IdGenerator`
/// port of `rekey-application`). Node and sequence are masked to their widths.
pub fn compose_numeric_id(unix_ms: i64, node: u16, sequence: u16) -> String {
    let ms = u64::try_from(unix_ms.saturating_sub(ID_EPOCH_MS)).unwrap_or(0);
    let id = (ms << 22) | (u64::from(node & 0x3ff) << 12) | u64::from(sequence & 0xfff);
    id.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(UserId::from_str("69629023906488334").is_ok());
        assert_eq!(UserId::from_str(""), Err(IdError::Length));
        assert_eq!(UserId::from_str(&"1".repeat(201)), Err(IdError::Length));
        assert!(UserId::from_str(&"é".repeat(200)).is_ok());
        assert_eq!(UserId::from_str("a\nb"), Err(IdError::Characters));
    }

    #[test]
    fn numeric_ids_are_18_digits_and_ordered() {
        // 2026-11-27
        let now = 1_795_000_000_000;
        let a = compose_numeric_id(now, 1, 0);
        let b = compose_numeric_id(now, 1, 1);
        let c = compose_numeric_id(now + 1, 0, 0);
        assert_eq!(a.len(), 18, "{a}");
        assert!(a.parse::<u64>().expect("number") < b.parse::<u64>().expect("number"));
        assert!(b.parse::<u64>().expect("number") < c.parse::<u64>().expect("number"));
        assert_ne!(compose_numeric_id(now, 1, 0), compose_numeric_id(now, 2, 0));
    }
}
