//! Passwords checked against hashes imported from another system: every encoding that ZITADEL
//! accepts in `AddHumanUser`'s `hashedPassword.hash`, which are those of its library
//! `github.com/zitadel/passwap`, plus the two passwap verifiers that ZITADEL does not register.
//!
//! A hash is told apart by its prefix (a plain MD5 digest by being 32 hex digits), then parsed
//! in full: every parameter, salt and digest decoded, and every cost bounded (see below), so a
//! hostile hash cannot make one check cost minutes or gigabytes. Every comparison of digests is
//! constant-time. The formats, and how each is encoded:
//!
//! | format | encoding |
//! | --- | --- |
//! | [`Format::Argon2`] | `$argon2i$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>` or `$argon2id$…`: PHC, salt and hash in standard base64 without padding; only version 19 (argon2d is refused, as by passwap) |
//! | [`Format::Bcrypt`] | `$2a$<cost>$<22-char salt><31-char hash>`, also `$2b$` and `$2y$` (the same algorithm): bcrypt's base64 (`./A-Za-z0-9`), cost in two digits; the password is cut to 72 bytes as bcrypt does |
//! | [`Format::Scrypt`] | `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>` (passlib's encoding), or the same after `$7$`: salt and hash in standard base64 without padding |
//! | [`Format::Pbkdf2`] | `$pbkdf2$<rounds>$<salt>$<hash>` (HMAC-SHA-1), `$pbkdf2-sha224$…`, `-sha256`, `-sha384`, `-sha512`: salt and hash in passlib's "ab64" (standard base64 with `.` for `+`, no padding); standard base64, with or without padding, is accepted too, as by passwap |
//! | [`Format::Sha2Crypt`] | `$5$rounds=<n>$<salt>$<hash>` (SHA-256) and `$6$…` (SHA-512), `rounds=` optional (5000): Drepper's SHA-crypt, salt of up to 16 characters, hash in crypt's base64 (`./0-9A-Za-z`) |
//! | [`Format::Md5Crypt`] | `$1$<salt>$<hash>`: MD5-crypt, salt of 1 to 8 characters, hash of 22 characters in crypt's base64 |
//! | [`Format::Md5Plain`] | 32 hex digits: MD5 of the password, without salt |
//! | [`Format::Md5Salted`] | `$md5salted-prefix$<salt>$<hash>` (MD5 of salt + password) and `$md5salted-suffix$…` (MD5 of password + salt): the salt is used as written (its text, not decoded), the hash is standard base64 with padding |
//! | [`Format::Phpass`] | `$P$<c><8-char salt><22-char hash>` and `$H$…`: phpass (WordPress, phpBB), 2^c iterated MD5, `c` a character of crypt's base64 |
//! | [`Format::Drupal7`] | `$S$<c><8-char salt><43-char hash>`: Drupal 7, 2^c iterated SHA-512, the hash cut to 43 characters |
//! | [`Format::Ssha`] | `{SSHA}<base64>` (SHA-1), `{SSHA256}`, `{SSHA384}`, `{SSHA512}`: RFC 2307 / OpenLDAP, base64 of digest + salt; the unsalted `{SHA}`, `{SHA256}`, `{SHA384}`, `{SHA512}` are base64 of the digest alone. passwap has it; ZITADEL does not register it |
//! | [`Format::FirebaseScrypt`] | `$firebasescrypt$ln=<log2 N>,r=<r>$<salt>$<hash>$<salt separator>$<signer key>`: Firebase's scrypt (p = 1, key = scrypt of password and salt + separator, hash = AES-256-CTR of the signer key under it), each part standard or URL-safe base64. passwap has it; ZITADEL does not register it |
//!
//! Bounds, beyond each algorithm's own rules (a hash outside them is refused as malformed),
//! chosen so that the dearest check allowed takes a few seconds (measured on a 2-core machine,
//! release build) and at most 512 MiB, while every common setting passes:
//! - any hash: at most [`MAX_HASH_LEN`] characters, all printable ASCII;
//! - argon2: memory at most 256 MiB (libsodium's "moderate"; its 1 GiB "sensitive" is refused:
//!   each hashing thread would hold that much), memory × passes at most 2 GiB (256 MiB × 8,
//!   64 MiB × 32: about 4 s), 1 to 255 lanes (Go's argon2 takes a byte), salt at least 8 bytes, hash 16 to 128 bytes;
//! - bcrypt: cost 4 to 15 (cost 15: about 3.5 s; every further step doubles it);
//! - scrypt (both kinds): ln 1 to 20, N·r·p at most 2^22 (e.g. ln = 19, r = 8, p = 1: 512 MiB,
//!   about 3 s), so at most 512 MiB; hash 16 to 128 bytes;
//! - PBKDF2: rounds × output blocks at most 10 000 000 for SHA-1, SHA-224 and SHA-256 (about
//!   1.5 s) and 2 500 000 for SHA-384 and SHA-512 (about 2 s); hash 16 to 128 bytes;
//! - SHA-crypt: rounds 1000 (the algorithm's minimum) to 1 000 000 (passlib's defaults are
//!   535 000 and 656 000; SHA-512 at 1 000 000 and a 256-byte password: about 2 s);
//! - phpass and Drupal 7: 2^7 (their own minimum) to 2^20 iterations (WordPress uses 2^8,
//!   Drupal 2^15; Drupal 7 at 2^20 and a 256-byte password: about 1.5 s);
//! - MD5-crypt: fixed at 1000 iterations; plain, salted and LDAP hashes: one digest;
//! - the formats that hash the password again on every iteration (SHA-crypt, MD5-crypt, phpass,
//!   Drupal 7) check passwords of at most [`MAX_ITERATED_PASSWORD_LEN`] bytes: a longer one is an
//!   error, so that it cannot stretch the work.
//!
//! Where passwap is looser than the algorithm it implements, this module follows the algorithm:
//! a SHA-crypt hash without `rounds=` is checked with 5000 rounds (passwap's check always fails
//! on it), and a SHA-crypt salt over 16 characters or an MD5-crypt salt over 8, which no
//! implementation writes, is refused rather than used in full.

use aes::cipher::{KeyIvInit, StreamCipher};
use argon2::{Algorithm, Argon2, Version};
use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use md5::Digest as _;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

/// The longest hash accepted, in characters.
pub const MAX_HASH_LEN: usize = 1024;

/// The longest password checked against a hash that hashes the password on every iteration
/// (SHA-crypt, MD5-crypt, phpass, Drupal 7), in bytes.
pub const MAX_ITERATED_PASSWORD_LEN: usize = 256;

const BCRYPT_COST: std::ops::RangeInclusive<u32> = 4..=15;
const ARGON2_MAX_MEMORY_KIB: u64 = 1 << 18;
const ARGON2_MAX_WORK_KIB: u64 = 1 << 21;
const ARGON2_MAX_LANES: u64 = 255;
const ARGON2_MIN_SALT: usize = 8;
const SCRYPT_MAX_WORK: u64 = 1 << 22;
/// Rounds × output blocks, for SHA-1, SHA-224 and SHA-256.
const PBKDF2_MAX_WORK: u64 = 10_000_000;
/// Rounds × output blocks, for SHA-384 and SHA-512 (about 4 times slower without SHA-512
/// instructions).
const PBKDF2_MAX_WORK_SHA512: u64 = 2_500_000;
const SHA_CRYPT_ROUNDS: std::ops::RangeInclusive<u64> = 1000..=1_000_000;
const SHA_CRYPT_DEFAULT_ROUNDS: u64 = 5000;
const ITERATIONS_LOG2: std::ops::RangeInclusive<u32> = 7..=20;
const DIGEST_LEN: std::ops::RangeInclusive<usize> = 16..=128;

/// crypt(3)'s base64 alphabet ("hash64"), also phpass's and Drupal's.
const CRYPT64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Standard base64, no padding, no stray bits: Go's `RawStdEncoding.Strict()`.
const B64_RAW_STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);
/// URL-safe base64, no padding, no stray bits: Go's `RawURLEncoding.Strict()`.
const B64_URL_RAW_STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);
/// Standard base64, padding required, stray bits ignored: Go's `StdEncoding`.
const B64_PADDED: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);
/// Standard base64, no padding, stray bits ignored: passwap's PBKDF2 decoding, once `.` is `+`.
const B64_RAW_LOOSE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);
/// bcrypt's base64 for its salt: stray bits ignored, as by Go's bcrypt.
const BCRYPT_SALT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::BCRYPT,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);
/// bcrypt's base64 for its hash: canonical only (Go's bcrypt compares the text).
const BCRYPT_HASH: GeneralPurpose = GeneralPurpose::new(
    &alphabet::BCRYPT,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// The formats an imported hash can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// argon2i and argon2id, PHC strings.
    Argon2,
    /// bcrypt, `$2a$`, `$2b$`, `$2y$`.
    Bcrypt,
    /// scrypt, `$scrypt$` (and `$7$`) with passlib's parameters.
    Scrypt,
    /// PBKDF2 with HMAC-SHA-1, -SHA-224, -SHA-256, -SHA-384 or -SHA-512, passlib's encoding.
    Pbkdf2,
    /// SHA-256-crypt and SHA-512-crypt, `$5$` and `$6$`.
    Sha2Crypt,
    /// MD5-crypt, `$1$`.
    Md5Crypt,
    /// A hex MD5 digest of the password, without salt.
    Md5Plain,
    /// passwap's salted MD5, `$md5salted-prefix$` and `$md5salted-suffix$`.
    Md5Salted,
    /// phpass, `$P$` and `$H$`.
    Phpass,
    /// Drupal 7, `$S$`.
    Drupal7,
    /// RFC 2307 (OpenLDAP) `{SSHA}`, `{SHA}` and their SHA-2 kinds.
    Ssha,
    /// Firebase's modified scrypt, `$firebasescrypt$`.
    FirebaseScrypt,
}

impl Format {
    /// The format's name, for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Argon2 => "argon2",
            Self::Bcrypt => "bcrypt",
            Self::Scrypt => "scrypt",
            Self::Pbkdf2 => "PBKDF2",
            Self::Sha2Crypt => "SHA-crypt",
            Self::Md5Crypt => "MD5-crypt",
            Self::Md5Plain => "plain MD5",
            Self::Md5Salted => "salted MD5",
            Self::Phpass => "phpass",
            Self::Drupal7 => "Drupal 7",
            Self::Ssha => "LDAP SHA",
            Self::FirebaseScrypt => "Firebase scrypt",
        }
    }
}

/// Parses `hash` fully (every parameter, salt and digest decoded, every cost within the bounds
/// in this module's documentation), without verifying anything.
///
/// # Errors
/// A short message for a person: which format was recognised and what is wrong with it, or
/// that the format is unknown. It never repeats the hash.
pub fn recognise(hash: &str) -> Result<Format, String> {
    parse(hash).map(|parsed| parsed.format())
}

/// Whether `password` matches `hash`, compared in constant time.
///
/// # Errors
/// As [`recognise`]; also when the password is longer than [`MAX_ITERATED_PASSWORD_LEN`] for a
/// format that hashes it on every iteration.
pub fn verify(password: &[u8], hash: &str) -> Result<bool, String> {
    parse(hash)?.verify(password)
}

/// PBKDF2's pseudo-random function.
#[derive(Debug, Clone, Copy)]
enum Prf {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Prf {
    const fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    const fn max_work(self) -> u64 {
        match self {
            Self::Sha1 | Self::Sha224 | Self::Sha256 => PBKDF2_MAX_WORK,
            Self::Sha384 | Self::Sha512 => PBKDF2_MAX_WORK_SHA512,
        }
    }
}

/// An LDAP scheme's hash function.
#[derive(Debug, Clone, Copy)]
enum Sha {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Sha {
    const fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut hasher = D::new();
            for part in parts {
                hasher.update(part);
            }
            hasher.finalize().to_vec()
        }
        match self {
            Self::Sha1 => run::<Sha1>(parts),
            Self::Sha256 => run::<Sha256>(parts),
            Self::Sha384 => run::<Sha384>(parts),
            Self::Sha512 => run::<Sha512>(parts),
        }
    }
}

/// A hash, parsed.
#[derive(Debug)]
enum Parsed<'a> {
    Argon2 {
        algorithm: Algorithm,
        params: argon2::Params,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Bcrypt {
        cost: u32,
        salt: [u8; 16],
        hash: Vec<u8>,
    },
    Scrypt {
        params: scrypt::Params,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Pbkdf2 {
        prf: Prf,
        rounds: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Sha2Crypt {
        sha512: bool,
        rounds: usize,
        salt: &'a str,
        checksum: &'a str,
    },
    Md5Crypt {
        salt: &'a str,
        digest: Vec<u8>,
    },
    Md5Plain {
        digest: Vec<u8>,
    },
    Md5Salted {
        salt_first: bool,
        salt: &'a str,
        digest: Vec<u8>,
    },
    Phpass {
        log2: u32,
        salt: &'a str,
        digest: Vec<u8>,
    },
    Drupal7 {
        log2: u32,
        salt: &'a str,
        checksum: &'a str,
    },
    Ssha {
        sha: Sha,
        digest: Vec<u8>,
        salt: Vec<u8>,
    },
    FirebaseScrypt {
        params: scrypt::Params,
        /// The salt followed by the salt separator.
        salt: Vec<u8>,
        hash: Vec<u8>,
        signer_key: Vec<u8>,
    },
}

fn parse(hash: &str) -> Result<Parsed<'_>, String> {
    if hash.is_empty() {
        return Err("the hash is empty".into());
    }
    if hash.len() > MAX_HASH_LEN {
        return Err(format!("the hash is longer than {MAX_HASH_LEN} characters"));
    }
    if !hash.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the hash has spaces or characters other than printable ASCII".into());
    }
    let format = detect(hash).ok_or_else(|| "unknown hash format".to_owned())?;
    let problem = |what: &str| format!("{} hash: {what}", format.name());
    match format {
        Format::Argon2 => parse_argon2(hash),
        Format::Bcrypt => parse_bcrypt(hash),
        Format::Scrypt => parse_scrypt(hash),
        Format::Pbkdf2 => parse_pbkdf2(hash),
        Format::Sha2Crypt => parse_sha2_crypt(hash),
        Format::Md5Crypt => parse_md5_crypt(hash),
        Format::Md5Plain => parse_md5_plain(hash),
        Format::Md5Salted => parse_md5_salted(hash),
        Format::Phpass => parse_phpass(hash),
        Format::Drupal7 => parse_drupal7(hash),
        Format::Ssha => parse_ssha(hash),
        Format::FirebaseScrypt => parse_firebase_scrypt(hash),
    }
    .map_err(|what| problem(&what))
}

/// The format `hash` claims by its prefix (or by being 32 hex digits).
fn detect(hash: &str) -> Option<Format> {
    const PREFIXES: &[(&str, Format)] = &[
        ("$argon2", Format::Argon2),
        ("$2", Format::Bcrypt),
        ("$scrypt$", Format::Scrypt),
        ("$7$", Format::Scrypt),
        ("$pbkdf2", Format::Pbkdf2),
        ("$5$", Format::Sha2Crypt),
        ("$6$", Format::Sha2Crypt),
        ("$1$", Format::Md5Crypt),
        ("$md5salted", Format::Md5Salted),
        ("$P$", Format::Phpass),
        ("$H$", Format::Phpass),
        ("$S$", Format::Drupal7),
        ("$firebasescrypt$", Format::FirebaseScrypt),
        ("{SHA", Format::Ssha),
        ("{SSHA", Format::Ssha),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| hash.starts_with(prefix))
        .map(|&(_, format)| format)
        .or_else(|| {
            (hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
                .then_some(Format::Md5Plain)
        })
}

/// A decimal number of 1 to 10 digits.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `k1=v1,k2=v2,…` with exactly `keys`, in that order, each value a [`number`].
fn key_values<const N: usize>(text: &str, keys: [&str; N]) -> Option<[u64; N]> {
    let mut values = [0; N];
    let mut items = text.split(',');
    for (key, value) in keys.iter().zip(values.iter_mut()) {
        *value = number(items.next()?.strip_prefix(key)?.strip_prefix('=')?)?;
    }
    items.next().is_none().then_some(values)
}

/// Splits a `$`-delimited hash into its fields after the leading `$`, expecting `N` of them.
fn fields<const N: usize>(hash: &str) -> Result<[&str; N], String> {
    let parts: Vec<&str> = hash.strip_prefix('$').unwrap_or(hash).split('$').collect();
    <[&str; N]>::try_from(parts).map_err(|parts| {
        format!(
            "expected {N} fields separated by '$', found {}",
            parts.len()
        )
    })
}

fn nonempty<'a>(text: &'a str, what: &str) -> Result<&'a str, String> {
    if text.is_empty() {
        Err(format!("the {what} is empty"))
    } else {
        Ok(text)
    }
}

fn digest_len(hash: &[u8]) -> Result<(), String> {
    if DIGEST_LEN.contains(&hash.len()) {
        Ok(())
    } else {
        Err(format!(
            "the hash is {} bytes, not {} to {}",
            hash.len(),
            DIGEST_LEN.start(),
            DIGEST_LEN.end()
        ))
    }
}

fn parse_argon2(hash: &str) -> Result<Parsed<'_>, String> {
    let [id, version, costs, salt, digest] = fields(hash)?;
    let algorithm = match id {
        "argon2i" => Algorithm::Argon2i,
        "argon2id" => Algorithm::Argon2id,
        "argon2d" => return Err("argon2d is not supported, only argon2i and argon2id".into()),
        _ => return Err("unknown variant, expected argon2i or argon2id".into()),
    };
    if version != "v=19" {
        return Err("only version 19 (v=19) is supported".into());
    }
    let [m, t, p] = key_values(costs, ["m", "t", "p"])
        .ok_or("the parameters are not m=<memory>,t=<passes>,p=<lanes>")?;
    if m > ARGON2_MAX_MEMORY_KIB {
        return Err(format!(
            "memory m={m} KiB is above the limit of {ARGON2_MAX_MEMORY_KIB} KiB"
        ));
    }
    if t == 0 || m.saturating_mul(t) > ARGON2_MAX_WORK_KIB {
        return Err(format!(
            "passes t={t} are 0, or memory × passes is above {ARGON2_MAX_WORK_KIB} KiB"
        ));
    }
    if p == 0 || p > ARGON2_MAX_LANES {
        return Err(format!("lanes p={p} are not 1 to {ARGON2_MAX_LANES}"));
    }
    let salt = B64_RAW_STRICT
        .decode(nonempty(salt, "salt")?)
        .map_err(|_| "the salt is not base64 (standard, no padding)")?;
    if salt.len() < ARGON2_MIN_SALT {
        return Err(format!(
            "the salt is {} bytes, fewer than {ARGON2_MIN_SALT}",
            salt.len()
        ));
    }
    let digest = B64_RAW_STRICT
        .decode(nonempty(digest, "hash")?)
        .map_err(|_| "the hash is not base64 (standard, no padding)")?;
    digest_len(&digest)?;
    let narrow = |n: u64| u32::try_from(n).map_err(|_| "a parameter is too large".to_owned());
    let params = argon2::Params::new(narrow(m)?, narrow(t)?, narrow(p)?, Some(digest.len()))
        .map_err(|e| format!("invalid parameters: {e}"))?;
    Ok(Parsed::Argon2 {
        algorithm,
        params,
        salt,
        hash: digest,
    })
}

fn parse_bcrypt(hash: &str) -> Result<Parsed<'_>, String> {
    let [version, cost, rest] = fields(hash)?;
    if !matches!(version, "2a" | "2b" | "2y") {
        return Err("only versions 2a, 2b and 2y are supported".into());
    }
    if cost.len() != 2 {
        return Err("the cost is not two digits".into());
    }
    let cost = number(cost).ok_or("the cost is not two digits")?;
    let cost = u32::try_from(cost)
        .ok()
        .filter(|cost| BCRYPT_COST.contains(cost))
        .ok_or_else(|| {
            format!(
                "cost {cost} is not {} to {}",
                BCRYPT_COST.start(),
                BCRYPT_COST.end()
            )
        })?;
    if rest.len() != 53 {
        return Err("the salt and hash are not 53 characters".into());
    }
    let (salt, digest) = rest.split_at(22);
    let salt: [u8; 16] = BCRYPT_SALT
        .decode(salt)
        .ok()
        .and_then(|salt| salt.try_into().ok())
        .ok_or("the salt is not bcrypt's base64")?;
    let digest = BCRYPT_HASH
        .decode(digest)
        .ok()
        .filter(|digest| digest.len() == 23)
        .ok_or("the hash is not bcrypt's base64")?;
    Ok(Parsed::Bcrypt {
        cost,
        salt,
        hash: digest,
    })
}

/// scrypt's parameters within this module's bounds.
fn scrypt_params(ln: u64, r: u64, p: u64) -> Result<scrypt::Params, String> {
    if ln == 0 || ln > 20 || r == 0 || p == 0 || r > 1 << 20 || p > 1 << 20 {
        return Err(format!("ln={ln}, r={r}, p={p} are out of range"));
    }
    // Each factor is at most 2^20: no overflow. The memory, 128·N·r and 128·r·p bytes, is at
    // most 128 times the work: 512 MiB.
    if (1_u64 << ln) * r * p > SCRYPT_MAX_WORK {
        return Err(format!(
            "the work N·r·p (ln={ln}, r={r}, p={p}) is above {SCRYPT_MAX_WORK}"
        ));
    }
    let narrow = |n: u64| u32::try_from(n).map_err(|_| "a parameter is too large".to_owned());
    // The length here only matters to scrypt's PHC strings; the output buffer sets it.
    scrypt::Params::new(
        u8::try_from(ln).map_err(|_| "ln is too large")?,
        narrow(r)?,
        narrow(p)?,
        32,
    )
    .map_err(|_| format!("ln={ln}, r={r}, p={p} are not valid scrypt parameters"))
}

fn parse_scrypt(hash: &str) -> Result<Parsed<'_>, String> {
    let [_, costs, salt, digest] = fields(hash)?;
    let [ln, r, p] = key_values(costs, ["ln", "r", "p"])
        .ok_or("the parameters are not ln=<log2 N>,r=<block size>,p=<parallelism>")?;
    let params = scrypt_params(ln, r, p)?;
    let salt = B64_RAW_STRICT
        .decode(nonempty(salt, "salt")?)
        .map_err(|_| "the salt is not base64 (standard, no padding)")?;
    let digest = B64_RAW_STRICT
        .decode(nonempty(digest, "hash")?)
        .map_err(|_| "the hash is not base64 (standard, no padding)")?;
    digest_len(&digest)?;
    Ok(Parsed::Scrypt {
        params,
        salt,
        hash: digest,
    })
}

/// passwap's PBKDF2 base64: passlib's "ab64" (`.` for `+`) or standard, padding ignored.
fn pbkdf2_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    if text.is_empty() || (text.contains('+') && text.contains('.')) {
        return None;
    }
    B64_RAW_LOOSE.decode(text.replace('.', "+")).ok()
}

fn parse_pbkdf2(hash: &str) -> Result<Parsed<'_>, String> {
    let [id, rounds, salt, digest] = fields(hash)?;
    let prf = match id {
        "pbkdf2" => Prf::Sha1,
        "pbkdf2-sha224" => Prf::Sha224,
        "pbkdf2-sha256" => Prf::Sha256,
        "pbkdf2-sha384" => Prf::Sha384,
        "pbkdf2-sha512" => Prf::Sha512,
        _ => {
            return Err(
                "unknown variant, expected pbkdf2 (SHA-1), pbkdf2-sha224, -sha256, -sha384 or -sha512"
                    .into(),
            );
        }
    };
    let rounds = number(rounds)
        .filter(|&rounds| rounds > 0)
        .ok_or("the rounds are not a positive number")?;
    let salt = pbkdf2_base64(salt).ok_or("the salt is not base64")?;
    let digest = pbkdf2_base64(digest).ok_or("the hash is not base64")?;
    digest_len(&digest)?;
    let blocks = digest.len().div_ceil(prf.output_len()) as u64;
    let max_work = prf.max_work();
    if rounds.saturating_mul(blocks) > max_work {
        return Err(format!(
            "{rounds} rounds × {blocks} output blocks are above {max_work}"
        ));
    }
    Ok(Parsed::Pbkdf2 {
        prf,
        rounds: u32::try_from(rounds).map_err(|_| "the rounds are too many")?,
        salt,
        hash: digest,
    })
}

/// Decodes crypt's base64 ("hash64", least significant bits first) of exactly `len` bytes,
/// refusing any other length and stray bits in the last character.
fn hash64_decode(text: &str, len: usize) -> Option<Vec<u8>> {
    if text.len() != (len * 8).div_ceil(6) {
        return None;
    }
    let mut out = Vec::with_capacity(len);
    let (mut bits, mut count) = (0_u32, 0_u32);
    for c in text.bytes() {
        let value = CRYPT64.iter().position(|&a| a == c)?;
        bits |= u32::try_from(value).ok()? << count;
        count += 6;
        if count >= 8 {
            out.push(bits.to_le_bytes()[0]);
            bits >>= 8;
            count -= 8;
        }
    }
    (bits == 0).then_some(out)
}

/// Encodes `bytes` in crypt's base64 ("hash64", least significant bits first).
fn hash64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity((bytes.len() * 8).div_ceil(6));
    let (mut bits, mut count) = (0_u32, 0_u32);
    for &byte in bytes {
        bits |= u32::from(byte) << count;
        count += 8;
        while count >= 6 {
            out.push(char::from(CRYPT64[(bits & 63) as usize]));
            bits >>= 6;
            count -= 6;
        }
    }
    if count > 0 {
        out.push(char::from(CRYPT64[(bits & 63) as usize]));
    }
    out
}

fn crypt64_text(text: &str) -> bool {
    text.bytes().all(|c| CRYPT64.contains(&c))
}

fn parse_sha2_crypt(hash: &str) -> Result<Parsed<'_>, String> {
    let parts: Vec<&str> = hash.split('$').collect();
    let (sha512, rounds, salt, checksum) = match parts.as_slice() {
        ["", id, rounds, salt, checksum] if rounds.starts_with("rounds=") => {
            let rounds = number(&rounds["rounds=".len()..]).ok_or("rounds= is not a number")?;
            (*id == "6", rounds, *salt, *checksum)
        }
        ["", id, salt, checksum] if !salt.starts_with("rounds=") => {
            (*id == "6", SHA_CRYPT_DEFAULT_ROUNDS, *salt, *checksum)
        }
        _ => return Err("expected $5$ or $6$, optional rounds=<n>$, <salt>$<hash>".into()),
    };
    if !SHA_CRYPT_ROUNDS.contains(&rounds) {
        return Err(format!(
            "{rounds} rounds are not {} to {}",
            SHA_CRYPT_ROUNDS.start(),
            SHA_CRYPT_ROUNDS.end()
        ));
    }
    if salt.len() > 16 {
        return Err("the salt is longer than 16 characters".into());
    }
    let len = if sha512 { 64 } else { 32 };
    if hash64_decode(checksum, len).is_none() {
        return Err(format!(
            "the hash is not {} characters of crypt's base64",
            (len * 8).div_ceil(6)
        ));
    }
    Ok(Parsed::Sha2Crypt {
        sha512,
        rounds: usize::try_from(rounds).map_err(|_| "the rounds are too many")?,
        salt,
        checksum,
    })
}

fn parse_md5_crypt(hash: &str) -> Result<Parsed<'_>, String> {
    let [_, salt, checksum] = fields(hash)?;
    if salt.is_empty() || salt.len() > 8 {
        return Err("the salt is not 1 to 8 characters".into());
    }
    let digest =
        hash64_decode(checksum, 16).ok_or("the hash is not 22 characters of crypt's base64")?;
    Ok(Parsed::Md5Crypt { salt, digest })
}

fn parse_md5_plain(hash: &str) -> Result<Parsed<'_>, String> {
    let digest = crate::unhex(hash).ok_or("not 32 hex digits")?;
    Ok(Parsed::Md5Plain { digest })
}

fn parse_md5_salted(hash: &str) -> Result<Parsed<'_>, String> {
    let [id, salt, digest] = fields(hash)?;
    let salt_first = match id {
        "md5salted-prefix" => true,
        "md5salted-suffix" => false,
        _ => return Err("unknown variant, expected md5salted-prefix or md5salted-suffix".into()),
    };
    let salt = nonempty(salt, "salt")?;
    let digest = B64_PADDED
        .decode(digest)
        .ok()
        .filter(|digest| digest.len() == 16)
        .ok_or("the hash is not 16 bytes of base64 (standard, padded)")?;
    Ok(Parsed::Md5Salted {
        salt_first,
        salt,
        digest,
    })
}

/// The iteration count's log2 of a phpass or Drupal 7 hash (its 4th character).
fn iterations_log2(hash: &str) -> Result<u32, String> {
    let c = hash.as_bytes().get(3).copied().unwrap_or_default();
    let log2 = CRYPT64
        .iter()
        .position(|&a| a == c)
        .and_then(|log2| u32::try_from(log2).ok())
        .ok_or("the iteration count is not a character of crypt's base64")?;
    if ITERATIONS_LOG2.contains(&log2) {
        Ok(log2)
    } else {
        Err(format!(
            "2^{log2} iterations are not 2^{} to 2^{}",
            ITERATIONS_LOG2.start(),
            ITERATIONS_LOG2.end()
        ))
    }
}

fn parse_phpass(hash: &str) -> Result<Parsed<'_>, String> {
    if hash.len() != 34 {
        return Err("not 34 characters".into());
    }
    let log2 = iterations_log2(hash)?;
    let (salt, checksum) = (&hash[4..12], &hash[12..]);
    if !crypt64_text(salt) {
        return Err("the salt is not crypt's base64".into());
    }
    let digest = hash64_decode(checksum, 16).ok_or("the hash is not crypt's base64")?;
    Ok(Parsed::Phpass { log2, salt, digest })
}

fn parse_drupal7(hash: &str) -> Result<Parsed<'_>, String> {
    if hash.len() != 55 {
        return Err("not 55 characters".into());
    }
    let log2 = iterations_log2(hash)?;
    let (salt, checksum) = (&hash[4..12], &hash[12..]);
    if !crypt64_text(salt) {
        return Err("the salt is not crypt's base64".into());
    }
    if !crypt64_text(checksum) {
        return Err("the hash is not crypt's base64".into());
    }
    Ok(Parsed::Drupal7 {
        log2,
        salt,
        checksum,
    })
}

fn parse_ssha(hash: &str) -> Result<Parsed<'_>, String> {
    const SCHEMES: &[(&str, Sha, bool)] = &[
        ("{SHA}", Sha::Sha1, false),
        ("{SSHA}", Sha::Sha1, true),
        ("{SHA256}", Sha::Sha256, false),
        ("{SSHA256}", Sha::Sha256, true),
        ("{SHA384}", Sha::Sha384, false),
        ("{SSHA384}", Sha::Sha384, true),
        ("{SHA512}", Sha::Sha512, false),
        ("{SSHA512}", Sha::Sha512, true),
    ];
    let (sha, salted, encoded) = SCHEMES
        .iter()
        .find_map(|&(scheme, sha, salted)| {
            hash.strip_prefix(scheme).map(|rest| (sha, salted, rest))
        })
        .ok_or("unknown scheme, expected {SHA}, {SSHA}, {SHA256}, {SSHA256}, {SHA384}, {SSHA384}, {SHA512} or {SSHA512}")?;
    let mut digest = B64_PADDED
        .decode(encoded)
        .map_err(|_| "not base64 (standard, padded)")?;
    let size = sha.output_len();
    if digest.len() < size || (!salted && digest.len() != size) {
        return Err(format!(
            "{} bytes, not the digest's {size}{}",
            digest.len(),
            if salted { " and a salt" } else { "" }
        ));
    }
    let salt = digest.split_off(size);
    Ok(Parsed::Ssha { sha, digest, salt })
}

/// Firebase's base64: standard or URL-safe, padding ignored.
fn firebase_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    if text.contains(['-', '_']) {
        B64_URL_RAW_STRICT.decode(text).ok()
    } else {
        B64_RAW_STRICT.decode(text).ok()
    }
}

fn parse_firebase_scrypt(hash: &str) -> Result<Parsed<'_>, String> {
    let [_, costs, salt, digest, separator, signer_key] = fields(hash)?;
    let [ln, r] = key_values(costs, ["ln", "r"])
        .ok_or("the parameters are not ln=<memory cost>,r=<rounds>")?;
    let params = scrypt_params(ln, r, 1)?;
    let mut salt = firebase_base64(salt).ok_or("the salt is not base64")?;
    let digest = firebase_base64(digest).ok_or("the hash is not base64")?;
    let separator = firebase_base64(separator).ok_or("the salt separator is not base64")?;
    let signer_key = firebase_base64(signer_key).ok_or("the signer key is not base64")?;
    if digest.is_empty() || digest.len() != signer_key.len() {
        return Err("the hash and the signer key are not of the same, non-zero length".into());
    }
    digest_len(&digest)?;
    salt.extend_from_slice(&separator);
    Ok(Parsed::FirebaseScrypt {
        params,
        salt,
        hash: digest,
        signer_key,
    })
}

fn equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// MD5-crypt's digest (<https://passlib.readthedocs.io/en/stable/lib/passlib.hash.md5_crypt.html>),
/// its bytes in the order they are encoded.
fn md5_crypt(password: &[u8], salt: &[u8]) -> [u8; 16] {
    const ORDER: [usize; 16] = [12, 6, 0, 13, 7, 1, 14, 8, 2, 15, 9, 3, 5, 10, 4, 11];
    let b = md5(&[password, salt, password]);
    let mut a = Md5::new();
    a.update(password);
    a.update(b"$1$");
    a.update(salt);
    for &byte in b.iter().cycle().take(password.len()) {
        a.update([byte]);
    }
    let mut bits = password.len();
    while bits != 0 {
        if bits & 1 == 1 {
            a.update([0]);
        } else {
            a.update(&password[..1]);
        }
        bits >>= 1;
    }
    let mut digest: [u8; 16] = a.finalize().into();
    for i in 0..1000 {
        let mut round = Md5::new();
        if i % 2 == 1 {
            round.update(password);
        } else {
            round.update(digest);
        }
        if i % 3 != 0 {
            round.update(salt);
        }
        if i % 7 != 0 {
            round.update(password);
        }
        if i % 2 == 1 {
            round.update(digest);
        } else {
            round.update(password);
        }
        digest = round.finalize().into();
    }
    ORDER.map(|i| digest[i])
}

fn iterated_password(format: Format, password: &[u8]) -> Result<(), String> {
    if password.len() > MAX_ITERATED_PASSWORD_LEN {
        Err(format!(
            "{} hash: a password over {MAX_ITERATED_PASSWORD_LEN} bytes is not checked against it",
            format.name()
        ))
    } else {
        Ok(())
    }
}

impl Parsed<'_> {
    const fn format(&self) -> Format {
        match self {
            Self::Argon2 { .. } => Format::Argon2,
            Self::Bcrypt { .. } => Format::Bcrypt,
            Self::Scrypt { .. } => Format::Scrypt,
            Self::Pbkdf2 { .. } => Format::Pbkdf2,
            Self::Sha2Crypt { .. } => Format::Sha2Crypt,
            Self::Md5Crypt { .. } => Format::Md5Crypt,
            Self::Md5Plain { .. } => Format::Md5Plain,
            Self::Md5Salted { .. } => Format::Md5Salted,
            Self::Phpass { .. } => Format::Phpass,
            Self::Drupal7 { .. } => Format::Drupal7,
            Self::Ssha { .. } => Format::Ssha,
            Self::FirebaseScrypt { .. } => Format::FirebaseScrypt,
        }
    }

    fn verify(&self, password: &[u8]) -> Result<bool, String> {
        let format = self.format();
        let failed =
            |e: &dyn std::fmt::Display| format!("{} hash: cannot be computed: {e}", format.name());
        match self {
            Self::Argon2 {
                algorithm,
                params,
                salt,
                hash,
            } => {
                let mut out = vec![0_u8; hash.len()];
                Argon2::new(*algorithm, Version::V0x13, params.clone())
                    .hash_password_into(password, salt, &mut out)
                    .map_err(|e| failed(&e))?;
                Ok(equal(&out, hash))
            }
            Self::Bcrypt { cost, salt, hash } => {
                // bcrypt's key: the password and a NUL, cut to 72 bytes.
                let mut key: Vec<u8> = password.iter().copied().take(72).collect();
                key.push(0);
                key.truncate(72);
                let out = bcrypt::bcrypt(*cost, *salt, &key);
                Ok(equal(&out[..23], hash))
            }
            Self::Scrypt { params, salt, hash } => {
                let mut out = vec![0_u8; hash.len()];
                scrypt::scrypt(password, salt, params, &mut out).map_err(|e| failed(&e))?;
                Ok(equal(&out, hash))
            }
            Self::Pbkdf2 {
                prf,
                rounds,
                salt,
                hash,
            } => {
                let mut out = vec![0_u8; hash.len()];
                let derive = match prf {
                    Prf::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>,
                    Prf::Sha224 => pbkdf2::pbkdf2_hmac::<Sha224>,
                    Prf::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>,
                    Prf::Sha384 => pbkdf2::pbkdf2_hmac::<Sha384>,
                    Prf::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>,
                };
                derive(password, salt, *rounds, &mut out);
                Ok(equal(&out, hash))
            }
            Self::Sha2Crypt {
                sha512,
                rounds,
                salt,
                checksum,
            } => {
                iterated_password(format, password)?;
                let out = if *sha512 {
                    let params = sha_crypt::Sha512Params::new(*rounds)
                        .map_err(|e| failed(&format!("{e:?}")))?;
                    sha_crypt::sha512_crypt_b64(password, salt.as_bytes(), &params)
                } else {
                    let params = sha_crypt::Sha256Params::new(*rounds)
                        .map_err(|e| failed(&format!("{e:?}")))?;
                    sha_crypt::sha256_crypt_b64(password, salt.as_bytes(), &params)
                }
                .map_err(|e| failed(&format!("{e:?}")))?;
                Ok(equal(out.as_bytes(), checksum.as_bytes()))
            }
            Self::Md5Crypt { salt, digest } => {
                iterated_password(format, password)?;
                Ok(equal(&md5_crypt(password, salt.as_bytes()), digest))
            }
            Self::Md5Plain { digest } => Ok(equal(&md5(&[password]), digest)),
            Self::Md5Salted {
                salt_first,
                salt,
                digest,
            } => {
                let out = if *salt_first {
                    md5(&[salt.as_bytes(), password])
                } else {
                    md5(&[password, salt.as_bytes()])
                };
                Ok(equal(&out, digest))
            }
            Self::Phpass { log2, salt, digest } => {
                iterated_password(format, password)?;
                let mut out = md5(&[salt.as_bytes(), password]);
                for _ in 0..1_u32 << log2 {
                    out = md5(&[&out, password]);
                }
                Ok(equal(&out, digest))
            }
            Self::Drupal7 {
                log2,
                salt,
                checksum,
            } => {
                iterated_password(format, password)?;
                let mut out = Sha512::new()
                    .chain_update(salt)
                    .chain_update(password)
                    .finalize();
                for _ in 0..1_u32 << log2 {
                    out = Sha512::new()
                        .chain_update(out)
                        .chain_update(password)
                        .finalize();
                }
                let encoded = hash64_encode(&out);
                Ok(equal(
                    &encoded.as_bytes()[..checksum.len()],
                    checksum.as_bytes(),
                ))
            }
            Self::Ssha { sha, digest, salt } => Ok(equal(&sha.digest(&[password, salt]), digest)),
            Self::FirebaseScrypt {
                params,
                salt,
                hash,
                signer_key,
            } => {
                let mut key = [0_u8; 32];
                scrypt::scrypt(password, salt, params, &mut key).map_err(|e| failed(&e))?;
                let mut out = signer_key.clone();
                ctr::Ctr128BE::<aes::Aes256>::new(&key.into(), &[0_u8; 16].into())
                    .apply_keystream(&mut out);
                Ok(equal(&out, hash))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Format, MAX_HASH_LEN, MAX_ITERATED_PASSWORD_LEN, recognise, verify};

    /// The password of every vector made for this module.
    const PASSWORD: &[u8] = b"Imp0rted-Passw0rd!";

    // Made by reference implementations (Python 3: passlib 1.7.4, bcrypt 5.0.0,
    // argon2-cffi 25.1.0, hashlib, cryptography 50.0.2), password "Imp0rted-Passw0rd!".
    // bcrypt.hashpw(gensalt(rounds=4, prefix=b"2a" / b"2b")); $2y$ is a $2b$ hash relabelled,
    // checked by bcrypt.checkpw.
    const BCRYPT_2A: &str = "$2a$04$RqfbTuWo0/yF69sHtasQTOmSpzoOz2KnxX2FqoBU4lslk1vktBDiC";
    const BCRYPT_2B: &str = "$2b$04$PbButVTm32Jf8yPfRA6PV.0XVJa1ezbDq7FVAGmbJD0h7r9zLcRUq";
    const BCRYPT_2Y: &str = "$2y$05$Svy40Oj5yvYu4ZGIgYAuDucoYwkjhCvVOzGLBs7g1O3MlJeQZK4Om";
    /// bcrypt.hashpw of 72 × "x" (bcrypt reads no further).
    const BCRYPT_72_X: &str = "$2b$04$p8PHas.7eNhj91J9w8THduwSJcz6K9mpr0hOlH7N9BqJJF415OQ/W";
    // argon2.PasswordHasher(type=ID, time_cost=1, memory_cost=64, parallelism=1, hash_len=32)
    // and (type=I, time_cost=2, memory_cost=32, parallelism=2, hash_len=24).
    const ARGON2ID: &str = "$argon2id$v=19$m=64,t=1,p=1$hgIfaISL3bFY+POLybs7YQ$RuvetZ75VAukXdAfYjK9CQ3kpNVipARdpN5a8DNiur0";
    const ARGON2I: &str =
        "$argon2i$v=19$m=32,t=2,p=2$YrWgSL+2v6JUoACbn7Pqig$Hmu5gNgdLId8xaoyTLKh62HYwRS+tSyU";
    /// passlib.hash.scrypt.using(rounds=4, block_size=8, parallelism=1): passwap's encoding.
    const SCRYPT: &str =
        "$scrypt$ln=4,r=8,p=1$OOc8J6Q0BsC4l9Lam/NeCw$QP5K/M0dI4mk8rQxuKOIdIC0Ny/YsXeWQC9x0qzfbwU";
    /// hashlib.scrypt(n=2^5, r=4, p=2, dklen=32), encoded the same way after `$7$`.
    const SCRYPT_7: &str =
        "$7$ln=5,r=4,p=2$21SaBLMCcLRwBak1iFHS/w$CgTyfmMRG6xaC3XEY5KtVyPZW2eU3BEXpEgr6N2+m20";
    // passlib.hash.pbkdf2_sha1 / _sha256 / _sha512.using(rounds=1000).
    const PBKDF2_SHA1: &str = "$pbkdf2$1000$uhdiTEnJeU/p3ZtTyrn3fg$mTEdvHL2Fi1S2Z3qwvxwEoFhwHw";
    /// hashlib.pbkdf2_hmac("sha1", rounds 1000, dklen=32): two output blocks, in ab64.
    const PBKDF2_SHA1_32: &str =
        "$pbkdf2$1000$MjijnH/gyPF.wgAnuqt3GQ$0Bd46G2YlSj.shag95bm1b8.t63YyBTYz9xyjE5r2Hw";
    const PBKDF2_SHA256: &str =
        "$pbkdf2-sha256$1000$nFNqDeHc23svBYDQupey1g$JNe/qV3hIAs0Y2Ma6bfJEyxhJkwxUYIZrKWik.Doe9Q";
    const PBKDF2_SHA512: &str = "$pbkdf2-sha512$1000$ZKz1vpfS2nsPIWTM2ft/Lw$c3ogQ.OM/zVJ5PO6sugSY7XdbOd23n7smnua0qvoVsadeBm4L8nfFSHBXO9XynleOA9AyxEhB9vuJscg5AtZVQ";
    /// hashlib.pbkdf2_hmac("sha224", rounds 1000), in passlib's ab64.
    const PBKDF2_SHA224: &str =
        "$pbkdf2-sha224$1000$Sdeqwh28Fy/FsnB/rtHHEQ$FfoQkWnRkM8qEQ.ypOXPo4bAXBSQ3IBkcgfhJQ";
    /// hashlib.pbkdf2_hmac("sha384", rounds 1000), in padded standard base64 (passwap takes it).
    const PBKDF2_SHA384_PADDED: &str = "$pbkdf2-sha384$1000$UgvazIc3Zg7UVhaIYIC7cg==$JPSSkOhd2omWo1o69Nb9aEbhgnoFyDCf6Ljzfzz51F5V/hqNK1Ls+USAckSH6f9D";
    // passlib.hash.sha256_crypt / sha512_crypt.using(rounds=1000); a 5000-round one without
    // `rounds=` (checked by sha512_crypt.verify).
    const SHA256_CRYPT: &str =
        "$5$rounds=1000$iV8L7SDouwGbu/zM$vshg0SxAggX9Qh4bhI3C7cG1E1SHdzF5WRd5pzF3w40";
    const SHA512_CRYPT: &str = "$6$rounds=1000$k/VWRnmlz.7GyI1s$nppsjaLUQyZBKjmWUlflBlOWxTAhixAwmU8Pbwst7dxTgCp4F2UYtV0OAOkIZBM93.ITnz3JceyhSSbhJQsTG0";
    const SHA512_CRYPT_5000: &str = "$6$9wHxs1UZDZ3KPoaH$LbLRB4Jk63fdbmtvNRIFwPLBUHb4vvwlN3nZZ2PKZcLAZ3XyiejUb4Io4Jdq0fUdB.5GK1SxMbamGpthTBvkk1";
    /// passlib.hash.md5_crypt.
    const MD5_CRYPT: &str = "$1$AH0cAeNa$MHAtBjptTMdH2c6eSayE5.";
    /// passlib.hash.hex_md5.
    const MD5_PLAIN: &str = "e8937a8a7a1dcccc0429d7ec80de32f1";
    // hashlib.md5 of password + salt text / salt text + password, base64 (passwap's scheme).
    const MD5SALTED_SUFFIX: &str = "$md5salted-suffix$c2FsdA==$yUpI/9tZH+aiBTw1aFi8rA==";
    const MD5SALTED_PREFIX: &str = "$md5salted-prefix$c2FsdA==$4f/KmmDS2NYcdsuIIfifIA==";
    // passlib.hash.phpass.using(rounds=8) and (rounds=9, ident="H").
    const PHPASS_P: &str = "$P$6yMgT2h9pZTk87vyju1sZahQ66k/ne0";
    const PHPASS_H: &str = "$H$7QSY4ozUVTNgC00KbkeY5IIvn.ht2S/";
    /// A line-by-line port of Drupal 7's `_password_crypt` (2^7 iterations), which also
    /// reproduces passwap's Drupal 7 vector below.
    const DRUPAL7: &str = "$S$5UFbj8jo0J9M6KawDAyWON7ye1txKh0VZDYB5RMJaBxsVlejaKhe";
    // passlib.hash.ldap_salted_sha1 / _sha256 / _sha512 and ldap_sha1; {SSHA384} and {SHA256}
    // by hashlib, the same way.
    const SSHA1: &str = "{SSHA}y1PryGq7/RSViU28IBZonHTxdSlS6n3v";
    const SSHA256: &str = "{SSHA256}gN45cqvOY9ydsoQryU0MSQ3gSCnyvn62mcgFB/ezREyrtda6977X+g==";
    const SSHA384: &str =
        "{SSHA384}Acsbyeu/m65iOjGfPGO5NTcuHxzkwwu60uAeIkrvhktprYzcQDn+bM60ae00GEU9yFCp1IOpfNE=";
    const SSHA512: &str = "{SSHA512}8XM3aM7YrBGKtvMYL7lY1wdWEOeWrQE6wvK06NUKidBNRd09VlavkSk8itLxlyvefyDt2iB8OLHfwJKT7V0+xLhXCoGwVgqB";
    const SHA1_LDAP: &str = "{SHA}j3FiJ/apV2GQ0S2UV6ICu/vxYxg=";
    const SHA256_LDAP: &str = "{SHA256}cHqoN/qJ7IsDwaEKDQmLCPkDwszuDMgF/KNRaAe9tlI=";
    /// hashlib.scrypt(salt + separator, n=2^6, r=4, p=1, dklen=32) as an AES-256-CTR key
    /// (cryptography) over a random 64-byte signer key, as passwap's firebasescrypt.py does.
    const FIREBASE_SCRYPT: &str = "$firebasescrypt$ln=6,r=4$v6h253G+/DeT6/0c$PRxuthry8FklunAPYBhyAK2LkiNSLHIisidPADC/+WawkQbiB2UGtEcFjVsOlMDkuk68UcfSlion4PXXD6d+4g==$Bw==$/s3fZ6H/JFM07N/J2zyLB8JyT9vTkHGoeUEIIBE41RPFCSlumSZxjydoFYXK07ftodgZ/16f90kAYWWXGfggxQ==";

    /// passwap's own test vectors (its `internal/testvalues` and package tests), with their
    /// passwords.
    const PASSWAP: &[(&str, &str, Format)] = &[
        (
            "password",
            "$1$kJ4QkJaQ$3EbD/pJddrq5HW3mpZ4KZ1",
            Format::Md5Crypt,
        ),
        (
            "password",
            "5f4dcc3b5aa765d61d8327deb882cf99",
            Format::Md5Plain,
        ),
        (
            "Test1000!",
            "$md5salted-suffix$c2FsdA==$R58+SD/95ORa9VZ9BPS5FA==",
            Format::Md5Salted,
        ),
        (
            "Test1000!",
            "$md5salted-prefix$c2FsdA==$0M2MYNUmNumHqqQ+kmuTUQ==",
            Format::Md5Salted,
        ),
        (
            "password",
            "$pbkdf2$12$cmFuZG9tc2FsdGlzaGFyZA$mwUqsMixIYMc/0eN4v1.l3SVDpk",
            Format::Pbkdf2,
        ),
        (
            "password",
            "$pbkdf2-sha256$12$cmFuZG9tc2FsdGlzaGFyZA$OFvEcLOIPFd/oq8egf10i.qJLI7A8nDjPLnolCWarQY",
            Format::Pbkdf2,
        ),
        (
            "password",
            "$pbkdf2-sha512$12$cmFuZG9tc2FsdGlzaGFyZA$e297piXvkpYxoYQAWD9zn1aKXCo3XmR91Xn9/WEGsHXU/7xaQzCV9upu4T5Jntq6AiZ6YX0diXnY7Ju5TEfUMA",
            Format::Pbkdf2,
        ),
        (
            "password",
            "$S$ErandomsaOpYrAZqwxGynirQbWYCb3ejW4BwGH81LJcOzbzeVd02",
            Format::Drupal7,
        ),
        (
            "foobar",
            "$6$rounds=10000$saltsaltsaltsalt$EZKkFhxaTyiAhcKpFxN09.libqbOVLez7TJLU9i1rGqmCJkU4O5MLKPlNmVFwvj9YM3HTmo.EQeTrTAI01tZz1",
            Format::Sha2Crypt,
        ),
        (
            "user1password",
            "$firebasescrypt$ln=10,r=4$42xEC+ixf3L2lw==$EQ0tlNdKv5ZBDYN7ofOYlhhTEe5Tu9bueDmtDUhLPM+9dcS1u1ALgMcT6N1+U9GsDlVdd3FE2dmz37fU5Y8A9Q==$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
            Format::FirebaseScrypt,
        ),
    ];

    /// Drepper's SHA-crypt reference vectors (SHA-crypt.txt), the first without `rounds=`.
    const DREPPER: &[(&str, &str)] = &[
        (
            "Hello world!",
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
        ),
        (
            "Hello world!",
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
        ),
        (
            "Hello world!",
            "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
        ),
        (
            "we have a short salt string but not a short password",
            "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/",
        ),
        (
            "the minimum number is still observed",
            "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.",
        ),
    ];

    /// `hash` is recognised as `format`, matches `password` and nothing else.
    fn accepts(hash: &str, format: Format, password: &[u8]) {
        assert_eq!(recognise(hash), Ok(format), "{hash}");
        assert_eq!(verify(password, hash), Ok(true), "{hash}");
        let mut wrong = password.to_vec();
        if let Some(last) = wrong.last_mut() {
            *last ^= 1;
        }
        assert_eq!(verify(&wrong, hash), Ok(false), "{hash}");
        assert_eq!(verify(b"", hash), Ok(false), "{hash}");
    }

    /// `hash` is refused, by both functions alike, with a message that does not repeat it.
    fn refused(hash: &str) -> String {
        let err = recognise(hash).expect_err(hash);
        assert_eq!(verify(PASSWORD, hash), Err(err.clone()), "{hash}");
        let tail = &hash[hash.len().saturating_sub(10)..];
        assert!(
            hash.len() < 20 || !err.contains(tail),
            "{err} repeats {hash}"
        );
        err
    }

    /// `hash` is refused as malformed `format`, the message naming it and saying `what`.
    fn malformed(hash: &str, format: Format, what: &str) {
        let err = refused(hash);
        assert!(
            err.starts_with(&format!("{} hash: ", format.name())),
            "{hash}: {err}"
        );
        assert!(err.contains(what), "{hash}: {err} (expected: {what})");
    }

    #[test]
    fn imported_argon2() {
        accepts(ARGON2ID, Format::Argon2, PASSWORD);
        accepts(ARGON2I, Format::Argon2, PASSWORD);
        let f = Format::Argon2;
        malformed(
            &ARGON2ID.replace("argon2id", "argon2d"),
            f,
            "argon2d is not supported",
        );
        malformed(
            &ARGON2ID.replace("argon2id", "argon2x"),
            f,
            "unknown variant",
        );
        malformed(&ARGON2ID.replace("v=19", "v=16"), f, "version 19");
        malformed(&ARGON2ID.replace("$v=19", ""), f, "expected 5 fields");
        malformed(&ARGON2ID.replace("m=64", "m=4194304"), f, "above the limit");
        malformed(
            &ARGON2ID.replace("m=64,t=1", "m=262144,t=9"),
            f,
            "memory × passes",
        );
        malformed(&ARGON2ID.replace("t=1", "t=0"), f, "passes t=0");
        malformed(&ARGON2ID.replace("p=1", "p=0"), f, "lanes p=0");
        malformed(&ARGON2ID.replace("p=1", "p=256"), f, "lanes p=256");
        malformed(&ARGON2ID.replace("m=64", "m=4"), f, "invalid parameters");
        malformed(
            &ARGON2ID.replace("m=64,t=1,p=1", "t=1,m=64,p=1"),
            f,
            "m=<memory>",
        );
        malformed(&ARGON2ID.replace("p=1", "p=1,data=AA"), f, "m=<memory>");
        malformed(
            &ARGON2ID.replace("hgIfaISL", "hgIf*ISL"),
            f,
            "salt is not base64",
        );
        malformed(&ARGON2ID.replace("YQ$", "YQ==$"), f, "salt is not base64");
        malformed(
            &ARGON2ID.replace("$hgIfaISL3bFY+POLybs7YQ$", "$c2FsdA$"),
            f,
            "fewer than 8",
        );
        malformed(&ARGON2ID[..ARGON2ID.len() - 1], f, "hash is not base64");
        malformed(
            &ARGON2ID.replace("RuvetZ75VAukXdAfYjK9CQ3kpNVipARdpN5a8DNiur0", "AAAAAAAAAAA"),
            f,
            "not 16 to 128",
        );
    }

    #[test]
    fn imported_bcrypt() {
        accepts(BCRYPT_2A, Format::Bcrypt, PASSWORD);
        accepts(BCRYPT_2B, Format::Bcrypt, PASSWORD);
        accepts(BCRYPT_2Y, Format::Bcrypt, PASSWORD);
        // bcrypt reads 72 bytes of the password, as every implementation does.
        assert_eq!(verify(&[b'x'; 72], BCRYPT_72_X), Ok(true));
        assert_eq!(verify(&[b'x'; 80], BCRYPT_72_X), Ok(true));
        assert_eq!(verify(&[b'x'; 71], BCRYPT_72_X), Ok(false));
        let f = Format::Bcrypt;
        malformed(
            &BCRYPT_2B.replace("$2b$", "$2x$"),
            f,
            "versions 2a, 2b and 2y",
        );
        malformed(
            &BCRYPT_2B.replace("$2b$", "$2$"),
            f,
            "versions 2a, 2b and 2y",
        );
        malformed(
            &BCRYPT_2B.replace("$04$", "$31$"),
            f,
            "cost 31 is not 4 to 15",
        );
        malformed(
            &BCRYPT_2B.replace("$04$", "$16$"),
            f,
            "cost 16 is not 4 to 15",
        );
        malformed(
            &BCRYPT_2B.replace("$04$", "$03$"),
            f,
            "cost 3 is not 4 to 15",
        );
        malformed(&BCRYPT_2B.replace("$04$", "$4$"), f, "two digits");
        malformed(&BCRYPT_2B[..BCRYPT_2B.len() - 1], f, "53 characters");
        malformed(
            &BCRYPT_2B.replace("PbButV", "Pb+utV"),
            f,
            "salt is not bcrypt's base64",
        );
        malformed(
            &BCRYPT_2B.replace("cRUq", "cR_q"),
            f,
            "hash is not bcrypt's base64",
        );
        // The last character carries 4 bits of the hash: 'q' has stray low bits set in 'r'.
        malformed(
            &BCRYPT_2B.replace("cRUq", "cRUr"),
            f,
            "hash is not bcrypt's base64",
        );
        malformed(&format!("{BCRYPT_2B}$"), f, "expected 3 fields");
    }

    #[test]
    fn imported_scrypt() {
        accepts(SCRYPT, Format::Scrypt, PASSWORD);
        accepts(SCRYPT_7, Format::Scrypt, PASSWORD);
        let f = Format::Scrypt;
        malformed(&SCRYPT.replace("ln=4", "ln=21"), f, "out of range");
        malformed(&SCRYPT.replace("ln=4", "ln=0"), f, "out of range");
        malformed(&SCRYPT.replace("ln=4,r=8", "ln=20,r=8"), f, "work N·r·p");
        malformed(
            &SCRYPT.replace("ln=4,r=8,p=1", "ln=2,r=1,p=2097152"),
            f,
            "out of range",
        );
        malformed(
            &SCRYPT.replace("ln=4,r=8,p=1", "ln=16,r=8,p=64"),
            f,
            "work N·r·p",
        );
        malformed(&SCRYPT.replace("r=8", "r=0"), f, "out of range");
        malformed(
            &SCRYPT.replace("ln=4,r=8,p=1", "ln=17,r=1,p=1"),
            f,
            "not valid scrypt",
        );
        malformed(&SCRYPT.replace(",p=1", ""), f, "ln=<log2 N>");
        malformed(&SCRYPT.replace("ln=4", "ln=-4"), f, "ln=<log2 N>");
        malformed(
            &SCRYPT.replace("OOc8J6Q0", "OOc8.6Q0"),
            f,
            "salt is not base64",
        );
        malformed(
            &SCRYPT.replace("$OOc8J6Q0BsC4l9Lam/NeCw$", "$$"),
            f,
            "salt is empty",
        );
        malformed(&SCRYPT[..SCRYPT.len() - 2], f, "hash is not base64");
        malformed(&format!("{SCRYPT}="), f, "hash is not base64");
        malformed(
            &SCRYPT.replace("QP5K/M0dI4mk8rQxuKOIdIC0Ny/YsXeWQC9x0qzfbwU", "AAAAAAAAAAA"),
            f,
            "not 16 to 128",
        );
    }

    #[test]
    fn imported_pbkdf2() {
        for hash in [
            PBKDF2_SHA1,
            PBKDF2_SHA1_32,
            PBKDF2_SHA224,
            PBKDF2_SHA256,
            PBKDF2_SHA384_PADDED,
            PBKDF2_SHA512,
        ] {
            accepts(hash, Format::Pbkdf2, PASSWORD);
        }
        // passwap also takes standard base64 for passlib's ab64, with or without padding.
        accepts(&PBKDF2_SHA256.replace('.', "+"), Format::Pbkdf2, PASSWORD);
        accepts(&format!("{PBKDF2_SHA256}="), Format::Pbkdf2, PASSWORD);
        let f = Format::Pbkdf2;
        malformed(
            &PBKDF2_SHA256.replace("sha256", "md5"),
            f,
            "unknown variant",
        );
        malformed(
            &PBKDF2_SHA1.replace("$pbkdf2$", "$pbkdf2-sha1$"),
            f,
            "unknown variant",
        );
        malformed(
            &PBKDF2_SHA256.replace("$1000$", "$0$"),
            f,
            "positive number",
        );
        malformed(
            &PBKDF2_SHA256.replace("$1000$", "$abc$"),
            f,
            "positive number",
        );
        malformed(
            &PBKDF2_SHA256.replace("$1000$", "$10000001$"),
            f,
            "above 10000000",
        );
        malformed(
            &PBKDF2_SHA512.replace("$1000$", "$2500001$"),
            f,
            "above 2500000",
        );
        malformed(
            &PBKDF2_SHA1_32.replace("$1000$", "$5000001$"),
            f,
            "5000001 rounds × 2 output blocks are above 10000000",
        );
        malformed(
            &PBKDF2_SHA256.replace("$1000$", "$99999999999$"),
            f,
            "positive number",
        );
        malformed(
            &PBKDF2_SHA256.replace("nFNqDeHc", "nF+qD.Hc"),
            f,
            "salt is not base64",
        );
        malformed(
            &PBKDF2_SHA256.replace("nFNqDe", "nF*qDe"),
            f,
            "salt is not base64",
        );
        malformed(
            &PBKDF2_SHA256[..PBKDF2_SHA256.len() - 2],
            f,
            "hash is not base64",
        );
        malformed(
            &PBKDF2_SHA256[..PBKDF2_SHA256.len() - 28],
            f,
            "not 16 to 128",
        );
        malformed(&PBKDF2_SHA256.replace("$1000", ""), f, "expected 4 fields");
        // Passwords of any length: HMAC hashes a long key once.
        assert_eq!(verify(&[b'x'; 4096], PBKDF2_SHA256), Ok(false));
    }

    #[test]
    fn imported_sha2_crypt() {
        accepts(SHA256_CRYPT, Format::Sha2Crypt, PASSWORD);
        accepts(SHA512_CRYPT, Format::Sha2Crypt, PASSWORD);
        accepts(SHA512_CRYPT_5000, Format::Sha2Crypt, PASSWORD);
        for (password, hash) in DREPPER {
            accepts(hash, Format::Sha2Crypt, password.as_bytes());
        }
        let f = Format::Sha2Crypt;
        malformed(
            &SHA256_CRYPT.replace("=1000$", "=999$"),
            f,
            "999 rounds are not 1000",
        );
        malformed(
            &SHA256_CRYPT.replace("=1000$", "=1000001$"),
            f,
            "1000001 rounds are not 1000 to 1000000",
        );
        malformed(&SHA256_CRYPT.replace("=1000$", "=x$"), f, "not a number");
        malformed(
            &SHA256_CRYPT.replace("$iV8L7SDouwGbu/zM", ""),
            f,
            "expected $5$ or $6$",
        );
        malformed(
            &SHA256_CRYPT.replace("iV8L7SDouwGbu/zM", "iV8L7SDouwGbu/zMx"),
            f,
            "16",
        );
        malformed(&SHA256_CRYPT[..SHA256_CRYPT.len() - 1], f, "43 characters");
        malformed(&SHA512_CRYPT[..SHA512_CRYPT.len() - 1], f, "86 characters");
        malformed(&SHA512_CRYPT.replace("TG0", "TG+"), f, "86 characters");
        // Stray bits: the last of 86 characters carries 2 bits, '0' is 2 and '2' is 4.
        malformed(&SHA512_CRYPT.replace("TG0", "TG2"), f, "86 characters");
        // A password too long to be hashed on every round is refused.
        let long = [b'x'; MAX_ITERATED_PASSWORD_LEN + 1];
        let err = verify(&long, SHA256_CRYPT).expect_err("too long");
        assert!(
            err.starts_with("SHA-crypt hash: a password over 256 bytes"),
            "{err}"
        );
        assert_eq!(verify(&long[1..], SHA256_CRYPT), Ok(false));
    }

    #[test]
    fn imported_md5() {
        accepts(MD5_CRYPT, Format::Md5Crypt, PASSWORD);
        accepts(MD5_PLAIN, Format::Md5Plain, PASSWORD);
        accepts(&MD5_PLAIN.to_uppercase(), Format::Md5Plain, PASSWORD);
        accepts(MD5SALTED_SUFFIX, Format::Md5Salted, PASSWORD);
        accepts(MD5SALTED_PREFIX, Format::Md5Salted, PASSWORD);
        let f = Format::Md5Crypt;
        malformed(
            &MD5_CRYPT.replace("AH0cAeNa", "AH0cAeNax"),
            f,
            "1 to 8 characters",
        );
        malformed(&MD5_CRYPT.replace("AH0cAeNa", ""), f, "1 to 8 characters");
        malformed(&MD5_CRYPT[..MD5_CRYPT.len() - 1], f, "22 characters");
        malformed(&MD5_CRYPT.replace("E5.", "E52"), f, "22 characters");
        malformed(&MD5_CRYPT.replace("E5.", "E5*"), f, "22 characters");
        malformed(&format!("{MD5_CRYPT}$"), f, "expected 3 fields");
        assert!(verify(&[b'x'; MAX_ITERATED_PASSWORD_LEN + 1], MD5_CRYPT).is_err());
        let f = Format::Md5Salted;
        malformed(
            &MD5SALTED_PREFIX.replace("prefix", "infix"),
            f,
            "unknown variant",
        );
        malformed(&MD5SALTED_PREFIX.replace("IA==", "IA"), f, "not 16 bytes");
        malformed(
            &MD5SALTED_PREFIX.replace("IIfifIA==", "IIfifIA"),
            f,
            "not 16 bytes",
        );
        malformed(
            &MD5SALTED_PREFIX.replace("4f/Kmm", "4f/Km"),
            f,
            "not 16 bytes",
        );
        malformed(
            &MD5SALTED_PREFIX.replace("$c2FsdA==$", "$$"),
            f,
            "salt is empty",
        );
        // Plain MD5 is 32 hex digits, nothing else.
        assert_eq!(refused(&MD5_PLAIN[1..]), "unknown hash format");
        assert_eq!(refused(&MD5_PLAIN.replace('e', "g")), "unknown hash format");
        assert_eq!(refused(&format!("{MD5_PLAIN}0")), "unknown hash format");
    }

    #[test]
    fn imported_phpass_and_drupal7() {
        accepts(PHPASS_P, Format::Phpass, PASSWORD);
        accepts(PHPASS_H, Format::Phpass, PASSWORD);
        accepts(DRUPAL7, Format::Drupal7, PASSWORD);
        let f = Format::Phpass;
        malformed(
            &PHPASS_P.replace("$P$6", "$P$4"),
            f,
            "2^6 iterations are not 2^7 to 2^20",
        );
        malformed(
            &PHPASS_P.replace("$P$6", "$P$J"),
            f,
            "2^21 iterations are not 2^7 to 2^20",
        );
        malformed(
            &PHPASS_P.replace("$P$6", "$P$*"),
            f,
            "not a character of crypt's base64",
        );
        malformed(&PHPASS_P[..PHPASS_P.len() - 1], f, "not 34 characters");
        malformed(
            &PHPASS_P.replace("yMgT", "yM$T"),
            f,
            "salt is not crypt's base64",
        );
        malformed(
            &PHPASS_P.replace("ne0", "ne2"),
            f,
            "hash is not crypt's base64",
        );
        malformed(
            &PHPASS_P.replace("ne0", "ne-"),
            f,
            "hash is not crypt's base64",
        );
        let f = Format::Drupal7;
        malformed(&DRUPAL7.replace("$S$5", "$S$z"), f, "2^63 iterations");
        malformed(&DRUPAL7.replace("$S$5", "$S$4"), f, "2^6 iterations");
        malformed(&DRUPAL7[..DRUPAL7.len() - 1], f, "not 55 characters");
        malformed(
            &DRUPAL7.replace("UFbj", "UF+j"),
            f,
            "salt is not crypt's base64",
        );
        malformed(
            &DRUPAL7.replace("aKhe", "aK-e"),
            f,
            "hash is not crypt's base64",
        );
        for hash in [PHPASS_P, DRUPAL7] {
            assert!(verify(&[b'x'; MAX_ITERATED_PASSWORD_LEN + 1], hash).is_err());
        }
    }

    #[test]
    fn imported_ssha() {
        for hash in [SSHA1, SSHA256, SSHA384, SSHA512, SHA1_LDAP, SHA256_LDAP] {
            accepts(hash, Format::Ssha, PASSWORD);
        }
        let f = Format::Ssha;
        malformed(&SSHA1.replace("{SSHA}", "{SSHA1}"), f, "unknown scheme");
        malformed(&SSHA1.replace("y1Pr", "y1P*"), f, "not base64");
        malformed(&SHA1_LDAP.replace("xg=", "x"), f, "not base64");
        malformed(
            "{SSHA}y1PryGq7/RSViU28IBZonHTx",
            f,
            "18 bytes, not the digest's 20",
        );
        malformed(
            &SSHA1.replace("{SSHA}", "{SHA}"),
            f,
            "bytes, not the digest's 20",
        );
        malformed(
            &SSHA256.replace("{SSHA256}", "{SSHA512}"),
            f,
            "not the digest's 64",
        );
        assert_eq!(
            refused("{MD5}X03MO1qnZdYdgyfeuILPmQ=="),
            "unknown hash format"
        );
    }

    #[test]
    fn imported_firebase_scrypt() {
        accepts(FIREBASE_SCRYPT, Format::FirebaseScrypt, PASSWORD);
        // URL-safe base64 (the Admin SDK's) is accepted as well.
        let url_safe = FIREBASE_SCRYPT.replace('+', "-").replace('/', "_");
        accepts(&url_safe, Format::FirebaseScrypt, PASSWORD);
        let f = Format::FirebaseScrypt;
        malformed(&FIREBASE_SCRYPT.replace("ln=6", "ln=21"), f, "out of range");
        malformed(
            &FIREBASE_SCRYPT.replace("ln=6,r=4", "ln=6,r=4,p=1"),
            f,
            "ln=<memory cost>",
        );
        malformed(
            &FIREBASE_SCRYPT.replace("$Bw==$", "$"),
            f,
            "expected 6 fields",
        );
        malformed(
            &FIREBASE_SCRYPT.replace("$Bw==$", "$B*==$"),
            f,
            "separator is not base64",
        );
        malformed(
            &FIREBASE_SCRYPT.replace("v6h253G+", "v6h253G-"),
            f,
            "salt is not base64",
        );
        malformed(
            &FIREBASE_SCRYPT.replace("$/s3fZ6H/", "$/s3f*Z6H/"),
            f,
            "signer key is not base64",
        );
        malformed(
            &FIREBASE_SCRYPT.replace("$/s3fZ6H/", "$s3fZ6H/"),
            f,
            "signer key is not base64",
        );
        malformed(
            &FIREBASE_SCRYPT.replace("$/s3fZ6H/JFM0", "$/s3fZ6H/"),
            f,
            "same, non-zero length",
        );
    }

    #[test]
    fn imported_reference_vectors_of_passwap() {
        // Two checks each, not `accepts`' three: the Drupal 7 one is 2^16 rounds.
        for (password, hash, format) in PASSWAP {
            assert_eq!(recognise(hash), Ok(*format), "{hash}");
            assert_eq!(verify(password.as_bytes(), hash), Ok(true), "{hash}");
            assert_eq!(verify(b"Password", hash), Ok(false), "{hash}");
        }
    }

    #[test]
    fn imported_unknown_and_unusable_hashes() {
        for hash in [
            "unknown",
            "$9$abc$def",
            "$apr1$abc$def",
            "pbkdf2_sha256$1000$salt$hash",
            "$argon",
            "{CRYPT}$1$AH0cAeNa$MHAtBjptTMdH2c6eSayE5.",
        ] {
            assert_eq!(refused(hash), "unknown hash format");
        }
        assert_eq!(refused(""), "the hash is empty");
        assert!(refused(&format!("{} ", MD5_CRYPT)).contains("printable ASCII"));
        assert!(refused(&MD5_CRYPT.replace('A', "Ä")).contains("printable ASCII"));
        let long = format!("{SCRYPT}{}", "A".repeat(MAX_HASH_LEN));
        assert!(refused(&long).contains("longer than 1024"));
    }
}
