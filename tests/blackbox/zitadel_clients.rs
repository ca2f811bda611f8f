//! ZITADEL's own TypeScript client, `@zitadel/client` 1.3.1, against rekey over each of its
//! transports (issue 14): gRPC (`createServerTransport`, what ZITADEL's login app uses) and
//! gRPC-Web (`createClientTransport`) on the gRPC port, Connect binary and Connect JSON
//! (connect-node's `createConnectTransport`) on the HTTP port. The calls go through
//! `tests/clients/zitadel/call.mjs`; each transport is a test of its own on each backend, so
//! a failure names the transport: `zitadel_clients::<backend>::<scenario>::<transport>`.

use std::io::Write as _;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::harness::{Backend, Rekey};
use crate::smtp::{links_in_mail_files, query_param};
use crate::tools;

/// How ZITADEL's users reach rekey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `@zitadel/client/node` `createServerTransport`: gRPC over HTTP/2 (h2c), binary.
    Grpc,
    /// `@zitadel/client/web` `createClientTransport`: gRPC-Web over fetch, binary.
    GrpcWeb,
    /// connect-node `createConnectTransport`, `application/proto`.
    ConnectBinary,
    /// connect-node `createConnectTransport`, `application/json`.
    ConnectJson,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::GrpcWeb => "grpc-web",
            Self::ConnectBinary => "connect-binary",
            Self::ConnectJson => "connect-json",
        }
    }

    /// gRPC and gRPC-Web are served on the gRPC port, Connect on the HTTP port.
    fn base_url(self, rekey: &Rekey) -> String {
        match self {
            Self::Grpc | Self::GrpcWeb => rekey.grpc_base().to_owned(),
            Self::ConnectBinary | Self::ConnectJson => rekey.base.clone(),
        }
    }
}

/// Declares each scenario once per backend and transport:
/// `mod sqlite { mod <scenario> { fn grpc, fn grpc_web, fn connect_binary, fn connect_json } }`.
macro_rules! per_transport {
    ($backend:ident: $($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                use crate::harness::Backend;
                use crate::zitadel_clients::Transport;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn grpc() {
                    crate::zitadel_clients::$scenario(Backend::$backend, Transport::Grpc).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn grpc_web() {
                    crate::zitadel_clients::$scenario(Backend::$backend, Transport::GrpcWeb).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn connect_binary() {
                    crate::zitadel_clients::$scenario(Backend::$backend, Transport::ConnectBinary)
                        .await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn connect_json() {
                    crate::zitadel_clients::$scenario(Backend::$backend, Transport::ConnectJson)
                        .await;
                }
            }
        )*
    };
}

mod sqlite {
    per_transport!(
        Sqlite: resets_and_passwords,
        refusals_and_creation,
        error_details,
        sessions_and_lockout,
        the_reset_journey_of_a_login_ui,
        life_cycle_and_service_account_tokens
    );
}
mod postgres {
    per_transport!(
        Postgres: resets_and_passwords,
        refusals_and_creation,
        error_details,
        sessions_and_lockout,
        the_reset_journey_of_a_login_ui,
        life_cycle_and_service_account_tokens
    );
}

/// What ZITADEL's login app sends as its reset link (GRPC.md §7), to a host of ours.
const URL_TEMPLATE: &str =
    "https://login.example/password/set?code={{.Code}}&userId={{.UserID}}&organization={{.OrgID}}";
/// A user id no one has.
const NOBODY: &str = "69629023906488334";
const NEW_PASSWORD: &str = "N3w-Passw0rd!";

/// Runs `call.mjs` with `calls` over `transport`; one result per call, each `{"ok": …}` or
/// `{"error": …}`. Fails the test, with the script's stderr, when the script itself fails.
/// Codes and passwords the calls carry are remembered as secrets the logs must not show.
async fn call(
    rekey: &Rekey,
    transport: Transport,
    token: Option<&str>,
    calls: &[Value],
) -> Vec<Value> {
    for c in calls {
        for password in [
            &c["request"]["newPassword"]["password"],
            &c["request"]["passwordType"]["value"]["password"],
            &c["request"]["checks"]["password"]["password"],
        ] {
            if let Some(password) = password.as_str() {
                rekey.remember(password);
            }
        }
    }
    // The token goes through stdin, not the command line.
    let input = json!({
        "transport": transport.name(),
        "baseUrl": transport.base_url(rekey),
        "token": token,
        "calls": calls,
    })
    .to_string();
    let script = tools::zitadel_client();
    let what = format!("{} ({})", script.display(), transport.name());
    let output = tokio::task::spawn_blocking(move || {
        let mut child = tools::node()
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("node {}: {e} (is Node.js installed?)", script.display()));
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write the calls");
        // call.mjs gives up by itself after 15 s per call and 120 s in all.
        child.wait_with_output().expect("node runs")
    })
    .await
    .expect("the node thread");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "node {what} failed ({}):\n{stderr}",
        output.status
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "node {what} printed no JSON array ({e}; {} bytes on stdout); stderr:\n{stderr}",
            output.stdout.len()
        )
    });
    assert_eq!(
        results.len(),
        calls.len(),
        "{what}: one result per call; stderr:\n{stderr}"
    );
    for result in &results {
        for code in [
            &result["ok"]["verificationCode"],
            &result["ok"]["emailCode"],
            &result["ok"]["phoneCode"],
            &result["ok"]["sessionToken"],
        ] {
            if let Some(code) = code.as_str() {
                rekey.remember(code);
            }
        }
    }
    results
}

/// One call; its result.
async fn one(
    rekey: &Rekey,
    transport: Transport,
    token: Option<&str>,
    service: &str,
    method: &str,
    request: Value,
) -> Value {
    let calls = [json!({ "service": service, "method": method, "request": request })];
    call(rekey, transport, token, &calls).await.remove(0)
}

/// The response of a call that must have succeeded; otherwise fails with the error (codes,
/// messages and error ids, nothing secret).
fn ok<'a>(result: &'a Value, transport: Transport, what: &str) -> &'a Value {
    match result.get("ok") {
        Some(response) => response,
        None => panic!(
            "{}: {what} failed: {}",
            transport.name(),
            result.get("error").unwrap_or(result)
        ),
    }
}

/// The error of a call that must have failed; a success fails the test without showing the
/// response (it may hold a code).
fn error<'a>(result: &'a Value, transport: Transport, what: &str) -> &'a Value {
    match result.get("error") {
        Some(error) => error,
        None => panic!("{}: {what} succeeded; it must fail", transport.name()),
    }
}

/// `details.sequence`, which protojson writes as a string (uint64); must be > 0.
fn sequence(response: &Value, transport: Transport, what: &str) -> u64 {
    let sequence = &response["details"]["sequence"];
    let parsed = sequence
        .as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            panic!(
                "{}: {what}: details.sequence is a uint64 as a JSON string, not {sequence}",
                transport.name()
            )
        });
    assert!(
        parsed > 0,
        "{}: {what}: details.sequence is 0",
        transport.name()
    );
    parsed
}

/// A reset code as rekey makes them by default: 6 upper-case letters and digits.
fn assert_code_shape(code: &str, transport: Transport, what: &str) {
    assert!(
        code.len() == 6
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
        "{}: {what}: the code is not 6 upper-case letters and digits (length {})",
        transport.name(),
        code.len()
    );
}

fn reset_request(user: &str, medium: Value) -> Value {
    json!({ "userId": user, "medium": medium })
}

fn return_code() -> Value {
    json!({ "case": "returnCode", "value": {} })
}

fn send_link(url_template: &str) -> Value {
    // notificationType 1 = NOTIFICATION_TYPE_Email, as ZITADEL's login app sends it.
    json!({ "case": "sendLink", "value": { "notificationType": 1, "urlTemplate": url_template } })
}

fn set_password_request(user: &str, code: &str) -> Value {
    json!({
        "userId": user,
        "newPassword": { "password": NEW_PASSWORD, "changeRequired": false },
        "verification": { "case": "verificationCode", "value": code },
    })
}

/// The link to `https://login.example/` among the first `mails` mails, and its code
/// (remembered as a secret the logs must not show).
async fn mailed_link(rekey: &Rekey, transport: Transport, mails: usize) -> (String, String) {
    let link = links_in_mail_files(&rekey.dir.path().join("data/mail"), mails)
        .await
        .into_iter()
        .find(|link| link.starts_with("https://login.example/"))
        .unwrap_or_else(|| {
            panic!(
                "{}: no mail holds a link to https://login.example/",
                transport.name()
            )
        });
    let code = query_param(&link, "code").unwrap_or_default();
    rekey.remember(&code);
    (link, code)
}

/// PasswordReset with returnCode and with sendLink (the link arrives by mail), SetPassword with
/// each code, GetUserByID: what ZITADEL's login app does, over `transport`.
pub async fn resets_and_passwords(backend: Backend, transport: Transport) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let admin = Some(rekey.admin_token.as_str());
    let t = transport.name();

    // returnCode: details and a code, in one script run with the SetPassword that spends it.
    let reset = one(
        &rekey,
        transport,
        admin,
        "user",
        "passwordReset",
        reset_request(&user, return_code()),
    )
    .await;
    let reset = ok(&reset, transport, "PasswordReset returnCode");
    let code = reset["verificationCode"]
        .as_str()
        .unwrap_or_else(|| panic!("{t}: PasswordReset returnCode answered no verificationCode"));
    assert_code_shape(code, transport, "PasswordReset returnCode");
    let first_sequence = sequence(reset, transport, "PasswordReset returnCode");
    assert_eq!(
        reset["details"]["resourceOwner"],
        json!(rekey.org_id),
        "{t}: PasswordReset details.resourceOwner is the user's organization"
    );
    assert!(
        reset["details"]["changeDate"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z')),
        "{t}: PasswordReset details.changeDate is an RFC 3339 UTC timestamp: {}",
        reset["details"]["changeDate"]
    );

    let set = one(
        &rekey,
        transport,
        admin,
        "user",
        "setPassword",
        set_password_request(&user, code),
    )
    .await;
    let set = ok(&set, transport, "SetPassword with the returned code");
    assert!(
        sequence(set, transport, "SetPassword") > first_sequence,
        "{t}: SetPassword's sequence follows PasswordReset's"
    );
    assert_eq!(
        set["details"]["resourceOwner"],
        json!(rekey.org_id),
        "{t}: SetPassword"
    );
    // The code is spent.
    let again = one(
        &rekey,
        transport,
        admin,
        "user",
        "setPassword",
        set_password_request(&user, code),
    )
    .await;
    let again = error(&again, transport, "SetPassword with a spent code");
    assert_eq!(
        again["code"], 9,
        "{t}: a spent code is FailedPrecondition: {again}"
    );

    // sendLink with the login app's template: a mail with exactly that link.
    let reset = one(
        &rekey,
        transport,
        admin,
        "user",
        "passwordReset",
        reset_request(&user, send_link(URL_TEMPLATE)),
    )
    .await;
    let reset = ok(&reset, transport, "PasswordReset sendLink");
    assert!(
        reset.get("verificationCode").is_none(),
        "{t}: sendLink returns no code"
    );
    sequence(reset, transport, "PasswordReset sendLink");
    // Two mails by now: the notice of the first SetPassword, and the link.
    let (link, code) = mailed_link(&rekey, transport, 2).await;
    assert!(
        link.starts_with("https://login.example/password/set?code="),
        "{t}: the mailed link follows the template (host and path)"
    );
    assert_eq!(
        query_param(&link, "userId").as_deref(),
        Some(user.as_str()),
        "{t}: userId"
    );
    assert_eq!(
        query_param(&link, "organization").as_deref(),
        Some(rekey.org_id.as_str()),
        "{t}: organization"
    );
    assert_code_shape(&code, transport, "the mailed link's code");
    let set = one(
        &rekey,
        transport,
        admin,
        "user",
        "setPassword",
        set_password_request(&user, &code),
    )
    .await;
    ok(&set, transport, "SetPassword with the mailed code");

    // GetUserByID, as the login app reads it.
    let got = one(
        &rekey,
        transport,
        admin,
        "user",
        "getUserByID",
        json!({ "userId": user }),
    )
    .await;
    let got = ok(&got, transport, "GetUserByID");
    let u = &got["user"];
    assert_eq!(u["userId"], json!(user), "{t}: GetUserByID user.userId");
    assert_eq!(u["username"], "ada", "{t}: GetUserByID user.username");
    assert_eq!(
        u["state"], "USER_STATE_ACTIVE",
        "{t}: GetUserByID user.state"
    );
    assert_eq!(
        u["human"]["profile"]["givenName"], "Ada",
        "{t}: GetUserByID given name"
    );
    assert_eq!(
        u["human"]["profile"]["familyName"], "Lovelace",
        "{t}: GetUserByID family name"
    );
    assert_eq!(
        u["human"]["email"]["email"], "ada@example.com",
        "{t}: GetUserByID email"
    );
    assert_eq!(
        got["details"]["resourceOwner"],
        json!(rekey.org_id),
        "{t}: GetUserByID details.resourceOwner"
    );
    sequence(got, transport, "GetUserByID");
}

/// Unknown user, a broken template and no token are refused with ZITADEL's codes; AddHumanUser
/// and AddOrganization succeed.
pub async fn refusals_and_creation(backend: Backend, transport: Transport) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let admin = Some(rekey.admin_token.as_str());
    let t = transport.name();

    let calls = [
        json!({ "service": "user", "method": "passwordReset",
                "request": reset_request(NOBODY, return_code()) }),
        json!({ "service": "user", "method": "passwordReset",
                "request": reset_request(&user, send_link("{{")) }),
        json!({ "service": "user", "method": "getUserByID", "request": { "userId": NOBODY } }),
    ];
    let results = call(&rekey, transport, admin, &calls).await;
    for (result, what, code, name, id) in [
        (
            &results[0],
            "PasswordReset for an unknown user",
            5,
            "NotFound",
            "COMMAND-SAF4f",
        ),
        (
            &results[1],
            "PasswordReset with urlTemplate {{",
            3,
            "InvalidArgument",
            "DOMAIN-oGh5e",
        ),
        (
            &results[2],
            "GetUserByID for an unknown user",
            5,
            "NotFound",
            "COMMAND-SAF4f",
        ),
    ] {
        let e = error(result, transport, what);
        assert_eq!(e["code"], code, "{t}: {what}: {e}");
        assert_eq!(e["codeName"], name, "{t}: {what}: {e}");
        assert!(
            e["rawMessage"]
                .as_str()
                .is_some_and(|m| m.ends_with(&format!(" ({id})"))),
            "{t}: {what}: the message ends with ({id}): {e}"
        );
    }

    // No Authorization header at all.
    let anonymous = one(
        &rekey,
        transport,
        None,
        "user",
        "passwordReset",
        reset_request(&user, return_code()),
    )
    .await;
    let e = error(&anonymous, transport, "PasswordReset without a token");
    assert_eq!(e["code"], 16, "{t}: without a token: {e}");
    assert_eq!(
        e["codeName"], "Unauthenticated",
        "{t}: without a token: {e}"
    );
    // A token that is no token.
    let forged = one(
        &rekey,
        transport,
        Some("rekey_pat_not-a-real-token"),
        "user",
        "passwordReset",
        reset_request(&user, return_code()),
    )
    .await;
    let e = error(&forged, transport, "PasswordReset with an unknown token");
    assert_eq!(e["code"], 16, "{t}: an unknown token: {e}");
    assert_eq!(rekey.count("outbox").await, 0, "{t}: nothing was sent");

    // AddOrganization, then AddHumanUser into it the way ZITADEL's login app sends it.
    let org = one(
        &rekey,
        transport,
        admin,
        "org",
        "addOrganization",
        json!({ "name": format!("acme {t}") }),
    )
    .await;
    let org = ok(&org, transport, "AddOrganization");
    let org_id = org["organizationId"]
        .as_str()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| panic!("{t}: AddOrganization answered no organizationId: {org}"))
        .to_owned();
    assert_ne!(org_id, rekey.org_id, "{t}: a new organization");
    assert_eq!(
        org["details"]["resourceOwner"],
        json!(org_id),
        "{t}: an organization owns itself: {org}"
    );
    sequence(org, transport, "AddOrganization");
    let duplicate = one(
        &rekey,
        transport,
        admin,
        "org",
        "addOrganization",
        json!({ "name": format!("acme {t}") }),
    )
    .await;
    let e = error(&duplicate, transport, "AddOrganization with a taken name");
    assert_eq!(e["code"], 6, "{t}: a taken name is AlreadyExists: {e}");

    let added = one(
        &rekey,
        transport,
        admin,
        "user",
        "addHumanUser",
        json!({
            "username": "grace",
            "organization": { "org": { "case": "orgId", "value": org_id } },
            "profile": { "givenName": "Grace", "familyName": "Hopper" },
            "email": { "email": "grace@example.com",
                       "verification": { "case": "isVerified", "value": false } },
            "passwordType": { "case": "password",
                              "value": { "password": "Kx7#mQ2!vLp9zR", "changeRequired": false } },
        }),
    )
    .await;
    let added = ok(&added, transport, "AddHumanUser");
    let grace = added["userId"]
        .as_str()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| panic!("{t}: AddHumanUser answered no userId: {added}"))
        .to_owned();
    assert_eq!(
        added["details"]["resourceOwner"],
        json!(org_id),
        "{t}: AddHumanUser created the user in the requested organization: {added}"
    );
    sequence(added, transport, "AddHumanUser");
    assert_eq!(
        rekey
            .count(&format!(
                "users WHERE id = '{grace}' AND password_hash LIKE '$argon2id$%'"
            ))
            .await,
        1,
        "{t}: AddHumanUser stored the password's hash"
    );
    let got = one(
        &rekey,
        transport,
        admin,
        "user",
        "getUserByID",
        json!({ "userId": grace }),
    )
    .await;
    let got = ok(&got, transport, "GetUserByID of the added user");
    assert_eq!(got["user"]["username"], "grace", "{t}: {got}");
    assert_eq!(
        got["user"]["human"]["email"]["email"], "grace@example.com",
        "{t}: {got}"
    );
    assert_eq!(got["details"]["resourceOwner"], json!(org_id), "{t}: {got}");
}

/// ZITADEL attaches a `zitadel.v1.ErrorDetail{id, message}` to its own errors on every
/// protocol (GRPC.md §5), and `err.findDetails(ErrorDetailSchema)` reads it.
pub async fn error_details(backend: Backend, transport: Transport) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let admin = Some(rekey.admin_token.as_str());
    let t = transport.name();
    let calls = [
        json!({ "service": "user", "method": "passwordReset",
                "request": reset_request(NOBODY, return_code()) }),
        json!({ "service": "user", "method": "passwordReset",
                "request": reset_request(&user, send_link("{{")) }),
    ];
    let results = call(&rekey, transport, admin, &calls).await;
    for (result, what, id) in [
        (
            &results[0],
            "PasswordReset for an unknown user",
            "COMMAND-SAF4f",
        ),
        (
            &results[1],
            "PasswordReset with urlTemplate {{",
            "DOMAIN-oGh5e",
        ),
    ] {
        let e = error(result, transport, what);
        let details = e["details"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            details.len(),
            1,
            "{t}: {what}: one zitadel.v1.ErrorDetail (details of types {}): {e}",
            e["detailTypes"]
        );
        assert_eq!(details[0]["type"], "zitadel.v1.ErrorDetail", "{t}: {what}");
        assert_eq!(details[0]["id"], id, "{t}: {what}: {e}");
        // The detail's message is the error's message without the id.
        let message = details[0]["message"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty(),
            "{t}: {what}: the detail has a message: {e}"
        );
        assert_eq!(
            e["rawMessage"].as_str(),
            Some(format!("{message} ({id})").as_str()),
            "{t}: {what}: {e}"
        );
    }
    let first = error(&results[0], transport, "unknown user");
    assert_eq!(
        first["details"][0]["message"], "User could not be found",
        "{t}: {first}"
    );
}

/// One call whose request is written in proto3 JSON (read by the script with `fromJson`).
async fn one_json(
    rekey: &Rekey,
    transport: Transport,
    token: Option<&str>,
    service: &str,
    method: &str,
    request: Value,
) -> Value {
    let calls = [json!({ "service": service, "method": method, "request": request, "json": true })];
    call(rekey, transport, token, &calls).await.remove(0)
}

/// Gives `user` the password `password` as ZITADEL's login app would: PasswordReset with
/// returnCode, then SetPassword with the code.
async fn give_password(rekey: &Rekey, transport: Transport, user: &str, password: &str) {
    let admin = Some(rekey.admin_token.as_str());
    let reset = one(
        rekey,
        transport,
        admin,
        "user",
        "passwordReset",
        reset_request(user, return_code()),
    )
    .await;
    let code = ok(&reset, transport, "PasswordReset")["verificationCode"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut request = set_password_request(user, &code);
    request["newPassword"]["password"] = json!(password);
    let set = one(rekey, transport, admin, "user", "setPassword", request).await;
    ok(&set, transport, "SetPassword");
}

/// A login UI's service account: a machine user holding `IAM_LOGIN_CLIENT`, and its token.
fn login_client(rekey: &Rekey) -> String {
    rekey
        .machine_with_token(&rekey.org_id, "login", &["IAM_LOGIN_CLIENT"])
        .1
}

/// CreateSession as ZITADEL's login app sends it: the user by id, a password, a lifetime of a
/// day and the browser's description.
fn create_session(user: &str, password: Option<&str>) -> Value {
    let mut checks = json!({ "user": { "userId": user } });
    if let Some(password) = password {
        checks["password"] = json!({ "password": password });
    }
    json!({
        "checks": checks,
        "lifetime": "86400s",
        "userAgent": {
            "ip": "192.0.2.10",
            "description": "Firefox on Linux",
            "header": { "user-agent": { "values": ["Mozilla/5.0"] } },
        },
        "metadata": {},
    })
}

/// The error's `CredentialsCheckError.failedAttempts`, as the login app reads it
/// (`findDetails(CredentialsCheckErrorSchema)[0].failedAttempts`).
fn failed_attempts(error: &Value) -> Option<u64> {
    error["credentials"][0]["failedAttempts"].as_u64()
}

/// Sessions with ZITADEL's client: a session for the right password, with both factors; wrong
/// passwords counted in `CredentialsCheckError`, the third locking the user (lockout policy
/// of 3), which the next CreateSession answers with `Errors.User.NotActive`; DeleteSession with
/// the token; and the settings the login app reads before it asks for a password.
pub async fn sessions_and_lockout(backend: Backend, transport: Transport) {
    let rekey = Rekey::start(backend, &[("REKEY__LOCKOUT__MAX_PASSWORD_ATTEMPTS", "3")]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    give_password(&rekey, transport, &user, NEW_PASSWORD).await;
    let login = login_client(&rekey);
    let login = Some(login.as_str());
    let t = transport.name();

    // What the login app reads before it asks for a password.
    let complexity = one(
        &rekey,
        transport,
        login,
        "settings",
        "getPasswordComplexitySettings",
        json!({}),
    )
    .await;
    let complexity = &ok(&complexity, transport, "GetPasswordComplexitySettings")["settings"];
    assert_eq!(
        (
            complexity["minLength"].as_str(),
            complexity["requiresSymbol"].as_bool()
        ),
        (Some("8"), Some(true)),
        "{t}: {complexity}"
    );
    let lockout = one(
        &rekey,
        transport,
        login,
        "settings",
        "getLockoutSettings",
        json!({}),
    )
    .await;
    let lockout = &ok(&lockout, transport, "GetLockoutSettings")["settings"];
    assert_eq!(lockout["maxPasswordAttempts"], "3", "{t}: {lockout}");
    let methods = one(
        &rekey,
        transport,
        login,
        "user",
        "listAuthenticationMethodTypes",
        json!({ "userId": user }),
    )
    .await;
    let methods = ok(&methods, transport, "ListAuthenticationMethodTypes");
    assert_eq!(
        methods["authMethodTypes"],
        json!(["AUTHENTICATION_METHOD_TYPE_PASSWORD"]),
        "{t}: {methods}"
    );

    // The right password: a session with an id, a token and both factors.
    let created = one_json(
        &rekey,
        transport,
        login,
        "session",
        "createSession",
        create_session(&user, Some(NEW_PASSWORD)),
    )
    .await;
    let created = ok(&created, transport, "CreateSession");
    let session_id = created["sessionId"].as_str().unwrap_or_default().to_owned();
    let token = created["sessionToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        !session_id.is_empty() && !token.is_empty(),
        "{t}: an id and a token"
    );
    sequence(created, transport, "CreateSession");
    assert_eq!(
        created["details"]["resourceOwner"], "rekey",
        "{t}: the instance owns sessions"
    );
    let got = one_json(
        &rekey,
        transport,
        login,
        "session",
        "getSession",
        json!({ "sessionId": session_id, "sessionToken": token }),
    )
    .await;
    let session = &ok(&got, transport, "GetSession")["session"];
    assert_eq!(
        session["factors"]["user"]["loginName"], "ada",
        "{t}: {session}"
    );
    assert_eq!(session["factors"]["user"]["id"], json!(user), "{t}");
    assert_eq!(
        session["factors"]["user"]["organizationId"],
        json!(rekey.org_id),
        "{t}"
    );
    assert!(
        session["factors"]["password"]["verifiedAt"]
            .as_str()
            .is_some_and(|at| at.ends_with('Z')),
        "{t}: the password factor: {session}"
    );
    assert!(
        session["expirationDate"].is_string(),
        "{t}: a day's lifetime"
    );
    assert_eq!(session["userAgent"]["ip"], "192.0.2.10", "{t}");

    // DeleteSession with its token; then it is gone.
    let deleted = one_json(
        &rekey,
        transport,
        login,
        "session",
        "deleteSession",
        json!({ "sessionId": session_id, "sessionToken": token }),
    )
    .await;
    ok(&deleted, transport, "DeleteSession");
    let gone = one_json(
        &rekey,
        transport,
        login,
        "session",
        "getSession",
        json!({ "sessionId": session_id, "sessionToken": token }),
    )
    .await;
    let gone = error(&gone, transport, "GetSession of a deleted session");
    assert_eq!(gone["code"], 5, "{t}: NotFound: {gone}");
    assert_eq!(
        gone["rawMessage"], "Session does not exist (QUERY-SFeaa)",
        "{t}"
    );

    // Wrong passwords: counted, the third locks.
    for attempt in 1..=3_u64 {
        let wrong = one_json(
            &rekey,
            transport,
            login,
            "session",
            "createSession",
            create_session(&user, Some("Wrong-Passw0rd!")),
        )
        .await;
        let wrong = error(&wrong, transport, "CreateSession with a wrong password");
        assert_eq!(wrong["code"], 3, "{t}: InvalidArgument: {wrong}");
        assert_eq!(
            wrong["rawMessage"], "Password is invalid (COMMAND-3M0fs)",
            "{t}"
        );
        assert_eq!(failed_attempts(wrong), Some(attempt), "{t}: {wrong}");
        assert_eq!(wrong["credentials"][0]["id"], "COMMAND-3M0fs", "{t}");
    }
    let locked = one_json(
        &rekey,
        transport,
        login,
        "session",
        "createSession",
        create_session(&user, None),
    )
    .await;
    let locked = error(&locked, transport, "CreateSession of a locked user");
    assert_eq!(locked["code"], 9, "{t}: FailedPrecondition: {locked}");
    assert_eq!(
        locked["rawMessage"], "Errors.User.NotActive (SESSION-Gj4ko)",
        "{t}: the text ZITADEL's login app compares"
    );
    let right = one_json(
        &rekey,
        transport,
        login,
        "session",
        "createSession",
        create_session(&user, Some(NEW_PASSWORD)),
    )
    .await;
    error(
        &right,
        transport,
        "CreateSession of a locked user with the right password",
    );

    // An administrator unlocks; the right password works again.
    rekey.admin(&["user", "unlock", &user]);
    let again = one_json(
        &rekey,
        transport,
        login,
        "session",
        "createSession",
        create_session(&user, Some(NEW_PASSWORD)),
    )
    .await;
    ok(&again, transport, "CreateSession after the unlock");
    rekey.assert_logs_clean();
}

/// The reset as a login UI runs it with ZITADEL's client: a session with the old password,
/// PasswordReset with the login app's link template, the mailed code into SetPassword; the old
/// session's password factor is gone, and only the new password makes a session.
pub async fn the_reset_journey_of_a_login_ui(backend: Backend, transport: Transport) {
    const OLD: &str = "Granite-Kite-0ld!";
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    give_password(&rekey, transport, &user, OLD).await;
    let login = login_client(&rekey);
    let login = Some(login.as_str());
    let t = transport.name();

    let created = one_json(
        &rekey,
        transport,
        login,
        "session",
        "createSession",
        create_session(&user, Some(OLD)),
    )
    .await;
    let created = ok(&created, transport, "CreateSession with the old password");
    let (session_id, token) = (
        created["sessionId"].clone(),
        created["sessionToken"].clone(),
    );

    let reset = one(
        &rekey,
        transport,
        login,
        "user",
        "passwordReset",
        reset_request(&user, send_link(URL_TEMPLATE)),
    )
    .await;
    ok(&reset, transport, "PasswordReset sendLink");
    // Mails so far: the notice of give_password's change, then the link.
    let (_, code) = mailed_link(&rekey, transport, 2).await;
    let set = one(
        &rekey,
        transport,
        login,
        "user",
        "setPassword",
        set_password_request(&user, &code),
    )
    .await;
    ok(&set, transport, "SetPassword with the mailed code");

    let got = one_json(
        &rekey,
        transport,
        login,
        "session",
        "getSession",
        json!({ "sessionId": session_id, "sessionToken": token }),
    )
    .await;
    let session = &ok(&got, transport, "GetSession after the reset")["session"];
    assert_eq!(
        session["factors"]["user"]["id"],
        json!(user),
        "{t}: the user factor stays"
    );
    assert!(
        session["factors"].get("password").is_none(),
        "{t}: the password factor is gone: {session}"
    );
    let new = one_json(
        &rekey,
        transport,
        login,
        "session",
        "createSession",
        create_session(&user, Some(NEW_PASSWORD)),
    )
    .await;
    ok(&new, transport, "CreateSession with the new password");
    let old = one_json(
        &rekey,
        transport,
        login,
        "session",
        "createSession",
        create_session(&user, Some(OLD)),
    )
    .await;
    let old = error(&old, transport, "CreateSession with the old password");
    assert_eq!(
        old["rawMessage"], "Password is invalid (COMMAND-3M0fs)",
        "{t}"
    );
    rekey.assert_logs_clean();
}

/// The user's life cycle and a service account's tokens, through ZITADEL's own client: the
/// state rules and their error ids, a token added, used, listed (never shown again) and
/// removed, after which it authenticates nothing; DeleteUser, then NotFound.
pub async fn life_cycle_and_service_account_tokens(backend: Backend, transport: Transport) {
    let rekey = Rekey::start(backend, &[("REKEY__TOKENS__CACHE_TTL", "0s")]).await;
    let admin = Some(rekey.admin_token.as_str());
    let t = transport.name();
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let (bot, _) = rekey.machine_with_token(&rekey.org_id, "bot", &["ORG_USER_MANAGER"]);
    let by_id = json!({ "userId": user });
    let calls: Vec<Value> = [
        "deactivateUser",
        "deactivateUser",
        "reactivateUser",
        "lockUser",
        "unlockUser",
        "unlockUser",
    ]
    .iter()
    .map(|method| json!({ "service": "user", "method": method, "request": by_id }))
    .collect();
    let results = call(&rekey, transport, admin, &calls).await;
    for (i, expected) in [
        None,
        Some("COMMAND-5gunjw0cd7"),
        None,
        None,
        None,
        Some("COMMAND-olb9vb0oca"),
    ]
    .iter()
    .enumerate()
    {
        match expected {
            None => assert!(
                results[i]["ok"]["details"]["sequence"].is_string(),
                "{t}: call {i}: {}",
                results[i]
            ),
            Some(id) => assert_eq!(
                results[i]["error"]["details"][0]["id"], *id,
                "{t}: call {i}: {}",
                results[i]
            ),
        }
    }

    let added = one_json(
        &rekey,
        transport,
        admin,
        "user",
        "addPersonalAccessToken",
        json!({ "userId": bot }),
    )
    .await;
    let added = ok(&added, transport, "AddPersonalAccessToken").clone();
    let token = added["token"].as_str().expect("a token").to_owned();
    let token_id = added["tokenId"].as_str().expect("an id").to_owned();
    rekey.remember(&token);
    // The new token works over the same transport, as the bot.
    let read = one(
        &rekey,
        transport,
        Some(&token),
        "user",
        "getUserByID",
        by_id.clone(),
    )
    .await;
    assert_eq!(
        ok(&read, transport, "GetUserByID")["user"]["userId"],
        user.as_str(),
        "{t}"
    );
    let listed = one_json(
        &rekey,
        transport,
        admin,
        "user",
        "listPersonalAccessTokens",
        json!({ "filters": [{ "userIdFilter": { "id": bot } }] }),
    )
    .await;
    let listed = ok(&listed, transport, "ListPersonalAccessTokens");
    let ids: Vec<&str> = listed["result"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert!(ids.contains(&token_id.as_str()), "{t}: {listed}");
    assert!(!listed.to_string().contains(&token), "{t}: never the token");
    let removed = one_json(
        &rekey,
        transport,
        admin,
        "user",
        "removePersonalAccessToken",
        json!({ "userId": bot, "tokenId": token_id }),
    )
    .await;
    assert!(
        ok(&removed, transport, "RemovePersonalAccessToken")["deletionDate"].is_string(),
        "{t}: {removed}"
    );
    let refused = one(
        &rekey,
        transport,
        Some(&token),
        "user",
        "getUserByID",
        by_id.clone(),
    )
    .await;
    assert_eq!(
        refused["error"]["codeName"], "Unauthenticated",
        "{t}: {refused}"
    );

    let deleted = one(
        &rekey,
        transport,
        admin,
        "user",
        "deleteUser",
        by_id.clone(),
    )
    .await;
    ok(&deleted, transport, "DeleteUser");
    let gone = one(&rekey, transport, admin, "user", "getUserByID", by_id).await;
    assert_eq!(gone["error"]["codeName"], "NotFound", "{t}: {gone}");
    rekey.assert_logs_clean();
}
