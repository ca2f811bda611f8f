//! Opening pools and running the embedded migrations.

use std::time::Duration;

use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, PoolError};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use rekey_application::Failure;

use crate::pg_pools::PgPools;
use crate::{Pool, SqliteConn, SqlitePools, Store, tls};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Connection settings (`[database]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSettings {
    /// `sqlite://path/to/file.db` or `postgres://user@host:port/db`.
    pub url: String,
    /// Pool size. On SQLite: the reader connections; writes go through one more connection,
    /// one at a time (those queued together share a commit), and checkpoints through another.
    pub max_connections: u32,
    /// PostgreSQL: how many single-threaded runtimes (the HTTP workers) will query the store.
    /// Each gets a pool of its own, driven on its thread, of `max_connections / local_pools`
    /// connections (at least two, at most `max_connections`); the multi-threaded runtime
    /// shares `max_connections` more.
    pub local_pools: u32,
    /// How long a request waits for a connection before the database counts as unavailable.
    pub connect_timeout: Duration,
    /// PEM file of the CA(s) that sign the PostgreSQL server's certificate (for `sslmode`
    /// `require`, `verify-ca`, `verify-full`); `None`: the Mozilla roots.
    pub tls_ca_file: Option<std::path::PathBuf>,
}

impl DatabaseSettings {
    /// Settings for `url` with the defaults: 8 connections, and 8 more for each single-threaded
    /// runtime (one is expected), 5 s timeout, no CA file.
    pub fn for_url(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 8,
            local_pools: 1,
            connect_timeout: Duration::from_secs(5),
            tls_ca_file: None,
        }
    }
}

enum Backend<'a> {
    Sqlite(&'a str),
    Postgres(&'a str),
}

fn backend(url: &str) -> Result<Backend<'_>, Failure> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() || path.contains(":memory:") {
            return Err(Failure::Unexpected(
                "database.url: a SQLite database must be a file (sqlite://path/to/rekey.db)".into(),
            ));
        }
        Ok(Backend::Sqlite(path))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres(url))
    } else {
        Err(Failure::Unexpected(
            "database.url must start with sqlite:// or postgres://".into(),
        ))
    }
}

/// Logs connection errors that happen in the pool's background, once each, through tracing.
#[derive(Debug, Clone, Copy)]
struct LogErrors;

impl bb8::ErrorSink<PoolError> for LogErrors {
    fn sink(&self, error: PoolError) {
        tracing::warn!(%error, "database connection failed");
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<PoolError>> {
        Box::new(*self)
    }
}

/// The pool settings shared by both backends (a macro: bb8's bounds on a generic builder
/// would have to restate every query diesel-async's manager runs).
macro_rules! pool_builder {
    ($settings:expr, $size:expr) => {
        bb8::Pool::builder()
            .max_size($size)
            .min_idle(Some(1))
            .connection_timeout($settings.connect_timeout)
            .retry_connection(false)
            // No `SELECT 1` before every checkout (it was a round trip per query, measured in
            // `cargo xtask bench`); a broken connection is dropped when it is returned.
            // PostgreSQL's pools turn the check back on: theirs costs no round trip.
            .test_on_check_out(false)
            .error_sink(Box::new(LogErrors))
    };
}

/// The connections of one SQLite pool of `$conn`s: [`crate::sqlite_writer::SETUP`] (WAL
/// mode, a busy timeout, foreign keys), then `$pragmas`. (A macro: the bounds of a generic
/// function would restate diesel-async's.)
macro_rules! sqlite_manager {
    ($conn:ty, $path:expr, $pragmas:expr) => {{
        let mut config = ManagerConfig::<$conn>::default();
        config.custom_setup = Box::new(|path| {
            Box::pin(async move {
                let mut conn = <$conn>::establish(path).await?;
                conn.batch_execute(crate::sqlite_writer::SETUP)
                    .await
                    .and(conn.batch_execute($pragmas).await)
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                conn.set_instrumentation(crate::CountStatements::new("sqlite"));
                Ok(conn)
            })
        });
        AsyncDieselConnectionManager::<$conn>::new_with_config($path, config)
    }};
}

/// Opens a pool for `settings.url`. For SQLite the file and its folder are created if missing,
/// and every connection gets WAL mode, a busy timeout and foreign keys; SQLite gets
/// `max_connections` reader connections (`query_only`), one writer connection and one for the
/// checkpoints.
///
/// # Errors
/// [`Failure::Unavailable`] with the driver's cause when no connection can be made within
/// `connect_timeout`; [`Failure::Unexpected`] for a malformed URL.
pub async fn connect(settings: &DatabaseSettings) -> Result<Store, Failure> {
    open(settings, false).await
}

/// [`connect`] for a server that starts whether or not the database is there: on PostgreSQL
/// it opens no connection yet, and every operation answers [`Failure::Unavailable`] until
/// [`Store::release`] (called once the migrations ran). SQLite, a file, opens as in
/// [`connect`] and is never held.
///
/// # Errors
/// As [`connect`], but on PostgreSQL only for a malformed URL.
pub async fn connect_held(settings: &DatabaseSettings) -> Result<Store, Failure> {
    open(settings, true).await
}

async fn open(settings: &DatabaseSettings, held: bool) -> Result<Store, Failure> {
    let unavailable = |e: PoolError| Failure::Unavailable(format!("database: {e}"));
    match backend(&settings.url)? {
        Backend::Sqlite(path) => {
            if let Some(dir) = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Failure::Unavailable(format!("creating {}: {e}", dir.display()))
                })?;
            }
            // The writer first: it puts the file in WAL mode, which a reader cannot.
            let writer = crate::sqlite_writer::open_writer(path).await?;
            // Readers refuse to write, so a write sent to them by mistake fails loudly
            // instead of contending for the lock.
            let read = pool_builder!(settings, settings.max_connections.max(1))
                .build(sqlite_manager!(SqliteConn, path, "PRAGMA query_only = ON;"))
                .await
                .map_err(unavailable)?;
            // Background checkpoints, on a connection of their own on the blocking pool.
            let checkpointer = pool_builder!(settings, 1)
                .build(sqlite_manager!(SqliteConn, path, ""))
                .await
                .map_err(unavailable)?;
            Ok(Store::new(Pool::Sqlite(SqlitePools::new(
                read,
                checkpointer,
                writer,
                path,
                settings.connect_timeout,
            )?)))
        }
        Backend::Postgres(url) => {
            let target = tls::target(url, settings.tls_ca_file.as_deref())?;
            let manager = move || crate::pg_pools::PgManager {
                target: target.clone(),
            };
            let size = settings.max_connections.max(1);
            let shared = pool_builder!(settings, size).test_on_check_out(true);
            let shared = match held {
                true => shared.build_unchecked(manager()),
                false => shared.build(manager()).await.map_err(unavailable)?,
            };
            let local = settings.clone();
            // At least two, so one slow transaction does not hold up a whole worker.
            let local_size = (size / settings.local_pools.max(1)).clamp(2.min(size), size);
            let open = move || {
                pool_builder!(local, local_size)
                    .test_on_check_out(true)
                    .build_unchecked(manager())
            };
            let pools = PgPools::new(shared, open, settings.connect_timeout);
            if held {
                pools.hold();
            }
            Ok(Store::new(Pool::Postgres(pools)))
        }
    }
}

/// Applies the pending embedded migrations for the backend of `settings.url`; returns how
/// many ran. The migrations run on tokio's blocking pool, so this works on any runtime flavour.
///
/// # Errors
/// [`Failure`] when the database cannot be reached or a migration fails.
pub async fn migrate(settings: &DatabaseSettings) -> Result<usize, Failure> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| {
        Failure::Unexpected(format!("migrations failed: {e}"))
    };
    let unreachable = |e: diesel::ConnectionError| Failure::Unavailable(format!("database: {e}"));
    let joined = |e: tokio::task::JoinError| Failure::Unexpected(format!("migration task: {e}"));
    match backend(&settings.url)? {
        Backend::Sqlite(path) => {
            let path = path.to_owned();
            tokio::task::spawn_blocking(move || {
                if let Some(dir) = std::path::Path::new(&path)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        Failure::Unavailable(format!("creating {}: {e}", dir.display()))
                    })?;
                }
                let mut conn =
                    <diesel::sqlite::SqliteConnection as diesel::Connection>::establish(&path)
                        .map_err(unreachable)?;
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|done| done.len())
                    .map_err(failed)
            })
            .await
            .map_err(joined)?
        }
        Backend::Postgres(url) => {
            let target = tls::target(url, settings.tls_ca_file.as_deref())?;
            let conn = tls::connect(&target).await.map_err(unreachable)?;
            let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::from(conn);
            tokio::task::spawn_blocking(move || {
                conn.run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|done| done.len())
                    .map_err(failed)
            })
            .await
            .map_err(joined)?
        }
    }
}
