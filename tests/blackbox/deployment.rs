//! docs/DEPLOYMENT.md's configuration files are the ones that work: the systemd unit passes
//! `systemd-analyze verify`, and HAProxy accepts its configuration (which tests/blackbox/ha.rs
//! runs).

use std::path::Path;
use std::process::Command;

/// The first fenced block of `lang` in docs/DEPLOYMENT.md.
pub fn block(lang: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/DEPLOYMENT.md");
    let doc = std::fs::read_to_string(path).expect("docs/DEPLOYMENT.md");
    let start = doc
        .find(&format!("```{lang}\n"))
        .unwrap_or_else(|| panic!("a ```{lang} block in docs/DEPLOYMENT.md"))
        + lang.len()
        + 4;
    let end = doc[start..].find("\n```").expect("the block's end") + start;
    format!("{}\n", &doc[start..end])
}

/// HAProxy's configuration from docs/DEPLOYMENT.md, listening on `bind`, balancing over
/// `servers` (`host:port`, two) and answering with `errorfile` when no instance is ready.
pub fn haproxy_config(bind: &str, servers: [&str; 2], errorfile: &Path) -> String {
    let config = block("haproxy");
    for placeholder in [
        "bind :8080",
        "10.0.0.11:8080",
        "10.0.0.12:8080",
        "/etc/haproxy/errors/rekey-503.http",
    ] {
        assert!(
            config.contains(placeholder),
            "the documented configuration has {placeholder}"
        );
    }
    config
        .replace("bind :8080", &format!("bind {bind}"))
        .replace("10.0.0.11:8080", servers[0])
        .replace("10.0.0.12:8080", servers[1])
        .replace(
            "/etc/haproxy/errors/rekey-503.http",
            &errorfile.display().to_string(),
        )
}

#[test]
fn the_documented_systemd_unit_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let unit = block("ini");
    assert!(
        unit.contains("ExecStart=/usr/local/bin/rekey serve"),
        "{unit}"
    );
    // verify checks that the program exists: the one this build made.
    let unit = unit.replace(
        "/usr/local/bin/rekey",
        &crate::harness::binary().display().to_string(),
    );
    let path = dir.path().join("rekey.service");
    std::fs::write(&path, unit).unwrap();
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (apt-get install systemd)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // An unknown or misspelt setting is only a warning: the unit must have none.
    assert!(
        output.status.success() && stderr.trim().is_empty(),
        "{stderr}"
    );
}

#[test]
fn haproxy_accepts_the_documented_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let errorfile = dir.path().join("503.http");
    std::fs::write(&errorfile, block("http")).unwrap();
    let config = haproxy_config("127.0.0.1:8080", ["127.0.0.1:1", "127.0.0.1:2"], &errorfile);
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    let output = Command::new("haproxy")
        .args(["-c", "-f"])
        .arg(&path)
        .output()
        .expect("haproxy (apt-get install haproxy)");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{all}");
    assert!(!all.contains("WARNING"), "{all}");
}
