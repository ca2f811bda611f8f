//! `zitadel.user.v2.UserService/GetUserByID`.

use rekey_application::Ports;
use rekey_application::usecase::get_user::{self, Error};
use rekey_domain::{Language, Phone, Principal, User, UserKind, UserState};
use rekey_proto::zitadel::object::v2 as object;
use rekey_proto::zitadel::user::v2::{
    self as proto, GetUserByIdRequest, GetUserByIdResponse, user::Type,
};

use super::fields::{self, permission_denied, user_not_found};
use crate::status::Status;

/// Checks the user id.
///
/// # Errors
/// Code 3 for an id of the wrong length.
pub fn input(request: GetUserByIdRequest) -> Result<rekey_domain::UserId, Status> {
    fields::user_id("GetUserByIDRequest.UserId", request.user_id)
}

/// ZITADEL's code, id and text for each refusal.
#[must_use]
pub fn error(error: Error) -> Status {
    match error {
        Error::NotFound => user_not_found(),
        Error::PermissionDenied => permission_denied(),
        Error::Failure(failure) => Status::failure(failure),
    }
}

fn state(state: UserState) -> proto::UserState {
    match state {
        UserState::Initial => proto::UserState::Initial,
        UserState::Active => proto::UserState::Active,
        UserState::Inactive => proto::UserState::Inactive,
        UserState::Locked => proto::UserState::Locked,
        UserState::Deleted => proto::UserState::Deleted,
    }
}

/// The user as ZITADEL's `humanToPb` fills it: `HumanUser`'s fields 1–5 empty (they are on
/// `User`), the optional profile fields present even when empty.
#[must_use]
pub fn response(user: &User) -> GetUserByIdResponse {
    let details = object::Details {
        sequence: u64::try_from(user.sequence).unwrap_or(0),
        change_date: Some(fields::timestamp(user.changed_at)),
        resource_owner: user.org_id.as_str().to_owned(),
        creation_date: Some(fields::timestamp(user.created_at)),
    };
    let kind = match &user.kind {
        UserKind::Human(p) => Type::Human(proto::HumanUser {
            profile: Some(proto::HumanProfile {
                given_name: p.given_name.clone(),
                family_name: p.family_name.clone(),
                nick_name: Some(String::new()),
                display_name: Some(p.display_name.clone()),
                preferred_language: Some(
                    p.preferred_language
                        .as_ref()
                        .map(Language::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                ),
                gender: Some(proto::Gender::Unspecified as i32),
                avatar_url: String::new(),
            }),
            email: Some(proto::HumanEmail {
                email: p.email.as_str().to_owned(),
                is_verified: p.email_verified,
            }),
            phone: Some(proto::HumanPhone {
                phone: p
                    .phone
                    .as_ref()
                    .map(Phone::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                is_verified: p.phone_verified,
            }),
            password_change_required: p.password_change_required,
            password_changed: p.password_changed.map(fields::timestamp),
            ..proto::HumanUser::default()
        }),
        UserKind::Machine { name } => Type::Machine(proto::MachineUser {
            name: name.clone(),
            ..proto::MachineUser::default()
        }),
    };
    GetUserByIdResponse {
        details: Some(details.clone()),
        user: Some(proto::User {
            user_id: user.id.as_str().to_owned(),
            details: Some(details),
            state: state(user.state) as i32,
            username: user.username.clone(),
            login_names: user.login_names(),
            preferred_login_name: user.username.clone(),
            r#type: Some(kind),
        }),
    }
}

/// Runs GetUserByID for `caller`.
///
/// # Errors
/// The refusal, as [`error`] maps it.
pub async fn call<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: GetUserByIdRequest,
) -> Result<GetUserByIdResponse, Status> {
    let user_id = input(request)?;
    let user = get_user::execute(ports, caller, &user_id)
        .await
        .map_err(error)?;
    Ok(response(&user))
}
