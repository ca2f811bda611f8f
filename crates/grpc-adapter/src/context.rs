//! Per-call context, the gRPC twin of the HTTP adapter's `request_context`: an id for every
//! call (echoed as `x-request-id`), a tracing span carrying it, one access-log line and the
//! request metrics. It also writes the answer's `grpc-message` as ZITADEL does (tonic escapes
//! spaces; connect-go does not) and echoes the request's spelling of the content type
//! (`application/grpc+proto`, as connect-es sends it), and marks successful answers
//! `cache-control: no-store` as ZITADEL does.
//!
//! Never logged: the message bodies and any header but the id (the token is in `authorization`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue, PRAGMA};
use http::{Request, Response};
use percent_encoding::percent_decode;
use tracing::Instrument as _;

use crate::status::encode_message;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The call's request id, in the request's extensions for the services (a failure's message
/// names it).
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);
const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");

/// The method paths served: the `route` label of the metrics (anything else is `unmatched`, so
/// a scanner cannot grow the label set).
pub const METHODS: &[&str] = &[
    "/zitadel.user.v2.UserService/PasswordReset",
    "/zitadel.user.v2.UserService/SetPassword",
    "/zitadel.user.v2.UserService/AddHumanUser",
    "/zitadel.user.v2.UserService/GetUserByID",
    "/zitadel.org.v2.OrganizationService/AddOrganization",
    "/zitadel.user.v2beta.UserService/PasswordReset",
    "/zitadel.user.v2beta.UserService/SetPassword",
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The call's request id, by rekey-api's rule (the HTTP adapter's too).
fn request_id(headers: &http::HeaderMap) -> String {
    rekey_api::request_id(headers.get(&X_REQUEST_ID).map(|v| v.as_bytes()))
}

fn route(path: &str) -> &'static str {
    METHODS
        .iter()
        .find(|method| **method == path)
        .copied()
        .unwrap_or("unmatched")
}

/// `grpc-web` for the gRPC-Web content types, else `grpc`.
fn protocol(headers: &http::HeaderMap) -> &'static str {
    let grpc_web = headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc-web"));
    if grpc_web { "grpc-web" } else { "grpc" }
}

/// The status label: the gRPC code of an answer that has one in its head (an error: tonic
/// sends those trailers-only), `0` for a gRPC answer whose status follows in the trailers
/// (unary success), and the HTTP status for anything else (a CORS preflight, a refused
/// HTTP/1.1 request that is not gRPC-Web).
fn status_label<B>(response: &Response<B>) -> String {
    if let Some(status) = response.extensions().get::<tonic::Status>() {
        return (status.code() as i32).to_string();
    }
    if let Some(code) = response
        .headers()
        .get(&GRPC_STATUS)
        .and_then(|v| v.to_str().ok())
    {
        return code.to_owned();
    }
    let grpc = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    if grpc {
        "0".to_owned()
    } else {
        response.status().as_u16().to_string()
    }
}

/// The protobuf content types of gRPC and gRPC-Web, as a client may spell them.
const PROTO_TYPES: &[&str] = &[
    "application/grpc",
    "application/grpc+proto",
    "application/grpc-web",
    "application/grpc-web+proto",
    "application/grpc-web-text",
    "application/grpc-web-text+proto",
];

/// The request's content type, when the answer has the same one in the other spelling
/// (`application/grpc` for `application/grpc+proto`): connect-go echoes the request's.
fn echoed_type(
    request: Option<HeaderValue>,
    response: Option<&HeaderValue>,
) -> Option<HeaderValue> {
    let request = request?;
    let asked = request.to_str().ok()?;
    let answered = response?.to_str().ok()?;
    let same = PROTO_TYPES.contains(&asked)
        && asked != answered
        && asked.trim_end_matches("+proto") == answered.trim_end_matches("+proto");
    same.then_some(request)
}

/// Rewrites tonic's `grpc-message` (which escapes spaces and more) in ZITADEL's encoding.
fn reencode_message(headers: &mut http::HeaderMap) {
    let Some(sent) = headers.get(&GRPC_MESSAGE) else {
        return;
    };
    let text: Vec<u8> = percent_decode(sent.as_bytes()).collect();
    if let Ok(value) = HeaderValue::from_str(&encode_message(&text)) {
        headers.insert(GRPC_MESSAGE, value);
    }
}

/// The layer: see the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallContextLayer;

impl<S> tower::Layer<S> for CallContextLayer {
    type Service = CallContext<S>;
    fn layer(&self, inner: S) -> Self::Service {
        CallContext { inner }
    }
}

/// The service of [`CallContextLayer`].
#[derive(Debug, Clone)]
pub struct CallContext<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for CallContext<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone that was not polled ready stays here; the ready one serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let id = request_id(request.headers());
        request.extensions_mut().insert(RequestId(id.clone()));
        let route = route(request.uri().path());
        let protocol = protocol(request.headers());
        let request_type = request.headers().get(CONTENT_TYPE).cloned();
        let span = tracing::info_span!("call", request.id = %id, %route, %protocol);
        if let Some(traceparent) = request.headers().get("traceparent") {
            rekey_api::trace::adopt(&span, traceparent.to_str().unwrap_or_default());
        }
        let started = Instant::now();
        Box::pin(
            async move {
                let mut response = inner.call(request).await?;
                let elapsed = started.elapsed();
                let headers = response.headers_mut();
                if let Ok(value) = HeaderValue::from_str(&id) {
                    headers.insert(X_REQUEST_ID, value);
                }
                reencode_message(headers);
                if let Some(echo) = echoed_type(request_type, headers.get(CONTENT_TYPE)) {
                    headers.insert(CONTENT_TYPE, echo);
                }
                let status = status_label(&response);
                if status == "0" {
                    // As ZITADEL, on success only: answers may hold a reset code.
                    let headers = response.headers_mut();
                    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
                }
                tracing::info!(%status, latency_ms = elapsed.as_secs_f64() * 1e3, "call");
                rekey_api::count_request(route, protocol, status, elapsed);
                Ok(response)
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::{Layer as _, Service as _, ServiceExt as _};

    use super::*;

    #[derive(Clone)]
    struct Answer(tonic::Status);

    impl tower::Service<Request<()>> for Answer {
        type Response = Response<()>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Response<()>, Infallible>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: Request<()>) -> Self::Future {
            std::future::ready(Ok(self.0.clone().into_http()))
        }
    }

    async fn call(status: tonic::Status, headers: &[(&str, &str)]) -> Response<()> {
        let mut service = CallContextLayer.layer(Answer(status));
        let mut request = Request::builder().uri("/zitadel.user.v2.UserService/PasswordReset");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(()).expect("request");
        service
            .ready()
            .await
            .expect("ready")
            .call(request)
            .await
            .expect("answer")
    }

    #[tokio::test]
    async fn grpc_message_keeps_spaces_and_parentheses_literal() {
        let status = tonic::Status::not_found("User could not be found (COMMAND-SAF4f)");
        let response = call(status, &[]).await;
        assert_eq!(
            response.headers().get("grpc-message").expect("message"),
            "User could not be found (COMMAND-SAF4f)"
        );
        assert_eq!(status_label(&response), "5");
    }

    #[tokio::test]
    async fn grpc_message_escapes_percent_controls_and_non_ascii() {
        let status = tonic::Status::invalid_argument("100% für\n{x}");
        let response = call(status, &[]).await;
        assert_eq!(
            response.headers().get("grpc-message").expect("message"),
            "100%25 f%C3%BCr%0A{x}"
        );
    }

    #[tokio::test]
    async fn a_plain_request_id_is_echoed_and_anything_else_replaced() {
        let status = tonic::Status::ok("");
        let kept = call(status.clone(), &[("x-request-id", "abc-123")]).await;
        assert_eq!(kept.headers().get("x-request-id").expect("id"), "abc-123");
        let replaced = call(status, &[("x-request-id", "a b\"<script>")]).await;
        let fresh = replaced
            .headers()
            .get("x-request-id")
            .expect("id")
            .to_str()
            .expect("ascii");
        assert!(uuid::Uuid::parse_str(fresh).is_ok(), "{fresh}");
    }

    #[tokio::test]
    async fn only_success_is_marked_no_store() {
        let ok = call(tonic::Status::ok(""), &[]).await;
        assert_eq!(
            ok.headers().get(CACHE_CONTROL).expect("no-store"),
            "no-store"
        );
        assert_eq!(ok.headers().get(PRAGMA).expect("no-cache"), "no-cache");
        let refused = call(tonic::Status::not_found("x"), &[]).await;
        assert!(refused.headers().get(CACHE_CONTROL).is_none());
    }

    #[tokio::test]
    async fn grpc_proto_is_echoed() {
        let response = call(
            tonic::Status::not_found("x"),
            &[("content-type", "application/grpc+proto")],
        )
        .await;
        assert_eq!(
            response.headers().get(CONTENT_TYPE).expect("type"),
            "application/grpc+proto"
        );
    }

    #[test]
    fn the_request_spelling_of_the_content_type_is_echoed() {
        let echo = |asked: &'static str, answered: &'static str| {
            echoed_type(
                Some(HeaderValue::from_static(asked)),
                Some(&HeaderValue::from_static(answered)),
            )
        };
        assert_eq!(
            echo("application/grpc+proto", "application/grpc").as_ref(),
            Some(&HeaderValue::from_static("application/grpc+proto"))
        );
        assert_eq!(
            echo("application/grpc-web", "application/grpc-web+proto").as_ref(),
            Some(&HeaderValue::from_static("application/grpc-web"))
        );
        assert_eq!(echo("application/grpc", "application/grpc"), None);
        assert_eq!(echo("application/grpc+json", "application/grpc"), None);
        assert_eq!(echo("application/grpc-web+proto", "application/grpc"), None);
        assert_eq!(
            echoed_type(None, Some(&HeaderValue::from_static("application/grpc"))),
            None
        );
    }

    #[test]
    fn unknown_paths_are_one_route() {
        assert_eq!(
            route("/grpc.health.v1.Health/Check"),
            "/grpc.health.v1.Health/Check"
        );
        assert_eq!(route("/x.Y/Z"), "unmatched");
        let mut headers = http::HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/grpc-web+proto"),
        );
        assert_eq!(protocol(&headers), "grpc-web");
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        assert_eq!(protocol(&headers), "grpc");
    }
}
