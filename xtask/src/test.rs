//! `cargo xtask test` and `cargo xtask ci`: preflight, fmt, clippy, tidy, services, tests, and
//! the two fuzz steps.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::Failure;
use crate::preflight::{self, Needs};
use crate::process::{ChildEnv, args, cargo_succeeds, run_cargo, show_cargo, workspace_root};
use crate::tidy;

/// Who runs the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A developer: `--no-lint` allowed.
    Local,
    /// CI: `CI=true` for the children, lints always on, missing services are errors.
    Ci,
}

/// Parsed arguments of `test` / `ci`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    /// Skip `cargo fmt --check` and `cargo clippy`.
    no_lint: bool,
    /// Skip the cargo-fuzz step (its first build takes minutes).
    no_fuzz: bool,
    /// Passed to the test runner as they are (including a `--` and what follows it).
    runner_args: Vec<String>,
}

fn parse(mode: Mode, raw: &[String]) -> Result<Options, Failure> {
    let mut options = Options::default();
    let mut raw = raw.iter();
    while let Some(arg) = raw.next() {
        match arg.as_str() {
            "--" => {
                options.runner_args.push(arg.clone());
                options.runner_args.extend(raw.by_ref().cloned());
            }
            "--no-lint" if mode == Mode::Ci => {
                return Err(Failure::Usage(
                    "`ci` always lints; --no-lint is for `test`".into(),
                ));
            }
            "--no-lint" => options.no_lint = true,
            "--no-fuzz" if mode == Mode::Ci => {
                return Err(Failure::Usage(
                    "`ci` always fuzzes; --no-fuzz is for `test`".into(),
                ));
            }
            "--no-fuzz" => options.no_fuzz = true,
            _ => options.runner_args.push(arg.clone()),
        }
    }
    Ok(options)
}

/// Runs the whole sequence; stops at the first failing step.
pub fn run(mode: Mode, raw_args: &[String]) -> Result<(), Failure> {
    let options = parse(mode, raw_args)?;
    let root = workspace_root()?;
    let mut env = ChildEnv::default();
    env.set_default("CARGO_TERM_COLOR", "always");
    if mode == Mode::Ci {
        env.set_default("CI", "true");
    }

    let mut steps = Steps::default();
    let result = run_steps(&options, &root, &mut env, &mut steps);
    steps.print_summary();
    result.map_err(Failure::Failed)
}

fn run_steps(
    options: &Options,
    root: &Path,
    env: &mut ChildEnv,
    steps: &mut Steps,
) -> Result<(), String> {
    let fuzz = !options.no_fuzz && options.runner_args.is_empty();
    let mut tools = None;
    steps.run(
        "preflight",
        "the tools the tests need, found or installed",
        || {
            tools = Some(preflight::prepare(root, Needs { fuzz })?);
            Ok(())
        },
    )?;
    let tools = tools.ok_or("preflight gave no tools")?;
    tools.export(env);

    if options.no_lint {
        println!("==> fmt, clippy: skipped (--no-lint)");
    } else {
        let fmt = args(&["fmt", "--all", "--", "--check"]);
        steps.run("fmt", &show_cargo(&fmt), || run_cargo(env, root, &fmt))?;
        let clippy = args(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--features",
            "xtask/bench",
            "--",
            "-D",
            "warnings",
        ]);
        steps.run("clippy", &show_cargo(&clippy), || {
            run_cargo(env, root, &clippy)
        })?;
    }

    steps.run("tidy", "tidy checks (in-process)", || {
        let violations = tidy::check(root)?;
        if violations.is_empty() {
            Ok(())
        } else {
            tidy::print(&violations);
            Err(format!("{} tidy violation(s)", violations.len()))
        }
    })?;

    let mut cluster = None;
    steps.run(
        "services",
        "find PostgreSQL (env, 127.0.0.1:5432, or a throwaway cluster)",
        || {
            cluster = prepare_services(root, env)?;
            Ok(())
        },
    )?;

    // The black-box tests run target/debug/rekey; cargo's test build does not rebuild other
    // packages' binaries, so build it first or the tests would run a stale one.
    let bins = args(&["build", "--workspace", "--bins"]);
    let result = steps
        .run("binaries", &show_cargo(&bins), || {
            run_cargo(env, root, &bins)
        })
        .and_then(|()| {
            let runner = test_command(env, root, &options.runner_args);
            steps.run("tests", &show_cargo(&runner), || {
                run_cargo(env, root, &runner)
            })
        })
        .and_then(|()| {
            if !options.runner_args.is_empty() {
                println!("==> api fuzz: skipped (the tests were filtered)");
                return Ok(());
            }
            steps.run(
                "api fuzz",
                "cargo xtask fuzz-api --examples 30 (schemathesis)",
                || crate::api_fuzz::run_in_test(root, &tools.schemathesis, 30),
            )
        })
        .and_then(|()| {
            if !fuzz {
                println!("==> fuzz: skipped (--no-fuzz, or the tests were filtered)");
                return Ok(());
            }
            steps.run(
                "fuzz",
                "cargo xtask fuzz --ci (every cargo-fuzz target for 20 s)",
                || {
                    crate::fuzz::run(&["--ci".to_owned()]).map_err(|failure| match failure {
                        Failure::Usage(message) | Failure::Failed(message) => message,
                    })
                },
            )
        });
    if let Some(dir) = cluster {
        let mut stop = pg_cluster(env, root, "stop", &dir);
        println!(
            "==> stopping the throwaway PostgreSQL cluster in {}",
            dir.display()
        );
        if !stop.status().is_ok_and(|s| s.success()) {
            eprintln!("warning: could not stop the cluster in {}", dir.display());
        }
    }
    result
}

/// The PostgreSQL server the tests use, exported to them as `REKEY_TEST_DATABASE_URL`, found in
/// this order: the variable itself; a server answering on 127.0.0.1:5432; a throwaway cluster
/// started with the installed `initdb`/`pg_ctl` under `target/pg-cluster` (returned, so it is
/// stopped after the tests). Otherwise an error that says how to install PostgreSQL: the
/// PostgreSQL tests never skip.
fn prepare_services(root: &Path, env: &mut ChildEnv) -> Result<Option<PathBuf>, String> {
    if let Ok(url) = std::env::var("REKEY_TEST_DATABASE_URL") {
        println!("==> PostgreSQL: REKEY_TEST_DATABASE_URL={}", redact(&url));
        return Ok(None);
    }
    let local: SocketAddr = ([127, 0, 0, 1], 5432).into();
    if TcpStream::connect_timeout(&local, Duration::from_secs(2)).is_ok() {
        let url = "postgres://postgres@127.0.0.1:5432/postgres";
        println!("==> PostgreSQL: the server on 127.0.0.1:5432 ({url})");
        env.set("REKEY_TEST_DATABASE_URL", url);
        return Ok(None);
    }
    let dir = root.join("target").join("pg-cluster");
    println!(
        "==> PostgreSQL: nothing on 127.0.0.1:5432; starting a throwaway cluster in {}",
        dir.display()
    );
    let mut command = pg_cluster(env, root, "start", &dir);
    let output = command
        .output()
        .map_err(|e| format!("starting pg-cluster: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "no PostgreSQL for the tests: none on 127.0.0.1:5432, REKEY_TEST_DATABASE_URL unset, \
             and a throwaway cluster did not start:\n{}\n\
             Install PostgreSQL (Debian: apt-get install postgresql) or point \
             REKEY_TEST_DATABASE_URL at a server where this user may create databases.",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let url = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    println!("==> PostgreSQL: throwaway cluster at {url}");
    env.set("REKEY_TEST_DATABASE_URL", &url);
    Ok(Some(dir))
}

/// `cargo run -p rekey-test-db --bin pg-cluster -- VERB DIR`.
fn pg_cluster(env: &ChildEnv, root: &Path, verb: &str, dir: &Path) -> std::process::Command {
    let run = args(&[
        "run",
        "-q",
        "-p",
        "rekey-test-db",
        "--bin",
        "pg-cluster",
        "--",
        verb,
    ]);
    let mut command = env.cargo(root, &run);
    command.arg(dir);
    command
}

/// A URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// `cargo nextest run --workspace --no-fail-fast ARGS` if nextest is installed,
/// else `cargo test --workspace ARGS`.
fn test_command(env: &ChildEnv, root: &Path, runner_args: &[String]) -> Vec<String> {
    let mut command = if cargo_succeeds(env, root, &args(&["nextest", "--version"])) {
        args(&["nextest", "run", "--workspace", "--no-fail-fast"])
    } else {
        println!("==> cargo-nextest not found; falling back to cargo test");
        args(&["test", "--workspace"])
    };
    command.extend(runner_args.iter().cloned());
    command
}

/// The steps run so far, with their durations.
#[derive(Debug, Default)]
struct Steps {
    done: Vec<(&'static str, Duration, bool)>,
}

impl Steps {
    fn run(
        &mut self,
        name: &'static str,
        shown: &str,
        step: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        println!("==> {name}: {shown}");
        let start = Instant::now();
        let result = step();
        self.done.push((name, start.elapsed(), result.is_ok()));
        result.map_err(|err| format!("step `{name}` failed: {err}"))
    }

    fn print_summary(&self) {
        println!("==> elapsed");
        let mut total = Duration::ZERO;
        for (name, elapsed, ok) in &self.done {
            total += *elapsed;
            let mark = if *ok { "ok" } else { "FAILED" };
            println!("    {name:<10} {:>8.1} s  {mark}", elapsed.as_secs_f64());
        }
        println!("    {:<10} {:>8.1} s", "total", total.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_flags_are_taken_and_the_rest_goes_to_the_runner() {
        let options = parse(
            Mode::Local,
            &args(&["--no-lint", "some_filter", "--", "--ignored"]),
        )
        .expect("valid arguments");
        assert_eq!(
            options,
            Options {
                no_lint: true,
                no_fuzz: false,
                runner_args: args(&["some_filter", "--", "--ignored"])
            }
        );
    }

    #[test]
    fn everything_after_the_separator_is_passed_verbatim() {
        let options =
            parse(Mode::Local, &args(&["--", "--no-lint", "x"])).expect("valid arguments");
        assert_eq!(
            options,
            Options {
                no_lint: false,
                no_fuzz: false,
                runner_args: args(&["--", "--no-lint", "x"])
            }
        );
    }

    #[test]
    fn printed_urls_hide_passwords() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres:***@127.0.0.1/x"
        );
        assert_eq!(redact("not a url"), "not a url");
    }

    #[test]
    fn ci_refuses_no_lint() {
        assert!(matches!(
            parse(Mode::Ci, &args(&["--no-lint"])),
            Err(Failure::Usage(_))
        ));
    }
}
