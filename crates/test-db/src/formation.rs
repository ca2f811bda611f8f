//! A pg_auto_failover formation on 127.0.0.1, for the high-availability tests: a monitor and
//! two data nodes with synchronous replication, each run by its own `pg_autoctl` (Debian's
//! `pg-auto-failover-cli` and `postgresql-15-auto-failover`), everything under one directory.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cluster::{bin_dir, free_port, is_root, run};

/// The monitor's settings that bound an unplanned failover, shortened from pg_auto_failover's
/// defaults (20 s and 30 s) so that a test does not wait a minute for each: how long a data
/// node may not answer before it counts as failed, and how long the monitor then waits for
/// the old primary to demote itself before the standby may take writes.
pub const MONITOR_SETTINGS: [(&str, &str); 2] = [
    ("pgautofailover.node_considered_unhealthy_timeout", "5000"),
    ("pgautofailover.primary_demote_timeout", "10000"),
];

/// A running formation. Dropping it kills every process and removes nothing (the caller's
/// temporary directory does).
#[derive(Debug)]
pub struct Formation {
    dir: PathBuf,
    monitor_port: u16,
    /// The data nodes' ports, node 1 first.
    pub ports: [u16; 2],
    /// `pg_autoctl` of the monitor and of each node; each leads its own process group.
    processes: Vec<Option<Child>>,
}

impl Formation {
    /// Creates and starts the monitor, node 1 (the first primary) and node 2 (its synchronous
    /// standby), with a database `rekey`, and waits until the monitor reports them as primary
    /// and secondary.
    ///
    /// # Panics
    /// When pg_auto_failover is not installed, or the formation does not come up in 3 minutes.
    pub fn start(parent: &Path) -> Self {
        if is_root() {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(parent));
        }
        let mut formation = Self {
            dir: parent.to_path_buf(),
            monitor_port: free_port(),
            ports: [free_port(), free_port()],
            processes: Vec::new(),
        };
        let monitor = formation.spawn(
            "monitor",
            &[
                "create",
                "monitor",
                "--pgport",
                &formation.monitor_port.to_string(),
            ],
        );
        formation.processes.push(Some(monitor));
        formation.wait_until("the monitor accepts connections", |formation| {
            formation.sql(formation.monitor_port, "pg_auto_failover", "SELECT 1")
                == Some("1".into())
        });
        for (setting, value) in MONITOR_SETTINGS {
            formation.sql(
                formation.monitor_port,
                "pg_auto_failover",
                &format!("ALTER SYSTEM SET {setting} = {value}"),
            );
        }
        formation.sql(
            formation.monitor_port,
            "pg_auto_failover",
            "SELECT pg_reload_conf()",
        );
        for node in 0..2 {
            let port = formation.ports[node].to_string();
            let monitor_url = format!(
                "postgres://autoctl_node@127.0.0.1:{}/pg_auto_failover?sslmode=disable",
                formation.monitor_port
            );
            let child = formation.spawn(
                &format!("node{}", node + 1),
                &[
                    "create",
                    "postgres",
                    "--pgport",
                    &port,
                    "--dbname",
                    "rekey",
                    "--monitor",
                    &monitor_url,
                    "--name",
                    &format!("node_{}", node + 1),
                ],
            );
            formation.processes.push(Some(child));
            let want = if node == 0 { "single" } else { "secondary" };
            formation.wait_until(&format!("node {} is {want}", node + 1), |formation| {
                // pg_basebackup waits for a checkpoint, which the primary spreads over minutes
                // unless asked for one now.
                if node == 1 {
                    formation.sql(formation.ports[0], "postgres", "CHECKPOINT");
                }
                formation.states()[node] == want
            });
        }
        formation.wait_until("the primary and its secondary", |formation| {
            formation.states() == ["primary", "secondary"]
        });
        formation
    }

    /// Starts `pg_autoctl <args> --run` for `name` (its data in `dir/name`), in a process group
    /// of its own, logging to `dir/name.log`.
    fn spawn(&self, name: &str, args: &[&str]) -> Child {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log"))).expect("log file");
        let mut command = self.command("pg_autoctl");
        command
            .args(args)
            .arg("--pgdata")
            .arg(self.dir.join(name))
            .args([
                "--hostname",
                "127.0.0.1",
                "--auth",
                "trust",
                "--no-ssl",
                "--run",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .process_group(0);
        command
            .spawn()
            .expect("pg_autoctl (apt-get install pg-auto-failover-cli)")
    }

    /// A command as the `postgres` user when running as root, with the server binaries first
    /// on `PATH` and pg_autoctl's own files under `dir`.
    fn command(&self, program: &str) -> Command {
        let mut command = if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--", program]);
            command
        } else {
            Command::new(program)
        };
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin_dir()];
        paths.extend(std::env::split_paths(&path));
        command
            .env("PATH", std::env::join_paths(paths).expect("PATH"))
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("XDG_DATA_HOME", self.dir.join("share"))
            .env("XDG_RUNTIME_DIR", self.dir.join("run"));
        command
    }

    /// Runs one statement with psql on `port`; its output, or `None` when it failed.
    fn sql(&self, port: u16, database: &str, statement: &str) -> Option<String> {
        let output = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .args(["-d", database, "-X", "-A", "-t", "-c", statement])
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// The monitor's current state of node 1 and node 2 (empty when unknown).
    pub fn states(&self) -> [String; 2] {
        let mut states = [String::new(), String::new()];
        let rows = self
            .sql(
                self.monitor_port,
                "pg_auto_failover",
                "SELECT nodeport, reportedstate FROM pgautofailover.node ORDER BY nodeid",
            )
            .unwrap_or_default();
        for row in rows.lines() {
            if let Some((port, state)) = row.split_once('|')
                && let Some(node) = self.ports.iter().position(|p| p.to_string() == port)
            {
                states[node] = state.to_owned();
            }
        }
        states
    }

    /// Whether node `primary` commits synchronously now: the monitor has both nodes where it
    /// wants them (`primary` and `secondary`, each reported as assigned), and the primary waits
    /// for its standby's flush at each commit. Only then does a crash of the primary lose no
    /// acknowledged commit: pg_auto_failover turns synchronous replication off while the
    /// standby is unhealthy or catching up (`wait_primary`), and on again one keeper cycle
    /// after the standby counts as `secondary` again, when it may already be promoted.
    pub fn synchronous(&self, primary: usize) -> bool {
        let rows = self
            .sql(
                self.monitor_port,
                "pg_auto_failover",
                "SELECT nodeport, reportedstate, goalstate FROM pgautofailover.node",
            )
            .unwrap_or_default();
        let settled = |node: usize, state: &str| {
            let want = format!("{}|{state}|{state}", self.ports[node]);
            rows.lines().any(|row| row == want)
        };
        settled(primary, "primary")
            && settled(1 - primary, "secondary")
            && self.sql(
                self.ports[primary],
                "postgres",
                "SELECT current_setting('synchronous_standby_names') <> '' AND EXISTS \
                 (SELECT 1 FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum'))",
            ) == Some("t".into())
    }

    /// Whether the node on `port` takes writes now (a primary, not read-only).
    pub fn takes_writes(&self, node: usize) -> bool {
        self.sql(
            self.ports[node],
            "rekey",
            "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'",
        ) == Some("t".into())
    }

    /// The node that takes writes now, if any.
    pub fn primary(&self) -> Option<usize> {
        (0..2).find(|node| self.takes_writes(*node))
    }

    /// The URL of both nodes with libpq's `target_session_attrs=read-write`, as
    /// `pg_autoctl show uri` gives it.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/rekey?target_session_attrs=read-write",
            self.ports[0], self.ports[1]
        )
    }

    /// The URL of one node.
    pub fn node_url(&self, node: usize) -> String {
        format!("postgres://postgres@127.0.0.1:{}/rekey", self.ports[node])
    }

    /// `pg_autoctl perform failover`: the monitor has the primary hand over to the standby,
    /// and returns when it has.
    ///
    /// # Panics
    /// When the command fails.
    pub fn perform_failover(&self) {
        let mut failover = self.command("pg_autoctl");
        failover
            .args(["perform", "failover", "--pgdata"])
            .arg(self.dir.join("monitor"));
        run(&mut failover);
    }

    /// The monitor's last 100 events (`pg_autoctl show events`): every state each node was
    /// assigned and reported, with the time, for a test to print when something went wrong.
    pub fn events(&self) -> String {
        let mut events = self.command("pg_autoctl");
        events
            .args(["show", "events", "--count", "100", "--pgdata"])
            .arg(self.dir.join("monitor"));
        events.output().map_or_else(
            |error| format!("pg_autoctl show events: {error}"),
            |output| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                )
            },
        )
    }

    /// Kills node `node`'s `pg_autoctl` and its PostgreSQL with SIGKILL, as a crash of its
    /// machine would: nothing restarts it, and the monitor fails over once it counts as failed.
    pub fn crash(&mut self, node: usize) {
        if let Some(mut child) = self.processes[node + 1].take() {
            let group = format!("-{}", child.id());
            run(Command::new("kill").args(["-9", "--", &group]));
            let _ = child.wait();
        }
    }

    /// Polls `ready` every 200 ms for up to 3 minutes, and stops at once, with the end of its
    /// log, when a `pg_autoctl` ended (not installed, or it failed).
    fn wait_until(&mut self, what: &str, mut ready: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(180);
        while !ready(self) {
            for (index, child) in self.processes.iter_mut().enumerate() {
                if let Some(child) = child
                    && let Ok(Some(status)) = child.try_wait()
                {
                    let name = if index == 0 {
                        "monitor".to_owned()
                    } else {
                        format!("node{index}")
                    };
                    let log = std::fs::read_to_string(self.dir.join(format!("{name}.log")))
                        .unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(15).collect();
                    panic!(
                        "pg_auto_failover: waiting until {what}, `pg_autoctl` of {name} ended \
                         ({status}); is pg-auto-failover-cli installed? The end of its log:\n{}",
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "pg_auto_failover: {what} did not happen within 3 minutes; states {:?}; see {}",
                self.states(),
                self.dir.display()
            );
            std::thread::park_timeout(Duration::from_millis(200));
        }
    }
}

impl Drop for Formation {
    fn drop(&mut self) {
        for child in self.processes.iter_mut().flatten() {
            let _ = Command::new("kill")
                .args(["-9", "--", &format!("-{}", child.id())])
                .output();
            let _ = child.wait();
        }
    }
}
