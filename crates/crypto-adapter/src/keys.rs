//! The master key and the purpose keys derived from it.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rekey_domain::KeyId;
use sha2::{Digest, Sha256};

use crate::os_random;

/// Why a configured key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not base64, or not 32 bytes once decoded.
    #[error(
        "secrets.key must be 32 bytes, base64-encoded (generate one with `rekey admin secrets new-key`)"
    )]
    Invalid,
    /// A key id that is not 1..=32 of `[A-Za-z0-9_-]`.
    #[error("secrets.keys: key id {0:?} must be 1 to 32 letters, digits, '-' or '_'")]
    InvalidId(String),
    /// No key at all.
    #[error("secrets.keys is empty")]
    Empty,
    /// Two keys with one id.
    #[error("secrets.keys: two keys have the id {0}")]
    DuplicateId(String),
}

/// The server secret all purpose keys derive from: 32 random bytes. `Debug` prints only its id.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; 32],
    id: KeyId,
}

impl MasterKey {
    /// Parses a base64 key (`secrets.key`).
    ///
    /// # Errors
    /// [`KeyError::Invalid`] unless it is 32 bytes of base64.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let decoded = STANDARD
            .decode(text.trim())
            .map_err(|_| KeyError::Invalid)?;
        let bytes: [u8; 32] = decoded.try_into().map_err(|_| KeyError::Invalid)?;
        Ok(Self::from_bytes(bytes))
    }

    /// The same key under an explicit id (`secrets.keys[].id`) instead of the derived one.
    ///
    /// # Errors
    /// [`KeyError::InvalidId`] unless `id` is 1..=32 ASCII letters, digits, `-` or `_`.
    pub fn with_id(mut self, id: &str) -> Result<Self, KeyError> {
        let valid = (1..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(KeyError::InvalidId(id.to_owned()));
        }
        self.id = KeyId(id.to_owned());
        Ok(self)
    }

    /// A fresh random key.
    ///
    /// # Errors
    /// [`rekey_application::Failure`] when the OS random source fails.
    pub fn generate() -> Result<Self, rekey_application::Failure> {
        let mut bytes = [0_u8; 32];
        os_random(&mut bytes)?;
        Ok(Self::from_bytes(bytes))
    }

    fn from_bytes(bytes: [u8; 32]) -> Self {
        let digest = Sha256::digest(bytes);
        let id = KeyId(format!("k{}", crate::hex(&digest[..4])));
        Self { bytes, id }
    }

    /// The key as base64, to write to a key file.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// The key's id: `k` and 8 hex digits of its SHA-256. Not secret.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// A 32-byte key for one purpose (HMAC-SHA-256 of the purpose label under the master key).
    pub(crate) fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.bytes)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// The keys in use, newest first: the first hashes and seals, every one verifies and opens, so
/// codes and queued messages made under an older key keep working while keys rotate.
#[derive(Debug, Clone)]
pub struct KeyRing {
    keys: Vec<MasterKey>,
}

impl KeyRing {
    /// A ring of `keys`; the first is the one that signs and seals.
    ///
    /// # Errors
    /// [`KeyError::Empty`] for no keys, [`KeyError::DuplicateId`] when two share an id.
    pub fn new(keys: Vec<MasterKey>) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|k| k.id == key.id) {
                return Err(KeyError::DuplicateId(key.id.0.clone()));
            }
        }
        Ok(Self { keys })
    }

    /// The key that signs and seals.
    pub fn primary(&self) -> &MasterKey {
        &self.keys[0]
    }

    /// For one purpose, each key's id and derived key, the primary first.
    pub(crate) fn derive(&self, purpose: &str) -> Vec<(KeyId, [u8; 32])> {
        self.keys
            .iter()
            .map(|k| (k.id.clone(), k.derive(purpose)))
            .collect()
    }
}

impl From<MasterKey> for KeyRing {
    fn from(key: MasterKey) -> Self {
        Self { keys: vec![key] }
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_derive_distinct_purpose_keys() {
        let key = MasterKey::generate().expect("random");
        let again = MasterKey::from_base64(&key.to_base64()).expect("parses");
        assert_eq!(key.id(), again.id());
        assert_eq!(key.derive("a"), again.derive("a"));
        assert_ne!(key.derive("a"), key.derive("b"));
        assert!(!format!("{key:?}").contains(&key.to_base64()));
        assert_eq!(
            MasterKey::from_base64("c2hvcnQ=").err(),
            Some(KeyError::Invalid)
        );
        assert!(MasterKey::from_base64("not base64!").is_err());
    }

    #[test]
    fn rings_refuse_empty_and_duplicate_ids_and_put_the_first_key_first() {
        let (one, two) = (
            MasterKey::generate().expect("random"),
            MasterKey::generate().expect("random"),
        );
        assert_eq!(KeyRing::new(vec![]).err(), Some(KeyError::Empty));
        let named = one.clone().with_id("2026-11").expect("valid id");
        assert_eq!(named.id().0, "2026-11");
        assert_eq!(
            named.derive("a"),
            one.derive("a"),
            "the id does not change the key"
        );
        assert!(matches!(
            one.clone().with_id("bad id"),
            Err(KeyError::InvalidId(_))
        ));
        assert!(matches!(
            one.clone().with_id(""),
            Err(KeyError::InvalidId(_))
        ));
        let same_id = two.clone().with_id("2026-11").expect("valid id");
        assert_eq!(
            KeyRing::new(vec![named.clone(), same_id]).err(),
            Some(KeyError::DuplicateId("2026-11".into()))
        );
        let ring = KeyRing::new(vec![two.clone(), named]).expect("ring");
        assert_eq!(ring.primary().id(), two.id());
        let derived = ring.derive("p");
        assert_eq!(derived.len(), 2);
        assert_eq!(derived[1], (KeyId("2026-11".into()), one.derive("p")));
    }
}
