//! Events: the append-only record of every change, one stream per aggregate.
//!
//! Payloads never carry a plaintext code or password: a code appears only as the id of the key
//! its hash was made with, a password not at all.

use chrono::{DateTime, Utc};

use crate::{HumanProfile, NotificationType, OrgId, Role, UserAgent, UserId};

/// What happened. The serialized form of a variant (its fields, as a JSON object) is the
/// event's payload; [`Event::event_type`] is its type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Event {
    /// `org.added`.
    OrgAdded {
        /// The organization's name.
        name: String,
    },
    /// `user.human.added`.
    HumanAdded {
        /// Login name.
        username: String,
        /// Given name.
        given_name: String,
        /// Family name.
        family_name: String,
        /// Display name.
        display_name: String,
        /// Preferred language.
        #[serde(skip_serializing_if = "Option::is_none")]
        preferred_language: Option<String>,
        /// Email address.
        email: String,
        /// Whether it was verified when added.
        email_verified: bool,
        /// Phone number.
        #[serde(skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
        /// Whether it was verified when added.
        phone_verified: bool,
        /// Whether an initial password was set.
        password_set: bool,
        /// Whether the user starts in state Initial.
        initial: bool,
    },
    /// `user.machine.added`.
    MachineAdded {
        /// Login name.
        username: String,
        /// Display name of the service account.
        name: String,
    },
    /// `user.human.password.code.added`.
    PasswordCodeAdded {
        /// When the code stops being valid.
        expires_at: DateTime<Utc>,
        /// The channel of the link, when one is sent.
        #[serde(skip_serializing_if = "Option::is_none")]
        notification_type: Option<NotificationType>,
        /// The request's url template, when it gave one.
        #[serde(skip_serializing_if = "Option::is_none")]
        url_template: Option<String>,
        /// Whether the code was returned to the caller instead of sent.
        code_returned: bool,
        /// The key that hashed the code.
        key_id: String,
    },
    /// `user.human.password.code.sent`: the message carrying a code was delivered.
    PasswordCodeSent {
        /// Email or SMS.
        channel: NotificationType,
        /// The sequence of the `user.human.password.code.added` event of that code.
        code_sequence: i64,
    },
    /// `user.human.password.change.sent`: the notice of a changed password was delivered.
    PasswordChangeSent {
        /// Email or SMS.
        channel: NotificationType,
    },
    /// `user.human.password.changed`: a new password was set (its hash is in the users table).
    PasswordChanged {
        /// Whether the user must change it at the next login.
        change_required: bool,
        /// How the change was authorized: `code`, `current_password` or `admin`.
        verified_by: String,
    },
    /// `user.human.password.code.invalidated`: too many wrong codes; the code is gone.
    PasswordCodeInvalidated {
        /// Wrong attempts counted.
        failed_attempts: i32,
    },
    /// `user.limit.exceeded`: a budget refused a request concerning this user (recorded once
    /// per run of refusals).
    LimitExceeded {
        /// Which budget: `user`, `recipient`, `caller`, `sms_country`, `sms_total`,
        /// `wrong_codes`.
        budget: String,
        /// Seconds until it has room again.
        retry_after_seconds: i64,
    },
    /// `user.token.added`: a personal access token was issued (its hash is in the tokens table).
    TokenAdded {
        /// The token's id.
        token_id: String,
        /// Its roles.
        roles: Vec<String>,
    },
    /// `user.token.removed`: a token revoked; it no longer authenticates.
    TokenRemoved {
        /// The token's id.
        token_id: String,
    },
    /// `user.human.password.check.succeeded`: a password check matched; the count of wrong
    /// passwords in a row starts again.
    PasswordCheckSucceeded {
        /// What checked it: `session` or `set_password`.
        checked_by: String,
    },
    /// `user.human.password.check.failed`: a wrong password.
    PasswordCheckFailed {
        /// What checked it: `session` or `set_password`.
        checked_by: String,
        /// Wrong passwords in a row, this one included.
        failed_attempts: u32,
    },
    /// `user.locked`: the lockout policy's maximum of wrong passwords was reached, or an
    /// administrator locked the user (LockUser).
    UserLocked {
        /// Wrong passwords in a row that locked it.
        failed_attempts: u32,
    },
    /// `user.unlocked`: an administrator unlocked the user; the count of wrong passwords
    /// starts again.
    UserUnlocked {},
    /// `user.deactivated`: an administrator deactivated the user.
    UserDeactivated {},
    /// `user.reactivated`: an administrator made a deactivated user active again.
    UserReactivated {},
    /// `user.removed`: the user was deleted; its state rows are gone, and its earlier events
    /// keep no address or name.
    UserRemoved {},
    /// `session.added`: a new session, with the browser as the login UI described it.
    SessionAdded {
        /// The browser.
        user_agent: UserAgent,
    },
    /// `session.user.checked`: the session's user factor.
    SessionUserChecked {
        /// The user.
        user_id: String,
        /// The user's organization.
        user_resource_owner: String,
        /// When.
        checked_at: DateTime<Utc>,
    },
    /// `session.password.checked`: the user's password matched.
    SessionPasswordChecked {
        /// When.
        checked_at: DateTime<Utc>,
    },
    /// `session.lifetime.set`: the session now ends `lifetime` after this event.
    SessionLifetimeSet {
        /// The lifetime in nanoseconds, as ZITADEL records it.
        lifetime: i64,
    },
    /// `session.metadata.set`: the keys the change set or removed (not their values).
    SessionMetadataSet {
        /// The keys.
        keys: Vec<String>,
    },
    /// `session.token.set`: a new session token; the previous one no longer works.
    SessionTokenSet {
        /// The token's id (not the token).
        token_id: String,
    },
    /// `session.terminated`: the session was deleted.
    SessionTerminated {},
}

impl Event {
    /// `user.human.added` for a human with `profile`: whether a password was set with it, and
    /// whether it starts in state Initial.
    pub fn human_added(
        username: String,
        profile: &HumanProfile,
        password_set: bool,
        initial: bool,
    ) -> Self {
        Self::HumanAdded {
            username,
            given_name: profile.given_name.clone(),
            family_name: profile.family_name.clone(),
            display_name: profile.display_name.clone(),
            preferred_language: profile
                .preferred_language
                .as_ref()
                .map(|l| l.as_str().to_owned()),
            email: profile.email.as_str().to_owned(),
            email_verified: profile.email_verified,
            phone: profile.phone.as_ref().map(|p| p.as_str().to_owned()),
            phone_verified: profile.phone_verified,
            password_set,
            initial,
        }
    }

    /// The event type, e.g. `user.human.password.code.added`.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::OrgAdded { .. } => "org.added",
            Self::HumanAdded { .. } => "user.human.added",
            Self::MachineAdded { .. } => "user.machine.added",
            Self::PasswordCodeAdded { .. } => "user.human.password.code.added",
            Self::PasswordCodeSent { .. } => "user.human.password.code.sent",
            Self::PasswordChanged { .. } => "user.human.password.changed",
            Self::PasswordChangeSent { .. } => "user.human.password.change.sent",
            Self::PasswordCodeInvalidated { .. } => "user.human.password.code.invalidated",
            Self::LimitExceeded { .. } => "user.limit.exceeded",
            Self::TokenAdded { .. } => "user.token.added",
            Self::TokenRemoved { .. } => "user.token.removed",
            Self::PasswordCheckSucceeded { .. } => "user.human.password.check.succeeded",
            Self::PasswordCheckFailed { .. } => "user.human.password.check.failed",
            Self::UserLocked { .. } => "user.locked",
            Self::UserUnlocked {} => "user.unlocked",
            Self::UserDeactivated {} => "user.deactivated",
            Self::UserReactivated {} => "user.reactivated",
            Self::UserRemoved {} => "user.removed",
            Self::SessionAdded { .. } => "session.added",
            Self::SessionUserChecked { .. } => "session.user.checked",
            Self::SessionPasswordChecked { .. } => "session.password.checked",
            Self::SessionLifetimeSet { .. } => "session.lifetime.set",
            Self::SessionMetadataSet { .. } => "session.metadata.set",
            Self::SessionTokenSet { .. } => "session.token.set",
            Self::SessionTerminated {} => "session.terminated",
        }
    }

    /// The aggregate type: `org` or `user`.
    pub fn aggregate_type(&self) -> &'static str {
        match self {
            Self::OrgAdded { .. } => "org",
            Self::SessionAdded { .. }
            | Self::SessionUserChecked { .. }
            | Self::SessionPasswordChecked { .. }
            | Self::SessionLifetimeSet { .. }
            | Self::SessionMetadataSet { .. }
            | Self::SessionTokenSet { .. }
            | Self::SessionTerminated {} => "session",
            _ => "user",
        }
    }

    /// The roles of a token as event payload.
    pub fn token_added(token_id: String, roles: &[Role]) -> Self {
        Self::TokenAdded {
            token_id,
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
        }
    }
}

/// An event about to be appended: the stream it goes to and the sequence it takes there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The aggregate (a user id or an organization id).
    pub aggregate_id: String,
    /// Its sequence in that stream: the aggregate's previous sequence + 1.
    pub sequence: i64,
    /// What happened.
    pub event: Event,
    /// The organization the aggregate belongs to.
    pub resource_owner: OrgId,
    /// Who caused it.
    pub creator: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_event_payload_has_no_code() {
        let event = Event::PasswordCodeAdded {
            expires_at: DateTime::<Utc>::UNIX_EPOCH,
            notification_type: Some(NotificationType::Sms),
            url_template: None,
            code_returned: false,
            key_id: "k1".into(),
        };
        assert_eq!(event.event_type(), "user.human.password.code.added");
        assert_eq!(event.aggregate_type(), "user");
        let json = serde_json::to_string(&event).expect("serializes");
        assert_eq!(
            json,
            r#"{"expires_at":"1970-01-01T00:00:00Z","notification_type":"sms","code_returned":false,"key_id":"k1"}"#
        );
    }
}
