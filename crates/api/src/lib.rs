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
mod request;
pub mod rpc;
mod status;
pub mod trace;

pub use auth::authenticate;
pub use request::{count_request, request_id};
pub use rpc::{Rpc, count_outcome, transcode};
pub use status::{Code, Status};

/// The RPCs' futures are `Send`, so a multi-threaded server (tonic) runs them as they are. This
/// fails to compile when a use case holds something across an `await` that rustc cannot prove
/// `Send` (an async closure borrowing its captures is the usual culprit: rust-lang/rust#110338).
#[cfg(test)]
#[allow(dead_code, clippy::extra_unused_type_parameters)]
fn the_rpcs_futures_are_send<P: rekey_application::Ports + 'static>(
    ports: &'static P,
    caller: &'static rekey_domain::Principal,
) {
    fn is_send<F: Future + Send>(_: F) {}
    is_send(rpc::password_reset(ports, caller, Default::default()));
    is_send(rpc::set_password(ports, caller, Default::default()));
    is_send(rpc::get_user_by_id(ports, caller, Default::default()));
    is_send(rpc::add_human_user(ports, caller, Default::default()));
    is_send(rpc::add_organization(ports, caller, Default::default()));
    is_send(authenticate(ports, None));
}
