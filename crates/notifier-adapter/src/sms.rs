//! SMS delivery: [`SmsTransport`] and its senders, a JSON-lines file ([`FileSms`]), Twilio's
//! Messages API ([`TwilioSms`]) and a webhook ([`WebhookSender`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rekey_application::ports::{SendError, SmsMessage, SmsSender};
use serde::Deserialize;

use crate::http::{client, request_failure, retryable_status, truncate};
use crate::webhook::WebhookSender;

/// The configured SMS sender: one of the delivery channels, chosen at start-up.
///
/// An enum rather than a trait object, because the port's `async fn` is not dyn-compatible.
#[derive(Debug)]
pub enum SmsTransport {
    /// A JSON-lines file (development, tests).
    File(FileSms),
    /// Twilio's Messages API.
    Twilio(TwilioSms),
    /// A JSON webhook (ZITADEL's HTTP SMS provider shape).
    Webhook(WebhookSender),
}

impl SmsSender for SmsTransport {
    async fn send(&self, message: &SmsMessage) -> Result<(), SendError> {
        match self {
            Self::File(sms) => sms.send(message).await,
            Self::Twilio(sms) => sms.send(message).await,
            Self::Webhook(webhook) => webhook.send_sms(message).await,
        }
    }
}

/// Appends each SMS as one JSON line `{"id": …, "to": …, "body": …}` to a file, for
/// development and tests (e.g. `{data_dir}/sms.jsonl`).
///
/// The file (and its directory) is created when missing. Each line is one `write` to a file
/// opened for appending, so lines of concurrent sends do not interleave. File errors are
/// retryable.
#[derive(Debug)]
pub struct FileSms {
    path: PathBuf,
}

impl FileSms {
    /// A sender appending to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file the lines go to.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one message.
    ///
    /// # Errors
    /// A retryable [`SendError`] when the file cannot be written.
    pub async fn send(&self, message: &SmsMessage) -> Result<(), SendError> {
        let mut line = serde_json::json!({
            "id": message.message_id,
            "to": message.to,
            "body": message.body,
        })
        .to_string();
        line.push('\n');
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || append_line(&path, line.as_bytes()))
            .await
            .map_err(|_| SendError {
                retryable: true,
                reason: "sms file writer stopped".to_owned(),
            })?
            .map_err(|e| SendError {
                retryable: true,
                reason: format!("cannot write the sms file: {e}"),
            })
    }
}

fn append_line(path: &Path, line: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;

    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::private::create_dir(dir)?;
    }
    let mut file = crate::private::options()
        .create(true)
        .append(true)
        .open(path)?;
    // A file an older version made readable for everyone is narrowed too.
    crate::private::narrow(&file)?;
    file.write_all(line)
}

/// Settings of a [`TwilioSms`].
#[derive(Clone)]
pub struct TwilioSettings {
    /// The API's base URL, without a trailing slash: [`TwilioSettings::DEFAULT_BASE_URL`] unless
    /// testing.
    pub base_url: String,
    /// The account SID (`AC…`), also the basic-auth user.
    pub account_sid: String,
    /// The auth token, the basic-auth password.
    pub auth_token: String,
    /// The sender number (`From`); used when set.
    pub from: Option<String>,
    /// The messaging service (`MessagingServiceSid`, `MG…`); used when there is no `from`.
    pub messaging_service_sid: Option<String>,
    /// Timeout for the whole request.
    pub timeout: Duration,
}

impl TwilioSettings {
    /// Twilio's API.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.twilio.com";
}

impl std::fmt::Debug for TwilioSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSettings")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("from", &self.from)
            .field("messaging_service_sid", &self.messaging_service_sid)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// How a Twilio message names its sender.
#[derive(Debug, Clone)]
enum TwilioSender {
    From(String),
    MessagingService(String),
}

/// Sends SMS through Twilio's Messages API:
/// `POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json` with the form fields `To`,
/// `From` (or `MessagingServiceSid`) and `Body`, authenticated with the account SID and token.
///
/// A 2xx response is success. A 429, a 5xx, a timeout or a connection error is retryable; any
/// other status is final. The reason carries the status and Twilio's error code and message
/// (`twilio 400 21211: The 'To' number … is not a valid phone number.`), never the SMS text.
pub struct TwilioSms {
    client: reqwest::Client,
    url: String,
    account_sid: String,
    auth_token: String,
    sender: TwilioSender,
}

impl TwilioSms {
    /// A sender for `settings`.
    ///
    /// # Errors
    /// When neither `from` nor `messaging_service_sid` is set, the account SID or the token is
    /// empty, or the HTTP client cannot be built.
    pub fn new(settings: TwilioSettings) -> Result<Self, String> {
        if settings.account_sid.is_empty() || settings.auth_token.is_empty() {
            return Err("twilio needs an account SID and an auth token".to_owned());
        }
        let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
        let sender = match (
            non_empty(settings.from),
            non_empty(settings.messaging_service_sid),
        ) {
            (Some(from), _) => TwilioSender::From(from),
            (None, Some(service)) => TwilioSender::MessagingService(service),
            (None, None) => {
                return Err("twilio needs a sender number or a messaging service SID".to_owned());
            }
        };
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            settings.base_url.trim_end_matches('/'),
            percent_encoding::utf8_percent_encode(
                &settings.account_sid,
                percent_encoding::NON_ALPHANUMERIC
            ),
        );
        Ok(Self {
            client: client(settings.timeout)?,
            url,
            account_sid: settings.account_sid,
            auth_token: settings.auth_token,
            sender,
        })
    }

    /// Sends one message.
    ///
    /// # Errors
    /// [`SendError`], classified as described on [`TwilioSms`].
    pub async fn send(&self, message: &SmsMessage) -> Result<(), SendError> {
        let sender = match &self.sender {
            TwilioSender::From(from) => ("From", from.as_str()),
            TwilioSender::MessagingService(sid) => ("MessagingServiceSid", sid.as_str()),
        };
        let form = [
            ("To", message.to.as_str()),
            sender,
            ("Body", message.body.as_str()),
        ];
        let response = self
            .client
            .post(&self.url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&form)
            .send()
            .await
            .map_err(|e| request_failure("twilio", &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // The error body is Twilio's, never ours; a body that does not arrive only costs detail.
        let body = response.text().await.unwrap_or_default();
        Err(SendError {
            retryable: retryable_status(status),
            reason: twilio_reason(status, &body),
        })
    }
}

impl std::fmt::Debug for TwilioSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSms")
            .field("url", &self.url)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// Twilio's error body: `{"code": 21211, "message": "…", "more_info": "…", "status": 400}`.
#[derive(Debug, Deserialize)]
struct TwilioError {
    code: Option<u64>,
    message: Option<String>,
}

/// `twilio {status} {code}: {message}`, or `twilio {status}` when the body is not Twilio's.
/// Phone numbers in Twilio's message are masked (it names the `To` number).
fn twilio_reason(status: reqwest::StatusCode, body: &str) -> String {
    let status = status.as_u16();
    match serde_json::from_str::<TwilioError>(body) {
        Ok(TwilioError {
            code: Some(code),
            message: Some(message),
        }) => format!(
            "twilio {status} {code}: {}",
            truncate(&mask_numbers(message.trim()), 300)
        ),
        Ok(TwilioError {
            code: Some(code), ..
        }) => format!("twilio {status} {code}"),
        Ok(TwilioError {
            message: Some(message),
            ..
        }) => format!(
            "twilio {status}: {}",
            truncate(&mask_numbers(message.trim()), 300)
        ),
        _ => format!("twilio {status}"),
    }
}

/// `text` with every phone number in it masked as the domain masks one (`+41*******67`): each
/// run of 7 or more digits, with a `+` before it if there is one. Shorter numbers (Twilio's
/// error codes) stay.
fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit() || c == '+') {
        out.push_str(&rest[..start]);
        let plus = rest[start..].starts_with('+');
        let digits_from = start + usize::from(plus);
        let digits_len = rest[digits_from..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len() - digits_from);
        let digits = &rest[digits_from..digits_from + digits_len];
        if digits.len() >= 7 {
            if plus {
                out.push('+');
            }
            out.push_str(&digits[..2]);
            out.push_str(&"*".repeat(digits.len() - 4));
            out.push_str(&digits[digits.len() - 2..]);
        } else {
            out.push_str(&rest[start..digits_from + digits_len]);
        }
        rest = &rest[digits_from + digits_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TwilioSettings {
        TwilioSettings {
            base_url: TwilioSettings::DEFAULT_BASE_URL.to_owned(),
            account_sid: "AC123".into(),
            auth_token: "secret-token".into(),
            from: None,
            messaging_service_sid: None,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn phone_numbers_are_masked_in_error_texts() {
        assert_eq!(mask_numbers("to +41791234567."), "to +41*******67.");
        assert_eq!(mask_numbers("to 41791234567"), "to 41*******67");
        assert_eq!(mask_numbers("error 21211 at 12:30"), "error 21211 at 12:30");
        assert_eq!(mask_numbers("+ and +1234567 and +"), "+ and +12***67 and +");
        assert_eq!(mask_numbers("ünïcode 15005550006"), "ünïcode 15*******06");
    }

    #[test]
    fn a_sender_is_required() {
        assert!(TwilioSms::new(settings()).is_err());
        assert!(
            TwilioSms::new(TwilioSettings {
                from: Some(String::new()),
                ..settings()
            })
            .is_err()
        );
        assert!(
            TwilioSms::new(TwilioSettings {
                messaging_service_sid: Some("MG1".into()),
                ..settings()
            })
            .is_ok()
        );
    }

    #[test]
    fn credentials_are_required() {
        let result = TwilioSms::new(TwilioSettings {
            auth_token: String::new(),
            from: Some("+15005550006".into()),
            ..settings()
        });
        assert!(result.is_err());
    }

    #[test]
    fn debug_hides_the_token() {
        let debug = format!("{:?}", settings());
        assert!(!debug.contains("secret-token"), "{debug}");
    }

    #[test]
    fn reasons_use_twilio_errors() {
        let status = reqwest::StatusCode::BAD_REQUEST;
        assert_eq!(
            twilio_reason(
                status,
                r#"{"code":21211,"message":"Invalid 'To'","status":400}"#
            ),
            "twilio 400 21211: Invalid 'To'"
        );
        assert_eq!(
            twilio_reason(status, r#"{"code":21211}"#),
            "twilio 400 21211"
        );
        assert_eq!(twilio_reason(status, "<html>oops</html>"), "twilio 400");
        assert_eq!(
            twilio_reason(
                status,
                r#"{"code":21211,"message":"The 'To' number +41791234567 is not a valid phone number.","status":400}"#
            ),
            "twilio 400 21211: The 'To' number +41*******67 is not a valid phone number."
        );
        assert_eq!(twilio_reason(status, ""), "twilio 400");
    }
}
