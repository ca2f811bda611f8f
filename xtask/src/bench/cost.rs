//! What one request costs, read from outside before and after a scenario: rekey's CPU, the CPU
//! of the PostgreSQL backends serving the bench database, the SQL statements rekey sent (its
//! `rekey_db_statements_total`), the WAL PostgreSQL wrote, how long SQLite's one writer was
//! held (`rekey_db_writer_held_seconds`), and the bench's own CPU (the load generator shares
//! the machine's cores with the server it loads).

use std::collections::HashMap;

/// Where the readings come from.
#[derive(Debug, Clone)]
pub struct Meter {
    /// rekey's process.
    pub pid: u32,
    /// rekey's base URL, for `/debug/metrics`.
    pub base: String,
    /// The bench database (PostgreSQL), if the scenario uses one.
    pub database: Option<String>,
}

/// One reading.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    rekey_ticks: u64,
    /// This process's: the load generator's.
    bench_ticks: u64,
    /// CPU ticks of each PostgreSQL backend connected to the bench database.
    backends: HashMap<u32, u64>,
    statements: f64,
    /// Seconds SQLite's writer was held, in all.
    writer_held: f64,
    /// Writes SQLite's writer thread ran (its turns), in all.
    writer_turns: f64,
    wal: f64,
}

/// Per request, between two readings.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cost {
    /// rekey's CPU, µs.
    pub rekey_cpu_us: f64,
    /// The database backends' CPU, µs (PostgreSQL only).
    pub db_cpu_us: Option<f64>,
    /// SQL statements rekey sent, `BEGIN`/`COMMIT` included.
    pub statements: f64,
    /// WAL bytes PostgreSQL wrote.
    pub wal_bytes: Option<f64>,
    /// pgbench's own CPU per transaction, µs, replaying the same SQL (reset rows only).
    pub client_cpu_us: Option<f64>,
    /// The bench's own CPU, µs: its load generator's (absent from reports written before it).
    pub load_cpu_us: Option<f64>,
    /// How long SQLite's one writer connection was held, µs (SQLite only).
    pub writer_us: Option<f64>,
    /// How many times it was taken (SQLite only; absent from reports written before it).
    pub writer_turns: Option<f64>,
}

/// utime + stime of a process, in clock ticks (`/proc/PID/stat` fields 14 and 15).
fn ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The clock ticks per second of `/proc` (USER_HZ).
pub fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// rekey's Prometheus text at `base`, or `None` when it does not answer.
pub async fn metrics(client: &reqwest::Client, base: &str) -> Option<String> {
    client
        .get(format!("{base}/debug/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()
}

impl Meter {
    /// Reads everything now.
    pub async fn read(&self, client: &reqwest::Client) -> Reading {
        let text = metrics(client, &self.base).await.unwrap_or_default();
        let sum = |metric: &str| {
            text.lines()
                .filter(|l| l.starts_with(metric))
                .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
                .sum::<f64>()
        };
        let (statements, writer_held, writer_turns) = (
            sum("rekey_db_statements_total"),
            sum("rekey_db_writer_held_seconds_sum"),
            sum("rekey_db_writer_held_seconds_count"),
        );
        let (backends, wal) = match &self.database {
            Some(url) => {
                let pids = super::psql(
                    url,
                    "SELECT string_agg(pid::text, ',') FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .unwrap_or_default();
                let backends = pids
                    .split(',')
                    .filter_map(|p| p.trim().parse::<u32>().ok())
                    .filter_map(|pid| Some((pid, ticks(pid)?)))
                    .collect();
                let wal = super::psql(url, "SELECT pg_current_wal_lsn() - '0/0'")
                    .ok()
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(0.0);
                (backends, wal)
            }
            None => (HashMap::new(), 0.0),
        };
        Reading {
            rekey_ticks: ticks(self.pid).unwrap_or(0),
            bench_ticks: ticks(std::process::id()).unwrap_or(0),
            backends,
            statements,
            writer_held,
            writer_turns,
            wal,
        }
    }

    /// What each of `requests` cost between `before` and `after`.
    pub fn per_request(&self, before: &Reading, after: &Reading, requests: u64) -> Cost {
        let n = requests.max(1) as f64;
        let us = |ticks: u64| ticks as f64 / ticks_per_second() * 1e6 / n;
        // A backend that appeared during the run started from nothing.
        let db_ticks: u64 = after
            .backends
            .iter()
            .map(|(pid, t)| t.saturating_sub(before.backends.get(pid).copied().unwrap_or(0)))
            .sum();
        let postgres = self.database.is_some();
        Cost {
            rekey_cpu_us: us(after.rekey_ticks.saturating_sub(before.rekey_ticks)),
            db_cpu_us: postgres.then(|| us(db_ticks)),
            statements: (after.statements - before.statements) / n,
            wal_bytes: postgres.then(|| (after.wal - before.wal) / n),
            client_cpu_us: None,
            load_cpu_us: Some(us(after.bench_ticks.saturating_sub(before.bench_ticks))),
            writer_us: (!postgres).then(|| (after.writer_held - before.writer_held) * 1e6 / n),
            writer_turns: (!postgres).then(|| (after.writer_turns - before.writer_turns) / n),
        }
    }
}
