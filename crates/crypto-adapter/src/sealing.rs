//! Sealed payloads: AES-256-GCM with a random 96-bit nonce, stored as nonce ‖ ciphertext.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rekey_application::ports::SecretBox;
use rekey_application::{Failure, Sealed};
use rekey_domain::KeyId;

use crate::{KeyRing, os_random};

const NONCE_LEN: usize = 12;

/// AES-256-GCM under keys derived from the key ring: it seals under the primary key and opens
/// under the key a payload names. The associated data binds the key id and the payload's
/// context (its message's id and user's id), so a payload can neither be passed off as sealed
/// by another key nor moved to another message or user.
///
/// Payloads sealed before the context was bound (associated data: the key id alone) still
/// open, so messages queued by an older version are delivered after an upgrade.
#[derive(Clone)]
pub struct AesGcmBox {
    /// Each key's id and cipher, the primary first.
    ciphers: Vec<(KeyId, Aes256Gcm)>,
}

impl std::fmt::Debug for AesGcmBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.ciphers.iter().map(|(id, _)| id.0.as_str()).collect();
        write!(f, "AesGcmBox({ids:?})")
    }
}

impl AesGcmBox {
    /// A box keyed from `keys`.
    pub fn new(keys: &KeyRing) -> Self {
        let ciphers = keys
            .derive("rekey/secret-box/v1")
            .into_iter()
            .map(|(id, key)| (id, Aes256Gcm::new(&key.into())))
            .collect();
        Self { ciphers }
    }
}

/// The associated data of a payload sealed under `key_id` for `context`.
fn associated_data(key_id: &KeyId, context: &[u8]) -> Vec<u8> {
    let mut aad = b"rekey/outbox/v2\0".to_vec();
    aad.extend_from_slice(key_id.0.as_bytes());
    aad.push(0);
    aad.extend_from_slice(context);
    aad
}

impl SecretBox for AesGcmBox {
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, Failure> {
        let (key_id, cipher) = &self.ciphers[0];
        let mut nonce = [0_u8; NONCE_LEN];
        os_random(&mut nonce)?;
        let payload = Payload {
            msg: plaintext,
            aad: &associated_data(key_id, context),
        };
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| Failure::Unexpected("sealing failed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        Ok(Sealed {
            key_id: key_id.clone(),
            bytes,
        })
    }

    fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, Failure> {
        let Some((_, cipher)) = self.ciphers.iter().find(|(id, _)| *id == sealed.key_id) else {
            return Err(Failure::Unexpected(format!(
                "payload sealed with unknown key {}",
                sealed.key_id.0
            )));
        };
        if sealed.bytes.len() < NONCE_LEN {
            return Err(Failure::Unexpected("sealed payload too short".into()));
        }
        let (nonce, ciphertext) = sealed.bytes.split_at(NONCE_LEN);
        let open = |aad: &[u8]| {
            cipher.decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
        };
        open(&associated_data(&sealed.key_id, context))
            // Sealed by a version that bound only the key id.
            .or_else(|_| open(sealed.key_id.0.as_bytes()))
            .map_err(|_| Failure::Unexpected("sealed payload failed authentication".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MasterKey;

    #[test]
    fn seals_open_and_tampering_is_detected() {
        let sealer = AesGcmBox::new(&MasterKey::generate().expect("random").into());
        let sealed = sealer.seal(b"code K7Q2ZD", b"m1/u1").expect("sealed");
        assert!(!sealed.bytes.windows(6).any(|w| w == b"K7Q2ZD"));
        assert_eq!(
            sealer.open(&sealed, b"m1/u1").expect("opens"),
            b"code K7Q2ZD"
        );
        assert_ne!(
            sealer.seal(b"code K7Q2ZD", b"m1/u1").expect("sealed").bytes,
            sealed.bytes,
            "fresh nonce"
        );

        let mut tampered = sealed.clone();
        let last = tampered.bytes.len() - 1;
        tampered.bytes[last] ^= 1;
        assert!(sealer.open(&tampered, b"m1/u1").is_err());
        let mut relabelled = sealed.clone();
        relabelled.key_id = KeyId("kother".into());
        assert!(sealer.open(&relabelled, b"m1/u1").is_err());
        assert!(
            sealer.open(&sealed, b"m2/u1").is_err(),
            "another message's context"
        );
        assert!(sealer.open(&sealed, b"m1/u2").is_err(), "another user's");
        let other = AesGcmBox::new(&MasterKey::generate().expect("random").into());
        assert!(other.open(&sealed, b"m1/u1").is_err());
    }

    #[test]
    fn payloads_sealed_before_contexts_were_bound_still_open() {
        let key = MasterKey::generate().expect("random");
        let sealer = AesGcmBox::new(&key.clone().into());
        let (key_id, cipher) = &sealer.ciphers[0];
        // What the previous version wrote: the key id alone as associated data.
        let nonce = [7_u8; NONCE_LEN];
        let old = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: b"queued before".as_slice(),
                    aad: key_id.0.as_bytes(),
                },
            )
            .expect("sealed");
        let sealed = Sealed {
            key_id: key_id.clone(),
            bytes: [nonce.as_slice(), &old].concat(),
        };
        assert_eq!(
            sealer.open(&sealed, b"m1/u1").expect("opens"),
            b"queued before"
        );
        // A new payload does not open as an old one would.
        let new = sealer.seal(b"queued after", b"m1/u1").expect("sealed");
        let (nonce, ciphertext) = new.bytes.split_at(NONCE_LEN);
        assert!(
            cipher
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: key_id.0.as_bytes(),
                    },
                )
                .is_err(),
            "the context is bound"
        );
    }

    #[test]
    fn a_rotated_ring_seals_with_the_new_key_and_opens_old_payloads() {
        let (old, new) = (
            MasterKey::generate().expect("random"),
            MasterKey::generate().expect("random"),
        );
        let before = AesGcmBox::new(&old.clone().into())
            .seal(b"queued", b"m1/u1")
            .expect("sealed");
        let rotated = AesGcmBox::new(&KeyRing::new(vec![new.clone(), old]).expect("ring"));
        assert_eq!(rotated.open(&before, b"m1/u1").expect("opens"), b"queued");
        let after = rotated.seal(b"queued", b"m1/u1").expect("sealed");
        assert_eq!(&after.key_id, new.id());
        assert_eq!(
            AesGcmBox::new(&new.into())
                .open(&after, b"m1/u1")
                .expect("opens"),
            b"queued"
        );
    }
}
