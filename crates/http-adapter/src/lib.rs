//! ZITADEL-compatible HTTP endpoints on actix-web: every RPC of CONTRACT.md on its REST path
//! (grpc-gateway style) and its Connect path, with the proto3 JSON mapping, both error shapes,
//! bearer-token authentication, request ids and health endpoints.
//!
//! Handlers are generic over `rekey_application::Ports`: they decode, call one use case of
//! `rekey-application`, and encode. No business rule lives here.

mod auth;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod json;
mod middleware;
mod page;
mod routes;
mod rpc;

pub use error::{ApiError, Code, Protocol};
pub use middleware::request_context;
pub use routes::{HttpSettings, configure};
