//! Compiles `proto/` with protox (pure Rust, no `protoc`), then generates the prost messages
//! and tonic services from the descriptors, plus the encoded descriptor set for reflection.

use std::path::PathBuf;

use prost::Message as _;

/// Every file rekey serves; their imports (google/protobuf) come with them.
const FILES: &[&str] = &[
    "zitadel/user/v2/user_service.proto",
    "zitadel/user/v2beta/user_service.proto",
    "zitadel/org/v2/org_service.proto",
    "zitadel/session/v2/session_service.proto",
    "zitadel/settings/v2/settings_service.proto",
    "zitadel/message.proto",
    "google/rpc/status.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptors = protox::compile(FILES, ["proto"])?;
    std::fs::write(
        out_dir.join("file_descriptor_set.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_transport(false)
        .include_file("protos.rs")
        .compile_fds(descriptors)?;
    Ok(())
}
