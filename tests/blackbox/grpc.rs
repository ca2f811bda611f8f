//! Native gRPC (h2c, as ZITADEL's Node client speaks it) and gRPC-Web (HTTP/1.1, hand-framed)
//! against the real binary's `server.grpc_bind` listener.

use base64::Engine as _;
use prost::Message as _;
use rekey_proto::google::rpc;
use rekey_proto::zitadel::user::{v2, v2beta};
use rekey_proto::zitadel::v1::ErrorDetail;
use tonic::transport::Channel;

use crate::harness::{Backend, Rekey, on_both_backends};

on_both_backends!(
    health_reports_serving,
    password_reset_returns_a_code_with_details,
    an_unknown_user_is_not_found_with_zitadels_details,
    no_token_is_unauthenticated,
    a_message_over_the_body_limit_is_refused_before_any_work,
    a_bad_url_template_is_an_invalid_argument,
    v2beta_password_reset_works,
    grpc_web_over_http1_gives_the_same_answers,
    gzip_requests_are_read_and_answers_compressed,
    an_organization_and_its_user_are_created_and_read_over_grpc,
    reflection_v1_and_v1alpha_describe_every_service,
    sigterm_lets_an_inflight_call_finish_and_closes_idle_connections,
);

const UNKNOWN_USER: &str = "69629023906488334";

async fn channel(rekey: &Rekey) -> Channel {
    Channel::from_shared(rekey.grpc_base().to_owned())
        .expect("grpc base URL")
        .connect()
        .await
        .expect("h2c connection")
}

fn with_token<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("ascii"),
        );
    }
    request
}

fn users(channel: Channel) -> v2::user_service_client::UserServiceClient<Channel> {
    v2::user_service_client::UserServiceClient::new(channel)
}

fn return_code(user_id: &str) -> v2::PasswordResetRequest {
    v2::PasswordResetRequest {
        user_id: user_id.to_owned(),
        medium: Some(v2::password_reset_request::Medium::ReturnCode(
            v2::ReturnPasswordResetCode {},
        )),
    }
}

async fn health_reports_serving(backend: Backend) {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let rekey = Rekey::start(backend, &[]).await;
    let mut health = HealthClient::new(channel(&rekey).await);
    for service in [
        "",
        "zitadel.user.v2.UserService",
        "zitadel.user.v2beta.UserService",
        "zitadel.org.v2.OrganizationService",
    ] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap_or_else(|status| panic!("{service:?}: {status:?}"))
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "x.Unknown".to_owned(),
        })
        .await
        .expect_err("an unknown service has no status");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

async fn password_reset_returns_a_code_with_details(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let mut client = users(channel(&rekey).await);
    let mut request = with_token(return_code(&user), Some(&rekey.admin_token));
    request
        .metadata_mut()
        .insert("x-request-id", "grpc-test-1".parse().expect("ascii"));
    let response = client.password_reset(request).await.expect("PasswordReset");
    assert_eq!(
        response.metadata().get("x-request-id").expect("echoed id"),
        "grpc-test-1"
    );
    let answer = response.into_inner();
    let code = answer.verification_code.expect("returnCode gives a code");
    rekey.remember(&code);
    assert_eq!(code.len(), 6, "{code}");
    assert!(
        code.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
        "{code}"
    );
    let details = answer.details.expect("details");
    assert!(details.sequence > 0);
    assert_eq!(details.resource_owner, rekey.org_id);
    assert!(details.change_date.is_some());
    // The code works: SetPassword with it over gRPC too.
    let password = "Grpc-Secret-4711!";
    rekey.remember(password);
    let set = v2::SetPasswordRequest {
        user_id: user.clone(),
        new_password: Some(v2::Password {
            password: password.to_owned(),
            change_required: false,
        }),
        verification: Some(v2::set_password_request::Verification::VerificationCode(
            code,
        )),
    };
    let set = client
        .set_password(with_token(set, Some(&rekey.admin_token)))
        .await
        .expect("SetPassword")
        .into_inner();
    assert!(set.details.expect("details").sequence > details.sequence);
    // One access-log line per call, with the route and the gRPC code.
    let calls: Vec<_> = rekey
        .log_lines()
        .into_iter()
        .filter(|line| line["message"] == "call" && line["span"]["request.id"] == "grpc-test-1")
        .collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0]["span"]["route"],
        "/zitadel.user.v2.UserService/PasswordReset"
    );
    assert_eq!(calls[0]["status"], "0");
    // The same metrics as HTTP, labelled with the gRPC path, protocol and code.
    let metrics = rekey.metrics().await;
    let has = |metric: &str, labels: &[&str]| {
        metrics
            .lines()
            .any(|line| line.starts_with(metric) && labels.iter().all(|l| line.contains(l)))
    };
    assert!(
        has(
            "rekey_http_requests_total",
            &[
                "route=\"/zitadel.user.v2.UserService/PasswordReset\"",
                "protocol=\"grpc\"",
                "status=\"0\""
            ]
        ),
        "{metrics}"
    );
    assert!(
        has(
            "rekey_http_request_duration_seconds_count",
            &[
                "route=\"/zitadel.user.v2.UserService/SetPassword\"",
                "protocol=\"grpc\""
            ]
        ),
        "{metrics}"
    );
    assert!(
        has(
            "rekey_rpc_outcomes_total",
            &[
                "rpc=\"password_reset\"",
                "protocol=\"grpc\"",
                "outcome=\"ok\""
            ]
        ),
        "{metrics}"
    );
}

async fn an_unknown_user_is_not_found_with_zitadels_details(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let mut client = users(channel(&rekey).await);
    let status = client
        .password_reset(with_token(
            return_code(UNKNOWN_USER),
            Some(&rekey.admin_token),
        ))
        .await
        .expect_err("unknown user");
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(status.message(), "User could not be found (COMMAND-SAF4f)");
    let details = rpc::Status::decode(status.details()).expect("google.rpc.Status");
    assert_eq!(details.code, 5);
    assert_eq!(details.message, "User could not be found (COMMAND-SAF4f)");
    assert_eq!(details.details.len(), 1);
    assert_eq!(
        details.details[0].type_url,
        "type.googleapis.com/zitadel.v1.ErrorDetail"
    );
    let detail = ErrorDetail::decode(details.details[0].value.as_slice()).expect("ErrorDetail");
    assert_eq!(detail.id, "COMMAND-SAF4f");
    assert_eq!(detail.message, "User could not be found");
    assert!(status.metadata().get("x-request-id").is_some());
}

async fn no_token_is_unauthenticated(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let mut client = users(channel(&rekey).await);
    let status = client
        .password_reset(with_token(return_code(UNKNOWN_USER), None))
        .await
        .expect_err("no token");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    let status = client
        .password_reset(with_token(return_code(UNKNOWN_USER), Some("not-a-token")))
        .await
        .expect_err("a wrong token");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
}

/// `server.body_limit` bounds gRPC messages too: a bigger one is refused by the decoder (tonic
/// says OutOfRange), before authentication or any use case, and the connection serves on.
async fn a_message_over_the_body_limit_is_refused_before_any_work(backend: Backend) {
    let rekey = Rekey::start(backend, &[("REKEY__SERVER__BODY_LIMIT", "1024")]).await;
    let mut client = users(channel(&rekey).await);
    let status = client
        .password_reset(with_token(return_code(&"9".repeat(2000)), None))
        .await
        .expect_err("too big");
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    // The same connection, a message under the limit: now authentication answers.
    let status = client
        .password_reset(with_token(return_code(UNKNOWN_USER), None))
        .await
        .expect_err("no token");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
}

async fn a_bad_url_template_is_an_invalid_argument(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let mut client = users(channel(&rekey).await);
    let request = v2::PasswordResetRequest {
        user_id: user,
        medium: Some(v2::password_reset_request::Medium::SendLink(
            v2::SendPasswordResetLink {
                notification_type: v2::NotificationType::Email as i32,
                url_template: Some("https://example.com/{{".to_owned()),
            },
        )),
    };
    let status = client
        .password_reset(with_token(request, Some(&rekey.admin_token)))
        .await
        .expect_err("a broken template");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert_eq!(rekey.count("outbox").await, 0);
}

async fn v2beta_password_reset_works(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let mut client = v2beta::user_service_client::UserServiceClient::new(channel(&rekey).await);
    let request = v2beta::PasswordResetRequest {
        user_id: user,
        medium: Some(v2beta::password_reset_request::Medium::ReturnCode(
            v2beta::ReturnPasswordResetCode {},
        )),
    };
    let answer = client
        .password_reset(with_token(request, Some(&rekey.admin_token)))
        .await
        .expect("v2beta PasswordReset")
        .into_inner();
    let code = answer.verification_code.expect("a code");
    rekey.remember(&code);
    assert_eq!(code.len(), 6);
    let details = answer.details.expect("details");
    assert!(details.sequence > 0);
    assert_eq!(details.resource_owner, rekey.org_id);
}

/// AddOrganization, AddHumanUser (as ZITADEL's login app sends it) and GetUserByID, all over gRPC.
async fn an_organization_and_its_user_are_created_and_read_over_grpc(backend: Backend) {
    use rekey_proto::zitadel::object::v2::{Organization, organization::Org};
    use rekey_proto::zitadel::org::v2 as org;
    let rekey = Rekey::start(backend, &[]).await;
    let channel = channel(&rekey).await;
    let created = org::organization_service_client::OrganizationServiceClient::new(channel.clone())
        .add_organization(with_token(
            org::AddOrganizationRequest {
                name: "Acme over gRPC".to_owned(),
                ..Default::default()
            },
            Some(&rekey.admin_token),
        ))
        .await
        .expect("AddOrganization")
        .into_inner();
    assert!(!created.organization_id.is_empty());
    assert_eq!(
        created.details.expect("details").resource_owner,
        created.organization_id
    );
    let mut client = users(channel);
    let added = client
        .add_human_user(with_token(
            v2::AddHumanUserRequest {
                username: Some("grace@example.com".to_owned()),
                organization: Some(Organization {
                    org: Some(Org::OrgId(created.organization_id.clone())),
                }),
                profile: Some(v2::SetHumanProfile {
                    given_name: "Grace".to_owned(),
                    family_name: "Hopper".to_owned(),
                    ..Default::default()
                }),
                email: Some(v2::SetHumanEmail {
                    email: "grace@example.com".to_owned(),
                    verification: Some(v2::set_human_email::Verification::IsVerified(false)),
                }),
                ..Default::default()
            },
            Some(&rekey.admin_token),
        ))
        .await
        .expect("AddHumanUser")
        .into_inner();
    assert_eq!(
        added.details.expect("details").resource_owner,
        created.organization_id
    );
    let found = client
        .get_user_by_id(with_token(
            v2::GetUserByIdRequest {
                user_id: added.user_id.clone(),
            },
            Some(&rekey.admin_token),
        ))
        .await
        .expect("GetUserByID")
        .into_inner();
    let user = found.user.expect("user");
    assert_eq!(user.username, "grace@example.com");
    let Some(v2::user::Type::Human(human)) = user.r#type else {
        panic!("a human user: {user:?}");
    };
    assert_eq!(human.profile.expect("profile").given_name, "Grace");
    assert_eq!(
        found.details.expect("details").resource_owner,
        created.organization_id
    );
}

/// gzip both ways, as connect-es asks for it (GRPC.md §4, trap 16): a compressed request is
/// read, and the answer comes compressed.
async fn gzip_requests_are_read_and_answers_compressed(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "bea", None).await;
    let mut client = users(channel(&rekey).await)
        .send_compressed(tonic::codec::CompressionEncoding::Gzip)
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    let response = client
        .get_user_by_id(with_token(
            v2::GetUserByIdRequest {
                user_id: user.clone(),
            },
            Some(&rekey.admin_token),
        ))
        .await
        .expect("GetUserByID, gzip");
    assert_eq!(
        response
            .metadata()
            .get("grpc-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
    let found = response.into_inner().user.expect("user");
    assert_eq!(
        (found.user_id.as_str(), found.username.as_str()),
        (user.as_str(), "bea")
    );
}

/// One gRPC-Web call over HTTP/1.1: the status (from the trailer frame, or the headers of a
/// trailers-only answer), the headers and the first data frame's message.
struct WebAnswer {
    headers: reqwest::header::HeaderMap,
    grpc_status: String,
    trailers: Vec<(String, String)>,
    message: Option<Vec<u8>>,
}

async fn grpc_web(rekey: &Rekey, path: &str, token: Option<&str>, message: &[u8]) -> WebAnswer {
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    body.extend_from_slice(message);
    let client = reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("client");
    let mut request = client
        .post(format!("{}{path}", rekey.grpc_base()))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("gRPC-Web answer");
    assert_eq!(
        response.status(),
        200,
        "gRPC-Web answers 200 even for errors"
    );
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let mut rest = bytes.as_ref();
    let (mut message, mut trailers) = (None, Vec::new());
    while rest.len() >= 5 {
        let flag = rest[0];
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let frame = &rest[5..5 + len];
        if flag & 0x80 == 0 {
            message.get_or_insert_with(|| frame.to_vec());
        } else {
            for line in String::from_utf8_lossy(frame).split("\r\n") {
                if let Some((key, value)) = line.split_once(':') {
                    trailers.push((key.trim().to_lowercase(), value.trim().to_owned()));
                }
            }
        }
        rest = &rest[5 + len..];
    }
    assert!(rest.is_empty(), "whole frames only");
    let grpc_status = trailers
        .iter()
        .find(|(key, _)| key == "grpc-status")
        .map(|(_, value)| value.clone())
        .or_else(|| {
            headers
                .get("grpc-status")
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .expect("a grpc-status in the trailer frame or the headers");
    WebAnswer {
        headers,
        grpc_status,
        trailers,
        message,
    }
}

impl WebAnswer {
    /// A trailer, whether it came in the trailer frame or in the headers (trailers-only).
    fn trailer(&self, name: &str) -> Option<String> {
        self.trailers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .or_else(|| {
                self.headers
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
            })
    }
}

async fn grpc_web_over_http1_gives_the_same_answers(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let path = "/zitadel.user.v2.UserService/PasswordReset";
    let ok = grpc_web(
        &rekey,
        path,
        Some(&rekey.admin_token),
        &return_code(&user).encode_to_vec(),
    )
    .await;
    assert_eq!(ok.grpc_status, "0");
    assert!(
        ok.headers
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/grpc-web")),
        "{:?}",
        ok.headers
    );
    assert!(ok.headers.contains_key("x-request-id"));
    assert_eq!(ok.headers["cache-control"], "no-store", "it holds a code");
    let answer =
        v2::PasswordResetResponse::decode(ok.message.expect("a message").as_slice()).unwrap();
    let code = answer.verification_code.expect("a code");
    rekey.remember(&code);
    assert_eq!(code.len(), 6);
    assert_eq!(answer.details.unwrap().resource_owner, rekey.org_id);

    let missing = grpc_web(
        &rekey,
        path,
        Some(&rekey.admin_token),
        &return_code(UNKNOWN_USER).encode_to_vec(),
    )
    .await;
    assert_eq!(missing.grpc_status, "5");
    assert!(missing.message.is_none());
    assert_eq!(
        missing.trailer("grpc-message").as_deref(),
        Some("User could not be found (COMMAND-SAF4f)"),
        "spaces and parentheses stay literal"
    );
    let details = missing.trailer("grpc-status-details-bin").expect("details");
    assert_eq!(
        details,
        "CAUSJ1VzZXIgY291bGQgbm90IGJlIGZvdW5kIChDT01NQU5ELVNBRjRmKRpWCip0eXBlLmdvb2dsZWFwaXMuY29tL3ppdGFkZWwudjEuRXJyb3JEZXRhaWwSKAoNQ09NTUFORC1TQUY0ZhIXVXNlciBjb3VsZCBub3QgYmUgZm91bmQ",
        "GRPC.md 5.2's bytes"
    );
    let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(details)
        .expect("unpadded base64");
    assert_eq!(rpc::Status::decode(decoded.as_slice()).unwrap().code, 5);

    let anonymous = grpc_web(&rekey, path, None, &return_code(&user).encode_to_vec()).await;
    assert_eq!(anonymous.grpc_status, "16");
    let has_id = anonymous
        .trailer("grpc-message")
        .is_some_and(|m| m.ends_with(')'));
    assert_eq!(
        anonymous.trailer("grpc-status-details-bin").is_some(),
        has_id,
        "details exactly when the error has an id"
    );
}

async fn preflight(rekey: &Rekey, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!(
                "{}/zitadel.user.v2.UserService/PasswordReset",
                rekey.grpc_base()
            ),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-grpc-web",
        )
        .send()
        .await
        .expect("preflight answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_only_the_configured_origins() {
    let rekey = Rekey::start(
        Backend::Sqlite,
        &[("REKEY__SERVER__GRPC_WEB_ORIGINS", "https://login.example")],
    )
    .await;
    let allowed = preflight(&rekey, "https://login.example").await;
    let headers = allowed.headers();
    assert_eq!(
        headers
            .get("access-control-allow-origin")
            .expect("allowed origin"),
        "https://login.example"
    );
    let allow_headers = headers
        .get("access-control-allow-headers")
        .expect("allowed headers")
        .to_str()
        .unwrap()
        .to_owned();
    for header in [
        "authorization",
        "content-type",
        "x-grpc-web",
        "x-request-id",
    ] {
        assert!(allow_headers.contains(header), "{allow_headers}");
    }
    let other = preflight(&rekey, "https://evil.example").await;
    assert!(other.headers().get("access-control-allow-origin").is_none());
    drop(rekey);

    let default = Rekey::start(Backend::Sqlite, &[]).await;
    let answer = preflight(&default, "https://login.example").await;
    assert!(
        answer
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-")),
        "no origins configured: no CORS headers: {:?}",
        answer.headers()
    );
}

/// ListServices and the file declaring `zitadel.user.v2.UserService`, on one reflection
/// version: the service names and how many file descriptors came back.
macro_rules! reflect {
    ($version:ident, $channel:expr) => {{
        use tonic_reflection::pb::$version::ServerReflectionRequest;
        use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;
        let request = |message| ServerReflectionRequest {
            host: String::new(),
            message_request: Some(message),
        };
        let requests = vec![
            request(MessageRequest::ListServices(String::new())),
            request(MessageRequest::FileContainingSymbol(
                "zitadel.user.v2.UserService".to_owned(),
            )),
        ];
        let mut answers = ServerReflectionClient::new($channel)
            .server_reflection_info(futures_util::stream::iter(requests))
            .await
            .expect("reflection")
            .into_inner();
        let (mut services, mut files) = (Vec::new(), 0);
        while let Some(answer) = answers.message().await.expect("an answer") {
            match answer.message_response {
                Some(MessageResponse::ListServicesResponse(list)) => {
                    services.extend(list.service.into_iter().map(|s| s.name));
                }
                Some(MessageResponse::FileDescriptorResponse(found)) => {
                    files += found.file_descriptor_proto.len();
                }
                other => panic!("unexpected reflection answer {other:?}"),
            }
        }
        (services, files)
    }};
}

async fn reflection_v1_and_v1alpha_describe_every_service(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let channel = channel(&rekey).await;
    for (version, (services, files)) in [
        ("v1", reflect!(v1, channel.clone())),
        ("v1alpha", reflect!(v1alpha, channel.clone())),
    ] {
        for service in [
            "zitadel.user.v2.UserService",
            "zitadel.user.v2beta.UserService",
            "zitadel.org.v2.OrganizationService",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ] {
            assert!(
                services.iter().any(|s| s == service),
                "{version}: {service} missing from {services:?}"
            );
        }
        assert!(files > 0, "{version}: the service's file and its imports");
    }
}

/// A SetPassword whose hash takes a while is in flight when SIGTERM arrives: it finishes
/// (within server.shutdown_timeout), and the idle h2c and HTTP/1.1 connections left open do not
/// hold the process up.
async fn sigterm_lets_an_inflight_call_finish_and_closes_idle_connections(backend: Backend) {
    let mut rekey = Rekey::start(backend, &[("REKEY__PASSWORD__ARGON2_ITERATIONS", "80")]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let code = rekey.returned_code(&user).await;
    rekey.remember(&code);
    let password = "Grpc-Drain-4711!";
    rekey.remember(password);
    // An idle HTTP/1.1 keep-alive connection (gRPC-Web) and an idle h2c connection.
    let web = grpc_web(&rekey, "/grpc.health.v1.Health/Check", None, &[]).await;
    assert_eq!(web.grpc_status, "0");
    let idle = channel(&rekey).await;
    let mut client = users(channel(&rekey).await);
    let request = with_token(
        v2::SetPasswordRequest {
            user_id: user,
            new_password: Some(v2::Password {
                password: password.to_owned(),
                change_required: false,
            }),
            verification: Some(v2::set_password_request::Verification::VerificationCode(
                code,
            )),
        },
        Some(&rekey.admin_token),
    );
    let call = tokio::spawn(async move {
        let answer = client.set_password(request).await;
        (answer, std::time::Instant::now())
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let terminated_at = std::time::Instant::now();
    let exit = tokio::task::block_in_place(|| rekey.terminate());
    assert_eq!(exit, Some(0), "a graceful stop exits 0");
    let (answer, answered_at) = call.await.expect("the call task");
    assert!(
        answered_at > terminated_at,
        "the call was still in flight when SIGTERM was sent (make the hash slower)"
    );
    let answer = answer
        .expect("the in-flight SetPassword finished")
        .into_inner();
    assert!(answer.details.expect("details").sequence > 0);
    assert_eq!(rekey.log_count("stopped"), 1);
    drop(idle);
}
