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
}
