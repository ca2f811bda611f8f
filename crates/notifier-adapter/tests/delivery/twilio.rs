//! `TwilioSms` against a wiremock server.

use std::time::Duration;

use rekey_application::ports::SmsSender;
use rekey_notifier_adapter::{SmsTransport, TwilioSettings, TwilioSms};
use serde_json::json;
use wiremock::matchers::{basic_auth, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{assert_clean, sms};

const MESSAGES: &str = "/2010-04-01/Accounts/AC0123/Messages.json";

fn settings(base_url: &str) -> TwilioSettings {
    TwilioSettings {
        base_url: base_url.to_owned(),
        account_sid: "AC0123".to_owned(),
        auth_token: "token-xyz".to_owned(),
        from: Some("+15005550006".to_owned()),
        messaging_service_sid: None,
        timeout: Duration::from_secs(2),
    }
}

fn twilio(settings: TwilioSettings) -> SmsTransport {
    SmsTransport::Twilio(TwilioSms::new(settings).unwrap())
}

fn created() -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({ "sid": "SM1", "status": "queued" }))
}

#[tokio::test]
async fn posts_the_form_with_basic_auth() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .and(basic_auth("AC0123", "token-xyz"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("To=%2B41790000000"))
        .and(body_string_contains("From=%2B15005550006"))
        .and(body_string_contains(
            "Body=Reset+password+%28Code+K7Q2ZD%29%3A+https%3A%2F%2Fexample.com",
        ))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;

    // A trailing slash on the base URL is fine.
    let sender = twilio(settings(&format!("{}/", server.uri())));
    sender.send(&sms("+41790000000", "s-1")).await.unwrap();
}

#[tokio::test]
async fn uses_the_messaging_service_without_a_from_number() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .and(body_string_contains("MessagingServiceSid=MG0456"))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;

    let sender = twilio(TwilioSettings {
        from: None,
        messaging_service_sid: Some("MG0456".to_owned()),
        ..settings(&server.uri())
    });
    sender.send(&sms("+41790000000", "s-2")).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let body = String::from_utf8(requests[0].body.clone()).unwrap();
    assert!(!body.contains("From="), "{body}");
}

#[tokio::test]
async fn a_twilio_error_is_final_and_explained() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 21211,
            "message": "The 'To' number +4179000 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400
        })))
        .mount(&server)
        .await;

    let error = twilio(settings(&server.uri()))
        .send(&sms("+4179000", "s-3"))
        .await
        .unwrap_err();
    assert!(!error.retryable, "{error:?}");
    // Twilio's text names the number; the reason (kept in outbox.last_error and logged)
    // shows it masked.
    assert_eq!(
        error.reason,
        "twilio 400 21211: The 'To' number +41***00 is not a valid phone number."
    );
    assert_clean(&error.reason);
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retryable() {
    for status in [429, 500, 503] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "code": 20429, "message": "Too many requests", "status": status
            })))
            .mount(&server)
            .await;
        let error = twilio(settings(&server.uri()))
            .send(&sms("+41790000000", "s-4"))
            .await
            .unwrap_err();
        assert!(error.retryable, "{status}: {error:?}");
        assert!(
            error.reason.starts_with(&format!("twilio {status}")),
            "{}",
            error.reason
        );
        assert_clean(&error.reason);
    }
}

#[tokio::test]
async fn other_client_errors_are_final_even_without_json() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string("<html>nope</html>"))
        .mount(&server)
        .await;
    let error = twilio(settings(&server.uri()))
        .send(&sms("+41790000000", "s-5"))
        .await
        .unwrap_err();
    assert!(!error.retryable);
    assert_eq!(error.reason, "twilio 401");
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(created().set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let error = twilio(TwilioSettings {
        timeout: Duration::from_millis(200),
        ..settings(&server.uri())
    })
    .send(&sms("+41790000000", "s-6"))
    .await
    .unwrap_err();
    assert!(error.retryable, "{error:?}");
    assert_eq!(error.reason, "twilio request timed out");

    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = twilio(settings(&format!("http://127.0.0.1:{port}")))
        .send(&sms("+41790000000", "s-7"))
        .await
        .unwrap_err();
    assert!(error.retryable, "{error:?}");
    assert_clean(&error.reason);
    assert!(!error.reason.contains("AC0123"), "{}", error.reason);
}
