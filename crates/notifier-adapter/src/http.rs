//! What the HTTP senders (Twilio, webhooks) share: the client and the classification of
//! failures into retryable and final.

use std::time::Duration;

use rekey_application::ports::SendError;
use reqwest::StatusCode;

/// An HTTP client with `timeout` for the whole request, and no redirects: a redirect is a
/// misconfiguration, and the request (credentials, signed payload) must not go elsewhere.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Whether a failed response status may succeed later: 408 (request timeout), 429 (too many
/// requests) and 5xx are retryable, any other status is final.
pub(crate) fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

/// Classifies a request that got no response; `who` names the provider ("twilio", "webhook").
/// The reason never holds the URL or a body: only the kind of error.
pub(crate) fn request_failure(who: &str, error: &reqwest::Error) -> SendError {
    let (retryable, kind) = if error.is_timeout() {
        (true, "timed out")
    } else if error.is_connect() {
        (true, "could not connect")
    } else if error.is_builder() {
        (false, "invalid request")
    } else if error.is_redirect() {
        (false, "redirect")
    } else if error.is_body() || error.is_decode() {
        (true, "body error")
    } else {
        (true, "request failed")
    };
    SendError {
        retryable,
        reason: format!("{who} request {kind}"),
    }
}

/// Cuts `text` to at most `max` characters, marking the cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(
                retryable_status(StatusCode::from_u16(status).unwrap_or_default()),
                "{status}"
            );
        }
        for status in [300, 301, 400, 401, 403, 404, 409, 422] {
            assert!(
                !retryable_status(StatusCode::from_u16(status).unwrap_or_default()),
                "{status}"
            );
        }
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "abc…");
        assert_eq!(truncate("äöüß", 2), "äö…");
    }
}
