//! `rekey admin user import`: 1,000 users whose password hashes were made by reference
//! implementations (`tests/import/make_users.py`: passlib, pyca bcrypt, argon2-cffi, hashlib)
//! in every format ZITADEL accepts; each password then works, and is stored as argon2id; a
//! malformed hash is a per-line error; importing again changes nothing.

use serde_json::json;

use crate::harness::{Backend, Protocol, Rekey, on_both_backends};
use crate::tools::python;

on_both_backends!(imported_hashes_work_once_and_become_argon2id);

const USERS: usize = 1000;

fn password(i: usize) -> String {
    format!("Imported-{i}-Passw0rd!")
}

fn user_id(i: usize) -> String {
    format!("{}", 900_000_000_000_000_000_u64 + i as u64)
}

async fn imported_hashes_work_once_and_become_argon2id(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let file = rekey.dir.path().join("users.jsonl");
    let made = python()
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/import/make_users.py"))
        .args([rekey.org_id.as_str(), &USERS.to_string()])
        .arg(&file)
        .output()
        .expect("python");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let formats: usize = String::from_utf8_lossy(&made.stdout)
        .trim()
        .parse()
        .expect("a count");
    // Two more lines: a bcrypt hash with an impossible cost, and a format nobody knows.
    let mut text = std::fs::read_to_string(&file).expect("the file");
    for (i, hash) in [
        (
            USERS,
            "$2b$99$PbButVTm32Jf8yPfRA6PV.0XVJa1ezbDq7FVAGmbJD0h7r9zLcRUq",
        ),
        (USERS + 1, "{CRYPT}$9$not-a-hash"),
    ] {
        let line = json!({
            "userId": user_id(i),
            "username": format!("imported{i}"),
            "organization": { "orgId": rekey.org_id },
            "profile": { "givenName": "Bad", "familyName": "Hash" },
            "email": { "email": format!("imported{i}@example.com") },
            "hashedPassword": { "hash": hash },
        });
        text.push_str(&format!("{line}\n"));
    }
    std::fs::write(&file, text).expect("written");
    let path = file.to_str().expect("utf-8");

    let first = rekey.admin_output(&["user", "import", path]);
    let printed = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(!first.status.success(), "two lines fail: {printed}");
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 3, "{printed}");
    assert!(
        lines[0].starts_with(&format!("line {}: ", USERS + 1))
            && lines[0].contains("bcrypt")
            && lines[0].contains("USER-oz74onzvqr"),
        "{printed}"
    );
    assert!(
        lines[1].starts_with(&format!("line {}: ", USERS + 2)),
        "{printed}"
    );
    assert_eq!(lines[2], format!("added {USERS}, unchanged 0, failed 2"));
    assert!(
        !printed.contains("PbButVTm32"),
        "never the hash itself: {printed}"
    );

    let events = rekey.count("events").await;
    let again = rekey.admin_output(&["user", "import", path]);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).lines().last(),
        Some(format!("added 0, unchanged {USERS}, failed 2").as_str())
    );
    assert_eq!(
        rekey.count("events").await,
        events,
        "the second import wrote nothing"
    );
    assert_eq!(
        rekey
            .count("users WHERE password_hash NOT LIKE '$argon2id$%'")
            .await,
        i64::try_from((0..USERS).filter(|i| i % formats != 0).count()).expect("small"),
        "the imported hashes are stored as they came (argon2id ones aside)"
    );

    // One user of each format logs in (CreateSession): the hash is replaced in that commit.
    let admin = Some(rekey.admin_token.as_str());
    for i in 0..formats {
        let session = rekey
            .post(
                "/v2/sessions",
                admin,
                &json!({ "checks": {
                    "user": { "userId": user_id(i) },
                    "password": { "password": password(i) },
                } })
                .to_string(),
            )
            .await;
        assert_eq!(session.status, 201, "format {i}: {}", session.body);
    }
    // Every user changes its password with the imported one.
    let ids: Vec<usize> = (0..USERS).collect();
    let rekey = &rekey;
    for chunk in ids.chunks(8) {
        let answers = futures_util::future::join_all(chunk.iter().map(|&i| async move {
            rekey
                .set_password(
                    Protocol::Rest,
                    admin,
                    &user_id(i),
                    json!({
                        "newPassword": { "password": format!("Changed-{i}-Passw0rd!x") },
                        "currentPassword": password(i),
                    }),
                )
                .await
        }))
        .await;
        for (i, answer) in chunk.iter().zip(answers) {
            assert_eq!(answer.status, 200, "user {i}: {}", answer.body);
        }
    }
    assert_eq!(
        rekey
            .count("users WHERE password_hash NOT LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'")
            .await,
        0,
        "every password is now argon2id with rekey's parameters"
    );
    rekey.assert_logs_clean();
}
