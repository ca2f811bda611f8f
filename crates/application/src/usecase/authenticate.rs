//! Authentication: a bearer token to the principal it stands for.

use rekey_domain::{BearerToken, Principal};

use crate::Failure;
use crate::ports::{Clock, Ports, TokenMinter, TokenStore};

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Unknown, expired or revoked token, or its owner cannot act.
    #[error("invalid token")]
    InvalidToken,
    /// Infrastructure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Resolves `token` to its principal.
///
/// # Errors
/// [`Error::InvalidToken`], or [`Error::Failure`] when the store cannot answer.
pub async fn execute<P: Ports>(ports: &P, token: &BearerToken) -> Result<Principal, Error> {
    let hash = ports.minter().fingerprint(token);
    ports
        .tokens()
        .principal(&hash, ports.clock().now())
        .await?
        .ok_or(Error::InvalidToken)
}
