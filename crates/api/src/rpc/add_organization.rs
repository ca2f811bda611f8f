//! `zitadel.org.v2.OrganizationService/AddOrganization` (admins are not supported yet and
//! ignored).

use rekey_application::Ports;
use rekey_application::usecase::add_organization::{self, Error, Input, Output};
use rekey_domain::{OrgId, OrgName, Principal};
use rekey_proto::zitadel::org::v2::{AddOrganizationRequest, AddOrganizationResponse};

use super::fields::{self, length_error, permission_denied};
use crate::status::{Code, Status};

/// Checks the name and the id asked for: `organization_id` wins over the older `org_id`.
///
/// # Errors
/// Code 3 for a name or id of the wrong length.
pub fn input(request: AddOrganizationRequest) -> Result<Input, Status> {
    let name: OrgName = fields::bounded("AddOrganizationRequest.Name", request.name)?;
    let org_id = match (request.organization_id, request.org_id) {
        (Some(id), _) => Some(("AddOrganizationRequest.OrganizationId", id)),
        (None, Some(id)) => Some(("AddOrganizationRequest.OrgId", id)),
        (None, None) => None,
    }
    .filter(|(_, id)| !id.is_empty())
    .map(|(field, id)| OrgId::try_from(id).map_err(|_| length_error(field, 1, 200)))
    .transpose()?;
    Ok(Input { name, org_id })
}

/// ZITADEL's code, id and text for each refusal.
#[must_use]
pub fn error(error: Error) -> Status {
    match error {
        Error::PermissionDenied => permission_denied(),
        Error::AlreadyExists(_) => Status::with_id(
            Code::AlreadyExists,
            "REKEY-OrgDup",
            "Organisation already exists",
        ),
        Error::Failure(failure) => Status::failure(failure),
    }
}

/// The new organization's id and the details of its first event.
#[must_use]
pub fn response(output: &Output) -> AddOrganizationResponse {
    AddOrganizationResponse {
        details: Some(fields::details(&output.details)),
        organization_id: output.org_id.as_str().to_owned(),
        created_admins: Vec::new(),
    }
}

/// Runs AddOrganization for `caller`.
///
/// # Errors
/// The refusal, as [`error`] maps it.
pub async fn call<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: AddOrganizationRequest,
) -> Result<AddOrganizationResponse, Status> {
    let input = input(request)?;
    let output = add_organization::execute(ports, caller, input)
        .await
        .map_err(error)?;
    Ok(response(&output))
}
