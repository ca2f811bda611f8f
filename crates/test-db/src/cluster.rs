//! Throwaway PostgreSQL clusters (initdb + pg_ctl from the installed server), for tests that
//! must stop and start the database under a running rekey.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A private cluster on a free port, listening on 127.0.0.1 with trust authentication.
/// Stopped (immediately) when dropped.
#[derive(Debug)]
pub struct Cluster {
    data: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

const SNAKEOIL_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
const SNAKEOIL_KEY: &str = "/etc/ssl/private/ssl-cert-snakeoil.key";

/// The directory of the installed PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup).
pub fn bin_dir() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| dir.join("pg_ctl").exists() && dir.join("initdb").exists())
        // A directory of links to the server's binaries (this machine's /usr/local/bin links
        // pg_ctl and initdb but not pg_basebackup): the directory they point into.
        .and_then(|dir| std::fs::canonicalize(dir.join("pg_ctl")).ok())
        .and_then(|pg_ctl| pg_ctl.parent().map(Path::to_path_buf));
    let debian = || {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("pg_ctl").exists())
            .collect();
        dirs.sort();
        dirs.pop()
    };
    on_path.or_else(debian).unwrap_or_else(|| {
        panic!("PostgreSQL's server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")
    })
}

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

impl Cluster {
    /// Creates and starts a cluster in `parent/pgdata`. As root, the server runs as the
    /// `postgres` user (PostgreSQL refuses to run as root) and `parent` is given to it.
    ///
    /// # Panics
    /// When PostgreSQL is not installed or does not start.
    pub fn start(parent: &Path) -> Self {
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(parent));
        }
        let mut cluster = Self {
            data: parent.join("pgdata"),
            bin: bin_dir(),
            port: free_port(),
            as_postgres,
        };
        let mut initdb = cluster.command("initdb");
        initdb.arg("-D").arg(&cluster.data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ]);
        run(&mut initdb);
        // The port was free when picked, but another process (the tests start many servers on
        // port 0) may take it before PostgreSQL binds it: then pick another.
        for _ in 0..4 {
            match cluster.try_resume() {
                Ok(()) => return cluster,
                Err(log) if log.contains("already in use") => cluster.port = free_port(),
                Err(log) => panic!("PostgreSQL did not start:\n{log}"),
            }
        }
        panic!("PostgreSQL found no free port in 4 tries");
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    /// The cluster's maintenance URL.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts the (stopped) cluster again, on the same port, and waits until it accepts.
    ///
    /// # Panics
    /// When it does not start, with the server's log.
    pub fn resume(&self) {
        if let Err(log) = self.try_resume() {
            panic!("PostgreSQL did not start again:\n{log}");
        }
    }

    /// Starts the cluster on its port; the command's output and the server's log when it fails.
    fn try_resume(&self) -> Result<(), String> {
        let mut options = format!(
            "-p {} -h 127.0.0.1 -k {} -F -c max_connections=200",
            self.port,
            self.data.display()
        );
        // TLS as on a Debian server, with the machine's snakeoil certificate when it has one.
        let (cert, key) = (SNAKEOIL_CERT, SNAKEOIL_KEY);
        if Path::new(cert).exists() && Path::new(key).exists() {
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key}"
            ));
        }
        let mut start = self.command("pg_ctl");
        start
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.data.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]);
        let output = start.output().unwrap_or_else(|e| panic!("{start:?}: {e}"));
        if output.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default();
        Err(format!(
            "{start:?} failed: {}{}\nserver.log:\n{log}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }

    /// Stops the cluster (fast shutdown: open connections are cut).
    pub fn stop(&self) {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(&self.data)
            .args(["-w", "-m", "fast", "stop"]);
        run(&mut stop);
    }
}

/// Streaming replication (issue 16's failover tests).
impl Cluster {
    /// Creates a streaming standby of `primary` in `parent/pgdata` (`pg_basebackup -R`, which
    /// writes `standby.signal` and the primary's address) and starts it on a port of its own.
    ///
    /// # Panics
    /// When the base backup fails or the standby does not start.
    pub fn standby_of(primary: &Cluster, parent: &Path) -> Self {
        if primary.as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(parent));
        }
        let mut standby = Self {
            data: parent.join("pgdata"),
            bin: primary.bin.clone(),
            port: free_port(),
            as_postgres: primary.as_postgres,
        };
        let mut backup = standby.command("pg_basebackup");
        backup
            .args(["-h", "127.0.0.1", "-p", &primary.port.to_string()])
            .args(["-U", "postgres", "-X", "stream", "-R", "--no-sync", "-D"])
            .arg(&standby.data);
        run(&mut backup);
        for _ in 0..4 {
            match standby.try_resume() {
                Ok(()) => return standby,
                Err(log) if log.contains("already in use") => standby.port = free_port(),
                Err(log) => panic!("the standby did not start:\n{log}"),
            }
        }
        panic!("the standby found no free port in 4 tries");
    }

    /// Promotes this standby to a primary and waits until it takes writes.
    ///
    /// # Panics
    /// When `pg_ctl promote` fails.
    pub fn promote(&self) {
        let mut promote = self.command("pg_ctl");
        promote
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", "60", "promote"]);
        run(&mut promote);
    }

    /// Kills the postmaster with SIGKILL, as a crash of the machine would end it: nothing is
    /// shut down, its backends exit when they notice it gone.
    ///
    /// # Panics
    /// When the cluster is not running.
    pub fn kill(&self) {
        let pid = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .expect("postmaster.pid: the cluster runs");
        let pid = pid.lines().next().expect("the postmaster's pid").trim();
        run(Command::new("kill").args(["-9", pid]));
    }
}

impl Cluster {
    /// Leaves the cluster running when this value goes away (for `pg-cluster start`).
    pub fn detach(self) {
        std::mem::forget(self);
    }

    /// Stops the cluster in `parent/pgdata` that an earlier process started.
    pub fn stop_in(parent: &Path) {
        let cluster = Self {
            data: parent.join("pgdata"),
            bin: bin_dir(),
            port: 0,
            as_postgres: is_root(),
        };
        cluster.stop();
        cluster.detach();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-m", "immediate", "stop"])
            .output();
    }
}

pub(crate) fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
