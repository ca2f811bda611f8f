//! A user's life cycle by an administrator, as ZITADEL's DeactivateUser, ReactivateUser,
//! LockUser, UnlockUser and DeleteUser: each a checked transition of the user's state,
//! recorded as an event on the user's stream.
//!
//! A password reset does not unlock, as in ZITADEL: whoever locked the account by guessing
//! could otherwise have it unlocked by requesting a reset, and a lock is for an administrator
//! to look at.

use rekey_domain::{Event, Permission, Principal, User, UserId, UserState};
use tracing::instrument;

use super::{First, Step, commit_with_retry, new_event};
use crate::Failure;
use crate::ports::{Change, Clock, Ports};

/// What an administrator does to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Active or locked → inactive: no session, no token of its own (a reset code still
    /// issues, as in ZITADEL).
    Deactivate,
    /// Inactive → active.
    Reactivate,
    /// Active or initial → locked.
    Lock,
    /// Locked → active, with the count of wrong passwords at 0 (an initial user locked and
    /// unlocked is active, as in ZITADEL).
    Unlock,
}

/// Why a transition or a deletion was refused, with ZITADEL's texts (its v2 ids in the docs).
///
/// ZITADEL checks the permission last, after the state; rekey checks it first, so a caller
/// without it learns nothing of the user's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No such user (or deleted): NotFound, `COMMAND-450yxuqrh1` (lock), `-x377t913pw`
    /// (unlock), `-5gp2p62iin` (deactivate), `-9hy5kzbuk6` (reactivate), `-bd4ir1mblj`
    /// (delete).
    #[error("User could not be found")]
    NotFound,
    /// Neither the user itself nor a holder of `user.write` (`user.delete` to delete) on the
    /// user's organization.
    #[error("No matching permissions found")]
    PermissionDenied,
    /// Deactivate: the user is in state Initial (`COMMAND-gvx4kct9r2`).
    #[error("User with state initial can only be deleted not deactivated")]
    CannotDeactivateInitial,
    /// Deactivate: the user is already inactive (`COMMAND-5gunjw0cd7`).
    #[error("User already inactive")]
    AlreadyInactive,
    /// Reactivate: the user is not inactive (`COMMAND-s5qqcz97hf`).
    #[error("User is not inactive")]
    NotInactive,
    /// Lock: the user is neither active nor initial (`COMMAND-lgws8wtsqf`); ZITADEL has no
    /// "already locked".
    #[error("User is not active or initial")]
    ShouldBeActiveOrInitial,
    /// Unlock: the user is not locked (`COMMAND-olb9vb0oca`).
    #[error("User is not locked")]
    NotLocked,
    /// Infrastructure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl Transition {
    /// The state the user goes to, or why it may not from `from`.
    fn target(self, from: UserState) -> Result<(UserState, Event), Error> {
        use UserState::{Active, Inactive, Initial, Locked};
        match (self, from) {
            (Self::Deactivate, Initial) => Err(Error::CannotDeactivateInitial),
            (Self::Deactivate, Inactive) => Err(Error::AlreadyInactive),
            (Self::Deactivate, _) => Ok((Inactive, Event::UserDeactivated {})),
            (Self::Reactivate, Inactive) => Ok((Active, Event::UserReactivated {})),
            (Self::Reactivate, _) => Err(Error::NotInactive),
            (Self::Lock, Active | Initial) => {
                Ok((Locked, Event::UserLocked { failed_attempts: 0 }))
            }
            (Self::Lock, _) => Err(Error::ShouldBeActiveOrInitial),
            (Self::Unlock, Locked) => Ok((Active, Event::UserUnlocked {})),
            (Self::Unlock, _) => Err(Error::NotLocked),
        }
    }
}

/// Applies `transition` to `user_id`, for the user itself (as ZITADEL allows) or a caller with
/// `user.write` on its organization.
///
/// # Errors
/// [`Error`].
#[instrument(skip_all, fields(user.id = %user_id, ?transition))]
pub async fn transition<P: Ports>(
    ports: &P,
    caller: &Principal,
    user_id: &UserId,
    transition: Transition,
) -> Result<rekey_domain::Details, Error> {
    change_user(ports, caller, user_id, Permission::UserWrite, |user| {
        let (state, event) = transition.target(user.state)?;
        let event = match event {
            Event::UserLocked { .. } => Event::UserLocked {
                failed_attempts: user.failed_password_attempts,
            },
            other => other,
        };
        Ok((event, move |event| Change::SetUserState { state, event }))
    })
    .await
}

/// Unlocks `user_id` (the admin CLI's `user unlock`).
///
/// # Errors
/// [`Error`].
pub async fn unlock<P: Ports>(
    ports: &P,
    caller: &Principal,
    user_id: &UserId,
) -> Result<(), Error> {
    transition(ports, caller, user_id, Transition::Unlock)
        .await
        .map(drop)
}

/// Deletes `user_id`, for the user itself or a caller with `user.delete` on its organization:
/// its rows go and its events keep no address or name (see [`Change::RemoveUser`]).
///
/// # Errors
/// [`Error::NotFound`], [`Error::PermissionDenied`], [`Error::Failure`].
#[instrument(skip_all, fields(user.id = %user_id))]
pub async fn delete<P: Ports>(
    ports: &P,
    caller: &Principal,
    user_id: &UserId,
) -> Result<rekey_domain::Details, Error> {
    change_user(ports, caller, user_id, Permission::UserDelete, |_| {
        Ok((Event::UserRemoved {}, |event| Change::RemoveUser { event }))
    })
    .await
}

/// The frame of every life-cycle change: the user as loaded now (not deleted), the caller
/// being the user or holding `permission` on its organization, then `decide` (the event and
/// the change that carries it), committed with the conflict retry.
async fn change_user<P, Make>(
    ports: &P,
    caller: &Principal,
    user_id: &UserId,
    permission: Permission,
    decide: impl Fn(&User) -> Result<(Event, Make), Error>,
) -> Result<rekey_domain::Details, Error>
where
    P: Ports,
    Make: FnOnce(rekey_domain::NewEvent) -> Change,
{
    let now = ports.clock().now();
    let decide = &decide;
    commit_with_retry(
        ports,
        user_id,
        First::Load,
        |user: Option<User>| async move {
            let user = user.filter(User::exists).ok_or(Error::NotFound)?;
            if !caller.is_or_may(&user.id, permission, &user.org_id) {
                return Err(Error::PermissionDenied);
            }
            let (event, make) = decide(&user)?;
            let event = new_event(
                user.id.as_str(),
                user.sequence + 1,
                event,
                &user.org_id,
                caller,
                now,
            );
            let details = super::details_of(&event);
            Ok(Step::Commit(make(event), details))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use rekey_domain::Role;

    use super::*;
    use crate::usecase::fakes::{Fake, principal};

    fn admin() -> Principal {
        principal("org1", &[Role::OrgUserManager])
    }

    #[tokio::test]
    async fn an_admin_unlocks_a_locked_user_and_only_a_locked_one() {
        let fake = Fake::new();
        let id: UserId = fake
            .add_human("org1", UserState::Locked, None)
            .parse()
            .expect("id");
        assert_eq!(
            unlock(&fake, &principal("org2", &[Role::OrgOwner]), &id).await,
            Err(Error::PermissionDenied)
        );
        unlock(&fake, &admin(), &id).await.expect("unlocked");
        let user = fake.user(id.as_str()).expect("user");
        assert_eq!(
            (user.state, user.failed_password_attempts),
            (UserState::Active, 0)
        );
        assert_eq!(unlock(&fake, &admin(), &id).await, Err(Error::NotLocked));
    }

    #[tokio::test]
    async fn each_transition_goes_only_from_its_states() {
        use Transition::{Deactivate, Lock, Reactivate, Unlock};
        use UserState::{Active, Inactive, Initial, Locked};
        let cases = [
            (Deactivate, Active, Ok(Inactive)),
            (Deactivate, Locked, Ok(Inactive)),
            (Deactivate, Initial, Err(Error::CannotDeactivateInitial)),
            (Deactivate, Inactive, Err(Error::AlreadyInactive)),
            (Reactivate, Inactive, Ok(Active)),
            (Reactivate, Active, Err(Error::NotInactive)),
            (Reactivate, Locked, Err(Error::NotInactive)),
            (Lock, Active, Ok(Locked)),
            (Lock, Initial, Ok(Locked)),
            (Lock, Locked, Err(Error::ShouldBeActiveOrInitial)),
            (Lock, Inactive, Err(Error::ShouldBeActiveOrInitial)),
            (Unlock, Locked, Ok(Active)),
            (Unlock, Active, Err(Error::NotLocked)),
        ];
        for (what, from, expected) in cases {
            let fake = Fake::new();
            let id: UserId = fake.add_human("org1", from, None).parse().expect("id");
            let got = transition(&fake, &admin(), &id, what)
                .await
                .map(|_| fake.user(id.as_str()).expect("user").state);
            assert_eq!(got, expected, "{what:?} from {from:?}");
        }
    }

    #[tokio::test]
    async fn a_deleted_user_is_gone_with_its_personal_data() {
        let fake = Fake::new();
        let id: UserId = fake
            .add_human("org1", UserState::Active, None)
            .parse()
            .expect("id");
        assert_eq!(
            delete(&fake, &principal("org1", &[Role::IamLoginClient]), &id).await,
            Err(Error::PermissionDenied),
            "a login client may not delete"
        );
        delete(&fake, &admin(), &id).await.expect("deleted");
        assert!(fake.user(id.as_str()).is_none());
        let events = fake.events_of(id.as_str());
        assert_eq!(
            events.last().map(|e| e.event.event_type()),
            Some("user.removed")
        );
        assert!(
            !format!("{events:?}").contains("ada@example.com"),
            "no address left in the events"
        );
        assert_eq!(delete(&fake, &admin(), &id).await, Err(Error::NotFound));
        assert_eq!(
            transition(&fake, &admin(), &id, Transition::Lock).await,
            Err(Error::NotFound)
        );
    }
}
