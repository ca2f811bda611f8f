//! rekey's domain: the value types, rules and events of a password reset, with no I/O.
//!
//! Everything in this crate is valid by construction: an [`Email`], a [`UserId`] or a
//! [`UrlTemplate`] can only be built through `TryFrom`/`FromStr`, which checks it once at the
//! edge. Secrets ([`PlainCode`], [`BearerToken`]) print nothing secret in `Debug`.
//!
//! The crate is meant to be reused outside the rekey service: it depends on no runtime,
//! database or framework, only on `serde`, `thiserror` and `chrono`.

mod auth;
mod code;
mod contact;
mod details;
mod event;
mod id;
mod notification;
mod password;
mod session;
mod text;
mod user;

pub use auth::{BearerToken, Permission, Principal, Role, TokenHash, UnknownRole};
pub use code::{CodeHash, CodePolicy, CodePolicyError, KeyId, PlainCode};
pub use contact::{ContactError, Email, Phone};
pub use details::Details;
pub use event::{Event, NewEvent};
pub use id::{IdError, OrgId, UserId, compose_numeric_id};
pub use notification::{NotificationType, ResetMedium};
pub use password::{Password, PasswordPolicy, PolicyViolation};
pub use session::{
    CheckedUser, LifetimeError, LockoutPolicy, Session, UserAgent, session_lifetime,
};
pub use text::{BoundedText, TextError, UrlTemplate};
pub use user::{
    HumanProfile, Language, OrgName, Organization, Recipient, User, UserKind, UserState, Username,
};
