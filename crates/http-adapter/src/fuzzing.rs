//! Entry points for the fuzz targets in `fuzz/`. Not part of rekey's API: nothing in the
//! service calls them, and they may change with the fuzz targets.
//!
//! [`call`] does what a Connect handler does once the caller is authenticated: it decodes the
//! body with `json::decode` (the protojson rules), validates the fields as the RPC does, and
//! runs the RPC's use case on the given ports. Driven with the in-memory fakes of
//! `rekey-application`, that is the whole path of a request body short of the database.
//! [`answer`] renders a refusal as the client would receive it.

use std::future::Future;

use actix_web::ResponseError as _;
use actix_web::body::MessageBody as _;
use rekey_application::Ports;
use rekey_domain::Principal;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, Protocol};
use crate::{json, rpc};

/// An RPC that takes a JSON request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rpc {
    /// `zitadel.user.v2.UserService/PasswordReset`.
    PasswordReset,
    /// `zitadel.user.v2.UserService/SetPassword`.
    SetPassword,
    /// `zitadel.user.v2.UserService/GetUserByID`.
    GetUserById,
    /// `zitadel.user.v2.UserService/AddHumanUser`.
    AddHumanUser,
    /// `zitadel.org.v2.OrganizationService/AddOrganization`.
    AddOrganization,
}

/// How far a request body got.
#[derive(Debug)]
pub enum Outcome {
    /// It did not decode.
    Undecodable(ApiError),
    /// It decoded, and field validation or the use case refused it.
    Refused(ApiError),
    /// It decoded, and the RPC answered with this response message.
    Answered(Value),
}

/// Decodes `body` as `rpc`'s request message and runs the RPC for `caller` on `ports`, as the
/// Connect route does (the REST routes differ only in taking `userId` from the path).
pub async fn call<P: Ports>(ports: &P, caller: &Principal, rpc: Rpc, body: &[u8]) -> Outcome {
    match rpc {
        Rpc::PasswordReset => run(body, |m| rpc::password_reset(ports, caller, m)).await,
        Rpc::SetPassword => run(body, |m| rpc::set_password(ports, caller, m)).await,
        Rpc::GetUserById => run(body, |m| rpc::get_user(ports, caller, m)).await,
        Rpc::AddHumanUser => run(body, |m| rpc::add_human_user(ports, caller, m)).await,
        Rpc::AddOrganization => run(body, |m| rpc::add_organization(ports, caller, m)).await,
    }
}

async fn run<R, F, Fut>(body: &[u8], rpc: F) -> Outcome
where
    R: DeserializeOwned,
    F: FnOnce(R) -> Fut,
    Fut: Future<Output = Result<Value, ApiError>>,
{
    match json::decode::<R>(body) {
        Err(error) => Outcome::Undecodable(error),
        Ok(message) => match rpc(message).await {
            Ok(response) => Outcome::Answered(response),
            Err(error) => Outcome::Refused(error),
        },
    }
}

/// The HTTP status and body that `error` is answered with in `protocol`'s shape.
pub fn answer(error: &ApiError, protocol: Protocol) -> (u16, Vec<u8>) {
    let response = error.clone().in_protocol(protocol).error_response();
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .try_into_bytes()
        .map_or_else(|_| Vec::new(), |bytes| bytes.to_vec());
    (status, body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

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
    fn a_body_is_decoded_validated_and_run() {
        let fake = Fake::new();
        fake.add_org("o1", "Org");
        let caller = principal("o1", &[Role::IamOwner]);
        let call = |body: &[u8]| block_on(call(&fake, &caller, Rpc::AddOrganization, body));

        assert!(matches!(call(b"{\"name\": 1}"), Outcome::Undecodable(_)));
        let Outcome::Refused(error) = call(b"{}") else {
            panic!("an empty name is refused");
        };
        let (status, body) = answer(&error, Protocol::Connect);
        assert_eq!(status, 400);
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "invalid_argument");
        let Outcome::Answered(response) = call(b"{\"name\": \"Acme\"}") else {
            panic!("a named organization is added");
        };
        assert!(response["organizationId"].is_string());
    }
}
