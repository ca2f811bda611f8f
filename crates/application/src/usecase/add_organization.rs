//! AddOrganization: a new organization, by an instance owner.

use rekey_domain::{Details, Event, OrgId, OrgName, Organization, Permission, Principal};
use tracing::instrument;

use super::{details_of, fresh_id, infrastructure, new_event};
use crate::Failure;
use crate::ports::{Change, Clock, Ports, StoreError, Taken, UserStore};

/// A valid AddOrganization request.
#[derive(Debug, Clone)]
pub struct Input {
    /// Unique name.
    pub name: OrgName,
    /// The id to use; generated when absent.
    pub org_id: Option<OrgId>,
}

/// The new organization.
#[derive(Debug, Clone)]
pub struct Output {
    /// Its id.
    pub org_id: OrgId,
    /// Its first event.
    pub details: Details,
}

/// Why AddOrganization refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The caller lacks instance-wide `org.create`.
    #[error("No matching permissions found")]
    PermissionDenied,
    /// The name (`org_name`) or id (`org_id`) is taken.
    #[error("Organisation already exists")]
    AlreadyExists(Taken),
    /// Infrastructure.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Runs AddOrganization.
///
/// # Errors
/// [`Error`].
#[instrument(name = "add_organization", skip_all)]
pub async fn execute<P: Ports>(
    ports: &P,
    caller: &Principal,
    input: Input,
) -> Result<Output, Error> {
    if !caller.may_everywhere(Permission::OrgCreate) {
        return Err(Error::PermissionDenied);
    }
    let org_id = match input.org_id {
        Some(id) => id,
        None => OrgId::try_from(fresh_id(ports)).map_err(|e| Failure::Unexpected(e.to_string()))?,
    };
    let now = ports.clock().now();
    let org = Organization {
        id: org_id.clone(),
        name: input.name.as_str().to_owned(),
        sequence: 1,
        created_at: now,
    };
    let event = new_event(
        org_id.as_str(),
        1,
        Event::OrgAdded {
            name: org.name.clone(),
        },
        &org_id,
        caller,
        now,
    );
    let details = details_of(&event);
    match ports
        .users()
        .commit(Change::AddOrganization { org, event })
        .await
    {
        Ok(()) => Ok(Output { org_id, details }),
        Err(StoreError::Duplicate(what)) => Err(Error::AlreadyExists(what)),
        Err(other) => Err(infrastructure(other).into()),
    }
}

#[cfg(test)]
mod tests {
    use rekey_domain::Role;

    use super::*;
    use crate::usecase::fakes::{Fake, principal};

    fn input(name: &str) -> Input {
        Input {
            name: OrgName::new(name).expect("name"),
            org_id: None,
        }
    }

    #[tokio::test]
    async fn owners_add_organizations_with_unique_names() {
        let fake = Fake::new();
        let owner = principal("o", &[Role::IamOwner]);
        let out = execute(&fake, &owner, input("acme")).await.expect("added");
        assert_eq!(out.details.sequence, 1);
        assert_eq!(out.details.resource_owner, out.org_id);
        assert_eq!(
            fake.events_of(out.org_id.as_str())[0].event.event_type(),
            "org.added"
        );
        assert_eq!(
            execute(&fake, &owner, input("acme")).await.err(),
            Some(Error::AlreadyExists(Taken::OrgName))
        );
        let with_id = Input {
            org_id: Some(out.org_id.clone()),
            ..input("other")
        };
        assert_eq!(
            execute(&fake, &owner, with_id).await.err(),
            Some(Error::AlreadyExists(Taken::OrgId))
        );
    }

    #[tokio::test]
    async fn others_may_not() {
        let fake = Fake::new();
        for roles in [&[Role::OrgOwner][..], &[Role::IamUserManager], &[]] {
            assert_eq!(
                execute(&fake, &principal("o", roles), input("acme"))
                    .await
                    .err(),
                Some(Error::PermissionDenied)
            );
        }
        fake.fail_next_commits_with(vec![StoreError::Failure(Failure::Unavailable(
            "down".into(),
        ))]);
        assert!(matches!(
            execute(&fake, &principal("o", &[Role::IamOwner]), input("acme")).await,
            Err(Error::Failure(Failure::Unavailable(_)))
        ));
    }
}
