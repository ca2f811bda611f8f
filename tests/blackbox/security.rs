//! Issue 13's attacks, each as the attacker would run it, now getting the safe answer: a code
//! raced by concurrent uses (and by a new reset), guessing a current password, and a stranger
//! guessing codes on the public reset page.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::harness::{Answer, Backend, Protocol, Rekey, on_both_backends};

on_both_backends!(
    sixteen_concurrent_uses_of_one_code_change_the_password_once,
    sixteen_concurrent_uses_without_the_notice_change_it_once_too,
    set_password_racing_password_reset_never_fails,
    only_the_user_or_its_admins_may_try_a_current_password,
    wrong_current_passwords_are_budgeted_and_never_confirmed,
    page_guesses_neither_burn_the_code_nor_the_users_budget,
);

const NEW: &str = "N3w-Passw0rd!";
const ON: (&str, &str) = ("REKEY__LIMITS__ENABLED", "true");

/// SetPassword over REST.
async fn set(rekey: &Rekey, token: &str, user: &str, body: &Value) -> Answer {
    rekey
        .set_password(Protocol::Rest, Some(token), user, body.clone())
        .await
}

fn with_code(code: &str) -> Value {
    json!({ "newPassword": { "password": NEW }, "verificationCode": code })
}

fn with_current(current: &str, new: &str) -> Value {
    json!({ "newPassword": { "password": new }, "currentPassword": current })
}

/// A tally of answers by status and error id, e.g. `{"200": 1, "400 COMMAND-2M9fs": 15}`
/// (every 5xx as `5xx`: their bodies carry only a request id).
fn tally(answers: &[Answer]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for answer in answers {
        let key = match answer.error_id() {
            _ if answer.status >= 500 => "5xx".to_owned(),
            Some(id) => format!("{} {id}", answer.status),
            None => answer.status.to_string(),
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// A stranger: a machine user of another organization, with no role at all.
fn stranger(rekey: &Rekey) -> String {
    let other = rekey.admin(&["org", "add", "--name", "elsewhere"]);
    let bot = rekey.admin(&["user", "add-machine", "--org", &other, "--username", "bot"]);
    rekey.token(&bot, &[])
}

async fn sixteen_concurrent_uses(backend: Backend, notify: &str) {
    let rekey = Rekey::start(backend, &[("REKEY__PASSWORD__NOTIFY_ON_CHANGE", notify)]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let token = stranger(&rekey);
    let code = rekey.returned_code(&user).await;
    rekey.remember(&code);
    let body = with_code(&code);
    let answers =
        futures_util::future::join_all((0..16).map(|_| set(&rekey, &token, &user, &body))).await;
    let counts = tally(&answers);
    println!("16 concurrent uses of one code (notify_on_change={notify}): {counts:?}");
    assert_eq!(
        counts,
        BTreeMap::from([("200".to_owned(), 1), ("400 COMMAND-2M9fs".to_owned(), 15)]),
        "exactly one use, the rest \"Code not found\", no 5xx"
    );
    let changed = "events WHERE event_type = 'user.human.password.changed'";
    assert_eq!(rekey.count(changed).await, 1);
    let notices = if notify == "true" { 1 } else { 0 };
    assert_eq!(
        rekey.count("outbox WHERE kind = 'password_changed'").await,
        notices
    );
    assert_eq!(rekey.count("password_codes").await, 0, "consumed");
    rekey.assert_logs_clean();
}

async fn sixteen_concurrent_uses_of_one_code_change_the_password_once(backend: Backend) {
    sixteen_concurrent_uses(backend, "true").await;
}

async fn sixteen_concurrent_uses_without_the_notice_change_it_once_too(backend: Backend) {
    sixteen_concurrent_uses(backend, "false").await;
}

async fn set_password_racing_password_reset_never_fails(backend: Backend) {
    let rekey = Rekey::start(backend, &[("REKEY__DELIVERY__ENABLED", "false")]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let token = stranger(&rekey);
    let admin = rekey.admin_token.clone();
    for round in 0..3 {
        let old = rekey.returned_code(&user).await;
        rekey.remember(&old);
        let body = with_code(&old);
        let uses =
            futures_util::future::join_all((0..8).map(|_| set(&rekey, &token, &user, &body)));
        // Links: their messages' idempotency keys (user and sequence) are the ones a
        // SetPassword's notice would take.
        let resets = futures_util::future::join_all((0..8).map(|_| {
            rekey.password_reset(
                Protocol::Rest,
                Some(&admin),
                &user,
                json!({ "sendLink": { "notificationType": "NOTIFICATION_TYPE_Email" } }),
            )
        }));
        let (uses, resets) = tokio::join!(uses, resets);
        let (use_counts, reset_counts) = (tally(&uses), tally(&resets));
        println!("round {round}: SetPassword {use_counts:?}, PasswordReset {reset_counts:?}");
        assert!(
            uses.iter().chain(&resets).all(|a| a.status < 500),
            "no 5xx: {use_counts:?} {reset_counts:?}"
        );
        assert_eq!(reset_counts, BTreeMap::from([("200".to_owned(), 8)]));
        assert!(
            use_counts.get("200").copied().unwrap_or(0) <= 1,
            "the old code is used at most once: {use_counts:?}"
        );
        assert!(
            uses.iter().all(|a| matches!(a.status, 200 | 400)),
            "{use_counts:?}"
        );
    }
    let changed = "events WHERE event_type = 'user.human.password.changed'";
    assert!(rekey.count(changed).await <= 3);
    rekey.assert_logs_clean();
}

fn refused(answer: &Answer, status: u16, id: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.error_id().as_deref(), Some(id), "{}", answer.body);
}

async fn only_the_user_or_its_admins_may_try_a_current_password(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let admin = rekey.admin_token.clone();
    let first = json!({ "newPassword": { "password": NEW } });
    assert_eq!(set(&rekey, &admin, &user, &first).await.status, 200);
    let stranger = stranger(&rekey);
    // A manager of the user's organization with no role on it: also a stranger.
    let colleague = rekey.admin(&[
        "user",
        "add-machine",
        "--org",
        &rekey.org_id,
        "--username",
        "colleague",
    ]);
    let colleague = rekey.token(&colleague, &[]);
    for token in [&stranger, &colleague] {
        for current in [NEW, "Wr0ng-Guess!"] {
            refused(
                &set(
                    &rekey,
                    token,
                    &user,
                    &with_current(current, "An0ther-Passw0rd!"),
                )
                .await,
                403,
                "AUTH-AWfge",
            );
        }
        let connect = json!({
            "userId": user,
            "newPassword": { "password": "An0ther-Passw0rd!" },
            "currentPassword": NEW,
        });
        let answer = rekey
            .post(
                "/zitadel.user.v2.UserService/SetPassword",
                Some(token),
                &connect.to_string(),
            )
            .await;
        assert_eq!(answer.status, 403, "{}", answer.body);
        assert_eq!(answer.body["code"], "permission_denied");
    }
    let changed = "events WHERE event_type = 'user.human.password.changed'";
    assert_eq!(
        rekey.count(changed).await,
        1,
        "only the admin's first password"
    );
    let me = rekey.token(&user, &[]);
    refused(
        &set(
            &rekey,
            &me,
            &user,
            &with_current("Wr0ng-Guess!", "An0ther-Passw0rd!"),
        )
        .await,
        400,
        "COMMAND-3M0fs",
    );
    let answer = set(&rekey, &me, &user, &with_current(NEW, "An0ther-Passw0rd!")).await;
    assert_eq!(answer.status, 200, "the user itself: {}", answer.body);
    let answer = set(
        &rekey,
        &admin,
        &user,
        &with_current("An0ther-Passw0rd!", NEW),
    )
    .await;
    assert_eq!(answer.status, 200, "an admin of its org: {}", answer.body);
    rekey.assert_logs_clean();
}

async fn wrong_current_passwords_are_budgeted_and_never_confirmed(backend: Backend) {
    let rekey = Rekey::start(
        backend,
        &[ON, ("REKEY__LIMITS__WRONG_PASSWORDS", "3 per 10m")],
    )
    .await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let admin = rekey.admin_token.clone();
    let first = json!({ "newPassword": { "password": NEW } });
    assert_eq!(set(&rekey, &admin, &user, &first).await.status, 200);
    let me = rekey.token(&user, &[]);

    // The new password is judged first, so a weak one answers alike for a right and a wrong
    // guess, and neither is counted.
    for guess in [NEW, "Wr0ng-Guess!"] {
        refused(
            &set(&rekey, &me, &user, &with_current(guess, "weak")).await,
            400,
            "DOMAIN-HuJf6",
        );
    }
    // The new password equal to the guess: refused before the guess is compared.
    for guess in [NEW, "Wr0ng-Guess!"] {
        refused(
            &set(&rekey, &me, &user, &with_current(guess, guess)).await,
            400,
            "COMMAND-Aesh5",
        );
    }
    // Ten guesses at once cannot outrun the budget of three: each takes its unit before its
    // hash is compared.
    let guess = with_current("Wr0ng-Guess!", "An0ther-Passw0rd!");
    let answers =
        futures_util::future::join_all((0..10).map(|_| set(&rekey, &me, &user, &guess))).await;
    let counts = tally(&answers);
    println!("10 parallel wrong current passwords, budget 3: {counts:?}");
    assert_eq!(
        counts,
        BTreeMap::from([
            ("400 COMMAND-3M0fs".to_owned(), 3),
            ("429 REKEY-Limit".to_owned(), 7)
        ])
    );
    let answer = set(&rekey, &me, &user, &with_current(NEW, "An0ther-Passw0rd!")).await;
    refused(&answer, 429, "REKEY-Limit");
    assert_eq!(answer.code(), Some(8));
    let retry_after: u64 = answer.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=200).contains(&retry_after), "{retry_after}");
    // The user's budget, whoever asks.
    let answer = set(
        &rekey,
        &admin,
        &user,
        &with_current(NEW, "An0ther-Passw0rd!"),
    )
    .await;
    refused(&answer, 429, "REKEY-Limit");
    let changed = "events WHERE event_type = 'user.human.password.changed'";
    assert_eq!(rekey.count(changed).await, 1, "nothing changed");
    let limited = "events WHERE event_type = 'user.limit.exceeded'";
    assert_eq!(
        rekey.count(limited).await,
        1,
        "the first refusal is recorded, once"
    );
    // The admin path (no current password) is not a guess and stays open.
    let reset = json!({ "newPassword": { "password": "An0ther-Passw0rd!" } });
    assert_eq!(set(&rekey, &admin, &user, &reset).await.status, 200);
    rekey.assert_logs_clean();
}

/// Posts the reset page's form as the client `ip` (through a trusted proxy).
async fn page(rekey: &Rekey, ip: &str, user: &str, code: &str) -> (u16, String) {
    let (response, _) = rekey.post_reset_page(user, code, NEW, Some(ip)).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn page_guesses_neither_burn_the_code_nor_the_users_budget(backend: Backend) {
    let rekey = Rekey::start(
        backend,
        &[
            ON,
            ("REKEY__LIMITS__TRUSTED_PROXIES", "127.0.0.1"),
            ("REKEY__LIMITS__PAGE_MIN_RESPONSE", "0s"),
            ("REKEY__LIMITS__WRONG_CODES", "4 per 24h"),
        ],
    )
    .await;
    rekey.remember(NEW);
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let code = rekey.returned_code(&user).await;
    rekey.remember(&code);
    let wrong = if code == "WRONG1" { "WRONG2" } else { "WRONG1" };
    // Twelve wrong guesses from six addresses: more than the code's 5 attempts and the
    // user's 4 wrong codes a day.
    for client in 1..=6 {
        let ip = format!("198.51.100.{client}");
        for _ in 0..2 {
            let (status, body) = page(&rekey, &ip, &user, wrong).await;
            assert_eq!(status, 200, "{body}");
            assert!(body.contains("is not valid (any more)"), "{body}");
        }
    }
    // Each client has 2 submissions per code: the third is refused, even the right code.
    let (status, body) = page(&rekey, "198.51.100.1", &user, &code).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("Too many attempts"), "{body}");
    assert_eq!(
        rekey
            .count("password_codes WHERE failed_attempts = 0")
            .await,
        1,
        "the code's own attempts are untouched"
    );
    let invalidated = "events WHERE event_type = 'user.human.password.code.invalidated'";
    assert_eq!(rekey.count(invalidated).await, 0);
    let limited = "events WHERE event_type = 'user.limit.exceeded'";
    assert_eq!(
        rekey.count(limited).await,
        0,
        "the user's budget is untouched"
    );
    // The victim, from its own address, still sets its password with the code.
    let (status, body) = page(&rekey, "203.0.113.9", &user, &code).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Your password has been changed."), "{body}");
    rekey.assert_logs_clean();
}
