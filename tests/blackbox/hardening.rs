//! Security hardening (issue 13): bounded password hashing, safe link templates, private
//! message files, per-organization recipient budgets and the reset page's slow clients.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{ALL, Answer, Backend, Protocol, Rekey, on_both_backends};

on_both_backends!(
    a_full_hash_queue_answers_503_with_retry_after,
    hashes_for_clients_that_left_are_skipped,
    only_http_links_are_accepted_as_url_templates,
    message_files_are_private,
    another_organization_cannot_spend_a_users_address_budget,
    the_reset_page_reads_its_form_within_the_body_timeout_and_limit,
    proxies_are_believed_only_when_trusted_and_ipv6_clients_count_per_64,
    metrics_only_on_metrics_bind,
    add_human_user_and_unknown_connect_procedures_answer_as_themselves,
    twilio_errors_keep_the_phone_number_masked,
    a_login_client_resets_within_its_own_budget,
    a_sealed_message_cannot_be_moved_to_another_row,
);

const NEW: &str = "N3w-Passw0rd!";

/// `count` users of the bootstrap organization, created by the admin.
async fn users(rekey: &Rekey, prefix: &str, count: usize) -> Vec<String> {
    let mut users = Vec::new();
    for i in 0..count {
        users.push(
            rekey
                .add_user(&rekey.org_id, &format!("{prefix}{i}"), None)
                .await,
        );
    }
    users
}

/// An admin's SetPassword (no verification) for each of `users`, all at once.
async fn set_passwords_at_once(rekey: &Rekey, users: &[String]) -> Vec<Answer> {
    rekey.remember(NEW);
    let client = reqwest::Client::new();
    let calls: Vec<_> = users
        .iter()
        .map(|user| {
            let request = client
                .post(format!("{}/v2/users/{user}/password", rekey.base))
                .bearer_auth(&rekey.admin_token)
                .header("content-type", "application/json")
                .body(json!({ "newPassword": { "password": NEW } }).to_string());
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = response.json().await.unwrap_or(Value::Null);
                Answer {
                    status,
                    headers,
                    body,
                }
            })
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap());
    }
    answers
}

/// One hashing thread and room for one waiting hash: a burst of SetPasswords gets 503 (code
/// 14, Retry-After, no internal text) for what does not fit, never a 500, and nothing changes
/// for them.
async fn a_full_hash_queue_answers_503_with_retry_after(backend: Backend) {
    let rekey = Rekey::start(
        backend,
        &[
            ("REKEY__PASSWORD__HASH_THREADS", "1"),
            ("REKEY__PASSWORD__HASH_QUEUE", "1"),
            ("REKEY__PASSWORD__ARGON2_ITERATIONS", "4"),
        ],
    )
    .await;
    let users = users(&rekey, "burst", 12).await;
    let answers = set_passwords_at_once(&rekey, &users).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    println!("12 SetPasswords at once, one thread, queue 1: {statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 503].contains(s)),
        "{statuses:?}"
    );
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert!(ok >= 1, "{statuses:?}");
    assert!(ok < users.len(), "some did not fit: {statuses:?}");
    for answer in answers.iter().filter(|a| a.status == 503) {
        assert_eq!(answer.code(), Some(14), "{}", answer.body);
        assert_eq!(answer.headers["retry-after"], "1");
        let message = answer.body["message"].as_str().unwrap();
        assert!(
            message.starts_with("Service temporarily unavailable (request id "),
            "{message}"
        );
    }
    let changed = rekey
        .count("events WHERE event_type = 'user.human.password.changed'")
        .await;
    assert_eq!(usize::try_from(changed).unwrap(), ok);
    assert!(
        rekey
            .log_lines()
            .iter()
            .any(|l| l["cause"] == "the password hashing queue is full"),
        "the cause is logged"
    );
}

/// Clients that send a SetPassword and hang up at once cost no hash: their requests stop
/// when they close the connection, and a hash still waiting for its thread is skipped.
async fn hashes_for_clients_that_left_are_skipped(backend: Backend) {
    // Default settings but slower hashes (one per CPU at a time, about 0.1 s each here).
    let rekey = Rekey::start(backend, &[("REKEY__PASSWORD__ARGON2_ITERATIONS", "4")]).await;
    let users = users(&rekey, "gone", 8).await;
    rekey.remember(NEW);
    let addr = rekey.base.trim_start_matches("http://").to_owned();
    let token = rekey.admin_token.clone();
    let gone = users.clone();
    tokio::task::spawn_blocking(move || {
        let body = json!({ "newPassword": { "password": NEW } }).to_string();
        let streams: Vec<_> = gone
            .iter()
            .map(|user| {
                let mut stream = std::net::TcpStream::connect(&addr).unwrap();
                let request = format!(
                    "POST /v2/users/{user}/password HTTP/1.1\r\nHost: x\r\n\
                     Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(request.as_bytes()).unwrap();
                stream
            })
            .collect();
        drop(streams); // hang up without reading the answers
    })
    .await
    .unwrap();
    // Long enough for 8 hashes in a row on one thread (about 0.1 s each here).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let changed = rekey
        .count("events WHERE event_type = 'user.human.password.changed'")
        .await;
    // A request is cancelled as soon as its connection closes; at most one already hashing
    // on each of the (two, here) threads could finish.
    println!("hashes that ran for 8 clients that had left: {changed}");
    assert!(
        changed <= 2,
        "{changed} hashes ran for clients that had left"
    );
    // The server still answers.
    let answers = set_passwords_at_once(&rekey, &users[..1]).await;
    assert_eq!(answers[0].status, 200, "{}", answers[0].body);
}

/// A `urlTemplate` must give an absolute https: or http: link; anything else (javascript:,
/// data:, relative) is refused with 400 code 3 saying what it is, after ZITADEL's own template
/// checks and before the user is looked up, and nothing is queued.
async fn only_http_links_are_accepted_as_url_templates(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let admin = Some(rekey.admin_token.as_str());
    let link = |template: &str| json!({ "sendLink": { "urlTemplate": template } });
    for protocol in ALL {
        for (template, says) in [
            (
                "javascript:alert(document.cookie)//{{.Code}}",
                "javascript: link",
            ),
            ("JAVASCRIPT:alert(1)", "javascript: link"),
            ("data:text/html,<a>{{.Code}}</a>", "data: link"),
            ("//evil.example/pw?code={{.Code}}", "relative link"),
            ("{{.Code}}", "relative link"),
            ("https:///evil.example/{{.Code}}", "no host"),
        ] {
            for target in [user.as_str(), "no-such-user"] {
                let answer = rekey
                    .password_reset(protocol, admin, target, link(template))
                    .await;
                assert_eq!(answer.status, 400, "{template}: {}", answer.body);
                assert_eq!(answer.code(), Some(3), "{}", answer.body);
                assert_eq!(answer.error_id().as_deref(), Some("REKEY-UrlScheme"));
                let message = answer.body["message"].as_str().unwrap();
                assert!(
                    message.starts_with("URL template must give an absolute https: or http: link")
                        && message.contains(says),
                    "{template}: {message}"
                );
            }
        }
        // ZITADEL's own template errors keep their ids and come first.
        for (template, id) in [
            ("javascript:{{", "DOMAIN-oGh5e"),
            ("javascript:{{.LoginName}}", "DOMAIN-ieYa7"),
        ] {
            let answer = rekey
                .password_reset(protocol, admin, &user, link(template))
                .await;
            assert_eq!(answer.error_id().as_deref(), Some(id), "{}", answer.body);
        }
    }
    assert_eq!(rekey.count("outbox").await, 0, "nothing was queued");
    for template in [
        "https://example.com/pw?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}",
        "HTTP://localhost:3000/set?code={{Code}}",
    ] {
        let answer = rekey
            .password_reset(Protocol::Rest, admin, &user, link(template))
            .await;
        assert_eq!(answer.status, 200, "{template}: {}", answer.body);
    }
}

/// The file transports' folders are 0700 and their files 0600, like the key and the admin
/// token: a message holds a working reset link.
async fn message_files_are_private(backend: Backend) {
    use std::os::unix::fs::PermissionsExt as _;
    let rekey = Rekey::start(backend, &[]).await;
    let ada = rekey
        .add_user(&rekey.org_id, "ada", Some("+41791234567"))
        .await;
    let admin = Some(rekey.admin_token.as_str());
    let data = rekey.dir.path().join("data");
    let mail = data.join("mail");
    let sms = data.join("sms.jsonl");
    let emls = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&mail)
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default()
    };
    // One reset at a time, each delivered before the next: a newer code supersedes a link
    // still queued, and a superseded message is skipped, not written.
    let delivered: [(&str, &dyn Fn() -> bool); 2] = [
        ("NOTIFICATION_TYPE_Email", &|| !emls().is_empty()),
        ("NOTIFICATION_TYPE_SMS", &|| sms.exists()),
    ];
    for (kind, done) in delivered {
        let fields = json!({ "sendLink": { "notificationType": kind } });
        let answer = rekey
            .password_reset(Protocol::Rest, admin, &ada, fields)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !done() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&data), 0o700, "data dir");
    assert_eq!(mode(&mail), 0o700, "mail folder");
    let emls = emls();
    assert_eq!(emls.len(), 1, "{emls:?}");
    assert_eq!(mode(&emls[0]), 0o600, "mail file");
    assert_eq!(mode(&sms), 0o600, "sms file");
}

/// A user manager of another organization gives one of its users the address of this
/// organization's user and spends that address's budget: this organization's user still gets
/// its links, under its own budget.
async fn another_organization_cannot_spend_a_users_address_budget(backend: Backend) {
    let rekey = Rekey::start(
        backend,
        &[
            ("REKEY__LIMITS__ENABLED", "true"),
            ("REKEY__LIMITS__RECIPIENT_MESSAGES", "2 per 1h"),
            ("REKEY__DELIVERY__ENABLED", "false"),
        ],
    )
    .await;
    let ada = rekey.add_user(&rekey.org_id, "ada", None).await;
    let other_org = rekey.admin(&["org", "add", "--name", "other"]);
    let bot = rekey.admin(&[
        "user",
        "add-machine",
        "--org",
        &other_org,
        "--username",
        "mallory",
    ]);
    let mallory = rekey.token(&bot, &["ORG_USER_MANAGER"]);
    let copy = json!({
        "username": "copy",
        "organization": { "orgId": other_org },
        "profile": { "givenName": "Ada", "familyName": "Lovelace" },
        "email": { "email": "ADA@example.com" },
    });
    let answer = rekey
        .post("/v2/users/human", Some(&mallory), &copy.to_string())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let copy = answer.body["userId"].as_str().unwrap().to_owned();
    let email = json!({ "sendLink": { "notificationType": "NOTIFICATION_TYPE_Email" } });
    let reset = |token: String, user: String| {
        let email = email.clone();
        let rekey = &rekey;
        async move {
            rekey
                .password_reset(Protocol::Rest, Some(&token), &user, email)
                .await
                .status
        }
    };
    for expected in [200, 200, 429] {
        assert_eq!(reset(mallory.clone(), copy.clone()).await, expected);
    }
    let admin = rekey.admin_token.clone();
    let limited =
        format!("events WHERE event_type = 'user.limit.exceeded' AND aggregate_id = '{ada}'");
    for expected in [200, 200] {
        assert_eq!(reset(admin.clone(), ada.clone()).await, expected);
    }
    assert_eq!(rekey.count(&limited).await, 0, "ada was never refused");
    // Ada's address has its own budget, in her organization.
    assert_eq!(reset(admin.clone(), ada.clone()).await, 429);
    assert_eq!(rekey.count(&limited).await, 1);
    assert_eq!(rekey.count("outbox").await, 4);
}

/// Sends `request` over a raw connection, then nothing more; the answer, once the server
/// closes the connection (or after 15 s), and how long that took.
fn raw_answer(addr: &str, request: &[u8]) -> (String, Duration) {
    let started = std::time::Instant::now();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

/// The reset page's form is read like an API body: a client that sends it too slowly gets
/// 408 after `server.body_timeout` (slow-loris), one that sends too much gets 413.
async fn the_reset_page_reads_its_form_within_the_body_timeout_and_limit(backend: Backend) {
    let rekey = Rekey::start(
        backend,
        &[
            ("REKEY__SERVER__BODY_TIMEOUT", "1s"),
            ("REKEY__SERVER__BODY_LIMIT", "1024"),
        ],
    )
    .await;
    let addr = rekey.base.trim_start_matches("http://").to_owned();
    let head = |length: usize| {
        format!(
            "POST /ui/v2/login/password/set HTTP/1.1\r\nHost: x\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\
             Content-Length: {length}\r\n\r\n"
        )
    };
    let slow = format!("{}csrf=", head(200));
    let (answer, took) = {
        let addr = addr.clone();
        tokio::task::spawn_blocking(move || raw_answer(&addr, slow.as_bytes()))
            .await
            .unwrap()
    };
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("\"code\":3"), "{answer:?}");
    assert!(took < Duration::from_secs(8), "cut off after {took:?}");

    let field = "x".repeat(2048);
    let big = format!(
        "{}csrf={field}&userId=u&code=c&password=p&confirm=p",
        head(2048 + 40)
    );
    let (answer, _) = tokio::task::spawn_blocking(move || raw_answer(&addr, big.as_bytes()))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(
        answer.contains("request body exceeds 1024 bytes"),
        "{answer:?}"
    );
}

/// Only a trusted proxy's `X-Forwarded-Proto` makes the CSRF cookie `Secure`, and only its
/// `X-Forwarded-For` names the client; a dual-stack socket's `::ffff:127.0.0.1` peer matches
/// the IPv4 entry `127.0.0.1`; IPv6 clients share one budget per /64.
async fn proxies_are_believed_only_when_trusted_and_ipv6_clients_count_per_64(backend: Backend) {
    let rekey = Rekey::start(
        backend,
        &[
            ("REKEY__SERVER__BIND", "[::]:0"),
            ("REKEY__LIMITS__ENABLED", "true"),
            ("REKEY__LIMITS__CLIENT_IP", "2 per 5m"),
            ("REKEY__LIMITS__TRUSTED_PROXIES", "127.0.0.1"),
            ("REKEY__LIMITS__PAGE_MIN_RESPONSE", "1ms"),
        ],
    )
    .await;
    let port = rekey.base.rsplit(':').next().unwrap().to_owned();
    let v4 = format!("http://127.0.0.1:{port}/ui/v2/login/password/set");
    let v6 = format!("http://[::1]:{port}/ui/v2/login/password/set");
    let client = reqwest::Client::new();
    let cookie = |url: &str, proto: Option<&str>| {
        let mut request = client.get(url);
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    let untrusted = cookie(&v6, Some("https")).await;
    assert!(!untrusted.contains("Secure"), "from ::1: {untrusted}");
    let trusted = cookie(&v4, Some("https")).await;
    assert!(trusted.contains("Secure"), "from the proxy: {trusted}");
    let plain = cookie(&v4, None).await;
    assert!(!plain.contains("Secure"), "{plain}");

    let submit = |forwarded_for: &'static str| {
        let request = client
            .post(&v4)
            .header("cookie", "rekey_csrf=tok")
            .header("x-forwarded-for", forwarded_for)
            .form(&[
                ("csrf", "tok"),
                ("userId", "123456789012345678"),
                ("code", "WRONG1"),
                ("password", NEW),
                ("confirm", NEW),
            ]);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    rekey.remember(NEW);
    for (ip, expected) in [
        ("198.51.100.7", 200),
        ("198.51.100.7", 200),
        ("198.51.100.7", 429),
        // Another client behind the same proxy has its own budget.
        ("2001:db8:1:2::1", 200),
        // ... and so does its /64, not each of its addresses.
        ("2001:db8:1:2::2", 200),
        ("2001:db8:1:2:ffff::3", 429),
        ("2001:db8:1:3::1", 200),
    ] {
        assert_eq!(submit(ip).await, expected, "{ip}");
    }
}

/// With `server.metrics_bind` set, `/debug/metrics` answers 404 on the main address and is
/// served on its own listener, which serves nothing else.
async fn metrics_only_on_metrics_bind(backend: Backend) {
    let rekey = Rekey::start(backend, &[("REKEY__SERVER__METRICS_BIND", "127.0.0.1:0")]).await;
    let metrics_addr = rekey
        .log_lines()
        .iter()
        .find(|l| l["message"] == "metrics listening")
        .and_then(|l| l["addr"].as_str().map(str::to_owned))
        .expect("the metrics address is logged");
    let public = rekey.get("/debug/metrics", None).await;
    assert_eq!(public.status, 404, "{}", public.body);
    assert_eq!(public.code(), Some(5));
    let scraped = reqwest::get(format!("http://{metrics_addr}/debug/metrics"))
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("rekey_http_requests_total{")
                && l.contains("route=\"/debug/metrics\"")
                && l.contains("status=\"404\"")),
        "the refused scrape is counted:\n{text}"
    );
    let other = reqwest::get(format!("http://{metrics_addr}/v2/users/human"))
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        404,
        "the metrics listener serves metrics only"
    );
}

/// AddHumanUser is counted under its own route, not GetUserByID's `/v2/users/{userId}`; an
/// unknown Connect procedure is answered in Connect's shape.
async fn add_human_user_and_unknown_connect_procedures_answer_as_themselves(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    rekey.add_user(&rekey.org_id, "ada", None).await;
    let unknown = rekey
        .post(
            "/zitadel.user.v2.UserService/ListUsers",
            Some(&rekey.admin_token),
            "{}",
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["code"], "not_found", "{}", unknown.body);
    assert_eq!(unknown.body["message"], "Not Found", "{}", unknown.body);
    assert!(unknown.body.get("details").is_none(), "{}", unknown.body);
    let text = rekey.metrics().await;
    let added = text
        .lines()
        .find(|l| {
            l.starts_with("rekey_http_requests_total{") && l.contains("route=\"/v2/users/human\"")
        })
        .unwrap_or_else(|| panic!("AddHumanUser has its own route label:\n{text}"));
    assert!(added.contains("status=\"200\""), "{added}");
    assert!(
        !text.contains("route=\"/v2/users/{userId}\""),
        "nothing was counted as GetUserByID:\n{text}"
    );
}

/// Twilio names the `To` number in its error text; what rekey keeps in `outbox.last_error`
/// and its log shows the number masked.
async fn twilio_errors_keep_the_phone_number_masked(backend: Backend) {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC0123/Messages.json"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 21211,
            "message": "The 'To' number +41792222222 is not a valid phone number.",
            "status": 400
        })))
        .mount(&twilio)
        .await;
    let base_url = twilio.uri();
    let rekey = Rekey::start(
        backend,
        &[
            ("REKEY__SMS__TRANSPORT", "twilio"),
            ("REKEY__SMS__TWILIO__BASE_URL", base_url.as_str()),
            ("REKEY__SMS__TWILIO__ACCOUNT_SID", "AC0123"),
            ("REKEY__SMS__TWILIO__AUTH_TOKEN", "twilio-secret"),
            ("REKEY__SMS__TWILIO__FROM", "+15005550006"),
            ("REKEY__DELIVERY__POLL_INTERVAL", "100ms"),
        ],
    )
    .await;
    rekey.remember("twilio-secret");
    rekey.remember("41792222222");
    let bob = rekey
        .add_user(&rekey.org_id, "bob", Some("+41792222222"))
        .await;
    let sms = json!({ "sendLink": { "notificationType": "NOTIFICATION_TYPE_SMS" } });
    let answer = rekey
        .password_reset(Protocol::Rest, Some(&rekey.admin_token), &bob, sms)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while rekey.count("outbox WHERE status = 'dead'").await < 1 {
        assert!(std::time::Instant::now() < deadline, "not given up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        rekey
            .count("outbox WHERE last_error LIKE '%number +41*******22 is not%'")
            .await,
        1
    );
    assert_eq!(
        rekey
            .count("outbox WHERE last_error LIKE '%41792222222%'")
            .await,
        0
    );
    // The log is checked for the remembered number when `rekey` is dropped.
}

/// With the shipped budgets, a login UI's service account (IAM_LOGIN_CLIENT) resets past the
/// 60 a minute that other callers get.
async fn a_login_client_resets_within_its_own_budget(backend: Backend) {
    let rekey = Rekey::start(backend, &[("REKEY__LIMITS__ENABLED", "true")]).await;
    let ada = rekey.add_user(&rekey.org_id, "ada", None).await;
    let machine = |name: &str| {
        rekey.admin(&[
            "user",
            "add-machine",
            "--org",
            &rekey.org_id,
            "--username",
            name,
        ])
    };
    let login = rekey.token(&machine("login"), &["IAM_LOGIN_CLIENT"]);
    let manager = rekey.token(&machine("manager"), &["IAM_USER_MANAGER"]);
    let code = json!({ "returnCode": {} });
    for i in 0..120 {
        let answer = rekey
            .password_reset(Protocol::Rest, Some(&login), &ada, code.clone())
            .await;
        assert_eq!(
            answer.status, 200,
            "login client, reset {i}: {}",
            answer.body
        );
    }
    // 60 at once, then one a second: the first refusal comes after at least 60 (a few more
    // when the requests take a few seconds).
    let mut granted = 0;
    loop {
        let answer = rekey
            .password_reset(Protocol::Rest, Some(&manager), &ada, code.clone())
            .await;
        if answer.status == 429 {
            break;
        }
        assert_eq!(answer.status, 200, "{}", answer.body);
        granted += 1;
        assert!(granted < 80, "the manager's budget never ran out");
    }
    assert!(granted >= 60, "{granted}");
}

/// A queued message's sealed payload is bound to its row: copied onto another user's message
/// (by someone who can write to the database but has no key), it does not open, so the row is
/// not delivered; the message it came from still is.
async fn a_sealed_message_cannot_be_moved_to_another_row(backend: Backend) {
    let rekey = Rekey::start(backend, &[("REKEY__DELIVERY__ENABLED", "false")]).await;
    let [ada, bob] = [
        rekey.add_user(&rekey.org_id, "ada", None).await,
        rekey.add_user(&rekey.org_id, "bob", None).await,
    ];
    for user in [&ada, &bob] {
        let answer = rekey
            .password_reset(Protocol::Rest, Some(&rekey.admin_token), user, json!({}))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let moved = rekey
        .execute(&format!(
            "UPDATE outbox SET payload = (SELECT payload FROM outbox WHERE user_id = '{bob}') \
             WHERE user_id = '{ada}'"
        ))
        .await;
    assert_eq!(moved, 1);
    let again = Rekey::restart(rekey.stop(), &[]).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while again.count("outbox WHERE status = 'pending'").await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "delivery did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        again
            .count(&format!(
                "outbox WHERE user_id = '{ada}' AND status = 'dead' \
                 AND last_error LIKE '%cannot be opened%'"
            ))
            .await,
        1
    );
    assert_eq!(
        again
            .count(&format!(
                "outbox WHERE user_id = '{bob}' AND status = 'sent'"
            ))
            .await,
        1
    );
    let links = crate::smtp::links_in_mail_files(&again.dir.path().join("data/mail"), 1).await;
    assert_eq!(links.len(), 1, "only bob's own message went out: {links:?}");
    assert!(links[0].ends_with(&format!("userId={bob}")), "{links:?}");
    for link in &links {
        again.remember(link);
    }
}
