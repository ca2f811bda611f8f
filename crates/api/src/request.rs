//! What every transport does for each request, whatever it carries: give it an id (the
//! caller's own `x-request-id` when it is short and plain, otherwise a fresh one; echoed back,
//! logged with the call, named in a failure's message), and count it.

use std::time::Duration;

use metrics::SharedString;

/// The id for a call whose `x-request-id` header (or metadata) is `given`.
#[must_use]
pub fn request_id(given: Option<&[u8]>) -> String {
    given
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
        })
        .and_then(|v| std::str::from_utf8(v).ok())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// `rekey_http_requests_total{route, protocol, status}` and
/// `rekey_http_request_duration_seconds{route, protocol}` for one answered request.
pub fn count_request(
    route: impl Into<SharedString>,
    protocol: &'static str,
    status: impl Into<SharedString>,
    elapsed: Duration,
) {
    let route = route.into();
    metrics::counter!(
        "rekey_http_requests_total",
        "route" => route.clone(),
        "protocol" => protocol,
        "status" => status.into(),
    )
    .increment(1);
    metrics::histogram!(
        "rekey_http_request_duration_seconds",
        "route" => route,
        "protocol" => protocol,
    )
    .record(elapsed.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_short_id_is_kept_and_anything_else_replaced() {
        assert_eq!(request_id(Some(b"abc-1_2.3")), "abc-1_2.3");
        for bad in [&b""[..], b"a b", b"a\nb", "ü".as_bytes(), &[b'a'; 65]] {
            let fresh = request_id(Some(bad));
            assert_ne!(fresh.as_bytes(), bad);
            assert_eq!(fresh.len(), 36, "a uuid: {fresh}");
        }
        assert_ne!(request_id(None), request_id(None));
    }
}
