//! Url templates: validation and rendering (see `rekey_fuzz::url_template`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rekey_fuzz::url_template(data));
