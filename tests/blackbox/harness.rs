//! Starting the real `rekey` binary on a free port with a fresh data dir, talking to it, and
//! checking afterwards that its logs hold no secret it handed out.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// The wire protocol of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Rest,
    Connect,
    /// Native gRPC over h2c on `server.grpc_bind`; its answers are read back into the REST
    /// shape (`grpc_call`), so one assertion checks every protocol.
    Grpc,
}

pub const ALL: [Protocol; 3] = [Protocol::Rest, Protocol::Connect, Protocol::Grpc];

impl Protocol {
    /// Whether this protocol can carry PasswordReset's `fields`: gRPC cannot say JSON-only
    /// mistakes (a field in two spellings, two members of a oneof, a wrong JSON type).
    pub fn carries_reset(self, fields: &Value) -> bool {
        self != Self::Grpc || crate::grpc_call::password_reset_request("u", fields).is_some()
    }

    /// As [`Protocol::carries_reset`], for SetPassword's `fields`.
    pub fn carries_set(self, fields: &Value) -> bool {
        self != Self::Grpc || crate::grpc_call::set_password_request("u", fields).is_some()
    }
}

/// The database a test's `rekey` runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares each black-box test once per backend: `mod sqlite` and `mod postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::harness::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::harness::Backend::Postgres).await;
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

/// What a stopped `rekey` leaves behind for a restart: its data dir and its database.
pub struct Stopped {
    dir: tempfile::TempDir,
    database: Option<rekey_test_db::TestDatabase>,
    database_url: Option<String>,
    backend: Backend,
}

/// An answer: status, headers and the JSON body (Null if none).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The gRPC code as a number, whichever shape the body has.
    pub fn code(&self) -> Option<u64> {
        match &self.body["code"] {
            Value::Number(n) => n.as_u64(),
            Value::String(name) => Some(match name.as_str() {
                "invalid_argument" => 3,
                "not_found" => 5,
                "already_exists" => 6,
                "permission_denied" => 7,
                "resource_exhausted" => 8,
                "failed_precondition" => 9,
                "unimplemented" => 12,
                "internal" => 13,
                "unavailable" => 14,
                "unauthenticated" => 16,
                other => panic!("unknown Connect code {other}"),
            }),
            _ => None,
        }
    }

    /// The ZITADEL error id at the end of the message: `… (COMMAND-SAF4f)`.
    pub fn error_id(&self) -> Option<String> {
        let message = self.body["message"].as_str()?;
        let start = message.rfind('(')?;
        Some(message[start + 1..].trim_end_matches(')').to_owned())
    }
}

pub fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("REKEY_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/blackbox-… → target/<profile>/rekey
    let exe = std::env::current_exe().expect("test binary path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("rekey");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p rekey-server), or run `cargo xtask test`",
        bin.display()
    );
    bin
}

/// A running `rekey` with its own data dir.
pub struct Rekey {
    child: Child,
    pub base: String,
    grpc_base: String,
    pub dir: tempfile::TempDir,
    pub admin_token: String,
    pub org_id: String,
    pub backend: Backend,
    database: Option<rekey_test_db::TestDatabase>,
    database_url: Option<String>,
    env: Vec<(String, String)>,
    client: reqwest::Client,
    grpc: std::sync::OnceLock<tonic::transport::Channel>,
    secrets: Mutex<BTreeSet<String>>,
}

impl Rekey {
    /// Starts `rekey` with default settings plus `extra` environment variables.
    pub async fn start(backend: Backend, extra: &[(&str, &str)]) -> Self {
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                Some(rekey_test_db::TestDatabase::create(|url| async move { migrate(&url) }).await)
            }
        };
        let stopped = Stopped {
            dir: tempfile::tempdir().expect("temp dir"),
            database_url: database.as_ref().map(|db| db.url.clone()),
            database,
            backend,
        };
        Self::restart(stopped, extra).await
    }

    /// Starts `rekey` on a PostgreSQL database the test manages itself (it migrates it).
    pub async fn start_on(database_url: &str, extra: &[(&str, &str)]) -> Self {
        let stopped = Stopped {
            dir: tempfile::tempdir().expect("temp dir"),
            database: None,
            database_url: Some(database_url.to_owned()),
            backend: Backend::Postgres,
        };
        Self::restart(stopped, extra).await
    }

    /// Starts `rekey` again on what an earlier run left (see [`Rekey::stop`]).
    pub async fn restart(stopped: Stopped, extra: &[(&str, &str)]) -> Self {
        let Stopped {
            dir,
            database,
            database_url,
            backend,
        } = stopped;
        let data = dir.path().join("data");
        let mut env = vec![
            ("REKEY__DATA_DIR".to_owned(), data.display().to_string()),
            ("REKEY__SERVER__BIND".to_owned(), "127.0.0.1:0".to_owned()),
            (
                "REKEY__SERVER__GRPC_BIND".to_owned(),
                "127.0.0.1:0".to_owned(),
            ),
            ("REKEY__SERVER__WORKERS".to_owned(), "2".to_owned()),
            ("REKEY__LOG__FORMAT".to_owned(), "json".to_owned()),
            ("REKEY__LOG__LEVEL".to_owned(), "debug".to_owned()),
            // Budgets are off unless a test turns them on (tests/blackbox/limits.rs does).
            ("REKEY__LIMITS__ENABLED".to_owned(), "false".to_owned()),
        ];
        if let Some(url) = &database_url {
            env.push(("REKEY__DATABASE__URL".to_owned(), url.clone()));
        }
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let log_offset = std::fs::metadata(dir.path().join("rekey.log")).map_or(0, |m| m.len());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("rekey.log"))
            .expect("log file");
        let child = Command::new(binary())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start rekey");
        let mut rekey = Self {
            child,
            base: String::new(),
            grpc_base: String::new(),
            admin_token: String::new(),
            org_id: String::new(),
            dir,
            backend,
            database,
            database_url,
            env,
            client: reqwest::Client::new(),
            grpc: std::sync::OnceLock::new(),
            secrets: Mutex::new(BTreeSet::new()),
        };
        let addr = rekey.wait_for_listening(log_offset, "listening");
        rekey.base = format!("http://{addr}");
        let grpc_addr = rekey.wait_for_listening(log_offset, "grpc listening");
        rekey.grpc_base = format!("http://{grpc_addr}");
        // An instance joining a database another one bootstrapped has neither.
        let token = std::fs::read_to_string(data.join("admin.pat")).unwrap_or_default();
        rekey.admin_token = token.trim().to_owned();
        if !rekey.admin_token.is_empty() {
            rekey.remember(&rekey.admin_token.clone());
        }
        rekey.org_id = rekey.log_field("first start", "org.id").unwrap_or_default();
        rekey
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("rekey.log")
    }

    /// The JSON log lines so far.
    pub fn log_lines(&self) -> Vec<Value> {
        let file = std::fs::File::open(self.log_path()).expect("log");
        BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| serde_json::from_str(&line).ok())
            .collect()
    }

    fn log_field(&self, message_prefix: &str, field: &str) -> Option<String> {
        self.log_lines().into_iter().find_map(|line| {
            line["message"]
                .as_str()
                .filter(|m| m.starts_with(message_prefix))
                .and_then(|_| line[field].as_str().map(str::to_owned))
        })
    }

    /// The gRPC listener's base URL (`http://127.0.0.1:41234`): native gRPC over h2c and
    /// gRPC-Web over HTTP/1.1.
    pub fn grpc_base(&self) -> &str {
        &self.grpc_base
    }

    /// One h2c channel to the gRPC listener, shared by the calls (it connects on first use).
    pub fn grpc_channel(&self) -> tonic::transport::Channel {
        self.grpc
            .get_or_init(|| {
                tonic::transport::Channel::from_shared(self.grpc_base.clone())
                    .expect("the gRPC base URL")
                    .connect_lazy()
            })
            .clone()
    }

    /// The address in the first line with `message` written after byte `offset` of the log.
    fn wait_for_listening(&mut self, offset: u64, message: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = std::fs::read(self.log_path()).unwrap_or_default();
            let fresh = log
                .get(usize::try_from(offset).unwrap_or(0)..)
                .unwrap_or_default();
            let addr = String::from_utf8_lossy(fresh).lines().find_map(|line| {
                let line: Value = serde_json::from_str(line).ok()?;
                (line["message"] == message).then(|| line["addr"].as_str().map(str::to_owned))?
            });
            if let Some(addr) = addr {
                return addr;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                panic!("rekey exited with {status} before listening:\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "rekey did not log {message:?} within 30 s"
            );
            std::thread::park_timeout(Duration::from_millis(20));
        }
    }

    /// Records a secret that must never appear in the logs.
    pub fn remember(&self, secret: &str) {
        if !secret.is_empty() {
            self.secrets.lock().expect("lock").insert(secret.to_owned());
        }
    }

    /// `rekey admin args…` as it ended, whether it succeeded or not.
    pub fn admin_output(&self, args: &[&str]) -> std::process::Output {
        Command::new(binary())
            .arg("admin")
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run rekey admin")
    }

    /// Runs `rekey admin …` against the same data dir; returns its stdout, trimmed. It must
    /// succeed and write nothing to stderr.
    pub fn admin(&self, args: &[&str]) -> String {
        let output = self.admin_output(args);
        assert!(
            output.status.success(),
            "rekey admin {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // A succeeding admin command prints its result and nothing else, not even the start-up
        // warnings of the server it shares a configuration with.
        assert!(
            output.stderr.is_empty(),
            "rekey admin {args:?} wrote to stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    /// Issues a token for `user` with `roles`, through the admin CLI.
    pub fn token(&self, user: &str, roles: &[&str]) -> String {
        let mut args = vec!["token", "create", "--user", user];
        for role in roles {
            args.extend(["--role", role]);
        }
        let token = self.admin(&args);
        self.remember(&token);
        token
    }

    /// A machine user `username` of `org` and a token of it holding `roles` (through the
    /// admin CLI); returns its id and the token.
    pub fn machine_with_token(
        &self,
        org: &str,
        username: &str,
        roles: &[&str],
    ) -> (String, String) {
        let id = self.admin(&["user", "add-machine", "--org", org, "--username", username]);
        let token = self.token(&id, roles);
        (id, token)
    }

    /// Adds a human user to `org` through the API (as admin); returns its id.
    pub async fn add_user(&self, org: &str, username: &str, phone: Option<&str>) -> String {
        let mut body = serde_json::json!({
            "username": username,
            "organization": { "orgId": org },
            "profile": { "givenName": "Ada", "familyName": "Lovelace" },
            "email": { "email": format!("{username}@example.com") },
        });
        if let Some(phone) = phone {
            body["phone"] = serde_json::json!({ "phone": phone });
        }
        let answer = self
            .post(
                "/v2/users/human",
                Some(&self.admin_token),
                &body.to_string(),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["userId"].as_str().expect("userId").to_owned()
    }

    /// A raw POST with an optional bearer token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &str) -> Answer {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// A GET with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    /// A request of any method with an optional bearer token and JSON body. Codes and session
    /// tokens in the answer are remembered as secrets the logs must not show.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        for secret in [&body["verificationCode"], &body["sessionToken"]] {
            if let Some(secret) = secret.as_str() {
                self.remember(secret);
            }
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    /// PasswordReset for `user_id` on `protocol`, with `fields` as the rest of the message.
    pub async fn password_reset(
        &self,
        protocol: Protocol,
        token: Option<&str>,
        user_id: &str,
        fields: Value,
    ) -> Answer {
        if protocol != Protocol::Grpc {
            return self
                .post_user_rpc(
                    protocol,
                    "password_reset",
                    "PasswordReset",
                    token,
                    user_id,
                    fields,
                )
                .await;
        }
        let message = crate::grpc_call::password_reset_request(user_id, &fields)
            .unwrap_or_else(|| panic!("{fields} has no protobuf form: see carries_reset"));
        let answer = crate::grpc_call::password_reset(self.grpc_channel(), token, message).await;
        if let Some(code) = answer.body["verificationCode"].as_str() {
            self.remember(code);
        }
        answer
    }

    /// A user's RPC over REST (`POST /v2/users/{userId}/<rest>`) or Connect
    /// (`zitadel.user.v2.UserService/<method>`, `userId` in the body).
    async fn post_user_rpc(
        &self,
        protocol: Protocol,
        rest: &str,
        method: &str,
        token: Option<&str>,
        user_id: &str,
        mut fields: Value,
    ) -> Answer {
        if protocol == Protocol::Rest {
            let path = format!("/v2/users/{}/{rest}", urlencode(user_id));
            return self.post(&path, token, &fields.to_string()).await;
        }
        assert_eq!(protocol, Protocol::Connect, "HTTP carries REST and Connect");
        fields["userId"] = Value::from(user_id);
        let path = format!("/zitadel.user.v2.UserService/{method}");
        self.post(&path, token, &fields.to_string()).await
    }

    /// SetPassword on `protocol`; the new password is remembered as a secret the logs must
    /// not show.
    pub async fn set_password(
        &self,
        protocol: Protocol,
        token: Option<&str>,
        user_id: &str,
        fields: Value,
    ) -> Answer {
        if let Some(password) = fields["newPassword"]["password"].as_str() {
            self.remember(password);
        }
        if protocol != Protocol::Grpc {
            return self
                .post_user_rpc(protocol, "password", "SetPassword", token, user_id, fields)
                .await;
        }
        let message = crate::grpc_call::set_password_request(user_id, &fields)
            .unwrap_or_else(|| panic!("{fields} has no protobuf form: see carries_set"));
        crate::grpc_call::set_password(self.grpc_channel(), token, message).await
    }

    /// A life-cycle RPC on `protocol`: `deactivate`, `reactivate`, `lock`, `unlock` (REST:
    /// `POST /v2/users/{id}/{action}`) or `delete` (REST: `DELETE /v2/users/{id}`).
    pub async fn lifecycle(
        &self,
        protocol: Protocol,
        token: Option<&str>,
        user_id: &str,
        action: &str,
    ) -> Answer {
        let method = match action {
            "deactivate" => "DeactivateUser",
            "reactivate" => "ReactivateUser",
            "lock" => "LockUser",
            "unlock" => "UnlockUser",
            "delete" => "DeleteUser",
            other => panic!("no life-cycle RPC {other}"),
        };
        match protocol {
            Protocol::Grpc => {
                crate::grpc_call::lifecycle(self.grpc_channel(), token, user_id, action).await
            }
            Protocol::Rest if action == "delete" => {
                let path = format!("/v2/users/{}", urlencode(user_id));
                self.send(reqwest::Method::DELETE, &path, token, None).await
            }
            _ => {
                self.post_user_rpc(
                    protocol,
                    action,
                    method,
                    token,
                    user_id,
                    serde_json::json!({}),
                )
                .await
            }
        }
    }

    /// A personal-access-token RPC on `protocol`: `add` (REST: `POST /v2/users/{userId}/pats`),
    /// `remove` (`DELETE /v2/users/{userId}/pats/{tokenId}`) or `list` (`POST
    /// /v2/users/pats/search`), with its fields (`userId`, `tokenId` among them).
    pub async fn personal_access_token(
        &self,
        protocol: Protocol,
        token: Option<&str>,
        action: &str,
        fields: Value,
    ) -> Answer {
        let method = match action {
            "add" => "AddPersonalAccessToken",
            "remove" => "RemovePersonalAccessToken",
            "list" => "ListPersonalAccessTokens",
            other => panic!("no personal-access-token RPC {other}"),
        };
        let id = |name: &str| urlencode(fields[name].as_str().unwrap_or_default());
        match protocol {
            Protocol::Grpc => {
                crate::grpc_call::personal_access_token(self.grpc_channel(), token, action, &fields)
                    .await
            }
            Protocol::Connect => {
                let path = format!("/zitadel.user.v2.UserService/{method}");
                self.post(&path, token, &fields.to_string()).await
            }
            Protocol::Rest => match action {
                "add" => {
                    let path = format!("/v2/users/{}/pats", id("userId"));
                    self.post(&path, token, &fields.to_string()).await
                }
                "remove" => {
                    let path = format!("/v2/users/{}/pats/{}", id("userId"), id("tokenId"));
                    self.send(reqwest::Method::DELETE, &path, token, None).await
                }
                _ => {
                    self.post("/v2/users/pats/search", token, &fields.to_string())
                        .await
                }
            },
        }
    }

    /// A fresh reset code for `user`, returned to the admin (`returnCode`).
    pub async fn returned_code(&self, user: &str) -> String {
        let fields = serde_json::json!({ "returnCode": {} });
        let answer = self
            .password_reset(Protocol::Rest, Some(&self.admin_token), user, fields)
            .await;
        answer.body["verificationCode"]
            .as_str()
            .expect("a code")
            .to_owned()
    }

    /// `/debug/metrics` as text (served on `server.bind` unless `metrics_bind` is set).
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/debug/metrics", self.base))
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics text")
    }

    /// The PostgreSQL database's URL, when the backend is PostgreSQL.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    fn sqlite(&self) -> SqliteConnection {
        let path = self.dir.path().join("data").join("rekey.db");
        SqliteConnection::establish(&path.display().to_string()).expect("open database")
    }

    /// `SELECT COUNT(*) FROM table [WHERE …]`, on whichever database this `rekey` uses.
    pub async fn count(&self, table_and_filter: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let query = format!("SELECT COUNT(*) AS n FROM {table_and_filter}");
        match &self.database_url {
            None => {
                diesel::sql_query(query)
                    .get_result::<Count>(&mut self.sqlite())
                    .expect("count")
                    .n
            }
            Some(url) => {
                let client = rekey_test_db::connect(url).await;
                client.query_one(&query, &[]).await.expect("count").get(0)
            }
        }
    }

    /// Posts the reset page's form (with a matching CSRF cookie) setting `password`, optionally
    /// as the client `forwarded_for` behind a proxy; the response and how long it took.
    pub async fn post_reset_page(
        &self,
        user: &str,
        code: &str,
        password: &str,
        forwarded_for: Option<&str>,
    ) -> (reqwest::Response, Duration) {
        let fields = [
            ("csrf", "tok"),
            ("userId", user),
            ("organization", self.org_id.as_str()),
            ("lang", "en"),
            ("code", code),
            ("password", password),
            ("confirm", password),
        ];
        let mut request = reqwest::Client::new()
            .post(format!("{}/ui/v2/login/password/set", self.base))
            .header("cookie", "rekey_csrf=tok")
            .timeout(Duration::from_secs(30))
            .form(&fields);
        if let Some(forwarded) = forwarded_for {
            request = request.header("x-forwarded-for", forwarded);
        }
        let started = Instant::now();
        let response = request.send().await.expect("the reset page answers");
        (response, started.elapsed())
    }

    /// Runs one SQL statement (as an attacker with write access to the database would), on
    /// whichever database this `rekey` uses; the number of rows it touched.
    pub async fn execute(&self, statement: &str) -> u64 {
        match &self.database_url {
            None => diesel::sql_query(statement)
                .execute(&mut self.sqlite())
                .expect("execute") as u64,
            Some(url) => {
                let client = rekey_test_db::connect(url).await;
                client.execute(statement, &[]).await.expect("execute")
            }
        }
    }

    /// Everything the database holds, as bytes: for SQLite the files (database and WAL), for
    /// PostgreSQL every row of every table as text (bytea in hex).
    pub async fn database_dump(&self) -> Vec<u8> {
        match &self.database_url {
            None => {
                let data = self.dir.path().join("data");
                ["rekey.db", "rekey.db-wal"]
                    .iter()
                    .filter_map(|name| std::fs::read(data.join(name)).ok())
                    .flatten()
                    .collect()
            }
            Some(url) => {
                let client = rekey_test_db::connect(url).await;
                let mut dump = Vec::new();
                for table in [
                    "organizations",
                    "users",
                    "events",
                    "password_codes",
                    "tokens",
                    "outbox",
                    "sessions",
                    "event_deliveries",
                ] {
                    let rows = client
                        .query(&format!("SELECT t::text FROM {table} t"), &[])
                        .await
                        .expect("dump");
                    for row in rows {
                        dump.extend_from_slice(row.get::<_, String>(0).as_bytes());
                        dump.push(b'\n');
                    }
                }
                dump
            }
        }
    }

    /// Stops the server and checks that no remembered secret is in its logs.
    pub fn assert_logs_clean(&self) {
        let log = std::fs::read_to_string(self.log_path()).expect("log");
        assert!(log.contains("\"listening\""), "the log was captured");
        let secrets = self.secrets.lock().expect("lock");
        if let Some(found) = leaked_secret(&log, secrets.iter()) {
            // Which line, with the secret itself masked.
            let start = log[..found.start].rfind('\n').map_or(0, |i| i + 1);
            let end = log[found.end..]
                .find('\n')
                .map_or(log.len(), |i| found.end + i);
            panic!(
                "a secret appeared in the logs, at byte {}: {}***{}",
                found.start,
                &log[start..found.start],
                &log[found.end..end]
            );
        }
    }
}

impl Stopped {
    /// The data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Rekey {
    /// Sends SIGTERM and waits for the process to exit; returns its exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "rekey did not stop within 15 s of SIGTERM"
            );
            std::thread::park_timeout(Duration::from_millis(20));
        }
    }

    /// Kills the server with SIGKILL (no graceful anything) and hands back what it left.
    pub fn kill_hard(mut self) -> Stopped {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
        self.assert_logs_clean();
        let placeholder = tempfile::tempdir().expect("temp dir");
        Stopped {
            dir: std::mem::replace(&mut self.dir, placeholder),
            database: self.database.take(),
            database_url: self.database_url.take(),
            backend: self.backend,
        }
    }

    /// Lines of the log whose message is `message`.
    pub fn log_count(&self, message: &str) -> usize {
        self.log_lines()
            .iter()
            .filter(|l| l["message"] == message)
            .count()
    }

    /// Stops the server gracefully and hands back its data dir and database, for a restart.
    pub fn stop(mut self) -> Stopped {
        assert_eq!(self.terminate(), Some(0), "a graceful stop exits 0");
        self.assert_logs_clean();
        let placeholder = tempfile::tempdir().expect("temp dir");
        Stopped {
            dir: std::mem::replace(&mut self.dir, placeholder),
            database: self.database.take(),
            database_url: self.database_url.take(),
            backend: self.backend,
        }
    }
}

impl Drop for Rekey {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() && self.log_path().exists() {
            self.assert_logs_clean();
        }
    }
}

/// Percent-encodes a path segment.
pub fn urlencode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Whether `haystack` contains `needle`, as it is or hex-encoded (as PostgreSQL shows bytea).
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let hex: String = needle.iter().map(|b| format!("{b:02x}")).collect();
    let found = |needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    found(needle) || found(hex.as_bytes())
}

/// Runs `rekey migrate` on `url`.
fn migrate(url: &str) -> Result<(), String> {
    let output = Command::new(binary())
        .arg("migrate")
        .env("REKEY__DATABASE__URL", url)
        .env("REKEY__LOG__LEVEL", "warn")
        .output()
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Where the first of `secrets` stands in `log` as a token of its own, if anywhere. One pass
/// for all of them: a test under load remembers thousands of codes, and a pass per code over
/// a log of megabytes took minutes. Only a match that stands apart counts: a six-character
/// code also occurs by chance inside the log's own numbers and ids (one code in about 2 000 is
/// all digits, and every line has a timestamp's and a latency's fraction digits), while a
/// leaked code would stand apart: in quotes, after `=` or a space.
pub fn leaked_secret<'a>(
    log: &str,
    secrets: impl IntoIterator<Item = &'a String>,
) -> Option<std::ops::Range<usize>> {
    let finder = aho_corasick::AhoCorasick::new(secrets).expect("the secrets");
    let bytes = log.as_bytes();
    let part_of_a_word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'.';
    finder
        .find_overlapping_iter(log)
        .find(|found| {
            let before = found.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(found.end()).copied();
            !before.is_some_and(part_of_a_word) && !after.is_some_and(|b| b.is_ascii_alphanumeric())
        })
        .map(|found| found.range())
}

#[test]
fn secrets_count_in_the_logs_only_as_tokens_of_their_own() {
    let secrets = ["482910".to_owned(), "K7QZ2M".to_owned()];
    let quiet =
        r#"{"timestamp":"2026-12-01T02:50:13.482910Z","latency_ms":1.482910,"id":"AK7QZ2MB"}"#;
    assert_eq!(leaked_secret(quiet, &secrets), None);
    for leak in [
        r#"{"code":"482910"}"#,
        r#"{"message":"code K7QZ2M rejected"}"#,
        "https://example.com/reset?code=K7QZ2M&user=1",
    ] {
        assert!(leaked_secret(leak, &secrets).is_some(), "{leak}");
    }
}
