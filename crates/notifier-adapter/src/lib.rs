//! The notification adapter: what turns a queued reset message into something a user receives.
//!
//! - Links: [`HandlebarsLinks`] implements the
//!   [`LinkRenderer`](rekey_application::ports::LinkRenderer) port. It checks the `urlTemplate`
//!   of a PasswordReset request and renders the link a message carries, with handlebars in strict
//!   mode, and accepts ZITADEL's Go-template placeholders (`{{.Code}}`) as well as handlebars'
//!   own (`{{Code}}`). Values are percent-encoded into the link; the template text is not touched.
//! - Messages: [`HandlebarsMessages`] implements
//!   [`MessageRenderer`](rekey_application::ports::MessageRenderer): ZITADEL's password-reset
//!   texts in English and German as email subject, HTML and text body, and SMS, with templates
//!   that a directory can override.
//! - Email: [`EmailTransport`] implements [`EmailSender`](rekey_application::ports::EmailSender)
//!   over `.eml` files ([`FileMailer`]), SMTP ([`SmtpMailer`]) or a webhook ([`WebhookSender`]).
//! - SMS: [`SmsTransport`] implements [`SmsSender`](rekey_application::ports::SmsSender) over a
//!   JSON-lines file ([`FileSms`]), Twilio ([`TwilioSms`]) or a webhook ([`WebhookSender`]).
//! - Events: [`EventTargets`] implements
//!   [`EventSender`](rekey_application::ports::EventSender): a signed POST of an event to each
//!   configured target, as ZITADEL's Actions v2 does.
//!
//! Senders classify each failure as retryable or final, and their reasons never contain a
//! message body, a link or a code. Nothing here logs recipients or message contents.

mod email;
mod events;
mod http;
mod links;
mod messages;
mod private;
mod sms;
mod webhook;

pub use email::{EmailTransport, FileMailer, SmtpMailer, SmtpSettings, SmtpTls};
pub use events::EventTargets;
pub use links::HandlebarsLinks;
pub use messages::HandlebarsMessages;
pub use sms::{FileSms, SmsTransport, TwilioSettings, TwilioSms};
pub use webhook::{
    EVENT_TYPE, SIGNATURE_HEADER, WebhookSender, WebhookSettings, ZITADEL_SIGNATURE_HEADER,
};
