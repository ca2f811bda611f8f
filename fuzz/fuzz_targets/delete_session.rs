//! The JSON body of DeleteSession: decode, field validation and the use case (see `rekey_fuzz::request_body`).
#![no_main]

use rekey_api::Rpc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| rekey_fuzz::request_body(Rpc::DeleteSession, data));
