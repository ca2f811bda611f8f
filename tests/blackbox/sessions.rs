//! The Session Service over REST, as grpc-gateway serves ZITADEL's: CreateSession answers 201,
//! GetSession takes its token in the query, SetSession is a PATCH and DeleteSession a DELETE;
//! a wrong password's error carries a `CredentialsCheckError`; and the guess budgets count
//! per user and client, so a stranger's guesses never lock out the user. ZITADEL's own client
//! over gRPC and Connect is in `zitadel_clients.rs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Answer, Backend, Rekey, on_both_backends};

on_both_backends!(
    sessions_over_rest,
    a_strangers_guesses_spend_only_its_own_budget,
);

const PASSWORD: &str = "N3w-Passw0rd!";

/// A user named `name` whose password is [`PASSWORD`].
async fn user_with_password(rekey: &Rekey, name: &str) -> String {
    let user = rekey.add_user(&rekey.org_id, name, None).await;
    let code = rekey.returned_code(&user).await;
    let set = rekey
        .post(
            &format!("/v2/users/{user}/password"),
            Some(&rekey.admin_token),
            &json!({ "newPassword": { "password": PASSWORD }, "verificationCode": code })
                .to_string(),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    user
}

/// A user `ada` whose password is [`PASSWORD`], and a login client's token.
async fn ada_and_a_login_client(rekey: &Rekey) -> (String, String) {
    let user = user_with_password(rekey, "ada").await;
    let (_, login) = rekey.machine_with_token(&rekey.org_id, "login", &["IAM_LOGIN_CLIENT"]);
    (user, login)
}

fn log_in(user: &str, password: &str, ip: &str) -> String {
    rekey_password(user, password, ip).to_string()
}

fn rekey_password(user: &str, password: &str, ip: &str) -> Value {
    json!({
        "checks": { "user": { "userId": user }, "password": { "password": password } },
        "lifetime": "3600s",
        "userAgent": { "ip": ip, "description": "curl" },
    })
}

async fn create(rekey: &Rekey, token: &str, body: &str) -> Answer {
    rekey.post("/v2/sessions", Some(token), body).await
}

async fn sessions_over_rest(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let (user, login) = ada_and_a_login_client(&rekey).await;

    let created = create(&rekey, &login, &log_in(&user, PASSWORD, "192.0.2.1")).await;
    assert_eq!(
        created.status, 201,
        "ZITADEL's success_code: {}",
        created.body
    );
    let id = created.body["sessionId"]
        .as_str()
        .expect("sessionId")
        .to_owned();
    let token = created.body["sessionToken"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(created.body["details"]["resourceOwner"], "rekey");
    assert_eq!(
        created.body["details"]["sequence"], "5",
        "added, user, password, lifetime, token"
    );

    let got = rekey
        .get(
            &format!("/v2/sessions/{id}?sessionToken={token}"),
            Some(&login),
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    let factors = &got.body["session"]["factors"];
    assert_eq!(factors["user"]["loginName"], "ada");
    assert_eq!(factors["user"]["displayName"], "Ada Lovelace", "{factors}");
    assert!(factors["password"]["verifiedAt"].is_string(), "{factors}");
    let wrong_token = rekey
        .get(
            &format!("/v2/sessions/{id}?sessionToken=rekey_sess_x"),
            Some(&login),
        )
        .await;
    assert_eq!(wrong_token.status, 403);
    assert_eq!(wrong_token.error_id().as_deref(), Some("QUERY-dsfr3"));
    let as_stranger = rekey
        .get(
            &format!("/v2/sessions/{id}"),
            Some(&rekey.token(&user, &[])),
        )
        .await;
    assert_eq!(
        as_stranger.status, 200,
        "a user sees its own session: {}",
        as_stranger.body
    );

    // SetSession: a PATCH; a new token each time, the old one ends.
    let patched = rekey
        .send(
            Method::PATCH,
            &format!("/v2/sessions/{id}"),
            Some(&login),
            Some(&json!({ "metadata": { "step": "bWZh" }, "lifetime": "60s" }).to_string()),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let new_token = patched.body["sessionToken"]
        .as_str()
        .expect("a new token")
        .to_owned();
    assert_ne!(new_token, token);
    let old = rekey
        .get(
            &format!("/v2/sessions/{id}?sessionToken={token}"),
            Some(&login),
        )
        .await;
    assert_eq!(old.status, 403, "the old token ended");
    let got = rekey
        .get(
            &format!("/v2/sessions/{id}?session_token={new_token}"),
            Some(&login),
        )
        .await;
    assert_eq!(
        got.body["session"]["metadata"]["step"], "bWZh",
        "{}",
        got.body
    );

    // A wrong password: 400 with ZITADEL's CredentialsCheckError; no session, no new token.
    let wrong = create(
        &rekey,
        &login,
        &log_in(&user, "Wrong-Passw0rd!", "192.0.2.1"),
    )
    .await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert_eq!(
        wrong.body,
        json!({
            "code": 3,
            "message": "Password is invalid (COMMAND-3M0fs)",
            "details": [{
                "@type": "type.googleapis.com/zitadel.v1.CredentialsCheckError",
                "id": "COMMAND-3M0fs",
                "message": "Password is invalid",
                "failedAttempts": 1,
            }],
        })
    );
    let listed = rekey
        .post(
            "/v2/sessions/search",
            Some(&login),
            &json!({ "queries": [{ "userIdQuery": { "id": user } }] }).to_string(),
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(
        listed.body["details"]["totalResult"], "1",
        "{}",
        listed.body
    );
    assert_eq!(listed.body["sessions"][0]["id"], json!(id));

    // Control characters (a NUL, which PostgreSQL refuses in text) never reach the database.
    for body in [
        json!({ "checks": { "user": { "loginName": "ada\0" } } }),
        json!({ "queries": [{ "idsQuery": { "ids": ["a\0b"] } }] }),
    ] {
        let path = if body.get("checks").is_some() {
            "/v2/sessions"
        } else {
            "/v2/sessions/search"
        };
        let refused = rekey.post(path, Some(&login), &body.to_string()).await;
        assert_eq!(
            (refused.status, refused.code()),
            (400, Some(3)),
            "{}",
            refused.body
        );
    }
    let nul = rekey.get("/v2/sessions/a%00b", Some(&login)).await;
    assert_eq!(nul.status, 400, "{}", nul.body);

    // An unsupported check is Unimplemented, not ignored.
    let otp = create(
        &rekey,
        &login,
        &json!({ "checks": { "user": { "userId": user }, "totp": { "code": "123456" } } })
            .to_string(),
    )
    .await;
    assert_eq!((otp.status, otp.code()), (501, Some(12)), "{}", otp.body);

    // IAM_SESSION_CLIENT: sessions, and nothing of users.
    let (_, checker) = rekey.machine_with_token(&rekey.org_id, "checker", &["IAM_SESSION_CLIENT"]);
    let checked = create(&rekey, &checker, &log_in(&user, PASSWORD, "192.0.2.1")).await;
    assert_eq!(checked.status, 201, "{}", checked.body);
    let reset = rekey
        .post(
            &format!("/v2/users/{user}/password_reset"),
            Some(&checker),
            r#"{"returnCode":{}}"#,
        )
        .await;
    assert_eq!(
        (reset.status, reset.error_id().as_deref()),
        (403, Some("AUTH-AWfge"))
    );

    // DeleteSession with the token, in the body; afterwards 404.
    let deleted = rekey
        .send(
            Method::DELETE,
            &format!("/v2/sessions/{id}"),
            Some(&login),
            Some(&json!({ "sessionToken": new_token }).to_string()),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let gone = rekey.get(&format!("/v2/sessions/{id}"), Some(&login)).await;
    assert_eq!(
        (gone.status, gone.error_id().as_deref()),
        (404, Some("QUERY-SFeaa"))
    );

    let metrics = rekey.metrics().await;
    for outcome in ["right", "wrong"] {
        assert!(
            metrics.contains(&format!(
                "rekey_password_checks_total{{outcome=\"{outcome}\"}}"
            )),
            "checks are counted by outcome"
        );
    }
    assert!(metrics.contains("rpc=\"create_session\""));
    rekey.assert_logs_clean();
}

/// Per user and client: a stranger guessing from one address spends that address's budget for
/// the user, while the user, from its own address, still logs in; the cross-user budget of
/// the stranger's address bounds spraying.
async fn a_strangers_guesses_spend_only_its_own_budget(backend: Backend) {
    let rekey = Rekey::start(
        backend,
        &[
            ("REKEY__LIMITS__ENABLED", "true"),
            ("REKEY__LIMITS__WRONG_PASSWORDS", "3 per 10m"),
            ("REKEY__LIMITS__CLIENT_WRONG_PASSWORDS", "4 per 10m"),
        ],
    )
    .await;
    let (user, login) = ada_and_a_login_client(&rekey).await;
    for _ in 0..3 {
        let wrong = create(
            &rekey,
            &login,
            &log_in(&user, "Guess-Passw0rd!", "203.0.113.9"),
        )
        .await;
        assert_eq!(wrong.status, 400, "{}", wrong.body);
    }
    let refused = create(&rekey, &login, &log_in(&user, PASSWORD, "203.0.113.9")).await;
    assert_eq!(
        refused.status, 429,
        "the stranger's budget for ada: {}",
        refused.body
    );
    assert!(refused.headers.get("retry-after").is_some());
    for _ in 0..5 {
        let mine = create(&rekey, &login, &log_in(&user, PASSWORD, "192.0.2.1")).await;
        assert_eq!(mine.status, 201, "ada, from her own address: {}", mine.body);
    }
    // The stranger's address has one wrong password left across users; then it is refused for
    // every user, before any password is compared.
    let bob = user_with_password(&rekey, "bob").await;
    let wrong = create(
        &rekey,
        &login,
        &log_in(&bob, "Guess-Passw0rd!", "203.0.113.9"),
    )
    .await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    let refused = create(
        &rekey,
        &login,
        &log_in(&bob, "Guess-Passw0rd!", "203.0.113.9"),
    )
    .await;
    assert_eq!(refused.status, 429, "spraying is bounded: {}", refused.body);
    rekey.assert_logs_clean();
}
