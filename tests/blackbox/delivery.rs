//! Delivery end to end: a real SMTP server (aiosmtpd), a Twilio-compatible API (wiremock),
//! outages, crashes, superseded codes and two instances sharing one outbox.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{basic_auth, body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Backend, Protocol, Rekey, on_both_backends};
use crate::smtp::{SmtpServer, free_port, link_in, query_param};

on_both_backends!(
    mail_reaches_a_real_smtp_server_once_in_the_users_language,
    accepted_requests_survive_a_crash,
    retention_runs_at_start_and_keeps_pending_messages,
);

const WAIT: Duration = Duration::from_secs(30);

/// Settings for delivery through SMTP on `port`, polling and retrying fast.
fn smtp_env(port: u16) -> Vec<(String, String)> {
    vec![
        ("REKEY__EMAIL__TRANSPORT".into(), "smtp".into()),
        ("REKEY__EMAIL__SMTP__HOST".into(), "127.0.0.1".into()),
        ("REKEY__EMAIL__SMTP__PORT".into(), port.to_string()),
        ("REKEY__EMAIL__SMTP__TLS".into(), "none".into()),
        ("REKEY__EMAIL__SMTP__TIMEOUT".into(), "5s".into()),
        (
            "REKEY__EMAIL__FROM".into(),
            "rekey <noreply@example.com>".into(),
        ),
        ("REKEY__DELIVERY__POLL_INTERVAL".into(), "100ms".into()),
        ("REKEY__DELIVERY__BACKOFF_BASE".into(), "100ms".into()),
        ("REKEY__DELIVERY__BACKOFF_MAX".into(), "500ms".into()),
        ("REKEY__DELIVERY__MAX_ATTEMPTS".into(), "50".into()),
    ]
}

fn refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn add_user_with_language(rekey: &Rekey, username: &str, language: &str) -> String {
    let body = json!({
        "username": username,
        "profile": { "givenName": "Ada", "familyName": "Lovelace", "preferredLanguage": language },
        "email": { "email": format!("{username}@example.com") },
    });
    let answer = rekey
        .post(
            "/v2/users/human",
            Some(&rekey.admin_token),
            &body.to_string(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    rekey.remember(&format!("{username}@example.com"));
    answer.body["userId"].as_str().unwrap().to_owned()
}

async fn send_link(rekey: &Rekey, user: &str, fields: serde_json::Value) {
    let answer = rekey
        .password_reset(Protocol::Rest, Some(&rekey.admin_token), user, fields)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

async fn mail_reaches_a_real_smtp_server_once_in_the_users_language(backend: Backend) {
    let smtp = SmtpServer::start();
    let env = smtp_env(smtp.port);
    let rekey = Rekey::start(backend, &refs(&env)).await;
    let ada = add_user_with_language(&rekey, "ada", "de").await;
    let bob = add_user_with_language(&rekey, "bob", "en").await;
    send_link(
        &rekey,
        &ada,
        json!({ "sendLink": { "notificationType": "NOTIFICATION_TYPE_Email" } }),
    )
    .await;
    send_link(&rekey, &bob, json!({})).await;

    let mails = smtp.wait_for(2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(smtp.mails().len(), 2, "exactly one mail per request");
    for (user, username, german) in [(&ada, "ada", true), (&bob, "bob", false)] {
        let mail = mails
            .iter()
            .find(|m| m.to.contains(username))
            .expect("a mail for the user");
        assert_eq!(mail.to, format!("{username}@example.com"));
        assert_eq!(mail.from, "rekey <noreply@example.com>");
        let link = link_in(&mail.text);
        rekey.remember(&link);
        assert!(
            link.starts_with("http://localhost:8080/ui/v2/login/password/set?"),
            "{link}"
        );
        assert_eq!(query_param(&link, "userId").as_deref(), Some(user.as_str()));
        assert_eq!(
            query_param(&link, "organization").as_deref(),
            Some(rekey.org_id.as_str())
        );
        let code = query_param(&link, "code").expect("code");
        rekey.remember(&code);
        // The code in the link is the one SetPassword accepts.
        let body =
            json!({ "newPassword": { "password": "N3w-Passw0rd!" }, "verificationCode": code });
        rekey.remember("N3w-Passw0rd!");
        let set = rekey
            .post(
                &format!("/v2/users/{user}/password"),
                Some(&rekey.admin_token),
                &body.to_string(),
            )
            .await;
        assert_eq!(set.status, 200, "{}", set.body);
        assert!(
            code.len() == 6
                && code
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        let html = mail.html.replace("&amp;", "&").replace("&#x3D;", "=");
        assert!(
            html.contains(&format!("href=\"{link}\"")),
            "the button links too"
        );
        if german {
            assert_eq!(mail.subject, "Passwort zurücksetzen");
            assert!(mail.text.contains("Hallo Ada Lovelace,"), "{}", mail.text);
        } else {
            assert_eq!(mail.subject, "Reset password");
            assert!(mail.text.contains("Hello Ada Lovelace,"), "{}", mail.text);
            assert!(
                mail.text.contains(&format!("(Code {code})")),
                "{}",
                mail.text
            );
        }
    }
    // Each SetPassword above announces the change by email, in the user's language.
    let all = smtp.wait_for(4, WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(smtp.mails().len(), 4);
    let notice = |to: &str| {
        all.iter()
            .find(|m| m.to.starts_with(to) && !m.text.contains("code="))
            .unwrap()
            .clone()
    };
    assert_eq!(
        notice("ada").subject,
        "Das Passwort deines Benutzers wurde geändert"
    );
    assert_eq!(
        notice("bob").subject,
        "The password of your user has changed"
    );
    assert!(
        notice("bob")
            .text
            .contains("http://localhost:8080/ui/v2/login")
    );
    assert_eq!(
        rekey
            .count("outbox WHERE status = 'sent' AND payload IS NULL")
            .await,
        4
    );
    let sent_events = "events WHERE event_type = 'user.human.password.code.sent'";
    assert_eq!(rekey.count(sent_events).await, 2);
    let notices = "events WHERE event_type = 'user.human.password.change.sent'";
    assert_eq!(rekey.count(notices).await, 2);
    let message_ids: HashSet<_> = all.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(message_ids.len(), 4);
    assert_eq!(rekey.log_count("message sent"), 4);
    let masked = rekey
        .log_lines()
        .into_iter()
        .find(|l| l["message"] == "message sent")
        .unwrap();
    assert!(
        masked["recipient"]
            .as_str()
            .unwrap()
            .contains("***@example.com"),
        "{masked}"
    );
}

async fn accepted_requests_survive_a_crash(backend: Backend) {
    // The first run accepts the requests but delivers nothing; then it is killed (SIGKILL).
    let port = free_port();
    let mut env = smtp_env(port);
    env.push(("REKEY__DELIVERY__ENABLED".into(), "false".into()));
    let rekey = Rekey::start(backend, &refs(&env)).await;
    let mut users = Vec::new();
    for i in 0..10 {
        let user = add_user_with_language(&rekey, &format!("user{i}"), "en").await;
        send_link(&rekey, &user, json!({})).await;
        users.push(user);
    }
    assert_eq!(rekey.count("outbox WHERE status = 'pending'").await, 10);
    let left = rekey.kill_hard();

    let smtp = SmtpServer::start_on(port);
    let env = smtp_env(port);
    let again = Rekey::restart(left, &refs(&env)).await;
    let mails = smtp.wait_for(10, WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        smtp.mails().len(),
        10,
        "every accepted request is delivered, once"
    );
    let recipients: HashSet<_> = mails.iter().map(|m| m.to.clone()).collect();
    assert_eq!(recipients.len(), 10);
    for mail in &mails {
        again.remember(&query_param(&link_in(&mail.text), "code").unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_when_the_request_comes_then_up_delivers_once() {
    let port = free_port();
    let env = smtp_env(port);
    let rekey = Rekey::start(Backend::Sqlite, &refs(&env)).await;
    let user = add_user_with_language(&rekey, "ada", "en").await;
    send_link(&rekey, &user, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        rekey
            .count("outbox WHERE status = 'pending' AND attempts >= 2")
            .await,
        1,
        "retrying"
    );
    let smtp = SmtpServer::start_on(port);
    smtp.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "delivered once");
    rekey.remember(&query_param(&link_in(&mails[0].text), "code").unwrap());
    assert_eq!(rekey.count("outbox WHERE status = 'sent'").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_newest_code_is_sent() {
    let port = free_port();
    let mut env = smtp_env(port);
    env.push(("REKEY__DELIVERY__ENABLED".into(), "false".into()));
    let rekey = Rekey::start(Backend::Sqlite, &refs(&env)).await;
    let user = add_user_with_language(&rekey, "ada", "en").await;
    send_link(&rekey, &user, json!({})).await;
    send_link(&rekey, &user, json!({})).await;
    let left = rekey.stop();
    let smtp = SmtpServer::start_on(port);
    let again = Rekey::restart(left, &refs(&smtp_env(port))).await;
    smtp.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    again.remember(&query_param(&link_in(&mails[0].text), "code").unwrap());
    assert_eq!(
        again
            .count(
                "outbox WHERE status = 'skipped' AND last_error = 'superseded' AND payload IS NULL"
            )
            .await,
        1
    );
    assert_eq!(again.count("outbox WHERE status = 'sent'").await, 1);
    // The sent one is the newer: its code sequence is the user's latest code.
    assert_eq!(
        again.count("outbox o WHERE o.status = 'sent' AND o.code_sequence = (SELECT sequence FROM password_codes)").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_through_twilio_retries_5xx_and_gives_up_on_4xx() {
    let twilio = MockServer::start().await;
    let messages = "/2010-04-01/Accounts/AC0123/Messages.json";
    Mock::given(method("POST"))
        .and(path(messages))
        .and(body_string_contains("To=%2B41791111111"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&twilio)
        .await;
    Mock::given(method("POST"))
        .and(path(messages))
        .and(basic_auth("AC0123", "twilio-secret"))
        .and(body_string_contains("To=%2B41791111111"))
        .and(body_string_contains("From=%2B15005550006"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({ "sid": "SM1", "status": "queued" })),
        )
        .expect(1)
        .mount(&twilio)
        .await;
    Mock::given(method("POST"))
        .and(path(messages))
        .and(body_string_contains("To=%2B41792222222"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 21211, "message": "The 'To' number is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400 })))
        .expect(1)
        .mount(&twilio)
        .await;
    let base_url = twilio.uri();
    let env = [
        ("REKEY__SMS__TRANSPORT", "twilio"),
        ("REKEY__SMS__TWILIO__BASE_URL", base_url.as_str()),
        ("REKEY__SMS__TWILIO__ACCOUNT_SID", "AC0123"),
        ("REKEY__SMS__TWILIO__AUTH_TOKEN", "twilio-secret"),
        ("REKEY__SMS__TWILIO__FROM", "+15005550006"),
        ("REKEY__DELIVERY__POLL_INTERVAL", "100ms"),
        ("REKEY__DELIVERY__BACKOFF_BASE", "100ms"),
        ("REKEY__DELIVERY__BACKOFF_MAX", "200ms"),
    ];
    let rekey = Rekey::start(Backend::Sqlite, &env).await;
    rekey.remember("twilio-secret");
    let ok = rekey
        .add_user(&rekey.org_id, "ada", Some("+41791111111"))
        .await;
    let bad = rekey
        .add_user(&rekey.org_id, "bob", Some("+41792222222"))
        .await;
    let sms = json!({ "sendLink": { "notificationType": "NOTIFICATION_TYPE_SMS" } });
    send_link(&rekey, &ok, sms.clone()).await;
    send_link(&rekey, &bad, sms).await;

    let deadline = std::time::Instant::now() + WAIT;
    while rekey.count("outbox WHERE status IN ('sent', 'dead')").await < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listing = rekey.admin(&["outbox", "list", "--status", "dead"]);
    assert!(
        listing.contains("+41*******22") && listing.contains("21211"),
        "{listing}"
    );
    // id, status, channel, recipient, attempts, next attempt, last error: a message that is
    // done with has no next attempt.
    let everything = rekey.admin(&["outbox", "list"]);
    let rows: Vec<Vec<&str>> = everything
        .lines()
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), 2, "{everything}");
    for row in rows {
        assert!(matches!(row[1], "sent" | "dead"), "{everything}");
        assert_eq!(row[5], "-", "{everything}");
    }
    assert_eq!(
        rekey
            .count("outbox WHERE status = 'sent' AND attempts = 2")
            .await,
        1,
        "second attempt"
    );
    assert_eq!(
        rekey
            .count("outbox WHERE status = 'dead' AND attempts = 1")
            .await,
        1,
        "no retry on 400"
    );
    let kept = "outbox WHERE status = 'dead' AND last_error LIKE '%21211%' AND last_error LIKE '%not a valid phone number%'";
    assert_eq!(rekey.count(kept).await, 1, "Twilio's error is kept");
    let delivered = twilio
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("41791111111"))
        .last()
        .unwrap();
    let body = String::from_utf8_lossy(&delivered.body).into_owned();
    assert!(body.contains("Body="), "{body}");
    assert!(
        body.contains("%2Fui%2Fv2%2Flogin%2Fpassword%2Fset%3Fcode%3D"),
        "the link: {body}"
    );
    let code_start = body.find("code%3D").unwrap() + "code%3D".len();
    rekey.remember(&body[code_start..code_start + 6]);
    twilio.verify().await;
}

/// Two instances on one PostgreSQL share 500 queued messages: each is delivered exactly once,
/// and both instances do part of the work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_500_messages_exactly_once() {
    let smtp = SmtpServer::start();
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let mut env = smtp_env(smtp.port);
    env.push(("REKEY__SECRETS__KEY".into(), key.into()));
    env.push(("REKEY__DELIVERY__ENABLED".into(), "false".into()));
    let queue = Rekey::start(Backend::Postgres, &refs(&env)).await;
    let url = queue.database_url().unwrap().to_owned();
    let mut tasks = tokio::task::JoinSet::new();
    let queue = std::sync::Arc::new(queue);
    for i in 0..500 {
        let queue = queue.clone();
        tasks.spawn(async move {
            let user = queue.add_user(&queue.org_id, &format!("u{i}"), None).await;
            send_link(&queue, &user, json!({})).await;
        });
        if tasks.len() >= 16 {
            tasks.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    assert_eq!(queue.count("outbox WHERE status = 'pending'").await, 500);

    let mut env = smtp_env(smtp.port);
    env.push(("REKEY__SECRETS__KEY".into(), key.into()));
    env.push(("REKEY__DELIVERY__BATCH_SIZE".into(), "16".into()));
    let first = Rekey::start_on(&url, &refs(&env)).await;
    let second = Rekey::start_on(&url, &refs(&env)).await;
    let mails = smtp.wait_for(500, Duration::from_secs(120)).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(smtp.mails().len(), 500, "no duplicates");
    let ids: HashSet<_> = mails.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(ids.len(), 500);
    assert_eq!(first.count("outbox WHERE status = 'sent'").await, 500);
    let (a, b) = (
        first.log_count("message sent"),
        second.log_count("message sent"),
    );
    assert_eq!(a + b, 500, "{a} + {b}");
    assert!(a > 0 && b > 0, "both instances worked: {a} and {b}");
    for mail in &mails {
        first.remember(&query_param(&link_in(&mail.text), "code").unwrap());
    }
}

/// The retention job runs when `rekey serve` starts: a message sent, and a code expired, longer
/// than `delivery.retention` ago go; a pending message, however old, and a live code stay.
async fn retention_runs_at_start_and_keeps_pending_messages(backend: Backend) {
    let no_delivery = [("REKEY__DELIVERY__ENABLED", "false")];
    let rekey = Rekey::start(backend, &no_delivery).await;
    let ada = rekey.add_user(&rekey.org_id, "ada", None).await;
    let bob = rekey.add_user(&rekey.org_id, "bob", None).await;
    let link = json!({ "sendLink": { "notificationType": "NOTIFICATION_TYPE_Email" } });
    for user in [&ada, &bob] {
        let answer = rekey
            .password_reset(Protocol::Rest, Some(&rekey.admin_token), user, link.clone())
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    // Ada's message was sent and her code expired long ago; Bob's message has waited as long.
    let long_ago = "'2020-01-01 00:00:00'";
    let ended = format!(
        "UPDATE outbox SET status = 'sent', sent_at = {long_ago}, next_attempt_at = {long_ago}, \
         created_at = {long_ago} WHERE user_id = '{ada}'"
    );
    assert_eq!(rekey.execute(&ended).await, 1);
    let waiting = format!(
        "UPDATE outbox SET next_attempt_at = {long_ago}, created_at = {long_ago} WHERE user_id = '{bob}'"
    );
    assert_eq!(rekey.execute(&waiting).await, 1);
    let expired =
        format!("UPDATE password_codes SET expires_at = {long_ago} WHERE user_id = '{ada}'");
    assert_eq!(rekey.execute(&expired).await, 1);

    let rekey = Rekey::restart(rekey.stop(), &no_delivery).await;
    let deadline = std::time::Instant::now() + WAIT;
    while rekey.count("outbox").await > 1 {
        assert!(std::time::Instant::now() < deadline, "the job ran at start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ada_rows = format!("outbox WHERE user_id = '{ada}'");
    let bob_pending = format!("outbox WHERE user_id = '{bob}' AND status = 'pending'");
    assert_eq!(rekey.count(&ada_rows).await, 0);
    assert_eq!(rekey.count(&bob_pending).await, 1, "pending stays");
    let codes = |user: &str| format!("password_codes WHERE user_id = '{user}'");
    let deadline = std::time::Instant::now() + WAIT;
    while rekey.count(&codes(&ada)).await > 0 {
        assert!(std::time::Instant::now() < deadline, "ada's code is pruned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rekey.count(&codes(&bob)).await, 1, "a live code stays");
    let metrics = rekey.metrics().await;
    for line in [
        "rekey_retention_pruned_total{what=\"sent_messages\"} 1",
        "rekey_retention_pruned_total{what=\"expired_codes\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

/// An SMTP server in the test that takes `delay` to answer each message's data (`None`: it
/// greets and then never answers), and records when each `Message-ID` started and finished.
struct SlowSmtp {
    port: u16,
    received:
        std::sync::Arc<std::sync::Mutex<Vec<(String, std::time::Instant, std::time::Instant)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SlowSmtp {
    async fn start(delay: Option<Duration>) -> Self {
        use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let log = log.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 slow ESMTP\r\n").await;
                    let Some(delay) = delay else {
                        // Holds the connection without a word until the client goes.
                        while let Ok(Some(_)) = lines.next_line().await {}
                        return;
                    };
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "DATA" => {
                                let _ = write.write_all(b"354 go on\r\n").await;
                                let started = std::time::Instant::now();
                                let mut id = String::new();
                                while let Ok(Some(data)) = lines.next_line().await {
                                    if data == "." {
                                        break;
                                    }
                                    if let Some(value) = data
                                        .strip_prefix("Message-ID:")
                                        .or_else(|| data.strip_prefix("Message-Id:"))
                                    {
                                        id = value.trim().to_owned();
                                    }
                                }
                                tokio::time::sleep(delay).await;
                                log.lock()
                                    .unwrap()
                                    .push((id, started, std::time::Instant::now()));
                                b"250 queued\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"250 OK\r\n",
                        };
                        if write.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            port,
            received,
            task,
        }
    }

    fn received(&self) -> Vec<(String, std::time::Instant, std::time::Instant)> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for SlowSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Queues `n` reset mails on a fresh PostgreSQL database with delivery off; answers the
/// instance (keep it: it owns the database) and the database URL.
async fn queue_on_postgres(n: usize, key: &str) -> (Rekey, String) {
    let env = [
        ("REKEY__SECRETS__KEY", key),
        ("REKEY__DELIVERY__ENABLED", "false"),
    ];
    let queue = Rekey::start(Backend::Postgres, &env).await;
    for i in 0..n {
        let user = queue.add_user(&queue.org_id, &format!("u{i}"), None).await;
        send_link(&queue, &user, json!({})).await;
    }
    assert_eq!(
        queue.count("outbox WHERE status = 'pending'").await,
        i64::try_from(n).unwrap()
    );
    let url = queue.database_url().unwrap().to_owned();
    (queue, url)
}

/// Two instances deliver through a relay that takes three leases to accept each message: the
/// senders renew their claims, so no message is claimed and sent by the other meanwhile (with
/// the lease alone, every message would go out again after one lease).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_slower_than_the_lease_keeps_its_claim_and_goes_out_once() {
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let (queue, url) = queue_on_postgres(12, key).await;
    let relay = SlowSmtp::start(Some(Duration::from_secs(3))).await;
    let mut env = smtp_env(relay.port);
    env.push(("REKEY__SECRETS__KEY".into(), key.into()));
    env.push(("REKEY__DELIVERY__LEASE".into(), "1s".into()));
    env.push(("REKEY__DELIVERY__BATCH_SIZE".into(), "4".into()));
    env.push(("REKEY__EMAIL__SMTP__TIMEOUT".into(), "20s".into()));
    let first = Rekey::start_on(&url, &refs(&env)).await;
    let second = Rekey::start_on(&url, &refs(&env)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while queue.count("outbox WHERE status = 'sent'").await < 12 {
        assert!(std::time::Instant::now() < deadline, "not all sent in 90 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Past a few more leases: a message claimed again would be sent again by now.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let received = relay.received();
    let ids: HashSet<&str> = received.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(
        (received.len(), ids.len()),
        (12, 12),
        "each message once: {received:?}"
    );
    let (a, b) = (
        first.log_count("message sent"),
        second.log_count("message sent"),
    );
    assert_eq!(a + b, 12, "{a} + {b}");
    let lease_warnings = |rekey: &Rekey| {
        rekey
            .log_lines()
            .iter()
            .filter(|line| {
                line["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("lease"))
            })
            .count()
    };
    assert_eq!(
        lease_warnings(&first) + lease_warnings(&second),
        0,
        "every renewal kept the whole batch"
    );
}

/// An instance's batch hangs on a relay that never answers: its claims hold for longer than a
/// lease while it lives, and when it is killed, another instance, with the shipped lease and
/// poll interval, delivers that batch within 15 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instances_claimed_messages_go_out_from_another_within_15_s() {
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let (queue, url) = queue_on_postgres(6, key).await;
    let stalled = SlowSmtp::start(None).await;
    let mut env = smtp_env(stalled.port);
    env.push(("REKEY__SECRETS__KEY".into(), key.into()));
    env.push(("REKEY__EMAIL__SMTP__TIMEOUT".into(), "120s".into()));
    let dying = Rekey::start_on(&url, &refs(&env)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while queue
        .count("outbox WHERE status = 'pending' AND attempts = 1 AND next_attempt_at > now() AT TIME ZONE 'UTC'")
        .await
        < 6
    {
        assert!(std::time::Instant::now() < deadline, "not claimed in 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let smtp = SmtpServer::start();
    let env: Vec<(String, String)> = smtp_env(smtp.port)
        .into_iter()
        .filter(|(name, _)| name != "REKEY__DELIVERY__POLL_INTERVAL")
        .chain([("REKEY__SECRETS__KEY".to_owned(), key.to_owned())])
        .collect();
    let survivor = Rekey::start_on(&url, &refs(&env)).await;
    // For longer than one lease (10 s) the survivor polls and finds nothing due: the stalled
    // instance's renewals keep its claims.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(
        smtp.mails().is_empty(),
        "claimed messages are not sent twice while claimed"
    );
    let killed = std::time::Instant::now();
    let _gone = dying.kill_hard();
    let mails = smtp.wait_for(6, Duration::from_secs(30)).await;
    let took = killed.elapsed();
    println!("the dead instance's 6 claimed messages went out {took:?} after the kill");
    assert!(
        took <= Duration::from_secs(15),
        "delivered {took:?} after the kill"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.mails().len(), 6, "once each: {mails:?}");
    assert_eq!(survivor.count("outbox WHERE status = 'sent'").await, 6);
}
