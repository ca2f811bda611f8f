//! The one error type of the HTTP layer and the two wire shapes it is written in.
//!
//! REST bodies follow grpc-gateway (`{code, message, details}`), Connect bodies follow the
//! Connect protocol (`{code: "not_found", message}`). A 5xx body never carries internal text:
//! the cause is logged once, here, and the body says only what failed and the request id.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use rekey_application::usecase::limits::Exhausted;
use serde_json::json;

use crate::middleware::current_request_id;

/// Which wire protocol a request came in on, and so which error shape it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// grpc-gateway style REST.
    Rest,
    /// Connect unary JSON.
    Connect,
}

/// gRPC status codes used by rekey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 3.
    InvalidArgument,
    /// 5.
    NotFound,
    /// 6.
    AlreadyExists,
    /// 7.
    PermissionDenied,
    /// 8.
    ResourceExhausted,
    /// 9.
    FailedPrecondition,
    /// 12.
    Unimplemented,
    /// 13.
    Internal,
    /// 14.
    Unavailable,
    /// 16.
    Unauthenticated,
}

impl Code {
    pub(crate) fn number(self) -> u8 {
        match self {
            Self::InvalidArgument => 3,
            Self::NotFound => 5,
            Self::AlreadyExists => 6,
            Self::PermissionDenied => 7,
            Self::ResourceExhausted => 8,
            Self::FailedPrecondition => 9,
            Self::Unimplemented => 12,
            Self::Internal => 13,
            Self::Unavailable => 14,
            Self::Unauthenticated => 16,
        }
    }

    /// The name in lower snake case, as Connect spells it (`not_found`).
    pub fn name(self) -> &'static str {
        self.connect_name()
    }

    fn connect_name(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::PermissionDenied => "permission_denied",
            Self::ResourceExhausted => "resource_exhausted",
            Self::FailedPrecondition => "failed_precondition",
            Self::Unimplemented => "unimplemented",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::Unauthenticated => "unauthenticated",
        }
    }

    pub(crate) fn status(self) -> StatusCode {
        match self {
            Self::InvalidArgument | Self::FailedPrecondition => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::AlreadyExists => StatusCode::CONFLICT,
            Self::PermissionDenied => StatusCode::FORBIDDEN,
            Self::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Self::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
        }
    }
}

/// An error answer: a gRPC code, an optional ZITADEL-style id, a message for the client, and
/// (for 5xx) a cause for the log only.
#[derive(Debug, Clone)]
pub struct ApiError {
    code: Code,
    id: Option<&'static str>,
    message: String,
    protocol: Protocol,
    status: Option<StatusCode>,
    cause: Option<String>,
    headers: Vec<(header::HeaderName, &'static str)>,
    retry_after: Option<i64>,
}

impl ApiError {
    /// An error with `code` and a client-facing `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            id: None,
            message: message.into(),
            protocol: Protocol::Rest,
            status: None,
            cause: None,
            headers: Vec::new(),
            retry_after: None,
        }
    }

    /// 429 code 8 for a spent budget, with `Retry-After`.
    pub fn exhausted(exhausted: &Exhausted) -> Self {
        Self {
            retry_after: Some(exhausted.retry_after_seconds()),
            ..Self::with_id(
                Code::ResourceExhausted,
                "REKEY-Limit",
                exhausted.to_string(),
            )
        }
    }

    /// An error with a ZITADEL-style id (`COMMAND-SAF4f`), rendered as `message (id)`.
    pub fn with_id(code: Code, id: &'static str, message: impl Into<String>) -> Self {
        Self {
            id: Some(id),
            ..Self::new(code, message)
        }
    }

    /// 400 code 3, for a field that failed validation.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }

    /// 500: `cause` goes to the log, never to the client.
    pub fn internal(cause: impl Into<String>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(Code::Internal, "Internal error")
        }
    }

    /// 503 with `Retry-After: 1`: `cause` goes to the log, never to the client.
    pub fn unavailable(cause: impl Into<String>) -> Self {
        Self {
            cause: Some(cause.into()),
            retry_after: Some(1),
            ..Self::new(Code::Unavailable, "Service temporarily unavailable")
        }
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
        self.status = Some(status);
        self
    }

    /// Adds a header to the answer (e.g. `Allow` on a 405).
    #[must_use]
    pub fn with_header(mut self, name: header::HeaderName, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The gRPC code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The ZITADEL-style error id, if it has one.
    pub fn id(&self) -> Option<&'static str> {
        self.id
    }

    fn full_message(&self) -> String {
        let mut message = self.message.clone();
        if let Some(id) = self.id {
            message = format!("{message} ({id})");
        }
        if self.status_code().is_server_error()
            && let Some(request_id) = current_request_id()
        {
            message = format!("{message} (request id {request_id})");
        }
        message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.full_message())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status.unwrap_or_else(|| self.code.status())
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            // The one place a failure is logged; the cause never reaches the body.
            let cause = self.cause.as_deref().unwrap_or("");
            tracing::error!(code = self.code.number(), %status, cause, "request failed");
        } else {
            tracing::debug!(code = self.code.number(), %status, id = self.id, "request refused");
        }
        let message = self.full_message();
        let body = match self.protocol {
            Protocol::Rest => {
                let mut body = json!({ "code": self.code.number(), "message": message });
                if let Some(id) = self.id {
                    body["details"] = json!([{
                        "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
                        "id": id,
                        "message": self.message,
                    }]);
                }
                body
            }
            Protocol::Connect => json!({ "code": self.code.connect_name(), "message": message }),
        };
        let mut response = HttpResponse::build(status);
        for (name, value) in &self.headers {
            response.insert_header((name.clone(), HeaderValue::from_static(value)));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.code == Code::Unauthenticated {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"rekey\""),
            ));
        }
        response.json(body)
    }
}
