//! `cargo xtask bench`: how fast rekey is, next to the floors the machine and PostgreSQL set.
//!
//! Builds the release binary, starts a PostgreSQL-backed `rekey` (and a SQLite one), seeds
//! users, drives each scenario from an in-process load generator at each concurrency, measures
//! the floors in the same run (pgbench replaying PasswordReset's SQL, `/debug/healthz`, the
//! argon2 bound), and writes `target/bench/report.{md,json,svg}`.

mod bare;
mod cost;
mod floor;
mod http1;
mod import;
mod load;
mod report;
mod scale;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Failure;
use crate::process::workspace_root;
use floor::Floor;

pub use report::Row;

struct Options {
    users: usize,
    duration: Duration,
    warmup: Duration,
    concurrency: Vec<usize>,
    /// Only the PostgreSQL PasswordReset scenarios (REST, gRPC, pgbench), for quick comparisons.
    resets_only: bool,
    /// Grow the PostgreSQL database to this many users (ten events each) in SQL and run the
    /// reset scenarios again; 0: not.
    grow: usize,
    /// Only the SQLite scenarios (PasswordReset returnCode and sendLink, shipped defaults).
    sqlite_only: bool,
    /// Only `rekey admin user import` of this many users (0: not).
    import: usize,
}

fn parse(args: &[String]) -> Result<Options, Failure> {
    let mut options = Options {
        users: 10_000,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        concurrency: vec![8, 32],
        resets_only: false,
        grow: 1_000_000,
        sqlite_only: false,
        import: 0,
    };
    let mut grow = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| Failure::Usage(format!("{arg} needs a value")))
        };
        let number = |text: &str| {
            text.parse::<u64>()
                .map_err(|_| Failure::Usage(format!("{arg}: not a number: {text}")))
        };
        match arg.as_str() {
            "--users" => options.users = number(value()?)? as usize,
            "--duration" => options.duration = Duration::from_secs(number(value()?)?),
            "--warmup" => options.warmup = Duration::from_secs(number(value()?)?),
            "--concurrency" => {
                options.concurrency = value()?
                    .split(',')
                    .map(|c| number(c).map(|n| n as usize))
                    .collect::<Result<_, _>>()?;
            }
            "--resets-only" => options.resets_only = true,
            "--grow" => grow = Some(number(value()?)? as usize),
            "--sqlite-only" => options.sqlite_only = true,
            "--import" => options.import = number(value()?)? as usize,
            "--quick" => {
                options.users = 1_000;
                options.duration = Duration::from_secs(3);
                options.warmup = Duration::from_secs(1);
            }
            other => return Err(Failure::Usage(format!("unknown bench option {other}"))),
        }
    }
    // The growth takes minutes: only in a full run, unless asked for.
    options.grow = grow.unwrap_or(if options.resets_only || options.users < 10_000 {
        0
    } else {
        options.grow
    });
    Ok(options)
}

/// Runs the benchmark. A debug build of xtask re-runs itself in release first: the load
/// generator shares the machine with the server and must not be the bottleneck.
pub fn run(args: &[String]) -> Result<(), Failure> {
    if args.first().is_some_and(|a| a == "--micro") {
        return micro(&args[1..]);
    }
    if args.first().is_some_and(|a| a == "--bare-server") {
        // The bare floor's own process, started by the bench itself (see `bare`).
        return bare::run(&args[1..]).map_err(Failure::Failed);
    }
    if args.first().is_some_and(|a| a == "--report-only") {
        // Writes report.md and report.svg again from report.json (after a change to them).
        let out = workspace_root()?.join("target").join("bench");
        let (rows, machine) = report::read(&out.join("report.json")).map_err(Failure::Failed)?;
        report::write(&out, &rows, &machine).map_err(Failure::Failed)?;
        println!(
            "==> wrote {}/report.md, report.json, report.svg",
            out.display()
        );
        return Ok(());
    }
    let options = parse(args)?;
    let root = workspace_root()?;
    if cfg!(debug_assertions) {
        println!(
            "==> cargo run --release -p xtask --features bench -- bench (the load generator runs optimised)"
        );
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "run",
                "--quiet",
                "--release",
                "-p",
                "xtask",
                "--features",
                "bench",
                "--",
                "bench",
            ])
            .args(args)
            .current_dir(&root)
            .status()
            .map_err(|e| Failure::Failed(format!("cargo: {e}")))?;
        return if status.success() {
            Ok(())
        } else {
            Err(Failure::Failed("bench failed".into()))
        };
    }
    println!("==> cargo build --release -p rekey-server");
    let built = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "-p", "rekey-server"])
        .current_dir(&root)
        .status()
        .map_err(|e| Failure::Failed(format!("cargo: {e}")))?;
    if !built.success() {
        return Err(Failure::Failed("the release build failed".into()));
    }
    let out = root.join("target").join("bench");
    std::fs::create_dir_all(&out).map_err(|e| Failure::Failed(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let (rows, sizes) = runtime
        .block_on(bench(&root, &out, &options))
        .map_err(Failure::Failed)?;
    let mut machine = machine();
    machine["sizes"] = Value::Array(sizes);
    report::write(&out, &rows, &machine).map_err(Failure::Failed)?;
    println!(
        "==> wrote {}/report.md, report.json, report.svg",
        out.display()
    );
    Ok(())
}

/// The criterion micro-benchmarks, each in the crate it measures; `args` go to criterion
/// (e.g. `--quick`, or a name filter).
const MICRO_BENCHES: [(&str, &str); 3] = [
    ("rekey-crypto-adapter", "codes"),
    ("rekey-notifier-adapter", "links"),
    ("rekey-api", "codec"),
];

fn micro(args: &[String]) -> Result<(), Failure> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.arg("bench").current_dir(workspace_root()?);
    for (package, bench) in MICRO_BENCHES {
        command.args(["-p", package, "--bench", bench]);
    }
    command.arg("--").args(args);
    println!("==> {command:?}");
    let status = command
        .status()
        .map_err(|e| Failure::Failed(format!("cargo: {e}")))?;
    if status.success() {
        println!("==> criterion's reports: target/criterion/");
        Ok(())
    } else {
        Err(Failure::Failed("a micro-benchmark failed".into()))
    }
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    json!({
        "cores": std::thread::available_parallelism().map_or(1, usize::from),
        "cpu": cpu,
        "postgres": psql(&admin_url(), "SHOW server_version").unwrap_or_default(),
    })
}

fn admin_url() -> String {
    std::env::var("REKEY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_database(url: &str, database: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap_or((url, ""));
    format!("{base}/{database}")
}

fn psql(url: &str, sql: &str) -> Result<String, String> {
    let output = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(format!(
            "psql {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A running release `rekey`.
struct Server {
    child: Child,
    base: String,
    /// The gRPC listener (`server.grpc_bind`), `http://127.0.0.1:<port>`.
    grpc_base: String,
    token: String,
    data: PathBuf,
    /// The file transport's directory, when it is on tmpfs (removed at [`Server::stop`]).
    mail: Option<PathBuf>,
}

/// A directory on tmpfs for the file transport's mails, if the machine has one.
///
/// The file transport writes one file per message. On a disk, in runs after earlier runs had
/// deleted their mail directories, ext4's inode allocation (`find_inode_bit`,
/// `recently_deleted`) and the directory's lock took 38 % of the server's CPU in sendLink and
/// made the scenario's throughput vary by 2× between runs of one build. Production delivers by
/// SMTP or webhook; on tmpfs the scenario measures rekey instead of the disk's allocator.
fn tmpfs_mail_dir(port: u16) -> Option<PathBuf> {
    let shm = Path::new("/dev/shm");
    shm.is_dir()
        .then(|| shm.join(format!("rekey-bench-mail-{}-{port}", std::process::id())))
}

impl Server {
    /// A server whose budgets are sized so that one admin token resetting many users at full
    /// speed never hits them (they stay on, so their cost is measured).
    fn start(root: &Path, data: &Path, env: &[(&str, String)]) -> Result<Self, String> {
        let generous = [
            ("REKEY__LIMITS__CALLER_RESETS", "1000000 per 1s".to_owned()),
            ("REKEY__LIMITS__USER_MESSAGES", "1000000 per 1s".to_owned()),
            (
                "REKEY__LIMITS__RECIPIENT_MESSAGES",
                "1000000 per 1s".to_owned(),
            ),
        ];
        let env: Vec<(&str, String)> = generous.into_iter().chain(env.iter().cloned()).collect();
        Self::start_with(root, data, &env)
    }

    /// A server with the shipped defaults, except for `env`.
    fn start_with(root: &Path, data: &Path, env: &[(&str, String)]) -> Result<Self, String> {
        let log = data.join("rekey.log");
        let _ = std::fs::remove_file(&log);
        std::fs::create_dir_all(data).map_err(|e| e.to_string())?;
        let (port, grpc_port) = (free_port()?, free_port()?);
        // REKEY_BENCH_BINARY runs another build (e.g. the commit before a change) through the
        // same scenarios, for before/after pairs.
        let binary = std::env::var_os("REKEY_BENCH_BINARY")
            .map_or_else(|| root.join("target/release/rekey"), PathBuf::from);
        let mail = tmpfs_mail_dir(port);
        let mut command = Command::new(binary);
        if let Some(mail) = &mail {
            command.env("REKEY__EMAIL__FILE_DIR", mail);
        }
        command
            .env("REKEY__DATA_DIR", data)
            .env("REKEY__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("REKEY__SERVER__GRPC_BIND", format!("127.0.0.1:{grpc_port}"))
            .env("REKEY__LOG__FORMAT", "json")
            .env("REKEY__LOG__LEVEL", "warn,rekey=info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().map_err(|e| format!("rekey: {e}"))?;
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", grpc_port)).is_err()
        {
            if Instant::now() > deadline {
                return Err(format!(
                    "rekey did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                ));
            }
            std::thread::park_timeout(Duration::from_millis(50));
        }
        let token = std::fs::read_to_string(data.join("admin.pat"))
            .map_err(|e| format!("admin.pat: {e}"))?;
        Ok(Self {
            child,
            base,
            grpc_base: format!("http://127.0.0.1:{grpc_port}"),
            token: token.trim().to_owned(),
            data: data.to_owned(),
            mail,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A second server on this one's database (`url`), with its token and secret key.
    fn beside(
        &self,
        root: &Path,
        data: &Path,
        url: &str,
        env: &[(&str, String)],
    ) -> Result<Server, String> {
        let _ = std::fs::remove_dir_all(data);
        std::fs::create_dir_all(data).map_err(|e| e.to_string())?;
        for file in ["admin.pat", "secret.key"] {
            std::fs::copy(self.data.join(file), data.join(file)).map_err(|e| e.to_string())?;
        }
        let mut env = env.to_vec();
        env.push(("REKEY__DATABASE__URL", url.to_owned()));
        Server::start(root, data, &env)
    }

    /// What reads this server's cost per request (and `database`'s, when it is PostgreSQL).
    fn meter(&self, database: Option<&str>) -> cost::Meter {
        cost::Meter {
            pid: self.pid(),
            base: self.base.clone(),
            database: database.map(str::to_owned),
        }
    }

    /// A memory field of `/proc/PID/status` (`VmRSS:`, …), in MB; 0 when unreadable.
    fn status_mb(&self, name: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    /// Resident memory now and at its peak, in MB.
    fn rss_mb(&self) -> (f64, f64) {
        (self.status_mb("VmRSS:"), self.status_mb("VmHWM:"))
    }

    /// Of the resident memory now, what is anonymous (heap, stacks), in MB: the rest is pages
    /// of the binary and its libraries, clean file pages the kernel can drop and read again.
    fn anon_mb(&self) -> f64 {
        self.status_mb("RssAnon:")
    }

    /// CPU seconds (user + system) used so far.
    fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) / 100.0
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    /// A server not stopped (an error on the way) is killed; its mails on tmpfs go either way.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(mail) = &self.mail {
            let _ = std::fs::remove_dir_all(mail);
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn post(client: &reqwest::Client, url: String, token: &str, body: String) -> Option<Value> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

/// Creates `users` users `bench-0` … spread over four organizations.
async fn seed(server: &Server, users: usize) -> Result<(), String> {
    let client = client();
    let mut orgs = Vec::new();
    for i in 0..4 {
        let body = json!({ "name": format!("bench-org-{i}") }).to_string();
        let org = post(
            &client,
            format!("{}/v2/organizations", server.base),
            &server.token,
            body,
        )
        .await
        .ok_or("AddOrganization failed")?;
        orgs.push(
            org["organizationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (client, next, orgs) = (client.clone(), next.clone(), orgs.clone());
        let (url, token) = (
            format!("{}/v2/users/human", server.base),
            server.token.clone(),
        );
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= users {
                    return true;
                }
                let body = json!({
                    "userId": format!("bench-{i}"),
                    "username": format!("bench-{i}"),
                    "organization": { "orgId": orgs[i % orgs.len()] },
                    "profile": { "givenName": "Bench", "familyName": format!("User {i}") },
                    "email": { "email": format!("bench-{i}@example.com") },
                })
                .to_string();
                if post(&client, url.clone(), &token, body).await.is_none() {
                    return false;
                }
            }
        });
    }
    while let Some(ok) = workers.join_next().await {
        if !ok.unwrap_or(false) {
            return Err("seeding users failed".into());
        }
    }
    Ok(())
}

/// A fast, non-cryptographic spread of user numbers per worker.
fn pick(worker: usize, n: u64, users: usize) -> usize {
    let mut x =
        (worker as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 31;
    (x % users as u64) as usize
}

/// [`resets`] on PostgreSQL as a report row, with what each request cost.
async fn metered_resets(
    (server, meter): (&Server, &cost::Meter),
    concurrency: usize,
    window: (Duration, Duration),
    users: usize,
    (label, body): (&str, &'static str),
) -> Row {
    let since = probe(server);
    let (measured, cost) = metered(
        meter,
        resets(
            (&server.base, &server.token),
            concurrency,
            window,
            users,
            (label, body),
        ),
    )
    .await;
    row("postgres", label, concurrency, &measured, server, &since).with_cost(cost)
}

/// PasswordReset with `body` for random seeded users `bench-N` of the server at `base`, from
/// `concurrency` workers, each on a keep-alive connection of its own.
async fn resets(
    (base, token): (&str, &str),
    concurrency: usize,
    (warmup, duration): (Duration, Duration),
    users: usize,
    (label, body): (&str, &'static str),
) -> load::Measured {
    let connections = Arc::new(http1::Connections::new(base, concurrency));
    let token = token.to_owned();
    load::run(label, concurrency, warmup, duration, move |w, n| {
        let connections = connections.clone();
        let path = format!("/v2/users/bench-{}/password_reset", pick(w, n, users));
        let request = http1::post(&connections.host, &path, &token, body);
        async move { connections.exchange(w, &request).await }
    })
    .await
}

/// PasswordReset returnCode over native gRPC (h2c) for random seeded users, from `concurrency`
/// workers, each with its own HTTP/2 connection (as the REST workers each hold one HTTP/1.1
/// connection, so both scenarios load the server through as many connections).
async fn grpc_resets(
    server: &Server,
    concurrency: usize,
    (warmup, duration): (Duration, Duration),
    users: usize,
) -> Result<load::Measured, String> {
    use rekey_proto::zitadel::user::v2::password_reset_request::Medium;
    use rekey_proto::zitadel::user::v2::user_service_client::UserServiceClient;
    use rekey_proto::zitadel::user::v2::{PasswordResetRequest, ReturnPasswordResetCode};

    let mut clients = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let channel = tonic::transport::Channel::from_shared(server.grpc_base.clone())
            .map_err(|e| e.to_string())?
            .connect()
            .await
            .map_err(|e| format!("gRPC channel to {}: {e}", server.grpc_base))?;
        clients.push(UserServiceClient::new(channel));
    }
    let bearer: tonic::metadata::MetadataValue<_> = format!("Bearer {}", server.token)
        .parse()
        .map_err(|_| "the token is not valid metadata".to_owned())?;
    Ok(load::run(
        "PasswordReset returnCode (gRPC)",
        concurrency,
        warmup,
        duration,
        move |w, n| {
            let (mut client, bearer) = (clients[w % clients.len()].clone(), bearer.clone());
            let mut request = tonic::Request::new(PasswordResetRequest {
                user_id: format!("bench-{}", pick(w, n, users)),
                medium: Some(Medium::ReturnCode(ReturnPasswordResetCode {})),
            });
            request.metadata_mut().insert("authorization", bearer);
            async move {
                client
                    .password_reset(request)
                    .await
                    .is_ok_and(|r| r.get_ref().verification_code.is_some())
            }
        },
    )
    .await)
}

struct Probe {
    cpu: f64,
    at: Instant,
}

/// Runs `scenario` between two readings of `meter`: its answers, and what each cost.
async fn metered(
    meter: &cost::Meter,
    scenario: impl std::future::Future<Output = load::Measured>,
) -> (load::Measured, cost::Cost) {
    let client = client();
    let before = meter.read(&client).await;
    let measured = scenario.await;
    let after = meter.read(&client).await;
    let cost = meter.per_request(&before, &after, measured.answered);
    (measured, cost)
}

fn probe(server: &Server) -> Probe {
    Probe {
        cpu: server.cpu_seconds(),
        at: Instant::now(),
    }
}

/// A port nobody listens on now, on 127.0.0.1.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// The PostgreSQL-backed rekey's `database.max_connections`, and the bare floor server's.
const PG_MAX_CONNECTIONS: usize = 16;

/// returnCode resets against the bare floor server (`bare`): actix-web and tokio-postgres
/// alone, in a process of its own whose CPU is metered as rekey's is.
async fn bare_resets(
    url: &str,
    server: &Server,
    concurrency: usize,
    (warmup, duration): (Duration, Duration),
    users: usize,
    meter: &cost::Meter,
) -> Result<Row, String> {
    let port = free_port()?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["bench", "--bare-server", url, &port.to_string()])
        .arg(PG_MAX_CONNECTIONS.to_string())
        .spawn()
        .map_err(|e| format!("the bare floor server: {e}"))?;
    let base = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            return Err("the bare floor server did not listen within 10 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let meter = cost::Meter {
        pid: child.id(),
        base: base.clone(),
        database: meter.database.clone(),
    };
    let since = probe(server);
    let label = "actix-web + tokio-postgres alone (returnCode)";
    let (measured, cost) = metered(
        &meter,
        resets(
            (&base, "bare"),
            concurrency,
            (warmup, duration),
            users,
            (label, r#"{"returnCode":{}}"#),
        ),
    )
    .await;
    let _ = child.kill();
    let _ = child.wait();
    Ok(row("postgres", label, concurrency, &measured, server, &since).with_cost(cost))
}

fn row(
    backend: &str,
    scenario: &str,
    concurrency: usize,
    measured: &load::Measured,
    server: &Server,
    since: &Probe,
) -> Row {
    let cpu = (server.cpu_seconds() - since.cpu) / since.at.elapsed().as_secs_f64() * 100.0;
    let (rss, peak) = server.rss_mb();
    let row = Row {
        backend: backend.into(),
        scenario: scenario.into(),
        concurrency,
        throughput: measured.throughput(),
        p50: measured.ms(0.50),
        p90: measured.ms(0.90),
        p99: measured.ms(0.99),
        max: measured.max_ms(),
        errors: measured.errors,
        server_cpu_percent: cpu,
        server_peak_rss_mb: peak,
        server_rss_mb: rss,
        floor: None,
        floor_throughput: None,
        floor_p99: None,
        cost: None,
    };
    println!(
        "    {backend:8} {scenario:24} c={concurrency:<3} {:8.0}/s  p50 {:6.2} ms  p99 {:6.2} ms  max {:7.2} ms  errors {}  cpu {:3.0}%  peak rss {:5.1} MB",
        row.throughput,
        row.p50,
        row.p99,
        row.max,
        row.errors,
        row.server_cpu_percent,
        row.server_peak_rss_mb
    );
    row
}

/// Every scenario; the rows, and the table sizes before and after the growth (if it ran).
async fn bench(
    root: &Path,
    out: &Path,
    options: &Options,
) -> Result<(Vec<Row>, Vec<Value>), String> {
    if options.import > 0 {
        return Ok((import::run(root, out, options.import).await?, Vec::new()));
    }
    if options.sqlite_only {
        let mut rows = sqlite(root, out, options).await?;
        rows.push(shipped_defaults(root, out, options).await?);
        return Ok((rows, Vec::new()));
    }
    let mut rows = Vec::new();
    let mut sizes = Vec::new();
    let users = options.users;
    let (warmup, duration) = (options.warmup, options.duration);

    // PostgreSQL.
    let admin = admin_url();
    psql(&admin, "DROP DATABASE IF EXISTS rekey_bench WITH (FORCE)")?;
    psql(&admin, "CREATE DATABASE rekey_bench")?;
    let url = with_database(&admin, "rekey_bench");
    let pg_data = out.join("pg");
    let _ = std::fs::remove_dir_all(&pg_data);
    let pg_env = [
        ("REKEY__DATABASE__URL", url.clone()),
        (
            "REKEY__DATABASE__MAX_CONNECTIONS",
            PG_MAX_CONNECTIONS.to_string(),
        ),
        ("REKEY__DELIVERY__ENABLED", "false".to_owned()),
    ];
    let server = Server::start(root, &pg_data, &pg_env)?;
    let (idle_rss, _) = server.rss_mb();
    println!("==> PostgreSQL: seeding {users} users (idle RSS {idle_rss:.1} MB)");
    seed(&server, users).await?;
    let client = client();
    let argon2_bound = argon2_bound();
    for &c in &options.concurrency {
        println!("==> concurrency {c}");
        let base = server.base.clone();
        let meter = server.meter(Some(&url));
        let healthz = {
            let connections = Arc::new(http1::Connections::new(&base, c));
            let request = Arc::new(http1::get(&connections.host, "/debug/healthz", None));
            let since = probe(&server);
            let (measured, cost) = metered(
                &meter,
                load::run("healthz", c, warmup, duration, move |w, _| {
                    let (connections, request) = (connections.clone(), request.clone());
                    async move { connections.exchange(w, &request).await }
                }),
            )
            .await;
            row(
                "postgres",
                "healthz (HTTP floor)",
                c,
                &measured,
                &server,
                &since,
            )
            .with_cost(cost)
        };
        let reset = metered_resets(
            (&server, &meter),
            c,
            (warmup, duration),
            users,
            ("PasswordReset returnCode", r#"{"returnCode":{}}"#),
        )
        .await;
        let grpc_reset = {
            let since = probe(&server);
            let before = meter.read(&client).await;
            let measured = grpc_resets(&server, c, (warmup, duration), users).await?;
            let cost = meter.per_request(&before, &meter.read(&client).await, measured.answered);
            row(
                "postgres",
                "PasswordReset returnCode (gRPC)",
                c,
                &measured,
                &server,
                &since,
            )
            .with_cost(cost)
        };
        // sendLink queues a message per request (delivery is off here); the drain below
        // delivers them all and measures what delivery costs per message.
        let send_link = metered_resets(
            (&server, &meter),
            c,
            (warmup, duration),
            users,
            ("PasswordReset sendLink", "{}"),
        )
        .await;
        let code_floor = floor::pgbench(&url, c, users, warmup + duration, Floor::ReturnCode)?;
        println!(
            "    postgres pgbench floor returnCode c={c:<3} {:8.0}/s  p99 {:6.2} ms  client cpu {:4.0} µs",
            code_floor.tps, code_floor.p99_ms, code_floor.client_cpu_us
        );
        let send_floor = floor::pgbench(&url, c, users, warmup + duration, Floor::SendLink)?;
        println!(
            "    postgres pgbench floor sendLink   c={c:<3} {:8.0}/s  p99 {:6.2} ms  client cpu {:4.0} µs",
            send_floor.tps, send_floor.p99_ms, send_floor.client_cpu_us
        );
        // The same SQL through tokio-postgres in this process: what its round trips cost a
        // Rust client, without rekey.
        let driver = {
            let since = probe(&server);
            let own = cost::Meter {
                pid: std::process::id(),
                ..meter.clone()
            };
            let (measured, cost) =
                floor::driver(&url, c, users, (warmup, duration), Floor::ReturnCode, &own).await?;
            row(
                "postgres",
                "tokio-postgres alone (returnCode SQL)",
                c,
                &measured,
                &server,
                &since,
            )
            .with_cost(cost)
        };
        let bare = bare_resets(&url, &server, c, (warmup, duration), users, &meter).await?;
        let get = {
            let connections = Arc::new(http1::Connections::new(&base, c));
            let token = server.token.clone();
            let since = probe(&server);
            let measured = load::run("GetUserByID", c, warmup, duration, move |w, n| {
                let connections = connections.clone();
                let path = format!("/v2/users/bench-{}", pick(w, n, users));
                let request = http1::get(&connections.host, &path, Some(&token));
                async move { connections.exchange(w, &request).await }
            })
            .await;
            row("postgres", "GetUserByID", c, &measured, &server, &since)
        };
        rows.push(healthz.clone());
        // gRPC against REST in the same run: it must not be slower.
        rows.push(grpc_reset.with_floor("REST (same run)", reset.throughput, Some(reset.p99)));
        rows.push(
            reset
                .with_floor(
                    "pgbench (same SQL)",
                    code_floor.tps,
                    Some(code_floor.p99_ms),
                )
                .with_client_cpu(code_floor.client_cpu_us),
        );
        rows.push(
            send_link
                .with_floor(
                    "pgbench (same SQL)",
                    send_floor.tps,
                    Some(send_floor.p99_ms),
                )
                .with_client_cpu(send_floor.client_cpu_us),
        );
        rows.push(driver);
        rows.push(bare);
        rows.push(get.with_floor("healthz", healthz.throughput, Some(healthz.p99)));
    }

    let served = rows
        .iter()
        .find(|r| r.scenario == "PasswordReset returnCode" && r.floor.is_some())
        .cloned();
    if let Some(served) = served.filter(|_| !options.resets_only) {
        rows.push(refusals(root, out, &server, &url, options, &served).await?);
    }
    if options.grow > users {
        let (grown, grown_sizes) = grow(&server, &url, options, &rows).await?;
        rows.extend(grown);
        sizes = grown_sizes;
    }
    if options.resets_only {
        server.stop();
        let _ = psql(&admin, "DROP DATABASE IF EXISTS rekey_bench WITH (FORCE)");
        return Ok((rows, sizes));
    }

    // SetPassword with a code: one code per request, issued before the clock starts.
    let set_rows = set_password(&server, &client, options, argon2_bound).await?;
    rows.extend(set_rows);

    // sendLink: queue (delivery off), then drain to the file transport.
    let drain = drain(root, out, &server, &url).await?;
    rows.extend(drain);
    rows.push(idle_after_load("postgres", &server, idle_rss).await);
    server.stop();

    // SQLite, the embedded default.
    rows.extend(sqlite(root, out, options).await?);
    rows.push(shipped_defaults(root, out, options).await?);
    let _ = psql(&admin, "DROP DATABASE IF EXISTS rekey_bench WITH (FORCE)");
    Ok((rows, sizes))
}

/// SQLite, the embedded default, as a user runs it (the delivery worker on, the file
/// transport): PasswordReset returnCode, then sendLink, at each concurrency.
async fn sqlite(root: &Path, out: &Path, options: &Options) -> Result<Vec<Row>, String> {
    let (users, warmup, duration) = (options.users, options.warmup, options.duration);
    let lite_data = out.join("sqlite");
    let _ = std::fs::remove_dir_all(&lite_data);
    let lite = Server::start(root, &lite_data, &[])?;
    let (at_start, _) = lite.rss_mb();
    println!("==> SQLite: seeding {users} users");
    seed(&lite, users).await?;
    let client = client();
    let mut rows = Vec::new();
    let scenarios = [
        ("PasswordReset returnCode", r#"{"returnCode":{}}"#),
        ("PasswordReset sendLink", "{}"),
    ];
    let meter = lite.meter(None);
    for (scenario, body) in scenarios {
        for &c in &options.concurrency {
            let since = probe(&lite);
            let (measured, cost) = metered(
                &meter,
                resets(
                    (&lite.base, &lite.token),
                    c,
                    (warmup, duration),
                    users,
                    (scenario, body),
                ),
            )
            .await;
            rows.push(row("sqlite", scenario, c, &measured, &lite, &since).with_cost(cost));
        }
    }
    // Its delivery worker is on: idle means after the links queued by sendLink went out.
    outbox_drained(&lite, &client).await?;
    rows.push(idle_after_load("sqlite", &lite, at_start).await);
    // REKEY_BENCH_HOLD=N keeps the idle server N seconds more, to be looked into (gdb,
    // /proc/PID/smaps) while it holds what the load left.
    if let Some(secs) = std::env::var("REKEY_BENCH_HOLD")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        println!(
            "    holding the SQLite server (pid {}) for {secs} s",
            lite.pid()
        );
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
    lite.stop();
    Ok(rows)
}

/// The cost of refusing: a second rekey on the same database whose caller budget is spent
/// (`1 per 1h`), flooded with returnCode by one token at the first concurrency. Every answer
/// should be a 429; the row compares their rate with the served returnCode rate of the run.
async fn refusals(
    root: &Path,
    out: &Path,
    server: &Server,
    url: &str,
    options: &Options,
    served: &Row,
) -> Result<Row, String> {
    let spent = server.beside(
        root,
        &out.join("refusals"),
        url,
        &[
            ("REKEY__LIMITS__CALLER_RESETS", "1 per 1h".to_owned()),
            ("REKEY__DELIVERY__ENABLED", "false".to_owned()),
        ],
    )?;
    let c = served.concurrency;
    let connections = Arc::new(http1::Connections::new(&spent.base, c));
    let token = spent.token.clone();
    let users = options.users;
    let since = probe(&spent);
    let (measured, cost) = metered(
        &spent.meter(Some(url)),
        load::run(
            "PasswordReset refused (429)",
            c,
            options.warmup,
            options.duration,
            move |w, n| {
                let connections = connections.clone();
                let path = format!("/v2/users/bench-{}/password_reset", pick(w, n, users));
                let request = http1::post(&connections.host, &path, &token, r#"{"returnCode":{}}"#);
                async move { connections.status(w, &request).await == Some(429) }
            },
        ),
    )
    .await;
    let row = row(
        "postgres",
        "PasswordReset refused (429)",
        c,
        &measured,
        &spent,
        &since,
    )
    .with_cost(cost)
    .with_floor("served returnCode", served.throughput, Some(served.p99));
    spent.stop();
    Ok(row)
}

/// Grows the database to `options.grow` users and ten events each, then runs returnCode and
/// sendLink again at every concurrency, each compared with its row before the growth.
async fn grow(
    server: &Server,
    url: &str,
    options: &Options,
    before: &[Row],
) -> Result<(Vec<Row>, Vec<Value>), String> {
    let mut sizes = scale::sizes(url, "before")?;
    println!(
        "==> growing the database to {} users and {} events (SQL)",
        options.grow,
        options.grow * 10
    );
    scale::grow(url, options.users, options.grow, 10)?;
    sizes.extend(scale::sizes(url, "grown")?);
    let meter = server.meter(Some(url));
    let label = format!("({}k users)", options.grow / 1000);
    let mut rows = Vec::new();
    for &c in &options.concurrency {
        for (scenario, body) in [
            ("PasswordReset returnCode", r#"{"returnCode":{}}"#),
            ("PasswordReset sendLink", "{}"),
        ] {
            let since = probe(server);
            let (measured, cost) = metered(
                &meter,
                resets(
                    (&server.base, &server.token),
                    c,
                    (options.warmup, options.duration),
                    options.grow,
                    (scenario, body),
                ),
            )
            .await;
            let mut grown = row(
                "postgres",
                &format!("{scenario} {label}"),
                c,
                &measured,
                server,
                &since,
            )
            .with_cost(cost);
            if let Some(small) = before
                .iter()
                .find(|r| r.scenario == scenario && r.concurrency == c && r.floor.is_some())
            {
                grown = grown.with_floor(
                    &format!("{}k users (same run)", options.users / 1000),
                    small.throughput,
                    Some(small.p99),
                );
            }
            rows.push(grown);
        }
    }
    sizes.extend(scale::sizes(url, "after")?);
    Ok((rows, sizes))
}

/// A login UI's reset flow against the shipped configuration (budgets as in
/// `config/default.toml`, SQLite): one IAM_LOGIN_CLIENT token sends links to random users at
/// the lowest concurrency. Every 429 counts as an error, so the row shows what the default
/// budgets let through (`limits.login_client_resets`, and the per-user and per-address
/// budgets for users picked again within their window).
async fn shipped_defaults(root: &Path, out: &Path, options: &Options) -> Result<Row, String> {
    let data = out.join("defaults");
    let _ = std::fs::remove_dir_all(&data);
    let mut server = Server::start_with(
        root,
        &data,
        &[("REKEY__DELIVERY__ENABLED", "false".to_owned())],
    )?;
    let users = options.users;
    println!("==> shipped defaults (SQLite): seeding {users} users");
    seed(&server, users).await?;
    let org = post(
        &client(),
        format!("{}/v2/organizations", server.base),
        &server.token,
        json!({ "name": "bench-login" }).to_string(),
    )
    .await
    .and_then(|org| org["organizationId"].as_str().map(str::to_owned))
    .ok_or("AddOrganization failed")?;
    let admin = |args: &[&str]| -> Result<String, String> {
        let output = Command::new(root.join("target/release/rekey"))
            .arg("admin")
            .args(args)
            .env("REKEY__DATA_DIR", &data)
            .env("REKEY__LOG__LEVEL", "warn")
            .output()
            .map_err(|e| format!("rekey admin: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        } else {
            Err(format!(
                "rekey admin {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    };
    let login = admin(&[
        "user",
        "add-machine",
        "--org",
        &org,
        "--username",
        "login-ui",
    ])?;
    server.token = admin(&[
        "token",
        "create",
        "--user",
        &login,
        "--role",
        "IAM_LOGIN_CLIENT",
    ])?;
    let c = *options.concurrency.first().unwrap_or(&8);
    let since = probe(&server);
    let measured = resets(
        (&server.base, &server.token),
        c,
        (options.warmup, options.duration),
        users,
        ("PasswordReset sendLink, defaults", "{}"),
    )
    .await;
    let row = row(
        "sqlite",
        "PasswordReset sendLink, shipped defaults (login client)",
        c,
        &measured,
        &server,
        &since,
    );
    server.stop();
    Ok(row)
}

/// Waits until `server`'s delivery worker has sent every queued message (its
/// `rekey_outbox_pending` gauge reads 0), for at most two minutes.
async fn outbox_drained(server: &Server, client: &reqwest::Client) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let pending = cost::metrics(client, &server.base).await.and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("rekey_outbox_pending "))
                .and_then(|v| v.trim().parse::<f64>().ok())
        });
        match pending {
            Some(left) if left <= 0.0 => return Ok(()),
            _ if started.elapsed() > Duration::from_secs(120) => {
                let left = pending.map_or_else(|| "an unknown number of".into(), |n| n.to_string());
                return Err(format!("the outbox still held {left} messages after 2 min"));
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// The server's memory after every load, once it has been idle for longer than the argon2
/// threads keep their memory (5 s); its start-up RSS is the row's "floor" for comparison.
async fn idle_after_load(backend: &str, server: &Server, at_start: f64) -> Row {
    tokio::time::sleep(Duration::from_secs(7)).await;
    let (rss, peak) = server.rss_mb();
    let anon = server.anon_mb();
    println!(
        "    {backend} idle RSS 7 s after load {rss:.1} MB, anonymous {anon:.1} MB (at start {at_start:.1} MB, peak {peak:.1} MB)"
    );
    Row {
        backend: backend.into(),
        scenario: "idle, 7 s after load".into(),
        concurrency: 0,
        throughput: 0.0,
        p50: 0.0,
        p90: 0.0,
        p99: 0.0,
        max: 0.0,
        errors: 0,
        server_cpu_percent: 0.0,
        server_peak_rss_mb: peak,
        server_rss_mb: rss,
        floor: Some(format!(
            "RSS at start: {at_start:.1} MB; anonymous now: {anon:.1} MB"
        )),
        floor_throughput: None,
        floor_p99: None,
        cost: None,
    }
}

/// cores ÷ the time of one argon2id hash with rekey's default parameters.
fn argon2_bound() -> f64 {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default());
    let _ = hasher.hash_password(b"warm-up password");
    let runs = 5;
    let started = Instant::now();
    for i in 0..runs {
        let _ = hasher.hash_password(format!("Kq7#vX2!mRt{i}").as_bytes());
    }
    let one = started.elapsed().as_secs_f64() / f64::from(runs);
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    println!(
        "==> argon2id (m=19456, t=2, p=1): {:.1} ms per hash; bound {:.1}/s on {cores} cores",
        one * 1e3,
        cores / one
    );
    cores / one
}

async fn set_password(
    server: &Server,
    client: &reqwest::Client,
    options: &Options,
    bound: f64,
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    // Enough codes for every concurrency at twice the bound; a worker that runs out stops.
    let per_run = (bound * 2.0) * (options.warmup + options.duration).as_secs_f64();
    let budget = (per_run * options.concurrency.len() as f64) as usize + 64;
    let codes = budget.min(options.users);
    println!("==> SetPassword: issuing {codes} codes");
    let mut issued = Vec::with_capacity(codes);
    for i in 0..codes {
        let url = format!("{}/v2/users/bench-{i}/password_reset", server.base);
        let answer = post(client, url, &server.token, r#"{"returnCode":{}}"#.into())
            .await
            .ok_or("returnCode failed")?;
        issued.push((
            i,
            answer["verificationCode"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ));
    }
    let issued = Arc::new(issued);
    let next = Arc::new(AtomicU64::new(0));
    for &c in &options.concurrency {
        let (client, base, token) = (client.clone(), server.base.clone(), server.token.clone());
        let (all, counter) = (issued.clone(), next.clone());
        let since = probe(server);
        // Beside the load: one healthz every 10 ms, to see how the HTTP side answers while
        // argon2 holds the CPU.
        let healthz = {
            let (client, url) = (client.clone(), format!("{}/debug/healthz", server.base));
            let (warmup, duration) = (options.warmup, options.duration);
            tokio::spawn(async move {
                load::probe(Duration::from_millis(10), warmup, duration, || {
                    let request = client.get(&url).send();
                    async move { request.await.is_ok_and(|r| r.status().is_success()) }
                })
                .await
            })
        };
        let label = "SetPassword (and healthz beside it)";
        let measured = load::run(label, c, options.warmup, options.duration, move |_, _| {
            let (client, token, issued) = (client.clone(), token.clone(), all.clone());
            let k = counter.fetch_add(1, Ordering::Relaxed) as usize;
            let base = base.clone();
            async move {
                let (user, code) = issued.get(k)?;
                let body = json!({ "newPassword": { "password": format!("Kq7#vX2!mRt{k}") }, "verificationCode": code });
                Some(post(&client, format!("{base}/v2/users/bench-{user}/password"), &token, body.to_string()).await.is_some())
            }
        })
        .await;
        rows.push(
            row(
                "postgres",
                "SetPassword (code)",
                c,
                &measured,
                server,
                &since,
            )
            .with_floor("argon2 bound", bound, None),
        );
        let healthz = healthz
            .await
            .map_err(|e| format!("the healthz probe failed: {e}"))?;
        rows.push(row(
            "postgres",
            "healthz during SetPassword",
            c,
            &healthz,
            server,
            &since,
        ));
        if next.load(Ordering::Relaxed) as usize >= issued.len() {
            println!("    (ran out of codes: this run ended early; raise --users)");
            break;
        }
    }
    Ok(rows)
}

/// Delivers every message the sendLink scenarios queued, from a second rekey with delivery on
/// (file transport), and measures what delivery costs per message.
async fn drain(root: &Path, out: &Path, server: &Server, url: &str) -> Result<Vec<Row>, String> {
    let pending: usize = psql(url, "SELECT count(*) FROM outbox WHERE status = 'pending'")?
        .parse()
        .unwrap_or(0);
    println!("==> draining {pending} queued messages to the file transport");
    let started = Instant::now();
    let worker = server.beside(
        root,
        &out.join("drain"),
        url,
        &[
            ("REKEY__DELIVERY__BATCH_SIZE", "256".to_owned()),
            ("REKEY__DELIVERY__POLL_INTERVAL", "20ms".to_owned()),
        ],
    )?;
    let probe_at = probe(&worker);
    let meter = worker.meter(Some(url));
    let before = meter.read(&client()).await;
    let bar = indicatif::ProgressBar::new(pending as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("    {prefix:36} [{bar:30}] {pos}/{len} messages")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix("outbox drain");
    loop {
        let left: usize = psql(url, "SELECT count(*) FROM outbox WHERE status = 'pending'")?
            .parse()
            .unwrap_or(0);
        bar.set_position(pending.saturating_sub(left) as u64);
        if left == 0 {
            bar.finish_and_clear();
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err("the outbox did not drain within 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let sent: f64 = psql(url, "SELECT count(*) FROM outbox WHERE status = 'sent'")?
        .parse()
        .unwrap_or(0.0);
    let skipped: f64 = psql(url, "SELECT count(*) FROM outbox WHERE status = 'skipped'")?
        .parse()
        .unwrap_or(0.0);
    let cost = meter.per_request(&before, &meter.read(&client()).await, pending as u64);
    let cpu = (worker.cpu_seconds() - probe_at.cpu) / seconds * 100.0;
    let (rss, peak) = worker.rss_mb();
    println!(
        "    postgres outbox drain: {pending} messages ({sent} sent, {skipped} superseded) in {seconds:.2} s = {:.0} messages/s (includes start-up)",
        pending as f64 / seconds
    );
    worker.stop();
    let drain_row = Row {
        backend: "postgres".into(),
        scenario: format!("outbox drain (file; {sent} sent, {skipped} superseded)"),
        concurrency: 1,
        throughput: pending as f64 / seconds,
        p50: 0.0,
        p90: 0.0,
        p99: 0.0,
        max: 0.0,
        errors: 0,
        server_cpu_percent: cpu,
        server_peak_rss_mb: peak,
        server_rss_mb: rss,
        floor: None,
        floor_throughput: None,
        floor_p99: None,
        cost: Some(cost),
    };
    Ok(vec![drain_row])
}
