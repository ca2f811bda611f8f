//! Personal access tokens: 256 random bits, stored as their SHA-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rekey_application::Failure;
use rekey_application::ports::TokenMinter;
use rekey_domain::{BearerToken, TokenHash};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use crate::{hex, os_random};

/// Mints `rekey_pat_…` tokens (32 random bytes, base64url) and fingerprints them with SHA-256.
/// A plain hash is enough for a 256-bit random secret: there is nothing to brute-force.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomTokens;

impl TokenMinter for RandomTokens {
    fn mint(&self) -> Result<BearerToken, Failure> {
        let mut bytes = [0_u8; 32];
        os_random(&mut bytes)?;
        Ok(BearerToken::new(format!(
            "rekey_pat_{}",
            URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    fn fingerprint(&self, token: &BearerToken) -> TokenHash {
        TokenHash(hex(&Sha256::digest(token.expose().as_bytes())))
    }

    fn mint_session(&self) -> Result<BearerToken, Failure> {
        let mut bytes = [0_u8; 32];
        os_random(&mut bytes)?;
        Ok(BearerToken::new(format!(
            "rekey_sess_{}",
            URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    fn matches(&self, token: &BearerToken, stored: &TokenHash) -> bool {
        let presented = self.fingerprint(token);
        presented.0.as_bytes().ct_eq(stored.0.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_fingerprints_stable() {
        let a = RandomTokens.mint().expect("random");
        let b = RandomTokens.mint().expect("random");
        assert_ne!(a, b);
        assert!(a.expose().starts_with("rekey_pat_"));
        assert_eq!(a.expose().len(), "rekey_pat_".len() + 43);
        assert_eq!(
            RandomTokens.fingerprint(&a),
            RandomTokens.fingerprint(&a.clone())
        );
        assert_ne!(RandomTokens.fingerprint(&a), RandomTokens.fingerprint(&b));
        let session = RandomTokens.mint_session().expect("random");
        assert!(session.expose().starts_with("rekey_sess_"));
        assert!(RandomTokens.matches(&session, &RandomTokens.fingerprint(&session)));
        assert!(!RandomTokens.matches(&a, &RandomTokens.fingerprint(&session)));
        assert!(!RandomTokens.matches(&a, &TokenHash(String::new())));
        assert_eq!(
            RandomTokens.fingerprint(&BearerToken::new("abc")).0,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
