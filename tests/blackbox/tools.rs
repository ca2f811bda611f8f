//! The programs the tests drive besides `rekey`, as `cargo xtask preflight` prepared them:
//! Python from the project's virtual environment (aiosmtpd, html5lib, openapi-spec-validator)
//! and Debian's Chromium. Never the system's `python3`, whose packages would hide a missing
//! step.

use std::path::PathBuf;
use std::process::Command;

/// The environment's Python: `REKEY_TEST_PYTHON` (set by `cargo xtask test`), else
/// `target/test-tools/venv/bin/python`.
pub fn python() -> Command {
    let path = std::env::var_os("REKEY_TEST_PYTHON").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/test-tools/venv/bin/python"
            ))
        },
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} does not exist: run `cargo xtask preflight` (cargo xtask test does) to make the \
         tests' Python environment",
        path.display()
    );
    Command::new(path)
}

/// Runs `script` with `arg` in the environment's Python; its stdout. Fails the test, with
/// Python's stderr, when the script fails.
pub fn run_python(script: &str, arg: &std::path::Path) -> String {
    let output = python()
        .args(["-c", script])
        .arg(arg)
        .output()
        .expect("python");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Chromium's binary: `REKEY_TEST_CHROMIUM`, else Debian's `/usr/bin/chromium`.
pub fn chromium() -> String {
    std::env::var("REKEY_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}
