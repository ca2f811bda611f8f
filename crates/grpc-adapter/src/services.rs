//! The gRPC services: ZITADEL's `zitadel.user.v2.UserService` (PasswordReset, SetPassword,
//! AddHumanUser, GetUserByID, ListAuthenticationMethodTypes),
//! `zitadel.org.v2.OrganizationService` (AddOrganization), `zitadel.session.v2.SessionService`
//! (Create, Set, Get, Delete and ListSessions), `zitadel.settings.v2.SettingsService`
//! (GetPasswordComplexitySettings, GetLockoutSettings) and `zitadel.user.v2beta.UserService`
//! (PasswordReset, SetPassword).
//!
//! No business rule lives here: every method authenticates the caller, calls the one
//! `rekey_api::rpc` function of its RPC, counts the outcome and maps the error.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt as _;

use rekey_application::Ports;
use rekey_proto::zitadel::org::v2 as org_v2;
use rekey_proto::zitadel::session::v2 as session_v2;
use rekey_proto::zitadel::settings::v2 as settings_v2;
use rekey_proto::zitadel::user::{v2, v2beta};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response};

use crate::context::RequestId;
use crate::status::to_status;

/// Adds every service to `router`, each accepting messages up to `limit` bytes (gzip-compressed
/// requests are accepted; answers are compressed when the client accepts gzip, as ZITADEL does).
pub(crate) fn add<P: Ports, L>(
    router: tonic::transport::server::Router<L>,
    ports: &Arc<P>,
    limit: usize,
) -> tonic::transport::server::Router<L> {
    use org_v2::organization_service_server::OrganizationServiceServer;
    use session_v2::session_service_server::SessionServiceServer;
    use settings_v2::settings_service_server::SettingsServiceServer;
    use v2::user_service_server::UserServiceServer;
    use v2beta::user_service_server::UserServiceServer as BetaUserServiceServer;
    let gzip = CompressionEncoding::Gzip;
    router
        .add_service(
            UserServiceServer::new(UserV2 {
                ports: ports.clone(),
            })
            .max_decoding_message_size(limit)
            .accept_compressed(gzip)
            .send_compressed(gzip),
        )
        .add_service(
            OrganizationServiceServer::new(OrganizationV2 {
                ports: ports.clone(),
            })
            .max_decoding_message_size(limit)
            .accept_compressed(gzip)
            .send_compressed(gzip),
        )
        .add_service(
            SessionServiceServer::new(SessionV2 {
                ports: ports.clone(),
            })
            .max_decoding_message_size(limit)
            .accept_compressed(gzip)
            .send_compressed(gzip),
        )
        .add_service(
            SettingsServiceServer::new(SettingsV2 {
                ports: ports.clone(),
            })
            .max_decoding_message_size(limit)
            .accept_compressed(gzip)
            .send_compressed(gzip),
        )
        .add_service(
            BetaUserServiceServer::new(UserV2beta {
                ports: ports.clone(),
            })
            .max_decoding_message_size(limit)
            .accept_compressed(gzip)
            .send_compressed(gzip),
        )
}

/// One unary call: authenticate from `authorization` and run `$call` (a `rekey_api::rpc`
/// function); then count the outcome as `$rpc` and write the answer or the error. A panic (a
/// bug) answers Internal, as ZITADEL's recovery interceptor does, instead of resetting the
/// stream.
macro_rules! unary {
    ($self:ident, $request:ident, $rpc:ident, $call:path) => {{
        let authorization = $request
            .metadata()
            .get("authorization")
            .map(|value| value.as_bytes().to_vec());
        let request_id = $request.extensions().get::<RequestId>().cloned();
        let message = $request.into_inner();
        let ports = &*$self.ports;
        let call = async move {
            let caller = rekey_api::authenticate(ports, authorization.as_deref()).await?;
            $call(ports, &caller, message).await
        };
        let result = AssertUnwindSafe(call)
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(rekey_api::Status::internal("the call panicked")));
        rekey_api::count_outcome(rekey_api::Rpc::$rpc, "grpc", result.as_ref().map(|_| ()));
        result
            .map(Response::new)
            .map_err(|status| to_status(&status, request_id.as_ref().map(|id| id.0.as_str())))
    }};
}

/// `zitadel.user.v2.UserService`.
#[derive(Debug)]
pub(crate) struct UserV2<P> {
    ports: Arc<P>,
}

#[tonic::async_trait]
impl<P: Ports> v2::user_service_server::UserService for UserV2<P> {
    async fn password_reset(
        &self,
        request: Request<v2::PasswordResetRequest>,
    ) -> Result<Response<v2::PasswordResetResponse>, tonic::Status> {
        unary!(self, request, PasswordReset, rekey_api::rpc::password_reset)
    }

    async fn set_password(
        &self,
        request: Request<v2::SetPasswordRequest>,
    ) -> Result<Response<v2::SetPasswordResponse>, tonic::Status> {
        unary!(self, request, SetPassword, rekey_api::rpc::set_password)
    }

    async fn add_human_user(
        &self,
        request: Request<v2::AddHumanUserRequest>,
    ) -> Result<Response<v2::AddHumanUserResponse>, tonic::Status> {
        unary!(self, request, AddHumanUser, rekey_api::rpc::add_human_user)
    }

    async fn get_user_by_id(
        &self,
        request: Request<v2::GetUserByIdRequest>,
    ) -> Result<Response<v2::GetUserByIdResponse>, tonic::Status> {
        unary!(self, request, GetUserById, rekey_api::rpc::get_user_by_id)
    }

    async fn deactivate_user(
        &self,
        request: Request<v2::DeactivateUserRequest>,
    ) -> Result<Response<v2::DeactivateUserResponse>, tonic::Status> {
        unary!(
            self,
            request,
            DeactivateUser,
            rekey_api::rpc::lifecycle::deactivate
        )
    }

    async fn reactivate_user(
        &self,
        request: Request<v2::ReactivateUserRequest>,
    ) -> Result<Response<v2::ReactivateUserResponse>, tonic::Status> {
        unary!(
            self,
            request,
            ReactivateUser,
            rekey_api::rpc::lifecycle::reactivate
        )
    }

    async fn lock_user(
        &self,
        request: Request<v2::LockUserRequest>,
    ) -> Result<Response<v2::LockUserResponse>, tonic::Status> {
        unary!(self, request, LockUser, rekey_api::rpc::lifecycle::lock)
    }

    async fn unlock_user(
        &self,
        request: Request<v2::UnlockUserRequest>,
    ) -> Result<Response<v2::UnlockUserResponse>, tonic::Status> {
        unary!(self, request, UnlockUser, rekey_api::rpc::lifecycle::unlock)
    }

    async fn delete_user(
        &self,
        request: Request<v2::DeleteUserRequest>,
    ) -> Result<Response<v2::DeleteUserResponse>, tonic::Status> {
        unary!(self, request, DeleteUser, rekey_api::rpc::lifecycle::delete)
    }

    async fn add_personal_access_token(
        &self,
        request: Request<v2::AddPersonalAccessTokenRequest>,
    ) -> Result<Response<v2::AddPersonalAccessTokenResponse>, tonic::Status> {
        unary!(
            self,
            request,
            AddPersonalAccessToken,
            rekey_api::rpc::personal_access_token::add
        )
    }

    async fn remove_personal_access_token(
        &self,
        request: Request<v2::RemovePersonalAccessTokenRequest>,
    ) -> Result<Response<v2::RemovePersonalAccessTokenResponse>, tonic::Status> {
        unary!(
            self,
            request,
            RemovePersonalAccessToken,
            rekey_api::rpc::personal_access_token::remove
        )
    }

    async fn list_personal_access_tokens(
        &self,
        request: Request<v2::ListPersonalAccessTokensRequest>,
    ) -> Result<Response<v2::ListPersonalAccessTokensResponse>, tonic::Status> {
        unary!(
            self,
            request,
            ListPersonalAccessTokens,
            rekey_api::rpc::personal_access_token::list
        )
    }

    async fn list_authentication_method_types(
        &self,
        request: Request<v2::ListAuthenticationMethodTypesRequest>,
    ) -> Result<Response<v2::ListAuthenticationMethodTypesResponse>, tonic::Status> {
        unary!(
            self,
            request,
            ListAuthenticationMethodTypes,
            rekey_api::rpc::settings::authentication_methods
        )
    }
}

/// `zitadel.session.v2.SessionService`.
#[derive(Debug)]
pub(crate) struct SessionV2<P> {
    ports: Arc<P>,
}

#[tonic::async_trait]
impl<P: Ports> session_v2::session_service_server::SessionService for SessionV2<P> {
    async fn list_sessions(
        &self,
        request: Request<session_v2::ListSessionsRequest>,
    ) -> Result<Response<session_v2::ListSessionsResponse>, tonic::Status> {
        unary!(self, request, ListSessions, rekey_api::rpc::session::list)
    }

    async fn get_session(
        &self,
        request: Request<session_v2::GetSessionRequest>,
    ) -> Result<Response<session_v2::GetSessionResponse>, tonic::Status> {
        unary!(self, request, GetSession, rekey_api::rpc::session::get)
    }

    async fn create_session(
        &self,
        request: Request<session_v2::CreateSessionRequest>,
    ) -> Result<Response<session_v2::CreateSessionResponse>, tonic::Status> {
        unary!(
            self,
            request,
            CreateSession,
            rekey_api::rpc::session::create
        )
    }

    async fn set_session(
        &self,
        request: Request<session_v2::SetSessionRequest>,
    ) -> Result<Response<session_v2::SetSessionResponse>, tonic::Status> {
        unary!(self, request, SetSession, rekey_api::rpc::session::set)
    }

    async fn delete_session(
        &self,
        request: Request<session_v2::DeleteSessionRequest>,
    ) -> Result<Response<session_v2::DeleteSessionResponse>, tonic::Status> {
        unary!(
            self,
            request,
            DeleteSession,
            rekey_api::rpc::session::delete
        )
    }
}

/// `zitadel.settings.v2.SettingsService`.
#[derive(Debug)]
pub(crate) struct SettingsV2<P> {
    ports: Arc<P>,
}

#[tonic::async_trait]
impl<P: Ports> settings_v2::settings_service_server::SettingsService for SettingsV2<P> {
    async fn get_password_complexity_settings(
        &self,
        request: Request<settings_v2::GetPasswordComplexitySettingsRequest>,
    ) -> Result<Response<settings_v2::GetPasswordComplexitySettingsResponse>, tonic::Status> {
        unary!(
            self,
            request,
            GetPasswordComplexitySettings,
            rekey_api::rpc::settings::password_complexity
        )
    }

    async fn get_lockout_settings(
        &self,
        request: Request<settings_v2::GetLockoutSettingsRequest>,
    ) -> Result<Response<settings_v2::GetLockoutSettingsResponse>, tonic::Status> {
        unary!(
            self,
            request,
            GetLockoutSettings,
            rekey_api::rpc::settings::lockout
        )
    }
}

/// `zitadel.org.v2.OrganizationService`.
#[derive(Debug)]
pub(crate) struct OrganizationV2<P> {
    ports: Arc<P>,
}

#[tonic::async_trait]
impl<P: Ports> org_v2::organization_service_server::OrganizationService for OrganizationV2<P> {
    async fn add_organization(
        &self,
        request: Request<org_v2::AddOrganizationRequest>,
    ) -> Result<Response<org_v2::AddOrganizationResponse>, tonic::Status> {
        unary!(
            self,
            request,
            AddOrganization,
            rekey_api::rpc::add_organization
        )
    }
}

/// `zitadel.user.v2beta.UserService`: the v2 calls, with the messages transcoded (same field
/// numbers, other package).
#[derive(Debug)]
pub(crate) struct UserV2beta<P> {
    ports: Arc<P>,
}

async fn beta_password_reset<P: Ports>(
    ports: &P,
    caller: &rekey_domain::Principal,
    request: v2beta::PasswordResetRequest,
) -> Result<v2beta::PasswordResetResponse, rekey_api::Status> {
    let request: v2::PasswordResetRequest = rekey_api::transcode(&request);
    rekey_api::rpc::password_reset(ports, caller, request)
        .await
        .map(|response| rekey_api::transcode(&response))
}

async fn beta_set_password<P: Ports>(
    ports: &P,
    caller: &rekey_domain::Principal,
    request: v2beta::SetPasswordRequest,
) -> Result<v2beta::SetPasswordResponse, rekey_api::Status> {
    let request: v2::SetPasswordRequest = rekey_api::transcode(&request);
    rekey_api::rpc::set_password(ports, caller, request)
        .await
        .map(|response| rekey_api::transcode(&response))
}

#[tonic::async_trait]
impl<P: Ports> v2beta::user_service_server::UserService for UserV2beta<P> {
    async fn password_reset(
        &self,
        request: Request<v2beta::PasswordResetRequest>,
    ) -> Result<Response<v2beta::PasswordResetResponse>, tonic::Status> {
        unary!(self, request, PasswordReset, beta_password_reset)
    }

    async fn set_password(
        &self,
        request: Request<v2beta::SetPasswordRequest>,
    ) -> Result<Response<v2beta::SetPasswordResponse>, tonic::Status> {
        unary!(self, request, SetPassword, beta_set_password)
    }
}
