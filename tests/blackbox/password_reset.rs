//! PasswordReset, end to end, on both routes (REST and Connect).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::harness::{ALL, Answer, Backend, Protocol, Rekey, contains, on_both_backends};

on_both_backends!(
    return_code_answers_details_and_a_code,
    send_link_queues_exactly_one_sealed_message,
    refusals_have_the_contract_shape_on_both_routes,
    not_found_body_is_zitadels_to_the_letter,
    the_path_user_id_wins_over_the_body,
    concurrent_resets_for_one_user_all_succeed,
    many_concurrent_writers_and_readers_all_succeed,
    a_template_error_names_what_it_refused,
);

fn sequence(answer: &Answer) -> i64 {
    let sequence = &answer.body["details"]["sequence"];
    assert!(
        sequence.is_string(),
        "sequence is a JSON string: {}",
        answer.body
    );
    sequence.as_str().unwrap().parse().unwrap()
}

#[allow(
    clippy::disallowed_methods,
    reason = "a black-box test compares against wall time"
)]
fn now() -> DateTime<Utc> {
    Utc::now()
}

async fn return_code_answers_details_and_a_code(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let mut previous = 1;
    for protocol in ALL {
        let answer = rekey
            .password_reset(
                protocol,
                Some(&rekey.admin_token),
                &user,
                json!({ "returnCode": {} }),
            )
            .await;
        assert_eq!(answer.status, 200, "{protocol:?}: {}", answer.body);
        let code = answer.body["verificationCode"].as_str().unwrap();
        assert_eq!(code.len(), 6);
        assert!(
            code.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
            "{code}"
        );
        let seq = sequence(&answer);
        assert!(seq > previous, "sequence grows: {seq} after {previous}");
        previous = seq;
        let change = answer.body["details"]["changeDate"].as_str().unwrap();
        assert!(change.ends_with('Z'), "{change}");
        let at: DateTime<Utc> = DateTime::parse_from_rfc3339(change).unwrap().into();
        assert!((now() - at).num_seconds().abs() < 60, "{change}");
        assert_eq!(answer.body["details"]["resourceOwner"], json!(rekey.org_id));
        assert!(
            !contains(&rekey.database_dump().await, code.as_bytes()),
            "a returned code is stored only as a hash"
        );
    }
    assert_eq!(rekey.count("outbox").await, 0, "returnCode sends nothing");
}

async fn send_link_queues_exactly_one_sealed_message(backend: Backend) {
    // A code space of 2^8 codes, so the test can look for every possible code in the database.
    let rekey = Rekey::start(
        backend,
        &[
            ("REKEY__CODE__ALPHABET", "QZ"),
            // Keep the messages queued: this test looks at the outbox rows themselves.
            ("REKEY__DELIVERY__ENABLED", "false"),
            ("REKEY__CODE__LENGTH", "8"),
        ],
    )
    .await;
    let user = rekey
        .add_user(&rekey.org_id, "ada", Some("+41791234567"))
        .await;
    let mediums = [
        json!({ "sendLink": { "notificationType": "NOTIFICATION_TYPE_Email" } }),
        json!({ "sendLink": { "notificationType": "NOTIFICATION_TYPE_SMS",
                              "urlTemplate": "https://example.com/pw?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}" } }),
        json!({}),
        json!({ "send_link": { "notification_type": 2 } }),
    ];
    let mut expected_rows = 0;
    for protocol in ALL {
        for medium in &mediums {
            let answer = rekey
                .password_reset(protocol, Some(&rekey.admin_token), &user, medium.clone())
                .await;
            assert_eq!(answer.status, 200, "{protocol:?} {medium}: {}", answer.body);
            assert!(
                answer.body.get("verificationCode").is_none(),
                "{}",
                answer.body
            );
            expected_rows += 1;
            assert_eq!(
                rekey.count("outbox").await,
                expected_rows,
                "one new outbox row per request"
            );
        }
    }
    let sms_per_protocol = 2;
    assert_eq!(
        rekey.count("outbox WHERE channel = 'sms'").await,
        sms_per_protocol * ALL.len() as i64
    );
    assert_eq!(
        rekey
            .count("outbox WHERE status = 'pending' AND payload IS NOT NULL")
            .await,
        expected_rows
    );
    // Every one of the 256 possible codes is a run of 8 bytes from {Q, Z} (in PostgreSQL's
    // text dump, bytea shows as hex: a run of 8 pairs from {51, 5a}). None may be there.
    let dump = rekey.database_dump().await;
    let plain = dump
        .windows(8)
        .any(|w| w.iter().all(|b| matches!(b, b'Q' | b'Z')));
    let hex = dump
        .windows(16)
        .any(|w| w.chunks(2).all(|pair| pair == b"51" || pair == b"5a"));
    assert!(!plain && !hex, "a plaintext code is in the database");
    assert!(dump.len() > 1000, "the dump holds the database");
}

/// One row of the refusal table: who calls, for whom, with what, and what must come back.
struct Case<'a> {
    token: Option<&'a str>,
    user_id: &'a str,
    body: Value,
    status: u16,
    code: u64,
    id: Option<&'static str>,
}

fn case<'a>(
    token: Option<&'a str>,
    user_id: &'a str,
    body: Value,
    status: u16,
    code: u64,
    id: Option<&'static str>,
) -> Case<'a> {
    Case {
        token,
        user_id,
        body,
        status,
        code,
        id,
    }
}

async fn refusals_have_the_contract_shape_on_both_routes(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let other_org = rekey.admin(&["org", "add", "--name", "other"]);
    let stranger = rekey.admin(&[
        "user",
        "add-machine",
        "--org",
        &other_org,
        "--username",
        "bot",
    ]);
    let stranger_token = rekey.token(&stranger, &["ORG_OWNER"]);
    let own_token = rekey.token(&user, &[]);
    let initial = rekey.admin(&[
        "user",
        "add-human",
        "--org",
        &rekey.org_id,
        "--username",
        "init",
        "--email",
        "init@example.com",
        "--initial",
    ]);
    let admin = Some(rekey.admin_token.as_str());
    let long_id = "1".repeat(201);
    let return_code = json!({ "returnCode": {} });

    // (token, user, body, status, code, error id)
    let cases = vec![
        case(
            admin,
            "69629023906488334",
            return_code.clone(),
            404,
            5,
            Some("COMMAND-SAF4f"),
        ),
        case(
            Some(&stranger_token),
            &user,
            return_code.clone(),
            403,
            7,
            Some("AUTH-AWfge"),
        ),
        case(Some(&own_token), &user, return_code.clone(), 200, 0, None),
        case(None, &user, return_code.clone(), 401, 16, None),
        case(
            Some("rekey_pat_not-a-real-token"),
            &user,
            return_code.clone(),
            401,
            16,
            None,
        ),
        case(
            admin,
            &user,
            json!({ "sendLink": { "urlTemplate": "{{" } }),
            400,
            3,
            Some("DOMAIN-oGh5e"),
        ),
        case(
            admin,
            &user,
            json!({ "sendLink": { "urlTemplate": "{{.LoginName}}" } }),
            400,
            3,
            Some("DOMAIN-ieYa7"),
        ),
        case(
            admin,
            &user,
            json!({ "sendLink": { "urlTemplate": "" } }),
            400,
            3,
            None,
        ),
        case(
            admin,
            &user,
            json!({ "sendLink": {}, "returnCode": {} }),
            400,
            3,
            None,
        ),
        case(
            admin,
            &user,
            json!({ "sendLink": {}, "send_link": {} }),
            400,
            3,
            None,
        ),
        case(admin, &long_id, return_code.clone(), 400, 3, None),
        case(
            admin,
            &initial,
            return_code.clone(),
            400,
            9,
            Some("COMMAND-Sfe4g"),
        ),
        case(
            admin,
            &user,
            json!({ "returnCode": {}, "someFutureField": { "x": 1 }, "sendLink": null }),
            200,
            0,
            None,
        ),
        case(
            admin,
            &user,
            json!({ "sendLink": { "notificationType": "NOTIFICATION_TYPE_Carrier_Pigeon" } }),
            200,
            0,
            None,
        ),
        case(
            admin,
            &user,
            json!({ "sendLink": { "notificationType": "NOTIFICATION_TYPE_SMS" } }),
            400,
            9,
            Some("REKEY-NoPhone"),
        ),
    ];
    for (
        i,
        Case {
            token,
            user_id,
            body,
            status,
            code,
            id,
        },
    ) in cases.into_iter().enumerate()
    {
        let mut answers = Vec::new();
        for protocol in ALL.into_iter().filter(|p| p.carries_reset(&body)) {
            let answer = rekey
                .password_reset(protocol, token, user_id, body.clone())
                .await;
            assert_eq!(
                answer.status, status,
                "case {i} {protocol:?} {body}: {}",
                answer.body
            );
            if status == 200 {
                assert!(answer.body["details"]["sequence"].is_string());
                answers.push(answer);
                continue;
            }
            assert_eq!(
                answer.code(),
                Some(code),
                "case {i} {protocol:?}: {}",
                answer.body
            );
            if let Some(id) = id {
                assert_eq!(
                    answer.error_id().as_deref(),
                    Some(id),
                    "case {i} {protocol:?}: {}",
                    answer.body
                );
            }
            match protocol {
                Protocol::Rest => {
                    assert!(answer.body["code"].is_number(), "{}", answer.body);
                    if let Some(id) = id {
                        let detail = &answer.body["details"][0];
                        assert_eq!(
                            detail["@type"],
                            json!("type.googleapis.com/zitadel.v1.ErrorDetail")
                        );
                        assert_eq!(detail["id"], json!(id));
                    }
                }
                Protocol::Connect => assert!(answer.body["code"].is_string(), "{}", answer.body),
                // grpc_call checked grpc-status-details-bin against grpc-status/grpc-message.
                Protocol::Grpc => {
                    if let Some(id) = id {
                        assert_eq!(answer.body["details"][0]["id"], json!(id), "case {i}");
                    }
                }
            }
            // An HTTP challenge; gRPC has none (nor has ZITADEL's gRPC).
            if status == 401 && protocol != Protocol::Grpc {
                assert!(
                    answer.headers.contains_key("www-authenticate"),
                    "case {i} {protocol:?}"
                );
            }
            answers.push(answer);
        }
        assert!(
            answers.iter().all(|a| a.status == answers[0].status),
            "case {i}: every protocol agrees"
        );
    }
}

/// `{{.UserId}}` (not `UserID`) is refused with ZITADEL's id, and the message says which
/// placeholder and what to use instead.
async fn a_template_error_names_what_it_refused(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let template = "https://example.com/reset?user={{.UserId}}&code={{.Code}}";
    let answer = rekey
        .password_reset(
            Protocol::Rest,
            Some(&rekey.admin_token),
            &user,
            json!({ "sendLink": { "urlTemplate": template } }),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error_id().as_deref(), Some("DOMAIN-ieYa7"));
    assert_eq!(
        answer.body["details"][0]["message"],
        "URL template is invalid: unknown placeholder UserId; use UserID, Code or OrgID"
    );
    assert_eq!(rekey.count("outbox").await, 0);
}

async fn not_found_body_is_zitadels_to_the_letter(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let answer = rekey
        .password_reset(
            Protocol::Rest,
            Some(&rekey.admin_token),
            "69629023906488334",
            json!({}),
        )
        .await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.body,
        json!({
            "code": 5,
            "message": "User could not be found (COMMAND-SAF4f)",
            "details": [{
                "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
                "id": "COMMAND-SAF4f",
                "message": "User could not be found"
            }]
        })
    );
    let answer = rekey
        .password_reset(
            Protocol::Connect,
            Some(&rekey.admin_token),
            "69629023906488334",
            json!({}),
        )
        .await;
    // connect-go's shape: the detail's type without its URL prefix, its bytes in unpadded
    // base64, and their protojson under `debug` (ZITADEL's exact body for this error).
    assert_eq!(
        answer.body,
        json!({
            "code": "not_found",
            "message": "User could not be found (COMMAND-SAF4f)",
            "details": [{
                "type": "zitadel.v1.ErrorDetail",
                "value": "Cg1DT01NQU5ELVNBRjRmEhdVc2VyIGNvdWxkIG5vdCBiZSBmb3VuZA",
                "debug": {"id": "COMMAND-SAF4f", "message": "User could not be found"}
            }]
        })
    );
    assert!(answer.headers.contains_key("x-request-id"));
}

async fn the_path_user_id_wins_over_the_body(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let answer = rekey
        .password_reset(
            Protocol::Rest,
            Some(&rekey.admin_token),
            &user,
            json!({ "userId": "someone-else", "returnCode": {} }),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

async fn concurrent_resets_for_one_user_all_succeed(backend: Backend) {
    let rekey = std::sync::Arc::new(Rekey::start(backend, &[]).await);
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..51 {
        let (rekey, user) = (rekey.clone(), user.clone());
        let protocol = ALL[i % ALL.len()];
        tasks.spawn(async move {
            let token = rekey.admin_token.clone();
            rekey
                .password_reset(protocol, Some(&token), &user, json!({ "returnCode": {} }))
                .await
        });
    }
    let mut sequences = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        let answer = answer.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        sequences.push(sequence(&answer));
    }
    sequences.sort_unstable();
    assert_eq!(
        sequences,
        (2..=52).collect::<Vec<_>>(),
        "unique, without gaps"
    );
    let filter = format!("events WHERE aggregate_id = '{user}'");
    assert_eq!(rekey.count(&filter).await, 52);
    let codes = format!("{filter} AND event_type = 'user.human.password.code.added'");
    assert_eq!(rekey.count(&codes).await, 51);
    let last = format!("password_codes WHERE user_id = '{user}' AND sequence = 52");
    assert_eq!(rekey.count(&last).await, 1, "the last code wins");
}

/// 96 requests at once on 16 users, a third each sendLink (delivered by the worker, which
/// writes too), returnCode and GetUserByID: every one answers 200 (on SQLite, no
/// `database is locked` from writers contending for the file), every message is delivered,
/// and the log has no warning.
async fn many_concurrent_writers_and_readers_all_succeed(backend: Backend) {
    let rekey = std::sync::Arc::new(Rekey::start(backend, &[]).await);
    let mut users = Vec::new();
    for i in 0..16 {
        users.push(rekey.add_user(&rekey.org_id, &format!("u{i}"), None).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..96 {
        let (rekey, user) = (rekey.clone(), users[i % users.len()].clone());
        tasks.spawn(async move {
            let token = rekey.admin_token.clone();
            let answer = match i % 3 {
                0 => {
                    let fields = json!({ "sendLink": {} });
                    rekey
                        .password_reset(Protocol::Rest, Some(&token), &user, fields)
                        .await
                }
                1 => {
                    let fields = json!({ "returnCode": {} });
                    rekey
                        .password_reset(Protocol::Rest, Some(&token), &user, fields)
                        .await
                }
                _ => rekey.get(&format!("/v2/users/{user}"), Some(&token)).await,
            };
            (i, answer)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (i, answer) = done.unwrap();
        assert_eq!(answer.status, 200, "request {i}: {}", answer.body);
    }
    assert_eq!(rekey.count("outbox").await, 32);
    assert_eq!(rekey.count("password_codes").await, 16);
    // The worker delivers (or skips as superseded) every message.
    for _ in 0..600 {
        if rekey.count("outbox WHERE status = 'pending'").await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(rekey.count("outbox WHERE status = 'pending'").await, 0);
    assert_eq!(
        rekey
            .count("outbox WHERE status IN ('sent', 'skipped')")
            .await,
        32
    );
    // Past start-up (which warns about the generated key and the budgets being off).
    let warnings: Vec<_> = rekey
        .log_lines()
        .into_iter()
        .skip_while(|line| line["message"] != "listening")
        .filter(|line| line["level"] == "WARN" || line["level"] == "ERROR")
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// PostgreSQL locks the one user row a reset appends to, not the table: while another
/// transaction holds user A's row, a reset for user B goes through and one for A waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_for_different_users_do_not_wait_for_each_other() {
    let rekey = std::sync::Arc::new(Rekey::start(Backend::Postgres, &[]).await);
    let a = rekey.add_user(&rekey.org_id, "a", None).await;
    let b = rekey.add_user(&rekey.org_id, "b", None).await;
    let locker = rekey_test_db::connect(rekey.database_url().unwrap()).await;
    locker
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM users WHERE id = '{a}' FOR UPDATE"
        ))
        .await
        .unwrap();
    let for_a = {
        let (rekey, a) = (rekey.clone(), a.clone());
        tokio::spawn(async move {
            let token = rekey.admin_token.clone();
            rekey
                .password_reset(
                    Protocol::Rest,
                    Some(&token),
                    &a,
                    json!({ "returnCode": {} }),
                )
                .await
        })
    };
    let for_b = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        rekey.password_reset(
            Protocol::Rest,
            Some(&rekey.admin_token),
            &b,
            json!({ "returnCode": {} }),
        ),
    )
    .await
    .expect("B does not wait for A's lock");
    assert_eq!(for_b.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !for_a.is_finished(),
        "A waits for its row (the lock is real)"
    );
    locker.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(for_a.await.unwrap().status, 200);
}
