//! Contact addresses: email and phone (E.164), each with a masked form for logs.

use std::fmt;
use std::str::FromStr;

/// Why a contact address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    /// Not of the form `local@domain.tld`, or longer than 254 bytes.
    #[error("email address is invalid")]
    Email,
    /// Not a phone number in international (E.164) form such as `+41791234567`, or not a
    /// number any country assigns.
    #[error("phone number is invalid: use international format, e.g. +41791234567")]
    Phone,
    /// A premium-rate number: texting one bills the sender.
    #[error("phone number is a premium-rate number, which rekey does not text")]
    PremiumRate,
}

/// An email address: `local@domain`, at most 254 bytes (the local part at most 64), no white
/// space or control characters, a dot in the domain.
///
/// Its `Debug` and [`Email::masked`] show only the first character of the local part.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(local, _)| local)
    }

    /// `a***@example.com`: safe to log.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or(("", ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

impl TryFrom<String> for Email {
    type Error = ContactError;
    fn try_from(value: String) -> Result<Self, ContactError> {
        let trimmed = value.trim();
        let Some((local, domain)) = trimmed.rsplit_once('@') else {
            return Err(ContactError::Email);
        };
        let valid = !local.is_empty()
            && local.len() <= 64
            && trimmed.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
            && !domain.contains('@');
        if valid {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(ContactError::Email)
        }
    }
}

impl FromStr for Email {
    type Err = ContactError;
    fn from_str(value: &str) -> Result<Self, ContactError> {
        Self::try_from(value.to_owned())
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

/// A phone number in E.164 form, valid by libphonenumber's metadata and not premium-rate.
///
/// Input may use spaces, dashes, dots or parentheses as separators and `00` for `+`; they are
/// removed. Its `Debug` and [`Phone::masked`] keep only the country prefix and the last two digits.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// The number in E.164 form, e.g. `+41791234567`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The country calling code, e.g. 41 for `+41791234567` (1 for the whole NANP).
    pub fn country_code(&self) -> u16 {
        phonenumber::parse(None, &self.0).map_or(0, |n| n.code().value())
    }

    /// `+41*******67`: safe to log.
    pub fn masked(&self) -> String {
        let digits = &self.0[1..];
        let head: String = digits.chars().take(2).collect();
        let tail: String = digits
            .chars()
            .skip(digits.len().saturating_sub(2))
            .collect();
        let hidden = "*".repeat(digits.len().saturating_sub(4));
        format!("+{head}{hidden}{tail}")
    }
}

impl TryFrom<String> for Phone {
    type Error = ContactError;
    fn try_from(value: String) -> Result<Self, ContactError> {
        let compact: String = value
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = if let Some(rest) = compact.strip_prefix('+') {
            rest
        } else if let Some(rest) = compact.strip_prefix("00") {
            rest
        } else {
            return Err(ContactError::Phone);
        };
        let shaped = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !shaped {
            return Err(ContactError::Phone);
        }
        let e164 = format!("+{digits}");
        // Shape first, so libphonenumber only ever sees at most 16 ASCII characters.
        let number = phonenumber::parse(None, &e164).map_err(|_| ContactError::Phone)?;
        if !phonenumber::is_valid(&number) {
            return Err(ContactError::Phone);
        }
        if number.number_type(&phonenumber::metadata::DATABASE) == phonenumber::Type::PremiumRate {
            return Err(ContactError::PremiumRate);
        }
        Ok(Self(e164))
    }
}

impl FromStr for Phone {
    type Err = ContactError;
    fn from_str(value: &str) -> Result<Self, ContactError> {
        Self::try_from(value.to_owned())
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> String {
        phone.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        let email = Email::from_str("alice@example.com").expect("valid");
        assert_eq!(email.masked(), "a***@example.com");
        assert_eq!(email.local_part(), "alice");
        assert_eq!(format!("{email:?}"), "Email(a***@example.com)");
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@c.de",
            "a@b..c",
        ] {
            assert_eq!(Email::from_str(bad), Err(ContactError::Email), "{bad}");
        }
    }

    #[test]
    fn phones_normalise_to_e164() {
        let phone = Phone::from_str("+41 79 123-45-67").expect("valid");
        assert_eq!(phone.as_str(), "+41791234567");
        assert_eq!(phone.masked(), "+41*******67");
        assert_eq!(
            Phone::from_str("0041791234567").expect("valid").as_str(),
            "+41791234567"
        );
        for bad in [
            "",
            "0791234567",
            "+0791234567",
            "+4179",
            "+41791234567890123",
            "+4179abc4567",
            "+41001234567",  // the right shape, but no Swiss number starts 00
            "+999123456789", // an unassigned country code
        ] {
            assert_eq!(Phone::from_str(bad), Err(ContactError::Phone), "{bad}");
        }
        assert_eq!(phone.country_code(), 41);
        assert_eq!(
            Phone::from_str("+1 415 555 2671")
                .expect("valid")
                .country_code(),
            1
        );
    }

    #[test]
    fn premium_rate_numbers_are_refused() {
        // Swiss 0900 and UK 09 numbers are premium rate in libphonenumber's metadata.
        for premium in ["+41900123456", "+449098765432"] {
            assert_eq!(
                Phone::from_str(premium),
                Err(ContactError::PremiumRate),
                "{premium}"
            );
        }
    }
}
