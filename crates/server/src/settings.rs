//! Typed configuration: `config/default.toml` compiled in, then `--config FILE`, then
//! `REKEY__SECTION__KEY` environment variables. Built once here; each adapter gets its own part.

use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use serde::{Deserialize, Deserializer};

/// The compiled-in defaults (and the documentation of every key).
pub const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// A secret string from the configuration: `Debug` never shows it.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(<empty>)"
        } else {
            "Secret(<redacted>)"
        })
    }
}

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(&text)
        .map_err(|e| serde::de::Error::custom(format!("invalid duration {text:?}: {e}")))
}

/// A list from a TOML array, or from one comma-separated string (how an environment variable
/// spells it: `REKEY__LIMITS__SMS__COUNTRIES=41,49`; empty = no entries).
fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Item {
        Number(i64),
        Text(String),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Items {
        One(String),
        Many(Vec<Item>),
    }
    let items: Vec<String> = match Items::deserialize(deserializer)? {
        Items::One(text) => text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
        Items::Many(items) => items
            .into_iter()
            .map(|item| match item {
                Item::Number(n) => n.to_string(),
                Item::Text(text) => text,
            })
            .collect(),
    };
    items
        .iter()
        .map(|item| {
            item.trim()
                .parse()
                .map_err(|e| serde::de::Error::custom(format!("{item:?}: {e}")))
        })
        .collect()
}

/// Everything rekey reads from its configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Folder for the SQLite database, the generated key and the admin token.
    pub data_dir: PathBuf,
    /// Public base URL.
    pub public_url: String,
    /// `[server]`.
    pub server: ServerSettings,
    /// `[database]`.
    pub database: DatabaseSection,
    /// `[bootstrap]`.
    pub bootstrap: BootstrapSettings,
    /// `[tokens]`.
    pub tokens: TokenSettings,
    /// `[code]`.
    pub code: CodeSettings,
    /// `[password]`.
    pub password: PasswordSettings,
    /// `[secrets]`.
    pub secrets: SecretSettings,
    /// `[log]`.
    pub log: LogSettings,
    /// `[email]`.
    pub email: EmailSettings,
    /// `[sms]`.
    pub sms: SmsSettings,
    /// `[delivery]`.
    pub delivery: DeliverySettings,
    /// `[messages]`.
    pub messages: MessageSettings,
    /// `[limits]`.
    pub limits: LimitSettings,
    /// `[lockout]`.
    pub lockout: LockoutSettings,
    /// `[instance]`.
    pub instance: InstanceSettings,
    /// `[events]`.
    pub events: EventSettings,
    /// `[otel]`.
    pub otel: OtelSettings,
}

/// `[otel]`: traces, exported over OTLP/HTTP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtelSettings {
    /// The collector's traces URL, e.g. `http://127.0.0.1:4318/v1/traces`; empty = off.
    pub endpoint: String,
    /// Timeout of one export.
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
}

/// `[events]`: where events go (Actions v2 style).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSettings {
    /// Timeout of one POST.
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
    /// `[[events.targets]]`.
    #[serde(default)]
    pub targets: Vec<EventTargetSection>,
}

/// One `[[events.targets]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTargetSection {
    /// Endpoint (http or https).
    pub url: String,
    /// HMAC-SHA-256 key for `ZITADEL-Signature`.
    pub signing_key: Secret,
    /// The event types it takes: `user.human.password.changed`, a group
    /// `user.human.password.*`, or `*`.
    pub events: Vec<String>,
}

/// `[lockout]`: ZITADEL's lockout policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutSettings {
    /// Wrong passwords in a row that lock a user; 0 = never.
    pub max_password_attempts: u32,
}

/// `[instance]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceSettings {
    /// The instance's id (sessions' resource owner).
    pub id: String,
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Master switch.
    pub enabled: bool,
    /// Reset messages per user.
    #[serde(deserialize_with = "list")]
    pub user_messages: Vec<BudgetText>,
    /// Reset messages per address.
    #[serde(deserialize_with = "list")]
    pub recipient_messages: Vec<BudgetText>,
    /// PasswordReset requests per caller without IAM_LOGIN_CLIENT.
    #[serde(deserialize_with = "list")]
    pub caller_resets: Vec<BudgetText>,
    /// PasswordReset requests per caller holding IAM_LOGIN_CLIENT.
    #[serde(deserialize_with = "list")]
    pub login_client_resets: Vec<BudgetText>,
    /// Reset page submissions per client IP.
    #[serde(deserialize_with = "list")]
    pub client_ip: Vec<BudgetText>,
    /// Wrong codes per user, across codes.
    #[serde(deserialize_with = "list")]
    pub wrong_codes: Vec<BudgetText>,
    /// Wrong current passwords per user, and per caller; sessions' per user and client.
    #[serde(deserialize_with = "list")]
    pub wrong_passwords: Vec<BudgetText>,
    /// Wrong session passwords per client, across users.
    #[serde(deserialize_with = "list")]
    pub client_wrong_passwords: Vec<BudgetText>,
    /// Reset page submissions of one code from one client IP.
    #[serde(deserialize_with = "list")]
    pub page_code: Vec<BudgetText>,
    /// Wrong codes on the reset page per client IP, across codes.
    #[serde(deserialize_with = "list")]
    pub page_wrong_codes: Vec<BudgetText>,
    /// Proxies whose `X-Forwarded-For` is believed: addresses or networks.
    #[serde(deserialize_with = "list")]
    pub trusted_proxies: Vec<String>,
    /// The least time the reset page takes to answer a submission.
    #[serde(deserialize_with = "duration")]
    pub page_min_response: Duration,
    /// `[limits.sms]`.
    pub sms: SmsLimitSettings,
}

/// `[limits.sms]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsLimitSettings {
    /// Country calling codes SMS may go to; empty = all.
    #[serde(deserialize_with = "list")]
    pub countries: Vec<u16>,
    /// SMS per country calling code.
    #[serde(deserialize_with = "list")]
    pub per_country: Vec<BudgetText>,
    /// SMS in all.
    #[serde(deserialize_with = "list")]
    pub total: Vec<BudgetText>,
}

/// A budget written `"3 per 10m"`: at most 3 at once, refilled evenly over 10 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetText {
    /// How many.
    pub limit: u32,
    /// Over how long.
    pub window: Duration,
}

impl std::str::FromStr for BudgetText {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("invalid budget {text:?}: write it like \"3 per 10m\"");
        let (limit, window) = text.trim().split_once(" per ").ok_or_else(bad)?;
        let limit: u32 = limit.trim().parse().map_err(|_| bad())?;
        let window = humantime::parse_duration(window.trim()).map_err(|_| bad())?;
        if limit == 0 || window.is_zero() {
            return Err(format!(
                "invalid budget {text:?}: both parts must be positive"
            ));
        }
        Ok(Self { limit, window })
    }
}

impl<'de> Deserialize<'de> for BudgetText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// `[email]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// `file`, `smtp` or `webhook`.
    pub transport: EmailTransportKind,
    /// The From mailbox.
    pub from: String,
    /// Reply-To mailbox; empty = none.
    pub reply_to: String,
    /// Folder of the file transport.
    pub file_dir: PathBuf,
    /// `[email.smtp]`.
    pub smtp: SmtpSection,
    /// `[email.webhook]`.
    pub webhook: WebhookSection,
}

/// Email transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailTransportKind {
    /// `.eml` files.
    File,
    /// An SMTP relay.
    Smtp,
    /// An HTTP endpoint.
    Webhook,
}

/// `[email.smtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSection {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub tls: SmtpTlsKind,
    /// User name; empty = no authentication.
    pub username: String,
    /// Password.
    pub password: Secret,
    /// Connect and command timeout.
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
}

/// SMTP transport security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTlsKind {
    /// Plain text (local relays only).
    None,
    /// STARTTLS (required).
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// `[*.webhook]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// Endpoint.
    pub url: String,
    /// HMAC-SHA-256 key for the signature header.
    pub signing_key: Secret,
    /// Request timeout.
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
}

/// `[sms]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// `file`, `twilio` or `webhook`.
    pub transport: SmsTransportKind,
    /// File of the file transport (JSON lines).
    pub file_path: PathBuf,
    /// `[sms.twilio]`.
    pub twilio: TwilioSection,
    /// `[sms.webhook]`.
    pub webhook: WebhookSection,
}

/// SMS transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsTransportKind {
    /// A JSON-lines file.
    File,
    /// Twilio's (or a compatible) REST API.
    Twilio,
    /// An HTTP endpoint.
    Webhook,
}

/// `[sms.twilio]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioSection {
    /// API base URL.
    pub base_url: String,
    /// Account SID.
    pub account_sid: String,
    /// Auth token.
    pub auth_token: Secret,
    /// Sender number; empty = use messaging_service_sid.
    pub from: String,
    /// Messaging service; used when `from` is empty.
    pub messaging_service_sid: String,
    /// Request timeout.
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
}

/// `[delivery]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    /// Run the worker in this process.
    pub enabled: bool,
    /// Attempts before a message is dead.
    pub max_attempts: i32,
    /// First backoff.
    #[serde(deserialize_with = "duration")]
    pub backoff_base: Duration,
    /// Largest backoff.
    #[serde(deserialize_with = "duration")]
    pub backoff_max: Duration,
    /// Messages per batch.
    pub batch_size: u32,
    /// How often to look for work queued elsewhere.
    #[serde(deserialize_with = "duration")]
    pub poll_interval: Duration,
    /// How long a claimed message stays hidden from other workers.
    #[serde(deserialize_with = "duration")]
    pub lease: Duration,
    /// How long sent, skipped and dead messages, and expired codes, are kept.
    #[serde(deserialize_with = "duration")]
    pub retention: Duration,
}

/// `[messages]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSettings {
    /// Folder with template overrides; empty = the built-in templates.
    pub template_dir: PathBuf,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen address.
    pub bind: String,
    /// Worker threads; 0 = CPUs.
    pub workers: usize,
    /// Largest request body in bytes.
    pub body_limit: usize,
    /// Graceful shutdown window.
    #[serde(deserialize_with = "duration")]
    pub shutdown_timeout: Duration,
    /// Node number in ids; -1 = random.
    pub node_id: i32,
    /// How long a client may take to send the request head.
    #[serde(deserialize_with = "duration")]
    pub header_timeout: Duration,
    /// How long a client may take to send the request body.
    #[serde(deserialize_with = "duration")]
    pub body_timeout: Duration,
    /// How long an idle keep-alive connection stays open.
    #[serde(deserialize_with = "duration")]
    pub keep_alive: Duration,
    /// Open connections at once, per worker thread.
    pub max_connections: usize,
    /// A separate listen address for `/debug/metrics`; empty = the main one.
    pub metrics_bind: String,
    /// Listen address of native gRPC (h2c) and gRPC-Web.
    pub grpc_bind: String,
    /// Browser origins allowed to call gRPC-Web across origins; empty = no CORS headers.
    #[serde(deserialize_with = "list")]
    pub grpc_web_origins: Vec<String>,
}

impl ServerSettings {
    /// `grpc_bind` is `host:port` and differs from `bind`; each of `grpc_web_origins` is a bare
    /// `http(s)://host[:port]` (what a browser sends as `Origin`).
    fn validate(&self) -> Result<(), String> {
        let grpc = self.grpc_bind.trim();
        let port = grpc
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse::<u16>()));
        if !matches!(port, Some((host, Ok(_))) if !host.is_empty()) {
            return Err(format!(
                "server.grpc_bind {:?} must be host:port (port 0 = any free port)",
                self.grpc_bind
            ));
        }
        if grpc == self.bind.trim() && !grpc.ends_with(":0") {
            return Err(format!(
                "server.grpc_bind {grpc:?} is the same address as server.bind"
            ));
        }
        for origin in &self.grpc_web_origins {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let valid = rest.is_some_and(|rest| {
                !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
            });
            if !valid {
                return Err(format!(
                    "server.grpc_web_origins: {origin:?} must be an origin like https://app.example.com (no path, no trailing slash)"
                ));
            }
        }
        Ok(())
    }
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// `sqlite://…` or `postgres://…`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// Wait for a connection at most this long.
    #[serde(deserialize_with = "duration")]
    pub connect_timeout: Duration,
    /// Migrate at start.
    pub migrate_on_start: bool,
    /// PEM file of the CA(s) for PostgreSQL TLS; empty = the Mozilla roots.
    pub tls_ca_file: PathBuf,
}

/// `[bootstrap]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapSettings {
    /// First organization's name.
    pub org_name: String,
    /// Admin machine user's username.
    pub admin_username: String,
    /// Where the admin token is written.
    pub admin_pat_path: PathBuf,
}

/// `[tokens]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// How long a looked-up token's principal is remembered; zero: not at all.
    #[serde(deserialize_with = "duration")]
    pub cache_ttl: Duration,
}

/// `[code]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeSettings {
    /// Characters per code.
    pub length: usize,
    /// Characters to draw from.
    pub alphabet: String,
    /// Lifetime.
    #[serde(deserialize_with = "duration")]
    pub expiry: Duration,
    /// Wrong attempts a code allows before it is invalidated.
    pub max_attempts: i32,
}

/// `[password]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSettings {
    /// argon2 memory in KiB.
    pub argon2_memory_kib: u32,
    /// argon2 iterations.
    pub argon2_iterations: u32,
    /// argon2 lanes.
    pub argon2_parallelism: u32,
    /// Hashing threads (hashes at once); 0 = CPUs.
    pub hash_threads: usize,
    /// Hashes that may wait for a thread; beyond them SetPassword answers 503.
    pub hash_queue: usize,
    /// Lowest accepted zxcvbn score (0..=4) of a new password.
    pub min_strength: u8,
    /// Email the user after every successful SetPassword.
    pub notify_on_change: bool,
}

/// `[secrets]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSettings {
    /// The master key, base64; empty = generated file. Ignored when `keys` is set.
    pub key: Secret,
    /// The keys in use, newest first: the first signs and seals, all verify and open.
    pub keys: Vec<KeyEntry>,
}

/// One entry of `secrets.keys`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// The key's id, stored beside every hash and sealed payload; absent = derived from the key.
    #[serde(default)]
    pub id: Option<String>,
    /// 32 bytes, base64.
    pub key: Secret,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` or `json`.
    pub format: LogFormat,
    /// Filter directives.
    pub level: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Pretty,
    /// One JSON object per line.
    Json,
}

impl Settings {
    /// Loads the layers: defaults, then `file` if given, then the environment.
    ///
    /// # Errors
    /// A message naming the key that is missing, unknown or malformed.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(file) = file {
            builder = builder.add_source(File::from(file).required(true));
        }
        let config = builder
            .add_source(
                Environment::with_prefix("REKEY")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(false),
            )
            .build()
            .map_err(|e| format!("configuration: {e}"))?;
        let mut settings: Self = config
            .try_deserialize()
            .map_err(|e| format!("configuration: {e}"))?;
        settings.expand_data_dir();
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what the types cannot.
    fn validate(&self) -> Result<(), String> {
        let url = self.public_url.trim_end_matches('/');
        let valid = (url.starts_with("http://") || url.starts_with("https://"))
            && url.len() > "https://".len()
            && !url.contains(char::is_whitespace);
        if !valid {
            return Err(format!(
                "public_url {:?} must be an http:// or https:// URL",
                self.public_url
            ));
        }
        self.server.validate()
    }

    /// Replaces `{data_dir}` in paths and URLs.
    fn expand_data_dir(&mut self) {
        let dir = self.data_dir.display().to_string();
        self.database.url = self.database.url.replace("{data_dir}", &dir);
        let expand =
            |path: &PathBuf| PathBuf::from(path.display().to_string().replace("{data_dir}", &dir));
        self.bootstrap.admin_pat_path = expand(&self.bootstrap.admin_pat_path);
        self.email.file_dir = expand(&self.email.file_dir);
        self.sms.file_path = expand(&self.sms.file_path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_expand() {
        let settings = Settings::load(None).expect("defaults are valid");
        assert_eq!(settings.code.length, 6);
        assert_eq!(settings.code.expiry, Duration::from_secs(3600));
        assert_eq!(
            settings.delivery.retention,
            Duration::from_secs(7 * 24 * 3600),
            "\"7d\" is a week"
        );
        assert_eq!(settings.log.format, LogFormat::Pretty);
        assert!(settings.database.url.starts_with("sqlite://"));
        assert!(!settings.database.url.contains("{data_dir}"));
        assert!(settings.secrets.key.expose().is_empty());
        assert!(settings.limits.enabled);
        assert_eq!(
            settings.limits.user_messages,
            [
                "3 per 10m".parse::<BudgetText>().expect("budget"),
                "10 per 24h".parse().expect("budget")
            ]
        );
        assert!(settings.limits.sms.countries.is_empty());
        assert_eq!(
            settings.limits.wrong_passwords,
            [
                "5 per 10m".parse::<BudgetText>().expect("budget"),
                "20 per 24h".parse().expect("budget")
            ]
        );
        assert_eq!(
            (
                settings.limits.page_code.as_slice(),
                settings.limits.page_wrong_codes.as_slice()
            ),
            (
                ["2 per 24h".parse::<BudgetText>().expect("budget")].as_slice(),
                ["10 per 24h".parse::<BudgetText>().expect("budget")].as_slice()
            )
        );
        assert_eq!(format!("{:?}", Secret("x".into())), "Secret(<redacted>)");
        assert_eq!(settings.public_url, "http://localhost:8080");
    }

    #[test]
    fn environment_values_stay_text_unless_a_number_is_wanted() {
        // Values that look like numbers must reach string settings verbatim: a phone number's
        // `+` or a password's leading zero would otherwise be lost.
        let layered = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::from_str(
                "[sms.twilio]\nfrom = \"+15005550006\"\n[server]\nworkers = \"3\"\n[delivery]\nenabled = \"false\"\n",
                FileFormat::Toml,
            ))
            .build()
            .expect("layers");
        let settings: Settings = layered
            .try_deserialize()
            .expect("strings convert where needed");
        assert_eq!(settings.sms.twilio.from, "+15005550006");
        assert_eq!(settings.server.workers, 3);
        assert!(!settings.delivery.enabled);
    }

    #[test]
    fn limit_lists_come_as_arrays_or_comma_separated_text() {
        let layered = |toml: &str| {
            Config::builder()
                .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
                .add_source(File::from_str(toml, FileFormat::Toml))
                .build()
                .expect("layers")
                .try_deserialize::<Settings>()
        };
        let text = layered(
            "[limits]\ncaller_resets = \"100 per 1m, 1000 per 1h\"\nclient_ip = \"\"\n[limits.sms]\ncountries = \"41,49\"\n",
        )
        .expect("text lists");
        assert_eq!(text.limits.caller_resets.len(), 2);
        assert_eq!(
            text.limits.caller_resets[1].window,
            Duration::from_secs(3600)
        );
        assert!(text.limits.client_ip.is_empty(), "empty text: no budget");
        assert_eq!(text.limits.sms.countries, [41, 49]);
        let arrays = layered("[limits.sms]\ncountries = [1, 44]\n").expect("arrays");
        assert_eq!(arrays.limits.sms.countries, [1, 44]);
        for bad in [
            "[limits]\nuser_messages = [\"3 every 10m\"]\n",
            "[limits]\nuser_messages = [\"0 per 10m\"]\n",
            "[limits.sms]\ncountries = \"CH\"\n",
        ] {
            assert!(layered(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grpc_settings_are_checked() {
        let layered = |toml: &str| {
            let settings: Settings = Config::builder()
                .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
                .add_source(File::from_str(toml, FileFormat::Toml))
                .build()
                .expect("layers")
                .try_deserialize()
                .expect("types");
            settings.validate().map(|()| settings)
        };
        let defaults = layered("").expect("defaults");
        assert_eq!(defaults.server.grpc_bind, "127.0.0.1:8081");
        assert!(defaults.server.grpc_web_origins.is_empty());
        let origins = layered(
            "[server]\ngrpc_bind = \"[::1]:0\"\ngrpc_web_origins = \"https://a.example, http://localhost:3000\"\n",
        )
        .expect("valid");
        assert_eq!(
            origins.server.grpc_web_origins,
            ["https://a.example", "http://localhost:3000"]
        );
        for bad in [
            "[server]\ngrpc_bind = \"8081\"\n",
            "[server]\ngrpc_bind = \"127.0.0.1:http\"\n",
            "[server]\ngrpc_bind = \"127.0.0.1:8080\"\n",
            "[server]\ngrpc_web_origins = [\"https://a.example/\"]\n",
            "[server]\ngrpc_web_origins = [\"a.example\"]\n",
            "[server]\ngrpc_web_origins = [\"*\"]\n",
        ] {
            assert!(layered(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_durations_are_errors() {
        let dir = std::env::temp_dir().join(format!("rekey-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let unknown = dir.join("unknown.toml");
        std::fs::write(&unknown, "[server]\nbindd = \"x\"\n").expect("write");
        let error = Settings::load(Some(&unknown)).expect_err("unknown key");
        assert!(error.contains("bindd"), "{error}");
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[code]\nexpiry = \"soon\"\n").expect("write");
        let error = Settings::load(Some(&bad)).expect_err("bad duration");
        assert!(error.contains("soon"), "{error}");
        let good = dir.join("good.toml");
        std::fs::write(&good, "data_dir = \"/tmp/x\"\n[code]\nexpiry = \"10m\"\n").expect("write");
        let settings = Settings::load(Some(&good)).expect("valid");
        assert_eq!(settings.code.expiry, Duration::from_secs(600));
        assert_eq!(settings.database.url, "sqlite:///tmp/x/rekey.db");
        std::fs::remove_dir_all(&dir).ok();
    }
}
