//! The service around the RPC: health, unknown routes, methods, body limits, request ids,
//! the supporting RPCs.

use serde_json::json;

use crate::harness::{Backend, Rekey, on_both_backends};

on_both_backends!(
    health_routes_and_methods,
    organizations_users_and_reads,
    restarts_keep_everything_and_bootstrap_only_once,
);

async fn health_routes_and_methods(backend: Backend) {
    let rekey = Rekey::start(backend, &[("REKEY__SERVER__BODY_LIMIT", "1024")]).await;
    assert_eq!(rekey.get("/debug/healthz", None).await.status, 200);
    let ready = rekey.get("/debug/ready", None).await;
    assert_eq!(
        (ready.status, ready.body.clone()),
        (200, json!({ "status": "ready" }))
    );

    let unknown = rekey.get("/v3/nothing", None).await;
    assert_eq!(
        (unknown.status, unknown.body),
        (404, json!({ "code": 5, "message": "Not Found" }))
    );

    let wrong_method = rekey
        .get("/v2/organizations", Some(&rekey.admin_token))
        .await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.body["code"], json!(12));

    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(2000));
    let too_big = rekey
        .post("/v2/organizations", Some(&rekey.admin_token), &big)
        .await;
    assert_eq!(too_big.status, 413);
    assert_eq!(too_big.body["code"], json!(3));

    let malformed = rekey
        .post("/v2/organizations", Some(&rekey.admin_token), "{\"name\":")
        .await;
    assert_eq!(
        (malformed.status, malformed.body["code"].clone()),
        (400, json!(3))
    );

    let id = ready
        .headers
        .get("x-request-id")
        .expect("request id")
        .to_str()
        .unwrap();
    assert_eq!(id.len(), 36);
}

async fn organizations_users_and_reads(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let admin = Some(rekey.admin_token.as_str());
    let org = rekey
        .post("/v2/organizations", admin, r#"{"name":"acme"}"#)
        .await;
    assert_eq!(org.status, 200, "{}", org.body);
    let org_id = org.body["organizationId"].as_str().unwrap().to_owned();
    assert_eq!(org.body["details"]["resourceOwner"], json!(org_id));
    let again = rekey
        .post(
            "/zitadel.org.v2.OrganizationService/AddOrganization",
            admin,
            r#"{"name":"acme"}"#,
        )
        .await;
    assert_eq!(
        (again.status, again.body["code"].clone()),
        (409, json!("already_exists"))
    );

    let body = json!({
        "user_id": "ada-1",
        "organization": { "org_id": org_id },
        "profile": { "given_name": "Ada", "family_name": "Lovelace", "preferred_language": "de" },
        "email": { "email": "ada@example.com", "is_verified": true },
        "phone": { "phone": "+41 79 123 45 67" },
        "password": { "password": "Secr3tP4ssw0rd!" },
    });
    rekey.remember("Secr3tP4ssw0rd!");
    let added = rekey
        .post(
            "/zitadel.user.v2.UserService/AddHumanUser",
            admin,
            &body.to_string(),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.body["userId"], json!("ada-1"));
    assert!(!crate::harness::contains(
        &rekey.database_dump().await,
        b"Secr3tP4ssw0rd!"
    ));

    let user = rekey.get("/v2/users/ada-1", admin).await;
    assert_eq!(user.status, 200, "{}", user.body);
    let u = &user.body["user"];
    assert_eq!(u["state"], json!("USER_STATE_ACTIVE"));
    assert_eq!(u["username"], json!("ada@example.com"));
    assert_eq!(u["human"]["profile"]["preferredLanguage"], json!("de"));
    assert_eq!(
        u["human"]["email"],
        json!({ "email": "ada@example.com", "isVerified": true })
    );
    assert_eq!(u["human"]["phone"], json!({ "phone": "+41791234567" }));
    assert!(
        u["human"]["passwordChanged"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(u["details"]["sequence"], json!("1"));

    let duplicate = rekey
        .post("/v2/users/human", admin, &body.to_string())
        .await;
    assert_eq!(
        (duplicate.status, duplicate.body["code"].clone()),
        (409, json!(6))
    );
    let weak = json!({ "organization": { "orgId": org_id }, "profile": { "givenName": "A", "familyName": "B" },
                       "email": { "email": "b@example.com" }, "password": { "password": "weakpassword" } });
    let refused = rekey
        .post("/v2/users/human", admin, &weak.to_string())
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("DOMAIN-VoaRj"),
        "{}",
        refused.body
    );

    let own = rekey.token("ada-1", &[]);
    assert_eq!(
        rekey.get("/v2/users/ada-1", Some(&own)).await.status,
        200,
        "self may read"
    );
    let connect = rekey
        .post(
            "/zitadel.user.v2.UserService/GetUserByID",
            Some(&own),
            r#"{"userId":"ada-1"}"#,
        )
        .await;
    assert_eq!(connect.status, 200);
    assert_eq!(connect.body["user"]["userId"], json!("ada-1"));
    let other = rekey.admin(&[
        "user",
        "add-machine",
        "--org",
        &rekey.org_id,
        "--username",
        "viewer",
    ]);
    let other_token = rekey.token(&other, &["ORG_USER_MANAGER"]);
    let denied = rekey.get("/v2/users/ada-1", Some(&other_token)).await;
    assert_eq!(
        (denied.status, denied.body["code"].clone()),
        (403, json!(7))
    );
    let org_create = rekey
        .post(
            "/v2/organizations",
            Some(&other_token),
            r#"{"name":"nope"}"#,
        )
        .await;
    assert_eq!(org_create.status, 403);
}

async fn restarts_keep_everything_and_bootstrap_only_once(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let (token, org) = (rekey.admin_token.clone(), rekey.org_id.clone());
    let stopped = rekey.stop();
    let pat = std::fs::read_to_string(stopped.data_dir().join("admin.pat")).unwrap();

    let again = Rekey::restart(stopped, &[]).await;
    assert_eq!(again.admin_token, token, "the token file is not rewritten");
    assert_eq!(again.org_id, org);
    assert_eq!(
        std::fs::read_to_string(again.dir.path().join("data/admin.pat")).unwrap(),
        pat
    );
    assert_eq!(again.count("organizations").await, 1, "no second bootstrap");
    let read = again.get(&format!("/v2/users/{user}"), Some(&token)).await;
    assert_eq!(read.status, 200, "{}", read.body);
    let firsts = again
        .log_lines()
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("first start"))
        })
        .count();
    assert_eq!(firsts, 1);
    let stopped = again
        .log_lines()
        .iter()
        .filter(|l| l["message"] == "stopped")
        .count();
    assert_eq!(stopped, 1, "the first run logged its graceful stop");
}
