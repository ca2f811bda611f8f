//! Micro-benchmarks of the code path of a PasswordReset: drawing a code from the OS CSPRNG
//! and its keyed hash (and the constant-time check SetPassword makes).
//!
//! Run with `cargo xtask bench --micro` (or `cargo bench -p rekey-crypto-adapter`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rekey_application::ports::{CodeGenerator as _, CodeHasher as _};
use rekey_crypto_adapter::{HmacCodeHasher, MasterKey, OsRngCodes};
use rekey_domain::{CodePolicy, PlainCode};

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

criterion_group!(benches, codes);
criterion_main!(benches);
