//! The ports: traits the use cases call and the adapters implement.
//!
//! Ports are native `async fn` traits (`impl Future + Send`), so they are not dyn-compatible:
//! use cases are generic over [`Ports`], and a backend chosen at run time is an enum inside
//! its adapter.

use std::future::Future;

use chrono::{DateTime, Utc};
use rekey_domain::{
    BearerToken, CodeHash, CodePolicy, NewEvent, NotificationType, OrgId, Organization, Password,
    PasswordPolicy, PlainCode, Principal, Role, TokenHash, UrlTemplate, User, UserId,
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
    /// Encrypts and authenticates `plaintext` under the current key.
    ///
    /// # Errors
    /// [`Failure::Unexpected`] when encryption or the randomness source fails.
    fn seal(&self, plaintext: &[u8]) -> Result<Sealed, Failure>;
    /// Decrypts what [`SecretBox::seal`] made, with the key it names.
    ///
    /// # Errors
    /// [`Failure::Unexpected`] for an unknown key or tampered bytes.
    fn open(&self, sealed: &Sealed) -> Result<Vec<u8>, Failure>;
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
}

/// Hashes passwords (slow by design: the adapter runs it off the async workers).
pub trait PasswordHasher: Send + Sync {
    /// A PHC string of `password`.
    ///
    /// # Errors
    /// [`Failure::Unexpected`] when hashing fails.
    fn hash(&self, password: Password) -> impl Future<Output = Result<String, Failure>> + Send;
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
    /// `OrgID` and nothing else.
    ///
    /// # Errors
    /// [`TemplateError`] saying which of the two failed.
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
    /// A new token for a user.
    AddToken {
        /// The token row.
        token: TokenRecord,
        /// `user.token.added`.
        event: NewEvent,
    },
}

/// What a store can answer besides success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The aggregate moved on since it was loaded; reload and try again.
    #[error("the aggregate was changed concurrently")]
    Conflict,
    /// A unique key is taken: the name says which (`org_name`, `org_id`, `username`, `user_id`).
    #[error("{0} is already taken")]
    Duplicate(&'static str),
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

    /// Whether no organization exists yet (a first start).
    ///
    /// # Errors
    /// [`Failure`] when the store cannot answer.
    fn is_empty(&self) -> impl Future<Output = Result<bool, Failure>> + Send;

    /// Commits `change` atomically.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the aggregate's sequence moved; [`StoreError::Duplicate`]
    /// when a unique key is taken; [`StoreError::Failure`] otherwise. On any error nothing of
    /// the change is stored.
    fn commit(&self, change: Change) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether the store answers (for readiness).
    ///
    /// # Errors
    /// [`Failure`] with the cause when it does not.
    fn ping(&self) -> impl Future<Output = Result<(), Failure>> + Send;
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
}

/// Settings the use cases read.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    /// Shape and lifetime of reset codes.
    pub code: CodePolicy,
    /// Complexity of passwords.
    pub password: PasswordPolicy,
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
    /// Url templates.
    type Links: LinkRenderer;
    /// Time.
    type Clock: Clock;
    /// Ids.
    type Ids: IdGenerator;

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
    /// The link renderer.
    fn links(&self) -> &Self::Links;
    /// The clock.
    fn clock(&self) -> &Self::Clock;
    /// The id generator.
    fn ids(&self) -> &Self::Ids;
    /// Policies.
    fn policies(&self) -> &Policies;
}
