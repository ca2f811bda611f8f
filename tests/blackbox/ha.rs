//! High availability end to end: two `rekey` instances behind HAProxy, on a pg_auto_failover
//! formation (a monitor, a primary and its synchronous standby), mailing through aiosmtpd,
//! under load from eight clients while the database fails over, planned and by a crash, and
//! while one instance is killed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::Rekey;
use crate::smtp::{SmtpServer, free_port};

/// HAProxy in front of the instances, with docs/DEPLOYMENT.md's configuration: it
/// health-checks `/debug/ready` every 500 ms, sends a request that could not connect (or got no
/// answer) to the other instance, and when no instance is ready answers 503 itself, in the
/// API's error shape.
pub struct Haproxy {
    child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    /// Starts HAProxy on a free port, balancing over `backends` (`host:port`).
    pub fn start(backends: [&str; 2]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let errorfile = dir.path().join("503.http");
        std::fs::write(&errorfile, crate::deployment::block("http")).unwrap();
        let bind = format!("127.0.0.1:{port}");
        let config = crate::deployment::haproxy_config(&bind, backends, &errorfile);
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy (apt-get install haproxy)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "HAProxy did not start");
            std::thread::park_timeout(Duration::from_millis(50));
        }
        Self {
            child,
            base: format!("http://{bind}"),
            _dir: dir,
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer a client got.
struct Record {
    user: String,
    send_link: bool,
    status: u16,
    /// The error code of a 503 (14, Unavailable, from rekey or from HAProxy).
    code: Option<i64>,
    sequence: Option<i64>,
    at: Instant,
    took: Duration,
}

/// Resets `user`'s password through `base` until `stop` is set.
async fn client(
    base: String,
    token: String,
    user: String,
    send_link: bool,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<Record> {
    let http = reqwest::Client::new();
    let body = match send_link {
        true => json!({ "sendLink": {} }),
        false => json!({ "returnCode": {} }),
    };
    let url = format!("{base}/v2/users/{user}/password_reset");
    let mut records = Vec::new();
    // The request in flight when the run stops is finished and recorded, so that each
    // client's last reset is known.
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let asked = Instant::now();
        let response = http.post(&url).bearer_auth(&token).json(&body).send().await;
        let (status, answer) = match response {
            Ok(response) => {
                let status = response.status().as_u16();
                (
                    status,
                    response.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
            // Counted as an answer outside 200 and 503: HAProxy must always answer.
            Err(_) => (0, Value::Null),
        };
        let sequence = match &answer["details"]["sequence"] {
            Value::String(text) => text.parse().ok(),
            other => other.as_i64(),
        };
        records.push(Record {
            user: user.clone(),
            send_link,
            status,
            code: answer["code"].as_i64(),
            sequence,
            at: Instant::now(),
            took: asked.elapsed(),
        });
        if status != 200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    records
}

/// The first 200 at or after `since`, as time after `since`.
fn first_200_after(records: &[Record], since: Instant) -> Option<Duration> {
    records
        .iter()
        .filter(|r| r.status == 200 && r.at >= since)
        .map(|r| r.at - since)
        .min()
}

/// When `at` was by the wall clock, to line the test's moments up with the monitor's events.
#[allow(
    clippy::disallowed_methods,
    reason = "the machine's clock, as the monitor's event times use it"
)]
fn wall_clock(at: Instant) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - at.elapsed()
}

/// Waits at most `limit` until node `primary` commits synchronously
/// ([`rekey_test_db::Formation::synchronous`]); how long it took.
async fn until_synchronous(
    formation: &rekey_test_db::Formation,
    primary: usize,
    limit: Duration,
) -> Duration {
    within(limit, "the primary commits synchronously", async || {
        tokio::task::block_in_place(|| formation.synchronous(primary))
    })
    .await
}

/// Polls `check` every 100 ms until it holds, for at most `limit`; how long it took.
async fn within(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

/// Eight clients (four returnCode, four sendLink) through HAProxy to two instances for the
/// whole run, while:
/// 1. the monitor performs a planned failover (`pg_autoctl perform failover`);
/// 2. one instance is killed with SIGKILL (HAProxy sends its requests to the other);
/// 3. the new primary's machine crashes (SIGKILL of its `pg_autoctl` and PostgreSQL), and the
///    monitor promotes the standby once it counts the primary as failed.
///
/// Clients only ever see 200 or 503; the first 200 comes within 15 s of each promotion;
/// `/debug/ready` answers 503 while there is no primary; every reset answered 200 has its
/// `code.added` event on the last primary (synchronous replication: nothing acknowledged is
/// lost); and every sendLink user gets a mail, with nothing left pending or dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failovers_and_a_killed_instance_lose_no_acknowledged_reset() {
    let dir = rekey_test_db::cluster_dir();
    let started = Instant::now();
    let mut formation = tokio::task::block_in_place(|| rekey_test_db::Formation::start(dir.path()));
    let formed = started.elapsed();
    let smtp = SmtpServer::start();
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let env = |node: &str| -> Vec<(String, String)> {
        [
            ("REKEY__EMAIL__TRANSPORT", "smtp"),
            ("REKEY__EMAIL__SMTP__HOST", "127.0.0.1"),
            ("REKEY__EMAIL__SMTP__PORT", &smtp.port.to_string()),
            ("REKEY__EMAIL__SMTP__TLS", "none"),
            ("REKEY__DELIVERY__POLL_INTERVAL", "200ms"),
            ("REKEY__DATABASE__CONNECT_TIMEOUT", "1s"),
            ("REKEY__SECRETS__KEY", key),
            ("REKEY__SERVER__NODE_ID", node),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    };
    let (first_env, second_env) = (env("1"), env("2"));
    let first_pairs: Vec<(&str, &str)> = first_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let second_pairs: Vec<(&str, &str)> = second_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let first = Rekey::start_on(&formation.url(), &first_pairs).await;
    let second = Rekey::start_on(&formation.url(), &second_pairs).await;
    let strip = |base: &str| base.trim_start_matches("http://").to_owned();
    let haproxy = Haproxy::start([&strip(&first.base), &strip(&second.base)]);
    let token = first.admin_token.clone();
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(
            first
                .add_user(&first.org_id, &format!("user{i}"), None)
                .await,
        );
    }
    within(
        Duration::from_secs(10),
        "HAProxy sees both ready",
        async || {
            let url = format!("{}/debug/ready", haproxy.base);
            reqwest::get(&url).await.is_ok_and(|r| r.status() == 200)
        },
    )
    .await;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Tasks of their own: the failover's commands block the test's task while they run, and
    // must not stop the clients (which would show as slow answers).
    let clients: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let (base, token, stop) = (haproxy.base.clone(), token.clone(), stop.clone());
            tokio::spawn(client(base, token, user.clone(), i % 2 == 1, stop))
        })
        .collect();
    let clients = futures_util::future::join_all(clients);
    let mut first = Some(first);
    let events = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        // 1. Planned failover.
        tokio::task::block_in_place(|| formation.perform_failover());
        let planned = Instant::now();
        // The new primary commits asynchronously until the old one has rejoined as its
        // synchronous standby: measured, for DEPLOYMENT.md.
        let new_primary = tokio::task::block_in_place(|| formation.primary())
            .expect("a primary after the planned failover");
        let resynchronised =
            until_synchronous(&formation, new_primary, Duration::from_secs(60)).await;
        tokio::time::sleep(Duration::from_secs(8).saturating_sub(planned.elapsed())).await;
        // 2. One instance dies. The messages claimed at that moment (by it, or by the other)
        // go out within 15 s: the dead one's as soon as their lease runs out.
        let primary = formation
            .primary()
            .expect("a primary after the planned failover");
        let db = rekey_test_db::connect(&formation.node_url(primary)).await;
        drop(first.take().map(Rekey::kill_hard));
        let killed = Instant::now();
        let claimed: Vec<String> = db
            .query(
                "SELECT id FROM outbox WHERE status = 'pending' AND attempts > 0 \
                 AND next_attempt_at > (now() AT TIME ZONE 'utc')",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        let pending = async || -> i64 {
            db.query_one(
                "SELECT count(*) FROM outbox WHERE id = ANY($1) AND status = 'pending'",
                &[&claimed],
            )
            .await
            .unwrap()
            .get(0)
        };
        let claims_sent = within(
            Duration::from_secs(15),
            "the messages claimed at the kill go out",
            async || pending().await == 0,
        )
        .await;
        let claims = (claimed.len(), claims_sent);
        tokio::time::sleep(Duration::from_secs(5).saturating_sub(killed.elapsed())).await;
        // 3. The primary's machine crashes.
        let primary = formation
            .primary()
            .expect("a primary after the planned failover");
        // pg_auto_failover guarantees nothing acknowledged is lost only while the primary
        // commits synchronously: with two data nodes it turns synchronous replication off while
        // its standby is unhealthy or catching up, and on again a keeper cycle after the standby
        // is `secondary` (and may be promoted) again. The planned failover left such a window.
        let synchronous = until_synchronous(&formation, primary, Duration::from_secs(30)).await;
        let before_crash = (
            formation.states(),
            rekey_test_db::connect(&formation.node_url(primary))
                .await
                .query_one(
                    "SELECT coalesce(string_agg(sync_state, ','), 'none') FROM pg_stat_replication",
                    &[],
                )
                .await
                .map(|row| row.get::<_, String>(0))
                .unwrap_or_default(),
        );
        eprintln!(
            "before the crash (seen synchronous in {synchronous:?}): states {:?}, replication {}",
            before_crash.0, before_crash.1
        );
        formation.crash(primary);
        let crashed = Instant::now();
        let not_ready = within(Duration::from_secs(10), "readiness says 503", async || {
            second.get("/debug/ready", None).await.status == 503
        })
        .await;
        let standby = 1 - primary;
        let unplanned = within(
            Duration::from_secs(90),
            "the standby takes writes",
            async || formation.takes_writes(standby),
        )
        .await;
        let promoted = Instant::now();
        within(
            Duration::from_secs(15),
            "readiness says 200 again",
            async || second.get("/debug/ready", None).await.status == 200,
        )
        .await;
        tokio::time::sleep(Duration::from_secs(8)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (
            (planned, resynchronised),
            killed,
            claims,
            crashed,
            not_ready,
            unplanned,
            promoted,
            standby,
        )
    };
    let (
        records,
        ((planned, resynchronised), killed, claims, crashed, not_ready, unplanned, promoted, last),
    ) = tokio::join!(clients, events);
    let records: Vec<Record> = records.into_iter().flat_map(Result::unwrap).collect();

    let mut others: Vec<u16> = records
        .iter()
        .map(|r| r.status)
        .filter(|s| *s != 200 && *s != 503)
        .collect();
    others.dedup();
    assert!(
        others.is_empty(),
        "answers other than 200 and 503: {others:?}"
    );
    let codes: std::collections::BTreeSet<Option<i64>> = records
        .iter()
        .filter(|r| r.status == 503)
        .map(|r| r.code)
        .collect();
    assert!(
        codes.iter().all(|code| *code == Some(14)),
        "503 codes {codes:?}"
    );
    // No request hangs: the wait for a connection and the wait for the reset's commit are
    // each bounded by `database.connect_timeout` (1 s). (Without the commit's bound, the
    // requests in flight at the planned failover waited 3.2-4.8 s for it, then succeeded.)
    let slowest = records.iter().map(|r| r.took).max().unwrap();
    assert!(
        slowest < Duration::from_millis(2500),
        "a request took {slowest:?}"
    );
    let after_planned = first_200_after(&records, planned).expect("200s after the failover");
    let after_kill = first_200_after(&records, killed).expect("200s after the kill");
    let after_crash = first_200_after(&records, promoted).expect("200s after the crash");
    assert!(
        after_planned < Duration::from_secs(15),
        "planned: {after_planned:?}"
    );
    assert!(
        after_crash < Duration::from_secs(15),
        "crash: {after_crash:?}"
    );

    let new_primary = rekey_test_db::connect(&formation.node_url(last)).await;
    let acknowledged: Vec<&Record> = records.iter().filter(|r| r.status == 200).collect();
    let mut lost = 0;
    for record in &acknowledged {
        let sequence = record.sequence.expect("a 200 carries details.sequence");
        let found = new_primary
            .query(
                "SELECT 1 FROM events WHERE aggregate_id = $1 AND sequence = $2 \
                 AND event_type = 'user.human.password.code.added'",
                &[&record.user, &sequence],
            )
            .await
            .unwrap();
        if found.is_empty() {
            lost += 1;
            if lost <= 5 {
                let wall = wall_clock(record.at);
                eprintln!(
                    "lost: {} {sequence}, answered at {wall} UTC, {:?} after the crash (negative: {}), {:?} after the promotion (negative: {})",
                    record.user,
                    record.at.saturating_duration_since(crashed),
                    record.at < crashed,
                    record.at.saturating_duration_since(promoted),
                    record.at < promoted
                );
            }
        }
    }
    if lost > 0 {
        eprintln!(
            "planned failover at {} UTC, crash at {} UTC; the monitor's events:\n{}",
            wall_clock(planned),
            wall_clock(crashed),
            formation.events()
        );
    }
    assert_eq!(lost, 0, "acknowledged resets missing on the last primary");

    // Every message is sent or skipped (superseded) within a lease and a few polls.
    let count = async |filter: &str| -> i64 {
        new_primary
            .query_one(&format!("SELECT count(*) FROM outbox WHERE {filter}"), &[])
            .await
            .unwrap()
            .get(0)
    };
    let drained = within(Duration::from_secs(60), "the outbox drains", async || {
        count("status = 'pending'").await == 0
    })
    .await;
    assert_eq!(count("status = 'dead'").await, 0, "no message given up");
    // Each sendLink user's latest acknowledged code went out, as a mail with its message's id.
    let mails = smtp.mails();
    let mut by_id = std::collections::BTreeMap::<&str, usize>::new();
    for mail in &mails {
        *by_id.entry(mail.message_id.as_str()).or_default() += 1;
    }
    let duplicates: usize = by_id.values().map(|n| n - 1).sum();
    let mut latest = std::collections::BTreeMap::<&str, i64>::new();
    for record in records.iter().filter(|r| r.send_link && r.status == 200) {
        let sequence = record.sequence.unwrap();
        let entry = latest.entry(record.user.as_str()).or_insert(sequence);
        *entry = (*entry).max(sequence);
    }
    assert_eq!(latest.len(), 4, "every sendLink client was answered 200");
    // A user whose last committed reset was answered 503 (committed as the instance serving it
    // died) has no acknowledged latest code: counted, not checked.
    let mut unacknowledged_last = 0;
    for (user, sequence) in &latest {
        let last: i64 = new_primary
            .query_one(
                "SELECT max(sequence) FROM events WHERE aggregate_id = $1 \
                 AND event_type = 'user.human.password.code.added'",
                &[user],
            )
            .await
            .unwrap()
            .get(0);
        if last != *sequence {
            unacknowledged_last += 1;
            continue;
        }
        let status: String = new_primary
            .query_one(
                "SELECT status FROM outbox WHERE user_id = $1 AND code_sequence = $2",
                &[user, sequence],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(status, "sent", "{user}'s latest code, {sequence}");
        // A mail's Message-ID names the user and the code's sequence.
        let id = format!("<{user}.{sequence}@rekey>");
        assert!(by_id.contains_key(id.as_str()), "{id} was mailed");
    }
    assert!(
        unacknowledged_last < 4,
        "some users' last reset was acknowledged"
    );

    // The longest time without a 200 around each event (from the last 200 before it), and the
    // 503s in it.
    let mut successes: Vec<Instant> = records
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.at)
        .collect();
    successes.sort();
    let outage = |from: Instant, to: Instant| {
        let gap = successes
            .windows(2)
            .filter(|w| w[1] >= from && w[1] < to)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default();
        let refused = records
            .iter()
            .filter(|r| r.status == 503 && r.at >= from && r.at < to)
            .count();
        (gap, refused)
    };
    let start = records.iter().map(|r| r.at).min().unwrap();
    let end = records.iter().map(|r| r.at).max().unwrap();
    let planned_outage = outage(start, killed);
    let kill_outage = outage(killed, crashed);
    let crash_outage = outage(crashed, end);
    println!(
        "formation up in {formed:?}; {} acknowledged ({} sendLink), 0 lost; \
         planned failover: longest gap without a 200 {:?}, {} answers 503, first 200 {after_planned:?} \
         after `perform failover` returned, synchronous again {resynchronised:?} after it; instance kill: gap {:?}, {} answers 503, first 200 \
         {after_kill:?} after the kill, the {} messages claimed at the kill sent within {:?}; crash: readiness 503 {not_ready:?} after it, the standby \
         took writes {unplanned:?} later, gap {:?}, {} answers 503, first 200 {after_crash:?} after \
         the promotion; slowest answer {slowest:?}; outbox drained {drained:?} after the load; {} \
         mails, {duplicates} duplicates; {unacknowledged_last} of 4 sendLink users' last reset \
         unacknowledged",
        acknowledged.len(),
        acknowledged.iter().filter(|r| r.send_link).count(),
        planned_outage.0,
        planned_outage.1,
        kill_outage.0,
        kill_outage.1,
        claims.0,
        claims.1,
        crash_outage.0,
        crash_outage.1,
        mails.len(),
    );
}
