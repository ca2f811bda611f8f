//! Entry points for the fuzz targets in `fuzz/`. Not part of rekey's API: nothing in the
//! service calls them, and they may change with the fuzz targets.
//!
//! [`call`] does what a Connect handler does once the caller is authenticated: it decodes the
//! body (proto3 JSON or protobuf binary), checks the fields as the RPC does, and runs the RPC's
//! use case on the given ports. Driven with the in-memory fakes of `rekey-application`, that is
//! the whole path of a request body short of the database. [`answer`] renders a refusal as a
//! REST or Connect client would receive it.

use rekey_application::Ports;
use rekey_domain::Principal;
use rekey_proto::zitadel::org::v2 as org;
use rekey_proto::zitadel::session::v2 as session;
use rekey_proto::zitadel::settings::v2 as settings;
use rekey_proto::zitadel::user::v2 as user;
use serde_json::Value;

use crate::json::{JsonRequest, JsonResponse, decode};
use crate::rpc::{self, Rpc};
use crate::status::{Code, Status};

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Proto3 JSON (REST, Connect `application/json`).
    Json,
    /// Protobuf binary (Connect `application/proto`, gRPC, gRPC-Web).
    Binary,
}

/// The error body shape a refusal is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// grpc-gateway's `{code: 5, message, details}`.
    Rest,
    /// Connect's `{code: "not_found", message, details}`.
    Connect,
}

/// How far a request body got.
#[derive(Debug)]
pub enum Outcome {
    /// It did not decode.
    Undecodable(Status),
    /// It decoded, and field validation or the use case refused it.
    Refused(Status),
    /// It decoded, and the RPC answered with this response message (in proto3 JSON).
    Answered(Value),
}

/// Decodes `body` as `rpc`'s request message in `format` and runs the RPC for `caller` on
/// `ports`, as the Connect route does.
pub async fn call<P: Ports>(
    ports: &P,
    caller: &Principal,
    rpc: Rpc,
    format: Format,
    body: &[u8],
) -> Outcome {
    match rpc {
        Rpc::PasswordReset => {
            run::<user::PasswordResetRequest, _, _>(format, body, |m| {
                rpc::password_reset(ports, caller, m)
            })
            .await
        }
        Rpc::SetPassword => {
            run::<user::SetPasswordRequest, _, _>(format, body, |m| {
                rpc::set_password(ports, caller, m)
            })
            .await
        }
        Rpc::GetUserById => {
            run::<user::GetUserByIdRequest, _, _>(format, body, |m| {
                rpc::get_user_by_id(ports, caller, m)
            })
            .await
        }
        Rpc::AddHumanUser => {
            run::<user::AddHumanUserRequest, _, _>(format, body, |m| {
                rpc::add_human_user(ports, caller, m)
            })
            .await
        }
        Rpc::AddOrganization => {
            run::<org::AddOrganizationRequest, _, _>(format, body, |m| {
                rpc::add_organization(ports, caller, m)
            })
            .await
        }
        Rpc::CreateSession => {
            run::<session::CreateSessionRequest, _, _>(format, body, |m| {
                rpc::session::create(ports, caller, m)
            })
            .await
        }
        Rpc::SetSession => {
            run::<session::SetSessionRequest, _, _>(format, body, |m| {
                rpc::session::set(ports, caller, m)
            })
            .await
        }
        Rpc::GetSession => {
            run::<session::GetSessionRequest, _, _>(format, body, |m| {
                rpc::session::get(ports, caller, m)
            })
            .await
        }
        Rpc::DeleteSession => {
            run::<session::DeleteSessionRequest, _, _>(format, body, |m| {
                rpc::session::delete(ports, caller, m)
            })
            .await
        }
        Rpc::ListSessions => {
            run::<session::ListSessionsRequest, _, _>(format, body, |m| {
                rpc::session::list(ports, caller, m)
            })
            .await
        }
        Rpc::GetPasswordComplexitySettings => {
            run::<settings::GetPasswordComplexitySettingsRequest, _, _>(format, body, |m| {
                rpc::settings::password_complexity(ports, caller, m)
            })
            .await
        }
        Rpc::GetLockoutSettings => {
            run::<settings::GetLockoutSettingsRequest, _, _>(format, body, |m| {
                rpc::settings::lockout(ports, caller, m)
            })
            .await
        }
        Rpc::DeactivateUser => {
            run::<user::DeactivateUserRequest, _, _>(format, body, |m| {
                rpc::lifecycle::deactivate(ports, caller, m)
            })
            .await
        }
        Rpc::ReactivateUser => {
            run::<user::ReactivateUserRequest, _, _>(format, body, |m| {
                rpc::lifecycle::reactivate(ports, caller, m)
            })
            .await
        }
        Rpc::LockUser => {
            run::<user::LockUserRequest, _, _>(format, body, |m| {
                rpc::lifecycle::lock(ports, caller, m)
            })
            .await
        }
        Rpc::UnlockUser => {
            run::<user::UnlockUserRequest, _, _>(format, body, |m| {
                rpc::lifecycle::unlock(ports, caller, m)
            })
            .await
        }
        Rpc::DeleteUser => {
            run::<user::DeleteUserRequest, _, _>(format, body, |m| {
                rpc::lifecycle::delete(ports, caller, m)
            })
            .await
        }
        Rpc::AddPersonalAccessToken => {
            run::<user::AddPersonalAccessTokenRequest, _, _>(format, body, |m| {
                rpc::personal_access_token::add(ports, caller, m)
            })
            .await
        }
        Rpc::RemovePersonalAccessToken => {
            run::<user::RemovePersonalAccessTokenRequest, _, _>(format, body, |m| {
                rpc::personal_access_token::remove(ports, caller, m)
            })
            .await
        }
        Rpc::ListPersonalAccessTokens => {
            run::<user::ListPersonalAccessTokensRequest, _, _>(format, body, |m| {
                rpc::personal_access_token::list(ports, caller, m)
            })
            .await
        }
        Rpc::ListAuthenticationMethodTypes => {
            run::<user::ListAuthenticationMethodTypesRequest, _, _>(format, body, |m| {
                rpc::settings::authentication_methods(ports, caller, m)
            })
            .await
        }
    }
}

async fn run<Req, Res, Fut>(format: Format, body: &[u8], rpc: impl FnOnce(Req) -> Fut) -> Outcome
where
    Req: JsonRequest + prost::Message + Default,
    Res: JsonResponse,
    Fut: Future<Output = Result<Res, Status>>,
{
    let message = match format {
        Format::Json => decode::<Req>(body),
        Format::Binary => {
            Req::decode(body).map_err(|e| Status::invalid(format!("invalid request: {e}")))
        }
    };
    match message {
        Err(status) => Outcome::Undecodable(status),
        Ok(message) => match rpc(message).await {
            Ok(response) => Outcome::Answered(response.to_json()),
            Err(status) => Outcome::Refused(status),
        },
    }
}

/// The HTTP status and body a refusal is answered with in `shape`.
#[must_use]
pub fn answer(status: &Status, shape: Shape) -> (u16, Vec<u8>) {
    let message = status.full_message();
    let body = match shape {
        Shape::Rest => status.rest_body(&message),
        Shape::Connect => status.connect_body(&message),
    };
    (status.code().http_status(), body.to_string().into_bytes())
}

/// Whether `status` blames the caller (every refusal of a fake-backed call must).
#[must_use]
pub fn is_client_error(status: &Status) -> bool {
    !matches!(status.code(), Code::Internal | Code::Unavailable)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use prost::Message as _;
    use rekey_application::usecase::fakes::{Fake, principal};
    use rekey_domain::Role;

    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_body_is_decoded_validated_and_run_in_either_format() {
        let fake = Fake::new();
        fake.add_org("o1", "Org");
        let caller = principal("o1", &[Role::IamOwner]);
        let call = |format, body: &[u8]| {
            block_on(call(&fake, &caller, Rpc::AddOrganization, format, body))
        };

        assert!(matches!(
            call(Format::Json, b"{\"name\": 1}"),
            Outcome::Undecodable(_)
        ));
        assert!(matches!(
            call(Format::Binary, b"\x0a\x05ab"),
            Outcome::Undecodable(_)
        ));
        let Outcome::Refused(error) = call(Format::Json, b"{}") else {
            panic!("an empty name is refused");
        };
        let (status, body) = answer(&error, Shape::Connect);
        assert_eq!(status, 400);
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "invalid_argument");
        let Outcome::Answered(response) = call(Format::Json, b"{\"name\": \"Acme\"}") else {
            panic!("a named organization is added");
        };
        assert!(response["organizationId"].is_string());
        let binary = org::AddOrganizationRequest {
            name: "Binary".into(),
            ..Default::default()
        }
        .encode_to_vec();
        let Outcome::Answered(response) = call(Format::Binary, &binary) else {
            panic!("a named organization is added from protobuf");
        };
        assert!(response["organizationId"].is_string());
    }
}
