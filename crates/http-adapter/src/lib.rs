//! ZITADEL-compatible HTTP endpoints on actix-web: every RPC of docs/API.md on its REST path
//! (grpc-gateway style) and its Connect path (JSON or binary), both error shapes, request ids,
//! the reset page and the health endpoints.
//!
//! Handlers are generic over `rekey_application::Ports`: they read and decode, call one RPC of
//! `rekey-api` (which holds the field rules, the error mapping and the messages), and encode.
//! No business rule lives here.

mod auth;
mod body;
mod catalog;
mod error;
mod middleware;
mod openapi;
mod page;
mod routes;

pub use error::{ApiError, Code, Protocol};
pub use middleware::request_context;
pub use openapi::document as openapi_document;
pub use routes::{HttpSettings, MetricsRenderer, configure, configure_metrics};
