//! Personal access tokens: issued, listed and revoked by an instance owner, stored only as a
//! fingerprint.

use chrono::{DateTime, Utc};
use rekey_domain::{BearerToken, Event, Permission, Principal, Role, User, UserId, UserState};
use tracing::instrument;

use super::{First, Step, commit_with_retry, fresh_id, new_event};
use crate::Failure;
use crate::ports::{Change, Clock, Ports, TokenInfo, TokenMinter, TokenRecord, TokenStore};

/// A token request.
#[derive(Debug, Clone)]
pub struct Input {
    /// The owner.
    pub user_id: UserId,
    /// Its roles.
    pub roles: Vec<Role>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The new token: shown once, never stored.
#[derive(Debug, Clone)]
pub struct Output {
    /// The token's id.
    pub token_id: String,
    /// The token.
    pub token: BearerToken,
}

/// Why a token was not issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Only instance owners issue tokens.
    #[error("No matching permissions found")]
    PermissionDenied,
    /// No such user (or deleted).
    #[error("User could not be found")]
    UserNotFound,
    /// Infrastructure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Issues a token.
///
/// # Errors
/// [`Error`].
#[instrument(skip_all, fields(user.id = %input.user_id))]
pub async fn execute<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: Input,
) -> Result<Output, Error> {
    if !caller.may_everywhere(Permission::TokenCreate) {
        return Err(Error::PermissionDenied);
    }
    let input = &input;
    commit_with_retry(
        ports,
        &input.user_id,
        First::Load,
        move |user: Option<User>| async move {
            let user = user
                .filter(|u| u.state != UserState::Deleted)
                .ok_or(Error::UserNotFound)?;
            let token = ports.minter().mint()?;
            let now = ports.clock().now();
            let token_id = fresh_id(ports);
            let record = TokenRecord {
                id: token_id.clone(),
                hash: ports.minter().fingerprint(&token),
                user_id: user.id.clone(),
                org_id: user.org_id.clone(),
                roles: input.roles.clone(),
                created_at: now,
                expires_at: input.expires_at,
            };
            let event = new_event(
                user.id.as_str(),
                user.sequence + 1,
                Event::token_added(token_id.clone(), &input.roles),
                &user.org_id,
                caller,
                now,
            );
            let change = Change::AddToken {
                token: record,
                event,
            };
            Ok(Step::Commit(change, Output { token_id, token }))
        },
    )
    .await
}

/// The tokens of `user` (all, with `None`), for an instance owner: ids, roles, expiry and
/// last use, never a token.
///
/// # Errors
/// [`Error::PermissionDenied`] for any other caller; [`Error::Failure`].
#[instrument(skip_all)]
pub async fn list<P: Ports>(
    ports: &P,
    caller: &Principal,
    user: Option<&UserId>,
) -> Result<Vec<TokenInfo>, Error> {
    if !caller.may_everywhere(Permission::TokenCreate) {
        return Err(Error::PermissionDenied);
    }
    Ok(ports.tokens().tokens(user).await?)
}

/// Why a revocation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevokeError {
    /// Only instance owners revoke tokens.
    #[error("No matching permissions found")]
    PermissionDenied,
    /// No such token, or it was revoked already.
    #[error("Personal Access Token not found")]
    NotFound,
    /// Infrastructure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Revokes the token `token_id`: from the next request on it authenticates nothing (within
/// `tokens.cache_ttl` where a process remembers it).
///
/// # Errors
/// [`RevokeError`].
#[instrument(skip_all, fields(token.id = %token_id))]
pub async fn revoke<P: Ports>(
    ports: &P,
    caller: &Principal,
    token_id: &str,
) -> Result<(), RevokeError> {
    if !caller.may_everywhere(Permission::TokenCreate) {
        return Err(RevokeError::PermissionDenied);
    }
    let found = ports
        .tokens()
        .tokens(None)
        .await?
        .into_iter()
        .find(|t| t.id == token_id && t.revoked_at.is_none())
        .ok_or(RevokeError::NotFound)?;
    let now = ports.clock().now();
    commit_with_retry(ports, &found.user_id, First::Load, |user: Option<User>| {
        let found = &found;
        async move {
            let user = user.ok_or(RevokeError::NotFound)?;
            // Again on every attempt: a conflict may be this token revoked meanwhile.
            let live = ports
                .tokens()
                .tokens(Some(&user.id))
                .await?
                .iter()
                .any(|t| t.id == found.id && t.revoked_at.is_none());
            if !live {
                return Err(RevokeError::NotFound);
            }
            let event = new_event(
                user.id.as_str(),
                user.sequence + 1,
                Event::TokenRemoved {
                    token_id: found.id.clone(),
                },
                &user.org_id,
                caller,
                now,
            );
            let change = Change::RevokeToken {
                token_id: found.id.clone(),
                event,
            };
            Ok(Step::Commit(change, ()))
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usecase::authenticate;
    use crate::usecase::fakes::{Fake, principal};

    #[tokio::test]
    async fn tokens_authenticate_as_their_owner_until_they_expire() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        let owner = principal("x", &[Role::IamOwner]);
        let input = Input {
            user_id: user.parse().expect("id"),
            roles: vec![Role::OrgUserManager],
            expires_at: Some(fake.now() + chrono::TimeDelta::hours(1)),
        };
        let out = execute(&fake, &owner, input).await.expect("issued");
        let stored = fake.token_records();
        assert_eq!(stored.len(), 1);
        assert_ne!(
            stored[0].hash.0,
            out.token.expose(),
            "only a fingerprint is stored"
        );
        let me = authenticate::execute(&fake, &out.token)
            .await
            .expect("valid");
        assert_eq!(me.user_id.as_str(), user);
        assert_eq!(me.roles, vec![Role::OrgUserManager]);
        assert_eq!(
            authenticate::execute(&fake, &BearerToken::new("nope"))
                .await
                .err(),
            Some(authenticate::Error::InvalidToken)
        );
        fake.advance(chrono::TimeDelta::hours(2));
        assert_eq!(
            authenticate::execute(&fake, &out.token).await.err(),
            Some(authenticate::Error::InvalidToken)
        );
    }

    #[tokio::test]
    async fn only_owners_issue_and_only_for_users() {
        let fake = Fake::new();
        let user = fake.add_human("org1", UserState::Active, None);
        let input = |id: &str| Input {
            user_id: id.parse().expect("id"),
            roles: vec![],
            expires_at: None,
        };
        assert_eq!(
            execute(&fake, &principal("org1", &[Role::OrgOwner]), input(&user))
                .await
                .err(),
            Some(Error::PermissionDenied)
        );
        assert_eq!(
            execute(&fake, &principal("org1", &[Role::IamOwner]), input("ghost"))
                .await
                .err(),
            Some(Error::UserNotFound)
        );
    }
}
