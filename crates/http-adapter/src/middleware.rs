//! Request context: an id for every request (echoed as `x-request-id`) and one access-log line.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

tokio::task_local! {
    static REQUEST_ID: String;
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being handled, inside [`request_context`].
pub(crate) fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The request's id, by rekey-api's rule (the gRPC adapter's too).
fn request_id(req: &ServiceRequest) -> String {
    rekey_api::request_id(req.headers().get(&X_REQUEST_ID).map(|v| v.as_bytes()))
}

/// Middleware: gives the request an id, runs it in a tracing span that carries the id (a child
/// of the caller's span when a W3C `traceparent` header names one), sets
/// `x-request-id` on the response and logs method, route, status and latency. The query string
/// is never logged (reset links carry codes in it).
///
/// # Errors
/// Passes on the inner service's error.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id(&req);
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!("request", request.id = %id, %method, %route);
    if let Some(traceparent) = req.headers().get("traceparent") {
        rekey_api::trace::adopt(&span, traceparent.to_str().unwrap_or_default());
    }
    let mut response = REQUEST_ID
        .scope(id.clone(), next.call(req).instrument(span.clone()))
        .await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(status, latency_ms = elapsed.as_secs_f64() * 1e3, "request");
    });
    let protocol = protocol_of(&route);
    rekey_api::count_request(route, protocol, status.to_string(), elapsed);
    Ok(response)
}

/// The protocol label of a route pattern: `rest`, `connect`, `page` or `other`.
fn protocol_of(route: &str) -> &'static str {
    if route.starts_with("/v2/") || route.starts_with("/v2beta/") {
        "rest"
    } else if route.starts_with("/zitadel.") {
        "connect"
    } else if route.starts_with("/ui/") {
        "page"
    } else {
        "other"
    }
}
