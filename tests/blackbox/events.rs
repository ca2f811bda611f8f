//! Events to other systems (`[[events.targets]]`), as ZITADEL's Actions v2 sends them: a
//! receiver that fails twice then accepts gets each password change exactly once, every POST
//! signed with the target's key and none carrying a hash; and a delivery queued before a
//! `kill -9` arrives after the restart.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Backend, Rekey, on_both_backends};

on_both_backends!(password_changes_reach_a_target_once_signed_and_without_a_hash);

const KEY: &str = "a-signing-key-for-the-test-target";
const PASSWORD: &str = "N3w-Passw0rd!";

/// A configuration file with one target at `url` for password changes; and the environment
/// that makes retries quick.
fn configured(dir: &std::path::Path, url: &str) -> Vec<(String, String)> {
    let file = dir.join("events.toml");
    std::fs::write(
        &file,
        format!(
            "[[events.targets]]\nurl = \"{url}\"\nsigning_key = \"{KEY}\"\n\
             events = [\"user.human.password.changed\", \"user.locked\"]\n"
        ),
    )
    .expect("the config file");
    vec![
        ("REKEY_CONFIG".into(), file.display().to_string()),
        ("REKEY__DELIVERY__BACKOFF_BASE".into(), "200ms".into()),
        ("REKEY__DELIVERY__BACKOFF_MAX".into(), "400ms".into()),
        ("REKEY__DELIVERY__POLL_INTERVAL".into(), "100ms".into()),
    ]
}

/// The POSTs the receiver got so far, as (signature header, body).
async fn received(receiver: &MockServer) -> Vec<(String, Value)> {
    receiver
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|request| {
            let signature = request
                .headers
                .get("ZITADEL-Signature")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body: Value = serde_json::from_slice(&request.body).expect("a JSON body");
            assert!(
                verifies(&signature, &request.body),
                "ZITADEL-Signature verifies with the target's key: {signature}"
            );
            let text = String::from_utf8_lossy(&request.body);
            assert!(
                !text.contains("argon2") && !text.contains("encodedHash"),
                "no hash in the body: {text}"
            );
            (signature, body)
        })
        .collect()
}

/// `t=…,v1=…` with v1 = hex HMAC-SHA-256(key, "t.body"), within 5 minutes of now.
fn verifies(header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).expect("any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1 && (unix_now() - t).abs() <= 300
}

#[allow(
    clippy::disallowed_methods,
    reason = "a signature's timestamp is checked against wall time, as a receiver does"
)]
fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Waits until the receiver got `count` POSTs.
async fn wait_for(receiver: &MockServer, count: usize) -> Vec<(String, Value)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = received(receiver).await;
        if got.len() >= count {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "the receiver got {} of {count} POSTs within 30 s",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sets `user`'s password to `password` through a returned code; answers its event's sequence.
async fn change_password(rekey: &Rekey, user: &str, password: &str) -> u64 {
    let code = rekey.returned_code(user).await;
    let set = rekey
        .post(
            &format!("/v2/users/{user}/password"),
            Some(&rekey.admin_token),
            &json!({ "newPassword": { "password": password }, "verificationCode": code })
                .to_string(),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    set.body["details"]["sequence"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a sequence")
}

async fn password_changes_reach_a_target_once_signed_and_without_a_hash(backend: Backend) {
    let receiver = MockServer::start().await;
    // Twice 500, then 200.
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&receiver)
        .await;
    let config_dir = tempfile::tempdir().expect("a temp dir");
    let env = configured(config_dir.path(), &format!("{}/hook", receiver.uri()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let rekey = Rekey::start(backend, &env).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;

    let sequence = change_password(&rekey, &user, PASSWORD).await;
    let posts = wait_for(&receiver, 3).await;
    // The third succeeded; nothing more comes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let posts_after = received(&receiver).await;
    assert_eq!(
        posts_after.len(),
        3,
        "two failures and one success, no more"
    );
    for (_, body) in &posts {
        assert_eq!(body["event_type"], "user.human.password.changed");
        assert_eq!(body["aggregateID"], json!(user));
        assert_eq!(body["aggregateType"], "user");
        assert_eq!(body["resourceOwner"], json!(rekey.org_id));
        assert_eq!(body["instanceID"], "rekey");
        assert_eq!(
            body["sequence"],
            json!(sequence),
            "a JSON number, as ZITADEL sends"
        );
        assert_eq!(body["event_payload"]["verified_by"], "code");
    }
    assert!(
        posts.windows(2).all(|pair| pair[0].1 == pair[1].1),
        "one logical event: the same body every time"
    );

    // A change whose delivery is pending when rekey is killed arrives after the restart.
    receiver.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&receiver)
        .await;
    let second = change_password(&rekey, &user, "An0ther-Passw0rd!").await;
    wait_for(&receiver, 1).await;
    let stopped = rekey.kill_hard();
    receiver.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let rekey = Rekey::restart(stopped, &env).await;
    let posts = wait_for(&receiver, 1).await;
    assert_eq!(
        posts[0].1["sequence"],
        json!(second),
        "the queued event, after the restart"
    );
    assert_eq!(posts[0].1["event_type"], "user.human.password.changed");
    rekey.assert_logs_clean();
}
