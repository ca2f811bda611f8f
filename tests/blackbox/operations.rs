//! What operators rely on: the API document and its docs page, Prometheus metrics after a
//! scripted mix of requests, and the request-hygiene limits for slow or oversized clients.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Backend, Protocol, Rekey, on_both_backends};

on_both_backends!(metrics_count_a_scripted_mix_of_requests);

/// One sample of the exposition format: name, labels, value.
fn samples(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|pair| !pair.is_empty())
                .filter_map(|pair| {
                    let (key, value) = pair.split_once("=\"")?;
                    Some((key.to_owned(), value.trim_end_matches('"').to_owned()))
                })
                .collect();
            Some((name.to_owned(), labels, value.parse().ok()?))
        })
        .collect()
}

/// The value of the sample `name` whose labels include `labels` (0 when there is none).
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(text)
        .into_iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

/// A metric, the labels its sample must have, and its value.
type Expected<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

async fn metrics_count_a_scripted_mix_of_requests(backend: Backend) {
    let rekey = Rekey::start(
        backend,
        &[
            ("REKEY__LIMITS__ENABLED", "true"),
            ("REKEY__LIMITS__CALLER_RESETS", "3 per 1m"),
        ],
    )
    .await;
    let admin = Some(rekey.admin_token.as_str());
    let (ada, bob) = (
        rekey.add_user(&rekey.org_id, "ada", None).await,
        rekey.add_user(&rekey.org_id, "bob", None).await,
    );
    for user in [&ada, &bob] {
        let answer = rekey
            .password_reset(Protocol::Rest, admin, user, json!({}))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let unknown = rekey
        .password_reset(Protocol::Connect, admin, "123456789", json!({}))
        .await;
    assert_eq!(unknown.status, 404);
    let limited = rekey
        .password_reset(Protocol::Rest, admin, &ada, json!({ "returnCode": {} }))
        .await;
    assert_eq!(limited.status, 429, "{}", limited.body);

    // Delivery runs in the background: wait until both mails are counted.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut text = rekey.metrics().await;
    let sent = [("channel", "email"), ("result", "sent")];
    while value(&text, "rekey_deliveries_total", &sent) < 2.0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        text = rekey.metrics().await;
    }
    let rest = "/v2/users/{userId}/password_reset";
    let connect = "/zitadel.user.v2.UserService/PasswordReset";
    let requests = "rekey_http_requests_total";
    let expected: [Expected; 11] = [
        (
            requests,
            &[("route", rest), ("protocol", "rest"), ("status", "200")],
            2.0,
        ),
        (
            requests,
            &[("route", rest), ("protocol", "rest"), ("status", "429")],
            1.0,
        ),
        (
            requests,
            &[
                ("route", connect),
                ("protocol", "connect"),
                ("status", "404"),
            ],
            1.0,
        ),
        // AddHumanUser has a route of its own.
        (
            requests,
            &[("route", "/v2/users/human"), ("status", "200")],
            2.0,
        ),
        (
            "rekey_http_request_duration_seconds_count",
            &[("route", rest)],
            3.0,
        ),
        (
            "rekey_rpc_outcomes_total",
            &[("rpc", "password_reset"), ("outcome", "ok")],
            2.0,
        ),
        (
            "rekey_rpc_outcomes_total",
            &[("rpc", "password_reset"), ("outcome", "COMMAND-SAF4f")],
            1.0,
        ),
        (
            "rekey_rpc_outcomes_total",
            &[("rpc", "password_reset"), ("outcome", "REKEY-Limit")],
            1.0,
        ),
        (
            "rekey_rpc_outcomes_total",
            &[("rpc", "add_human_user"), ("outcome", "ok")],
            2.0,
        ),
        ("rekey_limit_hits_total", &[("budget", "caller")], 1.0),
        ("rekey_deliveries_total", &sent, 2.0),
    ];
    for (name, labels, count) in expected {
        assert_eq!(
            value(&text, name, labels),
            count,
            "{name} {labels:?} in\n{text}"
        );
    }
    assert_eq!(value(&text, "rekey_outbox_pending", &[]), 0.0);
    // Every metric says what it counts.
    let typed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert!(typed.len() >= 9, "{text}");
    for name in typed {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("# HELP {name} ")) && l.len() > name.len() + 12),
            "no # HELP for {name} in\n{text}"
        );
    }
    assert!(
        samples(&text)
            .iter()
            .any(|(n, l, _)| n == "rekey_db_pool_connections" && l["state"] == "idle"),
        "{text}"
    );
    assert!(value(&text, "rekey_db_pool_wait_seconds_count", &[]) > 0.0);
    for secret in [&ada, &bob, &"ada@example.com".to_owned()] {
        assert!(
            !text.contains(secret.as_str()),
            "no user id or address in labels: {secret}"
        );
    }
}

/// `GET /openapi.json` equals the committed `docs/openapi.json`, validates as OpenAPI 3.1, and
/// lists every REST route of CONTRACT.md; `/docs/` serves Swagger UI from the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_document_is_served_valid_and_committed() {
    let rekey = Rekey::start(Backend::Sqlite, &[]).await;
    let served: Value = reqwest::get(format!("{}/openapi.json", rekey.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let committed: Value = serde_json::from_str(include_str!("../../docs/openapi.json")).unwrap();
    assert_eq!(
        served, committed,
        "REKEY_BLESS=1 cargo test -p rekey-http-adapter openapi"
    );
    for (path, method) in [
        ("/v2/users/{userId}/password_reset", "post"),
        ("/v2/users/{userId}/password", "post"),
        ("/v2/users/human", "post"),
        ("/v2/users/{userId}", "get"),
        ("/v2/organizations", "post"),
    ] {
        assert!(served["paths"][path][method].is_object(), "{method} {path}");
    }
    let file = rekey.dir.path().join("openapi.json");
    std::fs::write(&file, served.to_string()).unwrap();
    let check = crate::tools::python()
        .args(["-c", "import sys; from openapi_spec_validator import validate; from openapi_spec_validator.readers import read_from_filename; d, _ = read_from_filename(sys.argv[1]); validate(d); print(d['openapi'])"])
        .arg(&file)
        .output()
        .expect("python with openapi-spec-validator");
    assert!(
        check.status.success(),
        "not a valid OpenAPI document: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "3.1.0");

    let docs = reqwest::get(format!("{}/docs", rekey.base)).await.unwrap();
    assert_eq!(docs.status(), 200, "redirected to /docs/");
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let bundle = reqwest::get(format!("{}/docs/swagger-ui-bundle.js", rekey.base))
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200);
    assert!(
        bundle.bytes().await.unwrap().len() > 100_000,
        "the UI is embedded"
    );
    let initializer = reqwest::get(format!("{}/docs/swagger-initializer.js", rekey.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("/openapi.json"), "{initializer}");
}

/// A client that sends its head or body too slowly gets 408 and its connection closed; a body
/// over the limit gets 413; a 405 names the allowed methods.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_oversized_clients_are_cut_off() {
    let rekey = Rekey::start(
        Backend::Sqlite,
        &[
            ("REKEY__SERVER__HEADER_TIMEOUT", "1s"),
            ("REKEY__SERVER__BODY_TIMEOUT", "1s"),
            ("REKEY__SERVER__BODY_LIMIT", "1024"),
        ],
    )
    .await;
    let addr = rekey.base.trim_start_matches("http://").to_owned();
    let answer_to = |request: &'static [u8], pause_after: usize| {
        let addr = addr.clone();
        move || {
            let mut stream = std::net::TcpStream::connect(&addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(15)))
                .unwrap();
            stream.write_all(&request[..pause_after]).unwrap();
            // Then nothing more: the server must give up on us.
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
            String::from_utf8_lossy(&answer).into_owned()
        }
    };
    let head = b"POST /v2/organizations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    let slow_head = tokio::task::spawn_blocking(answer_to(head, head.len()))
        .await
        .unwrap();
    assert!(slow_head.starts_with("HTTP/1.1 408"), "{slow_head:?}");

    let token = rekey.admin_token.clone();
    let request: &'static [u8] = Box::leak(
        format!(
            "POST /v2/organizations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\":"
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    rekey.remember(&token);
    let slow_body = tokio::task::spawn_blocking(answer_to(request, request.len()))
        .await
        .unwrap();
    assert!(slow_body.starts_with("HTTP/1.1 408"), "{slow_body:?}");
    assert!(slow_body.contains("\"code\":3"), "{slow_body:?}");

    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(2048));
    let answer = rekey.post("/v2/organizations", Some(&token), &big).await;
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert_eq!(answer.code(), Some(3), "{}", answer.body);
    assert_eq!(answer.body["message"], "request body exceeds 1024 bytes");
    assert_eq!(rekey.count("organizations").await, 1, "nothing was created");

    let wrong = reqwest::Client::new()
        .delete(format!("{}/v2/organizations", rekey.base))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"], "POST");
}
