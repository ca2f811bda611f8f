//! Cryptography for rekey's ports: codes and tokens from the OS CSPRNG, HMAC-SHA-256 code
//! hashes, AES-256-GCM sealed payloads and argon2id password hashes.
//!
//! Every key is derived from a [`MasterKey`] (`secrets.keys` in the configuration), each for
//! one purpose, and identified by a [`KeyId`](rekey_domain::KeyId). A [`KeyRing`] holds the
//! keys in use, so that keys can rotate: the first signs and seals, all verify and open.

mod codes;
pub mod imported;
mod jitter;
mod keys;
mod passwords;
mod sealing;
mod strength;
mod tokens;

pub use codes::{HmacCodeHasher, OsRngCodes};
pub use jitter::OsJitter;
pub use keys::{KeyError, KeyRing, MasterKey};
pub use passwords::{Argon2Passwords, Argon2Settings};
pub use sealing::AesGcmBox;
pub use strength::ZxcvbnStrength;
pub use tokens::RandomTokens;

use rand::TryRng;
use rekey_application::Failure;

/// Fills `buf` from the operating system's CSPRNG.
fn os_random(buf: &mut [u8]) -> Result<(), Failure> {
    rand::rngs::SysRng
        .try_fill_bytes(buf)
        .map_err(|e| Failure::Unexpected(format!("the OS random source failed: {e}")))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lowercase_and_round_trips() {
        let bytes = [0x00, 0x0f, 0x10, 0xa5, 0xff];
        assert_eq!(super::hex(&bytes), "000f10a5ff");
        assert_eq!(super::unhex("000f10a5ff"), Some(bytes.to_vec()));
        assert_eq!(super::unhex("0"), None);
    }
}
