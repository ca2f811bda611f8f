//! Verification codes: uniform generation from the OS CSPRNG, and keyed hashes.

use hmac::{Hmac, Mac};
use rekey_application::Failure;
use rekey_application::ports::{CodeGenerator, CodeHasher};
use rekey_domain::{CodeHash, CodePolicy, KeyId, PlainCode};
use sha2::Sha256;

use crate::{KeyRing, hex, os_random, unhex};

/// Draws codes from the OS CSPRNG, uniformly over the policy's alphabet: random bytes at or
/// above the largest multiple of the alphabet's size are rejected, so there is no modulo bias.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRngCodes;

impl OsRngCodes {
    /// Maps random bytes to alphabet indexes without bias: `Some(index)` or `None` (rejected).
    fn index(byte: u8, alphabet_len: usize) -> Option<usize> {
        let limit = 256 - (256 % alphabet_len);
        let byte = usize::from(byte);
        (byte < limit).then_some(byte % alphabet_len)
    }
}

impl CodeGenerator for OsRngCodes {
    fn generate(&self, policy: &CodePolicy) -> Result<PlainCode, Failure> {
        let alphabet = policy.alphabet();
        let mut code = String::with_capacity(policy.length());
        let mut buf = [0_u8; 64];
        while code.len() < policy.length() {
            os_random(&mut buf)?;
            for &byte in &buf {
                if code.len() == policy.length() {
                    break;
                }
                if let Some(i) = Self::index(byte, alphabet.len()) {
                    code.push(char::from(alphabet[i]));
                }
            }
        }
        Ok(PlainCode::new(code))
    }
}

/// HMAC-SHA-256 of codes under a key derived from the master key, hex-encoded.
#[derive(Clone)]
pub struct HmacCodeHasher {
    /// Each key's id and its HMAC, keyed once (inner and outer pads absorbed) and cloned for
    /// each code; the primary first.
    keys: Vec<(KeyId, Hmac<Sha256>)>,
}

impl std::fmt::Debug for HmacCodeHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.0.as_str()).collect();
        write!(f, "HmacCodeHasher({ids:?})")
    }
}

impl HmacCodeHasher {
    /// A hasher keyed from `keys`: it hashes under the primary key and verifies under any.
    pub fn new(keys: &KeyRing) -> Self {
        Self {
            keys: keys
                .derive("rekey/code-hash/v1")
                .into_iter()
                .map(|(id, key)| {
                    let keyed = <Hmac<Sha256> as Mac>::new_from_slice(&key)
                        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
                    (id, keyed)
                })
                .collect(),
        }
    }

    fn mac(keyed: &Hmac<Sha256>, code: &PlainCode) -> Hmac<Sha256> {
        let mut mac = keyed.clone();
        mac.update(code.expose().as_bytes());
        mac
    }
}

impl CodeHasher for HmacCodeHasher {
    fn hash(&self, code: &PlainCode) -> CodeHash {
        let (key_id, key) = &self.keys[0];
        CodeHash {
            hash: hex(&Self::mac(key, code).finalize().into_bytes()),
            key_id: key_id.clone(),
        }
    }

    fn verify(&self, code: &PlainCode, stored: &CodeHash) -> bool {
        let Some((_, key)) = self.keys.iter().find(|(id, _)| *id == stored.key_id) else {
            return false;
        };
        let Some(expected) = unhex(&stored.hash) else {
            return false;
        };
        // `verify_slice` compares in constant time.
        Self::mac(key, code).verify_slice(&expected).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::MasterKey;

    #[test]
    fn codes_follow_the_policy() {
        let policy = CodePolicy::default();
        let code = OsRngCodes.generate(&policy).expect("random");
        assert_eq!(code.expose().len(), 6);
        assert!(
            code.expose()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        let long = CodePolicy::new(64, "01", TimeDelta::hours(1)).expect("policy");
        let code = OsRngCodes.generate(&long).expect("random");
        assert_eq!(code.expose().len(), 64);
        assert!(code.expose().bytes().all(|b| b == b'0' || b == b'1'));
    }

    #[test]
    fn byte_mapping_has_no_modulo_bias() {
        // Every alphabet size: each index is reached by exactly the same number of bytes.
        for len in 2..=256 {
            let mut hits = vec![0_u32; len];
            for byte in 0..=255_u8 {
                if let Some(i) = OsRngCodes::index(byte, len) {
                    hits[i] += 1;
                }
            }
            assert!(
                hits.iter().all(|&h| h == hits[0] && h > 0),
                "alphabet of {len}: {hits:?}"
            );
        }
    }

    #[test]
    fn drawn_characters_are_uniform() {
        // 36 symbols, 216 000 draws: expected 6 000 each. A chi-square statistic above 80
        // (df = 35) happens by chance with p < 1e-4; a biased generator (e.g. byte % 36 puts
        // 8/256 vs 7/256 on the first symbols) lands far above it.
        let policy =
            CodePolicy::new(60, CodePolicy::DEFAULT_ALPHABET, TimeDelta::hours(1)).expect("policy");
        let mut counts = [0_u32; 256];
        for _ in 0..3_600 {
            for b in OsRngCodes
                .generate(&policy)
                .expect("random")
                .expose()
                .bytes()
            {
                counts[usize::from(b)] += 1;
            }
        }
        let expected = 6_000.0;
        let chi2: f64 = CodePolicy::DEFAULT_ALPHABET
            .bytes()
            .map(|b| {
                let d = f64::from(counts[usize::from(b)]) - expected;
                d * d / expected
            })
            .sum();
        assert!(chi2 < 80.0, "chi-square {chi2} over 35 degrees of freedom");
    }

    #[test]
    fn hashes_are_keyed_and_verify_exactly() {
        let master = MasterKey::generate().expect("random");
        let hasher = HmacCodeHasher::new(&master.clone().into());
        let code = PlainCode::new("K7Q2ZD");
        let hash = hasher.hash(&code);
        assert_eq!(hash.hash.len(), 64);
        assert!(!hash.hash.contains("K7Q2ZD"));
        assert!(hasher.verify(&code, &hash));
        assert!(!hasher.verify(&PlainCode::new("K7Q2ZE"), &hash));
        assert!(!hasher.verify(&PlainCode::new("k7q2zd"), &hash));
        let other = HmacCodeHasher::new(&MasterKey::generate().expect("random").into());
        assert_ne!(
            other.hash(&code).hash,
            hash.hash,
            "another key, another hash"
        );
        assert!(
            !other.verify(&code, &hash),
            "a hash of an unknown key never verifies"
        );
        let garbled = CodeHash {
            hash: "zz".into(),
            key_id: hash.key_id.clone(),
        };
        assert!(!hasher.verify(&code, &garbled));
    }

    #[test]
    fn a_rotated_ring_hashes_with_the_new_key_and_verifies_old_hashes() {
        let (old, new) = (
            MasterKey::generate().expect("random"),
            MasterKey::generate().expect("random"),
        );
        let code = PlainCode::new("K7Q2ZD");
        let before = HmacCodeHasher::new(&old.clone().into()).hash(&code);
        let rotated = HmacCodeHasher::new(&KeyRing::new(vec![new.clone(), old]).expect("ring"));
        assert!(rotated.verify(&code, &before));
        assert!(!rotated.verify(&PlainCode::new("K7Q2ZE"), &before));
        let after = rotated.hash(&code);
        assert_eq!(&after.key_id, new.id());
        assert!(HmacCodeHasher::new(&new.into()).verify(&code, &after));
    }
}
