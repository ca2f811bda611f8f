//! The floors a PasswordReset is compared with: its SQL without rekey around it.
//!
//! - pgbench (C, libpq) replays the statements of one reset, prepared: the floor for
//!   throughput and p99; its own CPU per transaction (with the log line it writes for each,
//!   for the p99) is reported beside it.
//! - The same statements through tokio-postgres, the driver rekey's database adapter sits on,
//!   on two single-threaded runtimes like rekey's HTTP workers: what the database round trips
//!   alone cost a Rust process, without HTTP, JSON, diesel or rekey's use case.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::{cost, load};

/// Which PasswordReset a floor replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    ReturnCode,
    SendLink,
}

/// One statement of a reset: `{n}` is the user's number, `{seq}` the sequence the user load
/// read; `loads_sequence` marks the statement whose first column is that sequence.
struct Statement {
    sql: String,
    loads_sequence: bool,
}

/// The statements of one PasswordReset as rekey sends them once its token is remembered: the
/// caller budget's upsert, the user load, for sendLink the send budgets' transaction, and the
/// write (one statement: the guarded update feeding the event, the code and, for sendLink,
/// the outbox row).
fn statements(floor: Floor) -> Vec<Statement> {
    let now = "CAST(extract(epoch FROM now()) * 1000000 AS bigint)";
    let take = |key: &str| Statement {
        sql: format!(
            "INSERT INTO rate_limits (key, tat, refused) VALUES ({key}, {now} + 1, 0) ON CONFLICT (key) DO UPDATE SET tat = (CASE WHEN rate_limits.tat > {now} THEN rate_limits.tat ELSE {now} END) + 1, refused = 0 WHERE (CASE WHEN rate_limits.tat > {now} THEN rate_limits.tat ELSE {now} END) + 1 <= {now} + 1000000 RETURNING tat, refused"
        ),
        loads_sequence: false,
    };
    let plain = |sql: &str| Statement {
        sql: sql.to_owned(),
        loads_sequence: false,
    };
    let mut all = vec![take("'bench-caller'")];
    // The whole row, as rekey loads it; only its sequence is kept.
    all.push(Statement {
        sql: "SELECT u.sequence FROM (SELECT * FROM users WHERE id = 'bench-' || {n} LIMIT 1) u"
            .to_owned(),
        loads_sequence: true,
    });
    if floor == Floor::SendLink {
        all.push(plain("BEGIN"));
        all.push(take("md5('user' || {n})"));
        all.push(take("md5('recipient' || {n})"));
        all.push(plain("COMMIT"));
    }
    let (notification, returned) = match floor {
        Floor::ReturnCode => ("NULL", "true"),
        Floor::SendLink => ("'email'", "false"),
    };
    let queued = if floor == Floor::SendLink {
        ", queued AS (INSERT INTO outbox (id, kind, user_id, channel, recipient_masked, key_id, payload, code_sequence, idempotency_key, status, attempts, next_attempt_at, created_at) SELECT md5(random()::text), 'password_reset', id, 'email', 'b***@example.com', 'k0', decode(repeat(md5(random()::text), 20), 'hex'), {seq} + 1, md5(random()::text), 'pending', 0, now(), now() FROM advanced RETURNING 1)"
    } else {
        ""
    };
    all.push(plain(&format!(
        "WITH advanced AS (UPDATE users SET sequence = {{seq}} + 1, changed_at = now() WHERE id = 'bench-' || {{n}} AND sequence = {{seq}} RETURNING id), \
         event AS (INSERT INTO events (aggregate_id, sequence, aggregate_type, event_type, payload, resource_owner, creator, created_at) SELECT id, {{seq}} + 1, 'user', 'user.human.password.code.added', CAST(json_build_object('expires_at', now() + interval '1 hour', 'code_returned', {returned}, 'key_id', 'k0') AS text), 'org', 'SYSTEM', now() FROM advanced RETURNING 1), \
         code AS (INSERT INTO password_codes (user_id, code_hash, key_id, created_at, expires_at, sequence, failed_attempts, notification_type, url_template, returned) SELECT id, md5(random()::text) || md5(random()::text), 'k0', now(), now() + interval '1 hour', {{seq}} + 1, 0, {notification}, NULL, {returned} FROM advanced ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash, key_id = excluded.key_id, created_at = excluded.created_at, expires_at = excluded.expires_at, sequence = excluded.sequence, failed_attempts = 0, notification_type = excluded.notification_type, url_template = excluded.url_template, returned = excluded.returned RETURNING 1){queued} \
         SELECT count(*) FROM advanced"
    )));
    all
}

/// What pgbench measured: transactions per second, p99 (ms), and its own CPU per transaction.
#[derive(Debug, Clone, Copy)]
pub struct Pgbench {
    pub tps: f64,
    pub p99_ms: f64,
    pub client_cpu_us: f64,
}

/// pgbench replaying one PasswordReset's statements, prepared, at `clients` connections.
pub fn pgbench(
    url: &str,
    clients: usize,
    users: usize,
    run: Duration,
    floor: Floor,
) -> Result<Pgbench, String> {
    let script = std::env::temp_dir().join(format!("rekey-password-reset-{floor:?}.sql"));
    let mut sql = format!("\\set n random(0, {last})\n", last = users - 1);
    for statement in statements(floor) {
        let text = statement
            .sql
            .replace("{n}", ":n")
            .replace("{seq}", ":u_sequence");
        sql.push_str(&text);
        // A NULL cannot be \gset: the statement keeps only the sequence.
        sql.push_str(if statement.loads_sequence {
            " \\gset u_\n"
        } else {
            ";\n"
        });
    }
    std::fs::write(&script, sql).map_err(|e| e.to_string())?;
    let log_dir = tempdir_for_pgbench()?;
    // Asked before: `getconf` is a child too.
    let ticks_per_second = cost::ticks_per_second();
    let cpu_before = children_cpu_ticks();
    let output = Command::new("pgbench")
        .arg(url)
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
        ])
        .args(["-T", &run.as_secs().max(1).to_string(), "-f"])
        .arg(&script)
        .args(["-l", "--log-prefix"])
        .arg(log_dir.join("pgbench"))
        .output()
        .map_err(|e| format!("pgbench: {e}"))?;
    // pgbench is the only child reaped meanwhile: the difference is its CPU.
    let cpu = children_cpu_ticks().saturating_sub(cpu_before) as f64 / ticks_per_second;
    if !output.status.success() {
        return Err(format!(
            "pgbench: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |prefix: &str, index: usize| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(index))
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let tps = field("tps", 2);
    let transactions = field("number of transactions actually processed", 5);
    // Per-transaction latencies (µs, 3rd field) from the logs, for the p99.
    let mut latencies: Vec<u64> = std::fs::read_dir(&log_dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .filter_map(|f| std::fs::read_to_string(f.path()).ok())
        .flat_map(|log| {
            log.lines()
                .filter_map(|l| l.split_whitespace().nth(2).and_then(|v| v.parse().ok()))
                .collect::<Vec<u64>>()
        })
        .collect();
    latencies.sort_unstable();
    let p99_ms = latencies
        .get(latencies.len().saturating_sub(1) * 99 / 100)
        .map_or(0.0, |us| *us as f64 / 1000.0);
    let _ = std::fs::remove_dir_all(&log_dir);
    Ok(Pgbench {
        tps,
        p99_ms,
        client_cpu_us: cpu * 1e6 / transactions.max(1.0),
    })
}

/// CPU ticks of this process's reaped children (`/proc/self/stat` cutime + cstime).
fn children_cpu_ticks() -> u64 {
    let read = || {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields 16 and 17 of stat; after the command's ')' the fields start at 3.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        Some(fields.get(13)?.parse::<u64>().ok()? + fields.get(14)?.parse::<u64>().ok()?)
    };
    read().unwrap_or(0)
}

fn tempdir_for_pgbench() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("rekey-pgbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// The statements through tokio-postgres, prepared once per connection, on `threads`
/// single-threaded runtimes with `clients` connections between them, back to back for
/// `warmup` + `duration`. The cost is this process's CPU (the meter's pid) and the PostgreSQL
/// backends', per reset in the measured window.
pub async fn driver(
    url: &str,
    clients: usize,
    users: usize,
    (warmup, duration): (Duration, Duration),
    floor: Floor,
    meter: &cost::Meter,
) -> Result<(load::Measured, cost::Cost), String> {
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let recording = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let (ready, mut connected) = tokio::sync::mpsc::channel::<Result<(), String>>(threads);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let connections = clients / threads + usize::from(t < clients % threads);
            let (url, recording, stop, errors, ready) = (
                url.to_owned(),
                Arc::clone(&recording),
                Arc::clone(&stop),
                Arc::clone(&errors),
                ready.clone(),
            );
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async move {
                    let mut tasks = Vec::new();
                    for c in 0..connections {
                        let connection = match connect(&url, floor).await {
                            Ok(connected) => connected,
                            Err(error) => {
                                let _ = ready.send(Err(error)).await;
                                return Histogram::new(3).map_err(|e| e.to_string());
                            }
                        };
                        let (recording, stop, errors) =
                            (recording.clone(), stop.clone(), errors.clone());
                        let seed = (t * 7919 + c * 104_729) % users.max(1);
                        let mut histogram = Histogram::<u64>::new(3).map_err(|e| e.to_string())?;
                        tasks.push(tokio::spawn(async move {
                            let mut n = seed;
                            while !stop.load(Ordering::Relaxed) {
                                n = (n + 7919) % users.max(1);
                                let started = Instant::now();
                                if reset(&connection, n).await.is_err() {
                                    errors.fetch_add(1, Ordering::Relaxed);
                                }
                                if recording.load(Ordering::Relaxed) {
                                    let us = started.elapsed().as_micros();
                                    let _ = histogram.record(u64::try_from(us).unwrap_or(u64::MAX));
                                }
                            }
                            histogram
                        }));
                    }
                    let _ = ready.send(Ok(())).await;
                    let mut all = Histogram::<u64>::new(3).map_err(|e| e.to_string())?;
                    for task in tasks {
                        let part = task.await.map_err(|e| e.to_string())?;
                        all.add(part).map_err(|e| e.to_string())?;
                    }
                    Ok::<_, String>(all)
                })
            })
        })
        .collect();
    drop(ready);
    for _ in 0..threads {
        match connected.recv().await {
            Some(Ok(())) => {}
            Some(Err(error)) => {
                stop.store(true, Ordering::Relaxed);
                return Err(error);
            }
            None => return Err("the floor's threads ended early".into()),
        }
    }
    tokio::time::sleep(warmup).await;
    let client = reqwest::Client::new();
    let before = meter.read(&client).await;
    recording.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    recording.store(false, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let after = meter.read(&client).await;
    stop.store(true, Ordering::Relaxed);
    let mut histogram = Histogram::<u64>::new(3).map_err(|e| e.to_string())?;
    for worker in workers {
        let part = tokio::task::spawn_blocking(move || worker.join())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|_| "a floor thread panicked".to_owned())??;
        histogram.add(part).map_err(|e| e.to_string())?;
    }
    let requests = histogram.len();
    let measured = load::Measured {
        requests,
        answered: requests,
        errors: errors.load(Ordering::Relaxed),
        seconds,
        histogram,
    };
    let cost = meter.per_request(&before, &after, requests);
    Ok((measured, cost))
}

/// A connection with one reset's statements prepared.
pub struct Connection {
    client: tokio_postgres::Client,
    statements: Vec<Prepared>,
}

/// A connection with the reset's statements prepared: placeholders become `$1` (the user's
/// number, as text) and `$2` (the sequence). Its connection task runs on the current runtime.
pub async fn connect(url: &str, floor: Floor) -> Result<Connection, String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("tokio-postgres: {e}"))?;
    tokio::spawn(connection);
    let mut prepared = Vec::new();
    for statement in statements(floor) {
        let uses = (
            statement.sql.contains("{n}"),
            statement.sql.contains("{seq}"),
        );
        let sql = statement
            .sql
            .replace("{n}", "CAST($1 AS text)")
            .replace("{seq}", "CAST($2 AS bigint)");
        let prepared_statement = client
            .prepare(&sql)
            .await
            .map_err(|e| format!("preparing {sql}: {e}"))?;
        prepared.push(Prepared {
            statement: prepared_statement,
            params: usize::from(uses.0) + usize::from(uses.1),
            loads_sequence: statement.loads_sequence,
        });
    }
    Ok(Connection {
        client,
        statements: prepared,
    })
}

struct Prepared {
    statement: tokio_postgres::Statement,
    params: usize,
    loads_sequence: bool,
}

/// One reset of user `bench-n`: each statement in turn, one round trip each; the user's
/// sequence the reset started from.
pub async fn reset(connection: &Connection, n: usize) -> Result<i64, tokio_postgres::Error> {
    let number = n.to_string();
    let mut sequence = 0_i64;
    for prepared in &connection.statements {
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&number, &sequence];
        let rows = connection
            .client
            .query(&prepared.statement, &params[..prepared.params])
            .await?;
        if prepared.loads_sequence
            && let Some(row) = rows.first()
        {
            sequence = row.try_get(0)?;
        }
    }
    Ok(sequence)
}
