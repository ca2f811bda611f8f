//! The routes: each RPC on its REST path (v2, and v2beta for the two it has) and its Connect
//! path (JSON or binary), health, and the answers for unknown routes (404 code 5) and wrong
//! methods (405 code 12).
//!
//! Every RPC is served by the same two generic handlers, [`rest`] and [`connect`], which only
//! frame: they authenticate, read and decode the body, call the RPC of `rekey-api`, and write
//! the response or the refusal in their protocol's shape.

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, CONTENT_TYPE};
use actix_web::web::{self, Bytes, Data, Payload, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use prost::Message;
use rekey_api::json::{JsonRequest, JsonResponse};
use rekey_api::{Rpc, Status};
use rekey_application::Ports;
use rekey_application::ports::UserStore;
use rekey_domain::Principal;
use rekey_proto::zitadel::org::v2 as org;
use rekey_proto::zitadel::session::v2 as session;
use rekey_proto::zitadel::settings::v2 as settings;
use rekey_proto::zitadel::user::v2 as user;
use serde_json::json;

use crate::auth;
use crate::body::read_body;
use crate::error::{ApiError, Code, Protocol};

/// Settings of the HTTP layer.
#[derive(Clone)]
pub struct HttpSettings {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// How long a client may take to send the body.
    pub body_timeout: std::time::Duration,
    /// The least time the reset page takes to answer a submission.
    pub page_min_response: std::time::Duration,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Renders the metrics for `/debug/metrics` (the server installs the recorder); `None`:
    /// the route answers 404 (the metrics are served elsewhere, see [`configure_metrics`]).
    pub metrics: Option<MetricsRenderer>,
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("body_limit", &self.body_limit)
            .field("body_timeout", &self.body_timeout)
            .field("page_min_response", &self.page_min_response)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

/// Renders the current metrics in Prometheus' text format (after refreshing the gauges that
/// are read at scrape time, such as the outbox depth).
pub type MetricsRenderer = std::sync::Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = String> + Send>> + Send + Sync,
>;

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            body_timeout: std::time::Duration::from_secs(10),
            page_min_response: std::time::Duration::from_millis(250),
            trusted_proxies: Vec::new(),
            metrics: None,
        }
    }
}

/// Registers `/debug/metrics` alone, for a listener of its own (`server.metrics_bind`), and
/// 404 for everything else.
pub fn configure_metrics(renderer: MetricsRenderer) -> impl FnOnce(&mut ServiceConfig) {
    move |cfg| {
        let settings = HttpSettings {
            metrics: Some(renderer),
            ..HttpSettings::default()
        };
        cfg.app_data(Data::new(settings))
            .service(
                web::resource("/debug/metrics")
                    .route(web::get().to(metrics))
                    .default_service(web::to(|| method_not_allowed("GET"))),
            )
            .default_service(web::to(not_found));
    }
}

/// Registers every route. The app must hold `web::Data<P>` (the ports).
pub fn configure<P: Ports>(settings: HttpSettings) -> impl FnOnce(&mut ServiceConfig) {
    move |cfg| {
        cfg.app_data(Data::new(settings))
            .service(rest_route::<P, PasswordReset>(
                "/v2/users/{userId}/password_reset",
            ))
            .service(rest_route::<P, SetPassword>("/v2/users/{userId}/password"))
            .service(rest_route::<P, PasswordReset>(
                "/v2beta/users/{userId}/password_reset",
            ))
            .service(rest_route::<P, SetPassword>(
                "/v2beta/users/{userId}/password",
            ))
            // Before `/v2/users/{userId}`, so AddHumanUser has a route (and metrics label) of its
            // own. A GET of `/v2/users/human` is GetUserByID of a user whose id is "human".
            .service(
                web::resource("/v2/users/human")
                    .route(web::post().to(rest::<P, AddHumanUser>))
                    .route(web::get().to(rest::<P, GetUserById>))
                    .route(web::delete().to(rest::<P, DeleteUser>))
                    // The document lists only POST here (GET and DELETE are the `{userId}`
                    // routes of a user whose id is "human"), so Allow says POST.
                    .default_service(web::to(|| method_not_allowed("POST"))),
            )
            .service(
                web::resource("/v2/users/{userId}")
                    .route(web::get().to(rest::<P, GetUserById>))
                    .route(web::delete().to(rest::<P, DeleteUser>))
                    .default_service(web::to(|| method_not_allowed("GET, DELETE"))),
            )
            .service(rest_route::<P, DeactivateUser>(
                "/v2/users/{userId}/deactivate",
            ))
            .service(rest_route::<P, ListPersonalAccessTokens>(
                "/v2/users/pats/search",
            ))
            .service(rest_route::<P, AddPersonalAccessToken>(
                "/v2/users/{userId}/pats",
            ))
            .service(
                web::resource("/v2/users/{userId}/pats/{tokenId}")
                    .route(web::delete().to(rest::<P, RemovePersonalAccessToken>))
                    .default_service(web::to(|| method_not_allowed("DELETE"))),
            )
            .service(rest_route::<P, ReactivateUser>(
                "/v2/users/{userId}/reactivate",
            ))
            .service(rest_route::<P, LockUser>("/v2/users/{userId}/lock"))
            .service(rest_route::<P, UnlockUser>("/v2/users/{userId}/unlock"))
            .service(rest_route::<P, AddOrganization>("/v2/organizations"))
            .service(
                web::resource("/v2/users/{userId}/authentication_methods")
                    .route(web::get().to(rest::<P, ListAuthenticationMethodTypes>))
                    .default_service(web::to(|| method_not_allowed("GET"))),
            )
            .service(
                web::resource("/v2/sessions")
                    .route(web::post().to(rest::<P, CreateSession>))
                    .default_service(web::to(|| method_not_allowed("POST"))),
            )
            // Before `/v2/sessions/{sessionId}`, so ListSessions has a route of its own.
            .service(rest_route::<P, ListSessions>("/v2/sessions/search"))
            .service(
                web::resource("/v2/sessions/{sessionId}")
                    .route(web::get().to(rest::<P, GetSession>))
                    .route(web::patch().to(rest::<P, SetSession>))
                    .route(web::delete().to(rest::<P, DeleteSession>))
                    .default_service(web::to(|| method_not_allowed("GET, PATCH, DELETE"))),
            )
            .service(
                web::resource("/v2/settings/password/complexity")
                    .route(web::get().to(rest::<P, GetPasswordComplexitySettings>))
                    .default_service(web::to(|| method_not_allowed("GET"))),
            )
            .service(
                web::resource("/v2/settings/lockout")
                    .route(web::get().to(rest::<P, GetLockoutSettings>))
                    .default_service(web::to(|| method_not_allowed("GET"))),
            )
            .service(connect_route::<P, PasswordReset>(
                "/zitadel.user.v2.UserService/PasswordReset",
            ))
            .service(connect_route::<P, SetPassword>(
                "/zitadel.user.v2.UserService/SetPassword",
            ))
            .service(connect_route::<P, GetUserById>(
                "/zitadel.user.v2.UserService/GetUserByID",
            ))
            .service(connect_route::<P, AddHumanUser>(
                "/zitadel.user.v2.UserService/AddHumanUser",
            ))
            .service(connect_route::<P, AddOrganization>(
                "/zitadel.org.v2.OrganizationService/AddOrganization",
            ))
            .service(connect_route::<P, ListAuthenticationMethodTypes>(
                "/zitadel.user.v2.UserService/ListAuthenticationMethodTypes",
            ))
            .service(connect_route::<P, DeactivateUser>(
                "/zitadel.user.v2.UserService/DeactivateUser",
            ))
            .service(connect_route::<P, ReactivateUser>(
                "/zitadel.user.v2.UserService/ReactivateUser",
            ))
            .service(connect_route::<P, LockUser>(
                "/zitadel.user.v2.UserService/LockUser",
            ))
            .service(connect_route::<P, UnlockUser>(
                "/zitadel.user.v2.UserService/UnlockUser",
            ))
            .service(connect_route::<P, DeleteUser>(
                "/zitadel.user.v2.UserService/DeleteUser",
            ))
            .service(connect_route::<P, AddPersonalAccessToken>(
                "/zitadel.user.v2.UserService/AddPersonalAccessToken",
            ))
            .service(connect_route::<P, RemovePersonalAccessToken>(
                "/zitadel.user.v2.UserService/RemovePersonalAccessToken",
            ))
            .service(connect_route::<P, ListPersonalAccessTokens>(
                "/zitadel.user.v2.UserService/ListPersonalAccessTokens",
            ))
            .service(connect_route::<P, CreateSession>(
                "/zitadel.session.v2.SessionService/CreateSession",
            ))
            .service(connect_route::<P, SetSession>(
                "/zitadel.session.v2.SessionService/SetSession",
            ))
            .service(connect_route::<P, GetSession>(
                "/zitadel.session.v2.SessionService/GetSession",
            ))
            .service(connect_route::<P, DeleteSession>(
                "/zitadel.session.v2.SessionService/DeleteSession",
            ))
            .service(connect_route::<P, ListSessions>(
                "/zitadel.session.v2.SessionService/ListSessions",
            ))
            .service(connect_route::<P, GetPasswordComplexitySettings>(
                "/zitadel.settings.v2.SettingsService/GetPasswordComplexitySettings",
            ))
            .service(connect_route::<P, GetLockoutSettings>(
                "/zitadel.settings.v2.SettingsService/GetLockoutSettings",
            ))
            .service(connect_route::<P, PasswordReset>(
                "/zitadel.user.v2beta.UserService/PasswordReset",
            ))
            .service(connect_route::<P, SetPassword>(
                "/zitadel.user.v2beta.UserService/SetPassword",
            ))
            .service(
                web::resource("/ui/v2/login/password/set")
                    .route(web::get().to(crate::page::show))
                    .route(web::post().to(crate::page::submit::<P>))
                    .default_service(web::to(|| method_not_allowed("GET, POST"))),
            )
            .service(
                web::resource("/ui/v2/login/rekey.css")
                    .route(web::get().to(crate::page::stylesheet)),
            )
            .service(
                web::resource("/debug/healthz")
                    .route(web::get().to(healthz))
                    .default_service(web::to(|| method_not_allowed("GET"))),
            )
            .service(
                web::resource("/debug/ready")
                    .route(web::get().to(ready::<P>))
                    .default_service(web::to(|| method_not_allowed("GET"))),
            )
            .service(
                web::resource("/debug/metrics")
                    .route(web::get().to(metrics))
                    .default_service(web::to(|| method_not_allowed("GET"))),
            )
            .service(
                web::resource("/openapi.json")
                    .route(web::get().to(openapi_json))
                    .default_service(web::to(|| method_not_allowed("GET"))),
            )
            .service(web::redirect("/docs", "/docs/"))
            .service(
                utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                    .config(utoipa_swagger_ui::Config::from("/openapi.json")),
            )
            .default_service(web::to(unknown_route));
    }
}

/// One RPC as the routes serve it: its messages and its call in `rekey-api`.
pub(crate) trait Unary: 'static {
    /// Which RPC, for the outcome metric.
    const RPC: Rpc;
    /// The request message, decoded from JSON or protobuf.
    type Request: JsonRequest + Message + Default;
    /// The response message, written as JSON or protobuf.
    type Response: JsonResponse + Message;

    /// The REST answer's status: ZITADEL's `success_code` (201 for CreateSession), else 200.
    const REST_STATUS: StatusCode = StatusCode::OK;

    /// Puts the REST path's id (`userId`, `sessionId`) into the request: it wins over the
    /// body's.
    fn set_path_id(request: &mut Self::Request, id: String);

    /// Puts a REST GET's query parameters into the request (grpc-gateway binds them by
    /// field name); most RPCs take none.
    ///
    /// # Errors
    /// Code 3 for a query that does not parse.
    fn set_query(_request: &mut Self::Request, _query: &str) -> Result<(), ApiError> {
        Ok(())
    }

    /// Sets the `{tokenId}` of the REST path (RemovePersonalAccessToken's) into the message.
    fn set_path_token_id(_request: &mut Self::Request, _id: String) {}

    /// Runs the RPC for `caller`.
    fn call<P: Ports>(
        ports: &P,
        caller: &Principal,
        request: Self::Request,
    ) -> impl Future<Output = Result<Self::Response, Status>>;
}

/// Declares a [`Unary`]: the RPC, its two messages, where the path's user id goes, and its call.
macro_rules! unary {
    ($name:ident, $request:ty, $response:ty, $call:path, |$message:ident, $id:ident| $set:expr) => {
        unary!($name, $request, $response, $call, |$message, $id| $set, status StatusCode::OK);
    };
    (
        $name:ident, $request:ty, $response:ty, $call:path, |$message:ident, $id:ident| $set:expr,
        status $status:expr
    ) => {
        pub(crate) struct $name;

        impl Unary for $name {
            const RPC: Rpc = Rpc::$name;
            const REST_STATUS: StatusCode = $status;
            type Request = $request;
            type Response = $response;

            fn set_path_id($message: &mut $request, $id: String) {
                $set
            }

            fn call<P: Ports>(
                ports: &P,
                caller: &Principal,
                request: $request,
            ) -> impl Future<Output = Result<$response, Status>> {
                $call(ports, caller, request)
            }
        }
    };
}

unary!(
    PasswordReset,
    user::PasswordResetRequest,
    user::PasswordResetResponse,
    rekey_api::rpc::password_reset,
    |message, id| message.user_id = id
);
unary!(
    SetPassword,
    user::SetPasswordRequest,
    user::SetPasswordResponse,
    rekey_api::rpc::set_password,
    |message, id| message.user_id = id
);
unary!(
    GetUserById,
    user::GetUserByIdRequest,
    user::GetUserByIdResponse,
    rekey_api::rpc::get_user_by_id,
    |message, id| message.user_id = id
);
unary!(
    AddHumanUser,
    user::AddHumanUserRequest,
    user::AddHumanUserResponse,
    rekey_api::rpc::add_human_user,
    |_message, _id| ()
);
unary!(
    AddOrganization,
    org::AddOrganizationRequest,
    org::AddOrganizationResponse,
    rekey_api::rpc::add_organization,
    |_message, _id| ()
);

unary!(
    CreateSession,
    session::CreateSessionRequest,
    session::CreateSessionResponse,
    rekey_api::rpc::session::create,
    |_message, _id| (),
    status StatusCode::CREATED
);
unary!(
    SetSession,
    session::SetSessionRequest,
    session::SetSessionResponse,
    rekey_api::rpc::session::set,
    |message, id| message.session_id = id
);
unary!(
    DeleteSession,
    session::DeleteSessionRequest,
    session::DeleteSessionResponse,
    rekey_api::rpc::session::delete,
    |message, id| message.session_id = id
);
unary!(
    ListSessions,
    session::ListSessionsRequest,
    session::ListSessionsResponse,
    rekey_api::rpc::session::list,
    |_message, _id| ()
);
unary!(
    GetPasswordComplexitySettings,
    settings::GetPasswordComplexitySettingsRequest,
    settings::GetPasswordComplexitySettingsResponse,
    rekey_api::rpc::settings::password_complexity,
    |_message, _id| ()
);
unary!(
    GetLockoutSettings,
    settings::GetLockoutSettingsRequest,
    settings::GetLockoutSettingsResponse,
    rekey_api::rpc::settings::lockout,
    |_message, _id| ()
);
unary!(
    DeactivateUser,
    user::DeactivateUserRequest,
    user::DeactivateUserResponse,
    rekey_api::rpc::lifecycle::deactivate,
    |message, id| message.user_id = id
);
unary!(
    ReactivateUser,
    user::ReactivateUserRequest,
    user::ReactivateUserResponse,
    rekey_api::rpc::lifecycle::reactivate,
    |message, id| message.user_id = id
);
unary!(
    LockUser,
    user::LockUserRequest,
    user::LockUserResponse,
    rekey_api::rpc::lifecycle::lock,
    |message, id| message.user_id = id
);
unary!(
    UnlockUser,
    user::UnlockUserRequest,
    user::UnlockUserResponse,
    rekey_api::rpc::lifecycle::unlock,
    |message, id| message.user_id = id
);
unary!(
    DeleteUser,
    user::DeleteUserRequest,
    user::DeleteUserResponse,
    rekey_api::rpc::lifecycle::delete,
    |message, id| message.user_id = id
);
unary!(
    AddPersonalAccessToken,
    user::AddPersonalAccessTokenRequest,
    user::AddPersonalAccessTokenResponse,
    rekey_api::rpc::personal_access_token::add,
    |message, id| message.user_id = id
);
/// RemovePersonalAccessToken: two ids in its path, `{userId}` and `{tokenId}`.
pub(crate) struct RemovePersonalAccessToken;

impl Unary for RemovePersonalAccessToken {
    const RPC: Rpc = Rpc::RemovePersonalAccessToken;
    const REST_STATUS: StatusCode = StatusCode::OK;
    type Request = user::RemovePersonalAccessTokenRequest;
    type Response = user::RemovePersonalAccessTokenResponse;

    fn set_path_id(request: &mut Self::Request, id: String) {
        request.user_id = id;
    }

    fn set_path_token_id(request: &mut Self::Request, id: String) {
        request.token_id = id;
    }

    fn call<P: Ports>(
        ports: &P,
        caller: &Principal,
        request: Self::Request,
    ) -> impl Future<Output = Result<Self::Response, Status>> {
        rekey_api::rpc::personal_access_token::remove(ports, caller, request)
    }
}
unary!(
    ListPersonalAccessTokens,
    user::ListPersonalAccessTokensRequest,
    user::ListPersonalAccessTokensResponse,
    rekey_api::rpc::personal_access_token::list,
    |_message, _id| ()
);
unary!(
    ListAuthenticationMethodTypes,
    user::ListAuthenticationMethodTypesRequest,
    user::ListAuthenticationMethodTypesResponse,
    rekey_api::rpc::settings::authentication_methods,
    |message, id| message.user_id = id
);

/// GetSession: by GET, its `sessionToken` in the query.
pub(crate) struct GetSession;

impl Unary for GetSession {
    const RPC: Rpc = Rpc::GetSession;
    type Request = session::GetSessionRequest;
    type Response = session::GetSessionResponse;

    fn set_path_id(request: &mut Self::Request, id: String) {
        request.session_id = id;
    }

    fn set_query(request: &mut Self::Request, query: &str) -> Result<(), ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError::invalid(format!("invalid query: {e}")))?;
        for (name, value) in pairs {
            if name == "sessionToken" || name == "session_token" {
                request.session_token = Some(value);
            }
        }
        Ok(())
    }

    fn call<P: Ports>(
        ports: &P,
        caller: &Principal,
        request: Self::Request,
    ) -> impl Future<Output = Result<Self::Response, Status>> {
        rekey_api::rpc::session::get(ports, caller, request)
    }
}

/// A REST resource: POST runs `R`, any other method is 405.
fn rest_route<P: Ports, R: Unary>(path: &str) -> actix_web::Resource {
    web::resource(path)
        .route(web::post().to(rest::<P, R>))
        .default_service(web::to(|| method_not_allowed("POST")))
}

/// A Connect procedure: POST runs `R`, any other method is 405 in Connect's shape.
fn connect_route<P: Ports, R: Unary>(path: &str) -> actix_web::Resource {
    web::resource(path)
        .route(web::post().to(connect::<P, R>))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(
                ApiError::new(Code::Unimplemented, "Method Not Allowed")
                    .with_status(StatusCode::METHOD_NOT_ALLOWED)
                    .with_header(ALLOW, "POST")
                    .in_protocol(Protocol::Connect),
            )
        }))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(Code::NotFound, "Not Found"))
}

/// An unknown route: 404 code 5 (docs/API.md); under `/zitadel.` (a Connect procedure rekey
/// does not serve) in Connect's shape, `{"code": "not_found", …}`.
async fn unknown_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let error = ApiError::new(Code::NotFound, "Not Found");
    Err(if req.path().starts_with("/zitadel.") {
        error.in_protocol(Protocol::Connect)
    } else {
        error
    })
}

/// 405 code 12, with the `Allow` header RFC 9110 requires.
async fn method_not_allowed(allow: &'static str) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(Code::Unimplemented, "Method Not Allowed")
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
        .with_header(ALLOW, allow))
}

/// The body, within the configured size and time limits.
async fn read(req: &HttpRequest, body: Payload) -> Result<Bytes, ApiError> {
    let (limit, timeout) = req
        .app_data::<Data<HttpSettings>>()
        .map_or((64 * 1024, std::time::Duration::from_secs(10)), |s| {
            (s.body_limit, s.body_timeout)
        });
    read_body(body, limit, timeout).await
}

/// The path's `userId` or `sessionId`; on the `/v2/users/human` route (GetUserByID by GET),
/// "human".
fn path_id(req: &HttpRequest) -> Option<String> {
    let info = req.match_info();
    info.get("userId")
        .or_else(|| info.get("sessionId"))
        .map(str::to_owned)
        .or_else(|| (req.path() == "/v2/users/human").then(|| "human".to_owned()))
}

/// Counts the call's outcome (`rekey_rpc_outcomes_total`).
fn count(rpc: Rpc, protocol: &'static str, result: &Result<HttpResponse, ApiError>) {
    rekey_api::count_outcome(
        rpc,
        protocol,
        result.as_ref().map(drop).map_err(ApiError::status),
    );
}

/// `R` over REST: a JSON body, the path's `userId` winning over the body's, a JSON answer and
/// grpc-gateway's error shape.
async fn rest<P: Ports, R: Unary>(
    ports: Data<P>,
    req: HttpRequest,
    body: Payload,
) -> Result<HttpResponse, ApiError> {
    let result = async {
        let caller = auth::principal(ports.get_ref(), &req).await?;
        let mut request: R::Request = rekey_api::json::decode(&read(&req, body).await?)?;
        if let Some(id) = path_id(&req) {
            R::set_path_id(&mut request, id);
        }
        if let Some(id) = req.match_info().get("tokenId") {
            R::set_path_token_id(&mut request, id.to_owned());
        }
        R::set_query(&mut request, req.query_string())?;
        let response = R::call(ports.get_ref(), &caller, request).await?;
        Ok(HttpResponse::build(R::REST_STATUS).json(response.to_json()))
    }
    .await;
    count(R::RPC, "rest", &result);
    result
}

/// How a Connect request is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `application/json`.
    Json,
    /// `application/proto`.
    Binary,
}

fn connect_format(req: &HttpRequest) -> Result<Format, ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "application/json" => Ok(Format::Json),
        "application/proto" => Ok(Format::Binary),
        _ => Err(ApiError::new(
            Code::InvalidArgument,
            "unsupported content type: rekey's Connect endpoints speak application/json and \
             application/proto",
        )
        .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE)),
    }
}

/// `R` over Connect unary: a JSON or protobuf body, answered in the same format; refusals are
/// Connect's JSON error body whatever the format, as the Connect protocol has it.
async fn connect<P: Ports, R: Unary>(
    ports: Data<P>,
    req: HttpRequest,
    body: Payload,
) -> Result<HttpResponse, ApiError> {
    let result = async {
        let format = connect_format(&req)?;
        let caller = auth::principal(ports.get_ref(), &req).await?;
        let bytes = read(&req, body).await?;
        let request = match format {
            Format::Json => rekey_api::json::decode::<R::Request>(&bytes)?,
            Format::Binary => R::Request::decode(bytes)
                .map_err(|e| ApiError::invalid(format!("invalid request: {e}")))?,
        };
        let response = R::call(ports.get_ref(), &caller, request).await?;
        Ok(match format {
            Format::Json => HttpResponse::Ok().json(response.to_json()),
            Format::Binary => HttpResponse::Ok()
                .content_type("application/proto")
                .body(response.encode_to_vec()),
        })
    }
    .await
    .map_err(|e: ApiError| e.in_protocol(Protocol::Connect));
    count(R::RPC, "connect", &result);
    result
}

/// Whether the process answers.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready when the database answers. The cause of not being ready is logged, not shown.
async fn ready<P: Ports>(ports: Data<P>) -> HttpResponse {
    match ports.users().ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(failure) => {
            tracing::warn!(cause = %failure, "not ready");
            HttpResponse::ServiceUnavailable().json(json!({ "status": "not ready" }))
        }
    }
}

/// Prometheus metrics, in the text exposition format.
async fn metrics(settings: Data<HttpSettings>) -> Result<HttpResponse, ApiError> {
    let Some(render) = &settings.metrics else {
        return not_found().await;
    };
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(render().await))
}

/// `GET /openapi.json`: the document (`crate::openapi`).
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::openapi::document())
}
