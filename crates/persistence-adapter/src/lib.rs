//! rekey's stores on SQLite (the embedded default) and PostgreSQL (production), with diesel,
//! diesel-async and bb8.
//!
//! One [`Store`] type serves both backends. It is an enum over two connection pools, and every
//! query is written once: the [`with_conn!`] macro expands the same query code for each
//! backend, so both are type-checked on every build and the two can never drift. Only the DDL
//! (`migrations/sqlite`, `migrations/postgres`) is written per backend.
//!
//! Driver errors stop here: callers see [`rekey_application::Failure`] or
//! [`rekey_application::ports::StoreError`], never a diesel type.

mod connect;
mod error;
mod limiter;
mod outbox;
mod prepared;
mod retention;
mod rows;
mod schema;
mod stores;
mod tls;

pub use connect::{DatabaseSettings, connect, migrate};
pub use stores::RowCounts;

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use tokio::sync::Notify;

/// A pooled SQLite connection (each query runs on tokio's blocking pool).
pub type SqliteConn = SyncConnectionWrapper<diesel::sqlite::SqliteConnection>;

/// The database, whichever backend the configuration chose. Cloning shares the pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    queued: Arc<Notify>,
}

/// The connection pool of one backend.
#[derive(Clone)]
pub(crate) enum Pool {
    /// SQLite: one file, one machine.
    Sqlite(bb8::Pool<AsyncDieselConnectionManager<SqliteConn>>),
    /// PostgreSQL: shared by any number of rekey instances.
    Postgres(bb8::Pool<AsyncDieselConnectionManager<AsyncPgConnection>>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.pool {
            Pool::Sqlite(pool) => write!(f, "Store::Sqlite({:?})", pool.state()),
            Pool::Postgres(pool) => write!(f, "Store::Postgres({:?})", pool.state()),
        }
    }
}

impl Store {
    pub(crate) fn new(pool: Pool) -> Self {
        Self {
            pool,
            queued: Arc::new(Notify::new()),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Notified after every commit that queued a message in this process, so a delivery
    /// worker can start at once instead of at its next poll.
    pub fn message_queued(&self) -> Arc<Notify> {
        Arc::clone(&self.queued)
    }
}

/// Records how long a checkout waited for a connection (`rekey_db_pool_wait_seconds`).
pub(crate) fn pool_waited(backend: &'static str, since: std::time::Instant) {
    metrics::histogram!("rekey_db_pool_wait_seconds", "backend" => backend)
        .record(since.elapsed().as_secs_f64());
}

/// Counts the statements a connection sends (`rekey_db_statements_total`), transaction
/// control included, so statements per request can be read off the metrics. The counter is
/// looked up per statement, not kept: connections opened before the metrics recorder was
/// installed would keep a handle that counts nothing.
pub(crate) struct CountStatements(&'static str);

impl CountStatements {
    pub(crate) fn new(backend: &'static str) -> Self {
        Self(backend)
    }
}

impl diesel::connection::Instrumentation for CountStatements {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        if matches!(
            event,
            diesel::connection::InstrumentationEvent::StartQuery { .. }
        ) {
            metrics::counter!("rekey_db_statements_total", "backend" => self.0).increment(1);
        }
    }
}

/// Connections of the pool: open, and of those idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Open connections.
    pub connections: u32,
    /// Open and not checked out.
    pub idle: u32,
}

/// The pending part of the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxDepth {
    /// Messages waiting to be sent (or retried).
    pub pending: i64,
    /// When the oldest of them was queued.
    pub oldest: Option<chrono::DateTime<chrono::Utc>>,
}

impl Store {
    /// The pool's connections right now.
    pub fn pool_state(&self) -> PoolState {
        let state = match &self.pool {
            Pool::Sqlite(pool) => pool.state(),
            Pool::Postgres(pool) => pool.state(),
        };
        PoolState {
            connections: state.connections,
            idle: state.idle_connections,
        }
    }
}

/// Runs `$body` with `$conn` bound to a `&mut` pooled connection of whichever backend `$store`
/// holds. The body is compiled once per backend: write it once, in diesel's DSL.
/// Evaluates to the body's `Result`; a pool that cannot give a connection is
/// `Failure::Unavailable`, converted with `From` into the body's error type.
macro_rules! with_conn {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite(pool) => {
                let waiting = std::time::Instant::now();
                let mut pooled = pool.get().await.map_err($crate::error::pool_failure)?;
                $crate::pool_waited("sqlite", waiting);
                let $conn: &mut $crate::SqliteConn = &mut *pooled;
                $body
            }
            $crate::Pool::Postgres(pool) => {
                let waiting = std::time::Instant::now();
                let mut pooled = pool.get().await.map_err($crate::error::pool_failure)?;
                $crate::pool_waited("postgres", waiting);
                let $conn: &mut diesel_async::AsyncPgConnection = &mut *pooled;
                $body
            }
        }
    };
}
pub(crate) use with_conn;
