//! `cargo xtask bench --import N`: `rekey admin user import` of N users with imported password
//! hashes (`tests/import/make_users.py`, every format ZITADEL accepts), on SQLite and on
//! PostgreSQL: the first import's rate, and a second import's (every user exists already).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::json;

use super::{Server, admin_url, client, post, psql, with_database};
use crate::bench::Row;

/// The file of `users` users for the organization `ORGID` (replaced per backend), made once
/// per size with the tests' Python environment.
fn users_file(root: &Path, out: &Path, users: usize) -> Result<std::path::PathBuf, String> {
    let file = out.join(format!("import-{users}.jsonl"));
    if file.exists() {
        return Ok(file);
    }
    let python = root.join("target/test-tools/venv/bin/python");
    println!("==> import: writing {users} users with imported hashes (once per size)");
    let made = Command::new(&python)
        .arg(root.join("tests/import/make_users.py"))
        .args(["ORGID", &users.to_string()])
        .arg(&file)
        .output()
        .map_err(|e| format!("{}: {e} (run cargo xtask preflight)", python.display()))?;
    if !made.status.success() {
        return Err(String::from_utf8_lossy(&made.stderr).into_owned());
    }
    Ok(file)
}

/// One `rekey admin user import`; its last line and the seconds it took.
fn import_once(
    root: &Path,
    data: &Path,
    env: &[(&str, String)],
    file: &Path,
) -> Result<(String, f64), String> {
    let binary = std::env::var_os("REKEY_BENCH_BINARY").map_or_else(
        || root.join("target/release/rekey"),
        std::path::PathBuf::from,
    );
    let started = Instant::now();
    let output = Command::new(binary)
        .args(["admin", "user", "import"])
        .arg(file)
        .env("REKEY__DATA_DIR", data)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .map_err(|e| format!("rekey admin user import: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default().to_owned();
    if !output.status.success() {
        return Err(format!(
            "import failed: {last}\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok((last, seconds))
}

fn row(backend: &str, scenario: &str, users: usize, seconds: f64) -> Row {
    Row {
        backend: backend.to_owned(),
        scenario: scenario.to_owned(),
        concurrency: 16,
        throughput: users as f64 / seconds,
        p50: 0.0,
        p90: 0.0,
        p99: 0.0,
        max: seconds * 1e3,
        errors: 0,
        server_cpu_percent: 0.0,
        server_peak_rss_mb: 0.0,
        server_rss_mb: 0.0,
        floor: None,
        floor_throughput: None,
        floor_p99: None,
        cost: None,
    }
}

/// Both backends; two rows each (first import, second import).
pub async fn run(root: &Path, out: &Path, users: usize) -> Result<Vec<Row>, String> {
    let file = users_file(root, out, users)?;
    let template = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
    let admin = admin_url();
    psql(
        &admin,
        "DROP DATABASE IF EXISTS rekey_bench_import WITH (FORCE)",
    )?;
    psql(&admin, "CREATE DATABASE rekey_bench_import")?;
    let pg_url = with_database(&admin, "rekey_bench_import");
    let mut rows = Vec::new();
    for (backend, env) in [
        ("sqlite", Vec::new()),
        ("postgres", vec![("REKEY__DATABASE__URL", pg_url.clone())]),
    ] {
        let data = out.join(format!("import-{backend}"));
        let _ = std::fs::remove_dir_all(&data);
        // The server makes the schema, the admin token and the organization, then stops: the
        // import runs alone, as an operator would run it.
        let server = Server::start(root, &data, &env)?;
        let org = post(
            &client(),
            format!("{}/v2/organizations", server.base),
            &server.token,
            json!({ "name": "imported" }).to_string(),
        )
        .await
        .ok_or("AddOrganization failed")?;
        let org = org["organizationId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        server.stop();
        let lines = data.join("users.jsonl");
        std::fs::write(&lines, template.replace("ORGID", &org)).map_err(|e| e.to_string())?;
        for (scenario, expected) in [
            (
                "import (new users)",
                format!("added {users}, unchanged 0, failed 0"),
            ),
            (
                "import again (all exist)",
                format!("added 0, unchanged {users}, failed 0"),
            ),
        ] {
            let (last, seconds) = import_once(root, &data, &env, &lines)?;
            if last != expected {
                return Err(format!("{backend} {scenario}: {last:?}, not {expected:?}"));
            }
            println!(
                "    {backend:8} {scenario:26} {users} users in {seconds:6.1} s: {:7.0} users/s",
                users as f64 / seconds
            );
            rows.push(row(backend, scenario, users, seconds));
        }
    }
    let _ = psql(
        &admin,
        "DROP DATABASE IF EXISTS rekey_bench_import WITH (FORCE)",
    );
    Ok(rows)
}
