//! `cargo xtask fuzz`: builds the fuzz targets in `fuzz/` with cargo-fuzz and runs each for a
//! bounded time, starting from its committed seed corpus (`fuzz/corpus/<target>/`).
//!
//! cargo-fuzz passes nightly-only flags to rustc (`-Zsanitizer=address`, sanitizer-coverage
//! options); the machine has only a stable toolchain, so the children get `RUSTC_BOOTSTRAP=1`,
//! which lets stable rustc accept them. Nothing else is built with it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use crate::Failure;
use crate::process::{ChildEnv, args, cargo_succeeds, run_cargo, show_cargo, workspace_root};

/// Seconds per target: a short run in CI, a longer one by hand.
const CI_SECONDS: u64 = 20;
const LOCAL_SECONDS: u64 = 60;

/// libFuzzer's limits. An input of a few KiB that needs a 64 MiB allocation, 2 GiB of memory in
/// all (AddressSanitizer's share included; a run peaks near 600 MB) or 10 s is a finding.
const LIBFUZZER_LIMITS: [&str; 3] = ["-malloc_limit_mb=64", "-rss_limit_mb=2048", "-timeout=10"];

/// Lines of a failed run's log that are shown (libFuzzer's report ends its output).
const FAILURE_LINES: usize = 80;

/// 16 codegen units instead of cargo-fuzz's default of 1, so that the large crates compile on
/// both cores. The build with 16 took 7 minutes on two idle cores; 1 was not measured, nor how
/// much slower the targets run with 16.
const CODEGEN_UNITS: &str = "16";

/// Parsed arguments of `fuzz`.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    /// CI: short runs from the seeds alone, into a scratch corpus that is thrown away.
    ci: bool,
    /// Seconds per target.
    seconds: u64,
    /// The targets to run; all when empty.
    targets: Vec<String>,
}

fn parse(raw: &[String]) -> Result<Options, Failure> {
    let mut ci = false;
    let mut seconds = None;
    let mut targets = Vec::new();
    let mut raw = raw.iter();
    while let Some(arg) = raw.next() {
        match arg.as_str() {
            "--ci" => ci = true,
            "--time" => {
                let value = raw
                    .next()
                    .ok_or_else(|| Failure::Usage("--time needs a number of seconds".into()))?;
                let parsed = value
                    .parse::<u64>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| {
                        Failure::Usage(format!("--time {value}: not a positive number of seconds"))
                    })?;
                seconds = Some(parsed);
            }
            flag if flag.starts_with('-') => {
                return Err(Failure::Usage(format!("fuzz: unknown option {flag}")));
            }
            target => targets.push(target.to_owned()),
        }
    }
    let seconds = seconds.unwrap_or(if ci { CI_SECONDS } else { LOCAL_SECONDS });
    Ok(Options {
        ci,
        seconds,
        targets,
    })
}

/// Installs cargo-fuzz if needed, builds every target, and runs the chosen ones. Every target
/// runs even after a finding; the task fails if any target found something.
pub fn run(raw_args: &[String]) -> Result<(), Failure> {
    let options = parse(raw_args)?;
    let root = workspace_root()?;
    let fuzz_dir = root.join("fuzz");
    let mut env = ChildEnv::default();
    env.set_default("CARGO_TERM_COLOR", "always");
    env.set("RUSTC_BOOTSTRAP", "1");
    if options.ci {
        env.set_default("CI", "true");
    }

    if !cargo_succeeds(&env, &root, &args(&["fuzz", "--version"])) {
        println!("==> cargo-fuzz not found; installing it");
        run_cargo(&env, &root, &args(&["install", "cargo-fuzz", "--locked"]))?;
    }

    let available = list_targets(&fuzz_dir)?;
    let targets = if options.targets.is_empty() {
        available.clone()
    } else {
        for target in &options.targets {
            if !available.contains(target) {
                return Err(Failure::Usage(format!(
                    "no fuzz target `{target}`; there are: {}",
                    available.join(", ")
                )));
            }
        }
        options.targets.clone()
    };

    let fmt = args(&["fmt", "--manifest-path", "fuzz/Cargo.toml", "--", "--check"]);
    println!("==> fuzz: {}", show_cargo(&fmt));
    run_cargo(&env, &root, &fmt)?;

    let build = fuzz_command("build", &[]);
    println!("==> fuzz: {}", show_cargo(&build));
    let started = Instant::now();
    run_cargo(&env, &fuzz_dir, &build)?;
    println!(
        "==> fuzz: built in {:.0} s",
        started.elapsed().as_secs_f64()
    );

    let mut findings = Vec::new();
    for target in &targets {
        let work = work_corpus(&fuzz_dir, target, options.ci)?;
        let seeds = fuzz_dir.join("corpus").join(target);
        let max_time = format!("-max_total_time={}", options.seconds);
        let mut libfuzzer = vec![max_time.as_str(), "-print_final_stats=1"];
        libfuzzer.extend(LIBFUZZER_LIMITS);
        let run = fuzz_command(
            "run",
            &[
                target.as_str(),
                &work.to_string_lossy(),
                &seeds.to_string_lossy(),
                "--",
            ],
        )
        .into_iter()
        .chain(args(&libfuzzer))
        .collect::<Vec<_>>();
        println!("==> fuzz {target}: {} s", options.seconds);
        println!("    {}", show_cargo(&run));
        let log = fuzz_dir
            .join("target")
            .join("logs")
            .join(format!("{target}.log"));
        let started = Instant::now();
        let result = run_logged(&env, &fuzz_dir, &run, &log);
        let output = String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned();
        match result {
            Ok(()) => {
                for line in output.lines().filter(|l| is_stat(l)) {
                    println!("    {line}");
                }
                println!(
                    "==> fuzz {target}: no finding in {:.0} s",
                    started.elapsed().as_secs_f64()
                );
            }
            Err(err) => {
                let lines: Vec<&str> = output.lines().collect();
                for line in &lines[lines.len().saturating_sub(FAILURE_LINES)..] {
                    println!("    {line}");
                }
                println!(
                    "==> fuzz {target}: FINDING ({err}); the input is in fuzz/artifacts/{target}/, \
                     the whole log in {}",
                    log.display()
                );
                findings.push(target.clone());
            }
        }
    }

    let passed = targets.len() - findings.len();
    println!("fuzz: {passed} passed, {} failed", findings.len());
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "fuzz targets with a finding: {}. Reproduce one with \
             `RUSTC_BOOTSTRAP=1 cargo fuzz run --codegen-units {CODEGEN_UNITS} TARGET fuzz/artifacts/TARGET/FILE` \
             (from fuzz/), fix the code, and add a regression test to the owning crate",
            findings.join(", ")
        )))
    }
}

/// Runs `cargo ARGS` from `dir` with its output in `log` (libFuzzer prints a line per new
/// input; only the statistics, or the report of a finding, are shown).
fn run_logged(env: &ChildEnv, dir: &Path, args: &[String], log: &Path) -> Result<(), String> {
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("creating {}: {e}", parent.display()))?;
    }
    let file = File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
    let stderr = file
        .try_clone()
        .map_err(|e| format!("opening {}: {e}", log.display()))?;
    let shown = show_cargo(args);
    let status = env
        .cargo(dir, args)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(stderr)
        .status()
        .map_err(|err| format!("cannot run `{shown}`: {err}"))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(format!("exit code {code}")),
        None => Err("killed by a signal".to_owned()),
    }
}

/// libFuzzer's closing statistics, and its summary line.
fn is_stat(line: &str) -> bool {
    line.starts_with("stat::") || (line.starts_with('#') && line.contains(" DONE "))
}

/// `cargo fuzz VERB` with this task's build options, then `rest`.
fn fuzz_command(verb: &str, rest: &[&str]) -> Vec<String> {
    let mut command = args(&["fuzz", verb, "--codegen-units", CODEGEN_UNITS]);
    command.extend(args(rest));
    command
}

/// The target names, from `[[bin]]` tables of `fuzz/Cargo.toml`.
fn list_targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let manifest = fuzz_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
    let targets = bin_names(&text);
    if targets.is_empty() {
        return Err(format!("no [[bin]] targets in {}", manifest.display()));
    }
    Ok(targets)
}

/// The `name = "…"` of each `[[bin]]` table.
fn bin_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin
            && let Some(value) = line.strip_prefix("name").map(str::trim_start)
            && let Some(value) = value.strip_prefix('=')
        {
            names.push(value.trim().trim_matches('"').to_owned());
        }
    }
    names
}

/// The corpus libFuzzer adds to: `fuzz/work/<target>`, kept between local runs so that long
/// runs build on each other; emptied first in CI, so every CI run starts from the seeds.
fn work_corpus(fuzz_dir: &Path, target: &str, ci: bool) -> Result<PathBuf, String> {
    let dir = fuzz_dir.join("work").join(target);
    if ci && dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("emptying {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_have_defaults_by_mode() {
        let local = parse(&[]).expect("valid");
        assert_eq!(local.seconds, LOCAL_SECONDS);
        assert!(!local.ci && local.targets.is_empty());
        let ci = parse(&args(&["--ci"])).expect("valid");
        assert_eq!(ci.seconds, CI_SECONDS);
        let long = parse(&args(&["--time", "600", "phone", "email"])).expect("valid");
        assert_eq!(
            long,
            Options {
                ci: false,
                seconds: 600,
                targets: args(&["phone", "email"])
            }
        );
    }

    #[test]
    fn bad_options_are_usage_errors() {
        for bad in [
            &["--time"][..],
            &["--time", "0"],
            &["--time", "x"],
            &["--fast"],
        ] {
            assert!(
                matches!(parse(&args(bad)), Err(Failure::Usage(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn targets_are_the_bin_tables() {
        let manifest = "[package]\nname = \"rekey-fuzz\"\n\n[[bin]]\nname = \"phone\"\npath = \"p.rs\"\n\n[[bin]]\nname=\"email\"\n[dependencies]\nname = \"x\"\n";
        assert_eq!(bin_names(manifest), args(&["phone", "email"]));
    }

    #[test]
    fn the_fuzz_crate_has_targets_with_seeds() {
        let fuzz_dir = workspace_root().expect("root").join("fuzz");
        let targets = list_targets(&fuzz_dir).expect("targets");
        assert!(targets.len() >= 9, "{targets:?}");
        for target in targets {
            let seeds = fuzz_dir.join("corpus").join(&target);
            let count = std::fs::read_dir(&seeds).map_or(0, Iterator::count);
            assert!(count >= 3, "{} has {count} seeds", seeds.display());
        }
    }
}
