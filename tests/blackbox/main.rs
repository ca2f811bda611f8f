//! Black-box tests: the real `rekey` binary, started on a free port with a fresh data dir,
//! spoken to over HTTP exactly as a client would.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::missing_panics_doc)]

mod connect;
mod delivery;
mod deployment;
mod events;
mod failover;
mod faults;
mod grpc;
mod grpc_call;
mod grpcurl;
mod ha;
mod hardening;
mod harness;
mod hot_path;
mod import;
mod lifecycle;
mod limits;
mod operations;
mod page;
mod password_reset;
mod readme;
mod security;
mod service;
mod sessions;
mod set_password;
mod smtp;
mod tools;
mod traces;
mod zitadel_clients;
