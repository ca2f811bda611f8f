//! The Session Service, password only: CreateSession, SetSession, GetSession, DeleteSession
//! and ListSessions.
//!
//! A session records that a login UI identified a user (the user check) and that the user
//! typed the right password (the password check). Every change that records something makes a
//! new session token and ends the old one; the store keeps only the token's fingerprint.
//!
//! A password check costs one unit of the user's budget *at this client*
//! (`wrong_passwords`) and one of the client's budget across users
//! (`client_wrong_passwords`), both taken before the hash is compared, so parallel guesses
//! cannot outrun them; a right password gives both back. The client is the browser's IP a
//! login client (`IAM_LOGIN_CLIENT`) passes on in `userAgent.ip`, else the caller. So a
//! stranger guessing from elsewhere spends its own budget, never the user's. ZITADEL's lockout
//! policy (`lockout.max_password_attempts`, off by default) counts every wrong password of the
//! user wherever it comes from, and locks the user at the maximum, as ZITADEL does.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use rekey_domain::{
    BearerToken, CheckedUser, Details, Event, NewEvent, OrgId, Password, Permission, Principal,
    Role, Session, User, UserAgent, UserId, UserState,
};
use tracing::instrument;

use super::limits::{self, Concerning, Exhausted};
use super::{First, Step, commit_with_retry, fresh_id, new_event};
use crate::Failure;
use crate::ports::{
    BudgetKey, Change, CheckedPassword, Clock, PasswordHasher, Ports, RateLimiter, SessionQuery,
    SessionStore, StoreError, TokenMinter, UserStore,
};

/// How the user check names the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSearch {
    /// By id.
    Id(UserId),
    /// By login name (the username, compared without case).
    LoginName(String),
}

/// The checks of a Create/SetSession request.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// Identify this user.
    pub user: Option<UserSearch>,
    /// Check this password of the session's user.
    pub password: Option<Password>,
}

/// A valid CreateSession request.
#[derive(Debug, Clone, Default)]
pub struct CreateInput {
    /// The checks.
    pub checks: Checks,
    /// Ends the session this long after now; `None` = never.
    pub lifetime: Option<TimeDelta>,
    /// The browser.
    pub user_agent: UserAgent,
    /// The UI's data; an empty value sets nothing.
    pub metadata: BTreeMap<String, Vec<u8>>,
}

/// A valid SetSession request.
#[derive(Debug, Clone)]
pub struct SetInput {
    /// The session.
    pub session_id: String,
    /// The checks.
    pub checks: Checks,
    /// Ends the session this long after now; `None` = no change.
    pub lifetime: Option<TimeDelta>,
    /// Keys to set; an empty value removes the key.
    pub metadata: BTreeMap<String, Vec<u8>>,
}

/// What Create/SetSession answer.
#[derive(Debug, Clone)]
pub struct Written {
    /// The session's details (resource owner: the instance).
    pub details: Details,
    /// The session's id.
    pub session_id: String,
    /// The new token; `None` when a SetSession changed nothing (the old one still works).
    pub token: Option<BearerToken>,
}

/// A session as GetSession and ListSessions show it, with its user, if it has one.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The session.
    pub session: Session,
    /// Its checked user, as loaded now (for the login and display names).
    pub user: Option<User>,
}

/// Why a session RPC refused, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The caller lacks `session.write`, `session.read` or `session.delete`, and is neither
    /// the session's creator nor its user.
    #[error("No matching permissions found")]
    PermissionDenied,
    /// No such user, or a login name that names more than one.
    #[error("User could not be found")]
    UserNotFound,
    /// The user is inactive or locked.
    #[error("Errors.User.NotActive")]
    UserNotActive,
    /// A password check without a user.
    #[error("User ID missing")]
    UserIdMissing,
    /// The user check names another user than the session's.
    #[error("user change not possible")]
    UserChange,
    /// The user is locked (found by the password check).
    #[error("User is locked")]
    UserLocked {
        /// Wrong passwords in a row.
        failed_attempts: u32,
    },
    /// The user has no password.
    #[error("User has not set a password")]
    PasswordNotSet,
    /// The password's budget at this client is spent; nothing was compared.
    #[error(transparent)]
    Exhausted(#[from] Exhausted),
    /// A wrong password.
    #[error("Password is invalid")]
    PasswordInvalid {
        /// Wrong passwords in a row, this one included.
        failed_attempts: u32,
    },
    /// No such session (or it ended).
    #[error("Session does not exist")]
    SessionNotFound,
    /// The session expired.
    #[error("Session has expired")]
    SessionExpired,
    /// GetSession's `sessionToken` is not the session's.
    #[error("Permission denied")]
    TokenDenied,
    /// DeleteSession's `sessionToken` is not the session's.
    #[error("Session Token is invalid")]
    TokenInvalid,
    /// Infrastructure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Runs CreateSession: needs `session.write`.
///
/// # Errors
/// [`Error`]: a failed check creates no session.
#[instrument(skip_all)]
pub async fn create<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: CreateInput,
) -> Result<Written, Error> {
    if !caller.may_everywhere(Permission::SessionWrite) {
        return Err(Error::PermissionDenied);
    }
    let now = ports.clock().now();
    let user = match &input.checks.user {
        Some(search) => Some(find_user(ports, search).await?),
        None => None,
    };
    let session = Session {
        id: fresh_id(ports),
        sequence: 0,
        created_at: now,
        changed_at: now,
        creator: caller.user_id.clone(),
        user: None,
        password_checked_at: None,
        expires_at: None,
        user_agent: input.user_agent.clone(),
        metadata: BTreeMap::new(),
        token: rekey_domain::TokenHash(String::new()),
    };
    let draft = Draft {
        session,
        events: Vec::new(),
        now,
        instance: ports.policies().instance_id.clone(),
        creator: caller.clone(),
    };
    let change = Wanted {
        user,
        password: input.checks.password,
        lifetime: input.lifetime,
        metadata: input.metadata,
        added: Some(input.user_agent),
    };
    apply(ports, caller, draft, change).await
}

/// Runs SetSession: needs `session.write` on the session's user's organization (the
/// instance, before a user is checked). The request's `sessionToken` is not needed, as in
/// ZITADEL.
///
/// # Errors
/// [`Error`]: a failed check leaves the session and its token as they were.
#[instrument(skip_all, fields(session.id = %input.session_id))]
pub async fn set<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: SetInput,
) -> Result<Written, Error> {
    let session = ports
        .sessions()
        .session(&input.session_id)
        .await?
        .ok_or(Error::SessionNotFound)?;
    let may_write = match &session.user {
        Some(user) => caller.may(Permission::SessionWrite, &user.org_id),
        None => caller.may_everywhere(Permission::SessionWrite),
    };
    if !may_write {
        return Err(Error::PermissionDenied);
    }
    let now = ports.clock().now();
    if session.is_expired(now) {
        return Err(Error::SessionExpired);
    }
    let user = match &input.checks.user {
        Some(search) => {
            let user = find_user(ports, search).await?;
            if session.user.as_ref().is_some_and(|u| u.id != user.id) {
                return Err(Error::UserChange);
            }
            Some(user)
        }
        None => None,
    };
    let draft = Draft {
        session,
        events: Vec::new(),
        now,
        instance: ports.policies().instance_id.clone(),
        creator: caller.clone(),
    };
    let change = Wanted {
        user,
        password: input.checks.password,
        lifetime: input.lifetime,
        metadata: input.metadata,
        added: None,
    };
    apply(ports, caller, draft, change).await
}

/// Runs GetSession: with the session's token, or as its creator, its user, or a holder of
/// `session.read`. Expired sessions are shown, as in ZITADEL.
///
/// # Errors
/// [`Error::SessionNotFound`], [`Error::TokenDenied`], [`Error::PermissionDenied`].
#[instrument(skip_all, fields(session.id = %session_id))]
pub async fn get<P: Ports>(
    ports: &P,
    caller: &Principal,
    session_id: &str,
    token: Option<&BearerToken>,
) -> Result<Shown, Error> {
    let session = ports
        .sessions()
        .session(session_id)
        .await?
        .ok_or(Error::SessionNotFound)?;
    match token {
        Some(token) if !ports.minter().matches(token, &session.token) => {
            return Err(Error::TokenDenied);
        }
        Some(_) => {}
        None if !may_see(caller, &session, Permission::SessionRead) => {
            return Err(Error::PermissionDenied);
        }
        None => {}
    }
    show(ports, session).await
}

/// Runs DeleteSession: with the session's token, or as its user, or a holder of
/// `session.delete`. An unknown session is already gone: success, with nothing written, for a
/// holder of `session.delete` (a token cannot verify against it).
///
/// # Errors
/// [`Error::TokenInvalid`], [`Error::PermissionDenied`].
#[instrument(skip_all, fields(session.id = %session_id))]
pub async fn delete<P: Ports>(
    ports: &P,
    caller: &Principal,
    session_id: &str,
    token: Option<&BearerToken>,
) -> Result<Details, Error> {
    let instance = ports.policies().instance_id.clone();
    let now = ports.clock().now();
    for _ in 0..super::MAX_CONFLICT_RETRIES {
        let Some(session) = ports.sessions().session(session_id).await? else {
            // ZITADEL checks the token (or the permission) before the session's state: no
            // token verifies against a session that is not there, and whether a session exists
            // is for those who may delete any.
            if token.is_some() {
                return Err(Error::TokenInvalid);
            }
            if !caller.may_everywhere(Permission::SessionDelete) {
                return Err(Error::PermissionDenied);
            }
            return Ok(Details {
                sequence: 0,
                change_date: now,
                resource_owner: instance,
            });
        };
        match token {
            Some(token) if !ports.minter().matches(token, &session.token) => {
                return Err(Error::TokenInvalid);
            }
            Some(_) => {}
            None => {
                let own = session.user.as_ref().is_some_and(|u| caller.is(&u.id));
                let may = match &session.user {
                    Some(user) => caller.may(Permission::SessionDelete, &user.org_id),
                    None => caller.may_everywhere(Permission::SessionDelete),
                };
                if !own && !may {
                    return Err(Error::PermissionDenied);
                }
            }
        }
        let event = new_event(
            &session.id,
            session.sequence + 1,
            Event::SessionTerminated {},
            &instance,
            caller,
            now,
        );
        let details = super::details_of(&event);
        match ports
            .users()
            .commit(Change::TerminateSession { event })
            .await
        {
            Ok(()) => return Ok(details),
            Err(StoreError::Conflict) => {}
            Err(other) => return Err(super::infrastructure(other).into()),
        }
    }
    Err(Failure::Unavailable("too many concurrent changes to one session".into()).into())
}

/// What ListSessions asks for.
#[derive(Debug, Clone, Default)]
pub struct ListInput {
    /// The filters, offset and limit (0 = the default of 100; at most 1 000).
    pub query: SessionQuery,
}

/// The default and largest page of ListSessions.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1_000;

/// Runs ListSessions: the matching sessions the caller may see (as GetSession without a
/// token), and how many match in all.
///
/// # Errors
/// [`Failure`].
#[instrument(skip_all)]
pub async fn list<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: ListInput,
) -> Result<(Vec<Shown>, u64), Error> {
    let mut query = input.query;
    query.limit = match query.limit {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    };
    if !caller.may_everywhere(Permission::SessionRead)
        && query.user_id.as_ref() != Some(&caller.user_id)
    {
        // Without `session.read`, a caller sees the sessions it created (or, asking for its
        // own user's, those): the total counts only those.
        query.creator = Some(caller.user_id.clone());
    }
    let (sessions, total) = ports.sessions().sessions(&query).await?;
    let mut shown = Vec::with_capacity(sessions.len());
    for session in sessions {
        if may_see(caller, &session, Permission::SessionRead) {
            shown.push(show(ports, session).await?);
        }
    }
    Ok((shown, total))
}

/// Whether `caller` may see (or, with `session.delete`, end) `session` without its token: its
/// creator, its user, or a holder of `permission` on the user's organization.
fn may_see(caller: &Principal, session: &Session, permission: Permission) -> bool {
    if session.creator == caller.user_id {
        return true;
    }
    match &session.user {
        Some(user) => caller.is_or_may(&user.id, permission, &user.org_id),
        None => caller.may_everywhere(permission),
    }
}

async fn show<P: Ports>(ports: &P, session: Session) -> Result<Shown, Error> {
    let user = match &session.user {
        Some(checked) => ports.users().user(&checked.id).await?,
        None => None,
    };
    Ok(Shown { session, user })
}

/// The user a check names: one that exists (not deleted) and may log in.
async fn find_user<P: Ports>(ports: &P, search: &UserSearch) -> Result<User, Error> {
    let user = match search {
        UserSearch::Id(id) => ports.users().user(id).await?,
        UserSearch::LoginName(name) => {
            let mut found = ports.users().users_by_login_name(name).await?;
            if found.len() == 1 { found.pop() } else { None }
        }
    };
    let user = user.filter(User::exists).ok_or(Error::UserNotFound)?;
    if !user.state.may_log_in() {
        return Err(Error::UserNotActive);
    }
    Ok(user)
}

/// A session being changed: its state so far and the events that got it there.
struct Draft {
    session: Session,
    events: Vec<NewEvent>,
    now: DateTime<Utc>,
    instance: OrgId,
    creator: Principal,
}

impl Draft {
    fn record(&mut self, event: Event) {
        let sequence = self.session.sequence + 1;
        self.session.sequence = sequence;
        self.session.changed_at = self.now;
        self.events.push(new_event(
            &self.session.id,
            sequence,
            event,
            &self.instance,
            &self.creator,
            self.now,
        ));
    }
}

/// What a Create/SetSession asks to change.
struct Wanted {
    user: Option<User>,
    password: Option<Password>,
    lifetime: Option<TimeDelta>,
    metadata: BTreeMap<String, Vec<u8>>,
    /// `Some` for a new session: its `session.added`.
    added: Option<UserAgent>,
}

/// The checks in ZITADEL's order (user, then password), then metadata, lifetime and a new
/// token; committed at once, or nothing when a check fails.
async fn apply<P: Ports>(
    ports: &P,
    caller: &Principal,
    mut draft: Draft,
    wanted: Wanted,
) -> Result<Written, Error> {
    if let Some(user_agent) = wanted.added {
        draft.record(Event::SessionAdded { user_agent });
    }
    let mut checked_user = wanted.user;
    if let Some(user) = &checked_user {
        draft.session.user = Some(CheckedUser {
            id: user.id.clone(),
            org_id: user.org_id.clone(),
            checked_at: draft.now,
        });
        draft.record(Event::SessionUserChecked {
            user_id: user.id.as_str().to_owned(),
            user_resource_owner: user.org_id.as_str().to_owned(),
            checked_at: draft.now,
        });
    }
    let mut password_checked = None;
    if let Some(password) = wanted.password {
        let Some(checked) = draft.session.user.clone() else {
            return Err(Error::UserIdMissing);
        };
        let user = match checked_user.take() {
            Some(user) => user,
            None => ports
                .users()
                .user(&checked.id)
                .await?
                .filter(User::exists)
                .ok_or(Error::UserNotFound)?,
        };
        let client = client_of(caller, &draft.session.user_agent);
        let (hash, rehashed) = check_password(ports, caller, &user, password, &client).await?;
        password_checked = Some(CheckedPassword {
            user_id: user.id.clone(),
            hash,
            rehashed,
        });
        draft.session.password_checked_at = Some(draft.now);
        draft.record(Event::SessionPasswordChecked {
            checked_at: draft.now,
        });
    }
    let mut keys = Vec::new();
    for (key, value) in wanted.metadata {
        let metadata = &mut draft.session.metadata;
        let changed = if value.is_empty() {
            metadata.remove(&key).is_some()
        } else if metadata.get(&key) == Some(&value) {
            false
        } else {
            metadata.insert(key.clone(), value);
            true
        };
        if changed {
            keys.push(key);
        }
    }
    if !keys.is_empty() {
        draft.record(Event::SessionMetadataSet { keys });
    }
    if let Some(lifetime) = wanted.lifetime {
        draft.session.expires_at = Some(draft.now + lifetime);
        draft.record(Event::SessionLifetimeSet {
            lifetime: lifetime.num_nanoseconds().unwrap_or(i64::MAX),
        });
    }
    if draft.events.is_empty() {
        // Nothing changed: the old token stays, and the answer carries none.
        return Ok(Written {
            details: Details {
                sequence: draft.session.sequence,
                change_date: draft.session.changed_at,
                resource_owner: draft.instance,
            },
            session_id: draft.session.id,
            token: None,
        });
    }
    let token = ports.minter().mint_session()?;
    draft.session.token = ports.minter().fingerprint(&token);
    draft.record(Event::SessionTokenSet {
        token_id: fresh_id(ports),
    });
    let details = draft
        .events
        .last()
        .map(super::details_of)
        .unwrap_or_else(|| unreachable!("a token event was just recorded"));
    let session_id = draft.session.id.clone();
    let change = Change::SaveSession {
        session: draft.session,
        events: draft.events,
        password_checked,
    };
    match ports.users().commit(change).await {
        Ok(()) => Ok(Written {
            details,
            session_id,
            token: Some(token),
        }),
        // The session or the user's password changed meanwhile: the check is stale.
        Err(StoreError::Conflict) => Err(Failure::Unavailable(
            "the session or its user changed during the check; try again".into(),
        )
        .into()),
        Err(other) => Err(super::infrastructure(other).into()),
    }
}

/// Who is guessing, for the budgets: the browser's IP when a login client (`IAM_LOGIN_CLIENT`
/// or `IAM_SESSION_CLIENT`) passes it on, else
/// the caller. `None` for a login client that passes none (it speaks for every browser, so a
/// budget of its own would be the whole site's).
fn client_of(caller: &Principal, user_agent: &UserAgent) -> Option<String> {
    let login_client = caller
        .roles
        .iter()
        .any(|r| matches!(r, Role::IamLoginClient | Role::IamSessionClient));
    match (&user_agent.ip, login_client) {
        (Some(ip), true) => Some(format!("ip:{ip}")),
        (None, true) => None,
        (_, false) => Some(format!("caller:{}", caller.user_id)),
    }
}

/// Checks `password` against `user`'s hash within the budgets, and counts a wrong one for the
/// lockout policy. Answers the hash it matched and, when that hash is not current (imported,
/// or older parameters), the password hashed anew to replace it.
async fn check_password<P: Ports>(
    ports: &P,
    caller: &Principal,
    user: &User,
    password: Password,
    client: &Option<String>,
) -> Result<(String, Option<String>), Error> {
    if user.state == UserState::Locked {
        return Err(Error::UserLocked {
            failed_attempts: user.failed_password_attempts,
        });
    }
    let Some(hash) = ports.users().password_hash(&user.id).await? else {
        return Err(Error::PasswordNotSet);
    };
    let limits = &ports.policies().limits;
    let by = client.as_deref().unwrap_or(caller.user_id.as_str());
    let mut keys: Vec<BudgetKey> = limits::keys(
        "wrong_passwords",
        &format!("{}|{by}", user.id),
        &limits.wrong_passwords,
    );
    if let Some(client) = client {
        keys.extend(limits::keys(
            "client_wrong_passwords",
            client,
            &limits.client_wrong_passwords,
        ));
    }
    let concerning = Concerning {
        user: None,
        recipient_masked: None,
    };
    limits::charge(ports, &keys, concerning).await??;
    let again = (!ports.passwords().is_current(&hash)).then(|| password.clone());
    let matched = ports.passwords().verify(password, hash.clone()).await;
    match matched {
        Ok(true) => {
            metrics::counter!("rekey_password_checks_total", "outcome" => "right").increment(1);
            if !keys.is_empty() {
                ports.limiter().give_back(&keys).await?;
            }
            let rehashed = match again {
                Some(password) => Some(ports.passwords().hash(password).await?),
                None => None,
            };
            Ok((hash, rehashed))
        }
        Ok(false) => {
            metrics::counter!("rekey_password_checks_total", "outcome" => "wrong").increment(1);
            let failed_attempts = count_wrong_password(ports, caller, &user.id, "session").await?;
            Err(Error::PasswordInvalid { failed_attempts })
        }
        Err(failure) => {
            // The unit stays taken: an unreadable hash is no reason to allow more tries.
            Err(failure.into())
        }
    }
}

/// Counts a wrong password of `user_id` (`checked_by`: `session` or `set_password`), and
/// locks the user when the lockout policy says so. Answers the count, this one included.
pub(crate) async fn count_wrong_password<P: Ports>(
    ports: &P,
    caller: &Principal,
    user_id: &UserId,
    checked_by: &'static str,
) -> Result<u32, Failure> {
    let policy = ports.policies().lockout;
    let now = ports.clock().now();
    commit_with_retry(ports, user_id, First::Load, move |user: Option<User>| async move {
        let Some(user) = user else {
            return Err(Failure::Unexpected("the user went away during its password check".into()));
        };
        let failed_attempts = user.failed_password_attempts.saturating_add(1);
        let locks = policy.locks_at(failed_attempts) && user.state != UserState::Locked;
        let mut events = vec![new_event(
            user.id.as_str(),
            user.sequence + 1,
            Event::PasswordCheckFailed {
                checked_by: checked_by.to_owned(),
                failed_attempts,
            },
            &user.org_id,
            caller,
            now,
        )];
        if locks {
            tracing::warn!(user.id = %user.id, failed_attempts, "user locked by the lockout policy");
            events.push(new_event(
                user.id.as_str(),
                user.sequence + 2,
                Event::UserLocked { failed_attempts },
                &user.org_id,
                caller,
                now,
            ));
        }
        let change = Change::FailPasswordCheck {
            user_id: user.id.clone(),
            failed_attempts,
            locks,
            events,
        };
        Ok(Step::Commit(change, failed_attempts))
    })
    .await
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use rekey_domain::{Role, UserState};

    use super::*;
    use crate::ports::{Budget, Limits};
    use crate::usecase::fakes::{Fake, principal};

    /// The login UI's service user.
    fn login_client() -> Principal {
        principal("org1", &[Role::IamLoginClient])
    }

    /// A user of org1 whose password is `Secret-123`.
    fn user_with_password(fake: &Fake) -> UserId {
        let id = fake.add_human("org1", UserState::Active, None);
        fake.set_password_hash(&id, "$fake$321-terceS");
        id.parse().expect("id")
    }

    fn checks(user: &UserId, password: Option<&str>) -> Checks {
        Checks {
            user: Some(UserSearch::Id(user.clone())),
            password: password.map(Password::new),
        }
    }

    fn from_ip(ip: &str) -> UserAgent {
        UserAgent {
            ip: Some(ip.to_owned()),
            ..UserAgent::default()
        }
    }

    async fn log_in(
        fake: &Fake,
        user: &UserId,
        password: &str,
        ip: &str,
    ) -> Result<Written, Error> {
        let input = CreateInput {
            checks: checks(user, Some(password)),
            lifetime: Some(TimeDelta::hours(24)),
            user_agent: from_ip(ip),
            metadata: BTreeMap::new(),
        };
        create(fake, &login_client(), input).await
    }

    #[tokio::test]
    async fn a_password_matching_an_imported_hash_replaces_it_in_the_same_commit() {
        let fake = Fake::new();
        let user = user_with_password(&fake);
        fake.set_password_hash(user.as_str(), "$old$321-terceS");
        log_in(&fake, &user, "wrong-password", "192.0.2.1")
            .await
            .expect_err("wrong");
        assert_eq!(
            fake.password_hash(user.as_str()).as_deref(),
            Some("$old$321-terceS"),
            "a wrong password changes nothing"
        );
        log_in(&fake, &user, "Secret-123", "192.0.2.1")
            .await
            .expect("created");
        assert_eq!(
            fake.password_hash(user.as_str()).as_deref(),
            Some("$fake$321-terceS"),
            "hashed anew, with the current scheme"
        );
    }

    #[tokio::test]
    async fn a_right_password_makes_a_session_with_both_factors_and_a_token() {
        let fake = Fake::new();
        let user = user_with_password(&fake);
        let written = log_in(&fake, &user, "Secret-123", "192.0.2.1")
            .await
            .expect("created");
        let token = written.token.expect("a token");
        assert_eq!(
            written.details.resource_owner.as_str(),
            "rekey",
            "the instance"
        );
        let shown = get(&fake, &login_client(), &written.session_id, Some(&token))
            .await
            .expect("shown");
        let session = shown.session;
        assert_eq!(session.user.as_ref().map(|u| &u.id), Some(&user));
        assert_eq!(session.password_checked_at, Some(fake.now()));
        assert_eq!(session.expires_at, Some(fake.now() + TimeDelta::hours(24)));
        let types: Vec<_> = fake
            .events_of(&written.session_id)
            .iter()
            .map(|e| e.event.event_type())
            .collect();
        assert_eq!(
            types,
            [
                "session.added",
                "session.user.checked",
                "session.password.checked",
                "session.lifetime.set",
                "session.token.set"
            ]
        );
        assert_eq!(written.details.sequence, 5);
        let wrong = BearerToken::new("session-999");
        assert_eq!(
            get(&fake, &login_client(), &written.session_id, Some(&wrong))
                .await
                .err(),
            Some(Error::TokenDenied)
        );
    }

    #[tokio::test]
    async fn wrong_passwords_are_counted_create_nothing_and_lock_at_the_maximum() {
        let fake = Fake::with_lockout(3);
        let user = user_with_password(&fake);
        for expected in 1..=3 {
            assert_eq!(
                log_in(&fake, &user, "wrong", "192.0.2.1").await.err(),
                Some(Error::PasswordInvalid {
                    failed_attempts: expected
                })
            );
        }
        let locked = fake.user(user.as_str()).expect("user");
        assert_eq!(locked.state, UserState::Locked);
        assert_eq!(
            log_in(&fake, &user, "Secret-123", "192.0.2.1").await.err(),
            Some(Error::UserNotActive),
            "the user check refuses a locked user before any password"
        );
        let types: Vec<_> = fake
            .events_of(user.as_str())
            .iter()
            .map(|e| e.event.event_type())
            .collect();
        assert_eq!(
            types[1..],
            [
                "user.human.password.check.failed",
                "user.human.password.check.failed",
                "user.human.password.check.failed",
                "user.locked"
            ]
        );
        let (all, total) = list(&fake, &login_client(), ListInput::default())
            .await
            .expect("listed");
        assert!(
            all.is_empty() && total == 0,
            "no failed check made a session"
        );
    }

    #[tokio::test]
    async fn a_right_password_starts_the_count_again_and_lockout_is_off_by_default() {
        let fake = Fake::new();
        let user = user_with_password(&fake);
        for _ in 0..4 {
            let _ = log_in(&fake, &user, "wrong", "192.0.2.1").await;
        }
        assert_eq!(
            fake.user(user.as_str()).expect("user").state,
            UserState::Active
        );
        log_in(&fake, &user, "Secret-123", "192.0.2.1")
            .await
            .expect("right");
        assert_eq!(
            log_in(&fake, &user, "wrong", "192.0.2.1").await.err(),
            Some(Error::PasswordInvalid { failed_attempts: 1 })
        );
    }

    #[tokio::test]
    async fn checks_run_in_zitadels_order() {
        let fake = Fake::new();
        let user = user_with_password(&fake);
        let password_only = CreateInput {
            checks: Checks {
                user: None,
                password: Some(Password::new("Secret-123")),
            },
            ..CreateInput::default()
        };
        assert_eq!(
            create(&fake, &login_client(), password_only).await.err(),
            Some(Error::UserIdMissing)
        );
        let inactive: UserId = fake
            .add_human("org1", UserState::Inactive, None)
            .parse()
            .expect("id");
        let input = CreateInput {
            checks: checks(&inactive, Some("anything")),
            ..CreateInput::default()
        };
        assert_eq!(
            create(&fake, &login_client(), input).await.err(),
            Some(Error::UserNotActive)
        );
        let no_password: UserId = fake
            .add_human("org1", UserState::Active, None)
            .parse()
            .expect("id");
        let input = CreateInput {
            checks: checks(&no_password, Some("anything")),
            ..CreateInput::default()
        };
        assert_eq!(
            create(&fake, &login_client(), input).await.err(),
            Some(Error::PasswordNotSet)
        );
        let input = CreateInput {
            checks: checks(&user, None),
            ..CreateInput::default()
        };
        assert_eq!(
            create(&fake, &principal("org1", &[Role::OrgOwner]), input)
                .await
                .err(),
            Some(Error::PermissionDenied),
            "an org owner holds no session.write"
        );
        let by_name = CreateInput {
            checks: Checks {
                user: Some(UserSearch::LoginName(format!("USER{user}"))),
                password: Some(Password::new("Secret-123")),
            },
            ..CreateInput::default()
        };
        assert!(
            create(&fake, &login_client(), by_name).await.is_ok(),
            "login names ignore case"
        );
        let unknown = CreateInput {
            checks: Checks {
                user: Some(UserSearch::LoginName("nobody".into())),
                password: None,
            },
            ..CreateInput::default()
        };
        assert_eq!(
            create(&fake, &login_client(), unknown).await.err(),
            Some(Error::UserNotFound)
        );
    }

    #[tokio::test]
    async fn set_session_rotates_the_token_and_a_no_op_keeps_it() {
        let fake = Fake::new();
        let user = user_with_password(&fake);
        let first = create(
            &fake,
            &login_client(),
            CreateInput {
                checks: checks(&user, None),
                ..CreateInput::default()
            },
        )
        .await
        .expect("created");
        let old = first.token.expect("token");
        let set_input = |checks: Checks, lifetime| SetInput {
            session_id: first.session_id.clone(),
            checks,
            lifetime,
            metadata: BTreeMap::new(),
        };
        let wrong = set(
            &fake,
            &login_client(),
            set_input(
                Checks {
                    user: None,
                    password: Some(Password::new("wrong")),
                },
                None,
            ),
        )
        .await;
        assert_eq!(
            wrong.err(),
            Some(Error::PasswordInvalid { failed_attempts: 1 })
        );
        assert!(
            get(&fake, &login_client(), &first.session_id, Some(&old))
                .await
                .is_ok(),
            "a failed check leaves the old token valid"
        );
        let checked = set(
            &fake,
            &login_client(),
            set_input(
                Checks {
                    user: None,
                    password: Some(Password::new("Secret-123")),
                },
                Some(TimeDelta::hours(1)),
            ),
        )
        .await
        .expect("checked");
        let new = checked.token.expect("a new token");
        assert_eq!(
            get(&fake, &login_client(), &first.session_id, Some(&old))
                .await
                .err(),
            Some(Error::TokenDenied),
            "the old token ended"
        );
        assert!(
            get(&fake, &login_client(), &first.session_id, Some(&new))
                .await
                .is_ok()
        );
        let nothing = set(&fake, &login_client(), set_input(Checks::default(), None))
            .await
            .expect("no-op");
        assert!(nothing.token.is_none());
        assert_eq!(nothing.details.sequence, checked.details.sequence);
        let other: UserId = fake
            .add_human("org1", UserState::Active, None)
            .parse()
            .expect("id");
        assert_eq!(
            set(
                &fake,
                &login_client(),
                set_input(checks(&other, None), None)
            )
            .await
            .err(),
            Some(Error::UserChange)
        );
        fake.advance(TimeDelta::hours(1));
        assert_eq!(
            set(&fake, &login_client(), set_input(Checks::default(), None))
                .await
                .err(),
            Some(Error::SessionExpired)
        );
        assert!(
            get(&fake, &login_client(), &first.session_id, Some(&new))
                .await
                .is_ok(),
            "GetSession still shows an expired session"
        );
    }

    #[tokio::test]
    async fn a_stranger_guessing_from_elsewhere_spends_only_its_own_budget() {
        let fake = Fake::with_limits(Limits {
            wrong_passwords: vec![Budget::new(3, TimeDelta::minutes(10))],
            client_wrong_passwords: vec![Budget::new(10, TimeDelta::minutes(10))],
            ..Limits::default()
        });
        let user = user_with_password(&fake);
        for _ in 0..3 {
            let _ = log_in(&fake, &user, "guess", "203.0.113.9").await;
        }
        assert!(
            matches!(
                log_in(&fake, &user, "guess", "203.0.113.9").await,
                Err(Error::Exhausted(Exhausted {
                    budget: "wrong_passwords",
                    ..
                }))
            ),
            "the stranger's budget for this user is spent"
        );
        assert!(
            log_in(&fake, &user, "Secret-123", "192.0.2.1")
                .await
                .is_ok(),
            "the user, elsewhere, logs in"
        );
        for _ in 0..5 {
            log_in(&fake, &user, "Secret-123", "192.0.2.1")
                .await
                .expect("right passwords give their unit back");
        }
    }

    #[tokio::test]
    async fn a_password_change_ends_the_password_factor_of_the_users_sessions() {
        let fake = Fake::new();
        let user = user_with_password(&fake);
        let written = log_in(&fake, &user, "Secret-123", "192.0.2.1")
            .await
            .expect("created");
        let input = crate::usecase::set_password::Input {
            user_id: user.clone(),
            new_password: Password::new("Another-Secret-456"),
            change_required: false,
            verification: crate::usecase::set_password::Verification::None,
        };
        crate::usecase::set_password::execute(
            &fake,
            &principal("org1", &[Role::OrgUserManager]),
            input,
        )
        .await
        .expect("changed");
        let token = written.token.expect("token");
        let shown = get(&fake, &login_client(), &written.session_id, Some(&token))
            .await
            .expect("shown");
        assert!(shown.session.user.is_some());
        assert_eq!(shown.session.password_checked_at, None);
        assert!(
            log_in(&fake, &user, "Secret-123", "192.0.2.1")
                .await
                .is_err()
        );
        assert!(
            log_in(&fake, &user, "Another-Secret-456", "192.0.2.1")
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn lockout_counts_wrong_current_passwords_of_set_password_too() {
        use crate::usecase::set_password::{self, Verification};
        let fake = Fake::with_lockout(2);
        let user = user_with_password(&fake);
        let me = fake.principal_of(user.as_str());
        let change = |current: &str| set_password::Input {
            user_id: user.clone(),
            new_password: Password::new("Another-Secret-456"),
            change_required: false,
            verification: Verification::CurrentPassword(Password::new(current)),
        };
        assert_eq!(
            set_password::execute(&fake, &me, change("wrong"))
                .await
                .err(),
            Some(set_password::Error::CurrentPasswordInvalid { failed_attempts: 1 })
        );
        assert_eq!(
            log_in(&fake, &user, "wrong", "192.0.2.1").await.err(),
            Some(Error::PasswordInvalid { failed_attempts: 2 }),
            "one count across both paths; this one locks"
        );
        assert_eq!(
            set_password::execute(&fake, &me, change("Secret-123"))
                .await
                .err(),
            Some(set_password::Error::UserLocked { failed_attempts: 2 }),
            "a locked user cannot change its password with the current one"
        );
        crate::usecase::lifecycle::unlock(
            &fake,
            &principal("org1", &[Role::OrgUserManager]),
            &user,
        )
        .await
        .expect("unlocked");
        assert!(
            log_in(&fake, &user, "Secret-123", "192.0.2.1")
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn delete_with_the_token_or_as_a_holder_of_session_delete() {
        let fake = Fake::new();
        let user = user_with_password(&fake);
        let written = log_in(&fake, &user, "Secret-123", "192.0.2.1")
            .await
            .expect("created");
        let token = written.token.expect("token");
        let stranger = principal("org2", &[Role::OrgOwner]);
        assert_eq!(
            delete(&fake, &stranger, &written.session_id, None)
                .await
                .err(),
            Some(Error::PermissionDenied)
        );
        assert_eq!(
            delete(
                &fake,
                &stranger,
                &written.session_id,
                Some(&BearerToken::new("x"))
            )
            .await
            .err(),
            Some(Error::TokenInvalid)
        );
        delete(&fake, &stranger, &written.session_id, Some(&token))
            .await
            .expect("the token suffices");
        assert_eq!(
            get(&fake, &login_client(), &written.session_id, None)
                .await
                .err(),
            Some(Error::SessionNotFound)
        );
        assert!(
            delete(&fake, &login_client(), &written.session_id, None)
                .await
                .is_ok(),
            "deleting a gone session succeeds"
        );
        assert_eq!(
            delete(&fake, &stranger, &written.session_id, Some(&token))
                .await
                .err(),
            Some(Error::TokenInvalid),
            "no token verifies against a gone session"
        );
        assert_eq!(
            fake.events_of(&written.session_id)
                .last()
                .map(|e| e.event.event_type()),
            Some("session.terminated")
        );
    }
}
