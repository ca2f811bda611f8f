//! The gRPC services: ZITADEL's user (v2, v2beta) and organization (v2) services.

use std::sync::Arc;

use rekey_application::Ports;

/// Adds every service to `router`, each accepting messages up to `limit` bytes.
pub(crate) fn add<P: Ports, L>(
    router: tonic::transport::server::Router<L>,
    _ports: &Arc<P>,
    _limit: usize,
) -> tonic::transport::server::Router<L> {
    router
}
