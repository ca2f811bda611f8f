//! `Email`: parsing, normal form and masking (see `rekey_fuzz::email`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rekey_fuzz::email(data));
