//! The Connect protocol's binary format (`application/proto`) and the v2beta twins, on the HTTP
//! port: ZITADEL's login app since v4.13 speaks Connect binary, older clients call v2beta.

use prost::Message as _;
use rekey_proto::zitadel::user::v2 as user;
use serde_json::{Value, json};

use crate::harness::{Backend, Rekey, on_both_backends};

on_both_backends!(
    connect_binary_answers_in_protobuf_and_refuses_in_json,
    the_v2beta_twins_reset_and_set_on_rest_and_connect,
);

/// A Connect call with a protobuf body: the status, the content type and the body.
async fn post_proto(rekey: &Rekey, path: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", rekey.base))
        .header("content-type", "application/proto")
        .header("connect-protocol-version", "1")
        .bearer_auth(&rekey.admin_token)
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

async fn connect_binary_answers_in_protobuf_and_refuses_in_json(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let added = rekey
        .post(
            "/v2/users/human",
            Some(&rekey.admin_token),
            &json!({
                "userId": "123",
                "profile": {"givenName": "Ada", "familyName": "Lovelace"},
                "email": {"email": "ada@example.com"},
            })
            .to_string(),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);

    // GRPC.md §3.1: `{userId:"123", returnCode:{}}` as @bufbuild/protobuf encodes it.
    let request = vec![0x0a, 0x03, 0x31, 0x32, 0x33, 0x1a, 0x00];
    let (status, content_type, body) = post_proto(
        &rekey,
        "/zitadel.user.v2.UserService/PasswordReset",
        request,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(content_type, "application/proto");
    let response = user::PasswordResetResponse::decode(body.as_slice()).unwrap();
    let code = response.verification_code.clone().expect("a returned code");
    rekey.remember(&code);
    assert_eq!(code.len(), 6);
    let details = response.details.expect("details");
    assert!(details.sequence > 0);
    assert_eq!(details.resource_owner, rekey.org_id);
    assert!(details.change_date.is_some() && details.creation_date.is_none());

    // The code works through the binary SetPassword too.
    let set = user::SetPasswordRequest {
        user_id: "123".into(),
        new_password: Some(user::Password {
            password: "Binary-Passw0rd!xyz".into(),
            change_required: false,
        }),
        verification: Some(user::set_password_request::Verification::VerificationCode(
            code,
        )),
    };
    rekey.remember("Binary-Passw0rd!xyz");
    let (status, _, body) = post_proto(
        &rekey,
        "/zitadel.user.v2.UserService/SetPassword",
        set.encode_to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let changed = user::SetPasswordResponse::decode(body.as_slice()).unwrap();
    assert!(changed.details.unwrap().sequence > details.sequence);

    // A refusal of a binary call is Connect's JSON error, with ZITADEL's detail.
    let missing = user::PasswordResetRequest {
        user_id: "69629023906488334".into(),
        medium: None,
    };
    let (status, content_type, body) = post_proto(
        &rekey,
        "/zitadel.user.v2.UserService/PasswordReset",
        missing.encode_to_vec(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(content_type, "application/json");
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["code"], "not_found");
    assert_eq!(error["details"][0]["type"], "zitadel.v1.ErrorDetail");
    assert_eq!(error["details"][0]["debug"]["id"], "COMMAND-SAF4f");

    // Bytes that are not the message: invalid_argument, not a 500.
    let (status, _, body) = post_proto(
        &rekey,
        "/zitadel.user.v2.UserService/PasswordReset",
        vec![0x0a, 0x10, 0x31],
    )
    .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["code"], "invalid_argument");

    // Neither JSON nor protobuf: 415.
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/zitadel.user.v2.UserService/PasswordReset",
            rekey.base
        ))
        .header("content-type", "application/grpc+proto")
        .body(vec![0u8])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 415);
    rekey.assert_logs_clean();
}

async fn the_v2beta_twins_reset_and_set_on_rest_and_connect(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "grace", None).await;
    let token = Some(rekey.admin_token.as_str());

    let reset = rekey
        .post(
            &format!("/v2beta/users/{user}/password_reset"),
            token,
            r#"{"returnCode": {}}"#,
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(
        reset.body["details"]["resourceOwner"],
        rekey.org_id.as_str()
    );
    let code = reset.body["verificationCode"].as_str().unwrap().to_owned();
    let new_password = "V2beta-Passw0rd!xyz";
    rekey.remember(new_password);
    let set = rekey
        .post(
            &format!("/v2beta/users/{user}/password"),
            token,
            &json!({"newPassword": {"password": new_password}, "verificationCode": code})
                .to_string(),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);

    let reset = rekey
        .post(
            "/zitadel.user.v2beta.UserService/PasswordReset",
            token,
            &json!({"userId": user, "returnCode": {}}).to_string(),
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let code = reset.body["verificationCode"].as_str().unwrap().to_owned();
    let set = rekey
        .post(
            "/zitadel.user.v2beta.UserService/SetPassword",
            token,
            &json!({
                "userId": user,
                "newPassword": {"password": "Another-Passw0rd!xyz"},
                "verificationCode": code,
            })
            .to_string(),
        )
        .await;
    rekey.remember("Another-Passw0rd!xyz");
    assert_eq!(set.status, 200, "{}", set.body);

    // The twins refuse as v2 does.
    let missing = rekey
        .post("/v2beta/users/nobody/password_reset", token, "{}")
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_id().as_deref(), Some("COMMAND-SAF4f"));
    let no_token = rekey
        .post(
            "/zitadel.user.v2beta.UserService/PasswordReset",
            None,
            &json!({"userId": user}).to_string(),
        )
        .await;
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.body["code"], "unauthenticated");
    rekey.assert_logs_clean();
}
