//! `Authorization: Bearer <token>` to a principal, by rekey-api's rule.

use actix_web::HttpRequest;
use actix_web::http::header;
use rekey_application::Ports;
use rekey_domain::Principal;

use crate::error::ApiError;

/// Authenticates the request's bearer token.
///
/// # Errors
/// 401 code 16 (with `WWW-Authenticate`) for a missing, malformed or unknown token; 503 when
/// the token store cannot answer.
pub(crate) async fn principal<P: Ports>(
    ports: &P,
    req: &HttpRequest,
) -> Result<Principal, ApiError> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    Ok(rekey_api::authenticate(ports, authorization).await?)
}
