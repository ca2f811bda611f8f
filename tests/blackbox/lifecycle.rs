//! A user's life cycle (DeactivateUser, ReactivateUser, LockUser, UnlockUser, DeleteUser) on
//! every protocol and both backends: ZITADEL's state rules and error ids, what the other RPCs
//! make of the new states, and a deleted user's personal data gone from every table; a
//! machine user's personal access tokens (AddPersonalAccessToken, RemovePersonalAccessToken,
//! ListPersonalAccessTokens) and their revocation.

use serde_json::json;

use crate::harness::{ALL, Answer, Backend, Protocol, Rekey, on_both_backends};

on_both_backends!(
    transitions_follow_zitadels_state_rules,
    a_deactivated_machine_users_token_is_refused,
    a_deleted_user_leaves_no_address_behind,
    a_revoked_token_is_refused_on_every_protocol,
    personal_access_tokens_on_every_protocol,
);

fn refused(answer: &Answer, status: u16, id: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.error_id().as_deref(), Some(id), "{}", answer.body);
}

fn ok(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 200, "{what}: {}", answer.body);
    assert!(
        answer.body["details"]["sequence"].is_string(),
        "{what}: {}",
        answer.body
    );
}

async fn transitions_follow_zitadels_state_rules(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let admin = Some(rekey.admin_token.as_str());
    for protocol in ALL {
        let name = format!("ada{protocol:?}").to_lowercase();
        let user = rekey.add_user(&rekey.org_id, &name, None).await;
        let act = |action| rekey.lifecycle(protocol, admin, &user, action);
        ok(&act("lock").await, "lock");
        refused(&act("lock").await, 400, "COMMAND-lgws8wtsqf");
        // A locked user still gets a reset code, as in ZITADEL; a reset does not unlock.
        let reset = rekey
            .password_reset(
                protocol,
                admin,
                &user,
                serde_json::json!({ "returnCode": {} }),
            )
            .await;
        assert_eq!(reset.status, 200, "{protocol:?}: {}", reset.body);
        // A locked user may be deactivated; reactivated, it is active (the lock is gone).
        ok(&act("deactivate").await, "deactivate a locked user");
        ok(&act("reactivate").await, "reactivate");
        refused(&act("unlock").await, 400, "COMMAND-olb9vb0oca");
        refused(&act("reactivate").await, 400, "COMMAND-s5qqcz97hf");
        ok(&act("deactivate").await, "deactivate");
        refused(&act("deactivate").await, 400, "COMMAND-5gunjw0cd7");
        ok(&act("reactivate").await, "reactivate");
        ok(&act("lock").await, "lock again");
        ok(&act("unlock").await, "unlock");
        refused(
            &rekey
                .lifecycle(protocol, admin, "69629023906488334", "lock")
                .await,
            404,
            "COMMAND-450yxuqrh1",
        );
    }
    let initial = rekey.admin(&[
        "user",
        "add-human",
        "--org",
        &rekey.org_id,
        "--username",
        "newcomer",
        "--email",
        "newcomer@example.com",
        "--initial",
    ]);
    refused(
        &rekey
            .lifecycle(Protocol::Rest, admin, &initial, "deactivate")
            .await,
        400,
        "COMMAND-gvx4kct9r2",
    );
    // Another organization's manager may not touch the user.
    let other = rekey.admin(&["org", "add", "--name", "other"]);
    let (_, manager) = rekey.machine_with_token(&other, "manager", &["ORG_USER_MANAGER"]);
    refused(
        &rekey
            .lifecycle(Protocol::Rest, Some(&manager), &initial, "lock")
            .await,
        403,
        "AUTH-AWfge",
    );
    // The same from the command line.
    assert_eq!(
        rekey.admin(&["user", "lock", &initial]),
        format!("locked {initial}")
    );
    assert_eq!(
        rekey.admin(&["user", "unlock", &initial]),
        format!("unlocked {initial}")
    );
    assert_eq!(
        rekey.admin(&["user", "delete", &initial]),
        format!("deleted {initial}")
    );
    let gone = rekey.get(&format!("/v2/users/{initial}"), admin).await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    rekey.assert_logs_clean();
}

async fn a_deactivated_machine_users_token_is_refused(backend: Backend) {
    let rekey = Rekey::start(backend, &[("REKEY__TOKENS__CACHE_TTL", "0s")]).await;
    let (bot, token) = rekey.machine_with_token(&rekey.org_id, "bot", &["ORG_USER_MANAGER"]);
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    for protocol in ALL {
        let answer = rekey
            .password_reset(
                protocol,
                Some(&token),
                &user,
                serde_json::json!({ "returnCode": {} }),
            )
            .await;
        assert_eq!(answer.status, 200, "{protocol:?}: {}", answer.body);
    }
    ok(
        &rekey
            .lifecycle(Protocol::Rest, Some(&rekey.admin_token), &bot, "deactivate")
            .await,
        "deactivate the bot",
    );
    for protocol in ALL {
        let answer = rekey
            .password_reset(
                protocol,
                Some(&token),
                &user,
                serde_json::json!({ "returnCode": {} }),
            )
            .await;
        assert_eq!(answer.status, 401, "{protocol:?}: {}", answer.body);
    }
    rekey.assert_logs_clean();
}

async fn a_deleted_user_leaves_no_address_behind(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let admin = Some(rekey.admin_token.as_str());
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    // A queued message, a code and a token of its own.
    let reset = rekey
        .password_reset(Protocol::Rest, admin, &user, serde_json::json!({}))
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    rekey.token(&user, &[]);
    // A session from a browser, whose address and headers its events hold.
    let code = rekey.returned_code(&user).await;
    let set = rekey
        .post(
            &format!("/v2/users/{user}/password"),
            admin,
            &serde_json::json!({ "newPassword": { "password": "N3w-Passw0rd!" }, "verificationCode": code })
                .to_string(),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let session = serde_json::json!({
        "checks": { "user": { "userId": user }, "password": { "password": "N3w-Passw0rd!" } },
        "userAgent": { "ip": "198.51.100.7", "header": { "user-agent": { "values": ["Ada's browser"] } } },
    });
    let created = rekey
        .post("/v2/sessions", admin, &session.to_string())
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    ok(
        &rekey
            .lifecycle(Protocol::Rest, admin, &user, "delete")
            .await,
        "delete",
    );
    let gone = rekey.get(&format!("/v2/users/{user}"), admin).await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    refused(
        &rekey
            .lifecycle(Protocol::Grpc, admin, &user, "delete")
            .await,
        404,
        "COMMAND-bd4ir1mblj",
    );
    assert_eq!(
        rekey
            .count("events WHERE payload LIKE '%198.51.100.7%' OR payload LIKE '%Ada''s browser%'")
            .await,
        0,
        "the session's browser is gone from its events"
    );
    // The id stays taken, as in ZITADEL.
    let again = rekey
        .post(
            "/v2/users/human",
            admin,
            &serde_json::json!({
                "userId": user, "username": "ada2",
                "profile": {"givenName": "Ada", "familyName": "L"},
                "email": {"email": "ada2@example.com"},
            })
            .to_string(),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    let address = "%ada@example.com%";
    for (table, column) in [
        ("users", "email"),
        ("users", "username"),
        ("events", "payload"),
        ("outbox", "recipient_masked"),
        ("tokens", "user_id"),
        ("password_codes", "user_id"),
    ] {
        let like = if column == "user_id" {
            format!("{table} WHERE {column} = '{user}'")
        } else {
            format!("{table} WHERE {column} LIKE '{address}' OR {column} = 'ada'")
        };
        assert_eq!(rekey.count(&like).await, 0, "{like}");
    }
    assert_eq!(
        rekey
            .count(&format!(
                "events WHERE aggregate_id = '{user}' AND event_type = 'user.removed'"
            ))
            .await,
        1,
        "the events stay, with the removal last"
    );
    if backend == Backend::Postgres {
        let dump = rekey.database_dump().await;
        assert!(
            !crate::harness::contains(&dump, b"ada@example.com"),
            "no row of any table holds the address"
        );
    }
    rekey.assert_logs_clean();
}

/// `rekey admin token list` shows ids, roles, expiry and last use, never a token; `token
/// revoke` ends a token: the next request with it is 401 on every protocol.
async fn a_revoked_token_is_refused_on_every_protocol(backend: Backend) {
    let rekey = Rekey::start(backend, &[("REKEY__TOKENS__CACHE_TTL", "0s")]).await;
    let (bot, token) = rekey.machine_with_token(&rekey.org_id, "bot", &["ORG_USER_MANAGER"]);
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let reset = |protocol| {
        rekey.password_reset(
            protocol,
            Some(&token),
            &user,
            serde_json::json!({ "returnCode": {} }),
        )
    };
    for protocol in ALL {
        assert_eq!(reset(protocol).await.status, 200, "{protocol:?}");
    }
    let listed = rekey.admin(&["token", "list", "--user", &bot]);
    let fields: Vec<&str> = listed.split_whitespace().collect();
    assert_eq!(fields.len(), 8, "one token, eight fields: {listed}");
    let (id, roles, last_used, revoked) = (fields[0], fields[3], fields[6], fields[7]);
    assert_eq!(
        (fields[1], roles, revoked),
        (bot.as_str(), "ORG_USER_MANAGER", "-")
    );
    assert!(
        last_used.ends_with('Z'),
        "the last use is recorded: {listed}"
    );
    assert!(!listed.contains(&token), "never the token");
    assert_eq!(
        rekey.admin(&["token", "revoke", id]),
        format!("revoked {id}")
    );
    for protocol in ALL {
        let answer = reset(protocol).await;
        assert_eq!(answer.status, 401, "{protocol:?}: {}", answer.body);
    }
    let listed = rekey.admin(&["token", "list", "--user", &bot]);
    assert!(
        listed
            .split_whitespace()
            .nth(7)
            .is_some_and(|at| at.ends_with('Z')),
        "the list shows when: {listed}"
    );
    rekey.assert_logs_clean();
}

/// AddPersonalAccessToken, ListPersonalAccessTokens and RemovePersonalAccessToken on every
/// protocol: the new token acts with the roles the machine user holds, the list shows it
/// without the token, and a removed token is 401 on the next request, on every protocol.
async fn personal_access_tokens_on_every_protocol(backend: Backend) {
    let rekey = Rekey::start(backend, &[("REKEY__TOKENS__CACHE_TTL", "0s")]).await;
    let admin = Some(rekey.admin_token.as_str());
    let (bot, _) = rekey.machine_with_token(&rekey.org_id, "bot", &["ORG_USER_MANAGER"]);
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    for protocol in ALL {
        let pat =
            |token, action, fields| rekey.personal_access_token(protocol, token, action, fields);
        let added = pat(admin, "add", json!({ "userId": bot })).await;
        assert_eq!(added.status, 200, "{protocol:?}: {}", added.body);
        let token_id = added.body["tokenId"].as_str().expect("an id").to_owned();
        let token = added.body["token"].as_str().expect("a token").to_owned();
        rekey.remember(&token);
        assert!(
            added.body["creationDate"]
                .as_str()
                .is_some_and(|at| at.ends_with('Z'))
        );
        // The new token acts as the bot, with the bot's role.
        let reset = rekey
            .password_reset(protocol, Some(&token), &user, json!({ "returnCode": {} }))
            .await;
        assert_eq!(reset.status, 200, "{protocol:?}: {}", reset.body);
        let listed = pat(
            admin,
            "list",
            json!({ "filters": [{ "tokenIdFilter": { "id": token_id } }] }),
        )
        .await;
        assert_eq!(listed.status, 200, "{protocol:?}: {}", listed.body);
        assert_eq!(
            listed.body["pagination"]["totalResult"], "1",
            "{}",
            listed.body
        );
        let shown = &listed.body["result"][0];
        assert_eq!(
            (
                shown["id"].as_str(),
                shown["userId"].as_str(),
                shown["organizationId"].as_str()
            ),
            (
                Some(token_id.as_str()),
                Some(bot.as_str()),
                Some(rekey.org_id.as_str())
            ),
            "{}",
            listed.body
        );
        assert_eq!(
            shown["expirationDate"], "9999-12-31T23:59:59Z",
            "{}",
            listed.body
        );
        assert!(!listed.body.to_string().contains(&token), "never the token");
        let removed = pat(
            admin,
            "remove",
            json!({ "userId": bot, "tokenId": token_id }),
        )
        .await;
        assert_eq!(removed.status, 200, "{protocol:?}: {}", removed.body);
        assert!(
            removed.body["deletionDate"].as_str().is_some(),
            "{}",
            removed.body
        );
        for next in ALL {
            let answer = rekey
                .password_reset(next, Some(&token), &user, json!({ "returnCode": {} }))
                .await;
            assert_eq!(
                answer.status, 401,
                "{protocol:?} then {next:?}: {}",
                answer.body
            );
        }
        refused(
            &pat(
                admin,
                "remove",
                json!({ "userId": bot, "tokenId": token_id }),
            )
            .await,
            404,
            "COMMAND-4m77G",
        );
        refused(
            &pat(admin, "add", json!({ "userId": user })).await,
            400,
            "COMMAND-Df2f1",
        );
        refused(
            &pat(
                admin,
                "add",
                json!({ "userId": bot, "expirationDate": "2020-01-01T00:00:00Z" }),
            )
            .await,
            400,
            "DOMAIN-dv3t5",
        );
        refused(
            &pat(admin, "list", json!({ "pagination": { "limit": 1001 } })).await,
            400,
            "QUERY-4M0fs",
        );
    }
    // A user manager may not mint a token for a service account that holds more than it does.
    let (owner_bot, _) = rekey.machine_with_token(&rekey.org_id, "owner-bot", &["IAM_OWNER"]);
    let (_, manager) = rekey.machine_with_token(&rekey.org_id, "manager", &["ORG_USER_MANAGER"]);
    refused(
        &rekey
            .personal_access_token(
                Protocol::Rest,
                Some(&manager),
                "add",
                json!({ "userId": owner_bot }),
            )
            .await,
        403,
        "AUTH-AWfge",
    );
    // …but may for one that holds no more than it does.
    let added = rekey
        .personal_access_token(
            Protocol::Rest,
            Some(&manager),
            "add",
            json!({ "userId": bot }),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    rekey.remember(added.body["token"].as_str().expect("a token"));
    rekey.assert_logs_clean();
}
