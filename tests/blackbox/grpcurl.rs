//! grpcurl, the gRPC command line tool people reach for first, against rekey's gRPC port:
//! reflection lists ZITADEL's services, the standard health check answers SERVING, and a
//! PasswordReset written as JSON on the command line returns a code.

use std::process::Output;

use serde_json::Value;

use crate::harness::{Backend, Rekey, on_both_backends};
use crate::tools;

on_both_backends!(grpcurl_lists_checks_and_calls);

/// `host:port` of the gRPC listener, as grpcurl takes it.
fn grpc_addr(rekey: &Rekey) -> String {
    let base = rekey.grpc_base();
    base.strip_prefix("http://").unwrap_or(base).to_owned()
}

/// Runs grpcurl in plaintext (h2c) with a time limit; the token, when given, travels in the
/// environment (`-expand-headers`), not on the command line. grpcurl takes its flags before the
/// address and the rest (`list`, a method) after it.
async fn grpcurl(rekey: &Rekey, token: Option<&str>, flags: &[&str], rest: &[&str]) -> Output {
    let mut command = tools::grpcurl();
    command.args(["-plaintext", "-max-time", "15"]);
    if let Some(token) = token {
        command
            .args([
                "-expand-headers",
                "-H",
                "authorization: Bearer ${REKEY_GRPCURL_TOKEN}",
            ])
            .env("REKEY_GRPCURL_TOKEN", token);
    }
    command.args(flags).arg(grpc_addr(rekey)).args(rest);
    tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the grpcurl thread")
        .expect("grpcurl runs")
}

/// grpcurl's stdout when it succeeded; otherwise fails the test with its stderr.
fn succeeded(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "grpcurl {what} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn grpcurl_lists_checks_and_calls(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;

    // Server reflection: the services, by ZITADEL's names.
    let listed = succeeded(&grpcurl(&rekey, None, &[], &["list"]).await, "list");
    let services: Vec<&str> = listed.lines().map(str::trim).collect();
    for service in [
        "zitadel.user.v2.UserService",
        "zitadel.org.v2.OrganizationService",
    ] {
        assert!(
            services.contains(&service),
            "grpcurl list shows {service}: {services:?}"
        );
    }
    let methods = succeeded(
        &grpcurl(&rekey, None, &[], &["list", "zitadel.user.v2.UserService"]).await,
        "list zitadel.user.v2.UserService",
    );
    assert!(
        methods
            .lines()
            .any(|m| m.trim() == "zitadel.user.v2.UserService.PasswordReset"),
        "PasswordReset is described: {methods}"
    );

    // The standard health check.
    let health = succeeded(
        &grpcurl(&rekey, None, &[], &["grpc.health.v1.Health/Check"]).await,
        "grpc.health.v1.Health/Check",
    );
    let health: Value = serde_json::from_str(&health)
        .unwrap_or_else(|e| panic!("Health/Check printed no JSON ({e}): {health}"));
    assert_eq!(health["status"], "SERVING", "{health}");

    // PasswordReset as JSON, as its README would show it.
    let request = serde_json::json!({ "userId": user, "returnCode": {} }).to_string();
    let output = grpcurl(
        &rekey,
        Some(&rekey.admin_token),
        &["-d", &request],
        &["zitadel.user.v2.UserService/PasswordReset"],
    )
    .await;
    let answer = succeeded(&output, "PasswordReset");
    let answer: Value = serde_json::from_str(&answer).unwrap_or_else(|e| {
        panic!(
            "PasswordReset printed no JSON ({e}, {} bytes on stdout)",
            answer.len()
        )
    });
    let code = answer["verificationCode"]
        .as_str()
        .expect("PasswordReset answered a verificationCode");
    rekey.remember(code);
    assert_eq!(code.len(), 6, "a code of rekey's default length");
    assert_eq!(
        answer["details"]["resourceOwner"],
        serde_json::json!(rekey.org_id),
        "details.resourceOwner is the user's organization"
    );
    let sequence: u64 = answer["details"]["sequence"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("details.sequence, a uint64 as a JSON string");
    assert!(sequence > 0);

    // Without the token: Unauthenticated, which grpcurl prints with the code's name.
    let output = grpcurl(
        &rekey,
        None,
        &["-d", &request],
        &["zitadel.user.v2.UserService/PasswordReset"],
    )
    .await;
    assert!(
        !output.status.success(),
        "PasswordReset without a token fails"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Code: Unauthenticated"), "{stderr}");
}
