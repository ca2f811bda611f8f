//! The transport-neutral middle of rekey's API, shared by the HTTP adapter (REST, Connect) and
//! the gRPC adapter (gRPC, gRPC-Web).
//!
//! Per RPC ([`rpc`]): the request message (ZITADEL's protobuf types from `rekey-proto`) to the
//! use case's input, the use case's refusal to a [`Status`], the output to the response
//! message. Around them: the bearer-token rule ([`authenticate`]), the outcome metric
//! ([`rpc::count_outcome`]) and the proto3 JSON mapping ([`json`]). No transport lives here:
//! the adapters frame what this crate decides.

mod auth;
#[doc(hidden)]
pub mod fuzzing;
pub mod json;
pub mod rpc;
mod status;

pub use auth::authenticate;
pub use rpc::{Rpc, count_outcome, transcode};
pub use status::{Code, Status};
