//! `SmtpMailer` against a small SMTP server on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rekey_application::ports::EmailSender;
use rekey_notifier_adapter::{EmailTransport, SmtpMailer, SmtpSettings, SmtpTls};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::{assert_clean, email};

/// What the stub server saw: commands and message data.
#[derive(Debug, Default)]
struct Seen {
    commands: Vec<String>,
    data: Vec<String>,
}

/// An SMTP server that accepts EHLO/MAIL/RCPT/DATA/RSET/NOOP/QUIT; `rcpt_reply` replaces the
/// answer to RCPT (e.g. `"550 5.1.1 no such user secret-marker"`).
async fn stub(rcpt_reply: Option<&'static str>) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(session(stream, rcpt_reply, state.clone()));
        }
    });
    (addr, seen)
}

async fn session(stream: TcpStream, rcpt_reply: Option<&'static str>, seen: Arc<Mutex<Seen>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    if write.write_all(b"220 stub ESMTP\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        seen.lock().unwrap().commands.push(line.clone());
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" | "HELO" => "250-stub\r\n250 8BITMIME\r\n".to_owned(),
            "MAIL" | "RSET" | "NOOP" => "250 2.0.0 OK\r\n".to_owned(),
            "RCPT" => format!("{}\r\n", rcpt_reply.unwrap_or("250 2.1.5 OK")),
            "DATA" => {
                if write.write_all(b"354 go ahead\r\n").await.is_err() {
                    return;
                }
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    data.push_str(&line);
                    data.push('\n');
                }
                seen.lock().unwrap().data.push(data);
                "250 2.0.0 queued\r\n".to_owned()
            }
            "QUIT" => {
                let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
                return;
            }
            _ => "502 5.5.2 not implemented\r\n".to_owned(),
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".to_owned(),
        port,
        tls: SmtpTls::None,
        username: None,
        password: None,
        timeout: Duration::from_secs(2),
        from: "rekey <noreply@example.com>".to_owned(),
        reply_to: Some("help@example.com".to_owned()),
    }
}

fn mailer(port: u16) -> EmailTransport {
    EmailTransport::Smtp(SmtpMailer::new(settings(port)).unwrap())
}

#[tokio::test]
async fn sends_through_the_server() {
    let (addr, seen) = stub(None).await;
    let transport = mailer(addr.port());
    transport
        .send(&email("ada@example.com", None, "m-1"))
        .await
        .unwrap();
    // The pool keeps the connection; a second message goes through as well.
    transport
        .send(&email("bob@example.com", Some("de"), "m-2"))
        .await
        .unwrap();

    let seen = seen.lock().unwrap();
    let commands = seen.commands.join("\n");
    assert!(
        commands.contains("MAIL FROM:<noreply@example.com>"),
        "{commands}"
    );
    assert!(commands.contains("RCPT TO:<ada@example.com>"), "{commands}");
    assert!(commands.contains("RCPT TO:<bob@example.com>"), "{commands}");
    assert_eq!(seen.data.len(), 2);
    let data = &seen.data[0];
    assert!(data.contains("Subject: Reset password\n"), "{data}");
    assert!(data.contains("Message-ID: <m-1@rekey>\n"), "{data}");
    assert!(data.contains("Reply-To: help@example.com\n"), "{data}");
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(data.contains("text/plain"), "{data}");
    assert!(data.contains("text/html"), "{data}");
    assert!(seen.data[1].contains("Message-ID: <m-2@rekey>\n"));
}

#[tokio::test]
async fn permanent_rejection_is_final() {
    let (addr, _) = stub(Some("550 5.1.1 no such user secret-marker")).await;
    let error = mailer(addr.port())
        .send(&email("ada@example.com", None, "m-3"))
        .await
        .unwrap_err();
    assert!(!error.retryable, "{error:?}");
    assert!(error.reason.contains("550"), "{}", error.reason);
    assert!(!error.reason.contains("secret-marker"), "{}", error.reason);
    assert_clean(&error.reason);
}

#[tokio::test]
async fn transient_rejection_is_retryable() {
    let (addr, _) = stub(Some("451 4.3.0 try again later secret-marker")).await;
    let error = mailer(addr.port())
        .send(&email("ada@example.com", None, "m-4"))
        .await
        .unwrap_err();
    assert!(error.retryable, "{error:?}");
    assert!(error.reason.contains("451"), "{}", error.reason);
    assert!(!error.reason.contains("secret-marker"), "{}", error.reason);
    assert_clean(&error.reason);
}

#[tokio::test]
async fn nothing_listening_is_retryable() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = mailer(port)
        .send(&email("ada@example.com", None, "m-5"))
        .await
        .unwrap_err();
    assert!(error.retryable, "{error:?}");
    assert_clean(&error.reason);
}

#[tokio::test]
async fn a_silent_server_times_out_retryably() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts connections but never greets.
    let held = tokio::spawn(async move {
        let mut streams = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            streams.push(stream);
        }
    });
    let mailer = EmailTransport::Smtp(
        SmtpMailer::new(SmtpSettings {
            timeout: Duration::from_millis(300),
            ..settings(port)
        })
        .unwrap(),
    );
    let error = mailer
        .send(&email("ada@example.com", None, "m-6"))
        .await
        .unwrap_err();
    held.abort();
    assert!(error.retryable, "{error:?}");
    assert_eq!(error.reason, "smtp timeout");
    assert_clean(&error.reason);
}

#[tokio::test]
async fn constructor_checks_mailboxes_and_tls_host() {
    assert!(
        SmtpMailer::new(SmtpSettings {
            from: "nobody".to_owned(),
            ..settings(25)
        })
        .is_err()
    );
    for tls in [SmtpTls::StartTls, SmtpTls::Tls] {
        let mailer = SmtpMailer::new(SmtpSettings {
            host: "smtp.example.com".to_owned(),
            tls,
            username: Some("user".to_owned()),
            password: Some("hunter2".to_owned()),
            ..settings(587)
        })
        .unwrap();
        assert!(!format!("{mailer:?}").contains("hunter2"));
    }
}
