//! `Phone`: parsing, normal form and masking (see `rekey_fuzz::phone`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rekey_fuzz::phone(data));
