//! The database going away under a running `rekey`, and coming back.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Protocol, Rekey};

/// Stops a private PostgreSQL cluster under a running `rekey`: requests answer 503 (code 14,
/// no internal text) within the connect timeout and readiness says not ready; once the
/// cluster is back, requests succeed again without a restart of `rekey`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_503_and_heals_without_a_restart() {
    let dir = rekey_test_db::cluster_dir();
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
    recovered(reset).await;
    assert_eq!(rekey.get("/debug/ready", None).await.status, 200);
}

/// Retries `reset` until it answers 200 (every other answer must be 503 code 14), for at most
/// 20 s, without a restart of `rekey`; answers the 200.
pub(crate) async fn recovered<F, A>(reset: F) -> crate::harness::Answer
where
    F: Fn() -> A,
    A: std::future::Future<Output = crate::harness::Answer>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = reset().await;
        if answer.status == 200 {
            return answer;
        }
        assert_eq!(
            (answer.status, answer.code()),
            (503, Some(14)),
            "{}",
            answer.body
        );
        assert!(
            Instant::now() < deadline,
            "rekey did not recover within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `ALTER DATABASE … SET default_transaction_read_only` on `rekey`'s database, then ends its
/// sessions so that new ones take the setting (as connections to a standby would be).
async fn set_read_only(rekey: &Rekey, read_only: bool) {
    let url = rekey.database_url().expect("PostgreSQL");
    let database = url.rsplit('/').next().unwrap().split('?').next().unwrap();
    let admin = rekey_test_db::connect(&rekey_test_db::admin_url()).await;
    let value = if read_only { "on" } else { "off" };
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{database}\" SET default_transaction_read_only = {value}; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{database}' AND pid <> pg_backend_pid();"
        ))
        .await
        .expect("alter database");
}

/// A database that only reads (a standby, or one made read-only) refuses every write with
/// SQLSTATE 25006: rekey answers 503 code 14, as for a database that is away, never 500, and
/// writes again once the database takes writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_is_503_and_heals_without_a_restart() {
    let rekey = Rekey::start(crate::harness::Backend::Postgres, &[]).await;
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

    set_read_only(&rekey, true).await;
    // The first requests may meet the ended sessions (503 too); then the new, read-only ones.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..6 {
        let answer = reset().await;
        assert_eq!(answer.status, 503, "{}", answer.body);
        assert_eq!(answer.code(), Some(14), "{}", answer.body);
        let message = answer.body["message"].as_str().unwrap();
        assert!(
            message.starts_with("Service temporarily unavailable (request id "),
            "no internal text: {message}"
        );
    }
    assert!(
        rekey
            .log_lines()
            .iter()
            .any(|line| line.to_string().contains("read-only transaction")),
        "a log line names the cause"
    );

    set_read_only(&rekey, false).await;
    let answer = recovered(reset).await;
    assert!(
        answer.body["verificationCode"].as_str().is_some(),
        "the code is issued: {}",
        answer.body
    );
}
