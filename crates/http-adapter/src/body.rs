//! Reading a request body within the size limit and the time limit. What the bytes mean
//! (proto3 JSON, protobuf, a form) is for the caller.

use actix_web::http::StatusCode;
use actix_web::web::{Bytes, BytesMut, Payload};
use futures_util::StreamExt as _;

use crate::error::{ApiError, Code};

/// Reads a request body of at most `limit` bytes.
///
/// # Errors
/// 413 (code 3) past the limit; 400 when the body cannot be read.
pub(crate) async fn read_body(
    payload: Payload,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Bytes, ApiError> {
    tokio::time::timeout(timeout, read_all(payload, limit))
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::invalid(format!(
                "request body not received within {} s",
                timeout.as_secs_f64()
            ))
            .with_status(StatusCode::REQUEST_TIMEOUT))
        })
}

async fn read_all(mut payload: Payload, limit: usize) -> Result<Bytes, ApiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::invalid(format!("request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::new(
                Code::InvalidArgument,
                format!("request body exceeds {limit} bytes"),
            )
            .with_status(StatusCode::PAYLOAD_TOO_LARGE));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
