//! Abuse resistance end to end: send budgets (shared by instances), SMS caps and the country
//! list, the wrong-code budget, the reset page's uniform answers, and key rotation.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Answer, Backend, Protocol, Rekey, on_both_backends};
use crate::smtp::{link_in, query_param};

on_both_backends!(
    the_fourth_link_in_ten_minutes_is_refused_and_issues_nothing,
    sms_goes_only_to_listed_countries_and_within_its_caps,
    twenty_wrong_codes_lock_out_the_right_code,
    the_reset_page_answers_every_dead_end_alike,
    the_reset_page_limits_each_client_ip,
    codes_and_queued_messages_survive_a_key_rotation,
);

const ON: (&str, &str) = ("REKEY__LIMITS__ENABLED", "true");
const NEW: &str = "N3w-Passw0rd!";

fn send_link(channel: &str) -> Value {
    json!({ "sendLink": { "notificationType": channel } })
}

fn exhausted(answer: &Answer, protocol: Protocol) -> u64 {
    assert_eq!(answer.status, 429, "{protocol:?}: {}", answer.body);
    match protocol {
        Protocol::Rest => {
            assert_eq!(answer.code(), Some(8), "{}", answer.body);
            assert_eq!(answer.error_id().as_deref(), Some("REKEY-Limit"));
        }
        Protocol::Connect => assert_eq!(answer.body["code"], "resource_exhausted"),
        Protocol::Grpc => {
            assert_eq!(
                answer.code(),
                Some(8),
                "RESOURCE_EXHAUSTED: {}",
                answer.body
            );
            assert_eq!(answer.error_id().as_deref(), Some("REKEY-Limit"));
            assert_eq!(answer.body["details"][0]["id"], "REKEY-Limit");
        }
    }
    answer.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn the_fourth_link_in_ten_minutes_is_refused_and_issues_nothing(backend: Backend) {
    let rekey = Rekey::start(backend, &[ON, ("REKEY__DELIVERY__ENABLED", "false")]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let admin = Some(rekey.admin_token.as_str());
    for _ in 0..3 {
        let answer = rekey
            .password_reset(
                Protocol::Rest,
                admin,
                &user,
                send_link("NOTIFICATION_TYPE_Email"),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let codes = "events WHERE event_type = 'user.human.password.code.added'";
    let limited = "events WHERE event_type = 'user.limit.exceeded'";
    for protocol in [Protocol::Rest, Protocol::Connect, Protocol::Grpc] {
        let answer = rekey
            .password_reset(protocol, admin, &user, send_link("NOTIFICATION_TYPE_Email"))
            .await;
        let retry_after = exhausted(&answer, protocol);
        // 3 per 10 minutes refill one every 200 s.
        assert!((1..=200).contains(&retry_after), "{retry_after}");
    }
    assert_eq!(
        rekey.count("outbox").await,
        3,
        "no message for a refused request"
    );
    assert_eq!(rekey.count(codes).await, 3, "no code either");
    assert_eq!(rekey.count(limited).await, 1, "recorded once");
    assert_eq!(
        rekey.log_count("budget spent: refusing until it refills"),
        1
    );
    let answer = rekey
        .password_reset(Protocol::Rest, admin, &user, json!({ "returnCode": {} }))
        .await;
    assert_eq!(
        answer.status, 200,
        "returnCode counts against the caller only"
    );
    rekey.assert_logs_clean();
}

/// Two instances on one PostgreSQL: requests spread across both are limited as one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_budgets() {
    let first = Rekey::start(
        Backend::Postgres,
        &[ON, ("REKEY__DELIVERY__ENABLED", "false")],
    )
    .await;
    let url = first.database_url().unwrap().to_owned();
    let second = Rekey::start_on(&url, &[ON, ("REKEY__DELIVERY__ENABLED", "false")]).await;
    let user = first.add_user(&first.org_id, "ada", None).await;
    let admin = Some(first.admin_token.as_str());
    for (i, rekey) in [&first, &second, &first].into_iter().enumerate() {
        let answer = rekey
            .password_reset(
                Protocol::Rest,
                admin,
                &user,
                send_link("NOTIFICATION_TYPE_Email"),
            )
            .await;
        assert_eq!(answer.status, 200, "request {i}: {}", answer.body);
    }
    let answer = second
        .password_reset(
            Protocol::Rest,
            admin,
            &user,
            send_link("NOTIFICATION_TYPE_Email"),
        )
        .await;
    exhausted(&answer, Protocol::Rest);
    assert_eq!(first.count("outbox").await, 3);
}

async fn sms_goes_only_to_listed_countries_and_within_its_caps(backend: Backend) {
    let rekey = Rekey::start(
        backend,
        &[
            ON,
            ("REKEY__DELIVERY__ENABLED", "false"),
            ("REKEY__LIMITS__SMS__COUNTRIES", "41,49"),
            ("REKEY__LIMITS__SMS__TOTAL", "2 per 24h"),
        ],
    )
    .await;
    let admin = Some(rekey.admin_token.as_str());
    let premium = json!({
        "username": "premium",
        "organization": { "orgId": rekey.org_id },
        "profile": { "givenName": "P", "familyName": "R" },
        "email": { "email": "p@example.com" },
        "phone": { "phone": "+41900123456" },
    });
    let answer = rekey
        .post("/v2/users/human", admin, &premium.to_string())
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error_id().as_deref(), Some("REKEY-PhonePremium"));

    let french = rekey
        .add_user(&rekey.org_id, "fr", Some("+33612345678"))
        .await;
    let answer = rekey
        .password_reset(
            Protocol::Rest,
            admin,
            &french,
            send_link("NOTIFICATION_TYPE_SMS"),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.code(), Some(9));
    assert_eq!(answer.error_id().as_deref(), Some("REKEY-SmsCountry"));
    assert!(
        answer.body["message"].as_str().unwrap().contains("+33"),
        "{}",
        answer.body
    );

    let users = [
        rekey
            .add_user(&rekey.org_id, "a", Some("+41791111111"))
            .await,
        rekey
            .add_user(&rekey.org_id, "b", Some("+41792222222"))
            .await,
        rekey
            .add_user(&rekey.org_id, "c", Some("+4915123456789"))
            .await,
    ];
    for user in &users[..2] {
        let answer = rekey
            .password_reset(
                Protocol::Rest,
                admin,
                user,
                send_link("NOTIFICATION_TYPE_SMS"),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let answer = rekey
        .password_reset(
            Protocol::Connect,
            admin,
            &users[2],
            send_link("NOTIFICATION_TYPE_SMS"),
        )
        .await;
    exhausted(&answer, Protocol::Connect);
    for user in [&users[2], &french] {
        let answer = rekey
            .password_reset(
                Protocol::Rest,
                admin,
                user,
                send_link("NOTIFICATION_TYPE_Email"),
            )
            .await;
        assert_eq!(answer.status, 200, "email is not capped: {}", answer.body);
    }
    assert_eq!(rekey.count("outbox WHERE channel = 'sms'").await, 2);
}

/// SetPassword with `code` for `user`, as the admin, over REST.
async fn set_with_code(rekey: &Rekey, user: &str, code: &str) -> Answer {
    let body = json!({ "newPassword": { "password": NEW }, "verificationCode": code });
    rekey
        .set_password(Protocol::Rest, Some(&rekey.admin_token), user, body)
        .await
}

async fn twenty_wrong_codes_lock_out_the_right_code(backend: Backend) {
    let rekey = Rekey::start(backend, &[ON]).await;
    rekey.remember(NEW);
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    for _ in 0..4 {
        let code = rekey.returned_code(&user).await;
        let wrong = if code == "WRONG1" { "WRONG2" } else { "WRONG1" };
        for _ in 0..5 {
            let answer = set_with_code(&rekey, &user, wrong).await;
            assert_eq!(
                answer.error_id().as_deref(),
                Some("CODE-woT0xc"),
                "{}",
                answer.body
            );
        }
    }
    let limited = "events WHERE event_type = 'user.limit.exceeded'";
    assert_eq!(
        rekey.count(limited).await,
        1,
        "the 20th wrong code spends the budget"
    );
    let right = rekey.returned_code(&user).await;
    let answer = set_with_code(&rekey, &user, &right).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        answer.error_id().as_deref(),
        Some("COMMAND-2M9fs"),
        "Code not found"
    );
    let changed = "events WHERE event_type = 'user.human.password.changed'";
    assert_eq!(rekey.count(changed).await, 0);
    rekey.assert_logs_clean();
}

/// The reset page's answer to a form: status, body and time.
async fn submit(rekey: &Rekey, user: &str, code: &str) -> (u16, String, Duration) {
    let (response, took) = rekey.post_reset_page(user, code, NEW, None).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap(), took)
}

async fn the_reset_page_answers_every_dead_end_alike(backend: Backend) {
    let rekey = Rekey::start(
        backend,
        &[
            ON,
            ("REKEY__LIMITS__PAGE_MIN_RESPONSE", "400ms"),
            ("REKEY__CODE__EXPIRY", "3s"),
        ],
    )
    .await;
    rekey.remember(NEW);
    let (ada, bob, eve) = (
        rekey.add_user(&rekey.org_id, "ada", None).await,
        rekey.add_user(&rekey.org_id, "bob", None).await,
        rekey.add_user(&rekey.org_id, "eve", None).await,
    );
    let expiring = rekey.returned_code(&eve).await;
    let issued = Instant::now();
    let code = rekey.returned_code(&ada).await;
    let (status, done, _) = submit(&rekey, &ada, &code).await;
    assert_eq!(status, 200);
    assert!(done.contains("Your password has been changed."), "{done}");
    let bobs = rekey.returned_code(&bob).await;
    let wrong = if bobs == "WRONG1" { "WRONG2" } else { "WRONG1" };

    let mut answers = vec![
        (
            "unknown user",
            submit(&rekey, "123456789012345678", &code).await,
        ),
        ("wrong code", submit(&rekey, &bob, wrong).await),
        ("used code", submit(&rekey, &ada, &code).await),
    ];
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(issued.elapsed())).await;
    answers.push(("expired code", submit(&rekey, &eve, &expiring).await));
    let (_, (first_status, first_body, _)) = &answers[0];
    assert!(
        first_body.contains("is not valid (any more)"),
        "{first_body}"
    );
    for (case, (status, body, took)) in &answers {
        assert_eq!(status, first_status, "{case}");
        assert_eq!(
            body, first_body,
            "{case}: byte-identical to an unknown user's answer"
        );
        assert!(
            *took >= Duration::from_millis(400),
            "{case} took only {took:?}"
        );
    }
    rekey.assert_logs_clean();
}

async fn the_reset_page_limits_each_client_ip(backend: Backend) {
    let rekey = Rekey::start(
        backend,
        &[
            ON,
            ("REKEY__LIMITS__CLIENT_IP", "2 per 1m"),
            ("REKEY__LIMITS__PAGE_MIN_RESPONSE", "0s"),
        ],
    )
    .await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    for _ in 0..2 {
        let (status, _, _) = submit(&rekey, &user, "WRONG1").await;
        assert_eq!(status, 200);
    }
    let (response, _) = rekey
        .post_reset_page(&user, "WRONG1", NEW, Some("198.51.100.7"))
        .await;
    assert_eq!(
        response.status(),
        429,
        "X-Forwarded-For from an untrusted peer is ignored"
    );
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    let body = response.text().await.unwrap();
    assert!(body.contains("Too many attempts"), "{body}");
    assert_eq!(
        rekey
            .count("events WHERE event_type = 'user.human.password.code.invalidated'")
            .await,
        0
    );
}

/// `[secrets] keys`, newest first, as a configuration file.
fn key_config(rekey_dir: &std::path::Path, name: &str, keys: &[(&str, &str)]) -> String {
    let entries: Vec<String> = keys
        .iter()
        .map(|(id, key)| format!("{{ id = \"{id}\", key = \"{key}\" }}"))
        .collect();
    let path = rekey_dir.join(name);
    std::fs::write(
        &path,
        format!("[secrets]\nkeys = [{}]\n", entries.join(", ")),
    )
    .unwrap();
    path.display().to_string()
}

async fn codes_and_queued_messages_survive_a_key_rotation(backend: Backend) {
    const ONE: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    const TWO: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    let config_dir = tempfile::tempdir().unwrap();
    let before = key_config(config_dir.path(), "one.toml", &[("one", ONE)]);
    let rekey = Rekey::start(
        backend,
        &[
            ("REKEY_CONFIG", &before),
            ("REKEY__DELIVERY__ENABLED", "false"),
        ],
    )
    .await;
    rekey.remember(NEW);
    let ada = rekey.add_user(&rekey.org_id, "ada", None).await;
    let bob = rekey
        .add_user(&rekey.org_id, "bob", Some("+41791234567"))
        .await;
    let code = rekey.returned_code(&ada).await;
    let admin = rekey.admin_token.clone();
    let answer = rekey
        .password_reset(
            Protocol::Rest,
            Some(&admin),
            &bob,
            send_link("NOTIFICATION_TYPE_SMS"),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(rekey.count("outbox WHERE key_id = 'one'").await, 1);
    let stopped = rekey.stop();

    let after = key_config(config_dir.path(), "two.toml", &[("two", TWO), ("one", ONE)]);
    let rekey = Rekey::restart(stopped, &[("REKEY_CONFIG", &after)]).await;
    let answer = set_with_code(&rekey, &ada, &code).await;
    assert_eq!(
        answer.status, 200,
        "a code hashed under key one: {}",
        answer.body
    );

    let sms = rekey.dir.path().join("data").join("sms.jsonl");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sms.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let line = std::fs::read_to_string(&sms).expect("the queued SMS was delivered");
    let message: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    let text = message["body"]
        .as_str()
        .unwrap_or_else(|| panic!("{message}"));
    let bobs = query_param(&link_in(text), "code").unwrap();
    rekey.remember(&bobs);
    let answer = set_with_code(&rekey, &bob, &bobs).await;
    assert_eq!(
        answer.status, 200,
        "a message sealed under key one: {}",
        answer.body
    );

    rekey.returned_code(&ada).await;
    let new_codes = "events WHERE event_type = 'user.human.password.code.added' \
                     AND payload LIKE '%\"key_id\":\"two\"%'";
    assert_eq!(
        rekey.count(new_codes).await,
        1,
        "new codes are hashed under key two"
    );
    rekey.assert_logs_clean();
}
