//! The composition root: the concrete adapter behind every port, built from the settings.

use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use rekey_application::Failure;
use rekey_application::Ports;
use rekey_application::memo::{RefusalMemo, TokenMemo};
use rekey_application::ports::{
    Budget, BudgetKey, Clock, DeliveryPolicy, DeliveryPorts, EventRoutes, IdGenerator, Limits,
    Policies, Verdict,
};
use rekey_application::usecase::retention::RetentionPolicy;
use rekey_crypto_adapter::{
    AesGcmBox, Argon2Passwords, Argon2Settings, HmacCodeHasher, KeyRing, MasterKey, OsJitter,
    OsRngCodes, RandomTokens, ZxcvbnStrength,
};
use rekey_domain::{CodePolicy, LockoutPolicy, OrgId, PasswordPolicy, compose_numeric_id};
use rekey_domain::{User, UserId};
use rekey_notifier_adapter::{
    EmailTransport, EventTargets, FileMailer, FileSms, HandlebarsLinks, HandlebarsMessages,
    SmsTransport, SmtpMailer, SmtpSettings, SmtpTls, TwilioSettings, TwilioSms, WebhookSender,
    WebhookSettings,
};
use rekey_persistence_adapter::{DatabaseSettings, Store};

use crate::settings::{
    BudgetText, EmailTransportKind, LimitSettings, Settings, SmsTransportKind, SmtpTlsKind,
    WebhookSection,
};

/// The system clock, truncated to microseconds (what both databases store).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "this is the Clock port's adapter"
    )]
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// Time-ordered numeric ids: milliseconds, a 10-bit node number and a 12-bit sequence per
/// millisecond (4 096 ids per millisecond and node; past that it borrows the next millisecond).
#[derive(Debug)]
pub struct SnowflakeIds {
    node: u16,
    last: Mutex<(i64, u16)>,
}

impl SnowflakeIds {
    /// A generator for `node` (masked to 10 bits).
    pub fn new(node: u16) -> Self {
        Self {
            node: node & 0x3ff,
            last: Mutex::new((0, 0)),
        }
    }
}

impl IdGenerator for SnowflakeIds {
    fn next_id(&self) -> String {
        let now = SystemClock.now().timestamp_millis();
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (ms, sequence) = if now > last.0 {
            (now, 0)
        } else if last.1 < 0xfff {
            (last.0, last.1 + 1)
        } else {
            (last.0 + 1, 0)
        };
        *last = (ms, sequence);
        compose_numeric_id(ms, self.node, sequence)
    }
}

/// Every adapter, wired: the `Ports` of the running service.
#[derive(Debug)]
pub struct Adapters {
    store: Store,
    tokens: TokenMemo<Store>,
    limiter: RefusalMemo<Store>,
    codes: OsRngCodes,
    code_hashes: HmacCodeHasher,
    sealer: AesGcmBox,
    minter: RandomTokens,
    passwords: Argon2Passwords,
    links: HandlebarsLinks,
    clock: SystemClock,
    ids: SnowflakeIds,
    policies: Policies,
    messages: HandlebarsMessages,
    email: EmailTransport,
    sms: SmsTransport,
    jitter: OsJitter,
    delivery: DeliveryPolicy,
    retention: RetentionPolicy,
    hooks: EventTargets,
}

/// How [`Adapters::build`] opens the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Now, failing when it is not there; migrated first when `migrate` (the admin commands).
    Now { migrate: bool },
    /// On PostgreSQL without a connection yet, held until released once migrated (`rekey
    /// serve`, which starts whether or not the database is there).
    Held,
}

/// Applies the pending migrations of `settings`' database.
///
/// # Errors
/// The store's failure: [`Failure::Unavailable`] when the database cannot be reached.
pub async fn migrate_database(settings: &Settings) -> Result<(), Failure> {
    let applied = rekey_persistence_adapter::migrate(&database_settings(settings)).await?;
    if applied > 0 {
        tracing::info!(applied, "database migrated");
    }
    Ok(())
}

impl Adapters {
    /// Opens the database as `open` says and builds every adapter.
    ///
    /// # Errors
    /// A message for the operator: what failed and why.
    pub async fn build(settings: &Settings, open: Open) -> Result<Self, String> {
        // The data dir holds the key, the admin token, the database and the outgoing mail.
        create_private_dir(&settings.data_dir)?;
        let keys = key_ring(settings)?;
        let expiry = TimeDelta::from_std(settings.code.expiry)
            .map_err(|_| "code.expiry is too long".to_owned())?;
        let code_policy = CodePolicy::new(settings.code.length, &settings.code.alphabet, expiry)
            .map_err(|e| format!("[code]: {e}"))?;
        let passwords = Argon2Passwords::new(Argon2Settings {
            memory_kib: settings.password.argon2_memory_kib,
            iterations: settings.password.argon2_iterations,
            parallelism: settings.password.argon2_parallelism,
            max_concurrent: settings.password.hash_threads,
            max_queued: settings.password.hash_queue,
        })
        .map_err(|e| format!("[password]: {e}"))?;
        let database = database_settings(settings);
        let store = match open {
            Open::Now { migrate } => {
                if migrate {
                    migrate_database(settings)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                rekey_persistence_adapter::connect(&database).await
            }
            Open::Held => rekey_persistence_adapter::connect_held(&database).await,
        }
        .map_err(|e| e.to_string())?;
        let (routes, hooks) = event_targets(settings)?;
        let store = store.with_event_routes(routes);
        let token_ttl = TimeDelta::from_std(settings.tokens.cache_ttl)
            .map_err(|_| "tokens.cache_ttl is too long".to_owned())?;
        Ok(Self {
            tokens: TokenMemo::new(store.clone(), token_ttl),
            limiter: RefusalMemo::new(store.clone()),
            store,
            codes: OsRngCodes,
            code_hashes: HmacCodeHasher::new(&keys),
            sealer: AesGcmBox::new(&keys),
            minter: RandomTokens,
            passwords,
            links: HandlebarsLinks::new(),
            clock: SystemClock,
            ids: SnowflakeIds::new(node_id(settings.server.node_id)?),
            policies: Policies {
                code: code_policy,
                password: PasswordPolicy::default(),
                notify_password_changed: settings.password.notify_on_change,
                min_strength: match settings.password.min_strength {
                    n @ 0..=4 => n,
                    _ => return Err("password.min_strength must be 0..=4".into()),
                },
                code_attempts: match settings.code.max_attempts {
                    n @ 1.. => n,
                    _ => return Err("code.max_attempts must be at least 1".into()),
                },
                limits: limits(&settings.limits)?,
                lockout: LockoutPolicy {
                    max_password_attempts: settings.lockout.max_password_attempts,
                },
                instance_id: OrgId::try_from(settings.instance.id.clone())
                    .map_err(|e| format!("instance.id: {e}"))?,
            },
            messages: messages(settings)?,
            email: email(settings)?,
            sms: sms(settings)?,
            jitter: OsJitter,
            delivery: delivery(settings)?,
            retention: retention(settings)?,
            hooks,
        })
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// What the retention job keeps, and how it deletes.
    pub fn retention(&self) -> &RetentionPolicy {
        &self.retention
    }
}

fn time(name: &str, value: std::time::Duration) -> Result<TimeDelta, String> {
    TimeDelta::from_std(value).map_err(|_| format!("{name} is too long"))
}

/// The budgets of `[limits]`, all empty when `limits.enabled` is false.
pub fn limits(settings: &LimitSettings) -> Result<Limits, String> {
    if !settings.enabled {
        tracing::warn!("limits.enabled is false: no send, request or guess budgets apply");
        return Ok(Limits::default());
    }
    let budgets = |name: &str, texts: &[BudgetText]| -> Result<Vec<Budget>, String> {
        texts
            .iter()
            .map(|b| Ok(Budget::new(b.limit, time(name, b.window)?)))
            .collect()
    };
    let sms = &settings.sms;
    if sms.countries.is_empty() {
        tracing::warn!(
            "limits.sms.countries is empty: SMS may go to every country; list the country codes you serve"
        );
    }
    Ok(Limits {
        user_messages: budgets("limits.user_messages", &settings.user_messages)?,
        recipient_messages: budgets("limits.recipient_messages", &settings.recipient_messages)?,
        caller_resets: budgets("limits.caller_resets", &settings.caller_resets)?,
        login_client_resets: budgets("limits.login_client_resets", &settings.login_client_resets)?,
        client_ip: budgets("limits.client_ip", &settings.client_ip)?,
        wrong_codes: budgets("limits.wrong_codes", &settings.wrong_codes)?,
        wrong_passwords: budgets("limits.wrong_passwords", &settings.wrong_passwords)?,
        client_wrong_passwords: budgets(
            "limits.client_wrong_passwords",
            &settings.client_wrong_passwords,
        )?,
        page_code: budgets("limits.page_code", &settings.page_code)?,
        page_wrong_codes: budgets("limits.page_wrong_codes", &settings.page_wrong_codes)?,
        sms_per_country: budgets("limits.sms.per_country", &sms.per_country)?,
        sms_total: budgets("limits.sms.total", &sms.total)?,
        sms_countries: (!sms.countries.is_empty()).then(|| sms.countries.clone()),
    })
}

fn delivery(settings: &Settings) -> Result<DeliveryPolicy, String> {
    let d = &settings.delivery;
    if d.max_attempts < 1 || d.batch_size < 1 {
        return Err("[delivery]: max_attempts and batch_size must be at least 1".into());
    }
    if d.lease < std::time::Duration::from_secs(1)
        || d.lease > std::time::Duration::from_secs(86_400)
    {
        return Err(
            "delivery.lease must be between 1s and 1d (a sending worker renews it every third of it)"
                .into(),
        );
    }
    Ok(DeliveryPolicy {
        max_attempts: d.max_attempts,
        backoff_base: time("delivery.backoff_base", d.backoff_base)?,
        backoff_max: time("delivery.backoff_max", d.backoff_max)?,
        batch_size: d.batch_size,
        lease: time("delivery.lease", d.lease)?,
        public_url: settings.public_url.clone(),
    })
}

/// `delivery.retention`, which must be above zero; rows go in batches of 1000.
fn retention(settings: &Settings) -> Result<RetentionPolicy, String> {
    let retention = time("delivery.retention", settings.delivery.retention)?;
    if retention <= TimeDelta::zero() {
        return Err("delivery.retention must be above 0 (e.g. \"7d\")".into());
    }
    Ok(RetentionPolicy {
        retention,
        ..RetentionPolicy::default()
    })
}

fn messages(settings: &Settings) -> Result<HandlebarsMessages, String> {
    let dir = &settings.messages.template_dir;
    HandlebarsMessages::new((!dir.as_os_str().is_empty()).then_some(dir.as_path()))
        .map_err(|e| format!("[messages]: {e}"))
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

fn webhook(name: &str, section: &WebhookSection) -> Result<WebhookSender, String> {
    if section.url.is_empty() || section.signing_key.expose().is_empty() {
        return Err(format!(
            "[{name}.webhook]: url and signing_key are required"
        ));
    }
    WebhookSender::new(
        WebhookSettings {
            url: section.url.clone(),
            signing_key: section.signing_key.expose().as_bytes().to_vec(),
            timeout: section.timeout,
        },
        std::sync::Arc::new(SystemClock),
    )
    .map_err(|e| format!("[{name}.webhook]: {e}"))
}

/// The `[[events.targets]]`: the routes the store queues deliveries by, and the senders. A
/// target's id is a digest of its URL, so it stays the same across restarts (and instances)
/// while the URL does.
fn event_targets(settings: &Settings) -> Result<(EventRoutes, EventTargets), String> {
    let mut routes = Vec::new();
    let mut senders = Vec::new();
    for (index, target) in settings.events.targets.iter().enumerate() {
        let what = format!("[[events.targets]] #{}", index + 1);
        if target.events.is_empty() {
            return Err(format!("{what}: events must name at least one event type"));
        }
        let id = format!("t{}", &hex_sha256(target.url.as_bytes())[..16]);
        routes.push((id.clone(), target.events.clone()));
        senders.push((
            id,
            WebhookSettings {
                url: target.url.clone(),
                signing_key: target.signing_key.expose().as_bytes().to_vec(),
                timeout: settings.events.timeout,
            },
        ));
    }
    let clock: std::sync::Arc<dyn rekey_application::ports::Clock> =
        std::sync::Arc::new(SystemClock);
    let senders = EventTargets::new(senders, &clock).map_err(|e| format!("[events]: {e}"))?;
    Ok((EventRoutes::new(routes), senders))
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn email(settings: &Settings) -> Result<EmailTransport, String> {
    let e = &settings.email;
    let reply_to = non_empty(&e.reply_to);
    Ok(match e.transport {
        EmailTransportKind::File => EmailTransport::File(
            FileMailer::new(&e.file_dir, &e.from, reply_to.as_deref())
                .map_err(|err| format!("[email]: {err}"))?,
        ),
        EmailTransportKind::Smtp => EmailTransport::Smtp(
            SmtpMailer::new(SmtpSettings {
                host: e.smtp.host.clone(),
                port: e.smtp.port,
                tls: match e.smtp.tls {
                    SmtpTlsKind::None => SmtpTls::None,
                    SmtpTlsKind::Starttls => SmtpTls::StartTls,
                    SmtpTlsKind::Tls => SmtpTls::Tls,
                },
                username: non_empty(&e.smtp.username),
                password: non_empty(e.smtp.password.expose()),
                timeout: e.smtp.timeout,
                from: e.from.clone(),
                reply_to,
            })
            .map_err(|err| format!("[email.smtp]: {err}"))?,
        ),
        EmailTransportKind::Webhook => EmailTransport::Webhook(webhook("email", &e.webhook)?),
    })
}

fn sms(settings: &Settings) -> Result<SmsTransport, String> {
    let s = &settings.sms;
    Ok(match s.transport {
        SmsTransportKind::File => SmsTransport::File(FileSms::new(&s.file_path)),
        SmsTransportKind::Twilio => SmsTransport::Twilio(
            TwilioSms::new(TwilioSettings {
                base_url: s.twilio.base_url.clone(),
                account_sid: s.twilio.account_sid.clone(),
                auth_token: s.twilio.auth_token.expose().to_owned(),
                from: non_empty(&s.twilio.from),
                messaging_service_sid: non_empty(&s.twilio.messaging_service_sid),
                timeout: s.twilio.timeout,
            })
            .map_err(|err| format!("[sms.twilio]: {err}"))?,
        ),
        SmsTransportKind::Webhook => SmsTransport::Webhook(webhook("sms", &s.webhook)?),
    })
}

/// The persistence adapter's part of the settings.
pub fn database_settings(settings: &Settings) -> DatabaseSettings {
    let ca = &settings.database.tls_ca_file;
    DatabaseSettings {
        url: settings.database.url.clone(),
        max_connections: settings.database.max_connections,
        local_pools: u32::try_from(http_workers(settings)).unwrap_or(u32::MAX),
        connect_timeout: settings.database.connect_timeout,
        tls_ca_file: (!ca.as_os_str().is_empty()).then(|| ca.clone()),
    }
}

/// The HTTP workers `rekey serve` starts: `server.workers`, or one per CPU (actix-web's default).
pub fn http_workers(settings: &Settings) -> usize {
    match settings.server.workers {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        n => n,
    }
}

fn node_id(configured: i32) -> Result<u16, String> {
    match configured {
        -1 => {
            let mut bytes = [0_u8; 2];
            rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut bytes)
                .map_err(|e| format!("random node id: {e}"))?;
            Ok(u16::from_le_bytes(bytes) & 0x3ff)
        }
        0..=1023 => u16::try_from(configured).map_err(|e| e.to_string()),
        _ => Err("server.node_id must be -1 or 0..=1023".into()),
    }
}

/// The configured keys (`secrets.keys`, else `secrets.key`), or the one in
/// `{data_dir}/secret.key`, created on first start.
fn key_ring(settings: &Settings) -> Result<KeyRing, String> {
    if settings.secrets.keys.is_empty() {
        return master_key(settings).map(KeyRing::from);
    }
    let keys = settings
        .secrets
        .keys
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let key = MasterKey::from_base64(entry.key.expose())
                .map_err(|e| format!("secrets.keys[{i}]: {e}"))?;
            match &entry.id {
                Some(id) => key.with_id(id).map_err(|e| e.to_string()),
                None => Ok(key),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ring = KeyRing::new(keys).map_err(|e| e.to_string())?;
    tracing::info!(key.id = %ring.primary().id().0, "signing and sealing with the first of secrets.keys");
    Ok(ring)
}

fn master_key(settings: &Settings) -> Result<MasterKey, String> {
    let configured = settings.secrets.key.expose();
    if !configured.is_empty() {
        return MasterKey::from_base64(configured).map_err(|e| e.to_string());
    }
    let path = settings.data_dir.join("secret.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        return MasterKey::from_base64(&text).map_err(|e| format!("{}: {e}", path.display()));
    }
    let key = MasterKey::generate().map_err(|e| e.to_string())?;
    write_private(&path, &key.to_base64())?;
    tracing::warn!(
        path = %path.display(),
        "secrets.key is not set: generated a key file; production must set secrets.key"
    );
    Ok(key)
}

/// Creates `dir` and its missing parents with mode 0700 (on Unix); an existing folder keeps
/// its mode.
///
/// # Errors
/// A message naming the folder.
pub fn create_private_dir(dir: &Path) -> Result<(), String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| format!("creating {}: {e}", dir.display()))
}

/// Writes a file readable by its owner only (0600), creating its folder.
pub fn write_private(path: &Path, contents: &str) -> Result<(), String> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("chmod {}: {e}", path.display()))?;
    }
    file.write_all(contents.as_bytes())
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

impl Ports for Adapters {
    type Users = Store;
    type Tokens = TokenMemo<Store>;
    type Codes = OsRngCodes;
    type CodeHashes = HmacCodeHasher;
    type Sealer = AesGcmBox;
    type Minter = RandomTokens;
    type Passwords = Argon2Passwords;
    type Strength = ZxcvbnStrength;
    type Links = HandlebarsLinks;
    type Clock = SystemClock;
    type Ids = SnowflakeIds;
    type Limiter = RefusalMemo<Store>;
    type Sessions = Store;

    fn trace_context(&self) -> Option<String> {
        rekey_api::trace::current()
    }

    fn users(&self) -> &Store {
        &self.store
    }
    fn tokens(&self) -> &TokenMemo<Store> {
        &self.tokens
    }
    fn codes(&self) -> &OsRngCodes {
        &self.codes
    }
    fn code_hashes(&self) -> &HmacCodeHasher {
        &self.code_hashes
    }
    fn sealer(&self) -> &AesGcmBox {
        &self.sealer
    }
    fn minter(&self) -> &RandomTokens {
        &self.minter
    }
    fn passwords(&self) -> &Argon2Passwords {
        &self.passwords
    }
    fn strength(&self) -> &ZxcvbnStrength {
        &ZxcvbnStrength
    }
    fn links(&self) -> &HandlebarsLinks {
        &self.links
    }
    fn clock(&self) -> &SystemClock {
        &self.clock
    }
    fn ids(&self) -> &SnowflakeIds {
        &self.ids
    }
    fn limiter(&self) -> &RefusalMemo<Store> {
        &self.limiter
    }
    fn sessions(&self) -> &Store {
        &self.store
    }
    fn policies(&self) -> &Policies {
        &self.policies
    }

    /// The budget and the user share the database: one round trip on PostgreSQL. A refusal
    /// the memory holds sends nothing.
    async fn take_and_load_user(
        &self,
        keys: &[BudgetKey],
        now: DateTime<Utc>,
        user: &UserId,
    ) -> Result<(Verdict, Option<User>), Failure> {
        if let Some(refused) = self.limiter.remembered(keys, now) {
            return Ok((refused, None));
        }
        let (verdict, loaded) = self.store.take_and_load_user(keys, now, user).await?;
        self.limiter.remember(keys, &verdict, now);
        Ok((verdict, loaded))
    }
}

impl DeliveryPorts for Adapters {
    type Events = Store;
    type Hooks = EventTargets;
    type Outbox = Store;
    type Sealer = AesGcmBox;
    type Links = HandlebarsLinks;
    type Messages = HandlebarsMessages;
    type Email = EmailTransport;
    type Sms = SmsTransport;
    type Clock = SystemClock;
    type Jitter = OsJitter;

    fn outbox(&self) -> &Store {
        &self.store
    }
    fn events(&self) -> &Store {
        &self.store
    }
    fn hooks(&self) -> &EventTargets {
        &self.hooks
    }
    fn instance_id(&self) -> &str {
        self.policies.instance_id.as_str()
    }
    fn sealer(&self) -> &AesGcmBox {
        &self.sealer
    }
    fn links(&self) -> &HandlebarsLinks {
        &self.links
    }
    fn messages(&self) -> &HandlebarsMessages {
        &self.messages
    }
    fn email(&self) -> &EmailTransport {
        &self.email
    }
    fn sms(&self) -> &SmsTransport {
        &self.sms
    }
    fn clock(&self) -> &SystemClock {
        &self.clock
    }
    fn jitter(&self) -> &OsJitter {
        &self.jitter
    }
    fn delivery(&self) -> &DeliveryPolicy {
        &self.delivery
    }
    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }

    fn join_trace(&self, span: &tracing::Span, traceparent: &str) {
        rekey_api::trace::adopt_and_link(span, traceparent);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn retention_is_a_week_by_default_and_must_be_above_zero() {
        let mut settings = Settings::load(None).expect("defaults");
        assert_eq!(
            retention(&settings).map(|policy| policy.retention),
            Ok(TimeDelta::days(7))
        );
        for (value, accepted) in [
            ("0s", false),
            ("1us", true),
            ("168h", true),
            ("30days", true),
        ] {
            settings.delivery.retention = humantime::parse_duration(value).expect(value);
            assert_eq!(retention(&settings).is_ok(), accepted, "{value}");
        }
        settings.delivery.retention = std::time::Duration::MAX;
        assert_eq!(
            retention(&settings).map(drop),
            Err("delivery.retention is too long".into())
        );
    }

    #[test]
    fn ids_are_unique_and_increasing_within_a_process() {
        let ids = SnowflakeIds::new(7);
        let mut seen = HashSet::new();
        let mut previous = 0_u64;
        for _ in 0..20_000 {
            let id: u64 = ids.next_id().parse().expect("numeric");
            assert!(id > previous);
            assert!(seen.insert(id));
            previous = id;
        }
    }

    #[test]
    fn node_ids() {
        assert_eq!(node_id(5), Ok(5));
        assert!(node_id(-1).is_ok_and(|n| n < 1024));
        assert!(node_id(1024).is_err());
    }
}
