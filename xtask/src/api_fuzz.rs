//! `cargo xtask fuzz-api`: schemathesis against a live `rekey` (debug build, SQLite, a fresh
//! data dir) with its real admin token, driven by the served `/openapi.json`.
//!
//! Checks: no 5xx, every status, content type, header and body as the document says, 405s with
//! the right `Allow`, 401 without a token, and no request slower than `--max-response-time`.
//! Not run: `positive_data_acceptance` and `negative_data_rejection`, which expect every
//! schema-valid body to be accepted. rekey validates meaning beyond shape, as docs/API.md
//! demands (password policy, libphonenumber, url-template syntax, ZITADEL's 400s), which no
//! JSON Schema can state.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Failure;
use crate::process::{ChildEnv, args, run_cargo, workspace_root};

const USAGE: &str = "fuzz-api [--examples N] [--seed N]";

/// The checks run (see the module docs for the two left out).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
    response_headers_conformance,response_schema_conformance,missing_required_header,\
    unsupported_method,allow_header_conformance,ignored_auth,use_after_free,\
    ensure_resource_availability";

struct Options {
    examples: u32,
    seed: u64,
}

fn parse(raw: &[String]) -> Result<Options, Failure> {
    let mut options = Options {
        examples: 50,
        seed: 1,
    };
    let mut args = raw.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Failure::Usage(format!("{name} needs a number ({USAGE})")))
        };
        match arg.as_str() {
            "--examples" => options.examples = u32::try_from(value("--examples")?).unwrap_or(50),
            "--seed" => options.seed = value("--seed")?,
            other => return Err(Failure::Usage(format!("unknown option {other} ({USAGE})"))),
        }
    }
    Ok(options)
}

/// Runs the task.
pub fn run(raw: &[String]) -> Result<(), Failure> {
    let options = parse(raw)?;
    let root = workspace_root().map_err(Failure::Failed)?;
    let schemathesis = crate::preflight::python_tools(&root).map_err(Failure::Failed)?;
    fuzz(&root, &schemathesis, &options).map_err(Failure::Failed)
}

/// Builds, starts `rekey`, runs schemathesis, stops `rekey`, and fails on any finding or on a
/// panic in the server's log.
pub fn run_in_test(root: &Path, schemathesis: &Path, examples: u32) -> Result<(), String> {
    fuzz(root, schemathesis, &Options { examples, seed: 1 })
}

fn fuzz(root: &Path, schemathesis: &Path, options: &Options) -> Result<(), String> {
    run_cargo(
        &ChildEnv::default(),
        root,
        &args(&["build", "-p", "rekey-server"]),
    )?;
    let data = root.join("target/fuzz-api");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    let server = Server::start(root, &data)?;
    let status = Command::new(schemathesis)
        // Its example cache (`.schemathesis/`) goes where it runs: keep it out of the checkout.
        .current_dir(&data)
        .arg("run")
        .arg(format!("{}/openapi.json", server.base))
        .args([
            "--header",
            &format!("Authorization: Bearer {}", server.token),
        ])
        .args(["--max-examples", &options.examples.to_string()])
        .args(["--seed", &options.seed.to_string()])
        .args(["--checks", CHECKS])
        .args(["--request-timeout", "10", "--max-response-time", "5"])
        .args(["--report", "junit", "--report-dir"])
        .arg(data.join("report"))
        .status()
        .map_err(|e| format!("schemathesis: {e}"))?;
    let log = server.stop();
    let panics = log.lines().filter(|l| l.contains("panicked")).count();
    if panics > 0 {
        return Err(format!(
            "rekey panicked {panics} time(s); see {}",
            data.join("rekey.log").display()
        ));
    }
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "schemathesis found failures (exit {status}); rekey's log: {}",
            data.join("rekey.log").display()
        ))
    }
}

/// `target/debug/rekey` on a free port, with its log in the data dir.
struct Server {
    child: Child,
    base: String,
    token: String,
    log: std::path::PathBuf,
}

impl Server {
    fn start(root: &Path, data: &Path) -> Result<Self, String> {
        let log = data.join("rekey.log");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new(root.join("target/debug/rekey"))
            .env("REKEY__DATA_DIR", data)
            .env("REKEY__SERVER__BIND", format!("127.0.0.1:{port}"))
            // The gRPC listener is not under test here: any free port, never a clash.
            .env("REKEY__SERVER__GRPC_BIND", "127.0.0.1:0")
            .env("REKEY__LOG__FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("rekey: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
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
            base: format!("http://127.0.0.1:{port}"),
            token: token.trim().to_owned(),
            log,
        })
    }

    /// Stops the server and returns its log.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
