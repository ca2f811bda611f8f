//! Email delivery: [`EmailTransport`] and its senders, a directory of `.eml` files
//! ([`FileMailer`]), SMTP ([`SmtpMailer`]) and a webhook ([`WebhookSender`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rekey_application::ports::{EmailMessage, EmailSender, SendError};

use crate::webhook::WebhookSender;

/// The configured email sender: one of the delivery channels, chosen at start-up.
///
/// An enum rather than a trait object, because the port's `async fn` is not dyn-compatible.
#[derive(Debug)]
pub enum EmailTransport {
    /// `.eml` files in a directory (development, tests).
    File(FileMailer),
    /// An SMTP server.
    Smtp(SmtpMailer),
    /// A JSON webhook (ZITADEL's HTTP email provider shape).
    Webhook(WebhookSender),
}

impl EmailSender for EmailTransport {
    async fn send(&self, message: &EmailMessage) -> Result<(), SendError> {
        match self {
            Self::File(mailer) => mailer.send(message).await,
            Self::Smtp(mailer) => mailer.send(message).await,
            Self::Webhook(webhook) => webhook.send_email(message).await,
        }
    }
}

/// The `From` and `Reply-To` mailboxes of the mails a mailer sends.
#[derive(Debug, Clone)]
struct Originator {
    from: Mailbox,
    reply_to: Option<Mailbox>,
}

impl Originator {
    fn new(from: &str, reply_to: Option<&str>) -> Result<Self, String> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("invalid from mailbox {from:?}: {e}"))?;
        let reply_to = reply_to
            .map(|r| {
                r.parse::<Mailbox>()
                    .map_err(|e| format!("invalid reply-to mailbox {r:?}: {e}"))
            })
            .transpose()?;
        Ok(Self { from, reply_to })
    }

    /// The MIME message: `multipart/alternative` with the text and the HTML body, `From`, `To`,
    /// `Subject`, `Message-ID: <{message_id}@rekey>` and `Reply-To` when set.
    fn message(&self, email: &EmailMessage) -> Result<Message, SendError> {
        let to = email.to.parse::<Mailbox>().map_err(|_| SendError {
            retryable: false,
            reason: "invalid recipient address".to_owned(),
        })?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.as_str())
            .message_id(Some(format!("<{}@rekey>", sanitize(&email.message_id))));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError {
                retryable: false,
                reason: format!("cannot build the email: {e}"),
            })
    }
}

/// Writes each email as an RFC 5322 `.eml` file into a directory, for development and tests:
/// `{dir}/{message_id}.eml`, the id reduced to `A-Z a-z 0-9 . _ -` (anything else becomes `_`).
///
/// The directory is created when missing. Each file is written to a temporary name and renamed,
/// so a reader never sees half a message; writing the same message again replaces the file.
/// Every file error is retryable.
#[derive(Debug)]
pub struct FileMailer {
    dir: PathBuf,
    originator: Originator,
}

impl FileMailer {
    /// A mailer writing into `dir`, with `from` (a mailbox such as `rekey <noreply@example.com>`)
    /// and an optional `reply_to` mailbox.
    ///
    /// # Errors
    /// When `from` or `reply_to` is not a valid mailbox.
    pub fn new(
        dir: impl Into<PathBuf>,
        from: &str,
        reply_to: Option<&str>,
    ) -> Result<Self, String> {
        Ok(Self {
            dir: dir.into(),
            originator: Originator::new(from, reply_to)?,
        })
    }

    /// The directory the files go to.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one message.
    ///
    /// # Errors
    /// A non-retryable [`SendError`] for an invalid recipient; a retryable one when the file
    /// cannot be written.
    pub async fn send(&self, message: &EmailMessage) -> Result<(), SendError> {
        let bytes = self.originator.message(message)?.formatted();
        let dir = self.dir.clone();
        let name = sanitize(&message.message_id);
        tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &bytes))
            .await
            .map_err(|_| SendError {
                retryable: true,
                reason: "mail file writer stopped".to_owned(),
            })?
            .map_err(|e| SendError {
                retryable: true,
                reason: format!("cannot write the mail file: {e}"),
            })
    }
}

/// Distinguishes temporary files of concurrent writes.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;

    crate::private::create_dir(dir)?;
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let written = (|| {
        let mut file = crate::private::options()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, dir.join(format!("{name}.eml")))
    })();
    if written.is_err() {
        // Best effort: the temporary file may not even exist.
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// A message id as a file name and `Message-ID` local part: `A-Z a-z 0-9 . _ -` kept, anything
/// else `_`; never empty and never starting with a dot.
pub(crate) fn sanitize(id: &str) -> String {
    let mut name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        name.insert(0, '_');
    }
    name
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text, no TLS: for a local relay or a test server only (credentials, if set, travel
    /// in plain text too).
    None,
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    StartTls,
    /// TLS from the first byte ("SMTPS", usually port 465).
    Tls,
}

/// Settings of an [`SmtpMailer`].
#[derive(Clone)]
pub struct SmtpSettings {
    /// Server host name (also the name its TLS certificate must carry).
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Transport security.
    pub tls: SmtpTls,
    /// User name for `AUTH`; no authentication when `None`.
    pub username: Option<String>,
    /// Password for `AUTH`.
    pub password: Option<String>,
    /// Timeout for connecting, and for a whole send (connecting, TLS, commands and data).
    pub timeout: Duration,
    /// The `From` mailbox, e.g. `rekey <noreply@example.com>`.
    pub from: String,
    /// The `Reply-To` mailbox, if any.
    pub reply_to: Option<String>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("from", &self.from)
            .field("reply_to", &self.reply_to)
            .finish()
    }
}

/// Sends email through an SMTP server, over a pool of connections (lettre's
/// `AsyncSmtpTransport` on tokio).
///
/// Errors: a permanent (5xx) reply or a client-side problem (e.g. the server lacks STARTTLS) is
/// not retryable; a transient (4xx) reply, timeouts, connection, TLS and I/O errors are. The
/// reason carries the SMTP status and the kind of error, never the server's text or anything
/// of the message.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    originator: Originator,
    host: String,
    port: u16,
    tls: SmtpTls,
    timeout: Duration,
}

impl SmtpMailer {
    /// A mailer for `settings`. Nothing is connected yet: connections are opened on demand and
    /// kept in a pool (idle ones closed after a minute).
    ///
    /// # Panics
    /// Outside a Tokio runtime: the pool starts its cleanup task here.
    ///
    /// # Errors
    /// When `from` or `reply_to` is not a valid mailbox, or the TLS settings cannot be built
    /// for `host`.
    pub fn new(settings: SmtpSettings) -> Result<Self, String> {
        let originator = Originator::new(&settings.from, settings.reply_to.as_deref())?;
        let builder = match settings.tls {
            SmtpTls::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
            SmtpTls::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .map_err(|e| format!("smtp tls settings for {}: {e}", settings.host))?
            }
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)
                .map_err(|e| format!("smtp tls settings for {}: {e}", settings.host))?,
        };
        let mut builder = builder
            .port(settings.port)
            .timeout(Some(settings.timeout))
            .pool_config(PoolConfig::new());
        if let Some(username) = &settings.username {
            builder = builder.credentials(Credentials::new(
                username.clone(),
                settings.password.clone().unwrap_or_default(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            originator,
            host: settings.host,
            port: settings.port,
            tls: settings.tls,
            timeout: settings.timeout,
        })
    }

    /// Sends one message.
    ///
    /// # Errors
    /// [`SendError`], classified as described on [`SmtpMailer`].
    pub async fn send(&self, message: &EmailMessage) -> Result<(), SendError> {
        let mail = self.originator.message(message)?;
        // lettre's own timeout covers the TCP connect only; this one bounds the whole exchange
        // (a server that accepts but never answers).
        match tokio::time::timeout(self.timeout, self.transport.send(mail)).await {
            Ok(sent) => sent.map(drop).map_err(|e| smtp_failure(&e)),
            Err(_) => Err(SendError {
                retryable: true,
                reason: "smtp timeout".to_owned(),
            }),
        }
    }
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Classifies an SMTP error; the reason holds the status and lettre's kind of error only.
fn smtp_failure(error: &lettre::transport::smtp::Error) -> SendError {
    if let Some(code) = error.status() {
        return if error.is_permanent() {
            SendError {
                retryable: false,
                reason: format!("smtp permanent error ({code})"),
            }
        } else {
            SendError {
                retryable: true,
                reason: format!("smtp transient error ({code})"),
            }
        };
    }
    if error.is_client() {
        // lettre's client errors are fixed texts ("STARTTLS is not supported on this server").
        let detail = std::error::Error::source(error)
            .map(|s| format!(": {s}"))
            .unwrap_or_default();
        return SendError {
            retryable: false,
            reason: format!("smtp client error{detail}"),
        };
    }
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_tls() {
        "tls error"
    } else if error.is_response() {
        "response error"
    } else if error.is_transport_shutdown() {
        "transport has been shut down"
    } else {
        "connection error"
    };
    let io = io_kind(error)
        .map(|k| format!(" ({k})"))
        .unwrap_or_default();
    SendError {
        retryable: true,
        reason: format!("smtp {kind}{io}"),
    }
}

/// The kind of the first I/O error in an error's chain ("connection refused").
fn io_kind(error: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut source = error.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sanitised() {
        assert_eq!(sanitize("abc-1.2_3"), "abc-1.2_3");
        assert_eq!(sanitize("../etc/passwd"), "_.._etc_passwd");
        assert_eq!(sanitize("a b/c\\d<e>"), "a_b_c_d_e_");
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize(".hidden"), "_.hidden");
        assert_eq!(sanitize("ä"), "_");
    }

    #[test]
    fn invalid_mailboxes_are_rejected() {
        assert!(FileMailer::new("/tmp/x", "not a mailbox", None).is_err());
        assert!(FileMailer::new("/tmp/x", "rekey <noreply@example.com>", Some("@")).is_err());
        assert!(FileMailer::new("/tmp/x", "noreply@example.com", Some("a@example.com")).is_ok());
    }

    #[test]
    fn settings_debug_hides_the_password() {
        let settings = SmtpSettings {
            host: "smtp.example.com".into(),
            port: 587,
            tls: SmtpTls::StartTls,
            username: Some("user".into()),
            password: Some("hunter2".into()),
            timeout: Duration::from_secs(10),
            from: "noreply@example.com".into(),
            reply_to: None,
        };
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }
}
