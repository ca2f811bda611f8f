//! AddHumanUser (and adding machine users, for the admin CLI and bootstrap).

use rekey_domain::{
    BoundedText, Details, Email, Event, HumanProfile, Language, OrgId, Password, Permission, Phone,
    Principal, User, UserId, UserKind, UserState, Username,
};
use tracing::instrument;

use super::{WeakPassword, check_new_password, details_of, fresh_id, infrastructure, new_event};
use crate::Failure;
use crate::ports::{Change, Clock, PasswordHasher, Ports, StoreError, Taken, UserStore};

/// A name part: 1..=200 code points.
pub type Name = BoundedText<1, 200>;

/// A valid AddHumanUser request.
#[derive(Debug, Clone)]
pub struct HumanInput {
    /// The id to use; generated when absent.
    pub user_id: Option<UserId>,
    /// Login name; the email address when absent.
    pub username: Option<Username>,
    /// The organization; the caller's when absent.
    pub org_id: Option<OrgId>,
    /// Given name.
    pub given_name: Name,
    /// Family name.
    pub family_name: Name,
    /// Display name; "given family" when absent.
    pub display_name: Option<Name>,
    /// Preferred language.
    pub preferred_language: Option<Language>,
    /// Email.
    pub email: Email,
    /// Whether the email counts as verified.
    pub email_verified: bool,
    /// Phone.
    pub phone: Option<Phone>,
    /// Whether the phone counts as verified.
    pub phone_verified: bool,
    /// Initial password.
    pub password: Option<Password>,
    /// Or the hash of one, made by another system (an import: see
    /// [`crate::ports::PasswordHasher::check_imported`]); stored as it is, and replaced by a
    /// current hash the first time the password is checked.
    pub hashed_password: Option<String>,
    /// Whether that password must be changed at next login.
    pub password_change_required: bool,
    /// Start in state Initial instead of Active (admin CLI only; the API adds Active users).
    pub initial: bool,
}

/// A valid request to add a machine user.
#[derive(Debug, Clone)]
pub struct MachineInput {
    /// The organization.
    pub org_id: OrgId,
    /// Login name.
    pub username: Username,
    /// Display name; the username when absent.
    pub name: Option<Name>,
}

/// The new user.
#[derive(Debug, Clone)]
pub struct Output {
    /// Its id.
    pub user_id: UserId,
    /// Its first event.
    pub details: Details,
}

/// Why adding a user was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The caller lacks `user.write` on the organization.
    #[error("No matching permissions found")]
    PermissionDenied,
    /// The organization does not exist.
    #[error("Organisation not found")]
    OrgNotFound,
    /// The initial password breaks the policy or is too weak.
    #[error(transparent)]
    Password(#[from] WeakPassword),
    /// The imported hash is not one rekey can verify (the reason, never the hash).
    #[error("Password hash encoding not supported: {0}")]
    HashNotSupported(String),
    /// The username (`username`) or id (`user_id`) is taken.
    #[error("User already exists")]
    AlreadyExists(Taken),
    /// Infrastructure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

async fn target_org<P: Ports>(
    ports: &P,
    caller: &Principal,
    org: Option<OrgId>,
) -> Result<OrgId, Error> {
    let org_id = org.unwrap_or_else(|| caller.org_id.clone());
    if !caller.may(Permission::UserWrite, &org_id) {
        return Err(Error::PermissionDenied);
    }
    ports
        .users()
        .organization(&org_id)
        .await?
        .ok_or(Error::OrgNotFound)?;
    Ok(org_id)
}

fn user_id<P: Ports>(ports: &P, given: Option<UserId>) -> Result<UserId, Failure> {
    match given {
        Some(id) => Ok(id),
        None => UserId::try_from(fresh_id(ports)).map_err(|e| Failure::Unexpected(e.to_string())),
    }
}

async fn commit<P: Ports>(
    ports: &P,
    user: User,
    password_hash: Option<String>,
    event: Event,
    caller: &Principal,
) -> Result<Output, Error> {
    let event = new_event(
        user.id.as_str(),
        1,
        event,
        &user.org_id,
        caller,
        user.created_at,
    );
    let details = details_of(&event);
    let user_id = user.id.clone();
    let change = Change::AddUser {
        user,
        password_hash,
        event,
    };
    match ports.users().commit(change).await {
        Ok(()) => Ok(Output { user_id, details }),
        Err(StoreError::Duplicate(what)) => Err(Error::AlreadyExists(what)),
        // A new user's first event can only meet the events of a deleted user with this id:
        // the id stays taken, as in ZITADEL.
        Err(StoreError::Conflict) => Err(Error::AlreadyExists(crate::ports::Taken::UserId)),
        Err(other) => Err(infrastructure(other).into()),
    }
}

/// Runs AddHumanUser.
///
/// # Errors
/// [`Error`]: permission, organization, password policy, uniqueness, in that order.
#[instrument(skip_all)]
pub async fn add_human<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: HumanInput,
) -> Result<Output, Error> {
    let org_id = target_org(ports, caller, input.org_id).await?;
    if let Some(password) = &input.password {
        let username = input.username.as_ref().map(|u| u.as_str().to_owned());
        let words = [
            username.as_deref().unwrap_or(""),
            input.email.local_part(),
            input.given_name.as_str(),
            input.family_name.as_str(),
        ];
        check_new_password(ports, password, &words)?;
    }
    if let Some(hash) = &input.hashed_password {
        ports
            .passwords()
            .check_imported(hash)
            .map_err(Error::HashNotSupported)?;
    }
    let password_hash = match (input.password, input.hashed_password) {
        (Some(password), _) => Some(ports.passwords().hash(password).await?),
        (None, hashed) => hashed,
    };
    let now = ports.clock().now();
    let username = input.username.map_or_else(
        || input.email.as_str().to_owned(),
        |u| u.as_str().to_owned(),
    );
    let display_name = input.display_name.map_or_else(
        || format!("{} {}", input.given_name, input.family_name),
        |d| d.as_str().to_owned(),
    );
    let profile = HumanProfile {
        given_name: input.given_name.as_str().to_owned(),
        family_name: input.family_name.as_str().to_owned(),
        display_name,
        preferred_language: input.preferred_language,
        email: input.email,
        email_verified: input.email_verified,
        phone: input.phone,
        phone_verified: input.phone_verified,
        password_change_required: password_hash.is_some() && input.password_change_required,
        password_changed: password_hash.as_ref().map(|_| now),
    };
    let event = Event::human_added(
        username.clone(),
        &profile,
        password_hash.is_some(),
        input.initial,
    );
    let user = User {
        failed_password_attempts: 0,
        id: user_id(ports, input.user_id)?,
        org_id,
        username,
        state: if input.initial {
            UserState::Initial
        } else {
            UserState::Active
        },
        kind: UserKind::Human(profile),
        sequence: 1,
        created_at: now,
        changed_at: now,
    };
    commit(ports, user, password_hash, event, caller).await
}

/// Adds a machine user (a service account) to an organization.
///
/// # Errors
/// [`Error`] as for [`add_human`], without the password policy.
#[instrument(skip_all)]
pub async fn add_machine<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: MachineInput,
) -> Result<Output, Error> {
    let org_id = target_org(ports, caller, Some(input.org_id)).await?;
    let now = ports.clock().now();
    let name = input.name.map_or_else(
        || input.username.as_str().to_owned(),
        |n| n.as_str().to_owned(),
    );
    let event = Event::MachineAdded {
        username: input.username.as_str().to_owned(),
        name: name.clone(),
    };
    let user = User {
        failed_password_attempts: 0,
        id: user_id(ports, None)?,
        org_id,
        username: input.username.as_str().to_owned(),
        state: UserState::Active,
        kind: UserKind::Machine { name },
        sequence: 1,
        created_at: now,
        changed_at: now,
    };
    commit(ports, user, None, event, caller).await
}

#[cfg(test)]
mod tests {
    use rekey_domain::{PolicyViolation, Role};

    use super::*;
    use crate::usecase::fakes::{Fake, principal};

    fn human(org: Option<&str>) -> HumanInput {
        HumanInput {
            user_id: None,
            username: None,
            org_id: org.map(|o| o.parse().expect("id")),
            given_name: Name::new("Ada").expect("name"),
            family_name: Name::new("Lovelace").expect("name"),
            display_name: None,
            preferred_language: Some(Language::new("de").expect("tag")),
            email: "ada@example.com".parse().expect("email"),
            email_verified: true,
            phone: None,
            phone_verified: false,
            password: None,
            hashed_password: None,
            password_change_required: false,
            initial: false,
        }
    }

    #[tokio::test]
    async fn an_imported_hash_is_stored_as_it_is_and_an_unknown_one_refused() {
        let fake = Fake::new();
        fake.add_org("org1", "acme");
        let caller = principal("org1", &[Role::OrgOwner]);
        let imported = HumanInput {
            hashed_password: Some("$old$drowssap".into()),
            password_change_required: true,
            ..human(None)
        };
        let out = add_human(&fake, &caller, imported).await.expect("added");
        assert_eq!(
            fake.password_hash(out.user_id.as_str()).as_deref(),
            Some("$old$drowssap")
        );
        let user = fake.user(out.user_id.as_str()).expect("stored");
        let UserKind::Human(profile) = user.kind else {
            panic!("human")
        };
        assert!(profile.password_change_required);
        let unknown = HumanInput {
            hashed_password: Some("{CRYPT}nope".into()),
            username: Some(Username::new("other").expect("name")),
            ..human(None)
        };
        assert_eq!(
            add_human(&fake, &caller, unknown).await.err(),
            Some(Error::HashNotSupported("unknown hash format".into()))
        );
    }

    #[tokio::test]
    async fn adds_an_active_human_with_defaults() {
        let fake = Fake::new();
        fake.add_org("org1", "acme");
        let caller = principal("org1", &[Role::OrgOwner]);
        let out = add_human(&fake, &caller, human(None)).await.expect("added");
        let user = fake.user(out.user_id.as_str()).expect("stored");
        assert_eq!(user.state, UserState::Active);
        assert_eq!(user.username, "ada@example.com");
        assert_eq!(user.org_id.as_str(), "org1");
        let UserKind::Human(profile) = user.kind else {
            panic!("human")
        };
        assert_eq!(profile.display_name, "Ada Lovelace");
        assert_eq!(out.details.sequence, 1);
        assert_eq!(
            add_human(&fake, &caller, human(None)).await.err(),
            Some(Error::AlreadyExists(Taken::Username))
        );
        let initial = HumanInput {
            initial: true,
            username: Some(Username::new("other").expect("name")),
            ..human(None)
        };
        let out = add_human(&fake, &caller, initial).await.expect("added");
        assert_eq!(
            fake.user(out.user_id.as_str()).map(|u| u.state),
            Some(UserState::Initial)
        );
    }

    #[tokio::test]
    async fn permission_then_org_then_policy() {
        let fake = Fake::new();
        fake.add_org("org1", "acme");
        let stranger = principal("org2", &[Role::OrgOwner]);
        assert_eq!(
            add_human(&fake, &stranger, human(Some("org1"))).await.err(),
            Some(Error::PermissionDenied)
        );
        let iam = principal("org2", &[Role::IamOwner]);
        assert_eq!(
            add_human(&fake, &iam, human(Some("nope"))).await.err(),
            Some(Error::OrgNotFound)
        );
        let weak = HumanInput {
            password: Some(Password::new("short")),
            ..human(Some("org1"))
        };
        assert_eq!(
            add_human(&fake, &iam, weak).await.err(),
            Some(Error::Password(WeakPassword::Policy(
                PolicyViolation::TooShort
            )))
        );
        let strong = HumanInput {
            password: Some(Password::new("Secr3tP4ssw0rd!")),
            password_change_required: true,
            ..human(Some("org1"))
        };
        let out = add_human(&fake, &iam, strong).await.expect("added");
        let hash = fake.password_hash(out.user_id.as_str()).expect("hashed");
        assert!(!hash.contains("Secr3t"));
    }

    #[tokio::test]
    async fn machines() {
        let fake = Fake::new();
        fake.add_org("org1", "acme");
        let iam = principal("x", &[Role::IamOwner]);
        let input = MachineInput {
            org_id: "org1".parse().expect("id"),
            username: Username::new("bot").expect("name"),
            name: None,
        };
        let out = add_machine(&fake, &iam, input).await.expect("added");
        let user = fake.user(out.user_id.as_str()).expect("stored");
        assert_eq!(user.kind, UserKind::Machine { name: "bot".into() });
    }
}
