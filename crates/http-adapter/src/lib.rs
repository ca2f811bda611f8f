//! ZITADEL-compatible HTTP endpoints on actix-web: every RPC of docs/API.md on its REST path
//! (grpc-gateway style) and its Connect path, with the proto3 JSON mapping, both error shapes,
//! bearer-token authentication, request ids and health endpoints.
//!
//! Handlers are generic over `rekey_application::Ports`: they decode, call one use case of
//! `rekey-application`, and encode. No business rule lives here.

mod auth;
mod catalog;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod json;
mod middleware;
mod openapi;
mod page;
mod routes;
mod rpc;

pub use error::{ApiError, Code, Protocol};

/// The PasswordReset message codec on its own, as the handlers use it, for the
/// micro-benchmarks in `benches/json.rs`.
#[doc(hidden)]
pub mod codec {
    use rekey_application::usecase::password_reset::{Input, Output};

    use crate::ApiError;
    use crate::json::decode;
    use crate::rpc::{PasswordResetRequest, password_reset_input, password_reset_response};

    /// A `PasswordResetRequest` body decoded and checked into the use case's input.
    ///
    /// # Errors
    /// The 400 answer the handler would give.
    pub fn decode_password_reset(body: &[u8]) -> Result<Input, ApiError> {
        password_reset_input(decode::<PasswordResetRequest>(body)?)
    }

    /// The `PasswordResetResponse` body for `output`.
    #[must_use]
    pub fn encode_password_reset(output: &Output) -> String {
        password_reset_response(output).to_string()
    }
}
pub use middleware::request_context;
pub use openapi::document as openapi_document;
pub use routes::{HttpSettings, MetricsRenderer, configure, configure_metrics};
