//! Verification codes: the secret, its stored hash, and the policy that shapes new codes.

use std::fmt;

use chrono::TimeDelta;

/// A verification code in plain text. It exists only between generation and delivery (or the
/// response of a `returnCode` request); only its [`CodeHash`] is stored.
///
/// `Debug` prints `PlainCode(<redacted>)`; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCode(String);

impl PlainCode {
    /// Wraps a code as given (a code generator's output, or a caller's input to verify).
    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }

    /// The secret itself: call only to hash it, seal it or hand it to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlainCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainCode(<redacted>)")
    }
}

/// The id of the key that made a [`CodeHash`] or sealed a payload, so keys can rotate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct KeyId(pub String);

/// A keyed hash of a code (HMAC-SHA-256 in rekey's crypto adapter), hex-encoded, with the id
/// of the key that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeHash {
    /// Hex of the MAC.
    pub hash: String,
    /// The key it was made with.
    pub key_id: KeyId,
}

/// Why a code policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodePolicyError {
    /// Length outside 4..=64.
    #[error("code length must be between 4 and 64")]
    Length,
    /// Alphabet of fewer than 2 or more than 256 distinct printable ASCII characters.
    #[error("code alphabet must be 2 to 256 distinct printable ASCII characters")]
    Alphabet,
    /// Expiry not positive.
    #[error("code expiry must be positive")]
    Expiry,
}

/// How new codes look and how long they live. Default: 6 characters of `A-Z0-9`, 1 hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodePolicy {
    length: usize,
    alphabet: Vec<u8>,
    expiry: TimeDelta,
}

impl CodePolicy {
    /// The default alphabet: upper-case letters and digits.
    pub const DEFAULT_ALPHABET: &'static str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    /// Checks and builds a policy.
    ///
    /// # Errors
    /// [`CodePolicyError`] naming the first part that is out of range.
    pub fn new(length: usize, alphabet: &str, expiry: TimeDelta) -> Result<Self, CodePolicyError> {
        if !(4..=64).contains(&length) {
            return Err(CodePolicyError::Length);
        }
        let bytes = alphabet.as_bytes();
        let mut seen = [false; 256];
        let distinct = bytes
            .iter()
            .all(|&b| !std::mem::replace(&mut seen[usize::from(b)], true));
        if !(2..=256).contains(&bytes.len())
            || !distinct
            || !bytes.iter().all(|b| b.is_ascii_graphic())
        {
            return Err(CodePolicyError::Alphabet);
        }
        if expiry <= TimeDelta::zero() {
            return Err(CodePolicyError::Expiry);
        }
        Ok(Self {
            length,
            alphabet: bytes.to_vec(),
            expiry,
        })
    }

    /// Number of characters in a code.
    pub fn length(&self) -> usize {
        self.length
    }

    /// The characters a code is drawn from, each distinct.
    pub fn alphabet(&self) -> &[u8] {
        &self.alphabet
    }

    /// How long a code is valid after it was issued.
    pub fn expiry(&self) -> TimeDelta {
        self.expiry
    }
}

impl Default for CodePolicy {
    fn default() -> Self {
        Self {
            length: 6,
            alphabet: Self::DEFAULT_ALPHABET.as_bytes().to_vec(),
            expiry: TimeDelta::hours(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_code_debug_is_redacted() {
        let code = PlainCode::new("K7Q2ZD");
        assert_eq!(format!("{code:?}"), "PlainCode(<redacted>)");
        assert_eq!(code.expose(), "K7Q2ZD");
    }

    #[test]
    fn policy_bounds() {
        let hour = TimeDelta::hours(1);
        assert_eq!(CodePolicy::default().length(), 6);
        assert!(CodePolicy::new(6, "AB", hour).is_ok());
        assert_eq!(CodePolicy::new(3, "AB", hour), Err(CodePolicyError::Length));
        assert_eq!(
            CodePolicy::new(6, "A", hour),
            Err(CodePolicyError::Alphabet)
        );
        assert_eq!(
            CodePolicy::new(6, "AA", hour),
            Err(CodePolicyError::Alphabet)
        );
        assert_eq!(
            CodePolicy::new(6, "A B", hour),
            Err(CodePolicyError::Alphabet)
        );
        assert_eq!(
            CodePolicy::new(6, "AB", TimeDelta::zero()),
            Err(CodePolicyError::Expiry)
        );
    }
}
