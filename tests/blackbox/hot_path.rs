//! What the hot path remembers between requests, and its bounds: a token's principal for
//! `tokens.cache_ttl` (a revoked token is refused once it has passed), and a spent budget
//! until its Retry-After (refusals then cost the database nothing).

use std::time::Duration;

use serde_json::json;

use crate::harness::{Backend, Protocol, Rekey, on_both_backends};

on_both_backends!(
    a_revoked_token_is_refused_once_the_cache_ttl_has_passed,
    a_revoked_token_is_refused_at_once_without_the_cache,
    a_spent_budget_is_refused_without_asking_the_database,
);

/// Marks every token of `user` revoked, directly in the database.
async fn revoke_tokens_of(rekey: &Rekey, user: &str) {
    let revoked = rekey
        .execute(&format!(
            "UPDATE tokens SET revoked_at = '2026-01-01 00:00:00' WHERE user_id = '{user}'"
        ))
        .await;
    assert_eq!(revoked, 1, "one token revoked");
}

/// A machine user of the first organization and a token for it.
fn bot(rekey: &Rekey) -> (String, String) {
    let org = rekey.org_id.clone();
    let bot = rekey.admin(&["user", "add-machine", "--org", &org, "--username", "bot"]);
    let token = rekey.token(&bot, &["ORG_USER_MANAGER"]);
    (bot, token)
}

async fn a_revoked_token_is_refused_once_the_cache_ttl_has_passed(backend: Backend) {
    let ttl = Duration::from_secs(1);
    let rekey = Rekey::start(backend, &[("REKEY__TOKENS__CACHE_TTL", "1s")]).await;
    let (bot, token) = bot(&rekey);
    let path = format!("/v2/users/{bot}");
    assert_eq!(rekey.get(&path, Some(&token)).await.status, 200);
    revoke_tokens_of(&rekey, &bot).await;
    // Within the ttl the remembered principal still answers: that is the stated bound...
    assert_eq!(rekey.get(&path, Some(&token)).await.status, 200);
    // ...and once it has passed, the revocation holds.
    tokio::time::sleep(ttl).await;
    let refused = rekey.get(&path, Some(&token)).await;
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(refused.code(), Some(16));
}

async fn a_revoked_token_is_refused_at_once_without_the_cache(backend: Backend) {
    let rekey = Rekey::start(backend, &[("REKEY__TOKENS__CACHE_TTL", "0s")]).await;
    let (bot, token) = bot(&rekey);
    let path = format!("/v2/users/{bot}");
    assert_eq!(rekey.get(&path, Some(&token)).await.status, 200);
    revoke_tokens_of(&rekey, &bot).await;
    assert_eq!(rekey.get(&path, Some(&token)).await.status, 401);
}

/// `rekey_db_statements_total`, summed over backends.
async fn statements(rekey: &Rekey) -> f64 {
    let text = rekey.metrics().await;
    text.lines()
        .filter(|l| l.starts_with("rekey_db_statements_total"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

async fn a_spent_budget_is_refused_without_asking_the_database(backend: Backend) {
    let rekey = Rekey::start(
        backend,
        &[
            ("REKEY__LIMITS__ENABLED", "true"),
            ("REKEY__LIMITS__CALLER_RESETS", "1 per 1h"),
            ("REKEY__DELIVERY__ENABLED", "false"),
        ],
    )
    .await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let token = rekey.admin_token.clone();
    let reset = || async {
        rekey
            .password_reset(
                Protocol::Rest,
                Some(&token),
                &user,
                json!({ "returnCode": {} }),
            )
            .await
    };
    assert_eq!(reset().await.status, 200);
    let first = reset().await;
    assert_eq!(first.status, 429, "{first:?}");
    // What a scrape itself costs (if it reads the database), to subtract.
    let before = statements(&rekey).await;
    let scrape = statements(&rekey).await - before;
    let since = statements(&rekey).await;
    for _ in 0..10 {
        let refused = reset().await;
        assert_eq!(refused.status, 429, "{refused:?}");
        assert_eq!(refused.error_id().as_deref(), first.error_id().as_deref());
        let retry_after: u64 = refused.headers["retry-after"]
            .to_str()
            .expect("text")
            .parse()
            .expect("seconds");
        assert!((3500..=3600).contains(&retry_after), "{retry_after}");
    }
    let spent = statements(&rekey).await - since - scrape;
    assert!(before > 0.0, "the statements are counted on {backend:?}");
    assert_eq!(spent, 0.0, "ten refusals sent {spent} statements");
}
