//! `UserId`, `OrgId`, `BoundedText`, `UrlTemplate` and `Language` (see `rekey_fuzz::ids`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rekey_fuzz::ids(data));
