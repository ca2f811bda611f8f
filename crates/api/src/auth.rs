//! The bearer-token rule every transport shares: the `authorization` header's value (HTTP
//! header or gRPC metadata) to a principal.

use rekey_application::Ports;
use rekey_application::usecase::authenticate;
use rekey_domain::{BearerToken, Principal};

use crate::status::{Code, Status};

/// The longest token rekey looks up; anything longer is malformed, not unknown.
const MAX_TOKEN_LEN: usize = 512;

/// Authenticates `authorization`, the raw value of the `authorization` header, if any.
///
/// # Errors
/// Code 16 for a missing header (`auth header missing`, as ZITADEL says), one that is not
/// `Bearer <token>`, or an unknown token; 14/13 when the token store cannot answer.
pub async fn authenticate<P: Ports>(
    ports: &P,
    authorization: Option<&[u8]>,
) -> Result<Principal, Status> {
    let Some(value) = authorization else {
        return Err(Status::with_id(
            Code::Unauthenticated,
            "AUTH-7fs1e",
            "auth header missing",
        ));
    };
    let token = bearer_token(value).ok_or_else(|| {
        Status::with_id(Code::Unauthenticated, "AUTH-Bq6ds", "invalid auth header")
    })?;
    authenticate::execute(ports, &BearerToken::new(token))
        .await
        .map_err(|error| match error {
            authenticate::Error::InvalidToken => {
                Status::with_id(Code::Unauthenticated, "AUTH-7fs1e", "Token is invalid")
            }
            authenticate::Error::Failure(failure) => Status::failure(failure),
        })
}

/// The token of `Bearer <token>` (the scheme in any case), if it is plain text of a sane length.
fn bearer_token(value: &[u8]) -> Option<&str> {
    let (scheme, token) = std::str::from_utf8(value).ok()?.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= MAX_TOKEN_LEN)
        .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_token_of_sane_length_is_read() {
        assert_eq!(bearer_token(b"Bearer abc"), Some("abc"));
        assert_eq!(bearer_token(b"bearer  abc "), Some("abc"));
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearer"), None);
        assert_eq!(bearer_token(b"Bearer  "), None);
        assert_eq!(bearer_token(b"Bearer \xff"), None);
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN + 1));
        assert_eq!(bearer_token(long.as_bytes()), None);
    }
}
