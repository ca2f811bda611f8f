//! The composition root: the concrete adapter behind every port, built from the settings.

use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use rekey_application::Ports;
use rekey_application::ports::{Clock, IdGenerator, Policies};
use rekey_crypto_adapter::{
    AesGcmBox, Argon2Passwords, Argon2Settings, HmacCodeHasher, MasterKey, OsRngCodes, RandomTokens,
};
use rekey_domain::{CodePolicy, PasswordPolicy, compose_numeric_id};
use rekey_notifier_adapter::HandlebarsLinks;
use rekey_persistence_adapter::{DatabaseSettings, Store};

use crate::settings::Settings;

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
    codes: OsRngCodes,
    code_hashes: HmacCodeHasher,
    sealer: AesGcmBox,
    minter: RandomTokens,
    passwords: Argon2Passwords,
    links: HandlebarsLinks,
    clock: SystemClock,
    ids: SnowflakeIds,
    policies: Policies,
}

impl Adapters {
    /// Opens the database (migrating first if configured) and builds every adapter.
    ///
    /// # Errors
    /// A message for the operator: what failed and why.
    pub async fn build(settings: &Settings, migrate: bool) -> Result<Self, String> {
        let key = master_key(settings)?;
        let expiry = TimeDelta::from_std(settings.code.expiry)
            .map_err(|_| "code.expiry is too long".to_owned())?;
        let code_policy = CodePolicy::new(settings.code.length, &settings.code.alphabet, expiry)
            .map_err(|e| format!("[code]: {e}"))?;
        let passwords = Argon2Passwords::new(Argon2Settings {
            memory_kib: settings.password.argon2_memory_kib,
            iterations: settings.password.argon2_iterations,
            parallelism: settings.password.argon2_parallelism,
            max_concurrent: 0,
        })
        .map_err(|e| format!("[password]: {e}"))?;
        let database = database_settings(settings);
        if migrate {
            let applied = rekey_persistence_adapter::migrate(&database)
                .await
                .map_err(|e| e.to_string())?;
            if applied > 0 {
                tracing::info!(applied, "database migrated");
            }
        }
        let store = rekey_persistence_adapter::connect(&database)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            store,
            codes: OsRngCodes,
            code_hashes: HmacCodeHasher::new(&key),
            sealer: AesGcmBox::new(&key),
            minter: RandomTokens,
            passwords,
            links: HandlebarsLinks::new(),
            clock: SystemClock,
            ids: SnowflakeIds::new(node_id(settings.server.node_id)?),
            policies: Policies {
                code: code_policy,
                password: PasswordPolicy::default(),
            },
        })
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// The persistence adapter's part of the settings.
pub fn database_settings(settings: &Settings) -> DatabaseSettings {
    let ca = &settings.database.tls_ca_file;
    DatabaseSettings {
        url: settings.database.url.clone(),
        max_connections: settings.database.max_connections,
        connect_timeout: settings.database.connect_timeout,
        tls_ca_file: (!ca.as_os_str().is_empty()).then(|| ca.clone()),
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

/// The configured key, or the one in `{data_dir}/secret.key`, created on first start.
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

/// Writes a file readable by its owner only (0600), creating its folder.
pub fn write_private(path: &Path, contents: &str) -> Result<(), String> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
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
    type Tokens = Store;
    type Codes = OsRngCodes;
    type CodeHashes = HmacCodeHasher;
    type Sealer = AesGcmBox;
    type Minter = RandomTokens;
    type Passwords = Argon2Passwords;
    type Links = HandlebarsLinks;
    type Clock = SystemClock;
    type Ids = SnowflakeIds;

    fn users(&self) -> &Store {
        &self.store
    }
    fn tokens(&self) -> &Store {
        &self.store
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
    fn links(&self) -> &HandlebarsLinks {
        &self.links
    }
    fn clock(&self) -> &SystemClock {
        &self.clock
    }
    fn ids(&self) -> &SnowflakeIds {
        &self.ids
    }
    fn policies(&self) -> &Policies {
        &self.policies
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

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
