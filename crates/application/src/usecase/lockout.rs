//! Unlocking a user the lockout policy locked. A password reset does not unlock, as in
//! ZITADEL: whoever locked the account by guessing could otherwise have it unlocked by
//! requesting a reset, and a lock is for an administrator to look at.

use rekey_domain::{Event, Permission, Principal, User, UserId, UserState};
use tracing::instrument;

use super::{First, Step, commit_with_retry, new_event};
use crate::Failure;
use crate::ports::{Change, Clock, Ports};

/// Why an unlock was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No such user (or deleted).
    #[error("User could not be found")]
    NotFound,
    /// The caller lacks `user.write` on the user's organization.
    #[error("No matching permissions found")]
    PermissionDenied,
    /// The user is not locked.
    #[error("User is not locked")]
    NotLocked,
    /// Infrastructure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Unlocks `user_id`: state active, count of wrong passwords 0, `user.unlocked`.
///
/// # Errors
/// [`Error`].
#[instrument(skip_all, fields(user.id = %user_id))]
pub async fn unlock<P: Ports>(
    ports: &P,
    caller: &Principal,
    user_id: &UserId,
) -> Result<(), Error> {
    let now = ports.clock().now();
    commit_with_retry(
        ports,
        user_id,
        First::Load,
        |user: Option<User>| async move {
            let user = user
                .filter(|u| u.state != UserState::Deleted)
                .ok_or(Error::NotFound)?;
            if !caller.may(Permission::UserWrite, &user.org_id) {
                return Err(Error::PermissionDenied);
            }
            if user.state != UserState::Locked {
                return Err(Error::NotLocked);
            }
            let event = new_event(
                user.id.as_str(),
                user.sequence + 1,
                Event::UserUnlocked {},
                &user.org_id,
                caller,
                now,
            );
            Ok(Step::Commit(Change::UnlockUser { event }, ()))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use rekey_domain::Role;

    use super::*;
    use crate::usecase::fakes::{Fake, principal};

    #[tokio::test]
    async fn an_admin_unlocks_a_locked_user_and_only_a_locked_one() {
        let fake = Fake::new();
        let id: UserId = fake
            .add_human("org1", UserState::Locked, None)
            .parse()
            .expect("id");
        let admin = principal("org1", &[Role::OrgUserManager]);
        assert_eq!(
            unlock(&fake, &principal("org2", &[Role::OrgOwner]), &id).await,
            Err(Error::PermissionDenied)
        );
        unlock(&fake, &admin, &id).await.expect("unlocked");
        let user = fake.user(id.as_str()).expect("user");
        assert_eq!(
            (user.state, user.failed_password_attempts),
            (UserState::Active, 0)
        );
        assert_eq!(unlock(&fake, &admin, &id).await, Err(Error::NotLocked));
    }
}
