//! rekey's stores on SQLite (the embedded default) and PostgreSQL (production), with diesel,
//! diesel-async and bb8.
//!
//! One [`Store`] type serves both backends. It is an enum over the connection pools, and every
//! query is written once: the [`with_conn!`] (reads) and [`with_writer!`] (writes) macros
//! expand the same query code for each backend, so both are type-checked on every build and
//! the two can never drift. Only the DDL (`migrations/sqlite`, `migrations/postgres`) is
//! written per backend.
//!
//! On PostgreSQL both macros take a connection from the one pool. On SQLite, which has one
//! write lock per file, reads go to a pool of reader connections (in WAL mode they neither
//! wait for the writer nor block it) and every write to one writer connection, which a thread
//! of its own runs in arrival order inside the process, so no request waits in SQLite's busy
//! handler, whose sleeps (1, 2, 5, … 100 ms) made the tail latency.
//!
//! Driver errors stop here: callers see [`rekey_application::Failure`] or
//! [`rekey_application::ports::StoreError`], never a diesel type.

mod connect;
mod error;
mod event_queue;
mod limiter;
mod outbox;
mod pg_pools;
mod prepared;
mod retention;
mod rows;
mod schema;
mod sqlite_writer;
mod stores;
mod tls;

pub use connect::{DatabaseSettings, connect, connect_held, migrate};
pub use stores::RowCounts;

pub(crate) use sqlite_writer::SqlitePools;

use std::sync::Arc;

use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use tokio::sync::Notify;

/// A pooled SQLite reader connection (each query runs on tokio's blocking pool).
pub type SqliteConn = SyncConnectionWrapper<diesel::sqlite::SqliteConnection>;

/// SQLite's writer connection: its statements run on the thread that polls them, the writer
/// thread ([`InPlace`]).
pub type SqliteWriterConn = SyncConnectionWrapper<diesel::sqlite::SqliteConnection, InPlace>;

/// Runs a SQLite connection's statements on the thread that polls them, not on tokio's
/// blocking pool. For the writer only: its thread does nothing but run writes, and a write
/// transaction is six to eight statements of microseconds each, so a hop to the pool and back
/// per statement (two thread wake-ups, and on a busy machine a wait for a core each) would
/// cost more than the statements and stretch the time the write lock is held (measured in
/// `cargo xtask bench`, docs/PERFORMANCE.md). Its commits never checkpoint: the background
/// checkpoints run on a connection of their own, and the writer thread catches up between
/// transactions (see [`SqlitePools`]).
#[derive(Debug, Clone, Copy)]
pub struct InPlace;

impl diesel_async::sync_connection_wrapper::SpawnBlocking for InPlace {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<R, Box<dyn std::error::Error + Send + Sync + 'static>>,
                > + Send
                + 'a,
        >,
    >
    where
        R: Send + 'static,
    {
        Box::pin(async move { Ok(task()) })
    }

    fn get_runtime() -> Self {
        Self
    }
}

/// The database, whichever backend the configuration chose. Cloning shares the pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    queued: Arc<Notify>,
    /// Which events go to which targets: a commit queues their deliveries with the events.
    routes: Arc<rekey_application::ports::EventRoutes>,
}

/// A pool of SQLite connections.
pub(crate) type SqlitePool<C = SqliteConn> = bb8::Pool<AsyncDieselConnectionManager<C>>;

/// The connection pool(s) of one backend.
#[derive(Clone)]
pub(crate) enum Pool {
    /// SQLite: one file, one machine.
    Sqlite(SqlitePools),
    /// PostgreSQL: shared by any number of rekey instances.
    Postgres(pg_pools::PgPools),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.pool {
            Pool::Sqlite(pools) => write!(
                f,
                "Store::Sqlite {{ read: {:?}, write: {:?}, transactions: {} }}",
                pools.read.state(),
                pools.writer_state(),
                pools.transactions()
            ),
            Pool::Postgres(pools) => write!(f, "Store::Postgres({:?})", pools.states()),
        }
    }
}

impl Store {
    pub(crate) fn new(pool: Pool) -> Self {
        Self {
            pool,
            queued: Arc::new(Notify::new()),
            routes: Arc::default(),
        }
    }

    /// This store, queueing a delivery of every event `routes` sends somewhere, in the
    /// transaction that records the event.
    #[must_use]
    pub fn with_event_routes(mut self, routes: rekey_application::ports::EventRoutes) -> Self {
        self.routes = Arc::new(routes);
        self
    }

    /// Ends the hold of [`connect_held`]: operations use the database from now on.
    pub fn release(&self) {
        if let Pool::Postgres(pools) = &self.pool {
            pools.release();
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Notified after every commit that queued a message or an event delivery in this
    /// process, so a delivery
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
    /// The pool's connections right now (on SQLite, the readers', the writer's and the
    /// checkpointer's).
    pub fn pool_state(&self) -> PoolState {
        let (states, writer) = match &self.pool {
            Pool::Sqlite(pools) => (
                vec![pools.read.state(), pools.checkpointer.state()],
                pools.writer_state(),
            ),
            Pool::Postgres(pools) => (pools.states(), (0, 0)),
        };
        PoolState {
            connections: writer.0 + states.iter().map(|s| s.connections).sum::<u32>(),
            idle: writer.1 + states.iter().map(|s| s.idle_connections).sum::<u32>(),
        }
    }
}

/// A span over one call's database work (the wait for a connection and the round trips on it),
/// a child of the use case's span. Never entered: it only marks the start and, when dropped,
/// the end. Debug level, so it costs nothing unless traces are exported (the log filter does
/// not see it; the trace layer takes `rekey` spans at every level).
pub(crate) fn db_span(system: &'static str) -> tracing::Span {
    tracing::debug_span!("db", db.system = system)
}

/// Runs `$body` with `$conn` bound to a `&mut` pooled connection of whichever backend `$store`
/// holds, for reads: on SQLite a reader connection, which refuses to write. The body is
/// compiled once per backend: write it once, in diesel's DSL. Evaluates to the body's
/// `Result`; a pool that cannot give a connection is `Failure::Unavailable`, converted with
/// `From` into the body's error type.
macro_rules! with_conn {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite(pools) => {
                let _span = $crate::db_span("sqlite");
                let waiting = std::time::Instant::now();
                let mut pooled = pools
                    .read
                    .get()
                    .await
                    .map_err($crate::error::pool_failure)?;
                $crate::pool_waited("sqlite", waiting);
                let $conn: &mut $crate::SqliteConn = &mut *pooled;
                $body
            }
            $crate::Pool::Postgres(pool) => {
                let _span = $crate::db_span("postgresql");
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

/// [`with_conn!`] for anything that writes: on SQLite the writer thread (writes queued
/// together share a commit, see [`SqlitePools`]), on PostgreSQL the same pool as reads. The
/// body must evaluate to a `Result`, and so does the macro: on SQLite, the body's once the
/// commit that holds it is done, or `Failure::Unavailable`, converted with `From` and
/// returned, when the write did not commit.
///
/// On SQLite the body runs on another thread, in a `move` closure: it must own what it
/// uses (what it names is moved into it). On both backends it is an `async` block: a `?` in
/// it returns from the body, not from the function around the macro.
macro_rules! with_writer {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite(pools) => {
                let _span = $crate::db_span("sqlite");
                pools
                    .write(move |$conn: &mut $crate::SqliteWriterConn| {
                        let body: $crate::sqlite_writer::Body<'_, _, _> =
                            Box::pin(async move { $body });
                        body
                    })
                    .await?
            }
            $crate::Pool::Postgres(pool) => {
                let _span = $crate::db_span("postgresql");
                let waiting = std::time::Instant::now();
                let mut pooled = pool.get().await.map_err($crate::error::pool_failure)?;
                $crate::pool_waited("postgres", waiting);
                let $conn: &mut diesel_async::AsyncPgConnection = &mut *pooled;
                async { $body }.await
            }
        }
    };
}
pub(crate) use with_writer;
