//! Micro-benchmarks of the code path of a PasswordReset: drawing a code from the OS CSPRNG
//! and its keyed hash (and the constant-time check SetPassword makes); and the strength
//! estimate every new password takes.
//!
//! Run with `cargo xtask bench --micro` (or `cargo bench -p rekey-crypto-adapter`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rekey_application::ports::{CodeGenerator as _, CodeHasher as _, PasswordStrength as _};
use rekey_crypto_adapter::{HmacCodeHasher, MasterKey, OsRngCodes, ZxcvbnStrength};
use rekey_domain::{CodePolicy, Password, PlainCode};

fn codes(c: &mut Criterion) {
    let default = CodePolicy::default();
    c.bench_function("OsRngCodes::generate (6 of A-Z0-9)", |b| {
        b.iter(|| OsRngCodes.generate(black_box(&default)));
    });
    let long = CodePolicy::new(64, "0123456789", chrono::TimeDelta::hours(1)).expect("policy");
    c.bench_function("OsRngCodes::generate (64 of 0-9)", |b| {
        b.iter(|| OsRngCodes.generate(black_box(&long)));
    });

    let key = MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("key");
    let hasher = HmacCodeHasher::new(&key.into());
    let code = PlainCode::new("Q7K2ZM".to_owned());
    c.bench_function("HmacCodeHasher::hash", |b| {
        b.iter(|| hasher.hash(black_box(&code)));
    });
    let stored = hasher.hash(&code);
    c.bench_function("HmacCodeHasher::verify", |b| {
        b.iter(|| hasher.verify(black_box(&code), black_box(&stored)));
    });
}

fn strength(c: &mut Criterion) {
    let short = Password::new("Kq7#vX2!mRt9");
    c.bench_function("ZxcvbnStrength::estimate (12 characters)", |b| {
        b.iter(|| ZxcvbnStrength.estimate(black_box(&short), &[]));
    });
    let passphrase = Password::new("Lovelace-Analytical-Engine-1843");
    let words = ["ada", "lovelace", "alovelace"];
    c.bench_function(
        "ZxcvbnStrength::estimate (31 characters, 3 user words)",
        |b| {
            b.iter(|| ZxcvbnStrength.estimate(black_box(&passphrase), &words));
        },
    );
}

criterion_group!(benches, codes, strength);
criterion_main!(benches);
