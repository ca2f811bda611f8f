//! Who is calling, and what they may do.

use std::fmt;
use std::str::FromStr;

use crate::{OrgId, UserId};

/// A bearer token as presented by a caller. `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The secret itself: call only to hash it or hand it to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// The stored fingerprint of a token (hex SHA-256): tokens themselves are never stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(pub String);

/// A role, as ZITADEL names them. `IAM_*` roles are instance-wide; `ORG_*` roles apply to the
/// organization of the token's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// `IAM_OWNER`: everything, everywhere.
    IamOwner,
    /// `IAM_USER_MANAGER`: read and write users of every organization.
    IamUserManager,
    /// `IAM_LOGIN_CLIENT`: the role of a login UI's service account.
    IamLoginClient,
    /// `IAM_SESSION_CLIENT` (rekey's own): sessions only, for a login UI that checks passwords
    /// but never resets or sets one.
    IamSessionClient,
    /// `ORG_OWNER`: everything in its organization.
    OrgOwner,
    /// `ORG_USER_MANAGER`: read and write users of its organization.
    OrgUserManager,
}

/// The role name was not one of [`Role`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?}: use IAM_OWNER, IAM_USER_MANAGER, IAM_LOGIN_CLIENT, IAM_SESSION_CLIENT, ORG_OWNER or ORG_USER_MANAGER"
)]
pub struct UnknownRole(pub String);

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Role::IamOwner,
        Role::IamUserManager,
        Role::IamLoginClient,
        Role::IamSessionClient,
        Role::OrgOwner,
        Role::OrgUserManager,
    ];

    /// The role's name, e.g. `IAM_OWNER`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IamOwner => "IAM_OWNER",
            Self::IamUserManager => "IAM_USER_MANAGER",
            Self::IamLoginClient => "IAM_LOGIN_CLIENT",
            Self::IamSessionClient => "IAM_SESSION_CLIENT",
            Self::OrgOwner => "ORG_OWNER",
            Self::OrgUserManager => "ORG_USER_MANAGER",
        }
    }

    fn is_instance_wide(self) -> bool {
        matches!(
            self,
            Self::IamOwner | Self::IamUserManager | Self::IamLoginClient | Self::IamSessionClient
        )
    }

    fn grants(self, permission: Permission) -> bool {
        match permission {
            Permission::UserRead | Permission::UserWrite => self != Self::IamSessionClient,
            Permission::UserDelete => {
                !matches!(self, Self::IamLoginClient | Self::IamSessionClient)
            }
            Permission::OrgCreate | Permission::TokenCreate => self == Self::IamOwner,
            Permission::SessionRead | Permission::SessionWrite | Permission::SessionDelete => {
                matches!(
                    self,
                    Self::IamOwner | Self::IamLoginClient | Self::IamSessionClient
                )
            }
        }
    }
}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(name: &str) -> Result<Self, UnknownRole> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| UnknownRole(name.to_owned()))
    }
}

/// A permission, as ZITADEL names them (`user.write`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `user.read`.
    UserRead,
    /// `user.write`.
    UserWrite,
    /// `org.create` (instance-wide only).
    OrgCreate,
    /// Issuing personal access tokens with any role (instance owners only).
    TokenCreate,
    /// `session.read`: reading any session (instance owners and login clients).
    SessionRead,
    /// `session.write`: creating sessions and checking their factors.
    SessionWrite,
    /// `session.delete`: ending any session.
    SessionDelete,
    /// `user.delete`: deleting users (not login or session clients).
    UserDelete,
}

/// An authenticated caller: a user of an organization, with the roles its token carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's owner.
    pub user_id: UserId,
    /// The owner's organization.
    pub org_id: OrgId,
    /// The token's roles.
    pub roles: Vec<Role>,
}

impl Principal {
    /// Whether the caller holds `permission` on organization `org`, either through an
    /// instance-wide role or through an organization role in its own organization.
    pub fn may(&self, permission: Permission, org: &OrgId) -> bool {
        self.roles
            .iter()
            .any(|role| role.grants(permission) && (role.is_instance_wide() || &self.org_id == org))
    }

    /// Whether the caller holds `permission` instance-wide.
    pub fn may_everywhere(&self, permission: Permission) -> bool {
        self.roles
            .iter()
            .any(|role| role.is_instance_wide() && role.grants(permission))
    }

    /// Whether the caller may hand `role`, for a user of `org`, to a new token: an instance
    /// owner may hand out any role; anyone else only a role it holds itself, and an
    /// organization's role only in its own organization.
    pub fn holds(&self, role: Role, org: &OrgId) -> bool {
        self.roles.contains(&Role::IamOwner)
            || (self.roles.contains(&role) && (role.is_instance_wide() || &self.org_id == org))
    }

    /// Whether the caller is the user `user`.
    pub fn is(&self, user: &UserId) -> bool {
        &self.user_id == user
    }

    /// Whether the caller is the user `user` of organization `org`, or holds `permission` on
    /// `org`: who may act on a user (ZITADEL lets a user act on itself).
    pub fn is_or_may(&self, user: &UserId, permission: Permission, org: &OrgId) -> bool {
        self.is(user) || self.may(permission, org)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(org: &str, roles: &[Role]) -> Principal {
        Principal {
            user_id: "me".parse().expect("id"),
            org_id: org.parse().expect("id"),
            roles: roles.to_vec(),
        }
    }

    #[test]
    fn org_roles_stop_at_their_org() {
        let own: OrgId = "o1".parse().expect("id");
        let other: OrgId = "o2".parse().expect("id");
        let manager = principal("o1", &[Role::OrgUserManager]);
        assert!(manager.may(Permission::UserWrite, &own));
        assert!(!manager.may(Permission::UserWrite, &other));
        assert!(!manager.may(Permission::OrgCreate, &own));
        let iam = principal("o1", &[Role::IamUserManager]);
        assert!(iam.may(Permission::UserWrite, &other));
        assert!(!iam.may_everywhere(Permission::OrgCreate));
        assert!(principal("o1", &[Role::IamOwner]).may_everywhere(Permission::OrgCreate));
        assert!(!principal("o1", &[]).may(Permission::UserRead, &own));
    }

    #[test]
    fn a_user_acts_on_itself_without_a_role() {
        let org: OrgId = "o1".parse().expect("id");
        let me: UserId = "me".parse().expect("id");
        let other: UserId = "other".parse().expect("id");
        let nobody = principal("o1", &[]);
        assert!(nobody.is_or_may(&me, Permission::UserWrite, &org));
        assert!(!nobody.is_or_may(&other, Permission::UserWrite, &org));
        let manager = principal("o1", &[Role::OrgUserManager]);
        assert!(manager.is_or_may(&other, Permission::UserWrite, &org));
        assert!(!manager.is_or_may(&other, Permission::UserWrite, &"o2".parse().expect("id")));
    }

    #[test]
    fn a_session_client_holds_sessions_only() {
        let org: OrgId = "o1".parse().expect("id");
        let client = principal("o1", &[Role::IamSessionClient]);
        for permission in [
            Permission::SessionRead,
            Permission::SessionWrite,
            Permission::SessionDelete,
        ] {
            assert!(client.may_everywhere(permission), "{permission:?}");
        }
        for permission in [
            Permission::UserRead,
            Permission::UserWrite,
            Permission::OrgCreate,
        ] {
            assert!(!client.may(permission, &org), "{permission:?}");
        }
        let org_owner = principal("o1", &[Role::OrgOwner]);
        assert!(!org_owner.may(Permission::SessionWrite, &org));
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("iam_owner".parse::<Role>().is_err());
    }

    #[test]
    fn token_debug_is_redacted() {
        assert_eq!(
            format!("{:?}", BearerToken::new("s3cret")),
            "BearerToken(<redacted>)"
        );
    }
}
