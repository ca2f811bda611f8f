//! `WebhookSender` against a wiremock server: the JSON shape and the signature.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rekey_application::ports::{Clock, EmailSender, SmsSender};
use rekey_notifier_adapter::{
    EmailTransport, SIGNATURE_HEADER, SmsTransport, WebhookSender, WebhookSettings,
    ZITADEL_SIGNATURE_HEADER,
};
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::{CODE, LINK, assert_clean, email, sms};

const KEY: &[u8] = b"webhook-signing-key";
const NOW: i64 = 1_700_000_000;

/// A clock standing at [`NOW`].
#[derive(Debug)]
struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(NOW, 0).unwrap()
    }
}

fn sender(url: &str) -> WebhookSender {
    let settings = WebhookSettings {
        url: url.to_owned(),
        signing_key: KEY.to_vec(),
        timeout: Duration::from_secs(2),
    };
    WebhookSender::new(settings, Arc::new(Fixed)).unwrap()
}

async fn accepting_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    server
}

/// Checks the request's signature as a receiver would, and returns its JSON body.
fn verified(request: &Request) -> Value {
    let signature = request
        .headers
        .get(SIGNATURE_HEADER)
        .unwrap()
        .to_str()
        .unwrap();
    let zitadel = request
        .headers
        .get(ZITADEL_SIGNATURE_HEADER)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(signature, zitadel);
    let (t, v1) = signature.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    assert_eq!(t, NOW.to_string());

    let mut mac = Hmac::<Sha256>::new_from_slice(KEY).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&request.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected);
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn email_payload_has_zitadels_shape() {
    let server = accepting_server().await;
    let transport = EmailTransport::Webhook(sender(&format!("{}/hook", server.uri())));
    transport
        .send(&email("ada@example.com", None, "m-1"))
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    let body = verified(&requests[0]);
    assert_eq!(
        body,
        json!({
            "contextInfo": {
                "eventType": "user.human.password.code.added",
                "recipientEmailAddress": "ada@example.com",
                "messageId": "m-1"
            },
            "templateData": {
                "title": "Reset password",
                "preHeader": "Reset password",
                "subject": "Reset password",
                "greeting": "Hello Ada Lovelace,",
                "text": format!(
                    "We received a password reset request. Please use the button below to reset \
                     your password. (Code {CODE}) If you didn't ask for this mail, please ignore it."
                ),
                "buttonText": "Reset password",
                "url": LINK
            },
            "args": {
                "code": CODE,
                "displayName": "Ada Lovelace",
                "userName": "ada"
            }
        })
    );
}

#[tokio::test]
async fn sms_payload_has_zitadels_shape() {
    let server = accepting_server().await;
    let transport = SmsTransport::Webhook(sender(&format!("{}/hook", server.uri())));
    let message = sms("+41790000000", "s-1");
    transport.send(&message).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let body = verified(&requests[0]);
    assert_eq!(
        body,
        json!({
            "contextInfo": {
                "eventType": "user.human.password.code.added",
                "recipientPhoneNumber": "+41790000000",
                "messageId": "s-1"
            },
            "templateData": { "text": message.body }
        })
    );
}

#[tokio::test]
async fn the_sender_implements_both_ports() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .mount(&server)
        .await;
    let webhook = sender(&server.uri());
    EmailSender::send(&webhook, &email("ada@example.com", None, "m-2"))
        .await
        .unwrap();
    SmsSender::send(&webhook, &sms("+41790000000", "s-2"))
        .await
        .unwrap();
}

#[tokio::test]
async fn statuses_are_classified() {
    for (status, retryable) in [
        (400, false),
        (404, false),
        (302, false),
        (429, true),
        (500, true),
        (503, true),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("location", "https://elsewhere.example.com/")
                    .set_body_string(format!("echo: {CODE}")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let error = sender(&server.uri())
            .send_email(&email("ada@example.com", None, "m-3"))
            .await
            .unwrap_err();
        assert_eq!(error.retryable, retryable, "{status}: {error:?}");
        assert_eq!(error.reason, format!("webhook {status}"));
        assert_clean(&error.reason);
    }
}

#[tokio::test]
async fn refused_connections_are_retryable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = sender(&format!("http://127.0.0.1:{port}/hook?token=secret-token"))
        .send_sms(&sms("+41790000000", "s-3"))
        .await
        .unwrap_err();
    assert!(error.retryable, "{error:?}");
    assert!(!error.reason.contains("secret-token"), "{}", error.reason);
    assert_clean(&error.reason);
}
