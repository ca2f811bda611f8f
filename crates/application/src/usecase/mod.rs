//! The use cases, one module each, each with its own input, output and error enum.

pub mod add_organization;
pub mod add_user;
pub mod authenticate;
pub mod bootstrap;
pub mod create_token;
pub mod deliver;
pub mod events;
pub mod get_user;
pub mod lifecycle;
pub mod limits;
pub mod password_reset;
pub mod retention;
pub mod session;
pub mod set_password;

use chrono::{DateTime, Utc};
use rekey_domain::{Details, NewEvent, OrgId, Principal, User, UserId};

use crate::Failure;
use crate::ports::{Change, IdGenerator, Ports, StoreError, UserStore};

/// How many times a change is rebuilt from a fresh load after a sequence conflict. Every
/// conflict means another change to the same aggregate committed, so this many concurrent
/// writers to one user always all succeed; past it the request answers "unavailable" (retry).
pub const MAX_CONFLICT_RETRIES: usize = 64;

/// The failure when [`MAX_CONFLICT_RETRIES`] ran out.
fn contended() -> Failure {
    Failure::Unavailable("too many concurrent changes to one user".into())
}

/// What one attempt of [`commit_with_retry`] decided.
#[allow(
    clippy::large_enum_variant,
    reason = "built once per attempt and moved straight into the commit"
)]
pub(crate) enum Step<T> {
    /// Commit this change; once it is stored, answer `T`.
    Commit(Change, T),
    /// Nothing to write: answer `T` now.
    Done(T),
}

/// The user of [`commit_with_retry`]'s first attempt.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "made once per request and consumed by the first attempt: a box would only add an allocation"
)]
pub(crate) enum First {
    /// Load it.
    Load,
    /// Already loaded, just now (`None`: there is no such user).
    Loaded(Option<User>),
}

/// The one conflict-retry loop of every change to an existing user.
///
/// Each attempt hands `attempt` the user as loaded just now (`None`: no such user; `first`
/// may hand over one loaded by the caller for the first attempt). `attempt` re-checks every
/// precondition against it (state, permission, the code, the current password), since any
/// of them may have changed since the last try, and builds the change from it. On
/// [`StoreError::Conflict`] (the sequence moved, or a row the change requires is gone) the
/// user is reloaded and `attempt` runs again, at most [`MAX_CONFLICT_RETRIES`] times;
/// [`StoreError::Duplicate`] cannot happen to a change of an existing user, so it is an
/// unexpected failure, like [`StoreError::Failure`].
///
/// `attempt` is a plain closure returning a future (`move |user| async move { … }` over
/// references), not an async closure: rustc cannot prove an async closure's borrowing future
/// `Send` (rust-lang/rust#110338), and the gRPC server needs every use case's future `Send`.
/// State an attempt changes for the next one lives in an atomic.
///
/// # Errors
/// What `attempt` refuses with; [`Failure`] from the store; [`Failure::Unavailable`] when
/// the retries ran out.
pub(crate) async fn commit_with_retry<P, T, E, Attempt>(
    ports: &P,
    user_id: &UserId,
    first: First,
    mut attempt: impl FnMut(Option<User>) -> Attempt,
) -> Result<T, E>
where
    P: Ports,
    E: From<Failure>,
    Attempt: Future<Output = Result<Step<T>, E>>,
{
    let users = ports.users();
    let mut first = Some(first);
    for retry in 0..MAX_CONFLICT_RETRIES {
        let user = match first.take() {
            Some(First::Loaded(user)) => user,
            Some(First::Load) | None => users.user(user_id).await?,
        };
        let (change, output) = match attempt(user).await? {
            Step::Done(output) => return Ok(output),
            Step::Commit(change, output) => (change, output),
        };
        match users.commit(change).await {
            Ok(()) => return Ok(output),
            Err(StoreError::Conflict) => tracing::debug!(retry, "conflict; reloading"),
            Err(StoreError::Duplicate(taken)) => {
                return Err(
                    Failure::Unexpected(format!("{taken} taken by a change of a user")).into(),
                );
            }
            Err(StoreError::Failure(failure)) => return Err(failure.into()),
        }
    }
    Err(contended().into())
}

/// The id every change made by rekey itself (bootstrap, the admin CLI) is recorded under.
pub const SYSTEM_USER: &str = "SYSTEM";

/// The principal of rekey's own admin commands: instance owner.
pub fn system_principal() -> Principal {
    Principal {
        user_id: UserId::try_from(SYSTEM_USER.to_owned()).unwrap_or_else(|_| unreachable!()),
        org_id: OrgId::try_from(SYSTEM_USER.to_owned()).unwrap_or_else(|_| unreachable!()),
        roles: vec![rekey_domain::Role::IamOwner],
    }
}

fn details_of(event: &NewEvent) -> Details {
    Details {
        sequence: event.sequence,
        change_date: event.created_at,
        resource_owner: event.resource_owner.clone(),
    }
}

fn new_event(
    aggregate_id: &str,
    sequence: i64,
    event: rekey_domain::Event,
    resource_owner: &OrgId,
    creator: &Principal,
    at: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        aggregate_id: aggregate_id.to_owned(),
        sequence,
        event,
        resource_owner: resource_owner.clone(),
        creator: creator.user_id.clone(),
        created_at: at,
    }
}

fn fresh_id<P: Ports>(ports: &P) -> String {
    ports.ids().next_id()
}

/// A [`StoreError`] that is neither a conflict nor a duplicate, as a [`Failure`].
fn infrastructure(error: StoreError) -> Failure {
    match error {
        StoreError::Failure(failure) => failure,
        other => Failure::Unexpected(other.to_string()),
    }
}

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    /// It breaks the complexity policy (or contains the user's own words).
    #[error(transparent)]
    Policy(#[from] rekey_domain::PolicyViolation),
    /// The strength estimator scores it below the minimum.
    #[error("Password is too easy to guess{}", .warning.as_deref().map(|w| format!(": {w}")).unwrap_or_default())]
    TooWeak {
        /// Its score, 0..=4.
        score: u8,
        /// What makes it weak, if the estimator says.
        warning: Option<String>,
    },
}

/// The checks every new password passes, in order: the organization's complexity policy, the
/// user's own words, then the strength estimate (which also counts those words as known).
pub(crate) fn check_new_password<P: Ports>(
    ports: &P,
    password: &rekey_domain::Password,
    words: &[&str],
) -> Result<(), WeakPassword> {
    use crate::ports::PasswordStrength as _;
    let policies = ports.policies();
    policies.password.check(password)?;
    policies.password.check_personal(password, words)?;
    if policies.min_strength == 0 {
        // Off: the estimator is not even run (zxcvbn builds its word lists, about 1 MB, on
        // its first call).
        return Ok(());
    }
    let (score, warning) = ports.strength().estimate(password, words);
    if score < policies.min_strength {
        return Err(WeakPassword::TooWeak { score, warning });
    }
    Ok(())
}

/// The words of a user an attacker would try: username, email local part, names.
pub(crate) fn personal_words(user: &rekey_domain::User) -> Vec<String> {
    let mut words = vec![user.username.clone()];
    if let Some(profile) = user.live_human() {
        words.push(profile.email.local_part().to_owned());
        words.push(profile.given_name.clone());
        words.push(profile.family_name.clone());
    }
    words
}

#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
