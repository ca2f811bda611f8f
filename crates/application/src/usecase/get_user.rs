//! GetUserByID: a user, for the user itself or a caller with `user.read` on its organization.

use rekey_domain::{Permission, Principal, User, UserId};
use tracing::instrument;

use crate::Failure;
use crate::ports::{Ports, UserStore};

/// Why GetUserByID refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No such user (or deleted).
    #[error("User could not be found")]
    NotFound,
    /// Neither self nor `user.read` on the user's organization.
    #[error("No matching permissions found")]
    PermissionDenied,
    /// Infrastructure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Runs GetUserByID.
///
/// # Errors
/// [`Error`].
#[instrument(name = "get_user", skip_all, fields(user.id = %user_id))]
pub async fn execute<P: Ports>(
    ports: &P,
    caller: &Principal,
    user_id: &UserId,
) -> Result<User, Error> {
    let user = ports
        .users()
        .user(user_id)
        .await?
        .filter(User::exists)
        .ok_or(Error::NotFound)?;
    if !caller.is_or_may(&user.id, Permission::UserRead, &user.org_id) {
        return Err(Error::PermissionDenied);
    }
    Ok(user)
}

/// ListAuthenticationMethodTypes: whether the user has a password (rekey's only method), for
/// the same callers as GetUserByID.
///
/// # Errors
/// [`Error`].
#[instrument(skip_all, fields(user.id = %user_id))]
pub async fn has_password<P: Ports>(
    ports: &P,
    caller: &Principal,
    user_id: &UserId,
) -> Result<bool, Error> {
    let user = execute(ports, caller, user_id).await?;
    Ok(ports.users().password_hash(&user.id).await?.is_some())
}

#[cfg(test)]
mod tests {
    use rekey_domain::{Role, UserState};

    use super::*;
    use crate::usecase::fakes::{Fake, principal};

    #[tokio::test]
    async fn self_and_readers_only() {
        let fake = Fake::new();
        let id = fake.add_human("org1", UserState::Active, None);
        let uid: UserId = id.parse().expect("id");
        assert!(execute(&fake, &fake.principal_of(&id), &uid).await.is_ok());
        assert!(
            execute(&fake, &principal("org1", &[Role::OrgUserManager]), &uid)
                .await
                .is_ok()
        );
        assert_eq!(
            execute(&fake, &principal("org2", &[Role::OrgOwner]), &uid)
                .await
                .err(),
            Some(Error::PermissionDenied)
        );
        let missing: UserId = "missing".parse().expect("id");
        assert_eq!(
            execute(&fake, &principal("org1", &[Role::IamOwner]), &missing)
                .await
                .err(),
            Some(Error::NotFound)
        );
        let deleted: UserId = fake
            .add_human("org1", UserState::Deleted, None)
            .parse()
            .expect("id");
        assert_eq!(
            execute(&fake, &principal("org1", &[Role::IamOwner]), &deleted)
                .await
                .err(),
            Some(Error::NotFound)
        );
    }
}
