//! Personal access tokens, stored only as a fingerprint: issued, listed and revoked by an
//! instance owner from the command line, and by ZITADEL's AddPersonalAccessToken,
//! ListPersonalAccessTokens and RemovePersonalAccessToken.

use chrono::{DateTime, Utc};
use rekey_domain::{
    BearerToken, Details, Event, Permission, Principal, Role, User, UserId, UserKind,
};
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
    /// When it was issued.
    pub created_at: DateTime<Utc>,
}

/// Why a token was not issued, or the tokens not listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Only instance owners issue tokens with roles of their choosing; through the API, only
    /// the user itself or a holder of `user.write` on its organization who holds every role
    /// the new token gets.
    #[error("No matching permissions found")]
    PermissionDenied,
    /// No such user (or deleted): `COMMAND-Dggw2` through the API, as ZITADEL.
    #[error("User could not be found")]
    UserNotFound,
    /// AddPersonalAccessToken for a human: `COMMAND-Df2f1`.
    #[error("User is of wrong type")]
    WrongType,
    /// An expiration date in the past: `DOMAIN-dv3t5`.
    #[error("Expiration date must be in the future")]
    ExpiresBeforeNow,
    /// ListPersonalAccessTokens asked for more than [`MAX_LIST_LIMIT`]: `QUERY-4M0fs`.
    #[error("Limit exceeded (given: {0}, allowed: {MAX_LIST_LIMIT})")]
    LimitExceeded(u32),
    /// Infrastructure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Issues a token (the admin CLI's `token create`: any roles, for an instance owner).
///
/// # Errors
/// [`Error`].
#[instrument(name = "create_token", skip_all, fields(user.id = %input.user_id))]
pub async fn execute<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: Input,
) -> Result<Output, Error> {
    if !caller.may_everywhere(Permission::TokenCreate) {
        return Err(Error::PermissionDenied);
    }
    let roles = input.roles;
    issue(ports, caller, &input.user_id, input.expires_at, |_, _| {
        std::future::ready(Ok(roles.clone()))
    })
    .await
}

/// AddPersonalAccessToken: a new token for the machine user `user_id`, for the user itself or
/// a holder of `user.write` on its organization, never expiring without `expires_at`.
///
/// rekey keeps a user's roles on its tokens, not beside them: the new token carries the roles
/// the user's live tokens carry, so rotating a leaked token is AddPersonalAccessToken then
/// RemovePersonalAccessToken. A caller may only hand out roles it holds itself (an instance
/// owner holds all): in ZITADEL, `user.write` on an organization lets a caller mint a token
/// for its owner-role service account and act as it; here that is `PermissionDenied`.
///
/// # Errors
/// [`Error`].
#[instrument(skip_all, fields(user.id = %user_id))]
pub async fn add<P: Ports>(
    ports: &P,
    caller: &Principal,
    user_id: &UserId,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Output, Error> {
    if expires_at.is_some_and(|at| at < ports.clock().now()) {
        return Err(Error::ExpiresBeforeNow);
    }
    issue(
        ports,
        caller,
        user_id,
        expires_at,
        move |user, now| async move {
            if !caller.is_or_may(&user.id, Permission::UserWrite, &user.org_id) {
                return Err(Error::PermissionDenied);
            }
            if !matches!(user.kind, UserKind::Machine { .. }) {
                return Err(Error::WrongType);
            }
            let mut roles: Vec<Role> = ports
                .tokens()
                .tokens(Some(&user.id))
                .await?
                .into_iter()
                .filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|at| at > now))
                .flat_map(|t| t.roles)
                .collect();
            roles.sort_unstable();
            roles.dedup();
            if !roles.iter().all(|role| caller.holds(*role, &user.org_id)) {
                return Err(Error::PermissionDenied);
            }
            Ok(roles)
        },
    )
    .await
}

/// The frame of both ways to issue a token: the user as loaded now (not deleted), the roles
/// `decide` gives the token, the token minted and stored with `user.token.added`.
async fn issue<P, Decided>(
    ports: &P,
    caller: &Principal,
    user_id: &UserId,
    expires_at: Option<DateTime<Utc>>,
    decide: impl Fn(User, DateTime<Utc>) -> Decided,
) -> Result<Output, Error>
where
    P: Ports,
    Decided: Future<Output = Result<Vec<Role>, Error>>,
{
    let decide = &decide;
    commit_with_retry(
        ports,
        user_id,
        First::Load,
        move |user: Option<User>| async move {
            let user = user.filter(User::exists).ok_or(Error::UserNotFound)?;
            let now = ports.clock().now();
            let roles = decide(user.clone(), now).await?;
            let token = ports.minter().mint()?;
            let token_id = fresh_id(ports);
            let record = TokenRecord {
                id: token_id.clone(),
                hash: ports.minter().fingerprint(&token),
                user_id: user.id.clone(),
                org_id: user.org_id.clone(),
                roles,
                created_at: now,
                expires_at,
            };
            let event = new_event(
                user.id.as_str(),
                user.sequence + 1,
                Event::token_added(token_id.clone(), &record.roles),
                &user.org_id,
                caller,
                now,
            );
            let change = Change::AddToken {
                token: record,
                event,
            };
            Ok(Step::Commit(
                change,
                Output {
                    token_id,
                    token,
                    created_at: now,
                },
            ))
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

/// The most tokens ListPersonalAccessTokens answers at once, as ZITADEL's default
/// `MaxQueryLimit`.
pub const MAX_LIST_LIMIT: u32 = 1000;
/// The number answered without a limit, as ZITADEL's default `DefaultQueryLimit`.
pub const DEFAULT_LIST_LIMIT: u32 = 100;

/// What ListPersonalAccessTokens orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Creation (ZITADEL's default).
    #[default]
    CreatedAt,
    /// Token id.
    Id,
    /// Owner.
    UserId,
    /// Owner's organization.
    OrgId,
    /// Expiry (never-expiring tokens last).
    ExpiresAt,
}

/// How a time filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// At exactly.
    Equals,
    /// Later.
    After,
    /// Later or at.
    AfterOrEquals,
    /// Earlier.
    Before,
    /// Earlier or at.
    BeforeOrEquals,
}

impl Compare {
    fn holds(self, value: DateTime<Utc>, given: DateTime<Utc>) -> bool {
        match self {
            Self::Equals => value == given,
            Self::After => value > given,
            Self::AfterOrEquals => value >= given,
            Self::Before => value < given,
            Self::BeforeOrEquals => value <= given,
        }
    }
}

/// One condition of ListPersonalAccessTokens; all must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// This token.
    TokenId(String),
    /// This user's.
    UserId(String),
    /// This organization's.
    OrgId(String),
    /// Created compared to this time.
    CreatedAt(Compare, DateTime<Utc>),
    /// Expiring compared to this time (a token without expiry expires at
    /// [`NEVER_EXPIRES`]).
    ExpiresAt(Compare, DateTime<Utc>),
}

/// The expiry ZITADEL gives a token added without one: 9999-12-31T23:59:59Z.
pub const NEVER_EXPIRES: DateTime<Utc> = match DateTime::from_timestamp(253_402_300_799, 0) {
    Some(at) => at,
    None => panic!("a valid time"),
};

/// A ListPersonalAccessTokens query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Tokens to skip.
    pub offset: u64,
    /// At most this many (0: [`DEFAULT_LIST_LIMIT`]).
    pub limit: u32,
    /// Oldest (smallest) first; newest first without.
    pub ascending: bool,
    /// The order.
    pub sort_by: SortBy,
    /// Conditions, all of which hold.
    pub filters: Vec<Filter>,
}

impl Filter {
    fn holds(&self, token: &TokenInfo) -> bool {
        match self {
            Self::TokenId(id) => &token.id == id,
            Self::UserId(id) => token.user_id.as_str() == id,
            Self::OrgId(id) => token.org_id.as_str() == id,
            Self::CreatedAt(compare, at) => compare.holds(token.created_at, *at),
            Self::ExpiresAt(compare, at) => {
                compare.holds(token.expires_at.unwrap_or(NEVER_EXPIRES), *at)
            }
        }
    }
}

/// A page of ListPersonalAccessTokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Every matching token the caller may see.
    pub total: u64,
    /// The limit applied.
    pub limit: u32,
    /// This page's tokens.
    pub tokens: Vec<TokenInfo>,
}

/// ListPersonalAccessTokens: the tokens not removed that the caller may see (its own, and
/// those of users it holds `user.read` for), filtered, ordered and paged.
///
/// # Errors
/// [`Error::LimitExceeded`]; [`Error::Failure`].
#[instrument(skip_all)]
pub async fn search<P: Ports>(ports: &P, caller: &Principal, query: Query) -> Result<Page, Error> {
    if query.limit > MAX_LIST_LIMIT {
        return Err(Error::LimitExceeded(query.limit));
    }
    let limit = match query.limit {
        0 => DEFAULT_LIST_LIMIT,
        n => n,
    };
    let mut tokens: Vec<TokenInfo> = ports
        .tokens()
        .tokens(None)
        .await?
        .into_iter()
        .filter(|t| t.revoked_at.is_none())
        .filter(|t| caller.is_or_may(&t.user_id, Permission::UserRead, &t.org_id))
        .filter(|t| query.filters.iter().all(|f| f.holds(t)))
        .collect();
    tokens.sort_by(|a, b| {
        let order = match query.sort_by {
            SortBy::CreatedAt => a.created_at.cmp(&b.created_at),
            SortBy::Id => a.id.cmp(&b.id),
            SortBy::UserId => a.user_id.as_str().cmp(b.user_id.as_str()),
            SortBy::OrgId => a.org_id.as_str().cmp(b.org_id.as_str()),
            SortBy::ExpiresAt => a
                .expires_at
                .unwrap_or(NEVER_EXPIRES)
                .cmp(&b.expires_at.unwrap_or(NEVER_EXPIRES)),
        }
        .then_with(|| a.id.cmp(&b.id));
        if query.ascending {
            order
        } else {
            order.reverse()
        }
    });
    let total = tokens.len() as u64;
    let tokens = tokens
        .into_iter()
        .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
        .take(limit as usize)
        .collect();
    Ok(Page {
        total,
        limit,
        tokens,
    })
}

/// Why a revocation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevokeError {
    /// Only instance owners revoke any token; through the API, the user itself or a holder of
    /// `user.write` on its organization.
    #[error("No matching permissions found")]
    PermissionDenied,
    /// No such token for that user, or it was revoked already (`COMMAND-4m77G`).
    #[error("Personal Access Token not found")]
    NotFound,
    /// Infrastructure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Revokes the token `token_id` (the admin CLI's `token revoke`, for an instance owner): from
/// the next request on it authenticates nothing (within `tokens.cache_ttl` where a process
/// remembers it).
///
/// # Errors
/// [`RevokeError`].
#[instrument(skip_all, fields(token.id = %token_id))]
pub async fn revoke<P: Ports>(
    ports: &P,
    caller: &Principal,
    token_id: &str,
) -> Result<Details, RevokeError> {
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
    remove(ports, caller, &found.user_id, token_id).await
}

/// RemovePersonalAccessToken: revokes `user_id`'s token `token_id`, for the user itself or a
/// holder of `user.write` on its organization.
///
/// # Errors
/// [`RevokeError`].
#[instrument(skip_all, fields(user.id = %user_id, token.id = %token_id))]
pub async fn remove<P: Ports>(
    ports: &P,
    caller: &Principal,
    user_id: &UserId,
    token_id: &str,
) -> Result<Details, RevokeError> {
    commit_with_retry(
        ports,
        user_id,
        First::Load,
        |user: Option<User>| async move {
            let user = user.filter(User::exists).ok_or(RevokeError::NotFound)?;
            if !caller.is_or_may(&user.id, Permission::UserWrite, &user.org_id) {
                return Err(RevokeError::PermissionDenied);
            }
            // Again on every attempt: a conflict may be this token revoked meanwhile.
            let live = ports
                .tokens()
                .tokens(Some(&user.id))
                .await?
                .iter()
                .any(|t| t.id == token_id && t.revoked_at.is_none());
            if !live {
                return Err(RevokeError::NotFound);
            }
            let event = new_event(
                user.id.as_str(),
                user.sequence + 1,
                Event::TokenRemoved {
                    token_id: token_id.to_owned(),
                },
                &user.org_id,
                caller,
                ports.clock().now(),
            );
            let details = super::details_of(&event);
            let change = Change::RevokeToken {
                token_id: token_id.to_owned(),
                event,
            };
            Ok(Step::Commit(change, details))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use rekey_domain::UserState;

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

    async fn pat_for(fake: &Fake, owner: &Principal, user: &str, roles: Vec<Role>) -> Output {
        let input = Input {
            user_id: user.parse().expect("id"),
            roles,
            expires_at: None,
        };
        execute(fake, owner, input).await.expect("issued")
    }

    #[tokio::test]
    async fn an_added_token_carries_the_users_roles_and_only_a_holder_may_hand_them_out() {
        let fake = Fake::new();
        let bot = fake.add_machine("org1");
        let bot_id: UserId = bot.parse().expect("id");
        let owner = principal("x", &[Role::IamOwner]);
        pat_for(&fake, &owner, &bot, vec![Role::OrgOwner]).await;
        let run = async |caller: &Principal, expires| add(&fake, caller, &bot_id, expires).await;
        // A user manager of the organization does not hold ORG_OWNER: no token that does.
        let manager = principal("org1", &[Role::OrgUserManager]);
        assert_eq!(
            run(&manager, None).await.err(),
            Some(Error::PermissionDenied)
        );
        // An organization owner of another organization has no user.write here.
        let stranger = principal("org2", &[Role::OrgOwner]);
        assert_eq!(
            run(&stranger, None).await.err(),
            Some(Error::PermissionDenied)
        );
        let org_owner = principal("org1", &[Role::OrgOwner]);
        let added = run(&org_owner, None).await.expect("added");
        let records = fake.token_records();
        let record = records
            .iter()
            .find(|t| t.id == added.token_id)
            .expect("stored");
        assert_eq!(record.roles, vec![Role::OrgOwner]);
        assert_eq!(record.expires_at, None);
        // The user itself may add one.
        let mut itself = fake.principal_of(&bot);
        itself.roles = vec![Role::OrgOwner];
        run(&itself, None).await.expect("self");
        assert_eq!(
            run(&owner, Some(fake.now() - chrono::TimeDelta::seconds(1)))
                .await
                .err(),
            Some(Error::ExpiresBeforeNow)
        );
        let human = fake.add_human("org1", UserState::Active, None);
        assert_eq!(
            add(&fake, &owner, &human.parse().expect("id"), None)
                .await
                .err(),
            Some(Error::WrongType)
        );
        assert_eq!(
            add(&fake, &owner, &"ghost".parse().expect("id"), None)
                .await
                .err(),
            Some(Error::UserNotFound)
        );
    }

    #[tokio::test]
    async fn search_filters_orders_pages_and_hides_what_the_caller_may_not_read() {
        let fake = Fake::new();
        let owner = principal("x", &[Role::IamOwner]);
        let a = fake.add_machine("org1");
        let b = fake.add_machine("org2");
        let first = pat_for(&fake, &owner, &a, vec![]).await;
        fake.advance(chrono::TimeDelta::seconds(1));
        let second = pat_for(&fake, &owner, &a, vec![]).await;
        fake.advance(chrono::TimeDelta::seconds(1));
        let third = pat_for(&fake, &owner, &b, vec![]).await;
        let ids = |page: Page| page.tokens.into_iter().map(|t| t.id).collect::<Vec<_>>();
        let run = async |caller: &Principal, query: Query| {
            search(&fake, caller, query).await.expect("listed")
        };
        let all = run(&owner, Query::default()).await;
        assert_eq!((all.total, all.limit), (3, DEFAULT_LIST_LIMIT));
        assert_eq!(
            ids(all),
            vec![
                third.token_id.clone(),
                second.token_id.clone(),
                first.token_id.clone()
            ],
            "newest first"
        );
        let paged = run(
            &owner,
            Query {
                offset: 1,
                limit: 1,
                ascending: true,
                ..Query::default()
            },
        )
        .await;
        assert_eq!(paged.total, 3);
        assert_eq!(ids(paged), vec![second.token_id.clone()]);
        let org1_reader = principal("org1", &[Role::OrgUserManager]);
        assert_eq!(
            ids(run(
                &org1_reader,
                Query {
                    ascending: true,
                    ..Query::default()
                }
            )
            .await),
            vec![first.token_id.clone(), second.token_id.clone()]
        );
        let filtered = run(
            &owner,
            Query {
                filters: vec![
                    Filter::UserId(a.clone()),
                    Filter::CreatedAt(Compare::After, fake.now() - chrono::TimeDelta::seconds(2)),
                ],
                ..Query::default()
            },
        )
        .await;
        assert_eq!(ids(filtered), vec![second.token_id.clone()]);
        assert_eq!(
            search(
                &fake,
                &owner,
                Query {
                    limit: MAX_LIST_LIMIT + 1,
                    ..Query::default()
                }
            )
            .await
            .err(),
            Some(Error::LimitExceeded(MAX_LIST_LIMIT + 1))
        );
        // Removed tokens are not listed, and removing is the owner's or a user writer's.
        let a_id: UserId = a.parse().expect("id");
        assert_eq!(
            remove(&fake, &org1_reader, &a_id, &third.token_id)
                .await
                .err(),
            Some(RevokeError::NotFound),
            "another user's token"
        );
        assert_eq!(
            remove(
                &fake,
                &principal("org2", &[Role::OrgOwner]),
                &a_id,
                &first.token_id
            )
            .await
            .err(),
            Some(RevokeError::PermissionDenied)
        );
        remove(&fake, &org1_reader, &a_id, &first.token_id)
            .await
            .expect("removed");
        assert_eq!(
            remove(&fake, &org1_reader, &a_id, &first.token_id)
                .await
                .err(),
            Some(RevokeError::NotFound),
            "only once"
        );
        assert_eq!(run(&owner, Query::default()).await.total, 2);
    }
}
