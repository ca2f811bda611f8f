//! The routes: each RPC on its REST path and its Connect path, health, and the answers for
//! unknown routes (404 code 5) and wrong methods (405 code 12).

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::{self, Data, Payload, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse, guard};
use rekey_application::Ports;
use rekey_application::ports::UserStore;
use rekey_domain::Principal;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::{ApiError, Code, Protocol};
use crate::json::{decode, read_body};
use crate::{auth, rpc};

/// Settings of the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// The least time the reset page takes to answer a submission.
    pub page_min_response: std::time::Duration,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            page_min_response: std::time::Duration::from_millis(250),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Registers every route. The app must hold `web::Data<P>` (the ports).
pub fn configure<P: Ports>(settings: HttpSettings) -> impl FnOnce(&mut ServiceConfig) {
    move |cfg| {
        cfg.app_data(Data::new(settings))
            .service(
                web::resource("/v2/users/{userId}/password_reset")
                    .route(web::post().to(rest_password_reset::<P>))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/v2/users/{userId}/password")
                    .route(web::post().to(rest_set_password::<P>))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/v2/users/{userId}")
                    .route(web::get().to(rest_get_user::<P>))
                    .route(
                        web::post()
                            .guard(guard::fn_guard(|ctx| {
                                ctx.head().uri.path() == "/v2/users/human"
                            }))
                            .to(rest_add_human_user::<P>),
                    )
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/v2/organizations")
                    .route(web::post().to(rest_add_organization::<P>))
                    .default_service(web::to(method_not_allowed)),
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
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/ui/v2/login/rekey.css")
                    .route(web::get().to(crate::page::stylesheet)),
            )
            .service(
                web::resource("/debug/healthz")
                    .route(web::get().to(healthz))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/debug/ready")
                    .route(web::get().to(ready::<P>))
                    .default_service(web::to(method_not_allowed)),
            )
            .default_service(web::to(not_found));
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
                    .in_protocol(Protocol::Connect),
            )
        }))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(Code::NotFound, "Not Found"))
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(Code::Unimplemented, "Method Not Allowed")
        .with_status(StatusCode::METHOD_NOT_ALLOWED))
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
        let limit = req
            .app_data::<Data<HttpSettings>>()
            .map_or(HttpSettings::default().body_limit, |s| s.body_limit);
        let mut message: R = decode(&read_body(body, limit).await?)?;
        prepare(&mut message);
        rpc(caller, message).await
    }
    .await;
    result
        .map(|value| HttpResponse::Ok().json(value))
        .map_err(|e| e.in_protocol(protocol))
}

fn path_user_id(req: &HttpRequest) -> Option<String> {
    req.match_info().get("userId").map(str::to_owned)
}

/// Declares a handler for one RPC on one protocol. `$prepare` turns the request into the
/// adjustment of the decoded message (for REST, the path's `userId` wins over the body's).
macro_rules! handler {
    ($name:ident, $protocol:expr, $message:ty, $rpc:path, $prepare:expr) => {
        async fn $name<P: Ports>(
            ports: Data<P>,
            req: HttpRequest,
            body: Payload,
        ) -> Result<HttpResponse, ApiError> {
            let prepare = $prepare(&req);
            let rpc_ports = ports.clone();
            let rpc = move |caller: Principal, message: $message| async move {
                $rpc(rpc_ports.get_ref(), &caller, message).await
            };
            unary(ports.get_ref(), &req, body, $protocol, prepare, rpc).await
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
