//! Traces: spans exported over OTLP/HTTP (protobuf) to `otel.endpoint`, and the W3C trace
//! context a queued message carries from the request that queued it to its delivery.
//!
//! The spans are `tracing`'s, bridged by `tracing-opentelemetry`: the request (HTTP or gRPC,
//! a child of the caller's `traceparent`), the use case, each database call and each delivery
//! attempt. Only spans are exported, never log events, and only rekey's own: their names and
//! fields are ids, routes and outcomes, never a code, password, token or address.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::settings::OtelSettings;

/// The exporter's HTTP client: rekey's reqwest, each export run on rekey's runtime.
///
/// The SDK's batch processor exports from a thread of its own, which has no tokio runtime;
/// reqwest needs one, so the export is spawned onto rekey's and awaited from there.
#[derive(Debug, Clone)]
struct OnRuntime {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OnRuntime {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move {
                let response = client.execute(request.try_into()?).await?;
                let mut answer = http::Response::builder().status(response.status());
                if let Some(headers) = answer.headers_mut() {
                    headers.extend(response.headers().clone());
                }
                Ok(answer.body(response.bytes().await?)?)
            })
            .await?
    }
}

/// The exporting tracer provider, or `None` when `otel.endpoint` is empty.
///
/// # Errors
/// A message when the exporter cannot be built.
pub fn provider(
    settings: &OtelSettings,
    runtime: tokio::runtime::Handle,
) -> Result<Option<SdkTracerProvider>, String> {
    if settings.endpoint.is_empty() {
        return Ok(None);
    }
    let client = reqwest::Client::builder()
        .timeout(settings.timeout)
        .build()
        .map_err(|e| format!("otel: building the HTTP client: {e}"))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(&settings.endpoint)
        .with_timeout(settings.timeout)
        .with_http_client(OnRuntime { client, runtime })
        .build()
        .map_err(|e| format!("otel.endpoint {:?}: {e}", settings.endpoint))?;
    let resource = Resource::builder().with_service_name("rekey").build();
    Ok(Some(
        SdkTracerProvider::builder()
            .with_resource(resource)
            .with_batch_exporter(exporter)
            .build(),
    ))
}

/// The layer that hands rekey's spans (all levels, no events) to `provider`.
pub fn layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::Layer as _;
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("rekey"))
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            meta.is_span() && meta.target().starts_with("rekey")
        }))
}

/// Flushes the spans still queued and stops the exporter.
pub fn shutdown(provider: &SdkTracerProvider) {
    if let Err(error) = provider.shutdown_with_timeout(Duration::from_secs(5)) {
        eprintln!("rekey: flushing traces: {error}");
    }
}
