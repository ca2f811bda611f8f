//! The README's "Try it" examples, run verbatim (against this test's server) with bash, curl and grpcurl.

use std::process::Command;

use crate::harness::Rekey;
use crate::smtp::links_in_mail_files;

/// The ```sh blocks between the "### Try it" and the next "## " heading.
fn try_it_blocks(readme: &str) -> Vec<String> {
    let start = readme
        .find("### Try it")
        .expect("README has a Try it section");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let section = &section[..end];
    section
        .split("```sh\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_examples_work_as_written() {
    let rekey = Rekey::start(crate::harness::Backend::Sqlite, &[]).await;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let blocks = try_it_blocks(&readme);
    assert_eq!(
        blocks.len(),
        7,
        "token, add user, returnCode, sendLink, Connect, no medium, grpcurl"
    );
    let grpc_addr = rekey.grpc_base().trim_start_matches("http://").to_owned();
    let script = blocks
        .iter()
        .map(|block| format!("{block}echo\necho '---'\n"))
        .collect::<String>()
        .replace("http://localhost:8080", &rekey.base)
        .replace("localhost:8081", &grpc_addr);
    // grpcurl as the README's reader has it on PATH: the tests' own copy.
    let grpcurl_dir = crate::tools::grpcurl_path()
        .parent()
        .expect("grpcurl's folder")
        .to_owned();
    let path = std::env::join_paths(std::iter::once(grpcurl_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("a PATH");
    // The examples run from the folder `cargo run` was started in, which holds data/.
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env("PATH", path)
        .current_dir(rekey.dir.path())
        .output()
        .expect("bash and curl are installed");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<serde_json::Value> = stdout
        .split("---")
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| serde_json::from_str(part).unwrap_or_else(|e| panic!("{e}: {part}")))
        .collect();
    assert_eq!(answers.len(), 6, "{stdout}");
    assert_eq!(answers[0]["userId"], "ada");
    let code = answers[1]["verificationCode"].as_str().expect("a code");
    rekey.remember(code);
    assert_eq!(answers[2]["details"]["sequence"], "3");
    assert!(answers[2].get("verificationCode").is_none());
    assert_eq!(answers[3]["code"], "failed_precondition");
    assert!(
        answers[3]["message"]
            .as_str()
            .unwrap()
            .contains("REKEY-NoPhone")
    );
    // (Its sequence depends on whether the first mail was sent yet: sending records an event.)
    assert!(
        answers[4]["details"]["sequence"].is_string(),
        "{}",
        answers[4]
    );
    assert!(answers[4].get("verificationCode").is_none());
    // grpcurl prints the PasswordResetResponse as protojson: a fresh code and its details.
    let grpc_code = answers[5]["verificationCode"]
        .as_str()
        .expect("a code over gRPC");
    rekey.remember(grpc_code);
    assert_eq!(grpc_code.len(), 6);
    assert_ne!(grpc_code, code, "a new code");
    assert!(
        answers[5]["details"]["sequence"].is_string(),
        "{}",
        answers[5]
    );
    assert_eq!(rekey.count("outbox").await, 2);
    // The request without a medium mails a link to rekey's own reset page.
    let links = links_in_mail_files(&rekey.dir.path().join("data/mail"), 2).await;
    for link in &links {
        rekey.remember(link);
    }
    assert!(
        links
            .iter()
            .any(|l| l.contains("/ui/v2/login/password/set?code=") && l.ends_with("userId=ada")),
        "{links:?}"
    );
}
