//! Sealed payloads: AES-256-GCM with a random 96-bit nonce, stored as nonce ‖ ciphertext.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rekey_application::ports::SecretBox;
use rekey_application::{Failure, Sealed};
use rekey_domain::KeyId;

use crate::{MasterKey, os_random};

const NONCE_LEN: usize = 12;

/// AES-256-GCM under a key derived from the master key. The key id is bound as associated
/// data, so a payload cannot be passed off as sealed by another key.
#[derive(Clone)]
pub struct AesGcmBox {
    cipher: Aes256Gcm,
    key_id: KeyId,
}

impl std::fmt::Debug for AesGcmBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AesGcmBox({})", self.key_id.0)
    }
}

impl AesGcmBox {
    /// A box keyed from `master`.
    pub fn new(master: &MasterKey) -> Self {
        let key = master.derive("rekey/secret-box/v1");
        Self {
            cipher: Aes256Gcm::new(&key.into()),
            key_id: master.id().clone(),
        }
    }
}

impl SecretBox for AesGcmBox {
    fn seal(&self, plaintext: &[u8]) -> Result<Sealed, Failure> {
        let mut nonce = [0_u8; NONCE_LEN];
        os_random(&mut nonce)?;
        let payload = Payload {
            msg: plaintext,
            aad: self.key_id.0.as_bytes(),
        };
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| Failure::Unexpected("sealing failed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        Ok(Sealed {
            key_id: self.key_id.clone(),
            bytes,
        })
    }

    fn open(&self, sealed: &Sealed) -> Result<Vec<u8>, Failure> {
        if sealed.key_id != self.key_id {
            return Err(Failure::Unexpected(format!(
                "payload sealed with unknown key {}",
                sealed.key_id.0
            )));
        }
        if sealed.bytes.len() < NONCE_LEN {
            return Err(Failure::Unexpected("sealed payload too short".into()));
        }
        let (nonce, ciphertext) = sealed.bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: sealed.key_id.0.as_bytes(),
        };
        self.cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| Failure::Unexpected("sealed payload failed authentication".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_open_and_tampering_is_detected() {
        let sealer = AesGcmBox::new(&MasterKey::generate().expect("random"));
        let sealed = sealer.seal(b"code K7Q2ZD").expect("sealed");
        assert!(!sealed.bytes.windows(6).any(|w| w == b"K7Q2ZD"));
        assert_eq!(sealer.open(&sealed).expect("opens"), b"code K7Q2ZD");
        assert_ne!(
            sealer.seal(b"code K7Q2ZD").expect("sealed").bytes,
            sealed.bytes,
            "fresh nonce"
        );

        let mut tampered = sealed.clone();
        let last = tampered.bytes.len() - 1;
        tampered.bytes[last] ^= 1;
        assert!(sealer.open(&tampered).is_err());
        let mut relabelled = sealed.clone();
        relabelled.key_id = KeyId("kother".into());
        assert!(sealer.open(&relabelled).is_err());
        let other = AesGcmBox::new(&MasterKey::generate().expect("random"));
        assert!(other.open(&sealed).is_err());
    }
}
