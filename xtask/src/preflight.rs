//! `cargo xtask preflight`: what the tests need beyond a Rust toolchain, looked for in seconds
//! before anything is built, reported in one list, then installed where that needs no question.
//!
//! - Python tools (`tests/requirements.txt`, pinned) in a virtual environment of the project's
//!   own, `target/test-tools/venv`, made with `python3 -m venv` and reused while the pins are
//!   unchanged. The tests find it through `REKEY_TEST_PYTHON` (or at that path).
//! - curl, Chromium and chromedriver: the system's packages, installed with `apt-get` when we
//!   are root on Debian or Ubuntu; otherwise the run stops at once with the command to type.
//! - cargo-fuzz, when the fuzz step will run: `cargo install cargo-fuzz --locked`.
//! - PostgreSQL: a server to use, or `initdb`/`pg_ctl` for a throwaway cluster (the `services`
//!   step of `cargo xtask test` starts it).
//! - HAProxy and pg_auto_failover (`pg_autoctl` and the server's `pgautofailover` extension)
//!   for the high-availability tests, and `systemd-analyze` for the documented unit: the
//!   system's packages, installed like curl.
//! - Node.js and npm (ZITADEL's own TypeScript client in `tests/clients/zitadel`): the system's
//!   packages `nodejs` and `npm`, installed like curl and Chromium.
//! - Node packages of client tests (`tests/clients/*/package-lock.json`): `npm ci` into that
//!   folder, again only when the lockfile changed.
//! - cargo-nextest is optional: without it the tests run under `cargo test`.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Failure;
use crate::process::{ChildEnv, args, cargo_succeeds, run_cargo};

/// The pinned Python tools, relative to the workspace root.
const REQUIREMENTS: &str = "tests/requirements.txt";
/// The virtual environment, relative to the workspace root.
const VENV: &str = "target/test-tools/venv";
/// A copy of the requirements the environment was built from, inside it.
const VENV_STAMP: &str = "rekey-requirements.txt";
/// A copy of the lockfile `npm ci` installed, inside `node_modules`.
const NPM_STAMP: &str = ".rekey-package-lock.json";

/// What the coming run will need.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// The cargo-fuzz step runs.
    pub fuzz: bool,
}

/// Where the prepared tools are, for the steps and the tests.
#[derive(Debug)]
pub struct Tools {
    /// The virtual environment's Python.
    pub python: PathBuf,
    /// Its schemathesis.
    pub schemathesis: PathBuf,
    /// Chromium's binary.
    pub chromium: PathBuf,
    /// Node.js, for the client tests in `tests/clients`.
    pub node: PathBuf,
    /// The environment's grpcurl.
    pub grpcurl: PathBuf,
}

impl Tools {
    /// Exports the tools to the test processes.
    pub fn export(&self, env: &mut ChildEnv) {
        env.set("REKEY_TEST_PYTHON", &self.python.to_string_lossy());
        env.set("REKEY_TEST_CHROMIUM", &self.chromium.to_string_lossy());
        env.set("REKEY_TEST_NODE", &self.node.to_string_lossy());
        env.set("REKEY_TEST_GRPCURL", &self.grpcurl.to_string_lossy());
    }
}

/// `cargo xtask preflight [--no-fuzz]`.
pub fn run(raw: &[String]) -> Result<(), Failure> {
    let mut needs = Needs { fuzz: true };
    for arg in raw {
        match arg.as_str() {
            "--no-fuzz" => needs.fuzz = false,
            other => {
                return Err(Failure::Usage(format!("preflight: unknown option {other}")));
            }
        }
    }
    let root = crate::process::workspace_root()?;
    prepare(&root, needs).map(drop).map_err(Failure::Failed)
}

/// Looks for everything, prints the list, stops if something must be installed by hand, and
/// installs the rest.
pub fn prepare(root: &Path, needs: Needs) -> Result<Tools, String> {
    let start = Instant::now();
    let host = Host::detect();
    let items = survey(root, needs, &host);
    print_list(&items);
    let manual: Vec<&str> = items
        .iter()
        .filter_map(|item| match &item.state {
            State::Manual(command) => Some(command.as_str()),
            _ => None,
        })
        .collect();
    if !manual.is_empty() {
        return Err(format!(
            "preflight: install these first, then run the command again:\n    {}",
            manual.join("\n    ")
        ));
    }
    install(root, &items)?;
    let tools = Tools {
        python: root.join(VENV).join("bin/python"),
        schemathesis: root.join(VENV).join("bin/schemathesis"),
        chromium: which("chromium").unwrap_or_else(|| PathBuf::from("/usr/bin/chromium")),
        node: which("node").unwrap_or_else(|| PathBuf::from("/usr/bin/node")),
        grpcurl: root.join(VENV).join("bin/grpcurl"),
    };
    println!(
        "==> preflight: ready in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(tools)
}

/// Only the Python tools (for `cargo xtask fuzz-api` on its own): checked and installed.
pub fn python_tools(root: &Path) -> Result<PathBuf, String> {
    let host = Host::detect();
    let item = python_item(root, &host);
    print_list(std::slice::from_ref(&item));
    match &item.state {
        State::Manual(command) => Err(format!("preflight: install first: {command}")),
        _ => {
            install(root, std::slice::from_ref(&item))?;
            Ok(root.join(VENV).join("bin/schemathesis"))
        }
    }
}

/// One tool and what is to be done about it.
#[derive(Debug)]
struct Item {
    tool: &'static str,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Found: where or what.
    Ready(String),
    /// Missing, and this run installs it.
    Install(Install),
    /// Missing, and only its user can install it: the exact command.
    Manual(String),
    /// Missing, and the run does without: what changes.
    Optional(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Install {
    /// Debian packages, all of them in one `apt-get install`.
    Apt(Vec<&'static str>),
    /// The virtual environment, made anew from the requirements.
    Venv,
    /// `cargo install NAME --locked`.
    Cargo(&'static str),
    /// `npm ci` in this folder.
    NpmCi(PathBuf),
}

impl Install {
    fn describe(&self, root: &Path) -> String {
        match self {
            Install::Apt(packages) => format!(
                "apt-get install -y --no-install-recommends {}",
                packages.join(" ")
            ),
            Install::Venv => format!("python3 -m venv {VENV} && pip install -r {REQUIREMENTS}"),
            Install::Cargo(name) => format!("cargo install {name} --locked"),
            Install::NpmCi(dir) => format!(
                "npm ci in {}",
                dir.strip_prefix(root).unwrap_or(dir).display()
            ),
        }
    }
}

/// What this machine lets us install by ourselves.
#[derive(Debug)]
struct Host {
    /// Root on Debian or Ubuntu with `apt-get`: system packages can be installed unasked.
    apt: bool,
    /// Debian or a derivative: the package names below are the right ones.
    debian_like: bool,
}

impl Host {
    fn detect() -> Self {
        let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let debian_like = os_release_is_debian_like(&release);
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
        Self {
            apt: debian_like && root && which("apt-get").is_some(),
            debian_like,
        }
    }

    /// Debian packages: installed by this run, or the command its user must type.
    fn packages(&self, packages: Vec<&'static str>) -> State {
        if self.apt {
            State::Install(Install::Apt(packages))
        } else if self.debian_like {
            State::Manual(format!("sudo apt-get install {}", packages.join(" ")))
        } else {
            State::Manual(format!(
                "install with your package manager what Debian calls: {}",
                packages.join(", ")
            ))
        }
    }
}

/// `ID=debian`, `ID=ubuntu` or `ID_LIKE=… debian …` in `/etc/os-release`.
fn os_release_is_debian_like(release: &str) -> bool {
    release.lines().any(|line| {
        let Some((key, value)) = line.split_once('=') else {
            return false;
        };
        let value = value.trim_matches('"');
        match key {
            "ID" => value == "debian" || value == "ubuntu",
            "ID_LIKE" => value
                .split_whitespace()
                .any(|v| v == "debian" || v == "ubuntu"),
            _ => false,
        }
    })
}

fn survey(root: &Path, needs: Needs, host: &Host) -> Vec<Item> {
    let mut items = vec![python_item(root, host)];
    for (tool, package) in [
        ("curl", "curl"),
        ("systemd-analyze", "systemd"),
        ("chromium", "chromium"),
        ("chromedriver", "chromium-driver"),
    ] {
        let state = match which(tool) {
            Some(path) => State::Ready(path.display().to_string()),
            None => host.packages(vec![package]),
        };
        items.push(Item { tool, state });
    }
    items.push(Item {
        tool: "postgresql",
        state: postgres_state(host),
    });
    items.push(Item {
        tool: "haproxy",
        state: match which("haproxy") {
            Some(path) => State::Ready(path.display().to_string()),
            None => host.packages(vec!["haproxy"]),
        },
    });
    items.push(Item {
        tool: "pg_auto_failover",
        state: auto_failover_state(host),
    });
    let node = which("node");
    let version = node.as_ref().and_then(|node| {
        let out = Command::new(node)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .ok()?;
        Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    });
    let node_state = node_state(host, node.as_deref(), which("npm").as_deref(), version);
    let node_ready = matches!(node_state, State::Ready(_));
    items.push(Item {
        tool: "node, npm",
        state: node_state,
    });
    for dir in node_projects(root) {
        // Without npm yet, `npm ci` runs after the apt step that brings it.
        let state = if !node_ready || !npm_is_current(&dir) {
            State::Install(Install::NpmCi(dir))
        } else {
            State::Ready(format!("{}/node_modules", rel(root, &dir)))
        };
        items.push(Item {
            tool: "npm packages",
            state,
        });
    }
    if needs.fuzz {
        let env = ChildEnv::default();
        let state = if cargo_succeeds(&env, root, &args(&["fuzz", "--version"])) {
            State::Ready("cargo fuzz".into())
        } else {
            State::Install(Install::Cargo("cargo-fuzz"))
        };
        items.push(Item {
            tool: "cargo-fuzz",
            state,
        });
    }
    let nextest = cargo_succeeds(&ChildEnv::default(), root, &args(&["nextest", "--version"]));
    items.push(Item {
        tool: "cargo-nextest",
        state: if nextest {
            State::Ready("cargo nextest".into())
        } else {
            State::Optional(
                "the tests run under `cargo test` (cargo install cargo-nextest --locked)".into(),
            )
        },
    });
    items
}

/// The oldest Node.js major version the client tests run on: the first with a global `fetch`
/// (gRPC-Web goes through it), and what Debian 12 and Ubuntu 24.04 ship.
const NODE_MAJOR: u32 = 18;

/// Node.js and npm, from `node` and `npm` on `PATH` and `node --version`.
fn node_state(
    host: &Host,
    node: Option<&Path>,
    npm: Option<&Path>,
    version: Option<String>,
) -> State {
    let (Some(node), Some(_)) = (node, npm) else {
        return host.packages(vec!["nodejs", "npm"]);
    };
    let version = version.unwrap_or_default();
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse::<u32>().ok());
    match major {
        Some(major) if major >= NODE_MAJOR => {
            State::Ready(format!("{} ({version})", node.display()))
        }
        _ => State::Manual(format!(
            "install Node.js {NODE_MAJOR} or newer (found {} {version:?}), e.g. from https://nodejs.org",
            node.display()
        )),
    }
}

/// The virtual environment: current, to be made, or waiting for Python itself.
fn python_item(root: &Path, host: &Host) -> Item {
    let venv = root.join(VENV);
    let state = if venv_is_current(root) {
        State::Ready(rel(root, &venv))
    } else if !succeeds(Command::new("python3").args(["-c", "import venv, ensurepip"])) {
        // Debian ships ensurepip (which venv needs) apart from python3.
        host.packages(vec!["python3", "python3-venv"])
    } else {
        State::Install(Install::Venv)
    };
    Item {
        tool: "python tools",
        state,
    }
}

/// The environment works and was built from exactly the current requirements.
fn venv_is_current(root: &Path) -> bool {
    let venv = root.join(VENV);
    let Ok(wanted) = std::fs::read_to_string(root.join(REQUIREMENTS)) else {
        return false;
    };
    std::fs::read_to_string(venv.join(VENV_STAMP)).is_ok_and(|built| built == wanted)
        && succeeds(Command::new(venv.join("bin/python")).args(["-c", "pass"]))
}

fn postgres_state(host: &Host) -> State {
    if let Ok(url) = std::env::var("REKEY_TEST_DATABASE_URL") {
        return State::Ready(format!(
            "REKEY_TEST_DATABASE_URL ({})",
            url.split('@').next_back().unwrap_or("")
        ));
    }
    let local: SocketAddr = ([127, 0, 0, 1], 5432).into();
    if TcpStream::connect_timeout(&local, Duration::from_secs(2)).is_ok() {
        return State::Ready("a server on 127.0.0.1:5432".into());
    }
    if which("initdb").is_some() || postgres_bin_dir().is_some() {
        return State::Ready("initdb, for a throwaway cluster under target/pg-cluster".into());
    }
    host.packages(vec!["postgresql"])
}

/// pg_auto_failover for the high-availability tests: `pg_autoctl` and the `pgautofailover`
/// extension of the server version the tests run (Debian's newest under /usr/lib/postgresql;
/// 15, Debian 12's, before PostgreSQL is installed).
fn auto_failover_state(host: &Host) -> State {
    let version = postgres_bin_dir()
        .as_deref()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .map_or_else(|| "15".to_owned(), |v| v.to_string_lossy().into_owned());
    let control = format!("/usr/share/postgresql/{version}/extension/pgautofailover.control");
    if which("pg_autoctl").is_some() && Path::new(&control).exists() {
        return State::Ready(format!(
            "pg_autoctl, pgautofailover for PostgreSQL {version}"
        ));
    }
    let extension = match version.as_str() {
        "13" => "postgresql-13-auto-failover",
        "14" => "postgresql-14-auto-failover",
        "16" => "postgresql-16-auto-failover",
        "17" => "postgresql-17-auto-failover",
        _ => "postgresql-15-auto-failover",
    };
    host.packages(vec!["pg-auto-failover-cli", extension])
}

/// `/usr/lib/postgresql/<version>/bin` with `initdb` (Debian's layout), the newest.
fn postgres_bin_dir() -> Option<PathBuf> {
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .max()
}

/// Folders of client tests with a committed npm lockfile.
fn node_projects(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("tests/clients"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|dir| dir.join("package-lock.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn npm_is_current(dir: &Path) -> bool {
    let Ok(lock) = std::fs::read(dir.join("package-lock.json")) else {
        return false;
    };
    std::fs::read(dir.join("node_modules").join(NPM_STAMP)).is_ok_and(|stamp| stamp == lock)
}

fn print_list(items: &[Item]) {
    let missing = items
        .iter()
        .filter(|item| !matches!(item.state, State::Ready(_)))
        .count();
    let mut text = String::new();
    if missing == 0 {
        let _ = writeln!(text, "==> preflight: everything the tests need is here");
    } else {
        let _ = writeln!(text, "==> preflight: {missing} missing");
    }
    let root = crate::process::workspace_root().unwrap_or_default();
    for item in items {
        let (mark, what) = match &item.state {
            State::Ready(found) => ("ok     ", found.clone()),
            State::Install(how) => ("install", format!("will run: {}", how.describe(&root))),
            State::Manual(command) => ("MISSING", format!("you must run: {command}")),
            State::Optional(without) => ("absent ", format!("optional; {without}")),
        };
        let _ = writeln!(text, "    {mark}  {:<14} {what}", item.tool);
    }
    print!("{text}");
}

/// Carries out every `Install`, apt packages first (Python and npm may come from there).
fn install(root: &Path, items: &[Item]) -> Result<(), String> {
    let mut packages: Vec<&str> = items
        .iter()
        .filter_map(|item| match &item.state {
            State::Install(Install::Apt(packages)) => Some(packages.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect();
    packages.dedup();
    if !packages.is_empty() {
        apt_install(&packages)?;
    }
    let mut done: Vec<&Install> = Vec::new();
    for item in items {
        let State::Install(how) = &item.state else {
            continue;
        };
        if done.contains(&how) || matches!(how, Install::Apt(_)) {
            continue;
        }
        done.push(how);
        let start = Instant::now();
        println!("==> preflight: {}", how.describe(root));
        match how {
            Install::Apt(_) => {}
            Install::Venv => make_venv(root)?,
            Install::Cargo(name) => {
                run_cargo(
                    &ChildEnv::default(),
                    root,
                    &args(&["install", name, "--locked"]),
                )?;
            }
            Install::NpmCi(dir) => npm_ci(dir)?,
        }
        println!(
            "==> preflight: done in {:.1} s",
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn apt_install(packages: &[&str]) -> Result<(), String> {
    let start = Instant::now();
    println!("==> preflight: apt-get update");
    check(
        Command::new("apt-get").args(["update", "-q"]),
        "apt-get update",
    )?;
    println!(
        "==> preflight: apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    check(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        "apt-get install",
    )?;
    println!(
        "==> preflight: packages installed in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A new environment from the pinned requirements; the stamp is written last, so an
/// interrupted install is redone next time.
fn make_venv(root: &Path) -> Result<(), String> {
    let venv = root.join(VENV);
    let requirements = root.join(REQUIREMENTS);
    check(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        "python3 -m venv",
    )?;
    check(
        Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
        "pip install",
    )?;
    std::fs::copy(&requirements, venv.join(VENV_STAMP))
        .map(drop)
        .map_err(|e| format!("{}: {e}", venv.join(VENV_STAMP).display()))
}

fn npm_ci(dir: &Path) -> Result<(), String> {
    check(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir),
        "npm ci",
    )?;
    std::fs::copy(
        dir.join("package-lock.json"),
        dir.join("node_modules").join(NPM_STAMP),
    )
    .map(drop)
    .map_err(|e| format!("{}: {e}", dir.display()))
}

/// Runs a command with inherited output; Err names it when it fails.
fn check(command: &mut Command, name: &str) -> Result<(), String> {
    let status = command
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("{name}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

/// The command starts and exits 0; its output is discarded.
fn succeeds(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The first executable `name` on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn debian_and_its_derivatives_are_recognised() {
        assert!(os_release_is_debian_like("ID=debian\nVERSION_ID=\"12\"\n"));
        assert!(os_release_is_debian_like("ID=ubuntu\n"));
        assert!(os_release_is_debian_like(
            "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n"
        ));
        assert!(!os_release_is_debian_like("ID=fedora\nID_LIKE=\"rhel\"\n"));
        assert!(!os_release_is_debian_like("ID=\"arch\"\n"));
    }

    #[test]
    fn without_apt_the_user_is_told_the_exact_command() {
        let debian = Host {
            apt: false,
            debian_like: true,
        };
        match debian.packages(vec!["chromium", "chromium-driver"]) {
            State::Manual(command) => {
                assert_eq!(command, "sudo apt-get install chromium chromium-driver");
            }
            other => panic!("{other:?}"),
        }
        let root = Host {
            apt: true,
            debian_like: true,
        };
        assert!(matches!(
            root.packages(vec!["curl"]),
            State::Install(Install::Apt(p)) if p == ["curl"]
        ));
    }

    #[test]
    fn node_and_npm_are_required() {
        let debian = Host {
            apt: false,
            debian_like: true,
        };
        let node = Path::new("/usr/bin/node");
        let npm = Path::new("/usr/bin/npm");
        match node_state(&debian, None, Some(npm), None) {
            State::Manual(command) => assert_eq!(command, "sudo apt-get install nodejs npm"),
            other => panic!("{other:?}"),
        }
        match node_state(&debian, Some(node), None, Some("v20.1.0".into())) {
            State::Manual(command) => assert_eq!(command, "sudo apt-get install nodejs npm"),
            other => panic!("{other:?}"),
        }
        let root = Host {
            apt: true,
            debian_like: true,
        };
        assert!(matches!(
            node_state(&root, None, None, None),
            State::Install(Install::Apt(p)) if p == ["nodejs", "npm"]
        ));
        assert!(matches!(
            node_state(&debian, Some(node), Some(npm), Some("v20.20.2".into())),
            State::Ready(found) if found == "/usr/bin/node (v20.20.2)"
        ));
        match node_state(&root, Some(node), Some(npm), Some("v16.20.0".into())) {
            State::Manual(command) => assert!(command.contains("Node.js 18 or newer"), "{command}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_venv_is_current_only_with_the_same_requirements() {
        let dir = std::env::temp_dir().join(format!("rekey-preflight-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tests")).unwrap();
        std::fs::write(dir.join(REQUIREMENTS), "html5lib==1.1\n").unwrap();
        assert!(!venv_is_current(&dir), "no environment yet");
        let venv = dir.join(VENV);
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        // A stand-in interpreter that takes `-c pass`.
        let python = venv.join("bin/python");
        std::fs::write(&python, "#!/bin/sh\nexit 0\n").unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(venv.join(VENV_STAMP), "html5lib==1.1\n").unwrap();
        assert!(venv_is_current(&dir));
        std::fs::write(dir.join(REQUIREMENTS), "html5lib==1.2\n").unwrap();
        assert!(!venv_is_current(&dir), "the pins changed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
