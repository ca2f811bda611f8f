//! PostgreSQL's connections, kept on the threads that use them.
//!
//! A tokio-postgres connection is driven by a task on the runtime that opened it. actix-web
//! runs each HTTP worker on a runtime of its own, on one thread, so a query from one worker
//! over a connection opened anywhere else wakes another thread for every message it sends and
//! every answer it reads (issue 15's profile: the drivers ran on tokio's workers as well as on
//! actix's). So each single-threaded runtime gets a pool of its own, opened on first use on
//! that thread and driven there; everything on the multi-threaded runtime (gRPC, delivery,
//! maintenance, the admin commands) shares one pool.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use diesel_async::pooled_connection::{PoolError, PoolableConnection as _};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use tokio::runtime::{Handle, RuntimeFlavor};

use crate::tls::PgTarget;

/// One bb8 pool of PostgreSQL connections.
pub(crate) type PgPool = bb8::Pool<PgManager>;

/// A connection checked out of a [`PgPools`].
pub(crate) type PgConnection = bb8::PooledConnection<'static, PgManager>;

/// Opens PostgreSQL connections for bb8 (TLS as `sslmode` asks, statements counted), and
/// drops those that are broken, or were opened before a statement met a server that only
/// reads (SQLSTATE 25006: a standby, or a primary turned read-only). One such answer means the
/// server they all reach has stopped taking writes, so each is closed when it comes back to
/// the pool, and the next checkout connects anew: with `target_session_attrs=read-write`,
/// past the servers that only read, to the primary.
pub(crate) struct PgManager {
    pub(crate) target: PgTarget,
}

/// How many statements have met a read-only server, in this process.
static READ_ONLY_ANSWERS: AtomicU64 = AtomicU64::new(0);

/// A statement met a read-only server: every connection opened before is dropped when it is
/// returned to its pool.
pub(crate) fn met_read_only_server() {
    READ_ONLY_ANSWERS.fetch_add(1, Ordering::AcqRel);
}

/// A pooled PostgreSQL connection: the diesel connection it derefs to, and how many read-only
/// answers there had been when it was opened.
pub(crate) struct PgConn {
    conn: AsyncPgConnection,
    opened_after: u64,
    /// Given up on while a statement ran: closed, never handed out again.
    discarded: bool,
}

impl PgConn {
    /// Closes this connection when it is returned: a statement on it was abandoned, and its
    /// answer would hold up the next one.
    pub(crate) fn discard(&mut self) {
        self.discarded = true;
    }
}

impl std::ops::Deref for PgConn {
    type Target = AsyncPgConnection;
    fn deref(&self) -> &AsyncPgConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.conn
    }
}

impl bb8::ManageConnection for PgManager {
    type Connection = PgConn;
    type Error = PoolError;

    async fn connect(&self) -> Result<PgConn, PoolError> {
        let opened_after = READ_ONLY_ANSWERS.load(Ordering::Acquire);
        let mut conn = crate::tls::connect(&self.target)
            .await
            .map_err(PoolError::ConnectionError)?;
        conn.set_instrumentation(crate::CountStatements::new("postgres"));
        Ok(PgConn {
            conn,
            opened_after,
            discarded: false,
        })
    }

    /// At checkout, without a round trip: an idle connection opened before a read-only
    /// answer is dropped rather than used once more.
    async fn is_valid(&self, conn: &mut PgConn) -> Result<(), PoolError> {
        match self.has_broken(conn) {
            false => Ok(()),
            true => Err(PoolError::QueryError(
                diesel::result::Error::BrokenTransactionManager,
            )),
        }
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.discarded
            || conn.opened_after != READ_ONLY_ANSWERS.load(Ordering::Acquire)
            || std::thread::panicking()
            || conn.conn.is_broken()
    }
}

/// The pools of one [`crate::Store`] on PostgreSQL: a shared one, and one per single-threaded
/// runtime that uses the store. Cloning shares them.
#[derive(Clone)]
pub(crate) struct PgPools {
    shared: PgPool,
    /// Opens a thread's own pool (sized by `database.max_connections`).
    open: Arc<dyn Fn() -> PgPool + Send + Sync>,
    /// Every local pool opened, with its runtime's liveness, for [`PgPools::states`]. Also
    /// what a thread's pools are told apart by, store from store.
    locals: Arc<Mutex<Vec<Opened>>>,
    /// No connection is handed out: the server started before the migrations could run.
    held: Arc<AtomicBool>,
    /// How long a reset's write may wait for its commit (`database.connect_timeout`).
    pub(crate) patience: std::time::Duration,
}

/// A local pool, and whether the runtime that drives its connections still runs.
type Opened = (Arc<AtomicBool>, PgPool);

/// A pool of this thread: whose it is (gone when the store is dropped), and whether the
/// runtime that drives its connections still runs.
struct Local {
    owner: Weak<Mutex<Vec<Opened>>>,
    pool: PgPool,
    alive: Arc<AtomicBool>,
}

thread_local! {
    static LOCAL: RefCell<Vec<Local>> = const { RefCell::new(Vec::new()) };
}

/// Set to false when the runtime it was spawned on drops its tasks (shuts down).
struct Sentinel(Arc<AtomicBool>);

impl Drop for Sentinel {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl PgPools {
    /// `shared` for the multi-threaded runtime; `open` makes a pool for a thread of its own.
    pub(crate) fn new(
        shared: PgPool,
        open: impl Fn() -> PgPool + Send + Sync + 'static,
        patience: std::time::Duration,
    ) -> Self {
        Self {
            shared,
            open: Arc::new(open),
            locals: Arc::default(),
            held: Arc::default(),
            patience,
        }
    }

    /// Hands out no connection until [`PgPools::release`].
    pub(crate) fn hold(&self) {
        self.held.store(true, Ordering::Release);
    }

    /// Hands out connections again.
    pub(crate) fn release(&self) {
        self.held.store(false, Ordering::Release);
    }

    /// A connection driven by this thread's runtime when it is single-threaded.
    pub(crate) async fn get(&self) -> Result<PgConnection, bb8::RunError<PoolError>> {
        if self.held.load(Ordering::Acquire) {
            return Err(bb8::RunError::User(PoolError::ConnectionError(
                diesel::ConnectionError::BadConnection(
                    "not migrated yet: the database was not available at start".into(),
                ),
            )));
        }
        self.pool().get_owned().await
    }

    /// The pool for the caller's runtime. (A `spawn_blocking` thread of a single-threaded
    /// runtime counts as a thread of its own; nothing here queries from one.)
    fn pool(&self) -> PgPool {
        let single = Handle::try_current()
            .is_ok_and(|runtime| runtime.runtime_flavor() == RuntimeFlavor::CurrentThread);
        if !single {
            return self.shared.clone();
        }
        LOCAL.with_borrow_mut(|locals| {
            // Pools of stopped runtimes and of dropped stores go (and their connections close).
            locals.retain(|local| {
                local.alive.load(Ordering::Acquire) && local.owner.strong_count() > 0
            });
            let mine = Arc::as_ptr(&self.locals);
            if let Some(local) = locals.iter().find(|local| local.owner.as_ptr() == mine) {
                return local.pool.clone();
            }
            // The connections of this pool are driven by this runtime: when it stops, they
            // stop, and the sentinel (a task that never ends) tells the next caller on this
            // thread to open new ones.
            let alive = Arc::new(AtomicBool::new(true));
            let sentinel = Sentinel(Arc::clone(&alive));
            tokio::spawn(async move {
                let _sentinel = sentinel;
                std::future::pending::<()>().await;
            });
            let pool = (self.open)();
            self.locals
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((Arc::clone(&alive), pool.clone()));
            locals.push(Local {
                owner: Arc::downgrade(&self.locals),
                pool: pool.clone(),
                alive,
            });
            pool
        })
    }

    /// The state of every pool whose runtime still runs: the shared one first.
    pub(crate) fn states(&self) -> Vec<bb8::State> {
        let mut locals = self.locals.lock().unwrap_or_else(PoisonError::into_inner);
        locals.retain(|(alive, _)| alive.load(Ordering::Acquire));
        std::iter::once(self.shared.state())
            .chain(locals.iter().map(|(_, pool)| pool.state()))
            .collect()
    }
}
