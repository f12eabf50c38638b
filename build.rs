//! Compiles `proto/` into Rust with protox (a protobuf compiler written in Rust), so a fresh
//! machine needs nothing but cargo: no system `protoc`.
//!
//! The encoded descriptor set is written to `OUT_DIR/agenda_descriptor.bin` as well, for gRPC
//! server reflection.

use std::path::PathBuf;

use prost::Message as _;

const PROTOS: &[&str] = &[
    "proto/agenda/v1/resources.proto",
    "proto/agenda/v1/session_service.proto",
    "proto/agenda/v1/person_service.proto",
    "proto/agenda/v1/feed_service.proto",
    "proto/agenda/v1/invite_service.proto",
    "proto/agenda/v1/admin_service.proto",
    "proto/agenda/v1/schedule_service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(PROTOS, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("agenda_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(fds)?;
    Ok(())
}
