//! ZITADEL's gRPC services over native gRPC (HTTP/2, h2c with prior knowledge) and gRPC-Web
//! (HTTP/1.1), on tonic.
//!
//! The services (`services`) hold no business rule: each method authenticates the caller from
//! `authorization: Bearer …`, calls the transport-neutral middle (`rekey-api`) and writes its
//! error as ZITADEL does ([`status`]). Around them: health (`grpc.health.v1`), server
//! reflection (v1 and v1alpha), the per-call context ([`context`]: request id, access log,
//! metrics), gRPC-Web translation and, for browsers, CORS.

pub mod context;
mod services;
pub mod status;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use rekey_application::Ports;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Settings of the gRPC listener.
#[derive(Debug, Clone)]
pub struct GrpcSettings {
    /// Largest accepted request message, in bytes (after decompression).
    pub body_limit: usize,
    /// The longest a call may take; beyond it the call is dropped and answered Cancelled
    /// (code 1, as tonic answers it).
    pub call_timeout: Duration,
    /// After the shutdown signal, in-flight calls may take this long to finish.
    pub shutdown_timeout: Duration,
    /// Browser origins allowed to call over gRPC-Web (`https://app.example.com`); empty: no
    /// CORS headers at all (browsers on other origins are refused by the browser itself).
    pub web_origins: Vec<String>,
}

/// The services' full names, for health.
const SERVICES: &[&str] = &[
    "zitadel.user.v2.UserService",
    "zitadel.org.v2.OrganizationService",
    "zitadel.session.v2.SessionService",
    "zitadel.settings.v2.SettingsService",
    "zitadel.user.v2beta.UserService",
];

/// Request headers a gRPC-Web client may send across origins.
const CORS_ALLOW: &[&str] = &[
    "authorization",
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "x-request-id",
];
/// Response headers a gRPC-Web client on another origin may read.
const CORS_EXPOSE: &[&str] = &[
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "x-request-id",
    "retry-after",
];

fn names(names: &[&'static str]) -> Vec<HeaderName> {
    names
        .iter()
        .map(|name| HeaderName::from_static(name))
        .collect()
}

/// The CORS layer for `origins`; `None` when there are none.
///
/// # Errors
/// A message naming an origin that is not a valid header value.
pub fn cors(origins: &[String]) -> Result<Option<CorsLayer>, String> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|origin| {
            HeaderValue::from_str(origin.trim_end_matches('/'))
                .map_err(|_| format!("gRPC-Web origin {origin:?} is not a valid origin"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([http::Method::POST])
            .allow_headers(names(CORS_ALLOW))
            .expose_headers(names(CORS_EXPOSE))
            .max_age(Duration::from_secs(600)),
    ))
}

/// Serves every service on `listener` until `shutdown` completes; then stops accepting, lets
/// in-flight calls finish within `settings.shutdown_timeout`, and returns.
///
/// # Errors
/// A message when the settings are invalid or the server fails.
pub async fn serve<P: Ports>(
    listener: tokio::net::TcpListener,
    ports: Arc<P>,
    settings: GrpcSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), String> {
    let cors = cors(&settings.web_origins)?;
    let (health, health_service) = tonic_health::server::health_reporter();
    for service in SERVICES {
        health
            .set_service_status(*service, ServingStatus::Serving)
            .await;
    }
    let reflection = |builder: tonic_reflection::server::Builder<'static>| {
        builder
            .register_encoded_file_descriptor_set(rekey_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection(tonic_reflection::server::Builder::configure())
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| format!("gRPC reflection: {e}"))?;
    let reflection_v1alpha = reflection(tonic_reflection::server::Builder::configure())
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| format!("gRPC reflection: {e}"))?;

    let limit = settings.body_limit;
    let mut builder = Server::builder()
        .accept_http1(true)
        .timeout(settings.call_timeout)
        .max_concurrent_streams(128)
        .http2_max_header_list_size(16 * 1024)
        .layer(context::CallContextLayer)
        .layer(tower::util::option_layer(cors))
        .layer(tonic_web::GrpcWebLayer::new());
    let router = builder
        .add_service(health_service.max_decoding_message_size(limit))
        .add_service(reflection_v1.max_decoding_message_size(limit))
        .add_service(reflection_v1alpha.max_decoding_message_size(limit));
    let router = services::add(router, &ports, limit);

    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let (stopping, mut stopped) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        // Health answers NOT_SERVING on the connections that stay open while they drain.
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        for service in SERVICES {
            health
                .set_service_status(*service, ServingStatus::NotServing)
                .await;
        }
        stopping.send_replace(true);
    };
    let drain_window = async move {
        // Never ends unless the signal came; then ends after the shutdown window.
        if stopped.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(settings.shutdown_timeout).await;
    };
    tokio::select! {
        served = router.serve_with_incoming_shutdown(incoming, signal) => {
            served.map_err(|e| format!("gRPC server: {e}"))
        }
        () = drain_window => {
            tracing::warn!("gRPC calls still running after server.shutdown_timeout were cut off");
            Ok(())
        }
    }
}
