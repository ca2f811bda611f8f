//! A refusal as HTTP answers it: rekey-api's [`Status`] framed in one of two JSON shapes.
//!
//! REST bodies follow grpc-gateway (`{code, message, details}`), Connect bodies follow the
//! Connect protocol (`{code: "not_found", message, details}`), whatever the request's format. A
//! 5xx body never carries internal text: the cause is logged once, here, and the body says only
//! what failed and the request id.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
pub use rekey_api::Code;
use rekey_api::Status;

use crate::middleware::current_request_id;

/// Which wire protocol a request came in on, and so which error shape it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// grpc-gateway style REST.
    Rest,
    /// Connect unary, JSON or binary.
    Connect,
}

/// An error answer: the transport-neutral status, the protocol whose shape it is written in,
/// and what HTTP adds (a status other than the code's, headers such as `Allow`).
#[derive(Debug, Clone)]
pub struct ApiError {
    status: Status,
    protocol: Protocol,
    http_status: Option<StatusCode>,
    headers: Vec<(header::HeaderName, &'static str)>,
}

impl From<Status> for ApiError {
    fn from(status: Status) -> Self {
        Self {
            status,
            protocol: Protocol::Rest,
            http_status: None,
            headers: Vec::new(),
        }
    }
}

impl ApiError {
    /// An error with `code` and a client-facing `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Status::new(code, message).into()
    }

    /// 400 code 3, for a field that failed validation.
    pub fn invalid(message: impl Into<String>) -> Self {
        Status::invalid(message).into()
    }

    /// The same error, to be written in `protocol`'s shape.
    #[must_use]
    pub fn in_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Overrides the HTTP status (e.g. 405, 413, 415) while keeping the gRPC code.
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.http_status = Some(status);
        self
    }

    /// Adds a header to the answer (e.g. `Allow` on a 405).
    #[must_use]
    pub fn with_header(mut self, name: header::HeaderName, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The transport-neutral status.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// `"<text> (<ID>)"`, and for a 5xx the request id, so an operator can find the log line.
    fn full_message(&self) -> String {
        let message = self.status.full_message();
        match current_request_id() {
            Some(request_id) if self.status_code().is_server_error() => {
                format!("{message} (request id {request_id})")
            }
            _ => message,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.full_message())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.http_status.unwrap_or_else(|| {
            StatusCode::from_u16(self.status.code().http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        })
    }

    fn error_response(&self) -> HttpResponse {
        let http_status = self.status_code();
        let code = self.status.code().number();
        if http_status.is_server_error() {
            // The one place a failure is logged; the cause never reaches the body.
            let cause = self.status.cause().unwrap_or("");
            tracing::error!(code, status = %http_status, cause, "request failed");
        } else {
            tracing::debug!(code, status = %http_status, id = self.status.id(), "request refused");
        }
        let message = self.full_message();
        let body = match self.protocol {
            Protocol::Rest => self.status.rest_body(&message),
            Protocol::Connect => self.status.connect_body(&message),
        };
        let mut response = HttpResponse::build(http_status);
        for (name, value) in &self.headers {
            response.insert_header((name.clone(), HeaderValue::from_static(value)));
        }
        if let Some(seconds) = self.status.retry_after() {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.status.code() == Code::Unauthenticated {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"rekey\""),
            ));
        }
        response.json(body)
    }
}
