//! `Authorization: Bearer <token>` to a principal.

use actix_web::HttpRequest;
use actix_web::http::header;
use rekey_application::Ports;
use rekey_application::usecase::authenticate;
use rekey_domain::{BearerToken, Principal};

use crate::error::{ApiError, Code};
use crate::rpc::failure;

/// Authenticates the request's bearer token.
///
/// # Errors
/// 401 code 16 (with `WWW-Authenticate`) for a missing, malformed or unknown token; 503 when
/// the token store cannot answer.
pub(crate) async fn principal<P: Ports>(
    ports: &P,
    req: &HttpRequest,
) -> Result<Principal, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::with_id(
            Code::Unauthenticated,
            "AUTH-7fs1e",
            "auth header missing",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty() && token.len() <= 512)
        .ok_or_else(|| {
            ApiError::with_id(Code::Unauthenticated, "AUTH-Bq6ds", "invalid auth header")
        })?;
    authenticate::execute(ports, &BearerToken::new(token))
        .await
        .map_err(|e| match e {
            authenticate::Error::InvalidToken => {
                ApiError::with_id(Code::Unauthenticated, "AUTH-7fs1e", "Token is invalid")
            }
            authenticate::Error::Failure(f) => failure(f),
        })
}
