//! The ports: traits the use cases call and the adapters implement.
//!
//! Ports are native `async fn` traits (`impl Future + Send`), so they are not dyn-compatible:
//! use cases are generic over [`Ports`], and a backend chosen at run time is an enum inside
//! its adapter.

use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};
use rekey_domain::{
    BearerToken, CodeHash, CodePolicy, LockoutPolicy, NewEvent, NotificationType, OrgId,
    Organization, Password, PasswordPolicy, PlainCode, Principal, Role, Session, TokenHash,
    UrlTemplate, User, UserId, UserState,
};

use crate::{Failure, OutboxMessage, Sealed};

/// The current time. Tests use a fixed clock, so expiry is tested without sleeping.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// New ids for organizations, users, tokens and messages.
pub trait IdGenerator: Send + Sync {
    /// A fresh id, unique across instances sharing a database.
    fn next_id(&self) -> String;
}

/// Makes new verification codes.
pub trait CodeGenerator: Send + Sync {
    /// A fresh code of `policy.length()` characters, each drawn uniformly from `policy.alphabet()`.
    ///
    /// # Errors
    /// [`Failure::Unexpected`] when the system's randomness source fails.
    fn generate(&self, policy: &CodePolicy) -> Result<PlainCode, Failure>;
}

/// Hashes codes for storage with a server-side key, and verifies them in constant time.
pub trait CodeHasher: Send + Sync {
    /// The keyed hash of `code` under the current key.
    fn hash(&self, code: &PlainCode) -> CodeHash;
    /// Whether `code` hashes to `stored` under the key `stored` names, compared in constant
    /// time. A hash made with an unknown key never verifies.
    fn verify(&self, code: &PlainCode, stored: &CodeHash) -> bool;
}

/// Encrypts payloads that must be stored but carry a secret (the code of a queued message).
pub trait SecretBox: Send + Sync {
    /// Encrypts `plaintext` under the current key, and authenticates it together with
    /// `context` (what the payload belongs to: [`crate::sealing_context`] of its message), so
    /// that it cannot be moved to another message or user.
    ///
    /// # Errors
    /// [`Failure::Unexpected`] when encryption or the randomness source fails.
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, Failure>;
    /// Decrypts what [`SecretBox::seal`] made, with the key it names, under the same
    /// `context`. An adapter MAY also open payloads sealed before contexts were bound (still
    /// queued from an older version).
    ///
    /// # Errors
    /// [`Failure::Unexpected`] for an unknown key, tampered bytes or another context.
    fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, Failure>;
}

/// Issues bearer tokens and fingerprints them for lookup.
pub trait TokenMinter: Send + Sync {
    /// A fresh, unguessable token.
    ///
    /// # Errors
    /// [`Failure::Unexpected`] when the randomness source fails.
    fn mint(&self) -> Result<BearerToken, Failure>;
    /// The stored fingerprint of a token.
    fn fingerprint(&self, token: &BearerToken) -> TokenHash;

    /// A new session token (`CreateSession`, `SetSession`): as random as [`Self::mint`],
    /// told apart from personal access tokens by its prefix.
    ///
    /// # Errors
    /// [`Failure`] when the system's randomness fails.
    fn mint_session(&self) -> Result<BearerToken, Failure>;

    /// Whether `token`'s fingerprint is `stored`, compared in constant time.
    fn matches(&self, token: &BearerToken, stored: &TokenHash) -> bool;
}

/// Hashes passwords (slow by design: the adapter runs it off the async workers).
pub trait PasswordHasher: Send + Sync {
    /// A PHC string of `password`.
    ///
    /// # Errors
    /// [`Failure::Unexpected`] when hashing fails.
    fn hash(&self, password: Password) -> impl Future<Output = Result<String, Failure>> + Send;

    /// Whether `password` matches the PHC string `hash`.
    ///
    /// # Errors
    /// [`Failure::Unexpected`] when the hash cannot be checked (a malformed PHC string).
    fn verify(
        &self,
        password: Password,
        hash: String,
    ) -> impl Future<Output = Result<bool, Failure>> + Send;

    /// Whether `hash`, made by another system (an import), is one this hasher can verify, or
    /// why not, in a sentence that does not repeat the hash.
    ///
    /// # Errors
    /// The reason, when it cannot.
    fn check_imported(&self, hash: &str) -> Result<(), String>;

    /// Whether `hash` is in this hasher's scheme with its current parameters: a password that
    /// matches a hash that is not is hashed again, in the same commit.
    fn is_current(&self, hash: &str) -> bool;
}

/// Estimates how guessable a password is.
pub trait PasswordStrength: Send + Sync {
    /// A score from 0 (guessed at once) to 4 (very hard), counting `user_inputs` (name, email,
    /// …) as known to an attacker, and a warning to show when it is low.
    fn estimate(&self, password: &Password, user_inputs: &[&str]) -> (u8, Option<String>);
}

/// A url template could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// It does not parse (ZITADEL's `DOMAIN-oGh5e`).
    #[error("URL template does not parse: {0}")]
    Parse(String),
    /// It parses but does not render with `UserID`, `Code` and `OrgID` alone (`DOMAIN-ieYa7`).
    #[error("URL template does not render: {0}")]
    Render(String),
    /// It renders, but not to an absolute `https:` or `http:` URL (rekey goes further than
    /// ZITADEL, which takes `javascript:` links). The text says what the link is instead.
    #[error("URL template must give an absolute https: or http: link; {0}")]
    NotHttp(String),
}

/// The values a link is rendered with.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkData<'a> {
    /// `UserID`.
    pub user_id: &'a str,
    /// `OrgID`.
    pub org_id: &'a str,
    /// `Code`.
    pub code: &'a str,
}

impl std::fmt::Debug for LinkData<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkData")
            .field("user_id", &self.user_id)
            .field("org_id", &self.org_id)
            .field("code", &"<redacted>")
            .finish()
    }
}

/// Validates and renders url templates.
pub trait LinkRenderer: Send + Sync {
    /// Checks that `template` parses and renders with sample values for `UserID`, `Code` and
    /// `OrgID` and nothing else, and that every link it renders is an absolute `https:` or
    /// `http:` URL, checked in this order.
    ///
    /// # Errors
    /// [`TemplateError`] saying which check failed.
    fn validate(&self, template: &UrlTemplate) -> Result<(), TemplateError>;
    /// Renders `template` with `data`, each value inserted URL-safe.
    ///
    /// # Errors
    /// [`TemplateError`] as for [`LinkRenderer::validate`].
    fn render(&self, template: &str, data: &LinkData<'_>) -> Result<String, TemplateError>;
}

/// The current reset code of a user (one row per user; a new code replaces the old).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordCode {
    /// The user.
    pub user_id: UserId,
    /// Keyed hash of the code.
    pub hash: CodeHash,
    /// Issued at.
    pub created_at: DateTime<Utc>,
    /// Valid until.
    pub expires_at: DateTime<Utc>,
    /// The sequence of the event that issued it.
    pub sequence: i64,
    /// Wrong attempts so far.
    pub failed_attempts: i32,
    /// Channel, when a link is sent.
    pub notification_type: Option<NotificationType>,
    /// The request's url template, if any.
    pub url_template: Option<String>,
    /// Whether the code was returned to the caller.
    pub returned: bool,
}

/// A personal access token as stored: only its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Id.
    pub id: String,
    /// Fingerprint of the token.
    pub hash: TokenHash,
    /// Owner.
    pub user_id: UserId,
    /// Owner's organization.
    pub org_id: OrgId,
    /// Roles.
    pub roles: Vec<Role>,
    /// Issued at.
    pub created_at: DateTime<Utc>,
    /// Valid until, if it expires.
    pub expires_at: Option<DateTime<Utc>>,
}

/// One atomic change: its event(s), the state rows it updates and the messages it queues.
///
/// A store commits a change in one transaction. Appending the event is guarded by the
/// aggregate's sequence: if another change got there first, nothing is written and the store
/// answers [`StoreError::Conflict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new organization (its first event).
    AddOrganization {
        /// The organization.
        org: Organization,
        /// `org.added`.
        event: NewEvent,
    },
    /// A new user (its first event).
    AddUser {
        /// The user.
        user: User,
        /// PHC hash of its initial password, if any.
        password_hash: Option<String>,
        /// `user.human.added` or `user.machine.added`.
        event: NewEvent,
    },
    /// A new reset code replacing any previous one, and the message that delivers it.
    AddPasswordCode {
        /// The code row.
        code: PasswordCode,
        /// `user.human.password.code.added`.
        event: NewEvent,
        /// The message, for `sendLink` and an absent medium.
        message: Option<OutboxMessage>,
    },
    /// A new password; deletes the user's reset code in the same transaction.
    SetPassword {
        /// The user.
        user_id: UserId,
        /// The sequence of the code that proved this change, if one did. The store consumes
        /// exactly that code in the same transaction and answers [`StoreError::Conflict`]
        /// (writing nothing) when it is no longer there: a code proves one change only.
        consumes_code: Option<i64>,
        /// PHC hash of the new password.
        password_hash: String,
        /// Whether it must be changed at the next login.
        change_required: bool,
        /// `user.human.password.changed`.
        event: NewEvent,
        /// The "password changed" notice, when enabled.
        message: Option<OutboxMessage>,
    },
    /// Too many wrong codes: deletes the code.
    InvalidateCode {
        /// The user.
        user_id: UserId,
        /// The sequence of the code being invalidated (only that code is deleted).
        code_sequence: i64,
        /// `user.human.password.code.invalidated`.
        event: NewEvent,
    },
    /// Only an event on a user, changing nothing else (e.g. `user.limit.exceeded`).
    AppendEvent {
        /// The event.
        event: NewEvent,
    },
    /// A new token for a user.
    AddToken {
        /// The token row.
        token: TokenRecord,
        /// `user.token.added`.
        event: NewEvent,
    },
    /// A session created (its first event has sequence 1) or changed, with a new token.
    SaveSession {
        /// The session as it is after the change; its sequence is the last event's.
        session: Session,
        /// The session's events, in order, numbered from the stored sequence + 1.
        events: Vec<NewEvent>,
        /// The password this change checked, if it checked one. The store commits only while
        /// it is still the user's (a reset in between answers [`StoreError::Conflict`]) and
        /// the user may still log in, and starts the user's count of wrong passwords again.
        password_checked: Option<CheckedPassword>,
    },
    /// A wrong password: the user's count of wrong passwords in a row, and a lock when the
    /// lockout policy says so.
    FailPasswordCheck {
        /// The user.
        user_id: UserId,
        /// The count after this one.
        failed_attempts: u32,
        /// Whether this attempt locks the user.
        locks: bool,
        /// `user.human.password.check.failed`, then `user.locked` when it locks.
        events: Vec<NewEvent>,
    },
    /// A user's state set by an administrator (deactivated, reactivated, locked, unlocked).
    /// Leaving the active states (inactive, locked) ends the user's sessions; unlocking starts
    /// the count of wrong passwords again.
    SetUserState {
        /// The new state.
        state: UserState,
        /// `user.deactivated`, `user.reactivated`, `user.locked` or `user.unlocked`.
        event: NewEvent,
    },
    /// A user deleted: its rows go (user, code, tokens, sessions, queued messages and event
    /// deliveries), and the payloads of its `user.human.added` / `user.machine.added` events
    /// are emptied, so no address or name of it is left; the events themselves stay, with
    /// `user.removed` last.
    RemoveUser {
        /// `user.removed`.
        event: NewEvent,
    },
    /// A token revoked: it no longer authenticates (its row stays, for the list).
    RevokeToken {
        /// The token.
        token_id: String,
        /// `user.token.removed` on the token's user.
        event: NewEvent,
    },
    /// A session ended: its row goes, its events stay.
    TerminateSession {
        /// `session.terminated`.
        event: NewEvent,
    },
}

/// The password a session change verified: it must still be the user's when it commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPassword {
    /// The user.
    pub user_id: UserId,
    /// The PHC hash the password matched.
    pub hash: String,
    /// The same password hashed anew, when `hash` is not current (an imported hash, or older
    /// parameters): it replaces `hash` in the same commit.
    pub rehashed: Option<String>,
}

/// A unique key of a new organization or user that is already taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// An organization's name.
    OrgName,
    /// An organization's id.
    OrgId,
    /// A username within its organization.
    Username,
    /// A user's id.
    UserId,
}

impl Taken {
    /// `org_name`, `org_id`, `username` or `user_id`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrgName => "org_name",
            Self::OrgId => "org_id",
            Self::Username => "username",
            Self::UserId => "user_id",
        }
    }
}

impl std::fmt::Display for Taken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a store can answer besides success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The aggregate moved on since it was loaded, or a row the change requires is gone, or
    /// a concurrent change took a unique key the change needs (an outbox idempotency key):
    /// reload, re-check and try again.
    #[error("the aggregate was changed concurrently")]
    Conflict,
    /// A new organization's or user's unique key is taken.
    #[error("{0} is already taken")]
    Duplicate(Taken),
    /// Infrastructure failure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Users, organizations and the changes made to them.
pub trait UserStore: Send + Sync {
    /// Loads a user, in any state.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn user(&self, id: &UserId) -> impl Future<Output = Result<Option<User>, Failure>> + Send;

    /// Loads an organization.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn organization(
        &self,
        id: &OrgId,
    ) -> impl Future<Output = Result<Option<Organization>, Failure>> + Send;

    /// The users whose username is `login_name`, compared without case, deleted ones left
    /// out; at most two (more than one is ambiguous to the caller).
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn users_by_login_name(
        &self,
        login_name: &str,
    ) -> impl Future<Output = Result<Vec<User>, Failure>> + Send;

    /// The user's password hash (PHC), if it has a password.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn password_hash(
        &self,
        id: &UserId,
    ) -> impl Future<Output = Result<Option<String>, Failure>> + Send;

    /// The user's current reset code, if any.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn password_code(
        &self,
        id: &UserId,
    ) -> impl Future<Output = Result<Option<PasswordCode>, Failure>> + Send;

    /// Counts one attempt at the code with `code_sequence`, atomically, before it is compared;
    /// answers the attempts counted so far, or `None` when that code is gone.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn count_code_attempt(
        &self,
        id: &UserId,
        code_sequence: i64,
    ) -> impl Future<Output = Result<Option<i32>, Failure>> + Send;

    /// Whether no organization exists yet (a first start).
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn is_empty(&self) -> impl Future<Output = Result<bool, Failure>> + Send;

    /// Commits `change` atomically.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the aggregate's sequence moved, when a code the change
    /// consumes is gone, or when a message's idempotency key is taken (the guard on the
    /// sequence runs first, before any other write); [`StoreError::Duplicate`] when a new
    /// organization's or user's unique key is taken; [`StoreError::Failure`] otherwise. On any
    /// error nothing of the change is stored.
    fn commit(&self, change: Change) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether the store answers (for readiness).
    ///
    /// # Errors
    /// [`Failure`] with the cause when it does not.
    fn ping(&self) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// A token as an administrator sees it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Id.
    pub id: String,
    /// Owner.
    pub user_id: UserId,
    /// Owner's organization.
    pub org_id: OrgId,
    /// Roles.
    pub roles: Vec<Role>,
    /// Issued at.
    pub created_at: DateTime<Utc>,
    /// Valid until, if it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it last authenticated a request (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Resolves bearer tokens to principals.
pub trait TokenStore: Send + Sync {
    /// The principal of the token with fingerprint `hash`, if the token exists, is not revoked
    /// or expired at `now`, and its owner is not deleted, inactive or locked.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn principal(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Principal>, Failure>> + Send;

    /// The tokens of `user` (every user's, with `None`), oldest first.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn tokens(
        &self,
        user: Option<&UserId>,
    ) -> impl Future<Output = Result<Vec<TokenInfo>, Failure>> + Send;
}

/// Which sessions ListSessions asks for: every given filter must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionQuery {
    /// Only these ids.
    pub ids: Option<Vec<String>>,
    /// Only sessions of this user.
    pub user_id: Option<UserId>,
    /// Only sessions created by this caller.
    pub creator: Option<UserId>,
    /// Skip this many (by creation, then id).
    pub offset: u64,
    /// At most this many.
    pub limit: u32,
    /// Oldest first (else newest first).
    pub ascending: bool,
}

/// Sessions, as ListSessions and GetSession read them. Changes go through
/// [`UserStore::commit`], so a session and its user change in one transaction.
pub trait SessionStore: Send + Sync {
    /// Loads a session (ended sessions are gone).
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn session(&self, id: &str) -> impl Future<Output = Result<Option<Session>, Failure>> + Send;

    /// The sessions matching `query`, with how many match in all.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn sessions(
        &self,
        query: &SessionQuery,
    ) -> impl Future<Output = Result<(Vec<Session>, u64), Failure>> + Send;
}

// ---------------------------------------------------------------------------------------------
// Limits

/// A budget: at most `limit` at once, refilled evenly over `window` (a token bucket: after
/// `limit` takes in a burst, one more every `window / limit`).
///
/// The fields are private, so every budget went through [`Budget::new`]'s clamp and
/// [`Budget::interval`] never divides by zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    limit: u32,
    window: TimeDelta,
}

impl Budget {
    /// `limit` per `window`; a `limit` of 0 counts as 1 and a `window` below 1 ms as 1 ms.
    pub fn new(limit: u32, window: TimeDelta) -> Self {
        Self {
            limit: limit.max(1),
            window: window.max(TimeDelta::milliseconds(1)),
        }
    }

    /// Takes allowed at once; at least 1.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The time to refill all of them; at least 1 ms.
    pub fn window(&self) -> TimeDelta {
        self.window
    }

    /// The time one take uses up: `window / limit`.
    pub fn interval(&self) -> TimeDelta {
        self.window / i32::try_from(self.limit.max(1)).unwrap_or(i32::MAX)
    }

    /// The token bucket as GCRA: a bucket is its "theoretical arrival time" `tat` (`None`:
    /// never used, full). A take at `now` fits when `max(tat, now) + interval <= now + window`;
    /// then the new `tat` is `Ok(max(tat, now) + interval)`. Otherwise `Err` says how long
    /// until it fits.
    ///
    /// # Errors
    /// The time until the bucket has room, when it has none.
    pub fn take(
        &self,
        tat: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, TimeDelta> {
        let next = tat.map_or(now, |tat| tat.max(now)) + self.interval();
        if next <= now + self.window {
            Ok(next)
        } else {
            Err(next - self.window - now)
        }
    }
}

/// One bucket to take from: a key naming whose budget it is (`user:…`, `recipient:…`) and
/// the budget's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetKey {
    /// What the budget is for, in logs, events and errors: `user`, `recipient`, `caller`,
    /// `client_ip`, `sms_country`, `sms_total`, `wrong_codes`, `wrong_passwords`,
    /// `caller_wrong_passwords`, `page_code`, `page_wrong_codes`.
    pub name: &'static str,
    /// The bucket: unique per name, subject and size. May hold an address; adapters store
    /// only a digest of it.
    pub key: String,
    /// Its size.
    pub budget: Budget,
}

impl BudgetKey {
    /// The bucket of `name` for `subject` with `budget`.
    pub fn new(name: &'static str, subject: &str, budget: Budget) -> Self {
        Self {
            name,
            key: format!(
                "{name}:{}/{}ms:{subject}",
                budget.limit,
                budget.window.num_milliseconds()
            ),
            budget,
        }
    }
}

/// What a limiter answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every budget had room; one unit was taken from each.
    Allowed,
    /// A budget is spent; nothing was taken from any.
    Refused {
        /// Which of the keys refused.
        index: usize,
        /// When that budget has room again.
        retry_after: TimeDelta,
        /// Whether this is the first refusal since the budget last allowed a take (so a
        /// flood of refusals is logged and recorded once).
        first: bool,
    },
}

/// Budgets shared by every instance on one database.
pub trait RateLimiter: Send + Sync {
    /// Takes one unit from each of `keys` at `now`: from all of them, or, when one is spent,
    /// from none.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn take(
        &self,
        keys: &[BudgetKey],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Verdict, Failure>> + Send;

    /// Whether `key` is spent at `now` (a take would be refused), without taking: `Some`
    /// with the time until it has room again.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn spent(
        &self,
        key: &BudgetKey,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<TimeDelta>, Failure>> + Send;

    /// Gives back the unit a take of `keys` took (a check that held a unit while it ran and
    /// turned out right). A bucket never holds more than its budget.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn give_back(&self, keys: &[BudgetKey]) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// The budgets in force; an empty list turns that budget off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Reset messages sent to one user.
    pub user_messages: Vec<Budget>,
    /// Reset messages sent to one address (normalized email or E.164 phone).
    pub recipient_messages: Vec<Budget>,
    /// PasswordReset requests by one caller (the token's user) without `IAM_LOGIN_CLIENT`.
    pub caller_resets: Vec<Budget>,
    /// PasswordReset requests by one caller holding `IAM_LOGIN_CLIENT`: a login UI resets for
    /// every user with one token, so its budget is sized for a whole site's reset flow.
    pub login_client_resets: Vec<Budget>,
    /// Submissions of the public reset page from one client IP.
    pub client_ip: Vec<Budget>,
    /// Wrong codes for one user, across codes (SetPassword over the API).
    pub wrong_codes: Vec<Budget>,
    /// Current passwords tried in SetPassword (each taken before it is compared): per user,
    /// and per caller. Sessions' password checks: per user and client (a right password
    /// gives its unit back).
    pub wrong_passwords: Vec<Budget>,
    /// Wrong passwords in sessions from one client (the browser's IP a login client passes
    /// on, else the caller), across users.
    pub client_wrong_passwords: Vec<Budget>,
    /// Reset-page submissions of one code from one client IP (right or wrong).
    pub page_code: Vec<Budget>,
    /// Wrong codes submitted on the reset page from one client IP, across codes and users.
    pub page_wrong_codes: Vec<Budget>,
    /// SMS to one country calling code.
    pub sms_per_country: Vec<Budget>,
    /// SMS in all.
    pub sms_total: Vec<Budget>,
    /// Country calling codes SMS may go to; `None` = all.
    pub sms_countries: Option<Vec<u16>>,
}

impl Limits {
    /// rekey's defaults (`config/default.toml`): 3 messages per 10 minutes and 10 per day per
    /// user and per address, 60 resets a minute per caller (1 200 for a login client), 30 page
    /// submissions per 5 minutes per IP, 20 wrong codes a day per user, 5 wrong current
    /// passwords per 10 minutes and 20 a day per user and per caller, 2 page submissions per
    /// code and IP a day and 10 wrong page codes a day per IP; SMS: 1 000 a day per country,
    /// 10 000 in all.
    pub fn recommended() -> Self {
        let minutes = TimeDelta::minutes;
        let day = TimeDelta::days(1);
        let messages = vec![Budget::new(3, minutes(10)), Budget::new(10, day)];
        Self {
            user_messages: messages.clone(),
            recipient_messages: messages,
            caller_resets: vec![Budget::new(60, minutes(1))],
            login_client_resets: vec![Budget::new(1_200, minutes(1))],
            client_ip: vec![Budget::new(30, minutes(5))],
            wrong_codes: vec![Budget::new(20, day)],
            wrong_passwords: vec![Budget::new(5, minutes(10)), Budget::new(20, day)],
            client_wrong_passwords: vec![Budget::new(30, minutes(10)), Budget::new(200, day)],
            page_code: vec![Budget::new(2, day)],
            page_wrong_codes: vec![Budget::new(10, day)],
            sms_per_country: vec![Budget::new(1_000, day)],
            sms_total: vec![Budget::new(10_000, day)],
            sms_countries: None,
        }
    }
}

/// The instance id when none is configured (`instance.id`).
pub const DEFAULT_INSTANCE_ID: &str = "rekey";

/// Settings the use cases read.
#[derive(Debug, Clone)]
pub struct Policies {
    /// Shape and lifetime of reset codes.
    pub code: CodePolicy,
    /// Complexity of passwords.
    pub password: PasswordPolicy,
    /// Queue a "your password was changed" email after every successful SetPassword.
    pub notify_password_changed: bool,
    /// Wrong attempts a code allows before it is invalidated.
    pub code_attempts: i32,
    /// The lowest accepted strength score (0..=4) of a new password.
    pub min_strength: u8,
    /// Send, request and guess budgets.
    pub limits: Limits,
    /// Wrong passwords in a row that lock a user.
    pub lockout: LockoutPolicy,
    /// The instance's id: the resource owner of sessions.
    pub instance_id: OrgId,
}

impl Default for Policies {
    fn default() -> Self {
        Self {
            code: CodePolicy::default(),
            password: PasswordPolicy::default(),
            code_attempts: 5,
            min_strength: 3,
            notify_password_changed: true,
            limits: Limits::default(),
            lockout: LockoutPolicy::default(),
            instance_id: OrgId::try_from(String::from(DEFAULT_INSTANCE_ID))
                .unwrap_or_else(|_| unreachable!("a valid id")),
        }
    }
}

/// The bundle of adapters a use case runs on. The server implements it once with concrete
/// types; unit tests implement it with in-memory fakes. Each port is its own associated type,
/// so any one of them can be swapped without touching the others.
pub trait Ports: Send + Sync + 'static {
    /// Users, organizations, changes.
    type Users: UserStore;
    /// Token lookup.
    type Tokens: TokenStore;
    /// New codes.
    type Codes: CodeGenerator;
    /// Keyed code hashes.
    type CodeHashes: CodeHasher;
    /// Sealing of queued secrets.
    type Sealer: SecretBox;
    /// Token issuing.
    type Minter: TokenMinter;
    /// Password hashing.
    type Passwords: PasswordHasher;
    /// Password strength.
    type Strength: PasswordStrength;
    /// Url templates.
    type Links: LinkRenderer;
    /// Time.
    type Clock: Clock;
    /// Ids.
    type Ids: IdGenerator;
    /// Budgets.
    type Limiter: RateLimiter;
    /// Sessions.
    type Sessions: SessionStore;

    /// The user store.
    fn users(&self) -> &Self::Users;
    /// The token store.
    fn tokens(&self) -> &Self::Tokens;
    /// The code generator.
    fn codes(&self) -> &Self::Codes;
    /// The code hasher.
    fn code_hashes(&self) -> &Self::CodeHashes;
    /// The secret box.
    fn sealer(&self) -> &Self::Sealer;
    /// The token minter.
    fn minter(&self) -> &Self::Minter;
    /// The password hasher.
    fn passwords(&self) -> &Self::Passwords;
    /// The strength estimator.
    fn strength(&self) -> &Self::Strength;
    /// The link renderer.
    fn links(&self) -> &Self::Links;
    /// The clock.
    fn clock(&self) -> &Self::Clock;
    /// The id generator.
    fn ids(&self) -> &Self::Ids;
    /// The rate limiter.
    fn limiter(&self) -> &Self::Limiter;
    /// The session store.
    fn sessions(&self) -> &Self::Sessions;
    /// Policies.
    fn policies(&self) -> &Policies;

    /// The W3C `traceparent` of the current span, when traces are exported: a message queued
    /// now carries it, so that its delivery is traced as part of the request that queued it.
    fn trace_context(&self) -> Option<String> {
        None
    }

    /// Takes one unit from each of `keys` at `now` (as [`RateLimiter::take`]) and loads `user`
    /// (as [`UserStore::user`]), for a request that may see the user only within its budget.
    /// Here one after the other, the user only when allowed; a composition whose limiter and
    /// users share a database may send both at once (one round trip), and then the user is
    /// loaded even when a budget refuses, and dropped unseen.
    ///
    /// # Errors
    /// [`Failure`] when either store cannot answer.
    fn take_and_load_user(
        &self,
        keys: &[BudgetKey],
        now: DateTime<Utc>,
        user: &UserId,
    ) -> impl Future<Output = Result<(Verdict, Option<User>), Failure>> + Send {
        async move {
            let verdict = self.limiter().take(keys, now).await?;
            let loaded = match verdict {
                Verdict::Allowed => self.users().user(user).await?,
                Verdict::Refused { .. } => None,
            };
            Ok((verdict, loaded))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Delivery

/// A queued message as the delivery worker claimed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMessage {
    /// Id.
    pub id: String,
    /// `password_reset`.
    pub kind: String,
    /// The user it is about.
    pub user_id: UserId,
    /// Email or SMS.
    pub channel: NotificationType,
    /// The recipient, masked (for logs).
    pub recipient_masked: String,
    /// The sealed payload; `None` once scrubbed.
    pub payload: Option<Sealed>,
    /// The sequence of the event that issued the code.
    pub code_sequence: i64,
    /// Unique per message; the email's `Message-ID`.
    pub idempotency_key: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// The W3C `traceparent` of the request that queued it, if traces were exported then.
    pub trace_context: Option<String>,
}

/// The user's current code, to tell a message superseded or expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentCode {
    /// The sequence of the event that issued it.
    pub sequence: i64,
    /// Valid until.
    pub expires_at: DateTime<Utc>,
}

/// Why a message ended without being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A newer code was issued before delivery.
    Superseded,
    /// The code expired (or was used) before delivery.
    Expired,
}

impl SkipReason {
    /// `superseded` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Superseded => "superseded",
            Self::Expired => "expired",
        }
    }
}

/// A message in an admin listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Email or SMS.
    pub channel: NotificationType,
    /// Masked recipient.
    pub recipient_masked: String,
    /// `pending`, `sent`, `dead` or `skipped`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Next attempt (pending) or last change.
    pub next_attempt_at: DateTime<Utc>,
    /// The last error, if any (no secret: a provider's status and message).
    pub last_error: Option<String>,
    /// Queued at.
    pub created_at: DateTime<Utc>,
}

/// The transactional outbox, from the delivery side.
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` messages due at `now` and leases them until `now + lease`: claimed
    /// messages are invisible to other claims (other instances included) until then, and each
    /// claim counts an attempt. A message whose lease runs out (its sender crashed) is due again.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: chrono::TimeDelta,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ClaimedMessage>, Failure>> + Send;

    /// Extends the claim on those of `ids` that are still pending and still leased until
    /// `leased_until` (so still this claim's: a claim by another worker after this one's lease
    /// ran out leases them until another time) to `until`. Answers the ids it extended.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn renew(
        &self,
        ids: &[&str],
        leased_until: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<String>, Failure>> + Send;

    /// The current reset code of each of `users` that has one (in no particular order).
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn current_codes(
        &self,
        users: &[UserId],
    ) -> impl Future<Output = Result<Vec<(UserId, CurrentCode)>, Failure>> + Send;

    /// Marks each message sent, scrubs its payload and appends its event
    /// (`user.human.password.code.sent` or `…change.sent`) to its user's events, all in one
    /// transaction. A message that is no longer pending (another worker finished it after
    /// this one's lease ran out) is left as it is and gets no event.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer; then none of them is marked.
    fn mark_sent(
        &self,
        sent: &[(&str, SentEvent)],
    ) -> impl Future<Output = Result<(), Failure>> + Send;

    /// Schedules the next attempt at `at`, keeping `error`.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn mark_retry(
        &self,
        id: &str,
        at: DateTime<Utc>,
        error: &str,
    ) -> impl Future<Output = Result<(), Failure>> + Send;

    /// Gives up on the message, keeping `error` (and the sealed payload, for a manual retry).
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn mark_dead(&self, id: &str, error: &str) -> impl Future<Output = Result<(), Failure>> + Send;

    /// Ends each pending message unsent, for its reason, and scrubs its payload.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn mark_skipped(
        &self,
        skipped: &[(&str, SkipReason)],
    ) -> impl Future<Output = Result<(), Failure>> + Send;

    /// Lists messages, newest first, optionally of one status.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn list(
        &self,
        status: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, Failure>> + Send;

    /// Makes a dead message pending again, due now, with its attempts reset; `false` if there is
    /// no dead message with that id.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn retry(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, Failure>> + Send;
}

/// The event recorded when a message was delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEvent {
    /// The user.
    pub user_id: UserId,
    /// The user's organization.
    pub org_id: OrgId,
    /// `user.human.password.code.sent` or `user.human.password.change.sent`.
    pub event: rekey_domain::Event,
    /// When.
    pub at: DateTime<Utc>,
}

/// A rendered email, ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailMessage {
    /// Recipient address.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Plain-text body.
    pub text: String,
    /// Unique id; used as the `Message-ID`.
    pub message_id: String,
    /// The texts the bodies were made from (title, greeting, text, buttonText, url, …), for
    /// senders that pass data on instead of a body (webhooks).
    pub template_data: Vec<(String, String)>,
}

impl std::fmt::Debug for EmailMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailMessage")
            .field("message_id", &self.message_id)
            .finish_non_exhaustive()
    }
}

/// A rendered SMS, ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct SmsMessage {
    /// Recipient number (E.164).
    pub to: String,
    /// Text.
    pub body: String,
    /// Unique id.
    pub message_id: String,
}

impl std::fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsMessage")
            .field("message_id", &self.message_id)
            .finish_non_exhaustive()
    }
}

/// A delivery that did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SendError {
    /// Whether trying again later may succeed (timeouts, 429, 5xx, connection refused).
    pub retryable: bool,
    /// What went wrong, safe to store and log: a status and the provider's message, never the
    /// message body, the link or the code.
    pub reason: String,
}

/// Sends emails.
pub trait EmailSender: Send + Sync {
    /// Delivers one message.
    ///
    /// # Errors
    /// [`SendError`], saying whether a retry may help.
    fn send(&self, message: &EmailMessage) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// Sends text messages.
pub trait SmsSender: Send + Sync {
    /// Delivers one message.
    ///
    /// # Errors
    /// [`SendError`], saying whether a retry may help.
    fn send(&self, message: &SmsMessage) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// What a password-reset message is made from.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageData<'a> {
    /// Preferred language (`de`, `en-US`, …); English when absent or unknown.
    pub language: Option<&'a str>,
    /// `DisplayName`.
    pub display_name: &'a str,
    /// `Username`.
    pub username: &'a str,
    /// `Code`.
    pub code: &'a str,
    /// `URL`: the reset link.
    pub link: &'a str,
}

impl std::fmt::Debug for MessageData<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageData")
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

/// A password-reset message in every form a channel needs.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedMessage {
    /// Email subject.
    pub subject: String,
    /// Email HTML body.
    pub html: String,
    /// Email text body.
    pub text: String,
    /// SMS text (with the link).
    pub sms: String,
    /// The texts (title, preHeader, subject, greeting, text, buttonText, url).
    pub template_data: Vec<(String, String)>,
}

impl std::fmt::Debug for RenderedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RenderedMessage(<redacted>)")
    }
}

/// Renders messages from templates, per language.
pub trait MessageRenderer: Send + Sync {
    /// The password-reset message for `data`.
    ///
    /// # Errors
    /// [`TemplateError`] when a (custom) template does not render.
    fn password_reset(&self, data: &MessageData<'_>) -> Result<RenderedMessage, TemplateError>;

    /// The notice that the password was changed (`code` is empty; `link` is where to log in).
    ///
    /// # Errors
    /// [`TemplateError`] when a (custom) template does not render.
    fn password_changed(&self, data: &MessageData<'_>) -> Result<RenderedMessage, TemplateError>;
}

/// Randomness for retry schedules (full jitter).
pub trait Jitter: Send + Sync {
    /// A uniformly random duration in `[0, max)`.
    fn below(&self, max: chrono::TimeDelta) -> chrono::TimeDelta;
}

/// The retry schedule (`[delivery]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Attempts before a message is dead.
    pub max_attempts: i32,
    /// Backoff after the first failure (doubled per attempt, before jitter).
    pub backoff_base: chrono::TimeDelta,
    /// Largest backoff.
    pub backoff_max: chrono::TimeDelta,
    /// Messages claimed per batch.
    pub batch_size: u32,
    /// How long a claim hides a message from other workers (longer than a send can take).
    pub lease: chrono::TimeDelta,
    /// Base of the default reset link.
    pub public_url: String,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            backoff_base: chrono::TimeDelta::seconds(2),
            backoff_max: chrono::TimeDelta::minutes(10),
            batch_size: 32,
            lease: chrono::TimeDelta::seconds(10),
            public_url: "http://localhost:8080".into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Events to other systems

/// Where events go (Actions v2 style webhooks), and which: configured, not stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventRoutes {
    targets: Vec<(String, Vec<String>)>,
}

impl EventRoutes {
    /// Routes to `targets`: each a stable id and the event types it takes. An event type may
    /// end in `.*` (a group: `user.human.password.*`), or be `*` (every event).
    pub fn new(targets: Vec<(String, Vec<String>)>) -> Self {
        Self { targets }
    }

    /// The targets that take `event_type`.
    pub fn targets_of<'s, 'e>(
        &'s self,
        event_type: &'e str,
    ) -> impl Iterator<Item = &'s str> + use<'s, 'e> {
        self.targets
            .iter()
            .filter(move |(_, events)| events.iter().any(|wanted| matches(wanted, event_type)))
            .map(|(id, _)| id.as_str())
    }

    /// Whether any target takes `event_type`.
    pub fn wants(&self, event_type: &str) -> bool {
        self.targets_of(event_type).next().is_some()
    }
}

fn matches(wanted: &str, event_type: &str) -> bool {
    match wanted.strip_suffix('*') {
        Some("") => true,
        Some(group) => event_type.starts_with(group),
        None => wanted == event_type,
    }
}

/// An event as stored, for a target's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The aggregate (a user's or a session's id).
    pub aggregate_id: String,
    /// `user`, `session`, `org`.
    pub aggregate_type: String,
    /// Its sequence in the aggregate.
    pub sequence: i64,
    /// `user.human.password.changed`, …
    pub event_type: String,
    /// The payload, JSON as stored.
    pub payload: String,
    /// The organization (or, for sessions, the instance).
    pub resource_owner: String,
    /// Who caused it.
    pub creator: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A claimed delivery of one event to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDelivery {
    /// Its id.
    pub id: String,
    /// The target's id.
    pub target: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// The event.
    pub event: StoredEvent,
}

/// The queue of event deliveries. A store enqueues a delivery for every target that takes an
/// event in the same transaction that records the event, so none is lost to a crash.
pub trait EventOutbox: Send + Sync {
    /// Claims up to `limit` deliveries due at `now`, hiding them for `lease` and counting an
    /// attempt on each.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn claim_events(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<EventDelivery>, Failure>> + Send;

    /// Records a delivery as sent.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn event_sent(
        &self,
        id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), Failure>> + Send;

    /// Records a failed attempt: due again at `next`, or, with `next` `None`, dead.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn event_failed(
        &self,
        id: &str,
        next: Option<DateTime<Utc>>,
        error: &str,
    ) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// Posts an event's body to a target, signed with the target's key.
pub trait EventSender: Send + Sync {
    /// Posts `body` to `target`.
    ///
    /// # Errors
    /// [`SendError`]: retryable for timeouts, 429 and 5xx; not for an unknown target or 4xx.
    fn post(&self, target: &str, body: &[u8])
    -> impl Future<Output = Result<(), SendError>> + Send;
}

/// The adapters the delivery worker runs on.
pub trait DeliveryPorts: Send + Sync + 'static {
    /// The outbox.
    type Outbox: OutboxStore;
    /// Opening sealed payloads.
    type Sealer: SecretBox;
    /// Url templates.
    type Links: LinkRenderer;
    /// Message templates.
    type Messages: MessageRenderer;
    /// Email.
    type Email: EmailSender;
    /// SMS.
    type Sms: SmsSender;
    /// Time.
    type Clock: Clock;
    /// Randomness for backoff.
    type Jitter: Jitter;
    /// Event deliveries.
    type Events: EventOutbox;
    /// Event targets.
    type Hooks: EventSender;

    /// The outbox.
    fn outbox(&self) -> &Self::Outbox;
    /// The event deliveries.
    fn events(&self) -> &Self::Events;
    /// The event targets.
    fn hooks(&self) -> &Self::Hooks;
    /// The instance's id, for event bodies.
    fn instance_id(&self) -> &str;
    /// The secret box.
    fn sealer(&self) -> &Self::Sealer;
    /// The link renderer.
    fn links(&self) -> &Self::Links;
    /// The message renderer.
    fn messages(&self) -> &Self::Messages;
    /// The email sender.
    fn email(&self) -> &Self::Email;
    /// The SMS sender.
    fn sms(&self) -> &Self::Sms;
    /// The clock.
    fn clock(&self) -> &Self::Clock;
    /// The jitter source.
    fn jitter(&self) -> &Self::Jitter;
    /// The retry schedule.
    fn delivery(&self) -> &DeliveryPolicy;
    /// Waits `duration` (the pace of a batch's lease renewals, and their patience).
    fn sleep(&self, duration: std::time::Duration) -> impl Future<Output = ()> + Send;

    /// Makes `span` (not yet entered) a part of the trace `traceparent` names: its child, and
    /// linked to it. Nothing when traces are not exported.
    fn join_trace(&self, span: &tracing::Span, traceparent: &str) {
        let _ = (span, traceparent);
    }
}

// ---------------------------------------------------------------------------------------------
// Retention

/// What the retention job deletes, each kind of row by its own time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prunable {
    /// Outbox messages that were sent, by when they were sent (`sent_at`).
    SentMessages,
    /// Outbox messages that ended unsent (dead or skipped), by when their last attempt's lease
    /// ended (`next_attempt_at`: a claim sets it to the claim's time plus `delivery.lease`,
    /// each renewal of a pending message to the renewal's time plus the lease, and once the
    /// message ended nothing moves it but `retry`, which makes it pending again).
    EndedMessages,
    /// Password codes, by when they expired.
    ExpiredCodes,
    /// Rate-limit buckets, by when they are full again (the same as no row).
    FullBuckets,
    /// Event deliveries that ended (sent or dead), by when their event was recorded.
    EndedEvents,
}

impl Prunable {
    /// Every kind, in the order the retention job prunes them.
    pub const ALL: [Self; 5] = [
        Self::SentMessages,
        Self::EndedMessages,
        Self::ExpiredCodes,
        Self::FullBuckets,
        Self::EndedEvents,
    ];

    /// `sent_messages`, `ended_messages`, `expired_codes`, `full_buckets` or `ended_events`
    /// (metric labels, logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SentMessages => "sent_messages",
            Self::EndedMessages => "ended_messages",
            Self::ExpiredCodes => "expired_codes",
            Self::FullBuckets => "full_buckets",
            Self::EndedEvents => "ended_events",
        }
    }
}

/// Deleting rows that are no longer needed, so that storage stays bounded.
pub trait Retention: Send + Sync {
    /// Deletes at most `limit` rows of `what` whose time (see [`Prunable`]) is strictly before
    /// `before`, in one short statement, and answers how many it deleted. A pending outbox
    /// message is never deleted, whatever its age. The condition holds for each row when it is
    /// deleted, so a row that a concurrent write changed (a dead message retried, a code
    /// replaced, a bucket taken from) stays. Several instances may prune at once: each row is
    /// deleted once, and on PostgreSQL a row another transaction holds is skipped, not waited
    /// for.
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer; then nothing of this batch was deleted.
    fn prune(
        &self,
        what: Prunable,
        before: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<u64, Failure>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_of_nothing_is_clamped_and_its_math_is_total() {
        let none = Budget::new(0, TimeDelta::zero());
        assert_eq!(none.limit(), 1);
        assert_eq!(none.window(), TimeDelta::milliseconds(1));
        assert_eq!(none.interval(), TimeDelta::milliseconds(1));
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert!(none.take(None, now).is_ok());
        let huge = Budget::new(u32::MAX, TimeDelta::days(1));
        assert!(huge.interval() > TimeDelta::zero());
    }
}
