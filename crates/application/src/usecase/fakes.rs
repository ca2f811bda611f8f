//! In-memory fakes of every port, for unit tests of the use cases and of the HTTP adapter.
//!
//! Deterministic: a fixed clock (movable), counting ids and codes, a reversible "seal".
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use rekey_domain::{
    BearerToken, CodeHash, CodePolicy, Email, HumanProfile, KeyId, NewEvent, OrgId, Organization,
    Password, PlainCode, Principal, Role, Session, TokenHash, UrlTemplate, User, UserKind,
    UserState,
};

use crate::ports::{
    BudgetKey, Change, ClaimedMessage, Clock, CodeGenerator, CodeHasher, CurrentCode,
    DeliveryPolicy, DeliveryPorts, EmailMessage, EmailSender, IdGenerator, Jitter, Limits,
    LinkData, LinkRenderer, MessageData, MessageRenderer, OutboxEntry, OutboxStore, PasswordCode,
    PasswordHasher, PasswordStrength, Policies, Ports, Prunable, RateLimiter, RenderedMessage,
    Retention, SecretBox, SendError, SentEvent, SessionQuery, SessionStore, SkipReason, SmsMessage,
    SmsSender, StoreError, Taken, TemplateError, TokenMinter, TokenRecord, TokenStore, UserStore,
    Verdict,
};
use crate::{Failure, OutboxMessage, ResetMessagePayload, Sealed};

#[derive(Default)]
struct State {
    orgs: HashMap<OrgId, Organization>,
    users: HashMap<String, User>,
    passwords: HashMap<String, String>,
    events: Vec<NewEvent>,
    codes: HashMap<String, PasswordCode>,
    outbox: Vec<OutboxMessage>,
    tokens: Vec<TokenRecord>,
    /// Revoked tokens, by id, with when.
    revoked: HashMap<String, DateTime<Utc>>,
    sessions: HashMap<String, Session>,
    failures: Vec<StoreError>,
    delivery: HashMap<String, Delivery>,
    emails: Vec<EmailMessage>,
    sms: Vec<SmsMessage>,
    send_failures: Vec<SendError>,
    /// Event deliveries: target, event, status, attempts, next attempt.
    event_queue: Vec<FakeDelivery>,
    post_failures: Vec<SendError>,
    posted: Vec<(String, Vec<u8>)>,
    /// How long (on the fake clock) each email send takes; zero: at once.
    send_takes: TimeDelta,
    /// Whether lease renewals fail.
    renewals_fail: bool,
    /// Token buckets: theoretical arrival time and refusals since the last take.
    buckets: HashMap<String, (DateTime<Utc>, u32)>,
    /// How many passwords the strength estimator scored.
    strength_estimates: usize,
}

/// The delivery state of one outbox message.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `pending`, `sent`, `dead`, `skipped`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Next attempt.
    pub next_attempt_at: DateTime<Utc>,
    /// Last error or skip reason.
    pub last_error: Option<String>,
    /// Whether the sealed payload is still there.
    pub has_payload: bool,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
}

/// One queued event delivery.
#[derive(Debug, Clone)]
struct FakeDelivery {
    target: String,
    event: crate::ports::StoredEvent,
    status: &'static str,
    attempts: i32,
    next: DateTime<Utc>,
}

/// Every port at once, in memory.
pub struct Fake {
    state: Mutex<State>,
    now: Mutex<DateTime<Utc>>,
    counter: AtomicU64,
    policies: Policies,
    delivery: DeliveryPolicy,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fake")
    }
}

impl Default for Fake {
    fn default() -> Self {
        Self::new()
    }
}

/// A principal of `org` with `roles`.
pub fn principal(org: &str, roles: &[Role]) -> Principal {
    Principal {
        user_id: "caller".parse().unwrap(),
        org_id: org.parse().unwrap(),
        roles: roles.to_vec(),
    }
}

impl Fake {
    /// An empty world at 2026-01-01T00:00:00Z.
    pub fn new() -> Self {
        Self {
            state: Mutex::default(),
            now: Mutex::new("2026-01-01T00:00:00Z".parse().unwrap()),
            counter: AtomicU64::new(100),
            policies: Policies {
                code: CodePolicy::default(),
                ..Policies::default()
            },
            delivery: DeliveryPolicy {
                max_attempts: 3,
                public_url: "https://id.example.com/".into(),
                ..DeliveryPolicy::default()
            },
        }
    }

    /// An empty world with `limits` in force.
    pub fn with_limits(limits: Limits) -> Self {
        let mut fake = Self::new();
        fake.policies.limits = limits;
        fake
    }

    /// An empty world with ZITADEL's lockout policy at `max_password_attempts`.
    pub fn with_lockout(max_password_attempts: u32) -> Self {
        let mut fake = Self::new();
        fake.policies.lockout = rekey_domain::LockoutPolicy {
            max_password_attempts,
        };
        fake
    }

    /// An empty world whose new passwords must score `min_strength` (0: no estimate).
    pub fn with_min_strength(min_strength: u8) -> Self {
        let mut fake = Self::new();
        fake.policies.min_strength = min_strength;
        fake
    }

    /// How many passwords the strength estimator has scored.
    pub fn strength_estimates(&self) -> usize {
        self.state.lock().unwrap().strength_estimates
    }

    /// Queues a delivery of `event` to `target`, due now.
    pub fn queue_event(&self, target: &str, event: crate::ports::StoredEvent) {
        let next = self.now();
        self.state.lock().unwrap().event_queue.push(FakeDelivery {
            target: target.into(),
            event,
            status: "pending",
            attempts: 0,
            next,
        });
    }

    /// The next event posts fail with these errors, in order.
    pub fn fail_next_posts_with(&self, errors: Vec<SendError>) {
        self.state.lock().unwrap().post_failures = errors.into_iter().rev().collect();
    }

    /// The event bodies posted (and accepted) so far, with their targets.
    pub fn posted(&self) -> Vec<(String, Vec<u8>)> {
        self.state.lock().unwrap().posted.clone()
    }

    /// Emails sent so far.
    pub fn emails(&self) -> Vec<EmailMessage> {
        self.state.lock().unwrap().emails.clone()
    }

    /// SMS sent so far.
    pub fn sms(&self) -> Vec<SmsMessage> {
        self.state.lock().unwrap().sms.clone()
    }

    /// The next sends fail with these errors, in order.
    pub fn fail_next_sends_with(&self, errors: Vec<SendError>) {
        self.state.lock().unwrap().send_failures = errors.into_iter().rev().collect();
    }

    /// Each email send takes `takes` on the fake clock (it waits, yielding, until the clock
    /// has moved on that far).
    pub fn slow_sends(&self, takes: TimeDelta) {
        self.state.lock().unwrap().send_takes = takes;
    }

    /// Lease renewals fail (the store does not answer).
    pub fn fail_renewals(&self) {
        self.state.lock().unwrap().renewals_fail = true;
    }

    /// The delivery state of message `id`.
    pub fn delivery_of(&self, id: &str) -> Delivery {
        self.state.lock().unwrap().delivery[id].clone()
    }

    /// The fixed time.
    pub fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }

    /// Moves the clock.
    pub fn advance(&self, by: TimeDelta) {
        *self.now.lock().unwrap() += by;
    }

    /// Adds an organization (directly, no event) and returns its id.
    pub fn add_org(&self, id: &str, name: &str) -> OrgId {
        let org = Organization {
            id: id.parse().unwrap(),
            name: name.into(),
            sequence: 1,
            created_at: self.now(),
        };
        self.state.lock().unwrap().orgs.insert(org.id.clone(), org);
        id.parse().unwrap()
    }

    fn insert_user(&self, org: &str, state: UserState, kind: UserKind) -> String {
        let id = self.next_id();
        let user = User {
            id: id.parse().unwrap(),
            org_id: org.parse().unwrap(),
            username: format!("user{id}"),
            state,
            kind,
            sequence: 1,
            failed_password_attempts: 0,
            created_at: self.now(),
            changed_at: self.now(),
        };
        // The event the real `add_user` records for this kind of user.
        let event = match &user.kind {
            UserKind::Human(profile) => rekey_domain::Event::human_added(
                user.username.clone(),
                profile,
                false,
                user.state == UserState::Initial,
            ),
            UserKind::Machine { name } => rekey_domain::Event::MachineAdded {
                username: user.username.clone(),
                name: name.clone(),
            },
        };
        let event = NewEvent {
            aggregate_id: id.clone(),
            sequence: 1,
            event,
            resource_owner: user.org_id.clone(),
            creator: "SYSTEM".parse().unwrap(),
            created_at: self.now(),
        };
        let mut state = self.state.lock().unwrap();
        state.users.insert(id.clone(), user);
        state.events.push(event);
        id
    }

    /// Adds a human user of `org` in `state` and returns its id.
    pub fn add_human(&self, org: &str, state: UserState, phone: Option<&str>) -> String {
        let profile = HumanProfile {
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            display_name: "Ada Lovelace".into(),
            preferred_language: None,
            email: "ada@example.com".parse::<Email>().unwrap(),
            email_verified: true,
            phone: phone.map(|p| p.parse().unwrap()),
            phone_verified: false,
            password_change_required: false,
            password_changed: None,
        };
        self.insert_user(org, state, UserKind::Human(profile))
    }

    /// Adds a machine user of `org` and returns its id.
    pub fn add_machine(&self, org: &str) -> String {
        self.insert_user(
            org,
            UserState::Active,
            UserKind::Machine { name: "bot".into() },
        )
    }

    /// The principal of user `id` itself, with no roles.
    pub fn principal_of(&self, id: &str) -> Principal {
        let state = self.state.lock().unwrap();
        let user = &state.users[id];
        Principal {
            user_id: user.id.clone(),
            org_id: user.org_id.clone(),
            roles: vec![],
        }
    }

    /// A user as stored.
    pub fn user(&self, id: &str) -> Option<User> {
        self.state.lock().unwrap().users.get(id).cloned()
    }

    /// Sets a user's password hash directly.
    pub fn set_password_hash(&self, id: &str, hash: &str) {
        self.state
            .lock()
            .unwrap()
            .passwords
            .insert(id.to_owned(), hash.to_owned());
    }

    /// The stored password hash of a user.
    pub fn password_hash(&self, id: &str) -> Option<String> {
        self.state.lock().unwrap().passwords.get(id).cloned()
    }

    /// The current code row of a user.
    pub fn code_of(&self, id: &str) -> Option<PasswordCode> {
        self.state.lock().unwrap().codes.get(id).cloned()
    }

    /// The events of one aggregate, in order.
    pub fn events_of(&self, id: &str) -> Vec<NewEvent> {
        let state = self.state.lock().unwrap();
        state
            .events
            .iter()
            .filter(|e| e.aggregate_id == id)
            .cloned()
            .collect()
    }

    /// How many rows each "table" holds: organizations, users, events, codes, tokens,
    /// messages (as the store's `row_counts`, for the contract suite).
    pub fn row_counts(&self) -> [usize; 6] {
        let state = self.state.lock().unwrap();
        [
            state.orgs.len(),
            state.users.len(),
            state.events.len(),
            state.codes.len(),
            state.tokens.len(),
            state.outbox.len(),
        ]
    }

    /// Every queued message.
    pub fn outbox(&self) -> Vec<OutboxMessage> {
        self.state.lock().unwrap().outbox.clone()
    }

    /// Every stored token.
    pub fn token_records(&self) -> Vec<TokenRecord> {
        self.state.lock().unwrap().tokens.clone()
    }

    /// Opens a queued message's payload.
    pub fn open_payload(&self, message: &OutboxMessage) -> ResetMessagePayload {
        let context = crate::sealing_context(&message.id, &message.user_id);
        serde_json::from_slice(&self.open(&message.payload, &context).unwrap()).unwrap()
    }

    /// The next commits fail with these errors, in order.
    pub fn fail_next_commits_with(&self, errors: Vec<StoreError>) {
        let mut state = self.state.lock().unwrap();
        state.failures = errors.into_iter().rev().collect();
    }

    fn next_id(&self) -> String {
        self.counter.fetch_add(1, Ordering::Relaxed).to_string()
    }

    /// Queues a message as the outbox does: pending, due at once, payload present.
    fn enqueue(state: &mut State, message: OutboxMessage) {
        let delivery = Delivery {
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: message.next_attempt_at,
            last_error: None,
            has_payload: true,
            sent_at: None,
        };
        state.delivery.insert(message.id.clone(), delivery);
        state.outbox.push(message);
    }

    fn bump(state: &mut State, event: &NewEvent) -> Result<(), StoreError> {
        let user = state
            .users
            .get_mut(&event.aggregate_id)
            .ok_or_else(|| StoreError::Failure(Failure::Unexpected("no such user".into())))?;
        if user.sequence + 1 != event.sequence {
            return Err(StoreError::Conflict);
        }
        user.sequence = event.sequence;
        user.changed_at = event.created_at;
        state.events.push(event.clone());
        Ok(())
    }
}

impl UserStore for Fake {
    async fn user(&self, id: &rekey_domain::UserId) -> Result<Option<User>, Failure> {
        Ok(self.state.lock().unwrap().users.get(id.as_str()).cloned())
    }

    async fn organization(&self, id: &OrgId) -> Result<Option<Organization>, Failure> {
        Ok(self.state.lock().unwrap().orgs.get(id).cloned())
    }

    async fn users_by_login_name(&self, login_name: &str) -> Result<Vec<User>, Failure> {
        let wanted = login_name.to_lowercase();
        let state = self.state.lock().unwrap();
        let mut found: Vec<User> = state
            .users
            .values()
            .filter(|u| u.state != UserState::Deleted && u.username.to_lowercase() == wanted)
            .take(2)
            .cloned()
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    async fn password_hash(&self, id: &rekey_domain::UserId) -> Result<Option<String>, Failure> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .passwords
            .get(id.as_str())
            .cloned())
    }

    async fn password_code(
        &self,
        id: &rekey_domain::UserId,
    ) -> Result<Option<PasswordCode>, Failure> {
        Ok(self.state.lock().unwrap().codes.get(id.as_str()).cloned())
    }

    async fn count_code_attempt(
        &self,
        id: &rekey_domain::UserId,
        code_sequence: i64,
    ) -> Result<Option<i32>, Failure> {
        let mut state = self.state.lock().unwrap();
        Ok(state
            .codes
            .get_mut(id.as_str())
            .filter(|code| code.sequence == code_sequence)
            .map(|code| {
                code.failed_attempts += 1;
                code.failed_attempts
            }))
    }

    async fn is_empty(&self) -> Result<bool, Failure> {
        Ok(self.state.lock().unwrap().orgs.is_empty())
    }

    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap();
        if let Some(error) = state.failures.pop() {
            return Err(error);
        }
        match change {
            Change::AddOrganization { org, event } => {
                if state.orgs.values().any(|o| o.name == org.name) {
                    return Err(StoreError::Duplicate(Taken::OrgName));
                }
                if state.orgs.contains_key(&org.id) {
                    return Err(StoreError::Duplicate(Taken::OrgId));
                }
                state.orgs.insert(org.id.clone(), org);
                state.events.push(event);
            }
            Change::AddUser {
                user,
                password_hash,
                event,
            } => {
                if state.users.contains_key(user.id.as_str()) {
                    return Err(StoreError::Duplicate(Taken::UserId));
                }
                if state
                    .events
                    .iter()
                    .any(|e| e.aggregate_id == user.id.as_str())
                {
                    // A deleted user's events: the first event's key is taken.
                    return Err(StoreError::Conflict);
                }
                if state
                    .users
                    .values()
                    .any(|u| u.org_id == user.org_id && u.username == user.username)
                {
                    return Err(StoreError::Duplicate(Taken::Username));
                }
                if let Some(hash) = password_hash {
                    state.passwords.insert(user.id.to_string(), hash);
                }
                state.users.insert(user.id.to_string(), user);
                state.events.push(event);
            }
            Change::AddPasswordCode {
                code,
                event,
                message,
            } => {
                Self::bump(&mut state, &event)?;
                state.codes.insert(code.user_id.to_string(), code);
                if let Some(message) = message {
                    Self::enqueue(&mut state, message);
                }
            }
            Change::SetPassword {
                user_id,
                consumes_code,
                password_hash,
                change_required,
                event,
                message,
            } => {
                // As the store: the guard first, the required code next, the message last;
                // a refusal writes nothing.
                let code = state.codes.get(user_id.as_str()).map(|c| c.sequence);
                if state
                    .users
                    .get(user_id.as_str())
                    .is_some_and(|u| u.sequence + 1 != event.sequence)
                    || consumes_code.is_some_and(|wanted| code != Some(wanted))
                    || message.as_ref().is_some_and(|m| {
                        state
                            .outbox
                            .iter()
                            .any(|queued| queued.idempotency_key == m.idempotency_key)
                    })
                {
                    return Err(StoreError::Conflict);
                }
                Self::bump(&mut state, &event)?;
                state.passwords.insert(user_id.to_string(), password_hash);
                state.codes.remove(user_id.as_str());
                if let Some(message) = message {
                    Self::enqueue(&mut state, message);
                }
                if let Some(user) = state.users.get_mut(user_id.as_str()) {
                    user.failed_password_attempts = 0;
                    if let UserKind::Human(profile) = &mut user.kind {
                        profile.password_change_required = change_required;
                        profile.password_changed = Some(event.created_at);
                    }
                }
                // The user's sessions lose their password factor.
                for session in state.sessions.values_mut() {
                    if session.user.as_ref().is_some_and(|u| u.id == user_id) {
                        session.password_checked_at = None;
                    }
                }
            }
            Change::InvalidateCode {
                user_id,
                code_sequence,
                event,
            } => {
                Self::bump(&mut state, &event)?;
                if state
                    .codes
                    .get(user_id.as_str())
                    .is_some_and(|c| c.sequence == code_sequence)
                {
                    state.codes.remove(user_id.as_str());
                }
            }
            Change::AddToken { token, event } => {
                Self::bump(&mut state, &event)?;
                state.tokens.push(token);
            }
            Change::AppendEvent { event } => Self::bump(&mut state, &event)?,
            Change::SaveSession {
                session,
                events,
                password_checked,
            } => {
                let stored = state.sessions.get(&session.id).map_or(0, |s| s.sequence);
                let first = events.first().map_or(0, |e| e.sequence);
                if first != stored + 1 {
                    return Err(StoreError::Conflict);
                }
                if let Some(checked) = password_checked {
                    let still = state.passwords.get(checked.user_id.as_str())
                        == Some(&checked.hash)
                        && state
                            .users
                            .get(checked.user_id.as_str())
                            .is_some_and(|u| u.state.may_log_in());
                    if !still {
                        return Err(StoreError::Conflict);
                    }
                    if let Some(user) = state.users.get_mut(checked.user_id.as_str()) {
                        user.failed_password_attempts = 0;
                    }
                    if let Some(rehashed) = checked.rehashed {
                        state
                            .passwords
                            .insert(checked.user_id.to_string(), rehashed);
                    }
                }
                state.events.extend(events);
                state.sessions.insert(session.id.clone(), session);
            }
            Change::FailPasswordCheck {
                user_id,
                failed_attempts,
                locks,
                events,
            } => {
                let user = state.users.get(user_id.as_str()).ok_or_else(|| {
                    StoreError::Failure(Failure::Unexpected("no such user".into()))
                })?;
                if events
                    .first()
                    .is_none_or(|e| e.sequence != user.sequence + 1)
                {
                    return Err(StoreError::Conflict);
                }
                let last = events.last().map_or(user.sequence, |e| e.sequence);
                let at = events.last().map_or(user.changed_at, |e| e.created_at);
                let user = state.users.get_mut(user_id.as_str()).unwrap();
                user.sequence = last;
                user.changed_at = at;
                user.failed_password_attempts = failed_attempts;
                if locks {
                    user.state = UserState::Locked;
                    // ZITADEL deletes a locked user's sessions.
                    state
                        .sessions
                        .retain(|_, s| s.user.as_ref().is_none_or(|u| u.id != user_id));
                }
                state.events.extend(events);
            }
            Change::SetUserState {
                state: new_state,
                event,
            } => {
                let id = event.aggregate_id.clone();
                let unlocks = matches!(event.event, rekey_domain::Event::UserUnlocked {});
                Self::bump(&mut state, &event)?;
                if let Some(user) = state.users.get_mut(&id) {
                    user.state = new_state;
                    if unlocks {
                        user.failed_password_attempts = 0;
                    }
                }
                if matches!(new_state, UserState::Inactive | UserState::Locked) {
                    state
                        .sessions
                        .retain(|_, s| s.user.as_ref().is_none_or(|u| u.id.as_str() != id));
                }
            }
            Change::RemoveUser { event } => {
                let id = event.aggregate_id.clone();
                Self::bump(&mut state, &event)?;
                state.users.remove(&id);
                state.passwords.remove(&id);
                state.codes.remove(&id);
                state.tokens.retain(|t| t.user_id.as_str() != id);
                let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut state.outbox)
                    .into_iter()
                    .partition(|m| m.user_id.as_str() == id);
                state.outbox = kept;
                for message in gone {
                    state.delivery.remove(&message.id);
                }
                state
                    .sessions
                    .retain(|_, s| s.user.as_ref().is_none_or(|u| u.id.as_str() != id));
                // As the store empties their payloads: no address or name is left.
                for recorded in state.events.iter_mut().filter(|e| e.aggregate_id == id) {
                    use rekey_domain::Event::{HumanAdded, MachineAdded};
                    match &mut recorded.event {
                        HumanAdded {
                            username,
                            given_name,
                            family_name,
                            display_name,
                            preferred_language,
                            email,
                            phone,
                            ..
                        } => {
                            for text in [username, given_name, family_name, display_name, email] {
                                text.clear();
                            }
                            *preferred_language = None;
                            *phone = None;
                        }
                        MachineAdded { username, name } => {
                            username.clear();
                            name.clear();
                        }
                        _ => {}
                    }
                }
            }
            Change::RevokeToken { token_id, event } => {
                if state.revoked.contains_key(&token_id) {
                    return Err(StoreError::Conflict);
                }
                let at = event.created_at;
                Self::bump(&mut state, &event)?;
                state.revoked.insert(token_id, at);
            }
            Change::TerminateSession { event } => {
                let stored = state.sessions.get(&event.aggregate_id).map(|s| s.sequence);
                if stored != Some(event.sequence - 1) {
                    return Err(StoreError::Conflict);
                }
                state.sessions.remove(&event.aggregate_id);
                state.events.push(event);
            }
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), Failure> {
        Ok(())
    }
}

impl TokenStore for Fake {
    async fn principal(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, Failure> {
        let state = self.state.lock().unwrap();
        Ok(state
            .tokens
            .iter()
            .find(|t| &t.hash == hash && t.expires_at.is_none_or(|at| at > now))
            .filter(|t| !state.revoked.contains_key(&t.id))
            .filter(|t| {
                state
                    .users
                    .get(t.user_id.as_str())
                    .is_some_and(|u| u.state == UserState::Active)
            })
            .map(|t| Principal {
                user_id: t.user_id.clone(),
                org_id: t.org_id.clone(),
                roles: t.roles.clone(),
            }))
    }

    async fn tokens(
        &self,
        user: Option<&rekey_domain::UserId>,
    ) -> Result<Vec<crate::ports::TokenInfo>, Failure> {
        let state = self.state.lock().unwrap();
        Ok(state
            .tokens
            .iter()
            .filter(|t| user.is_none_or(|u| &t.user_id == u))
            .map(|t| crate::ports::TokenInfo {
                id: t.id.clone(),
                user_id: t.user_id.clone(),
                org_id: t.org_id.clone(),
                roles: t.roles.clone(),
                created_at: t.created_at,
                expires_at: t.expires_at,
                revoked_at: state.revoked.get(&t.id).copied(),
                last_used_at: None,
            })
            .collect())
    }
}

impl CodeGenerator for Fake {
    fn generate(&self, policy: &CodePolicy) -> Result<PlainCode, Failure> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        Ok(PlainCode::new(format!(
            "{n:0>width$}",
            width = policy.length()
        )))
    }
}

impl CodeHasher for Fake {
    fn hash(&self, code: &PlainCode) -> CodeHash {
        CodeHash {
            hash: format!("h({})", code.expose()),
            key_id: KeyId("k1".into()),
        }
    }

    fn verify(&self, code: &PlainCode, stored: &CodeHash) -> bool {
        CodeHasher::hash(self, code) == *stored
    }
}

/// Sealed bytes: the context, a NUL, then the plaintext with every byte XORed with 0x55.
impl SecretBox for Fake {
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, Failure> {
        let mut bytes = context.to_vec();
        bytes.push(0);
        bytes.extend(plaintext.iter().map(|b| b ^ 0x55));
        Ok(Sealed {
            key_id: KeyId("k1".into()),
            bytes,
        })
    }

    fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, Failure> {
        let sealed_for = sealed.bytes.get(..context.len());
        if sealed_for != Some(context) || sealed.bytes.get(context.len()) != Some(&0) {
            return Err(Failure::Unexpected("sealed for another message".into()));
        }
        Ok(sealed.bytes[context.len() + 1..]
            .iter()
            .map(|b| b ^ 0x55)
            .collect())
    }
}

impl TokenMinter for Fake {
    fn mint(&self) -> Result<BearerToken, Failure> {
        Ok(BearerToken::new(format!("token-{}", self.next_id())))
    }

    fn fingerprint(&self, token: &BearerToken) -> TokenHash {
        TokenHash(format!("fp({})", token.expose()))
    }

    fn mint_session(&self) -> Result<BearerToken, Failure> {
        Ok(BearerToken::new(format!("session-{}", self.next_id())))
    }

    fn matches(&self, token: &BearerToken, stored: &TokenHash) -> bool {
        &TokenMinter::fingerprint(self, token) == stored
    }
}

impl SessionStore for Fake {
    async fn session(&self, id: &str) -> Result<Option<Session>, Failure> {
        Ok(self.state.lock().unwrap().sessions.get(id).cloned())
    }

    async fn sessions(&self, query: &SessionQuery) -> Result<(Vec<Session>, u64), Failure> {
        let state = self.state.lock().unwrap();
        let mut found: Vec<Session> = state
            .sessions
            .values()
            .filter(|s| query.ids.as_ref().is_none_or(|ids| ids.contains(&s.id)))
            .filter(|s| {
                query
                    .user_id
                    .as_ref()
                    .is_none_or(|id| s.user.as_ref().is_some_and(|u| &u.id == id))
            })
            .filter(|s| query.creator.as_ref().is_none_or(|c| &s.creator == c))
            .cloned()
            .collect();
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        if !query.ascending {
            found.reverse();
        }
        let total = found.len() as u64;
        let page = found
            .into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(query.limit as usize)
            .collect();
        Ok((page, total))
    }
}

impl PasswordHasher for Fake {
    async fn hash(&self, password: Password) -> Result<String, Failure> {
        let reversed: String = password.expose().chars().rev().collect();
        Ok(format!("$fake${reversed}"))
    }

    /// Also verifies `$old$` + the reversed password: an imported hash, never current.
    async fn verify(&self, password: Password, hash: String) -> Result<bool, Failure> {
        let current = PasswordHasher::hash(self, password).await?;
        Ok(current == hash || hash.strip_prefix("$old$") == current.strip_prefix("$fake$"))
    }

    fn check_imported(&self, hash: &str) -> Result<(), String> {
        if hash.starts_with("$old$") || hash.starts_with("$fake$") {
            Ok(())
        } else {
            Err("unknown hash format".into())
        }
    }

    fn is_current(&self, hash: &str) -> bool {
        hash.starts_with("$fake$")
    }
}

impl PasswordStrength for Fake {
    /// Scores by length: 12+ characters is 4, 10+ is 3, else 1.
    fn estimate(&self, password: &Password, _: &[&str]) -> (u8, Option<String>) {
        self.state.lock().unwrap().strength_estimates += 1;
        match password.expose().chars().count() {
            12.. => (4, None),
            10..=11 => (3, None),
            _ => (1, Some("too short".into())),
        }
    }
}

impl LinkRenderer for Fake {
    fn validate(&self, template: &UrlTemplate) -> Result<(), TemplateError> {
        self.render(
            template.as_str(),
            &LinkData {
                user_id: "u",
                org_id: "o",
                code: "c",
            },
        )
        .map(drop)
    }

    fn render(&self, template: &str, data: &LinkData<'_>) -> Result<String, TemplateError> {
        if template.matches("{{").count() != template.matches("}}").count() {
            return Err(TemplateError::Parse("unbalanced braces".into()));
        }
        let out = template
            .replace("{{.UserID}}", data.user_id)
            .replace("{{.OrgID}}", data.org_id)
            .replace("{{.Code}}", data.code);
        if out.contains("{{") {
            return Err(TemplateError::Render("unknown placeholder".into()));
        }
        Ok(out)
    }
}

impl Clock for Fake {
    fn now(&self) -> DateTime<Utc> {
        Fake::now(self)
    }
}

impl IdGenerator for Fake {
    fn next_id(&self) -> String {
        Fake::next_id(self)
    }
}

impl RateLimiter for Fake {
    async fn take(&self, keys: &[BudgetKey], now: DateTime<Utc>) -> Result<Verdict, Failure> {
        let mut state = self.state.lock().unwrap();
        let mut taken = Vec::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            let bucket = state.buckets.get(&key.key).copied();
            match key.budget.take(bucket.map(|(tat, _)| tat), now) {
                Ok(tat) => taken.push((key.key.clone(), tat)),
                Err(retry_after) => {
                    let entry = state.buckets.entry(key.key.clone()).or_insert((now, 0));
                    entry.1 += 1;
                    return Ok(Verdict::Refused {
                        index,
                        retry_after,
                        first: entry.1 == 1,
                    });
                }
            }
        }
        for (key, tat) in taken {
            state.buckets.insert(key, (tat, 0));
        }
        Ok(Verdict::Allowed)
    }

    async fn spent(
        &self,
        key: &BudgetKey,
        now: DateTime<Utc>,
    ) -> Result<Option<TimeDelta>, Failure> {
        let state = self.state.lock().unwrap();
        let tat = state.buckets.get(&key.key).map(|(tat, _)| *tat);
        Ok(key.budget.take(tat, now).err())
    }

    async fn give_back(&self, keys: &[BudgetKey]) -> Result<(), Failure> {
        let mut state = self.state.lock().unwrap();
        for key in keys {
            if let Some(bucket) = state.buckets.get_mut(&key.key) {
                bucket.0 -= key.budget.interval();
            }
        }
        Ok(())
    }
}

impl Ports for Fake {
    type Users = Fake;
    type Tokens = Fake;
    type Codes = Fake;
    type CodeHashes = Fake;
    type Sealer = Fake;
    type Minter = Fake;
    type Passwords = Fake;
    type Strength = Fake;
    type Links = Fake;
    type Clock = Fake;
    type Ids = Fake;
    type Limiter = Fake;
    type Sessions = Fake;

    fn users(&self) -> &Fake {
        self
    }
    fn tokens(&self) -> &Fake {
        self
    }
    fn codes(&self) -> &Fake {
        self
    }
    fn code_hashes(&self) -> &Fake {
        self
    }
    fn sealer(&self) -> &Fake {
        self
    }
    fn minter(&self) -> &Fake {
        self
    }
    fn passwords(&self) -> &Fake {
        self
    }
    fn strength(&self) -> &Fake {
        self
    }
    fn links(&self) -> &Fake {
        self
    }
    fn clock(&self) -> &Fake {
        self
    }
    fn ids(&self) -> &Fake {
        self
    }
    fn limiter(&self) -> &Fake {
        self
    }
    fn sessions(&self) -> &Fake {
        self
    }
    fn policies(&self) -> &Policies {
        &self.policies
    }
}

impl OutboxStore for Fake {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<ClaimedMessage>, Failure> {
        let mut state = self.state.lock().unwrap();
        let messages = state.outbox.clone();
        let mut claimed = Vec::new();
        for message in messages {
            if claimed.len() == limit as usize {
                break;
            }
            let delivery = state.delivery.get_mut(&message.id).unwrap();
            if delivery.status != "pending" || delivery.next_attempt_at > now {
                continue;
            }
            delivery.attempts += 1;
            delivery.next_attempt_at = now + lease;
            claimed.push(ClaimedMessage {
                id: message.id.clone(),
                kind: message.kind.to_owned(),
                user_id: message.user_id.clone(),
                channel: message.channel,
                recipient_masked: message.recipient_masked.clone(),
                payload: delivery.has_payload.then(|| message.payload.clone()),
                code_sequence: message.code_sequence,
                idempotency_key: message.idempotency_key.clone(),
                attempts: delivery.attempts,
                trace_context: message.trace_context.clone(),
            });
        }
        Ok(claimed)
    }

    async fn renew(
        &self,
        ids: &[&str],
        leased_until: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<String>, Failure> {
        let mut state = self.state.lock().unwrap();
        if state.renewals_fail {
            return Err(Failure::Unavailable("the fake store is down".into()));
        }
        let mut renewed = Vec::new();
        for id in ids {
            if let Some(delivery) = state.delivery.get_mut(*id)
                && delivery.status == "pending"
                && delivery.next_attempt_at == leased_until
            {
                delivery.next_attempt_at = until;
                renewed.push((*id).to_owned());
            }
        }
        Ok(renewed)
    }

    async fn current_codes(
        &self,
        users: &[rekey_domain::UserId],
    ) -> Result<Vec<(rekey_domain::UserId, CurrentCode)>, Failure> {
        let state = self.state.lock().unwrap();
        Ok(users
            .iter()
            .filter_map(|user| {
                let code = state.codes.get(user.as_str())?;
                let current = CurrentCode {
                    sequence: code.sequence,
                    expires_at: code.expires_at,
                };
                Some((user.clone(), current))
            })
            .collect())
    }

    async fn mark_sent(&self, sent: &[(&str, SentEvent)]) -> Result<(), Failure> {
        let mut state = self.state.lock().unwrap();
        for (id, event) in sent {
            let delivery = state.delivery.get_mut(*id).unwrap();
            if delivery.status != "pending" {
                continue;
            }
            delivery.status = "sent".into();
            delivery.has_payload = false;
            delivery.sent_at = Some(event.at);
            let sequence = state.users[event.user_id.as_str()].sequence + 1;
            let new_event = NewEvent {
                aggregate_id: event.user_id.to_string(),
                sequence,
                event: event.event.clone(),
                resource_owner: event.org_id.clone(),
                creator: "SYSTEM".parse().unwrap(),
                created_at: event.at,
            };
            Self::bump(&mut state, &new_event).map_err(|e| Failure::Unexpected(e.to_string()))?;
        }
        Ok(())
    }

    async fn mark_retry(&self, id: &str, at: DateTime<Utc>, error: &str) -> Result<(), Failure> {
        let mut state = self.state.lock().unwrap();
        // As the store: only a message that is still pending changes.
        let Some(delivery) = state.delivery.get_mut(id).filter(|d| d.status == "pending") else {
            return Ok(());
        };
        delivery.next_attempt_at = at;
        delivery.last_error = Some(error.into());
        Ok(())
    }

    async fn mark_dead(&self, id: &str, error: &str) -> Result<(), Failure> {
        let mut state = self.state.lock().unwrap();
        let Some(delivery) = state.delivery.get_mut(id).filter(|d| d.status == "pending") else {
            return Ok(());
        };
        delivery.status = "dead".into();
        delivery.last_error = Some(error.into());
        Ok(())
    }

    async fn mark_skipped(&self, skipped: &[(&str, SkipReason)]) -> Result<(), Failure> {
        let mut state = self.state.lock().unwrap();
        for (id, reason) in skipped {
            let Some(delivery) = state
                .delivery
                .get_mut(*id)
                .filter(|d| d.status == "pending")
            else {
                continue;
            };
            delivery.status = "skipped".into();
            delivery.last_error = Some(reason.as_str().into());
            delivery.has_payload = false;
        }
        Ok(())
    }

    async fn list(&self, status: Option<&str>, limit: u32) -> Result<Vec<OutboxEntry>, Failure> {
        let state = self.state.lock().unwrap();
        Ok(state
            .outbox
            .iter()
            .rev()
            .filter(|m| status.is_none_or(|s| state.delivery[&m.id].status == s))
            .take(limit as usize)
            .map(|m| {
                let d = &state.delivery[&m.id];
                OutboxEntry {
                    id: m.id.clone(),
                    kind: m.kind.to_owned(),
                    channel: m.channel,
                    recipient_masked: m.recipient_masked.clone(),
                    status: d.status.clone(),
                    attempts: d.attempts,
                    next_attempt_at: d.next_attempt_at,
                    last_error: d.last_error.clone(),
                    created_at: m.created_at,
                }
            })
            .collect())
    }

    async fn retry(&self, id: &str, now: DateTime<Utc>) -> Result<bool, Failure> {
        let mut state = self.state.lock().unwrap();
        match state.delivery.get_mut(id) {
            Some(d) if d.status == "dead" => {
                d.status = "pending".into();
                d.attempts = 0;
                d.next_attempt_at = now;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl Retention for Fake {
    async fn prune(
        &self,
        what: Prunable,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, Failure> {
        let mut state = self.state.lock().unwrap();
        let state = &mut *state;
        let limit = limit as usize;
        let doomed: Vec<String> = match what {
            Prunable::SentMessages | Prunable::EndedMessages => state
                .outbox
                .iter()
                .filter(|m| {
                    let d = &state.delivery[&m.id];
                    match (what, d.status.as_str()) {
                        (Prunable::SentMessages, "sent") => d.sent_at.is_some_and(|at| at < before),
                        (Prunable::EndedMessages, "dead" | "skipped") => d.next_attempt_at < before,
                        _ => false,
                    }
                })
                .map(|m| m.id.clone())
                .take(limit)
                .collect(),
            Prunable::ExpiredCodes => state
                .codes
                .iter()
                .filter(|(_, code)| code.expires_at < before)
                .map(|(user, _)| user.clone())
                .take(limit)
                .collect(),
            Prunable::FullBuckets => state
                .buckets
                .iter()
                .filter(|(_, (tat, _))| *tat < before)
                .map(|(key, _)| key.clone())
                .take(limit)
                .collect(),
            Prunable::EndedEvents => state
                .event_queue
                .iter()
                .enumerate()
                .filter(|(_, d)| d.status != "pending" && d.event.created_at < before)
                .map(|(index, _)| index.to_string())
                .take(limit)
                .collect(),
        };
        for key in &doomed {
            match what {
                Prunable::SentMessages | Prunable::EndedMessages => {
                    state.outbox.retain(|m| m.id != *key);
                    state.delivery.remove(key);
                }
                Prunable::ExpiredCodes => drop(state.codes.remove(key)),
                Prunable::FullBuckets => drop(state.buckets.remove(key)),
                // Kept in place (their index is their id), but ended for good.
                Prunable::EndedEvents => {
                    state.event_queue[key.parse::<usize>().unwrap()].status = "pruned";
                }
            }
        }
        Ok(doomed.len() as u64)
    }
}

impl EmailSender for Fake {
    async fn send(&self, message: &EmailMessage) -> Result<(), SendError> {
        let takes = self.state.lock().unwrap().send_takes;
        let done = self.now() + takes;
        while self.now() < done {
            YieldOnce(false).await;
        }
        let mut state = self.state.lock().unwrap();
        if let Some(error) = state.send_failures.pop() {
            return Err(error);
        }
        state.emails.push(message.clone());
        Ok(())
    }
}

impl SmsSender for Fake {
    async fn send(&self, message: &SmsMessage) -> Result<(), SendError> {
        let mut state = self.state.lock().unwrap();
        if let Some(error) = state.send_failures.pop() {
            return Err(error);
        }
        state.sms.push(message.clone());
        Ok(())
    }
}

impl MessageRenderer for Fake {
    fn password_changed(&self, data: &MessageData<'_>) -> Result<RenderedMessage, TemplateError> {
        Ok(RenderedMessage {
            subject: "Password changed".into(),
            html: format!("<a href=\"{}\">Login</a>", data.link),
            text: format!(
                "Hello {}, your password was changed. {}",
                data.display_name, data.link
            ),
            sms: String::new(),
            template_data: vec![],
        })
    }

    fn password_reset(&self, data: &MessageData<'_>) -> Result<RenderedMessage, TemplateError> {
        let german = data.language.is_some_and(|l| l.starts_with("de"));
        let subject = if german {
            "Passwort zurücksetzen"
        } else {
            "Reset password"
        };
        Ok(RenderedMessage {
            subject: subject.into(),
            html: format!("<a href=\"{}\">{subject}</a>", data.link),
            text: format!(
                "Hello {}, {} (Code {})",
                data.display_name, data.link, data.code
            ),
            sms: format!("{subject}: {}", data.link),
            template_data: vec![("url".into(), data.link.into())],
        })
    }
}

impl Jitter for Fake {
    fn below(&self, max: TimeDelta) -> TimeDelta {
        max / 2
    }
}

impl crate::ports::EventOutbox for Fake {
    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<crate::ports::EventDelivery>, Failure> {
        let mut state = self.state.lock().unwrap();
        let mut claimed = Vec::new();
        for (index, delivery) in state.event_queue.iter_mut().enumerate() {
            if claimed.len() >= limit as usize {
                break;
            }
            if delivery.status == "pending" && delivery.next <= now {
                delivery.attempts += 1;
                delivery.next = now + lease;
                claimed.push(crate::ports::EventDelivery {
                    id: index.to_string(),
                    target: delivery.target.clone(),
                    attempts: delivery.attempts,
                    event: delivery.event.clone(),
                });
            }
        }
        Ok(claimed)
    }

    async fn event_sent(&self, id: &str, _at: DateTime<Utc>) -> Result<(), Failure> {
        let mut state = self.state.lock().unwrap();
        state.event_queue[id.parse::<usize>().unwrap()].status = "sent";
        Ok(())
    }

    async fn event_failed(
        &self,
        id: &str,
        next: Option<DateTime<Utc>>,
        _error: &str,
    ) -> Result<(), Failure> {
        let mut state = self.state.lock().unwrap();
        let delivery = &mut state.event_queue[id.parse::<usize>().unwrap()];
        match next {
            Some(at) => delivery.next = at,
            None => delivery.status = "dead",
        }
        Ok(())
    }
}

impl crate::ports::EventSender for Fake {
    async fn post(&self, target: &str, body: &[u8]) -> Result<(), SendError> {
        let mut state = self.state.lock().unwrap();
        if let Some(error) = state.post_failures.pop() {
            return Err(error);
        }
        state.posted.push((target.to_owned(), body.to_vec()));
        Ok(())
    }
}

impl DeliveryPorts for Fake {
    type Events = Fake;
    type Hooks = Fake;
    type Outbox = Fake;
    type Sealer = Fake;
    type Links = Fake;
    type Messages = Fake;
    type Email = Fake;
    type Sms = Fake;
    type Clock = Fake;
    type Jitter = Fake;

    fn outbox(&self) -> &Fake {
        self
    }
    fn events(&self) -> &Fake {
        self
    }
    fn hooks(&self) -> &Fake {
        self
    }
    fn instance_id(&self) -> &str {
        self.policies.instance_id.as_str()
    }
    fn sealer(&self) -> &Fake {
        self
    }
    fn links(&self) -> &Fake {
        self
    }
    fn messages(&self) -> &Fake {
        self
    }
    fn email(&self) -> &Fake {
        self
    }
    fn sms(&self) -> &Fake {
        self
    }
    fn clock(&self) -> &Fake {
        self
    }
    fn jitter(&self) -> &Fake {
        self
    }
    fn delivery(&self) -> &DeliveryPolicy {
        &self.delivery
    }
    /// Lets other tasks run once, then moves the fake clock on by `duration`.
    async fn sleep(&self, duration: std::time::Duration) {
        YieldOnce(false).await;
        self.advance(TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX));
    }
}

/// Pending once (waking itself), then ready: a yield without a runtime.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}
