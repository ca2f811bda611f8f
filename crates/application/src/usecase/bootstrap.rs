//! First start: on an empty store, the first organization, an `admin` machine user holding
//! `IAM_OWNER`, and a token for it.

use rekey_domain::{BearerToken, OrgId, OrgName, Role, UserId, Username};
use tracing::instrument;

use super::{add_organization, add_user, create_token, system_principal};
use crate::Failure;
use crate::ports::{Ports, UserStore};

/// What to create.
#[derive(Debug, Clone)]
pub struct Input {
    /// Name of the first organization.
    pub org_name: OrgName,
    /// Username of the admin machine user.
    pub admin_username: Username,
}

/// What was created.
#[derive(Debug, Clone)]
pub struct Output {
    /// The organization.
    pub org_id: OrgId,
    /// The admin user.
    pub admin_id: UserId,
    /// The admin's token: to be written where only the operator can read it.
    pub token: BearerToken,
}

/// Creates the first organization, admin and token if the store is empty; `None` if it is not
/// (or another instance bootstrapped it first).
///
/// # Errors
/// [`Failure`] when the store fails.
#[instrument(name = "bootstrap", skip_all)]
pub async fn execute<P: Ports>(ports: &P, input: Input) -> Result<Option<Output>, Failure> {
    if !ports.users().is_empty().await? {
        return Ok(None);
    }
    let system = system_principal();
    let org = add_organization::Input {
        name: input.org_name,
        org_id: None,
    };
    let org_id = match add_organization::execute(ports, &system, org).await {
        Ok(out) => out.org_id,
        Err(add_organization::Error::AlreadyExists(_)) => return Ok(None),
        Err(other) => return Err(Failure::Unexpected(other.to_string())),
    };
    let machine = add_user::MachineInput {
        org_id: org_id.clone(),
        username: input.admin_username,
        name: None,
    };
    let admin_id = add_user::add_machine(ports, &system, machine)
        .await
        .map_err(|e| Failure::Unexpected(e.to_string()))?
        .user_id;
    let token = create_token::Input {
        user_id: admin_id.clone(),
        roles: vec![Role::IamOwner],
        expires_at: None,
    };
    let token = create_token::execute(ports, &system, token)
        .await
        .map_err(|e| Failure::Unexpected(e.to_string()))?
        .token;
    Ok(Some(Output {
        org_id,
        admin_id,
        token,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usecase::authenticate;
    use crate::usecase::fakes::Fake;

    fn input() -> Input {
        Input {
            org_name: OrgName::new("rekey").expect("name"),
            admin_username: Username::new("admin").expect("name"),
        }
    }

    #[tokio::test]
    async fn once_and_only_on_an_empty_store() {
        let fake = Fake::new();
        let out = execute(&fake, input())
            .await
            .expect("ok")
            .expect("bootstrapped");
        let admin = authenticate::execute(&fake, &out.token)
            .await
            .expect("token works");
        assert_eq!(admin.roles, vec![Role::IamOwner]);
        assert_eq!(admin.org_id, out.org_id);
        assert!(execute(&fake, input()).await.expect("ok").is_none());
    }
}
