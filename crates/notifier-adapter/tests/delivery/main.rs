//! The senders: files, SMTP (against an in-test server), Twilio and webhooks (against wiremock).

#![allow(clippy::unwrap_used)]

mod files;
mod smtp;
mod twilio;
mod webhook;

use rekey_application::ports::{EmailMessage, MessageData, MessageRenderer, SmsMessage};
use rekey_notifier_adapter::HandlebarsMessages;

/// The secret every test message carries; no error reason may contain it.
pub const CODE: &str = "K7Q2ZD";

/// The link every test message carries.
pub const LINK: &str = "https://example.com/ui/v2/login/password/set?code=K7Q2ZD&userId=u1";

/// A rendered password-reset email to `to`.
pub fn email(to: &str, language: Option<&str>, message_id: &str) -> EmailMessage {
    let rendered = HandlebarsMessages::new(None)
        .unwrap()
        .password_reset(&MessageData {
            language,
            display_name: "Ada Lovelace",
            username: "ada",
            code: CODE,
            link: LINK,
        })
        .unwrap();
    EmailMessage {
        to: to.to_owned(),
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        message_id: message_id.to_owned(),
        template_data: rendered.template_data,
    }
}

/// A password-reset SMS to `to`.
pub fn sms(to: &str, message_id: &str) -> SmsMessage {
    SmsMessage {
        to: to.to_owned(),
        body: format!("Reset password (Code {CODE}): {LINK}"),
        message_id: message_id.to_owned(),
    }
}

/// Asserts that a reason carries nothing of the message.
pub fn assert_clean(reason: &str) {
    assert!(!reason.contains(CODE), "reason has the code: {reason}");
    assert!(
        !reason.contains("example.com/ui"),
        "reason has the link: {reason}"
    );
    assert!(
        !reason.contains("Reset password"),
        "reason has the text: {reason}"
    );
}
