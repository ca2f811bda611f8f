//! Passwords: the secret (redacted), and the complexity policy a new password must meet.

use std::fmt;

/// A password in plain text, on its way to the hasher. `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    /// The secret itself: call only to hash or check it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password broke a rule of the complexity policy. Each carries ZITADEL's error id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// Shorter than the minimum length (`DOMAIN-HuJf6`).
    #[error("Password is too short")]
    TooShort,
    /// No lower-case letter (`DOMAIN-co3Xw`).
    #[error("Password must contain lower case")]
    NoLower,
    /// No upper-case letter (`DOMAIN-VoaRj`).
    #[error("Password must contain upper case")]
    NoUpper,
    /// No digit (`DOMAIN-ZBv4H`).
    #[error("Password must contain number")]
    NoNumber,
    /// No symbol (`DOMAIN-ZDLwA`).
    #[error("Password must contain symbol")]
    NoSymbol,
    /// Contains the username or the email's local part (rekey's rule, `REKEY-PwPers`).
    #[error("Password must not contain the username or the email address")]
    PersonalInfo,
}

impl PolicyViolation {
    /// ZITADEL's id for this violation.
    pub fn id(self) -> &'static str {
        match self {
            Self::TooShort => "DOMAIN-HuJf6",
            Self::NoLower => "DOMAIN-co3Xw",
            Self::NoUpper => "DOMAIN-VoaRj",
            Self::NoNumber => "DOMAIN-ZBv4H",
            Self::NoSymbol => "DOMAIN-ZDLwA",
            Self::PersonalInfo => "REKEY-PwPers",
        }
    }
}

/// The complexity policy of an organization. Default (ZITADEL's): at least 8 characters with a
/// lower-case letter, an upper-case letter, a digit and a symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in code points.
    pub min_length: usize,
    /// Require a lower-case letter.
    pub has_lowercase: bool,
    /// Require an upper-case letter.
    pub has_uppercase: bool,
    /// Require a digit.
    pub has_number: bool,
    /// Require a symbol (anything that is not a letter or digit).
    pub has_symbol: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            has_lowercase: true,
            has_uppercase: true,
            has_number: true,
            has_symbol: true,
        }
    }
}

impl PasswordPolicy {
    /// Checks a password, in ZITADEL's order: length, lower, upper, number, symbol.
    ///
    /// # Errors
    /// The first [`PolicyViolation`] found.
    pub fn check(&self, password: &Password) -> Result<(), PolicyViolation> {
        let pw = password.expose();
        if pw.chars().count() < self.min_length {
            return Err(PolicyViolation::TooShort);
        }
        if self.has_lowercase && !pw.chars().any(char::is_lowercase) {
            return Err(PolicyViolation::NoLower);
        }
        if self.has_uppercase && !pw.chars().any(char::is_uppercase) {
            return Err(PolicyViolation::NoUpper);
        }
        if self.has_number && !pw.chars().any(|c| c.is_ascii_digit()) {
            return Err(PolicyViolation::NoNumber);
        }
        if self.has_symbol && pw.chars().all(char::is_alphanumeric) {
            return Err(PolicyViolation::NoSymbol);
        }
        Ok(())
    }
}

impl PasswordPolicy {
    /// rekey's rule beyond ZITADEL's: the password may not contain (ignoring case) any of the
    /// user's own words, such as the username or the email's local part. Words shorter than 3
    /// characters are not checked.
    ///
    /// # Errors
    /// [`PolicyViolation::PersonalInfo`].
    pub fn check_personal(
        &self,
        password: &Password,
        words: &[&str],
    ) -> Result<(), PolicyViolation> {
        let lower = password.expose().to_lowercase();
        let found = words
            .iter()
            .map(|w| w.to_lowercase())
            .any(|w| w.chars().count() >= 3 && lower.contains(&w));
        if found {
            Err(PolicyViolation::PersonalInfo)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_in_order() {
        let policy = PasswordPolicy::default();
        let check = |pw: &str| policy.check(&Password::new(pw));
        assert_eq!(check("Aa1!"), Err(PolicyViolation::TooShort));
        assert_eq!(check("AAAAAAA1!"), Err(PolicyViolation::NoLower));
        assert_eq!(check("aaaaaaa1!"), Err(PolicyViolation::NoUpper));
        assert_eq!(check("aaaaaaaA!"), Err(PolicyViolation::NoNumber));
        assert_eq!(check("aaaaaaaA1"), Err(PolicyViolation::NoSymbol));
        assert_eq!(check("Secr3tP4ssw0rd!"), Ok(()));
        assert_eq!(format!("{:?}", Password::new("x")), "Password(<redacted>)");
        assert_eq!(PolicyViolation::NoSymbol.id(), "DOMAIN-ZDLwA");
        let words = ["ada.lovelace", "ada@example.com", "ad"];
        assert_eq!(
            policy.check_personal(&Password::new("xxADA.Lovelace9!"), &words),
            Err(PolicyViolation::PersonalInfo)
        );
        assert_eq!(
            policy.check_personal(&Password::new("Kq7#vX2!mRt9ad"), &words),
            Ok(())
        );
    }
}
