//! The reset page: a GET changes nothing and is valid HTML with strict security headers; the
//! form sets the password only with its CSRF cookie; and a real headless Chromium goes from
//! the delivered mail's link to a new password.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Backend, Protocol, Rekey, on_both_backends};
use crate::smtp::{free_port, links_in_mail_files, query_param};
use crate::tools::{chromium, python};

on_both_backends!(
    a_get_changes_nothing_and_is_valid_html,
    the_form_needs_its_csrf_cookie
);

const NEW: &str = "Kq7#vX2!mRt9";

fn page_path(code: &str, org: &str, user: &str) -> String {
    format!("/ui/v2/login/password/set?code={code}&organization={org}&userId={user}")
}

/// html5lib's strict parser: any parse error fails.
fn assert_valid_html(html: &str) {
    let script = "import sys, html5lib\nhtml5lib.HTMLParser(strict=True).parse(sys.stdin.read())";
    let mut child = python()
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python with html5lib");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(html.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "invalid HTML: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn a_get_changes_nothing_and_is_valid_html(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let code = rekey.returned_code(&user).await;
    let tables = [
        "organizations",
        "users",
        "events",
        "password_codes",
        "tokens",
        "outbox",
    ];
    let mut before = Vec::new();
    for table in tables {
        before.push(rekey.count(table).await);
    }
    let sequence = rekey
        .get(&format!("/v2/users/{user}"), Some(&rekey.admin_token))
        .await
        .body["user"]["details"]["sequence"]
        .clone();
    let client = reqwest::Client::new();
    for (accept, heading) in [
        ("en-US,en;q=0.9", "Set a new password"),
        ("de-CH,de;q=0.9", "Neues Passwort festlegen"),
    ] {
        let response = client
            .get(format!(
                "{}{}",
                rekey.base,
                page_path(&code, &rekey.org_id, &user)
            ))
            .header("accept-language", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["x-frame-options"], "DENY");
        let cookie = headers["set-cookie"].to_str().unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(heading), "{html}");
        assert!(
            html.contains(&format!("value=\"{code}\"")),
            "the code is prefilled"
        );
        assert_valid_html(&html);
    }
    let mut after = Vec::new();
    for table in tables {
        after.push(rekey.count(table).await);
    }
    assert_eq!(before, after, "a GET writes nothing");
    let again = rekey
        .get(&format!("/v2/users/{user}"), Some(&rekey.admin_token))
        .await;
    assert_eq!(again.body["user"]["details"]["sequence"], sequence);
    let css = client
        .get(format!("{}/ui/v2/login/rekey.css", rekey.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

/// Posts the form with `cookie` (the CSRF cookie's value) and `csrf` (the field).
async fn post_form(rekey: &Rekey, cookie: Option<&str>, fields: &[(&str, &str)]) -> String {
    let mut request = reqwest::Client::new()
        .post(format!("{}/ui/v2/login/password/set", rekey.base))
        .form(fields);
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("rekey_csrf={cookie}"));
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    response.text().await.unwrap()
}

async fn the_form_needs_its_csrf_cookie(backend: Backend) {
    let rekey = Rekey::start(backend, &[]).await;
    rekey.remember(NEW);
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let code = rekey.returned_code(&user).await;
    let org = rekey.org_id.clone();
    let fields = |csrf: &'static str, confirm: &'static str| {
        vec![
            ("csrf", csrf),
            ("userId", user.as_str()),
            ("organization", org.as_str()),
            ("lang", "en"),
            ("code", code.as_str()),
            ("password", NEW),
            ("confirm", confirm),
        ]
    };
    let forged = post_form(&rekey, None, &fields("guessed", NEW)).await;
    assert!(forged.contains("This form has expired"), "{forged}");
    let other = post_form(&rekey, Some("abc"), &fields("def", NEW)).await;
    assert!(other.contains("This form has expired"), "{other}");
    let mismatch = post_form(&rekey, Some("tok"), &fields("tok", "Kq7#vX2!mRt8")).await;
    assert!(mismatch.contains("The two passwords differ."), "{mismatch}");
    let changed = "events WHERE event_type = 'user.human.password.changed'";
    assert_eq!(rekey.count(changed).await, 0, "nothing was set so far");
    let done = post_form(&rekey, Some("tok"), &fields("tok", NEW)).await;
    assert!(done.contains("Your password has been changed."), "{done}");
    assert_valid_html(&done);
    assert_eq!(rekey.count(changed).await, 1);
    let reused = post_form(&rekey, Some("tok"), &fields("tok", NEW)).await;
    assert!(reused.contains("is not valid (any more)"), "{reused}");
}

// ---------------------------------------------------------------------------------------------
// A real browser

struct ChromeDriver {
    child: Child,
    url: String,
    client: reqwest::Client,
}

impl ChromeDriver {
    async fn start() -> Self {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (cargo xtask preflight installs it)");
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while driver
            .client
            .get(format!("{}/status", driver.url))
            .send()
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.client.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(answer["value"].get("error").is_none(), "{path}: {answer}");
        answer["value"].clone()
    }

    async fn element(&self, session: &str, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                &format!("/session/{session}/element"),
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        match found["element-6066-11e4-a52e-4f735466cecf"].as_str() {
            Some(id) => id.to_owned(),
            None => {
                let source = self
                    .call(
                        reqwest::Method::GET,
                        &format!("/session/{session}/source"),
                        None,
                    )
                    .await;
                panic!("no {css} in the page ({found}):\n{source}")
            }
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Mail (file transport) → link → the page in headless Chromium → new password → proved with
/// SetPassword and the current password. A screenshot goes to target/reset-page.png.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_resets_the_password_from_the_mailed_link() {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let public = format!("http://127.0.0.1:{port}");
    let rekey = Rekey::start(
        Backend::Sqlite,
        &[
            ("REKEY__SERVER__BIND", bind.as_str()),
            ("REKEY__PUBLIC_URL", public.as_str()),
        ],
    )
    .await;
    rekey.remember(NEW);
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let sent = rekey
        .password_reset(Protocol::Rest, Some(&rekey.admin_token), &user, json!({}))
        .await;
    assert_eq!(sent.status, 200);
    let mail_dir = rekey.dir.path().join("data").join("mail");
    let link = links_in_mail_files(&mail_dir, 1).await.remove(0);
    rekey.remember(&link);
    rekey.remember(&query_param(&link, "code").unwrap());
    assert!(link.starts_with(&public), "{link}");

    let driver = ChromeDriver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let session = driver
        .call(
            reqwest::Method::POST,
            "/session",
            Some(json!({ "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium(),
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                             "--disable-quic", "--no-first-run", "--disable-background-networking",
                             "--disable-component-update", "--disable-sync", "--window-size=800,900",
                             format!("--user-data-dir={}", profile.path().display())]
                }
            }}})),
        )
        .await["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = session.as_str();
    // Element lookups wait (up to 10 s) for the page: a click that submits the form returns
    // before the next page has loaded.
    driver
        .call(
            reqwest::Method::POST,
            &format!("/session/{s}/timeouts"),
            Some(json!({ "implicit": 10_000 })),
        )
        .await;
    driver
        .call(
            reqwest::Method::POST,
            &format!("/session/{s}/url"),
            Some(json!({ "url": link })),
        )
        .await;
    for field in ["#password", "#confirm"] {
        let element = driver.element(s, field).await;
        driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{s}/element/{element}/value"),
                Some(json!({ "text": NEW })),
            )
            .await;
    }
    let code_field = driver.element(s, "#code").await;
    let prefilled = driver
        .call(
            reqwest::Method::GET,
            &format!("/session/{s}/element/{code_field}/property/value"),
            None,
        )
        .await;
    assert_eq!(
        prefilled.as_str(),
        query_param(&link, "code").as_deref(),
        "the code is prefilled"
    );
    let submit = driver.element(s, "#submit").await;
    driver
        .call(
            reqwest::Method::POST,
            &format!("/session/{s}/element/{submit}/click"),
            Some(json!({})),
        )
        .await;
    let done = driver.element(s, "#done").await;
    let message = driver
        .call(
            reqwest::Method::GET,
            &format!("/session/{s}/element/{done}/text"),
            None,
        )
        .await;
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("Your password has been changed"),
        "{message}"
    );
    let png = driver
        .call(
            reqwest::Method::GET,
            &format!("/session/{s}/screenshot"),
            None,
        )
        .await;
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/reset-page.png");
    let bytes = base64_decode(png.as_str().unwrap());
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(&target, bytes).unwrap();
    driver
        .call(reqwest::Method::DELETE, &format!("/session/{s}"), None)
        .await;

    // Proved: the new password is now the current one.
    let own = rekey.token(&user, &[]);
    let body = json!({ "newPassword": { "password": "Zt4$wQ9!pLm2" }, "currentPassword": NEW });
    rekey.remember("Zt4$wQ9!pLm2");
    let proof = rekey
        .post(
            &format!("/v2/users/{user}/password"),
            Some(&own),
            &body.to_string(),
        )
        .await;
    assert_eq!(proof.status, 200, "{}", proof.body);
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0_u32, 0);
    for byte in text
        .bytes()
        .filter(|b| *b != b'=' && !b.is_ascii_whitespace())
    {
        let value = ALPHABET.iter().position(|c| *c == byte).expect("base64") as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}
