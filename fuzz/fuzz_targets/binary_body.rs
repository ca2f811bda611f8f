//! The protobuf bodies of every RPC: prost's decoder, field validation and the use case (see `rekey_fuzz::binary_body`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rekey_fuzz::binary_body(data));
