//! The routes: each RPC on its REST path and its Connect path, health, and the answers for
//! unknown routes (404 code 5) and wrong methods (405 code 12).

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::{self, Data, Payload, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use rekey_application::Ports;
use rekey_application::ports::UserStore;
use rekey_domain::Principal;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::{ApiError, Code, Protocol};
use crate::json::{decode, read_body};
#[allow(unused_imports)] // the `#[utoipa::path]` attributes name these
use crate::openapi::{
    AddHumanUserDoc, AddHumanUserResponseDoc, AddOrganizationDoc, AddOrganizationResponseDoc,
    CommonErrors, DetailsResponseDoc, ErrorDoc, GetUserResponseDoc, PasswordResetDoc,
    PasswordResetResponseDoc, SetPasswordDoc, StatusDoc,
};
use crate::{auth, rpc};

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
            .service(
                web::resource("/v2/users/{userId}/password_reset")
                    .route(web::post().to(rest_password_reset::<P>))
                    .default_service(web::to(|| method_not_allowed("POST"))),
            )
            .service(
                web::resource("/v2/users/{userId}/password")
                    .route(web::post().to(rest_set_password::<P>))
                    .default_service(web::to(|| method_not_allowed("POST"))),
            )
            // Before `/v2/users/{userId}`, so AddHumanUser has a route (and metrics label) of its
            // own. A GET of `/v2/users/human` is GetUserByID of a user whose id is "human".
            .service(
                web::resource("/v2/users/human")
                    .route(web::post().to(rest_add_human_user::<P>))
                    .route(web::get().to(rest_get_user::<P>))
                    .default_service(web::to(|| method_not_allowed("POST"))),
            )
            .service(
                web::resource("/v2/users/{userId}")
                    .route(web::get().to(rest_get_user::<P>))
                    .default_service(web::to(|| method_not_allowed("GET"))),
            )
            .service(
                web::resource("/v2/organizations")
                    .route(web::post().to(rest_add_organization::<P>))
                    .default_service(web::to(|| method_not_allowed("POST"))),
            )
            .service(connect(
                "/zitadel.user.v2.UserService/PasswordReset",
                connect_password_reset::<P>,
            ))
            .service(connect(
                "/zitadel.user.v2.UserService/SetPassword",
                connect_set_password::<P>,
            ))
            .service(connect(
                "/zitadel.user.v2.UserService/GetUserByID",
                connect_get_user::<P>,
            ))
            .service(connect(
                "/zitadel.user.v2.UserService/AddHumanUser",
                connect_add_human_user::<P>,
            ))
            .service(connect(
                "/zitadel.org.v2.OrganizationService/AddOrganization",
                connect_add_organization::<P>,
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

fn connect<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::post().to(handler))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(
                ApiError::new(Code::Unimplemented, "Method Not Allowed")
                    .with_status(StatusCode::METHOD_NOT_ALLOWED)
                    .with_header(actix_web::http::header::ALLOW, "POST")
                    .in_protocol(Protocol::Connect),
            )
        }))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(Code::NotFound, "Not Found"))
}

/// An unknown route: 404 code 5 (CONTRACT.md §5); under `/zitadel.` (a Connect procedure
/// rekey does not serve) in Connect's shape, `{"code": "not_found", …}`.
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
        .with_header(actix_web::http::header::ALLOW, allow))
}

/// One unary call: authenticate, read and decode the body, let `prepare` adjust the message
/// (a path parameter wins over the body), run `rpc`, and answer in `protocol`'s shape.
async fn unary<P, R, F, Fut>(
    ports: &P,
    req: &HttpRequest,
    body: Payload,
    protocol: Protocol,
    prepare: impl FnOnce(&mut R),
    rpc: F,
) -> Result<HttpResponse, ApiError>
where
    P: Ports,
    R: DeserializeOwned,
    F: FnOnce(Principal, R) -> Fut,
    Fut: Future<Output = Result<Value, ApiError>>,
{
    let result = async {
        if protocol == Protocol::Connect {
            let json = req
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| {
                    v.trim_start()
                        .to_ascii_lowercase()
                        .starts_with("application/json")
                });
            if !json {
                return Err(ApiError::new(
                    Code::InvalidArgument,
                    "unsupported content type: rekey's Connect endpoints speak application/json",
                )
                .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
            }
        }
        let caller = auth::principal(ports, req).await?;
        let (limit, timeout) = req
            .app_data::<Data<HttpSettings>>()
            .map_or((64 * 1024, std::time::Duration::from_secs(10)), |s| {
                (s.body_limit, s.body_timeout)
            });
        let mut message: R = decode(&read_body(body, limit, timeout).await?)?;
        prepare(&mut message);
        rpc(caller, message).await
    }
    .await;
    result
        .map(|value| HttpResponse::Ok().json(value))
        .map_err(|e| e.in_protocol(protocol))
}

/// `rekey_rpc_outcomes_total{rpc, outcome}`: `ok`, or the error's id (`COMMAND-SAF4f`), or its
/// code's name when it has no id.
fn count_outcome(rpc_path: &'static str, result: &Result<HttpResponse, ApiError>) {
    let rpc = rpc_path.rsplit("::").next().unwrap_or(rpc_path).trim();
    let outcome = match result {
        Ok(_) => "ok",
        Err(error) => error.id().unwrap_or_else(|| error.code().name()),
    };
    metrics::counter!("rekey_rpc_outcomes_total", "rpc" => rpc, "outcome" => outcome).increment(1);
}

/// The path's `userId`; on the `/v2/users/human` route (GetUserByID by GET), "human".
fn path_user_id(req: &HttpRequest) -> Option<String> {
    req.match_info()
        .get("userId")
        .map(str::to_owned)
        .or_else(|| (req.path() == "/v2/users/human").then(|| "human".to_owned()))
}

/// Declares a handler for one RPC on one protocol. `$prepare` turns the request into the
/// adjustment of the decoded message (for REST, the path's `userId` wins over the body's).
macro_rules! handler {
    ($(#[$doc:meta])* $name:ident, $protocol:expr, $message:ty, $rpc:path, $prepare:expr) => {
        $(#[$doc])*
        pub(crate) async fn $name<P: Ports>(
            ports: Data<P>,
            req: HttpRequest,
            body: Payload,
        ) -> Result<HttpResponse, ApiError> {
            let prepare = $prepare(&req);
            let rpc_ports = ports.clone();
            let rpc = move |caller: Principal, message: $message| async move {
                $rpc(rpc_ports.get_ref(), &caller, message).await
            };
            let result = unary(ports.get_ref(), &req, body, $protocol, prepare, rpc).await;
            count_outcome(stringify!($rpc), &result);
            result
        }
    };
}

fn path_wins_reset(req: &HttpRequest) -> impl FnOnce(&mut rpc::PasswordResetRequest) {
    let user_id = path_user_id(req);
    move |message| message.user_id = user_id
}

fn path_wins_get(req: &HttpRequest) -> impl FnOnce(&mut rpc::GetUserRequest) {
    let user_id = path_user_id(req);
    move |message| message.user_id = user_id
}

fn path_wins_set(req: &HttpRequest) -> impl FnOnce(&mut rpc::SetPasswordRequest) {
    let user_id = path_user_id(req);
    move |message| message.user_id = user_id
}

fn as_sent<M>(_: &HttpRequest) -> impl FnOnce(&mut M) {
    |_| {}
}

use rpc::{
    AddHumanUserRequest, AddOrganizationRequest, GetUserRequest, PasswordResetRequest,
    SetPasswordRequest,
};

handler!(
    #[utoipa::path(
        post,
        path = "/v2/users/{userId}/password",
        tag = "UserService",
        operation_id = "SetPassword",
        summary = "Change the password of a user",
        params(("userId" = String, Path, description = "The user's id (1 to 200 characters); it wins over a userId in the body")),
        request_body = SetPasswordDoc,
        responses(
            (status = 200, description = "The password was changed", body = DetailsResponseDoc),
            CommonErrors,
            (status = 429, description = "Too many current passwords tried for this user or by this caller (code 8, limits.wrong_passwords); the password was not checked", body = ErrorDoc, headers(("Retry-After" = i64, description = "Seconds until the budget has room"))),
        ),
    )]
    rest_set_password,
    Protocol::Rest,
    SetPasswordRequest,
    rpc::set_password,
    path_wins_set
);
handler!(
    connect_set_password,
    Protocol::Connect,
    SetPasswordRequest,
    rpc::set_password,
    as_sent
);
handler!(
    #[utoipa::path(
        post,
        path = "/v2/users/{userId}/password_reset",
        tag = "UserService",
        operation_id = "PasswordReset",
        summary = "Request a code to reset a password",
        params(("userId" = String, Path, description = "The user's id (1 to 200 characters); it wins over a userId in the body")),
        request_body = PasswordResetDoc,
        responses(
            (status = 200, description = "A code was issued (and returned, for returnCode)", body = PasswordResetResponseDoc),
            CommonErrors,
            (status = 429, description = "A budget is spent (code 8); nothing was issued", body = ErrorDoc, headers(("Retry-After" = i64, description = "Seconds until the budget has room"))),
        ),
    )]
    rest_password_reset,
    Protocol::Rest,
    PasswordResetRequest,
    rpc::password_reset,
    path_wins_reset
);
handler!(
    connect_password_reset,
    Protocol::Connect,
    PasswordResetRequest,
    rpc::password_reset,
    as_sent
);
handler!(
    #[utoipa::path(
        get,
        path = "/v2/users/{userId}",
        tag = "UserService",
        operation_id = "GetUserByID",
        summary = "Get a user by its id",
        params(("userId" = String, Path, description = "The user's id (1 to 200 characters); it wins over a userId in the body")),
        responses(
            (status = 200, description = "The user", body = GetUserResponseDoc),
            CommonErrors,
        ),
    )]
    rest_get_user,
    Protocol::Rest,
    GetUserRequest,
    rpc::get_user,
    path_wins_get
);
handler!(
    connect_get_user,
    Protocol::Connect,
    GetUserRequest,
    rpc::get_user,
    as_sent
);
handler!(
    #[utoipa::path(
        post,
        path = "/v2/users/human",
        tag = "UserService",
        operation_id = "AddHumanUser",
        summary = "Create a human user",
        request_body = AddHumanUserDoc,
        responses(
            (status = 200, description = "The user was created", body = AddHumanUserResponseDoc),
            CommonErrors,
            (status = 409, description = "Already exists (code 6)", body = ErrorDoc),
        ),
    )]
    rest_add_human_user,
    Protocol::Rest,
    AddHumanUserRequest,
    rpc::add_human_user,
    as_sent
);
handler!(
    connect_add_human_user,
    Protocol::Connect,
    AddHumanUserRequest,
    rpc::add_human_user,
    as_sent
);
handler!(
    #[utoipa::path(
        post,
        path = "/v2/organizations",
        tag = "OrganizationService",
        operation_id = "AddOrganization",
        summary = "Create an organization",
        request_body = AddOrganizationDoc,
        responses(
            (status = 200, description = "The organization was created", body = AddOrganizationResponseDoc),
            CommonErrors,
            (status = 409, description = "Already exists (code 6)", body = ErrorDoc),
        ),
    )]
    rest_add_organization,
    Protocol::Rest,
    AddOrganizationRequest,
    rpc::add_organization,
    as_sent
);
handler!(
    connect_add_organization,
    Protocol::Connect,
    AddOrganizationRequest,
    rpc::add_organization,
    as_sent
);

/// Whether the process answers.
#[utoipa::path(
    get,
    path = "/debug/healthz",
    tag = "Operations",
    security(()),
    responses((status = 200, description = "The process answers", body = StatusDoc)),
)]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready when the database answers. The cause of not being ready is logged, not shown.
#[utoipa::path(
    get,
    path = "/debug/ready",
    tag = "Operations",
    security(()),
    responses(
        (status = 200, description = "The database answers", body = StatusDoc),
        (status = 503, description = "The database does not answer", body = StatusDoc),
    ),
)]
pub(crate) async fn ready<P: Ports>(ports: Data<P>) -> HttpResponse {
    match ports.users().ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(failure) => {
            tracing::warn!(cause = %failure, "not ready");
            HttpResponse::ServiceUnavailable().json(json!({ "status": "not ready" }))
        }
    }
}

/// Prometheus metrics, in the text exposition format.
#[utoipa::path(
    get,
    path = "/debug/metrics",
    tag = "Operations",
    security(()),
    responses(
        (
            status = 200,
            description = "Counters, gauges and histograms (`rekey_…`)",
            body = String,
            content_type = "text/plain; version=0.0.4"
        ),
        (status = 404, description = "Served only on server.metrics_bind, which is set (code 5)", body = ErrorDoc),
    ),
)]
pub(crate) async fn metrics(settings: Data<HttpSettings>) -> Result<HttpResponse, ApiError> {
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
