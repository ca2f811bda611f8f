//! `FileMailer` and `FileSms`.

use mailparse::MailHeaderMap;
use rekey_application::ports::{EmailSender, SmsSender};
use rekey_notifier_adapter::{EmailTransport, FileMailer, FileSms, SmsTransport};

use crate::{assert_clean, email, sms};

fn mailer(dir: &std::path::Path) -> FileMailer {
    FileMailer::new(
        dir,
        "rekey <noreply@example.com>",
        Some("Support <help@example.com>"),
    )
    .unwrap()
}

#[tokio::test]
async fn file_mailer_writes_a_mime_message() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("mail").join("out");
    let transport = EmailTransport::File(mailer(&dir));
    let message = email("ada@example.com", Some("de"), "m-1");

    transport.send(&message).await.unwrap();

    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["m-1.eml"]);
    let raw = std::fs::read(dir.join("m-1.eml")).unwrap();
    let parsed = mailparse::parse_mail(&raw).unwrap();
    let header = |name: &str| parsed.headers.get_first_value(name).unwrap_or_default();
    assert_eq!(header("From"), "rekey <noreply@example.com>");
    assert_eq!(header("To"), "ada@example.com");
    assert_eq!(header("Reply-To"), "Support <help@example.com>");
    assert_eq!(header("Subject"), "Passwort zurücksetzen");
    assert_eq!(header("Message-ID"), "<m-1@rekey>");
    assert_eq!(header("MIME-Version"), "1.0");
    assert!(!header("Date").is_empty());
    assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
    assert_eq!(parsed.subparts.len(), 2);
    let (text, html) = (&parsed.subparts[0], &parsed.subparts[1]);
    assert_eq!(text.ctype.mimetype, "text/plain");
    assert_eq!(text.ctype.charset, "utf-8");
    assert_eq!(text.get_body().unwrap().replace("\r\n", "\n"), message.text);
    assert_eq!(html.ctype.mimetype, "text/html");
    assert_eq!(html.get_body().unwrap().replace("\r\n", "\n"), message.html);
}

#[tokio::test]
async fn file_mailer_replaces_a_resent_message_and_sanitises_names() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = mailer(dir.path());
    mailer
        .send(&email("ada@example.com", None, "m-2"))
        .await
        .unwrap();
    mailer
        .send(&email("bob@example.com", None, "m-2"))
        .await
        .unwrap();
    mailer
        .send(&email("ada@example.com", None, "../x y"))
        .await
        .unwrap();

    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["_.._x_y.eml", "m-2.eml"]);
    let raw = std::fs::read(dir.path().join("m-2.eml")).unwrap();
    let parsed = mailparse::parse_mail(&raw).unwrap();
    assert_eq!(
        parsed.headers.get_first_value("To").unwrap(),
        "bob@example.com"
    );
    let raw = std::fs::read(dir.path().join("_.._x_y.eml")).unwrap();
    let parsed = mailparse::parse_mail(&raw).unwrap();
    assert_eq!(
        parsed.headers.get_first_value("Message-ID").unwrap(),
        "<_.._x_y@rekey>"
    );
}

#[tokio::test]
async fn file_mailer_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = mailer(dir.path());
    let error = mailer
        .send(&email("not an address", None, "m-3"))
        .await
        .unwrap_err();
    assert!(!error.retryable);
    assert_clean(&error.reason);

    // A file where the directory should be: retryable.
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, "").unwrap();
    let error = self::mailer(&blocked)
        .send(&email("ada@example.com", None, "m-4"))
        .await
        .unwrap_err();
    assert!(error.retryable, "{error:?}");
    assert_clean(&error.reason);
}

#[tokio::test]
async fn file_sms_appends_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("sms.jsonl");
    let transport = SmsTransport::File(FileSms::new(&path));

    transport.send(&sms("+41790000001", "s-1")).await.unwrap();
    transport.send(&sms("+41790000002", "s-2")).await.unwrap();

    let content = std::fs::read_to_string(&path).unwrap();
    assert!(content.ends_with('\n'));
    let lines: Vec<serde_json::Value> = content
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0],
        serde_json::json!({
            "id": "s-1",
            "to": "+41790000001",
            "body": sms("+41790000001", "s-1").body,
        })
    );
    assert_eq!(lines[1]["id"], "s-2");
    assert_eq!(lines[1]["to"], "+41790000002");
}

#[tokio::test]
async fn file_sms_concurrent_lines_stay_whole() {
    let dir = tempfile::tempdir().unwrap();
    let sender = std::sync::Arc::new(FileSms::new(dir.path().join("sms.jsonl")));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let sender = sender.clone();
            tokio::spawn(async move { sender.send(&sms("+41790000000", &format!("c-{i}"))).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let content = std::fs::read_to_string(sender.path()).unwrap();
    let mut ids: Vec<String> = content
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
}

#[tokio::test]
async fn file_sms_errors_are_retryable() {
    let dir = tempfile::tempdir().unwrap();
    let error = FileSms::new(dir.path())
        .send(&sms("+41790000000", "s-3"))
        .await
        .unwrap_err();
    assert!(error.retryable);
    assert_clean(&error.reason);
}
