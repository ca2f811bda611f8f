//! SetPassword: a new password, authorized by a reset code, the current password, or
//! `user.write` on the user's organization.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use rekey_domain::{
    Details, Event, Password, Permission, PlainCode, Principal, User, UserId, UserState,
};
use tracing::instrument;

use super::limits::{self, Concerning, Exhausted};
use super::{
    First, Step, WeakPassword, check_new_password, commit_with_retry, details_of, new_event,
    personal_words,
};
use crate::ports::{
    BudgetKey, Change, Clock, CodeHasher, IdGenerator, PasswordHasher, Ports, RateLimiter,
    SecretBox, UserStore,
};
use crate::{Failure, OutboxMessage, ResetMessagePayload};

/// How the caller proves it may set the password.
#[derive(Debug, Clone)]
pub enum Verification {
    /// A reset code (any authenticated caller: the code is the proof).
    Code(PlainCode),
    /// A reset code typed into the public reset page by an unauthenticated client. Its
    /// guesses are counted per client (`limits.page_code` per client and code,
    /// `limits.page_wrong_codes` per client), never against the code's own attempts or the
    /// user's `limits.wrong_codes`: a stranger can neither invalidate the user's code nor
    /// spend the user's budget. Without a `page_code` budget (limits off) it is checked as
    /// [`Verification::Code`] is, so that guessing stays bounded.
    PageCode {
        /// The code.
        code: PlainCode,
        /// The client's address.
        client: IpAddr,
    },
    /// The current password: only from the user itself or a caller with `user.write` on the
    /// user's organization; wrong ones are counted (`limits.wrong_passwords`).
    CurrentPassword(Password),
    /// Nothing: the caller needs `user.write` on the user's organization (self is not enough).
    None,
}

/// A valid SetPassword request.
#[derive(Debug, Clone)]
pub struct Input {
    /// The user.
    pub user_id: UserId,
    /// The new password.
    pub new_password: Password,
    /// Whether it must be changed at the next login.
    pub change_required: bool,
    /// The proof.
    pub verification: Verification,
}

/// Why SetPassword refused, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No such user (or deleted, or a machine).
    #[error("User could not be found")]
    UserNotFound,
    /// The user is in state Initial.
    #[error("User is not yet initialized")]
    UserNotInitialized,
    /// No verification given and the caller lacks `user.write`, or a current password given
    /// by a caller that is neither the user nor holds `user.write`.
    #[error("No matching permissions found")]
    PermissionDenied,
    /// A guess budget is spent (wrong current passwords, or the reset page's per-client
    /// budgets); nothing was hashed or compared.
    #[error(transparent)]
    Exhausted(#[from] Exhausted),
    /// No code (never issued, used, replaced, or invalidated after too many wrong attempts).
    #[error("Code not found")]
    CodeNotFound,
    /// The code expired.
    #[error("Code is expired")]
    CodeExpired,
    /// The code does not match.
    #[error("Code is invalid")]
    CodeInvalid,
    /// The current password does not match.
    #[error("Password is invalid")]
    CurrentPasswordInvalid {
        /// Wrong passwords in a row, this one included (the lockout policy's count).
        failed_attempts: u32,
    },
    /// A current password given for a user the lockout policy locked.
    #[error("User is locked")]
    UserLocked {
        /// Wrong passwords in a row.
        failed_attempts: u32,
    },
    /// The new password is the current one.
    #[error("The new password must differ from the current one")]
    SamePassword,
    /// The new password breaks the policy or is too weak.
    #[error(transparent)]
    Password(#[from] WeakPassword),
    /// Infrastructure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// What the change must still find when it commits.
enum Proof {
    /// The code with this sequence, which the commit consumes.
    Code(i64),
    /// This password hash, verified against the current password.
    CurrentPassword(String),
    /// `user.write`, which a reload cannot take away.
    Admin,
}

impl Proof {
    fn verified_by(&self) -> &'static str {
        match self {
            Self::Code(_) => "code",
            Self::CurrentPassword(_) => "current_password",
            Self::Admin => "admin",
        }
    }
}

/// Runs SetPassword.
///
/// # Errors
/// [`Error`], in the check order of CONTRACT.md §4, except that with a current password the
/// new password's policy is checked first (so an answer never confirms a guess), and a budget
/// is consulted before any hash is computed.
#[instrument(name = "set_password", skip_all, fields(user.id = %input.user_id))]
pub async fn execute<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: Input,
) -> Result<Details, Error> {
    if let Verification::PageCode { code, client } = &input.verification {
        let (code, client) = (code.clone(), *client);
        if ports.policies().limits.page_code.is_empty() {
            // No per-client bound (limits off): the page's guesses are bounded the way the
            // API's are, by the code's own attempts, rather than not at all.
            let input = Input {
                verification: Verification::Code(code),
                ..input
            };
            return run(ports, caller, input, None).await;
        }
        return from_the_page(ports, caller, input, &code, client).await;
    }
    run(ports, caller, input, None).await
}

/// The reset page's way in: one unit of the client's budget for this code is taken before
/// anything is looked at (for an unknown user or a missing code as well, so the answers stay
/// alike), and every dead end draws on the client's wrong-code budget.
async fn from_the_page<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: Input,
    code: &PlainCode,
    client: IpAddr,
) -> Result<Details, Error> {
    let limits = &ports.policies().limits;
    let ip = client.to_string();
    let wrong = limits::keys("page_wrong_codes", &ip, &limits.page_wrong_codes);
    let now = ports.clock().now();
    for key in &wrong {
        if let Some(retry_after) = ports.limiter().spent(key, now).await? {
            metrics::counter!("rekey_limit_hits_total", "budget" => key.name).increment(1);
            return Err(Exhausted {
                budget: key.name,
                retry_after,
            }
            .into());
        }
    }
    let stored = ports.users().password_code(&input.user_id).await?;
    let sequence = stored.as_ref().map_or(0, |c| c.sequence);
    let this_code = limits::keys(
        "page_code",
        &format!("{ip}/{}/{sequence}", input.user_id),
        &limits.page_code,
    );
    limits::charge(ports, &this_code, Concerning::default()).await??;
    let result = run(ports, caller, input, Some((code, stored))).await;
    if let Err(
        Error::UserNotFound
        | Error::UserNotInitialized
        | Error::CodeNotFound
        | Error::CodeExpired
        | Error::CodeInvalid,
    ) = &result
    {
        // A refusal of this budget only matters for the next submission.
        let _ = limits::charge(ports, &wrong, Concerning::default()).await?;
    }
    result
}

/// Everything after the page's budgets. `page` holds the page's code and the code row it
/// loaded, if the request came from the page.
async fn run<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: Input,
    page: Option<(&PlainCode, Option<crate::ports::PasswordCode>)>,
) -> Result<Details, Error> {
    let users = ports.users();
    let user = users
        .user(&input.user_id)
        .await?
        .filter(|u| u.live_human().is_some())
        .ok_or(Error::UserNotFound)?;
    if user.state == UserState::Initial {
        return Err(Error::UserNotInitialized);
    }
    let words = personal_words(&user);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let proof = match (&input.verification, page) {
        (_, Some((code, stored))) => {
            let stored = stored.ok_or(Error::CodeNotFound)?;
            if stored.expires_at <= ports.clock().now() {
                return Err(Error::CodeExpired);
            }
            if !ports.code_hashes().verify(code, &stored.hash) {
                return Err(Error::CodeInvalid);
            }
            check_new_password(ports, &input.new_password, &words)?;
            Proof::Code(stored.sequence)
        }
        (Verification::Code(code), None) => {
            let sequence = check_code(ports, &user.id, code).await?;
            check_new_password(ports, &input.new_password, &words)?;
            Proof::Code(sequence)
        }
        (Verification::CurrentPassword(current), None) => {
            if !caller.is_or_may(&user.id, Permission::UserWrite, &user.org_id) {
                return Err(Error::PermissionDenied);
            }
            // Before the current password: whether a guess was right must not show in how
            // the new password is judged.
            check_new_password(ports, &input.new_password, &words)?;
            if current.expose() == input.new_password.expose() {
                return Err(Error::SamePassword);
            }
            if user.state == UserState::Locked {
                return Err(Error::UserLocked {
                    failed_attempts: user.failed_password_attempts,
                });
            }
            let hash = check_current_password(ports, caller, &user.id, current).await?;
            Proof::CurrentPassword(hash)
        }
        // A page code arrives here only with its row (`from_the_page`) or as a plain code;
        // were it ever passed on without one, it would prove nothing.
        (Verification::None | Verification::PageCode { .. }, None) => {
            if !caller.may(Permission::UserWrite, &user.org_id) {
                return Err(Error::PermissionDenied);
            }
            check_new_password(ports, &input.new_password, &words)?;
            Proof::Admin
        }
    };
    let password_hash = ports.passwords().hash(input.new_password).await?;
    let user_id = user.id.clone();
    let first = AtomicBool::new(true);
    let change_required = input.change_required;
    let (proof, password_hash, first) = (&proof, &password_hash, &first);
    commit_with_retry(
        ports,
        &user_id,
        First::Loaded(Some(user)),
        move |user: Option<User>| async move {
            let user = user
                .filter(|u| u.live_human().is_some())
                .ok_or(Error::UserNotFound)?;
            if user.state == UserState::Initial {
                return Err(Error::UserNotInitialized);
            }
            // The first attempt runs on what was checked just now; after a conflict the proof
            // is checked again, since the code may have been used or replaced, or the password
            // changed, in between. The commit itself also requires the code (`consumes_code`).
            if !first.swap(false, Ordering::Relaxed) {
                recheck(ports, &user.id, proof).await?;
            }
            let now = ports.clock().now();
            let event = new_event(
                user.id.as_str(),
                user.sequence + 1,
                Event::PasswordChanged {
                    change_required,
                    verified_by: proof.verified_by().to_owned(),
                },
                &user.org_id,
                caller,
                now,
            );
            let details = details_of(&event);
            let message = if ports.policies().notify_password_changed {
                Some(changed_notice(ports, &user, event.sequence, now)?)
            } else {
                None
            };
            let change = Change::SetPassword {
                user_id: user.id.clone(),
                consumes_code: match proof {
                    Proof::Code(sequence) => Some(*sequence),
                    Proof::CurrentPassword(_) | Proof::Admin => None,
                },
                password_hash: password_hash.clone(),
                change_required,
                event,
                message,
            };
            Ok(Step::Commit(change, details))
        },
    )
    .await
}

/// The proof, checked again against the store after a conflict.
async fn recheck<P: Ports>(ports: &P, user: &UserId, proof: &Proof) -> Result<(), Error> {
    let users = ports.users();
    match proof {
        Proof::Code(sequence) => {
            let stored = users
                .password_code(user)
                .await?
                .filter(|c| c.sequence == *sequence)
                .ok_or(Error::CodeNotFound)?;
            if stored.expires_at <= ports.clock().now() {
                return Err(Error::CodeExpired);
            }
        }
        Proof::CurrentPassword(hash) => {
            if users.password_hash(user).await?.as_ref() != Some(hash) {
                // Changed meanwhile: not a wrong guess, so nothing is counted.
                return Err(Error::CurrentPasswordInvalid { failed_attempts: 0 });
            }
        }
        Proof::Admin => {}
    }
    Ok(())
}

/// The current password, checked within the `wrong_passwords` budgets of the user and of
/// the caller. One unit is taken from both before the hash is compared, so that concurrent
/// guesses cannot outrun the budget; while either is spent nothing is hashed. (A right
/// password uses a unit too: nobody changes a password five times in ten minutes.) Answers
/// the hash it matched.
async fn check_current_password<P: Ports>(
    ports: &P,
    caller: &Principal,
    user: &UserId,
    current: &Password,
) -> Result<String, Error> {
    let limits = &ports.policies().limits;
    let mut keys = limits::keys("wrong_passwords", user.as_str(), &limits.wrong_passwords);
    keys.extend(limits::keys(
        "caller_wrong_passwords",
        caller.user_id.as_str(),
        &limits.wrong_passwords,
    ));
    let concerning = Concerning {
        user: Some(user),
        recipient_masked: None,
    };
    limits::charge(ports, &keys, concerning).await??;
    let stored = ports.users().password_hash(user).await?;
    if let Some(hash) = stored
        && ports
            .passwords()
            .verify(current.clone(), hash.clone())
            .await?
    {
        return Ok(hash);
    }
    let failed_attempts =
        super::session::count_wrong_password(ports, caller, user, "set_password").await?;
    Err(Error::CurrentPasswordInvalid { failed_attempts })
}

/// The "your password was changed" email, sealed like every queued message.
fn changed_notice<P: Ports>(
    ports: &P,
    user: &User,
    sequence: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<OutboxMessage, Error> {
    let profile = user.live_human().ok_or(Error::UserNotFound)?;
    let payload = ResetMessagePayload {
        code: String::new(),
        url_template: None,
        recipient: profile.email.as_str().to_owned(),
        language: profile
            .preferred_language
            .as_ref()
            .map(|l| l.as_str().to_owned()),
        user_id: user.id.to_string(),
        org_id: user.org_id.to_string(),
        display_name: profile.display_name.clone(),
        username: user.username.clone(),
    };
    let json = serde_json::to_vec(&payload)
        .map_err(|e| Failure::Unexpected(format!("serializing a payload: {e}")))?;
    let id = ports.ids().next_id();
    let payload = ports
        .sealer()
        .seal(&json, &crate::sealing_context(&id, &user.id))?;
    Ok(OutboxMessage {
        id,
        kind: super::deliver::PASSWORD_CHANGED,
        user_id: user.id.clone(),
        channel: rekey_domain::NotificationType::Email,
        recipient_masked: profile.email.masked(),
        payload,
        code_sequence: sequence,
        idempotency_key: format!("{}.{sequence}", user.id),
        created_at: now,
        next_attempt_at: now,
        trace_context: ports.trace_context(),
    })
}

/// The code checks: exists, not expired, an attempt counted (atomically, before comparing),
/// then compared in constant time. The attempt that reaches the limit invalidates the code.
/// Answers the sequence of the code that matched.
///
/// Beyond the per-code limit, wrong codes draw on a per-user budget across codes
/// (`limits.wrong_codes`); while it is spent every code, even the right one, is "not found".
async fn check_code<P: Ports>(ports: &P, user: &UserId, code: &PlainCode) -> Result<i64, Error> {
    let guesses = limits::keys(
        "wrong_codes",
        user.as_str(),
        &ports.policies().limits.wrong_codes,
    );
    let limiter = ports.limiter();
    for key in &guesses {
        if limiter.spent(key, ports.clock().now()).await?.is_some() {
            metrics::counter!("rekey_limit_hits_total", "budget" => key.name).increment(1);
            tracing::debug!(user.id = %user, "wrong-code budget spent; code refused unseen");
            return Err(Error::CodeNotFound);
        }
    }
    let users = ports.users();
    let stored = users
        .password_code(user)
        .await?
        .ok_or(Error::CodeNotFound)?;
    let now = ports.clock().now();
    if stored.expires_at <= now {
        return Err(Error::CodeExpired);
    }
    let limit = ports.policies().code_attempts;
    let attempts = users
        .count_code_attempt(user, stored.sequence)
        .await?
        .ok_or(Error::CodeNotFound)?;
    if attempts > limit {
        return Err(Error::CodeNotFound);
    }
    if ports.code_hashes().verify(code, &stored.hash) {
        return Ok(stored.sequence);
    }
    if attempts >= limit {
        invalidate(ports, user, stored.sequence, attempts).await?;
    }
    count_wrong_code(ports, user, &guesses).await
}

/// Draws a wrong code from the user's guess budget; the one that spends it is logged and
/// recorded. A wrong code is "invalid" while the budget lasts and "not found" after.
async fn count_wrong_code<P: Ports>(
    ports: &P,
    user: &UserId,
    guesses: &[BudgetKey],
) -> Result<i64, Error> {
    let concerning = Concerning {
        user: Some(user),
        recipient_masked: None,
    };
    if limits::charge(ports, guesses, concerning).await?.is_err() {
        return Err(Error::CodeNotFound);
    }
    let now = ports.clock().now();
    for key in guesses {
        if let Some(retry_after) = ports.limiter().spent(key, now).await? {
            let exhausted = Exhausted {
                budget: key.name,
                retry_after,
            };
            limits::spent(ports, &exhausted, concerning).await;
            break;
        }
    }
    Err(Error::CodeInvalid)
}

/// Deletes the code with `code_sequence` after too many wrong attempts (if it is still the
/// user's code: one replaced meanwhile is gone already).
async fn invalidate<P: Ports>(
    ports: &P,
    user: &UserId,
    code_sequence: i64,
    attempts: i32,
) -> Result<(), Error> {
    commit_with_retry(
        ports,
        user,
        First::Load,
        move |current: Option<User>| async move {
            let current = current.ok_or(Error::UserNotFound)?;
            let event = new_event(
                current.id.as_str(),
                current.sequence + 1,
                Event::PasswordCodeInvalidated {
                    failed_attempts: attempts,
                },
                &current.org_id,
                &super::system_principal(),
                ports.clock().now(),
            );
            let change = Change::InvalidateCode {
                user_id: current.id.clone(),
                code_sequence,
                event,
            };
            Ok::<_, Error>(Step::Commit(change, ()))
        },
    )
    .await?;
    tracing::warn!(user.id = %user, attempts, "reset code invalidated after too many wrong attempts");
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use rekey_domain::{ResetMedium, Role};

    use super::*;
    use crate::usecase::fakes::{Fake, principal};
    use crate::usecase::password_reset;

    const NEW: &str = "N3w-Passw0rd!";

    #[tokio::test]
    async fn twenty_wrong_codes_across_codes_lock_out_even_the_right_code_for_a_day() {
        let fake = Fake::with_limits(crate::ports::Limits::recommended());
        let user = fake.add_human("org1", UserState::Active, None);
        let me = fake.principal_of(&user);
        let wrong = || Verification::Code(PlainCode::new("WRONG1"));
        for round in 0..4 {
            issue_code(&fake, &user).await;
            for attempt in 0..5_u32 {
                assert_eq!(
                    set(&fake, &me, &user, wrong()).await.err(),
                    Some(Error::CodeInvalid),
                    "round {round}, attempt {attempt}"
                );
            }
        }
        let limit_events = |fake: &Fake| {
            fake.events_of(&user)
                .iter()
                .filter(|e| e.event.event_type() == "user.limit.exceeded")
                .count()
        };
        assert_eq!(limit_events(&fake), 1, "the 20th wrong code is recorded");
        let right = issue_code(&fake, &user).await;
        assert_eq!(
            set(&fake, &me, &user, Verification::Code(right))
                .await
                .err(),
            Some(Error::CodeNotFound)
        );
        assert_eq!(
            fake.code_of(&user).map(|c| c.failed_attempts),
            Some(0),
            "not even counted"
        );
        assert_eq!(limit_events(&fake), 1);
        // 20 a day refill one every 72 minutes.
        fake.advance(TimeDelta::minutes(72));
        let fresh = issue_code(&fake, &user).await;
        set(&fake, &me, &user, Verification::Code(fresh))
            .await
            .expect("one guess back");
    }

    async fn issue_code(fake: &Fake, user: &str) -> PlainCode {
        let admin = principal("org1", &[Role::OrgUserManager]);
        let input = password_reset::Input {
            user_id: user.parse().expect("id"),
            medium: ResetMedium::ReturnCode,
        };
        password_reset::execute(fake, &admin, input)
            .await
            .expect("reset")
            .code
            .expect("code")
    }

    async fn set(
        fake: &Fake,
        caller: &Principal,
        user: &str,
        verification: Verification,
    ) -> Result<Details, Error> {
        let input = Input {
            user_id: user.parse().expect("id"),
            new_password: Password::new(NEW),
            change_required: false,
            verification,
        };
        execute(fake, caller, input).await
    }

    /// Retention keeps an expired code for `retention` after it expired, so the answer changes
    /// from "Code is expired" to "Code not found" only that long after expiry.
    #[tokio::test]
    async fn an_expired_code_answers_expired_until_retention_removes_it() {
        use crate::usecase::retention::{RetentionPolicy, prune};
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        let anyone = principal("elsewhere", &[]);
        let code = issue_code(&fake, &user).await;
        let policy = RetentionPolicy::default();
        fake.advance(TimeDelta::days(1) + TimeDelta::hours(1));
        prune(&fake, &fake, &policy).await.expect("prune");
        assert_eq!(
            set(&fake, &anyone, &user, Verification::Code(code.clone()))
                .await
                .err(),
            Some(Error::CodeExpired),
            "expired a day ago: kept"
        );
        fake.advance(policy.retention);
        let report = prune(&fake, &fake, &policy).await.expect("prune");
        assert_eq!(report.expired_codes, 1);
        assert_eq!(
            set(&fake, &anyone, &user, Verification::Code(code))
                .await
                .err(),
            Some(Error::CodeNotFound),
            "expired more than the retention ago: gone"
        );
    }

    #[tokio::test]
    async fn a_code_sets_the_password_once() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        let code = issue_code(&fake, &user).await;
        let anyone = principal("elsewhere", &[]);
        let details = set(&fake, &anyone, &user, Verification::Code(code.clone()))
            .await
            .expect("set");
        assert_eq!(details.sequence, 3);
        assert_eq!(
            fake.events_of(&user).last().map(|e| e.event.event_type()),
            Some("user.human.password.changed")
        );
        assert!(fake.password_hash(&user).is_some_and(|h| !h.contains(NEW)));
        assert!(fake.code_of(&user).is_none(), "consumed");
        assert_eq!(
            set(&fake, &anyone, &user, Verification::Code(code))
                .await
                .err(),
            Some(Error::CodeNotFound),
            "single use"
        );
    }

    #[tokio::test]
    async fn code_checks_in_order() {
        let fake = Fake::new();
        let anyone = principal("x", &[]);
        let user = fake.add_human("org1", UserState::Active, None);
        let wrong = Verification::Code(PlainCode::new("WRONG1"));
        assert_eq!(
            set(&fake, &anyone, "ghost", wrong.clone()).await.err(),
            Some(Error::UserNotFound)
        );
        let initial = fake.add_human("org1", UserState::Initial, None);
        assert_eq!(
            set(&fake, &anyone, &initial, wrong.clone()).await.err(),
            Some(Error::UserNotInitialized)
        );
        assert_eq!(
            set(&fake, &anyone, &user, wrong.clone()).await.err(),
            Some(Error::CodeNotFound)
        );
        let code = issue_code(&fake, &user).await;
        assert_eq!(
            set(&fake, &anyone, &user, wrong).await.err(),
            Some(Error::CodeInvalid)
        );
        let weak = Input {
            user_id: user.parse().expect("id"),
            new_password: Password::new("weak"),
            change_required: false,
            verification: Verification::Code(code.clone()),
        };
        assert_eq!(
            execute(&fake, &anyone, weak).await.err(),
            Some(Error::Password(WeakPassword::Policy(
                rekey_domain::PolicyViolation::TooShort
            )))
        );
        fake.advance(TimeDelta::hours(2));
        assert_eq!(
            set(&fake, &anyone, &user, Verification::Code(code))
                .await
                .err(),
            Some(Error::CodeExpired)
        );
    }

    #[tokio::test]
    async fn five_wrong_codes_invalidate_the_code() {
        let fake = Fake::new();
        let anyone = principal("x", &[]);
        let user = fake.add_human("org1", UserState::Active, None);
        let code = issue_code(&fake, &user).await;
        for _ in 0..5 {
            let wrong = Verification::Code(PlainCode::new("WRONG1"));
            assert_eq!(
                set(&fake, &anyone, &user, wrong).await.err(),
                Some(Error::CodeInvalid)
            );
        }
        assert_eq!(
            fake.events_of(&user).last().map(|e| e.event.event_type()),
            Some("user.human.password.code.invalidated")
        );
        assert_eq!(
            set(&fake, &anyone, &user, Verification::Code(code))
                .await
                .err(),
            Some(Error::CodeNotFound)
        );

        // Four wrong, then the right one: accepted.
        let code = issue_code(&fake, &user).await;
        for _ in 0..4 {
            let wrong = Verification::Code(PlainCode::new("WRONG1"));
            assert_eq!(
                set(&fake, &anyone, &user, wrong).await.err(),
                Some(Error::CodeInvalid)
            );
        }
        assert!(
            set(&fake, &anyone, &user, Verification::Code(code))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn weak_and_personal_passwords_are_refused() {
        let fake = Fake::new();
        let admin = principal("org1", &[Role::OrgUserManager]);
        let user = fake.add_human("org1", UserState::Active, None);
        let with = |password: &str| Input {
            user_id: user.parse().expect("id"),
            new_password: Password::new(password),
            change_required: false,
            verification: Verification::None,
        };
        assert_eq!(
            execute(&fake, &admin, with("Sh0rt#Pw")).await.err(),
            Some(Error::Password(WeakPassword::TooWeak {
                score: 1,
                warning: Some("too short".into())
            }))
        );
        assert_eq!(
            execute(&fake, &admin, with("My-Lovelace-99")).await.err(),
            Some(Error::Password(WeakPassword::Policy(
                rekey_domain::PolicyViolation::PersonalInfo
            ))),
            "the family name"
        );
        assert!(execute(&fake, &admin, with("Kq7#vX2!mRt9")).await.is_ok());
    }

    #[tokio::test]
    async fn min_strength_zero_runs_no_estimate() {
        for (min_strength, estimates) in [(0, 0), (3, 1)] {
            let fake = Fake::with_min_strength(min_strength);
            let admin = principal("org1", &[Role::OrgUserManager]);
            let user = fake.add_human("org1", UserState::Active, None);
            let input = Input {
                user_id: user.parse().expect("id"),
                new_password: Password::new("Kq7#vX2!mRt9"),
                change_required: false,
                verification: Verification::None,
            };
            assert!(execute(&fake, &admin, input).await.is_ok());
            assert_eq!(
                fake.strength_estimates(),
                estimates,
                "min_strength {min_strength}"
            );
        }
    }

    #[tokio::test]
    async fn a_second_reset_invalidates_the_first_code() {
        let fake = Fake::new();
        let anyone = principal("x", &[]);
        let user = fake.add_human("org1", UserState::Active, None);
        let first = issue_code(&fake, &user).await;
        let second = issue_code(&fake, &user).await;
        assert_eq!(
            set(&fake, &anyone, &user, Verification::Code(first))
                .await
                .err(),
            Some(Error::CodeInvalid)
        );
        assert!(
            set(&fake, &anyone, &user, Verification::Code(second))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn current_password_and_admin_paths() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        let me = fake.principal_of(&user);
        assert_eq!(
            set(&fake, &me, &user, Verification::None).await.err(),
            Some(Error::PermissionDenied),
            "self is not enough without a proof"
        );
        let admin = principal("org1", &[Role::OrgUserManager]);
        assert!(set(&fake, &admin, &user, Verification::None).await.is_ok());
        let wrong = Verification::CurrentPassword(Password::new("not-it"));
        assert_eq!(
            set(&fake, &me, &user, wrong).await.err(),
            Some(Error::CurrentPasswordInvalid { failed_attempts: 1 })
        );
        let same = Verification::CurrentPassword(Password::new(NEW));
        assert_eq!(
            set(&fake, &me, &user, same).await.err(),
            Some(Error::SamePassword)
        );
        let input = Input {
            user_id: user.parse().expect("id"),
            new_password: Password::new("An0ther-Passw0rd!"),
            change_required: true,
            verification: Verification::CurrentPassword(Password::new(NEW)),
        };
        assert!(execute(&fake, &me, input).await.is_ok());
        let without = fake.add_human("org1", UserState::Active, None);
        let any = || Verification::CurrentPassword(Password::new("anything"));
        assert_eq!(
            set(&fake, &me, &without, any()).await.err(),
            Some(Error::PermissionDenied),
            "another user's current password is not for me to try"
        );
        assert_eq!(
            set(&fake, &admin, &without, any()).await.err(),
            Some(Error::CurrentPasswordInvalid { failed_attempts: 1 })
        );
    }

    #[tokio::test]
    async fn only_the_user_or_its_admins_may_try_a_current_password() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        fake.set_password_hash(&user, &fake_hash(NEW));
        let guess = || Verification::CurrentPassword(Password::new(NEW));
        let strangers = [
            principal("org2", &[Role::OrgUserManager]),
            principal("org1", &[]),
        ];
        for stranger in &strangers {
            let answer = execute(&fake, stranger, input(&user, "An0ther-Passw0rd!", guess())).await;
            assert_eq!(
                answer.err(),
                Some(Error::PermissionDenied),
                "even the right one"
            );
        }
        assert_eq!(fake.password_hash(&user), Some(fake_hash(NEW)), "unchanged");
        let admin = principal("org1", &[Role::OrgUserManager]);
        assert!(
            execute(&fake, &admin, input(&user, "An0ther-Passw0rd!", guess()))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn the_new_password_is_judged_before_the_current_one() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        fake.set_password_hash(&user, &fake_hash(NEW));
        let me = fake.principal_of(&user);
        for guess in [NEW, "not-it"] {
            let verification = Verification::CurrentPassword(Password::new(guess));
            assert_eq!(
                execute(&fake, &me, input(&user, "weak", verification))
                    .await
                    .err(),
                Some(Error::Password(WeakPassword::Policy(
                    rekey_domain::PolicyViolation::TooShort
                ))),
                "the same answer whether {guess} is right or not"
            );
        }
        let same = Verification::CurrentPassword(Password::new("Kq7#vX2!mRt9"));
        assert_eq!(
            execute(&fake, &me, input(&user, "Kq7#vX2!mRt9", same))
                .await
                .err(),
            Some(Error::SamePassword),
            "refused before it is compared, right or wrong"
        );
    }

    #[tokio::test]
    async fn wrong_current_passwords_spend_the_users_and_the_callers_budget() {
        let fake = Fake::with_limits(crate::ports::Limits {
            wrong_passwords: vec![crate::ports::Budget::new(5, TimeDelta::minutes(10))],
            ..crate::ports::Limits::default()
        });
        let user = fake.add_human("org1", UserState::Active, None);
        fake.set_password_hash(&user, &fake_hash(NEW));
        let me = fake.principal_of(&user);
        let wrong = || Verification::CurrentPassword(Password::new("not-it"));
        for attempt in 0..5_u32 {
            assert_eq!(
                execute(&fake, &me, input(&user, "Kq7#vX2!mRt9", wrong()))
                    .await
                    .err(),
                Some(Error::CurrentPasswordInvalid {
                    failed_attempts: attempt + 1
                }),
                "attempt {attempt}"
            );
        }
        let right = || Verification::CurrentPassword(Password::new(NEW));
        let refused = execute(&fake, &me, input(&user, "Kq7#vX2!mRt9", right())).await;
        assert_eq!(
            refused.err(),
            Some(Error::Exhausted(Exhausted {
                budget: "wrong_passwords",
                retry_after: TimeDelta::minutes(2),
            })),
            "even the right password is not checked while the budget is spent"
        );
        assert_eq!(
            fake.events_of(&user)
                .iter()
                .filter(|e| e.event.event_type() == "user.limit.exceeded")
                .count(),
            1
        );
        // An admin of the org is a second caller, but the user's budget is the same one.
        let admin = principal("org1", &[Role::OrgUserManager]);
        assert!(matches!(
            execute(&fake, &admin, input(&user, "Kq7#vX2!mRt9", right())).await,
            Err(Error::Exhausted(_))
        ));
        // Five wrong ones by the admin on other users spend the admin's own budget.
        for _ in 0..5 {
            let other = fake.add_human("org1", UserState::Active, None);
            let _ = execute(&fake, &admin, input(&other, "Kq7#vX2!mRt9", wrong())).await;
        }
        let fresh = fake.add_human("org1", UserState::Active, None);
        assert_eq!(
            execute(&fake, &admin, input(&fresh, "Kq7#vX2!mRt9", wrong()))
                .await
                .err(),
            Some(Error::Exhausted(Exhausted {
                budget: "caller_wrong_passwords",
                retry_after: TimeDelta::minutes(2),
            })),
            "per caller, across users"
        );
        fake.advance(TimeDelta::minutes(2));
        assert!(
            execute(&fake, &me, input(&user, "Kq7#vX2!mRt9", right()))
                .await
                .is_ok(),
            "refilled"
        );
    }

    #[tokio::test]
    async fn page_guesses_are_counted_per_client_never_on_the_code_or_the_user() {
        let fake = Fake::with_limits(crate::ports::Limits::recommended());
        let user = fake.add_human("org1", UserState::Active, None);
        let code = issue_code(&fake, &user).await;
        let me = fake.principal_of(&user);
        let from = |client: &str, code: &PlainCode| Verification::PageCode {
            code: code.clone(),
            client: client.parse().expect("ip"),
        };
        let wrong = PlainCode::new("WRONG1");
        // Ten clients, two wrong guesses each: twice the code's own 5 attempts.
        for client in 1..=10 {
            let ip = format!("192.0.2.{client}");
            for _ in 0..2 {
                assert_eq!(
                    set(&fake, &me, &user, from(&ip, &wrong)).await.err(),
                    Some(Error::CodeInvalid)
                );
            }
        }
        let stored = fake.code_of(&user).expect("the code is still there");
        assert_eq!(stored.failed_attempts, 0, "not counted on the code");
        assert!(
            fake.events_of(&user)
                .iter()
                .all(|e| e.event.event_type() != "user.limit.exceeded"),
            "nor on the user"
        );
        // A third submission of this code from one client is refused, even the right code.
        let third = set(&fake, &me, &user, from("192.0.2.1", &code)).await;
        assert_eq!(
            third.err(),
            Some(Error::Exhausted(Exhausted {
                budget: "page_code",
                retry_after: TimeDelta::hours(12),
            }))
        );
        // An unknown user or a missing code costs the same, so the answers stay alike.
        let ghost = set(&fake, &me, "123456789", from("192.0.2.99", &wrong)).await;
        assert_eq!(ghost.err(), Some(Error::UserNotFound));
        // Eight more wrong codes elsewhere spend the client's 10 a day across codes.
        let other = fake.add_human("org1", UserState::Active, None);
        for round in 0..4 {
            issue_code(&fake, &other).await;
            for _ in 0..2 {
                let answer = set(&fake, &me, &other, from("192.0.2.1", &wrong)).await;
                assert_eq!(answer.err(), Some(Error::CodeInvalid), "round {round}");
            }
        }
        let spent = set(&fake, &me, &other, from("192.0.2.1", &wrong)).await;
        assert!(
            matches!(&spent, Err(Error::Exhausted(e)) if e.budget == "page_wrong_codes"),
            "{spent:?}"
        );
        // The user, from its own address, sets its password with the code.
        set(&fake, &me, &user, from("198.51.100.1", &code))
            .await
            .expect("the right code from a fresh client");
        assert!(fake.code_of(&user).is_none(), "consumed");
    }

    #[tokio::test]
    async fn without_page_budgets_page_guesses_count_on_the_code() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        let code = issue_code(&fake, &user).await;
        let me = fake.principal_of(&user);
        for client in 1..=5 {
            let guess = Verification::PageCode {
                code: PlainCode::new("WRONG1"),
                client: format!("192.0.2.{client}").parse().expect("ip"),
            };
            assert_eq!(
                set(&fake, &me, &user, guess).await.err(),
                Some(Error::CodeInvalid)
            );
        }
        let right = Verification::PageCode {
            code,
            client: "198.51.100.1".parse().expect("ip"),
        };
        assert_eq!(
            set(&fake, &me, &user, right).await.err(),
            Some(Error::CodeNotFound),
            "five wrong guesses, from any clients, invalidate the code: never unbounded"
        );
    }

    #[tokio::test]
    async fn a_commit_retried_after_a_conflict_checks_the_code_again() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        let code = issue_code(&fake, &user).await;
        let anyone = principal("x", &[]);
        fake.fail_next_commits_with(vec![crate::ports::StoreError::Conflict; 3]);
        set(&fake, &anyone, &user, Verification::Code(code.clone()))
            .await
            .expect("the code is still there after each reload");
        assert_eq!(
            set(&fake, &anyone, &user, Verification::Code(code))
                .await
                .err(),
            Some(Error::CodeNotFound)
        );
        assert_eq!(
            fake.events_of(&user)
                .iter()
                .filter(|e| e.event.event_type() == "user.human.password.changed")
                .count(),
            1
        );
    }

    /// What the fake hasher stores for `password`.
    fn fake_hash(password: &str) -> String {
        format!("$fake${}", password.chars().rev().collect::<String>())
    }

    fn input(user: &str, new: &str, verification: Verification) -> Input {
        Input {
            user_id: user.parse().expect("id"),
            new_password: Password::new(new),
            change_required: false,
            verification,
        }
    }
}
