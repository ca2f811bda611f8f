//! Finding the workspace root and running child commands.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root: the parent of this crate's directory, checked against
/// `cargo locate-project --workspace` when that parent has no `Cargo.toml`.
pub fn workspace_root() -> Result<PathBuf, String> {
    let from_manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR")).parent();
    if let Some(root) = from_manifest_dir
        && root.join("Cargo.toml").is_file()
    {
        return Ok(root.to_path_buf());
    }
    let output = Command::new(cargo())
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .output()
        .map_err(|err| format!("cannot run `cargo locate-project`: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo locate-project --workspace` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    manifest
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("no parent directory for {}", manifest.display()))
}

/// The cargo that runs us (`$CARGO`), or `cargo` from `PATH`.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// Environment variables given to every child command.
///
/// Our own environment is never changed (`std::env::set_var` is `unsafe` since edition 2024
/// and the workspace forbids unsafe code); variables for the children are collected here.
#[derive(Debug, Default)]
pub struct ChildEnv {
    vars: Vec<(String, String)>,
}

impl ChildEnv {
    /// Sets `key` for the children unless our own environment already has it.
    pub fn set_default(&mut self, key: &str, value: &str) {
        if std::env::var_os(key).is_none() {
            self.set(key, value);
        }
    }

    /// Sets `key` for the children, replacing an earlier value.
    pub fn set(&mut self, key: &str, value: &str) {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_owned(), value.to_owned()));
    }

    /// A `cargo` command with these variables, run from `root`.
    pub fn cargo(&self, root: &Path, args: &[String]) -> Command {
        let mut command = Command::new(cargo());
        command.args(args).current_dir(root);
        for (key, value) in &self.vars {
            command.env(key, value);
        }
        command
    }
}

/// Runs `cargo ARGS` from `root`, output inherited. Err if it can't start or exits non-zero.
pub fn run_cargo(env: &ChildEnv, root: &Path, args: &[String]) -> Result<(), String> {
    let shown = show_cargo(args);
    let status = env
        .cargo(root, args)
        .status()
        .map_err(|err| format!("cannot run `{shown}`: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        let why = match status.code() {
            Some(code) => format!("exit code {code}"),
            None => "killed by a signal".to_owned(),
        };
        Err(format!("`{shown}` failed ({why})"))
    }
}

/// True if `cargo ARGS` starts and exits 0; its output is discarded.
pub fn cargo_succeeds(env: &ChildEnv, root: &Path, args: &[String]) -> bool {
    env.cargo(root, args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `cargo ARGS` as a shell-like line, for messages.
pub fn show_cargo(args: &[String]) -> String {
    let mut line = String::from("cargo");
    for arg in args {
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
            let _ = write!(line, " '{}'", arg.replace('\'', r"'\''"));
        } else {
            let _ = write!(line, " {arg}");
        }
    }
    line
}

/// Owned argument list from string slices.
pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}
