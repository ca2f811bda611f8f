//! Row structs and their conversion to and from the domain's types.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use rekey_application::ports::{PasswordCode, TokenRecord};
use rekey_application::{Failure, OutboxMessage};
use rekey_domain::{
    CheckedUser, HumanProfile, Language, NewEvent, Organization, Role, Session, TokenHash, User,
    UserAgent, UserKind, UserState,
};

use crate::schema::{
    event_deliveries, events, organizations, outbox, password_codes, sessions, tokens, users,
};

fn naive(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc()
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> Failure {
    Failure::Unexpected(format!("stored {what} is invalid: {detail}"))
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = organizations)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub sequence: i64,
    pub created_at: NaiveDateTime,
    pub changed_at: NaiveDateTime,
}

impl OrgRow {
    pub fn from_domain(org: &Organization) -> Self {
        Self {
            id: org.id.to_string(),
            name: org.name.clone(),
            sequence: org.sequence,
            created_at: naive(org.created_at),
            changed_at: naive(org.created_at),
        }
    }

    pub fn into_domain(self) -> Result<Organization, Failure> {
        Ok(Organization {
            id: self
                .id
                .try_into()
                .map_err(|e| corrupt("organization id", e))?,
            name: self.name,
            sequence: self.sequence,
            created_at: self.created_at.and_utc(),
        })
    }
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct UserRow {
    pub id: String,
    pub org_id: String,
    pub kind: String,
    pub username: String,
    pub state: String,
    pub sequence: i64,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub preferred_language: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub machine_name: Option<String>,
    pub password_hash: Option<String>,
    pub password_change_required: bool,
    pub password_changed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub changed_at: NaiveDateTime,
    pub failed_password_attempts: i32,
}

impl UserRow {
    pub fn from_domain(user: &User, password_hash: Option<String>) -> Self {
        let mut row = Self {
            id: user.id.to_string(),
            org_id: user.org_id.to_string(),
            kind: String::new(),
            username: user.username.clone(),
            state: user.state.as_str().to_owned(),
            sequence: user.sequence,
            given_name: None,
            family_name: None,
            display_name: None,
            preferred_language: None,
            email: None,
            email_verified: false,
            phone: None,
            phone_verified: false,
            machine_name: None,
            password_hash,
            password_change_required: false,
            password_changed_at: None,
            created_at: naive(user.created_at),
            changed_at: naive(user.changed_at),
            failed_password_attempts: i32::try_from(user.failed_password_attempts)
                .unwrap_or(i32::MAX),
        };
        match &user.kind {
            UserKind::Human(p) => {
                row.kind = "human".into();
                row.given_name = Some(p.given_name.clone());
                row.family_name = Some(p.family_name.clone());
                row.display_name = Some(p.display_name.clone());
                row.preferred_language =
                    p.preferred_language.as_ref().map(|l| l.as_str().to_owned());
                row.email = Some(p.email.as_str().to_owned());
                row.email_verified = p.email_verified;
                row.phone = p.phone.as_ref().map(|p| p.as_str().to_owned());
                row.phone_verified = p.phone_verified;
                row.password_change_required = p.password_change_required;
                row.password_changed_at = p.password_changed.map(naive);
            }
            UserKind::Machine { name } => {
                row.kind = "machine".into();
                row.machine_name = Some(name.clone());
            }
        }
        row
    }

    pub fn into_domain(self) -> Result<User, Failure> {
        let kind = match self.kind.as_str() {
            "human" => UserKind::Human(HumanProfile {
                given_name: self.given_name.unwrap_or_default(),
                family_name: self.family_name.unwrap_or_default(),
                display_name: self.display_name.unwrap_or_default(),
                preferred_language: self
                    .preferred_language
                    .map(|l| Language::new(&l))
                    .transpose()
                    .map_err(|e| corrupt("language", e))?,
                email: self
                    .email
                    .ok_or_else(|| corrupt("email", "missing"))?
                    .try_into()
                    .map_err(|e| corrupt("email", e))?,
                email_verified: self.email_verified,
                phone: self
                    .phone
                    .map(TryInto::try_into)
                    .transpose()
                    .map_err(|e| corrupt("phone", e))?,
                phone_verified: self.phone_verified,
                password_change_required: self.password_change_required,
                password_changed: self.password_changed_at.map(|at| at.and_utc()),
            }),
            "machine" => UserKind::Machine {
                name: self.machine_name.unwrap_or_default(),
            },
            other => return Err(corrupt("user kind", other)),
        };
        Ok(User {
            id: self.id.try_into().map_err(|e| corrupt("user id", e))?,
            org_id: self.org_id.try_into().map_err(|e| corrupt("org id", e))?,
            username: self.username,
            state: UserState::parse(&self.state).ok_or_else(|| corrupt("state", &self.state))?,
            kind,
            sequence: self.sequence,
            failed_password_attempts: u32::try_from(self.failed_password_attempts).unwrap_or(0),
            created_at: self.created_at.and_utc(),
            changed_at: self.changed_at.and_utc(),
        })
    }
}

#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = sessions)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
pub struct SessionRow {
    pub id: String,
    pub sequence: i64,
    pub creator: String,
    pub user_id: Option<String>,
    pub user_org_id: Option<String>,
    pub user_checked_at: Option<NaiveDateTime>,
    pub password_checked_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub user_agent: String,
    pub metadata: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub changed_at: NaiveDateTime,
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl SessionRow {
    pub fn from_domain(session: &Session) -> Result<Self, Failure> {
        let metadata: std::collections::BTreeMap<&str, String> = session
            .metadata
            .iter()
            .map(|(k, v)| (k.as_str(), hex(v)))
            .collect();
        let json = |what: &str, result: serde_json::Result<String>| {
            result.map_err(|e| Failure::Unexpected(format!("serializing a session's {what}: {e}")))
        };
        Ok(Self {
            id: session.id.clone(),
            sequence: session.sequence,
            creator: session.creator.to_string(),
            user_id: session.user.as_ref().map(|u| u.id.to_string()),
            user_org_id: session.user.as_ref().map(|u| u.org_id.to_string()),
            user_checked_at: session.user.as_ref().map(|u| naive(u.checked_at)),
            password_checked_at: session.password_checked_at.map(naive),
            expires_at: session.expires_at.map(naive),
            user_agent: json("user agent", serde_json::to_string(&session.user_agent))?,
            metadata: json("metadata", serde_json::to_string(&metadata))?,
            token_hash: session.token.0.clone(),
            created_at: naive(session.created_at),
            changed_at: naive(session.changed_at),
        })
    }

    pub fn into_domain(self) -> Result<Session, Failure> {
        let user = match (self.user_id, self.user_org_id, self.user_checked_at) {
            (Some(id), Some(org_id), Some(checked_at)) => Some(CheckedUser {
                id: id.try_into().map_err(|e| corrupt("session user", e))?,
                org_id: org_id
                    .try_into()
                    .map_err(|e| corrupt("session user org", e))?,
                checked_at: checked_at.and_utc(),
            }),
            (None, None, None) => None,
            _ => return Err(corrupt("session user", "partly missing")),
        };
        let user_agent: UserAgent =
            serde_json::from_str(&self.user_agent).map_err(|e| corrupt("user agent", e))?;
        let hexed: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&self.metadata).map_err(|e| corrupt("metadata", e))?;
        let metadata = hexed
            .into_iter()
            .map(|(k, v)| unhex(&v).map(|v| (k, v)))
            .collect::<Option<_>>()
            .ok_or_else(|| corrupt("metadata", "not hex"))?;
        Ok(Session {
            id: self.id,
            sequence: self.sequence,
            created_at: self.created_at.and_utc(),
            changed_at: self.changed_at.and_utc(),
            creator: self
                .creator
                .try_into()
                .map_err(|e| corrupt("session creator", e))?,
            user,
            password_checked_at: self.password_checked_at.map(|at| at.and_utc()),
            expires_at: self.expires_at.map(|at| at.and_utc()),
            user_agent,
            metadata,
            token: TokenHash(self.token_hash),
        })
    }
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = events)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct EventRow {
    pub aggregate_id: String,
    pub sequence: i64,
    pub aggregate_type: String,
    pub event_type: String,
    pub payload: String,
    pub resource_owner: String,
    pub creator: String,
    pub created_at: NaiveDateTime,
}

impl EventRow {
    pub fn from_domain(event: &NewEvent) -> Result<Self, Failure> {
        Ok(Self {
            aggregate_id: event.aggregate_id.clone(),
            sequence: event.sequence,
            aggregate_type: event.event.aggregate_type().to_owned(),
            event_type: event.event.event_type().to_owned(),
            payload: serde_json::to_string(&event.event)
                .map_err(|e| Failure::Unexpected(format!("serializing an event: {e}")))?,
            resource_owner: event.resource_owner.to_string(),
            creator: event.creator.to_string(),
            created_at: naive(event.created_at),
        })
    }
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = password_codes)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct CodeRow {
    pub user_id: String,
    pub code_hash: String,
    pub key_id: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub sequence: i64,
    pub failed_attempts: i32,
    pub notification_type: Option<String>,
    pub url_template: Option<String>,
    pub returned: bool,
}

impl CodeRow {
    pub fn into_domain(self) -> Result<PasswordCode, Failure> {
        Ok(PasswordCode {
            user_id: self
                .user_id
                .try_into()
                .map_err(|e| corrupt("code user id", e))?,
            hash: rekey_domain::CodeHash {
                hash: self.code_hash,
                key_id: rekey_domain::KeyId(self.key_id),
            },
            created_at: self.created_at.and_utc(),
            expires_at: self.expires_at.and_utc(),
            sequence: self.sequence,
            failed_attempts: self.failed_attempts,
            notification_type: match self.notification_type.as_deref() {
                None => None,
                Some("email") => Some(rekey_domain::NotificationType::Email),
                Some("sms") => Some(rekey_domain::NotificationType::Sms),
                Some(other) => return Err(corrupt("notification type", other)),
            },
            url_template: self.url_template,
            returned: self.returned,
        })
    }

    pub fn from_domain(code: &PasswordCode) -> Self {
        Self {
            user_id: code.user_id.to_string(),
            code_hash: code.hash.hash.clone(),
            key_id: code.hash.key_id.0.clone(),
            created_at: naive(code.created_at),
            expires_at: naive(code.expires_at),
            sequence: code.sequence,
            failed_attempts: code.failed_attempts,
            notification_type: code.notification_type.map(|n| n.as_str().to_owned()),
            url_template: code.url_template.clone(),
            returned: code.returned,
        }
    }
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = tokens)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct TokenRow {
    pub id: String,
    pub token_hash: String,
    pub user_id: String,
    pub org_id: String,
    pub roles: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

impl TokenRow {
    pub fn from_domain(token: &TokenRecord) -> Self {
        Self {
            id: token.id.clone(),
            token_hash: token.hash.0.clone(),
            user_id: token.user_id.to_string(),
            org_id: token.org_id.to_string(),
            roles: roles_to_text(&token.roles),
            created_at: naive(token.created_at),
            expires_at: token.expires_at.map(naive),
            revoked_at: None,
            last_used_at: None,
        }
    }

    pub fn into_info(self) -> Result<rekey_application::ports::TokenInfo, Failure> {
        Ok(rekey_application::ports::TokenInfo {
            id: self.id,
            user_id: self
                .user_id
                .try_into()
                .map_err(|e| corrupt("token user", e))?,
            org_id: self
                .org_id
                .try_into()
                .map_err(|e| corrupt("token org", e))?,
            roles: roles_from_text(&self.roles)?,
            created_at: self.created_at.and_utc(),
            expires_at: self.expires_at.map(|at| at.and_utc()),
            revoked_at: self.revoked_at.map(|at| at.and_utc()),
            last_used_at: self.last_used_at.map(|at| at.and_utc()),
        })
    }
}

/// Roles are stored as their names separated by spaces.
pub fn roles_to_text(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The inverse of [`roles_to_text`].
pub fn roles_from_text(text: &str) -> Result<Vec<Role>, Failure> {
    text.split_whitespace()
        .map(|name| name.parse().map_err(|e| corrupt("role", e)))
        .collect()
}

#[derive(Debug, Clone, Queryable, QueryableByName, Insertable)]
#[diesel(table_name = outbox)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct OutboxRow {
    pub id: String,
    pub kind: String,
    pub user_id: String,
    pub channel: String,
    pub recipient_masked: String,
    pub key_id: String,
    pub payload: Option<Vec<u8>>,
    pub code_sequence: i64,
    pub idempotency_key: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub trace_context: Option<String>,
}

impl OutboxRow {
    pub fn from_domain(message: &OutboxMessage) -> Self {
        Self {
            id: message.id.clone(),
            kind: message.kind.to_owned(),
            user_id: message.user_id.to_string(),
            channel: message.channel.as_str().to_owned(),
            recipient_masked: message.recipient_masked.clone(),
            key_id: message.payload.key_id.0.clone(),
            payload: Some(message.payload.bytes.clone()),
            code_sequence: message.code_sequence,
            idempotency_key: message.idempotency_key.clone(),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: naive(message.next_attempt_at),
            last_error: None,
            created_at: naive(message.created_at),
            sent_at: None,
            trace_context: message.trace_context.clone(),
        }
    }
}

/// A queued delivery of one event to one target.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = event_deliveries)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct EventDeliveryRow {
    pub id: String,
    pub target: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

impl EventDeliveryRow {
    /// The delivery of `event` to `target`, due at once. Its id names both, so an event is
    /// queued for a target at most once.
    pub fn queued(target: &str, event: &EventRow) -> Self {
        Self {
            id: format!("{target}/{}/{}", event.aggregate_id, event.sequence),
            target: target.to_owned(),
            aggregate_id: event.aggregate_id.clone(),
            sequence: event.sequence,
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: event.created_at,
            last_error: None,
            created_at: event.created_at,
            sent_at: None,
        }
    }
}
