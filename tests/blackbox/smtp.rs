//! A real SMTP server for the tests: Python's aiosmtpd (from `cargo xtask preflight`), storing every
//! mail it receives in a Maildir, read back with Python's `email` parser.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::tools::{python, run_python};

/// A running aiosmtpd.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

/// One received mail, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub from: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
}

/// A free port on 127.0.0.1 (nothing listens there until a server takes it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

const READ_MAILDIR: &str = r#"
import email, email.policy, json, mailbox, sys
out = []
for key, msg in mailbox.Maildir(sys.argv[1], factory=None).items():
    m = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    text = m.get_body(preferencelist=('plain',))
    html = m.get_body(preferencelist=('html',))
    out.append({"to": str(m["To"]), "from": str(m["From"]), "subject": str(m["Subject"]),
                "message_id": str(m["Message-ID"]),
                "text": text.get_content() if text else "", "html": html.get_content() if html else ""})
print(json.dumps(out))
"#;

impl SmtpServer {
    /// Starts aiosmtpd on a free port.
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Starts aiosmtpd on `port` and waits until it accepts connections.
    pub fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("maildir");
        let child = python()
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python -m aiosmtpd");
        let server = Self {
            child,
            port,
            maildir,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start (is it installed?)"
            );
            std::thread::park_timeout(Duration::from_millis(50));
        }
        server
    }

    /// The mails received so far.
    pub fn mails(&self) -> Vec<Mail> {
        if !self.maildir.exists() {
            return Vec::new();
        }
        read_maildir(&self.maildir)
    }

    /// Waits until at least `n` mails arrived (or fails after `timeout`), then returns all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + timeout;
        loop {
            let count = std::fs::read_dir(self.maildir.join("new")).map_or(0, |d| d.count());
            if count >= n {
                return self.mails();
            }
            assert!(
                Instant::now() < deadline,
                "{count} of {n} mails arrived within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn read_maildir(maildir: &Path) -> Vec<Mail> {
    let output = run_python(READ_MAILDIR, maildir);
    let parsed: Vec<Value> = serde_json::from_str(&output).expect("json");
    parsed
        .into_iter()
        .map(|m| Mail {
            to: m["to"].as_str().unwrap_or("").to_owned(),
            from: m["from"].as_str().unwrap_or("").to_owned(),
            subject: m["subject"].as_str().unwrap_or("").to_owned(),
            message_id: m["message_id"].as_str().unwrap_or("").to_owned(),
            text: m["text"].as_str().unwrap_or("").to_owned(),
            html: m["html"].as_str().unwrap_or("").to_owned(),
        })
        .collect()
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The reset link in a text body: the first `http…` word.
pub fn link_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap_or_else(|| panic!("no link in {text:?}"))
        .to_owned()
}

/// The value of query parameter `name` in `url`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

/// The links of the mails that the file transport wrote to `dir`, once at least `n` are there
/// (it writes a temporary file and renames it to `.eml`, so only finished mails count).
pub async fn links_in_mail_files(dir: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let files = loop {
        let files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|entry| entry.path())
                    .filter(|path| path.extension().is_some_and(|e| e == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        if files.len() >= n {
            break files;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} mails were written to {}",
            files.len(),
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let script = "import email, email.policy, sys\n\
        m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n\
        print(m.get_body(preferencelist=('plain',)).get_content())";
    files
        .iter()
        .map(|file| link_in(&run_python(script, file)))
        .collect()
}
