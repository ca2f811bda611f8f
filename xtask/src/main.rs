//! Development tasks for the rekey workspace, run as `cargo xtask <task>`
//! (see [matklad/cargo-xtask](https://github.com/matklad/cargo-xtask)).
//!
//! - `test`: preflight, fmt check, clippy, tidy, then every test of the workspace.
//! - `preflight`: the tools the tests need beyond Rust, found or installed.
//! - `ci`:   the same, as CI runs it (`CI=true`, lints never skipped).
//! - `tidy`: the layer rules of ARCHITECTURE.md, checked from `cargo metadata`, and the docs' links.
//! - `fuzz`: the cargo-fuzz targets in `fuzz/`, each for a bounded time.
//!
//! - `bench`: load scenarios against a release build, next to their floors; `bench --micro`:
//!   the criterion micro-benchmarks.
//! - `fuzz-api`: schemathesis against a live `rekey`, driven by its OpenAPI document.
//!
//! No argument parser; `bench` alone brings an async runtime and an HTTP client, behind the
//! `bench` feature, so that the other tasks build in seconds on a fresh clone.

// A command-line tool prints to its user.
#![allow(clippy::print_stdout)]

mod api_fuzz;
#[cfg(feature = "bench")]
mod bench;
mod fuzz;
mod preflight;
mod process;
mod test;
mod tidy;

use std::process::ExitCode;

const USAGE: &str = "\
Usage: cargo xtask <task> [options]

Tasks:
  test [--no-lint] [--no-fuzz] [ARGS]... [-- ARGS...]
        preflight, cargo fmt --check, cargo clippy -D warnings, tidy, then all tests
        (cargo nextest if installed, else cargo test), schemathesis
        (fuzz-api) and the cargo-fuzz targets (fuzz --ci). --no-lint skips fmt
        and clippy, --no-fuzz the cargo-fuzz step. Other arguments, and everything after `--`, go to the test
        runner, e.g. `cargo xtask test -- some_filter`.
  ci [ARGS]... [-- ARGS...]
        `test` as CI runs it: sets CI=true (unless set); --no-lint is refused.
  bench [--quick] [--users N] [--duration S] [--warmup S] [--concurrency 8,32]
        [--resets-only] [--sqlite-only] [--grow N] [--import N]
        release build, PostgreSQL- and SQLite-backed rekey, load scenarios and
        their floors (pgbench, healthz, argon2), the cost per request (CPU,
        statements, WAL); writes target/bench/report.*
        (--resets-only: PostgreSQL PasswordReset over REST and gRPC only;
        --sqlite-only: the SQLite scenarios only, with the delivery worker on;
        --import N: only `rekey admin user import` of N users with imported
        password hashes, on SQLite and PostgreSQL, twice (the second finds
        every user);
        --grow N: grow the database to N users and 10 N events in SQL and run
        the resets again, default 1000000 in a full run, 0 skips;
        REKEY_BENCH_BINARY=path runs another build of rekey;
        REKEY_BENCH_HOLD=N keeps the SQLite server N whole seconds after its
        'idle, 7 s after load' reading and prints its pid)
  bench --micro [CRITERION ARGS]...
        the criterion micro-benchmarks (codes, code hashes, url templates,
        PasswordReset JSON), e.g. `cargo xtask bench --micro --quick`.
  bench --report-only
        write target/bench/report.md and report.svg again from report.json.
  fuzz-api [--examples N] [--seed N]
        schemathesis (from the preflight's venv) against a live debug
        rekey with its admin token: no 5xx, every answer as /openapi.json
        says. `test` runs it with 30 examples per operation.
  fuzz [--ci] [--time SECS] [TARGET]...
        build the fuzz targets in fuzz/ (installs cargo-fuzz if missing) and
        run each, or only TARGET, for SECS seconds (default 60; 20 with --ci,
        which also starts from the committed seeds alone). Fails on a finding.
  preflight [--no-fuzz]
        find or install what the tests need besides Rust, listed at once:
        Python tools (tests/requirements.txt) in target/test-tools/venv, curl,
        Chromium and chromedriver (apt-get, as root on Debian/Ubuntu),
        cargo-fuzz, PostgreSQL (a server or initdb), npm packages of client
        tests. Stops with the commands to run for what it cannot install.
  tidy  check the layer rules of ARCHITECTURE.md (dependency direction, lints,
        crate docs, publish flags) and the docs' links; one violation per line.
  help  print this text.
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(task) = args.next() else {
        eprint!("error: no task given\n\n{USAGE}");
        return ExitCode::from(2);
    };
    let rest: Vec<String> = args.collect();
    if wants_help(&rest) {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = match task.as_str() {
        "test" => test::run(test::Mode::Local, &rest),
        "ci" => test::run(test::Mode::Ci, &rest),
        "tidy" => tidy::run(&rest),
        "preflight" => preflight::run(&rest),
        "bench" => bench(&rest),
        "fuzz-api" => api_fuzz::run(&rest),
        "fuzz" => fuzz::run(&rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprint!("error: unknown task `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprint!("error: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `bench`, which needs the `bench` feature's dependencies.
#[cfg(feature = "bench")]
fn bench(rest: &[String]) -> Result<(), Failure> {
    bench::run(rest)
}

/// `bench` without the feature: runs xtask again with it (built once, then cached beside the
/// plain xtask).
#[cfg(not(feature = "bench"))]
fn bench(rest: &[String]) -> Result<(), Failure> {
    let root = process::workspace_root()?;
    let mut command = process::args(&[
        "run",
        "--quiet",
        "--package",
        "xtask",
        "--features",
        "bench",
        "--",
        "bench",
    ]);
    command.extend(rest.iter().cloned());
    process::run_cargo(&process::ChildEnv::default(), &root, &command).map_err(Failure::Failed)
}

/// `-h`/`--help` among a task's own arguments (those before `--`).
fn wants_help(args: &[String]) -> bool {
    args.iter()
        .take_while(|arg| *arg != "--")
        .any(|arg| arg == "-h" || arg == "--help")
}

/// Why a task did not succeed; decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad command line: exit 2 with the usage text.
    Usage(String),
    /// A step or check failed: exit 1.
    Failed(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Failed(message)
    }
}
