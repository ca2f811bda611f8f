//! SetPassword: a new password, authorized by a reset code, the current password, or
//! `user.write` on the user's organization.

use rekey_domain::{Details, Event, Password, Permission, PlainCode, Principal, UserId, UserState};
use tracing::instrument;

use super::limits::{self, Concerning, Exhausted};
use super::{
    MAX_CONFLICT_RETRIES, WeakPassword, check_new_password, contended, details_of, infrastructure,
    new_event, personal_words,
};
use crate::ports::{
    BudgetKey, Change, Clock, CodeHasher, IdGenerator, PasswordHasher, Ports, RateLimiter,
    SecretBox, StoreError, UserStore,
};
use crate::{Failure, OutboxMessage, ResetMessagePayload};

/// How the caller proves it may set the password.
#[derive(Debug, Clone)]
pub enum Verification {
    /// A reset code (any authenticated caller: the code is the proof).
    Code(PlainCode),
    /// The current password (any authenticated caller).
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
    /// No verification given and the caller lacks `user.write`.
    #[error("No matching permissions found")]
    PermissionDenied,
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
    CurrentPasswordInvalid,
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

/// Runs SetPassword.
///
/// # Errors
/// [`Error`], in the check order of CONTRACT.md §4.
#[instrument(skip_all, fields(user.id = %input.user_id))]
pub async fn execute<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: Input,
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
    let verified_by = match &input.verification {
        Verification::Code(code) => {
            check_code(ports, &user.id, code).await?;
            "code"
        }
        Verification::CurrentPassword(current) => {
            let stored = users.password_hash(&user.id).await?;
            let matches = match stored {
                Some(hash) => ports.passwords().verify(current.clone(), hash).await?,
                None => false,
            };
            if !matches {
                return Err(Error::CurrentPasswordInvalid);
            }
            if current.expose() == input.new_password.expose() {
                return Err(Error::SamePassword);
            }
            "current_password"
        }
        Verification::None => {
            if !caller.may(Permission::UserWrite, &user.org_id) {
                return Err(Error::PermissionDenied);
            }
            "admin"
        }
    };
    let words = personal_words(&user);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    check_new_password(ports, &input.new_password, &words)?;
    let password_hash = ports.passwords().hash(input.new_password).await?;
    let mut user = user;
    for _ in 0..MAX_CONFLICT_RETRIES {
        let now = ports.clock().now();
        let event = new_event(
            user.id.as_str(),
            user.sequence + 1,
            Event::PasswordChanged {
                change_required: input.change_required,
                verified_by: verified_by.to_owned(),
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
            password_hash: password_hash.clone(),
            change_required: input.change_required,
            event,
            message,
        };
        match users.commit(change).await {
            Ok(()) => return Ok(details),
            Err(StoreError::Conflict) => {
                user = users.user(&user.id).await?.ok_or(Error::UserNotFound)?;
            }
            Err(other) => return Err(infrastructure(other).into()),
        }
    }
    Err(contended().into())
}

/// The "your password was changed" email, sealed like every queued message.
fn changed_notice<P: Ports>(
    ports: &P,
    user: &rekey_domain::User,
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
    })
}

/// The code checks: exists, not expired, an attempt counted (atomically, before comparing),
/// then compared in constant time. The attempt that reaches the limit invalidates the code.
///
/// Beyond the per-code limit, wrong codes draw on a per-user budget across codes
/// (`limits.wrong_codes`); while it is spent every code, even the right one, is "not found".
async fn check_code<P: Ports>(ports: &P, user: &UserId, code: &PlainCode) -> Result<(), Error> {
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
        return Ok(());
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
) -> Result<(), Error> {
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

async fn invalidate<P: Ports>(
    ports: &P,
    user: &UserId,
    code_sequence: i64,
    attempts: i32,
) -> Result<(), Error> {
    let users = ports.users();
    for _ in 0..MAX_CONFLICT_RETRIES {
        let current = users.user(user).await?.ok_or(Error::UserNotFound)?;
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
        match users.commit(change).await {
            Ok(()) => {
                tracing::warn!(user.id = %user, attempts, "reset code invalidated after too many wrong attempts");
                return Ok(());
            }
            Err(StoreError::Conflict) => {}
            Err(other) => return Err(infrastructure(other).into()),
        }
    }
    Err(contended().into())
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
            for attempt in 0..5 {
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
            Some(Error::CurrentPasswordInvalid)
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
        let any = Verification::CurrentPassword(Password::new("anything"));
        assert_eq!(
            set(&fake, &me, &without, any).await.err(),
            Some(Error::CurrentPasswordInvalid)
        );
    }
}
