//! SetPassword end to end: every row of CONTRACT.md §4's table and each policy error id, on
//! both routes and both backends.

use serde_json::{Value, json};

use crate::harness::{ALL, Answer, Backend, Protocol, Rekey, contains, on_both_backends};

on_both_backends!(
    a_code_sets_the_password_once,
    wrong_codes_are_counted_and_exhaust_the_code,
    current_password_and_admin_paths,
    policy_errors_have_zitadels_ids,
);

const NEW: &str = "N3w-Passw0rd!";

async fn set(rekey: &Rekey, protocol: Protocol, token: &str, user: &str, fields: Value) -> Answer {
    rekey
        .set_password(protocol, Some(token), user, fields)
        .await
}

fn with_code(code: &str) -> Value {
    json!({ "newPassword": { "password": NEW }, "verificationCode": code })
}

fn refused(answer: &Answer, status: u16, code: u64, id: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.code(), Some(code), "{}", answer.body);
    assert_eq!(answer.error_id().as_deref(), Some(id), "{}", answer.body);
}

async fn a_code_sets_the_password_once(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    // Any authenticated caller: the code is the proof.
    let other_org = rekey.admin(&["org", "add", "--name", "other"]);
    let bot = rekey.admin(&[
        "user",
        "add-machine",
        "--org",
        &other_org,
        "--username",
        "ui",
    ]);
    let stranger = rekey.token(&bot, &[]);
    for protocol in ALL {
        let c = rekey.returned_code(&user).await;
        let answer = set(&rekey, protocol, &stranger, &user, with_code(&c)).await;
        assert_eq!(answer.status, 200, "{protocol:?}: {}", answer.body);
        assert!(answer.body["details"]["sequence"].is_string());
        refused(
            &set(&rekey, protocol, &stranger, &user, with_code(&c)).await,
            400,
            9,
            "COMMAND-2M9fs",
        );
    }
    refused(
        &set(
            &rekey,
            Protocol::Rest,
            &stranger,
            "ghost",
            with_code("ABCDEF"),
        )
        .await,
        400,
        9,
        "COMMAND-G8dh3",
    );
    refused(
        &set(
            &rekey,
            Protocol::Rest,
            &stranger,
            &user,
            with_code("ABCDEF"),
        )
        .await,
        400,
        9,
        "COMMAND-2M9fs",
    );

    // A second reset invalidates the first code.
    let first = rekey.returned_code(&user).await;
    let second = rekey.returned_code(&user).await;
    refused(
        &set(&rekey, Protocol::Rest, &stranger, &user, with_code(&first)).await,
        400,
        3,
        "CODE-woT0xc",
    );
    assert_eq!(
        set(&rekey, Protocol::Rest, &stranger, &user, with_code(&second))
            .await
            .status,
        200
    );

    assert_eq!(
        rekey
            .count("users WHERE password_hash LIKE '$argon2id$%'")
            .await,
        1
    );
    assert!(
        !contains(&rekey.database_dump().await, NEW.as_bytes()),
        "only the hash is stored"
    );
    let changed = "events WHERE event_type = 'user.human.password.changed'";
    assert_eq!(rekey.count(changed).await, ALL.len() as i64 + 1);
}

async fn wrong_codes_are_counted_and_exhaust_the_code(backend: Backend) {
    let rekey = Rekey::start(backend, &[("REKEY__CODE__EXPIRY", "2s")]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let token = rekey.admin_token.clone();
    let right = rekey.returned_code(&user).await;
    for i in 0..5 {
        refused(
            &set(
                &rekey,
                ALL[i % ALL.len()],
                &token,
                &user,
                with_code("WRONG1"),
            )
            .await,
            400,
            3,
            "CODE-woT0xc",
        );
    }
    refused(
        &set(&rekey, Protocol::Rest, &token, &user, with_code(&right)).await,
        400,
        9,
        "COMMAND-2M9fs",
    );
    let invalidated = "events WHERE event_type = 'user.human.password.code.invalidated'";
    assert_eq!(rekey.count(invalidated).await, 1);

    let expiring = rekey.returned_code(&user).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    refused(
        &set(&rekey, Protocol::Rest, &token, &user, with_code(&expiring)).await,
        400,
        9,
        "CODE-QvUQ4P",
    );
}

async fn current_password_and_admin_paths(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let own = rekey.token(&user, &[]);
    let no_proof = json!({ "newPassword": { "password": NEW } });
    for protocol in ALL {
        refused(
            &set(&rekey, protocol, &own, &user, no_proof.clone()).await,
            403,
            7,
            "AUTH-AWfge",
        );
    }
    assert_eq!(
        set(&rekey, Protocol::Rest, &rekey.admin_token, &user, no_proof)
            .await
            .status,
        200
    );

    let current = |current: &str, new: &str| json!({ "newPassword": { "password": new }, "currentPassword": current });
    rekey.remember("Wr0ng-Passw0rd!");
    // rekey judges the new password before the current one (ZITADEL the other way round), so
    // a weak new password answers alike whether the guess is right or wrong.
    for guess in ["Wr0ng-Passw0rd!", NEW] {
        refused(
            &set(
                &rekey,
                Protocol::Rest,
                &own,
                &user,
                current(guess, "X1-yyyyyyy"),
            )
            .await,
            400,
            3,
            "REKEY-PwWeak",
        );
    }
    rekey.remember("Kq7#vX2!mRt9");
    for protocol in ALL {
        refused(
            &set(
                &rekey,
                protocol,
                &own,
                &user,
                current("Wr0ng-Passw0rd!", "Kq7#vX2!mRt9"),
            )
            .await,
            400,
            3,
            "COMMAND-3M0fs",
        );
        refused(
            &set(&rekey, protocol, &own, &user, current(NEW, NEW)).await,
            400,
            3,
            "COMMAND-Aesh5",
        );
    }
    let changed = set(
        &rekey,
        Protocol::Connect,
        &own,
        &user,
        current(NEW, "An0ther-Passw0rd!"),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    // The password set through rekey verifies.
    let proved = set(
        &rekey,
        Protocol::Rest,
        &own,
        &user,
        current("An0ther-Passw0rd!", "Th1rd-Passw0rd!"),
    )
    .await;
    assert_eq!(proved.status, 200, "{}", proved.body);

    let both = json!({ "newPassword": { "password": NEW }, "currentPassword": "x", "verificationCode": "y" });
    for protocol in ALL.into_iter().filter(|p| p.carries_set(&both)) {
        assert_eq!(
            set(&rekey, protocol, &own, &user, both.clone())
                .await
                .code(),
            Some(3)
        );
    }
    assert!(
        !Protocol::Grpc.carries_set(&both),
        "a oneof holds one member"
    );
}

async fn policy_errors_have_zitadels_ids(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    for (i, (password, id)) in [
        ("Aa1!", "DOMAIN-HuJf6"),
        ("AAAAAAA1!", "DOMAIN-co3Xw"),
        ("aaaaaaa1!", "DOMAIN-VoaRj"),
        ("aaaaaaaA!", "DOMAIN-ZBv4H"),
        ("aaaaaaaA1", "DOMAIN-ZDLwA"),
        ("Password1!", "REKEY-PwWeak"),
        ("Xx-ada-Lovelace-9", "REKEY-PwPers"),
    ]
    .into_iter()
    .enumerate()
    {
        let c = rekey.returned_code(&user).await;
        let body = json!({ "newPassword": { "password": password }, "verificationCode": c });
        refused(
            &set(&rekey, ALL[i % ALL.len()], &rekey.admin_token, &user, body).await,
            400,
            3,
            id,
        );
    }
}
