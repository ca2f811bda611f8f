//! The settings a login UI reads before it asks for a password:
//! `zitadel.settings.v2.SettingsService` GetPasswordComplexitySettings and GetLockoutSettings,
//! and `zitadel.user.v2.UserService/ListAuthenticationMethodTypes`.
//!
//! rekey's policies are the instance's (its configuration), so an organization asks and gets
//! those, marked `RESOURCE_OWNER_TYPE_INSTANCE`. Any authenticated caller may read them.

use rekey_application::Ports;
use rekey_application::usecase::get_user;
use rekey_domain::Principal;
use rekey_proto::zitadel::object::v2 as object;
use rekey_proto::zitadel::settings::v2::{
    self as proto, GetLockoutSettingsRequest, GetLockoutSettingsResponse,
    GetPasswordComplexitySettingsRequest, GetPasswordComplexitySettingsResponse,
};
use rekey_proto::zitadel::user::v2::{
    AuthenticationMethodType, ListAuthenticationMethodTypesRequest,
    ListAuthenticationMethodTypesResponse,
};

use super::fields;
use crate::status::Status;

fn instance_details<P: Ports>(ports: &P) -> object::Details {
    object::Details {
        sequence: 0,
        change_date: None,
        resource_owner: ports.policies().instance_id.as_str().to_owned(),
        creation_date: None,
    }
}

/// Runs GetPasswordComplexitySettings: `password`'s complexity rules.
///
/// # Errors
/// None today; the signature matches the other RPCs.
pub async fn password_complexity<P: Ports>(
    ports: &P,
    _caller: &Principal,
    _request: GetPasswordComplexitySettingsRequest,
) -> Result<GetPasswordComplexitySettingsResponse, Status> {
    let policy = &ports.policies().password;
    Ok(GetPasswordComplexitySettingsResponse {
        details: Some(instance_details(ports)),
        settings: Some(proto::PasswordComplexitySettings {
            min_length: u64::try_from(policy.min_length).unwrap_or(u64::MAX),
            requires_uppercase: policy.has_uppercase,
            requires_lowercase: policy.has_lowercase,
            requires_number: policy.has_number,
            requires_symbol: policy.has_symbol,
            resource_owner_type: proto::ResourceOwnerType::Instance as i32,
        }),
    })
}

/// Runs GetLockoutSettings: `lockout.max_password_attempts` (rekey checks no OTPs: 0).
///
/// # Errors
/// None today; the signature matches the other RPCs.
pub async fn lockout<P: Ports>(
    ports: &P,
    _caller: &Principal,
    _request: GetLockoutSettingsRequest,
) -> Result<GetLockoutSettingsResponse, Status> {
    Ok(GetLockoutSettingsResponse {
        details: Some(instance_details(ports)),
        settings: Some(proto::LockoutSettings {
            max_password_attempts: u64::from(ports.policies().lockout.max_password_attempts),
            resource_owner_type: proto::ResourceOwnerType::Instance as i32,
            max_otp_attempts: 0,
        }),
    })
}

/// Runs ListAuthenticationMethodTypes: `PASSWORD` when the user has set one, for the user
/// itself or a caller with `user.read` on its organization.
///
/// # Errors
/// Code 3 for a user id against its rule; GetUserByID's refusals.
pub async fn authentication_methods<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: ListAuthenticationMethodTypesRequest,
) -> Result<ListAuthenticationMethodTypesResponse, Status> {
    let user_id = fields::user_id(
        "ListAuthenticationMethodTypesRequest.UserId",
        request.user_id,
    )?;
    let has_password = get_user::has_password(ports, caller, &user_id)
        .await
        .map_err(super::get_user::error)?;
    let methods: Vec<i32> = if has_password {
        vec![AuthenticationMethodType::Password as i32]
    } else {
        Vec::new()
    };
    Ok(ListAuthenticationMethodTypesResponse {
        details: Some(object::ListDetails {
            total_result: methods.len() as u64,
            processed_sequence: 0,
            timestamp: None,
        }),
        auth_method_types: methods,
    })
}
