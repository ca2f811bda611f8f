//! The database going away under a running `rekey`, and coming back.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Protocol, Rekey};

/// Stops a private PostgreSQL cluster under a running `rekey`: requests answer 503 (code 14,
/// no internal text) within the connect timeout and readiness says not ready; once the
/// cluster is back, requests succeed again without a restart of `rekey`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_503_and_heals_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = rekey_test_db::Cluster::start(dir.path());
    let rekey = Rekey::start_on(
        &cluster.url(),
        &[("REKEY__DATABASE__CONNECT_TIMEOUT", "1s")],
    )
    .await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let token = rekey.admin_token.clone();
    let reset = || {
        rekey.password_reset(
            Protocol::Rest,
            Some(&token),
            &user,
            json!({ "returnCode": {} }),
        )
    };
    assert_eq!(reset().await.status, 200);

    cluster.stop();
    for protocol in [Protocol::Rest, Protocol::Connect, Protocol::Grpc] {
        let started = Instant::now();
        let answer = rekey
            .password_reset(protocol, Some(&token), &user, json!({ "returnCode": {} }))
            .await;
        let took = started.elapsed();
        assert_eq!(answer.status, 503, "{protocol:?}: {}", answer.body);
        assert_eq!(answer.code(), Some(14), "{}", answer.body);
        let message = answer.body["message"].as_str().unwrap();
        assert!(
            message.starts_with("Service temporarily unavailable (request id "),
            "{message}"
        );
        assert!(
            took < Duration::from_secs(5),
            "answered within the timeout, took {took:?}"
        );
    }
    let ready = rekey.get("/debug/ready", None).await;
    assert_eq!(
        (ready.status, ready.body),
        (503, json!({ "status": "not ready" }))
    );
    assert_eq!(
        rekey.get("/debug/healthz", None).await.status,
        200,
        "the process is alive"
    );

    cluster.resume();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = reset().await;
        if answer.status == 200 {
            break;
        }
        assert_eq!(answer.status, 503, "{}", answer.body);
        assert!(
            Instant::now() < deadline,
            "rekey did not recover within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(rekey.get("/debug/ready", None).await.status, 200);
}
