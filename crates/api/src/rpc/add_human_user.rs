//! `zitadel.user.v2.UserService/AddHumanUser`, for the fields rekey keeps (metadata, IdP
//! links and TOTP secrets are not stored, and ignored); a hashed password is stored as it came.

use rekey_application::Ports;
use rekey_application::usecase::WeakPassword;
use rekey_application::usecase::add_user::{self, Error, HumanInput, Output};
use rekey_domain::{ContactError, Email, Language, OrgId, Password, Phone, Principal, Username};
use rekey_proto::zitadel::object::v2::organization::Org;
use rekey_proto::zitadel::user::v2::{
    AddHumanUserRequest, AddHumanUserResponse, add_human_user_request::PasswordType,
    set_human_email, set_human_phone,
};

use super::fields::{self, length_error, optional, permission_denied, required};
use crate::status::{Code, Status};

/// Checks the request's fields and builds the new user.
///
/// # Errors
/// Code 3 for a missing profile or email, a field of the wrong length, or an email, phone or
/// language that does not parse.
pub fn input(request: AddHumanUserRequest) -> Result<HumanInput, Status> {
    let profile = request
        .profile
        .ok_or_else(|| required("AddHumanUserRequest.Profile"))?;
    let email = request
        .email
        .ok_or_else(|| required("AddHumanUserRequest.Email"))?;
    let email_verified = matches!(
        email.verification,
        Some(set_human_email::Verification::IsVerified(true))
    );
    let email_address = fields::text("SetHumanEmail.Email", email.email, 1, 200)?;
    let phone = request
        .phone
        .filter(|p| !p.phone.is_empty())
        .map(|p| {
            let verified = matches!(
                p.verification,
                Some(set_human_phone::Verification::IsVerified(true))
            );
            Phone::try_from(p.phone)
                .map(|phone| (phone, verified))
                .map_err(phone_error)
        })
        .transpose()?;
    let (password, hashed_password, change_required) = match request.password_type {
        Some(PasswordType::Password(p)) => (
            Some(Password::new(fields::text(
                "Password.Password",
                p.password,
                1,
                200,
            )?)),
            None,
            p.change_required,
        ),
        Some(PasswordType::HashedPassword(h)) => (
            None,
            Some(fields::text("HashedPassword.Hash", h.hash, 1, 1024)?),
            h.change_required,
        ),
        None => (None, None, false),
    };
    Ok(HumanInput {
        user_id: request
            .user_id
            .map(|id| fields::user_id("AddHumanUserRequest.UserId", id))
            .transpose()?,
        username: optional::<1, 200>("AddHumanUserRequest.Username", request.username)?
            .map(|u| Username::new(u.as_str()))
            .transpose()
            .map_err(|_| length_error("AddHumanUserRequest.Username", 1, 200))?,
        org_id: request
            .organization
            .and_then(|o| o.org)
            .and_then(|org| match org {
                Org::OrgId(id) => Some(id),
                Org::OrgDomain(_) => None,
            })
            .map(|id| OrgId::try_from(id).map_err(|_| length_error("Organization.OrgId", 1, 200)))
            .transpose()?,
        given_name: fields::bounded("SetHumanProfile.GivenName", profile.given_name)?,
        family_name: fields::bounded("SetHumanProfile.FamilyName", profile.family_name)?,
        display_name: optional("SetHumanProfile.DisplayName", profile.display_name)?,
        preferred_language: profile
            .preferred_language
            .filter(|l| !l.is_empty())
            .map(|l| {
                Language::new(&l).map_err(|_| {
                    Status::with_id(
                        Code::InvalidArgument,
                        "LANG-lg4DP",
                        "Language is not supported",
                    )
                })
            })
            .transpose()?,
        email: Email::try_from(email_address).map_err(|_| {
            Status::with_id(Code::InvalidArgument, "EMAIL-599BI", "Email is invalid")
        })?,
        email_verified,
        phone_verified: phone.as_ref().is_some_and(|(_, verified)| *verified),
        phone: phone.map(|(phone, _)| phone),
        password_change_required: change_required,
        password,
        hashed_password,
        initial: false,
    })
}

fn phone_error(error: ContactError) -> Status {
    match error {
        ContactError::PremiumRate => Status::with_id(
            Code::InvalidArgument,
            "REKEY-PhonePremium",
            "Phone is a premium-rate number; rekey does not text those",
        ),
        _ => Status::with_id(Code::InvalidArgument, "PHONE-so0wa", "Phone is invalid"),
    }
}

/// A refused new password: code 3, with ZITADEL's policy id or rekey's own.
pub(crate) fn weak_password(weak: &WeakPassword) -> Status {
    let id = match weak {
        WeakPassword::Policy(violation) => violation.id(),
        WeakPassword::TooWeak { .. } => "REKEY-PwWeak",
    };
    Status::with_id(Code::InvalidArgument, id, weak.to_string())
}

/// ZITADEL's code, id and text for each refusal.
#[must_use]
pub fn error(error: Error) -> Status {
    match error {
        Error::PermissionDenied => permission_denied(),
        Error::OrgNotFound => {
            Status::with_id(Code::NotFound, "REKEY-Org404", "Organisation not found")
        }
        Error::Password(weak) => weak_password(&weak),
        Error::HashNotSupported(_) => {
            Status::with_id(Code::InvalidArgument, "USER-oz74onzvqr", error.to_string())
        }
        Error::AlreadyExists(_) => {
            Status::with_id(Code::AlreadyExists, "REKEY-UsrDup", "User already exists")
        }
        Error::Failure(failure) => Status::failure(failure),
    }
}

/// The new user's id and the details of its first event.
#[must_use]
pub fn response(output: &Output) -> AddHumanUserResponse {
    AddHumanUserResponse {
        user_id: output.user_id.as_str().to_owned(),
        details: Some(fields::details(&output.details)),
        email_code: None,
        phone_code: None,
    }
}

/// Runs AddHumanUser for `caller`.
///
/// # Errors
/// The refusal, as [`error`] maps it.
pub async fn call<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: AddHumanUserRequest,
) -> Result<AddHumanUserResponse, Status> {
    let input = input(request)?;
    let output = add_user::add_human(ports, caller, input)
        .await
        .map_err(error)?;
    Ok(response(&output))
}
