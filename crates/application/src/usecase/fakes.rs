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
    Password, PlainCode, Principal, Role, TokenHash, UrlTemplate, User, UserKind, UserState,
};

use crate::ports::{
    Change, Clock, CodeGenerator, CodeHasher, IdGenerator, LinkData, LinkRenderer, PasswordCode,
    PasswordHasher, Policies, Ports, SecretBox, StoreError, TemplateError, TokenMinter,
    TokenRecord, TokenStore, UserStore,
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
    failures: Vec<StoreError>,
}

/// Every port at once, in memory.
pub struct Fake {
    state: Mutex<State>,
    now: Mutex<DateTime<Utc>>,
    counter: AtomicU64,
    policies: Policies,
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
        }
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
            created_at: self.now(),
            changed_at: self.now(),
        };
        let event = NewEvent {
            aggregate_id: id.clone(),
            sequence: 1,
            event: rekey_domain::Event::MachineAdded {
                username: user.username.clone(),
                name: String::new(),
            },
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
        serde_json::from_slice(&self.open(&message.payload).unwrap()).unwrap()
    }

    /// The next commits fail with these errors, in order.
    pub fn fail_next_commits_with(&self, errors: Vec<StoreError>) {
        let mut state = self.state.lock().unwrap();
        state.failures = errors.into_iter().rev().collect();
    }

    fn next_id(&self) -> String {
        self.counter.fetch_add(1, Ordering::Relaxed).to_string()
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
                    return Err(StoreError::Duplicate("org_name"));
                }
                if state.orgs.contains_key(&org.id) {
                    return Err(StoreError::Duplicate("org_id"));
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
                    return Err(StoreError::Duplicate("user_id"));
                }
                if state
                    .users
                    .values()
                    .any(|u| u.org_id == user.org_id && u.username == user.username)
                {
                    return Err(StoreError::Duplicate("username"));
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
                state.outbox.extend(message);
            }
            Change::AddToken { token, event } => {
                Self::bump(&mut state, &event)?;
                state.tokens.push(token);
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

impl SecretBox for Fake {
    fn seal(&self, plaintext: &[u8]) -> Result<Sealed, Failure> {
        Ok(Sealed {
            key_id: KeyId("k1".into()),
            bytes: plaintext.iter().map(|b| b ^ 0x55).collect(),
        })
    }

    fn open(&self, sealed: &Sealed) -> Result<Vec<u8>, Failure> {
        Ok(sealed.bytes.iter().map(|b| b ^ 0x55).collect())
    }
}

impl TokenMinter for Fake {
    fn mint(&self) -> Result<BearerToken, Failure> {
        Ok(BearerToken::new(format!("token-{}", self.next_id())))
    }

    fn fingerprint(&self, token: &BearerToken) -> TokenHash {
        TokenHash(format!("fp({})", token.expose()))
    }
}

impl PasswordHasher for Fake {
    async fn hash(&self, password: Password) -> Result<String, Failure> {
        Ok(format!("$fake${}", password.expose().len()))
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

impl Ports for Fake {
    type Users = Fake;
    type Tokens = Fake;
    type Codes = Fake;
    type CodeHashes = Fake;
    type Sealer = Fake;
    type Minter = Fake;
    type Passwords = Fake;
    type Links = Fake;
    type Clock = Fake;
    type Ids = Fake;

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
    fn links(&self) -> &Fake {
        self
    }
    fn clock(&self) -> &Fake {
        self
    }
    fn ids(&self) -> &Fake {
        self
    }
    fn policies(&self) -> &Policies {
        &self.policies
    }
}
