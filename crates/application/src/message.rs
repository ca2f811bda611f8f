//! Outbox messages: what a delivery worker needs to send a reset link, sealed at rest.

use chrono::{DateTime, Utc};
use rekey_domain::{KeyId, NotificationType, UserId};

/// Bytes encrypted by a `SecretBox`, with the id of the key that sealed them.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The sealing key.
    pub key_id: KeyId,
    /// Nonce and ciphertext.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({:?}, {} bytes)", self.key_id.0, self.bytes.len())
    }
}

/// What a message's sealed payload is bound to: its id and its user's id.
pub fn sealing_context(message_id: &str, user_id: &UserId) -> Vec<u8> {
    // Length-prefixed, so no two pairs give the same bytes.
    format!("{}:{message_id}:{user_id}", message_id.len()).into_bytes()
}

/// The secret part of a reset message, serialized to JSON and sealed into the outbox row.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResetMessagePayload {
    /// The plaintext code.
    pub code: String,
    /// The request's url template; `None` means the default link.
    pub url_template: Option<String>,
    /// Email address or phone number.
    pub recipient: String,
    /// Preferred language of the user, if any.
    pub language: Option<String>,
    /// The user.
    pub user_id: String,
    /// The user's organization.
    pub org_id: String,
    /// For the greeting.
    pub display_name: String,
    /// The user's login name.
    pub username: String,
}

impl std::fmt::Debug for ResetMessagePayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetMessagePayload(<sealed>)")
    }
}

/// A message waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Id.
    pub id: String,
    /// What kind of message: `password_reset` or `password_changed`.
    pub kind: &'static str,
    /// The user it is about.
    pub user_id: UserId,
    /// Email or SMS.
    pub channel: NotificationType,
    /// The recipient, masked, for listings and logs.
    pub recipient_masked: String,
    /// The sealed [`ResetMessagePayload`].
    pub payload: Sealed,
    /// The sequence of the event that issued the code: a newer code supersedes this message.
    pub code_sequence: i64,
    /// Unique per message, also its `Message-ID`.
    pub idempotency_key: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// The first attempt is due at this time.
    pub next_attempt_at: DateTime<Utc>,
    /// The W3C `traceparent` of the request that queued it (see [`crate::Ports::trace_context`]).
    pub trace_context: Option<String>,
}
