//! Delivery by webhook: a signed JSON POST in the shape of ZITADEL's HTTP notification provider,
//! for email and SMS alike.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rekey_application::ports::{Clock, EmailMessage, SendError, SmsMessage};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::http::{client, request_failure, retryable_status};

/// The event type in `contextInfo.eventType`: ZITADEL's event for a new password code.
pub const EVENT_TYPE: &str = "user.human.password.code.added";

/// The header with rekey's signature.
pub const SIGNATURE_HEADER: &str = "X-Rekey-Signature";

/// The same signature under the name ZITADEL's signing uses, so receivers written for
/// ZITADEL (and its SDK's payload validation) work unchanged.
pub const ZITADEL_SIGNATURE_HEADER: &str = "ZITADEL-Signature";

/// Settings of a [`WebhookSender`].
#[derive(Clone)]
pub struct WebhookSettings {
    /// Where the JSON is POSTed.
    pub url: String,
    /// The HMAC-SHA-256 key the payload is signed with (not empty).
    pub signing_key: Vec<u8>,
    /// Timeout for the whole request.
    pub timeout: Duration,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &"<redacted>")
            .field("signing_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Delivers messages as a signed JSON `POST`, the body ZITADEL's HTTP email and SMS providers
/// send:
///
/// ```json
/// { "contextInfo": { "eventType": "user.human.password.code.added",
///                    "recipientEmailAddress": "ada@example.com",   // SMS: "recipientPhoneNumber"
///                    "messageId": "…" },
///   "templateData": { "title": "…", "preHeader": "…", "subject": "…", "greeting": "…",
///                     "text": "…", "buttonText": "…", "url": "…" }, // SMS: { "text": body }
///   "args": { "code": "…", "displayName": "…", "userName": "…" } }  // email only
/// ```
///
/// `templateData` takes the message's `template_data` pairs; pairs named `args.{name}` go to
/// `args` instead. `messageId` is rekey's addition: the same id for each retry of a message, so
/// a receiver can drop duplicates.
///
/// The request carries `X-Rekey-Signature` and `ZITADEL-Signature`, both
/// `t={unix seconds},v1={hex HMAC-SHA-256(signing_key, "{t}.{body}")}` (ZITADEL's scheme). A
/// 2xx response is success; 408, 429, 5xx, timeouts and connection errors are retryable, any
/// other status is final. Redirects are not followed. The reason holds the status only, never
/// the response body (a receiver might echo the payload).
pub struct WebhookSender {
    client: reqwest::Client,
    url: String,
    signing_key: Vec<u8>,
    clock: Arc<dyn Clock>,
}

impl WebhookSender {
    /// A sender for `settings`; `clock` gives the signature's timestamp.
    ///
    /// # Errors
    /// When the URL is not an `http`/`https` URL, the key is empty, or the HTTP client cannot
    /// be built.
    pub fn new(settings: WebhookSettings, clock: Arc<dyn Clock>) -> Result<Self, String> {
        let url = reqwest::Url::parse(&settings.url).map_err(|e| format!("webhook url: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("webhook url: scheme must be http or https".to_owned());
        }
        if settings.signing_key.is_empty() {
            return Err("webhook signing key must not be empty".to_owned());
        }
        Ok(Self {
            client: client(settings.timeout)?,
            url: settings.url,
            signing_key: settings.signing_key,
            clock,
        })
    }

    /// Delivers an email's data.
    ///
    /// # Errors
    /// [`SendError`], classified as described on [`WebhookSender`].
    pub async fn send_email(&self, message: &EmailMessage) -> Result<(), SendError> {
        let body = email_payload(message);
        self.post(&body).await
    }

    /// Delivers an SMS.
    ///
    /// # Errors
    /// [`SendError`], classified as described on [`WebhookSender`].
    pub async fn send_sms(&self, message: &SmsMessage) -> Result<(), SendError> {
        let body = sms_payload(message);
        self.post(&body).await
    }

    async fn post(&self, payload: &Value) -> Result<(), SendError> {
        self.post_body(payload.to_string()).await
    }

    /// POSTs `body` (JSON), signed.
    pub(crate) async fn post_body(&self, body: String) -> Result<(), SendError> {
        let signature = signature_header(&self.signing_key, self.clock.now().timestamp(), &body);
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .header(ZITADEL_SIGNATURE_HEADER, &signature)
            .body(body)
            .send()
            .await
            .map_err(|e| request_failure("webhook", &e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError {
                retryable: retryable_status(status),
                reason: format!("webhook {}", status.as_u16()),
            })
        }
    }
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSender").finish_non_exhaustive()
    }
}

impl rekey_application::ports::EmailSender for WebhookSender {
    async fn send(&self, message: &EmailMessage) -> Result<(), SendError> {
        self.send_email(message).await
    }
}

impl rekey_application::ports::SmsSender for WebhookSender {
    async fn send(&self, message: &SmsMessage) -> Result<(), SendError> {
        self.send_sms(message).await
    }
}

/// The JSON body for an email.
fn email_payload(message: &EmailMessage) -> Value {
    let mut template_data = Map::new();
    let mut args = Map::new();
    for (key, value) in &message.template_data {
        match key.strip_prefix("args.") {
            Some(arg) => args.insert(arg.to_owned(), Value::from(value.as_str())),
            None => template_data.insert(key.clone(), Value::from(value.as_str())),
        };
    }
    let mut payload = json!({
        "contextInfo": {
            "eventType": EVENT_TYPE,
            "recipientEmailAddress": message.to,
            "messageId": message.message_id,
        },
        "templateData": template_data,
    });
    if !args.is_empty() {
        payload["args"] = Value::Object(args);
    }
    payload
}

/// The JSON body for an SMS.
fn sms_payload(message: &SmsMessage) -> Value {
    json!({
        "contextInfo": {
            "eventType": EVENT_TYPE,
            "recipientPhoneNumber": message.to,
            "messageId": message.message_id,
        },
        "templateData": { "text": message.body },
    })
}

/// `t={now},v1={hex HMAC-SHA-256(key, "{now}.{body}")}`.
pub(crate) fn signature_header(key: &[u8], now_unix: i64, body: &str) -> String {
    let t = now_unix.to_string();
    match hmac_sha256_hex(key, &[t.as_bytes(), b".", body.as_bytes()]) {
        Some(signature) => format!("t={t},v1={signature}"),
        None => format!("t={t}"),
    }
}

/// The hex HMAC-SHA-256 of the concatenated `parts`. HMAC takes keys of any length, so this is
/// `None` never in practice.
fn hmac_sha256_hex(key: &[u8], parts: &[&[u8]]) -> Option<String> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    for part in parts {
        mac.update(part);
    }
    Some(hex(&mac.finalize().into_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_encodes() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }

    #[test]
    fn hmac_matches_a_known_vector() {
        let expected = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";
        let fox: &[u8] = b"The quick brown fox jumps over the lazy dog";
        assert_eq!(hmac_sha256_hex(b"key", &[fox]).as_deref(), Some(expected));
        assert_eq!(
            hmac_sha256_hex(b"key", &[&fox[..10], &fox[10..]]).as_deref(),
            Some(expected)
        );
    }

    #[test]
    fn signature_signs_time_and_body() {
        let header = signature_header(b"key", 1_700_000_000, "{}");
        let expected = hmac_sha256_hex(b"key", &[b"1700000000.{}"]).unwrap_or_default();
        assert_eq!(header, format!("t=1700000000,v1={expected}"));
    }

    #[test]
    fn settings_debug_hides_secrets() {
        let settings = WebhookSettings {
            url: "https://hooks.example.com/?token=abc".into(),
            signing_key: b"k3y".to_vec(),
            timeout: Duration::from_secs(1),
        };
        let debug = format!("{settings:?}");
        assert!(!debug.contains("abc") && !debug.contains("k3y"), "{debug}");
    }

    #[derive(Debug)]
    struct Epoch;

    impl Clock for Epoch {
        fn now(&self) -> chrono::DateTime<chrono::Utc> {
            chrono::DateTime::UNIX_EPOCH
        }
    }

    #[test]
    fn new_checks_url_and_key() {
        let settings = |url: &str, key: &[u8]| WebhookSettings {
            url: url.to_owned(),
            signing_key: key.to_vec(),
            timeout: Duration::from_secs(1),
        };
        assert!(
            WebhookSender::new(settings("https://example.com/hook", b"k"), Arc::new(Epoch)).is_ok()
        );
        assert!(
            WebhookSender::new(settings("https://example.com/hook", b""), Arc::new(Epoch)).is_err()
        );
        assert!(
            WebhookSender::new(settings("ftp://example.com/hook", b"k"), Arc::new(Epoch)).is_err()
        );
        assert!(WebhookSender::new(settings("not a url", b"k"), Arc::new(Epoch)).is_err());
    }
}
