//! `cargo xtask test` and `cargo xtask ci`: fmt, clippy, tidy, services, tests.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::Failure;
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
    let result = run_steps(mode, &options, &root, &mut env, &mut steps);
    steps.print_summary();
    result.map_err(Failure::Failed)
}

fn run_steps(
    mode: Mode,
    options: &Options,
    root: &Path,
    env: &mut ChildEnv,
    steps: &mut Steps,
) -> Result<(), String> {
    if options.no_lint {
        println!("==> fmt, clippy: skipped (--no-lint)");
    } else {
        let fmt = args(&["fmt", "--all", "--", "--check"]);
        steps.run("fmt", &show_cargo(&fmt), || run_cargo(env, root, &fmt))?;
        let clippy = args(&[
            "clippy",
            "--workspace",
            "--all-targets",
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

    steps.run("services", "prepare_services()", || {
        prepare_services(mode, env)
    })?;

    // The black-box tests run target/debug/rekey; cargo's test build does not rebuild other
    // packages' binaries, so build it first or the tests would run a stale one.
    let bins = args(&["build", "--workspace", "--bins"]);
    steps.run("binaries", &show_cargo(&bins), || {
        run_cargo(env, root, &bins)
    })?;

    let runner = test_command(env, root, &options.runner_args);
    steps.run("tests", &show_cargo(&runner), || {
        run_cargo(env, root, &runner)
    })
}

/// Starts or finds the external services the tests need; called right before the tests.
///
/// Nothing to do yet. The PostgreSQL issue puts its step here: find a running server (or start
/// the local cluster, `pg_ctlcluster 15 main start`), create the test role and database, and
/// export `REKEY_TEST_DATABASE_URL` to the test runner with `env.set(..)` (children only; our
/// own environment can't be changed without `unsafe`). PostgreSQL tests never skip silently:
/// under [`Mode::Ci`] a missing server is an error; locally it is an error too unless the
/// developer opts out explicitly.
fn prepare_services(mode: Mode, env: &mut ChildEnv) -> Result<(), String> {
    let _ = (mode, env);
    Ok(())
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
                runner_args: args(&["--", "--no-lint", "x"])
            }
        );
    }

    #[test]
    fn ci_refuses_no_lint() {
        assert!(matches!(
            parse(Mode::Ci, &args(&["--no-lint"])),
            Err(Failure::Usage(_))
        ));
    }
}
