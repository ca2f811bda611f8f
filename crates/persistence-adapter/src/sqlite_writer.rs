//! SQLite's connections: a pool of readers, one writer connection owned by a thread of its
//! own, and a connection for the checkpoints.
//!
//! **The writer thread.** SQLite lets one connection write at a time, so every write of the
//! process goes to one connection, and a thread of its own runs them back to back: a write
//! is a closure that owns what it writes ([`SqlitePools::write`]), sent through a bounded
//! queue, and its caller awaits the answer. Before, the writes' own tasks took the
//! connection in turn on the HTTP workers, and each hand-off waited for the next writer's
//! worker to get round to polling it: about 100 µs a turn at 32 connections, a third of a
//! sendLink's cycle (docs/PERFORMANCE.md, runs 18 and 19).
//!
//! **Group commit.** A commit is the costly part of a small write: its WAL frames are written
//! and the transaction's bookkeeping done once per commit, and writes that touch the same
//! pages (an index's last leaf, the `events` table's end) write them again in every commit.
//! So the writes that are queued share one transaction: the thread opens it (`BEGIN`), runs
//! each in a savepoint of its own (released when its body returned `Ok`, rolled back
//! otherwise), takes the next queued write until the queue is empty, [`BATCH_WRITES`] ran or
//! [`BATCH_AGE`] passed, and commits. It waits for nobody: under light load every transaction
//! holds one write. No write is answered before the commit that holds it, and when that
//! commit fails every write in it fails ([`Failure::Unavailable`]). A body that panics fails
//! its transaction, and the connection is opened again.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection as _, SimpleAsyncConnection as _, TransactionManager as _};
use futures_util::FutureExt as _;
use rekey_application::Failure;
use tokio::sync::{mpsc, oneshot};

use crate::{SqlitePool, SqliteWriterConn};

/// Writes between two checkpoints of the WAL (the writer's own are off): about SQLite's
/// default of 1000 pages, at a few pages per write.
const CHECKPOINT_EVERY: u64 = 256;

/// The most writes one commit holds: bounds how long the first of them waits for it.
const BATCH_WRITES: usize = 32;

/// No write joins a transaction this long after it began: bounds the first write's wait for
/// the commit when writes are slow (one waiting out another process's write lock, say).
const BATCH_AGE: Duration = Duration::from_millis(2);

/// The most writes waiting for the writer thread; a write beyond them waits for room, up to
/// `database.connect_timeout`. A few batches' worth: more would only wait longer.
const QUEUE: usize = 256;

/// The statement each connection of the file runs first (the writer's, the readers' and the
/// checkpointer's): WAL mode, a busy timeout (for other processes on the file, e.g. `rekey
/// admin`), foreign keys, and syncs at checkpoints only.
pub(crate) const SETUP: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

/// A write's body as the writer thread runs it: a future over the writer connection that
/// completes when first polled (its statements run in place, [`crate::InPlace`]).
pub(crate) type Body<'c, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + 'c>>;

/// SQLite's connections: readers, the writer thread's queue, and the checkpointer.
#[derive(Clone)]
pub(crate) struct SqlitePools {
    /// `database.max_connections` readers (`PRAGMA query_only`, so a write sent to one fails).
    pub(crate) read: SqlitePool,
    /// One connection for the background checkpoints, whose fsyncs run on the blocking pool.
    pub(crate) checkpointer: SqlitePool,
    /// Writes for the writer thread, in the order they came. The thread stops when every
    /// sender is gone.
    queue: mpsc::Sender<Box<dyn Job>>,
    /// The writer thread is running writes.
    busy: Arc<AtomicBool>,
    /// Transactions the writer thread began.
    batches: Arc<AtomicU64>,
    /// How long a write may wait for its turn (`database.connect_timeout`).
    patience: Duration,
    /// [`BATCH_AGE`] in µs, shared with the writer thread, for tests to change.
    #[cfg(test)]
    batch_age: Arc<AtomicU64>,
}

/// One write as the writer thread sees it, whatever its body returns.
trait Job: Send {
    /// When it was queued.
    fn queued(&self) -> Instant;
    /// Runs the body on `conn`: whether it returned `Ok` (its savepoint is kept).
    fn run(&mut self, conn: &mut SqliteWriterConn) -> bool;
    /// Answers the caller: the body's result once it committed, or why not.
    fn answer(self: Box<Self>, outcome: Result<(), Failure>);
}

/// A write and where its answer goes.
struct Write<F, T, E> {
    queued: Instant,
    body: Option<F>,
    /// The body's result; `None` until it ran, or when it did not complete in place.
    done: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<Result<T, E>, Failure>>,
}

impl<F, T, E> Job for Write<F, T, E>
where
    F: for<'c> FnOnce(&'c mut SqliteWriterConn) -> Body<'c, T, E> + Send,
    T: Send,
    E: Send,
{
    fn queued(&self) -> Instant {
        self.queued
    }

    fn run(&mut self, conn: &mut SqliteWriterConn) -> bool {
        let Some(body) = self.body.take() else {
            return false;
        };
        self.done = body(conn).now_or_never();
        matches!(self.done, Some(Ok(_)))
    }

    fn answer(self: Box<Self>, outcome: Result<(), Failure>) {
        let Self { done, reply, .. } = *self;
        let answer = outcome
            .and_then(|()| done.ok_or_else(|| unavailable("the write did not complete in place")));
        // The caller may have gone away (its request was dropped): the write stands.
        let _unheard = reply.send(answer);
    }
}

fn unavailable(why: &str) -> Failure {
    Failure::Unavailable(format!("database: {why}"))
}

/// What `PRAGMA wal_checkpoint` answers (of its three columns, the one we act on).
#[derive(diesel::QueryableByName)]
struct Checkpoint {
    /// 1 when the checkpoint could not finish: a reader or writer was in the way.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
}

/// Opens the writer connection: [`SETUP`], and no checkpoints in its commits (they are done
/// in the background on the checkpointer, see [`Checkpoints`]).
pub(crate) async fn open_writer(path: &str) -> Result<SqliteWriterConn, Failure> {
    let mut conn = SqliteWriterConn::establish(path)
        .await
        .map_err(|e| Failure::Unavailable(format!("database connection: {e}")))?;
    conn.batch_execute(SETUP)
        .await
        .and(conn.batch_execute("PRAGMA wal_autocheckpoint = 0;").await)
        .map_err(|e| Failure::Unavailable(format!("database connection: {e}")))?;
    conn.set_instrumentation(crate::CountStatements::new("sqlite"));
    Ok(conn)
}

/// Runs one of the writer's own statements. They run in place ([`crate::InPlace`]), so the
/// future is ready when first polled; one that is not counts as failed.
fn at_once<T>(
    step: impl std::future::Future<Output = diesel::QueryResult<T>>,
) -> Result<T, String> {
    match step.now_or_never() {
        Some(done) => done.map_err(|e| e.to_string()),
        None => Err("the SQLite writer's statement did not complete in place".into()),
    }
}

type Manager = <SqliteWriterConn as diesel_async::AsyncConnection>::TransactionManager;

impl SqlitePools {
    /// The pools, and the writer thread, which owns `writer` and opens `path` again when
    /// that connection breaks. Called on the runtime that runs the background checkpoints.
    pub(crate) fn new(
        read: SqlitePool,
        checkpointer: SqlitePool,
        writer: SqliteWriterConn,
        path: &str,
        patience: Duration,
    ) -> Result<Self, Failure> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let (busy, batches) = (Arc::<AtomicBool>::default(), Arc::<AtomicU64>::default());
        let batch_age = Arc::new(AtomicU64::new(BATCH_AGE.as_micros() as u64));
        let thread = WriterThread {
            conn: Some(writer),
            path: path.into(),
            jobs,
            patience,
            busy: Arc::clone(&busy),
            batches: Arc::clone(&batches),
            batch_age: Arc::clone(&batch_age),
            writes: 0,
            checkpoints: Checkpoints {
                pool: checkpointer.clone(),
                runtime: tokio::runtime::Handle::current(),
                running: Arc::default(),
                catch_up: Arc::default(),
            },
        };
        std::thread::Builder::new()
            .name("rekey-sqlite-writer".into())
            .spawn(move || thread.run())
            .map_err(|e| Failure::Unavailable(format!("the SQLite writer thread: {e}")))?;
        Ok(Self {
            read,
            checkpointer,
            queue,
            busy,
            batches,
            patience,
            #[cfg(test)]
            batch_age,
        })
    }

    /// The writer thread has stopped: no write can be done (readiness fails).
    pub(crate) fn stopped(&self) -> bool {
        self.queue.is_closed()
    }

    /// Sets how long a transaction takes more writes.
    #[cfg(test)]
    fn set_batch_age(&self, age: Duration) {
        self.batch_age
            .store(age.as_micros() as u64, Ordering::Relaxed);
    }

    /// Transactions the writer thread began so far.
    pub(crate) fn transactions(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// The writer's connections (1) and how many of them are idle (0 while it runs writes).
    pub(crate) fn writer_state(&self) -> (u32, u32) {
        (1, u32::from(!self.busy.load(Ordering::Relaxed)))
    }

    /// Runs `body` on the writer thread, in a savepoint of the transaction it shares with the
    /// writes queued with it (see the module's doc), and answers its result once that
    /// transaction committed. A body that returns `Err` is rolled back to its savepoint and
    /// answered its error.
    ///
    /// The body's future must complete when first polled: it may only run statements on the
    /// connection (which run in place), never wait for anything else.
    ///
    /// A write whose caller goes away is still done: once queued it runs.
    ///
    /// # Errors
    /// [`Failure::Unavailable`] when the write waited longer than `database.connect_timeout`
    /// for its turn (it was not run), did not commit, left a transaction of its own open or
    /// panicked (it was undone), or the writer thread has stopped.
    pub(crate) async fn write<F, T, E>(&self, body: F) -> Result<Result<T, E>, Failure>
    where
        F: for<'c> FnOnce(&'c mut SqliteWriterConn) -> Body<'c, T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let write = Box::new(Write {
            queued: Instant::now(),
            body: Some(body),
            done: None,
            reply,
        });
        match tokio::time::timeout(self.patience, self.queue.send(write)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(unavailable("the SQLite writer has stopped")),
            Err(_) => return Err(timed_out()),
        }
        answer
            .await
            .unwrap_or_else(|_| Err(unavailable("the SQLite writer dropped the write")))
    }
}

fn timed_out() -> Failure {
    Failure::Unavailable("database connection: timed out waiting for the SQLite writer".into())
}

/// The writer thread: the connection, and the writes queued for it.
struct WriterThread {
    /// `None` when it broke (closing it rolled back what it held): opened again before the
    /// next transaction.
    conn: Option<SqliteWriterConn>,
    path: Arc<str>,
    jobs: mpsc::Receiver<Box<dyn Job>>,
    patience: Duration,
    busy: Arc<AtomicBool>,
    batches: Arc<AtomicU64>,
    /// How long a transaction takes more writes, µs ([`BATCH_AGE`]).
    batch_age: Arc<AtomicU64>,
    /// Writes so far, for the checkpoints.
    writes: u64,
    checkpoints: Checkpoints,
}

/// A write run in a transaction, waiting for its commit.
struct Ran {
    job: Box<dyn Job>,
    /// Its failure whatever the commit does (it was undone).
    failed: Option<Failure>,
    /// How long it held the writer (the first write with the transaction's `BEGIN` and
    /// what came before it, the last with the commit).
    held: Duration,
}

/// How a write's savepoint ended when the transaction cannot go on.
enum Broken {
    /// Its body panicked: the connection's state is unknown (a panic inside a statement
    /// leaves it unusable), so it is closed, unused.
    Panicked,
    /// A statement of the savepoint's own failed.
    Savepoint(String),
}

impl WriterThread {
    /// Runs transactions of the queued writes until every sender is gone. A panic outside
    /// a write's body (none is expected) closes the connection and fails that transaction's
    /// writes (their answers are dropped); the thread goes on.
    fn run(mut self) {
        while let Some(first) = self.jobs.blocking_recv() {
            self.busy.store(true, Ordering::Relaxed);
            if std::panic::catch_unwind(AssertUnwindSafe(|| self.batch(first))).is_err() {
                tracing::error!("the SQLite writer panicked: its connection is opened again");
                self.conn = None;
            }
            self.busy.store(false, Ordering::Relaxed);
        }
    }

    /// One transaction: `first`, then the writes queued meanwhile, until the queue is empty,
    /// [`BATCH_WRITES`] ran or [`BATCH_AGE`] passed.
    fn batch(&mut self, first: Box<dyn Job>) {
        let mut mark = Instant::now();
        let conn = match ready(&mut self.conn, &self.path, &self.checkpoints) {
            Ok(conn) => conn,
            Err(failure) => return first.answer(Err(failure)),
        };
        if let Err(error) = at_once(Manager::begin_transaction(conn)) {
            tracing::warn!(%error, "SQLite begin failed");
            self.conn = None;
            return first.answer(Err(unavailable("the transaction did not begin")));
        }
        self.batches.fetch_add(1, Ordering::Relaxed);
        let (began, age) = (
            Instant::now(),
            Duration::from_micros(self.batch_age.load(Ordering::Relaxed)),
        );
        let mut ran: Vec<Ran> = Vec::new();
        let mut next = Some(first);
        let mut broken = None;
        while let Some(mut job) = next.take() {
            if job.queued().elapsed() > self.patience {
                job.answer(Err(timed_out()));
            } else {
                crate::pool_waited("sqlite", job.queued());
                let step = one(conn, &mut *job);
                let held = mark.elapsed();
                mark = Instant::now();
                let (failed, broke) = match step {
                    Ok(failed) => (failed, None),
                    Err(why) => (None, Some(why)),
                };
                ran.push(Ran { job, failed, held });
                if broke.is_some() {
                    broken = broke;
                    break;
                }
            }
            if ran.len() < BATCH_WRITES && began.elapsed() < age {
                next = self.jobs.try_recv().ok();
            }
        }
        let committed = match broken {
            Some(Broken::Panicked) => {
                tracing::error!("a SQLite write panicked: its connection is opened again");
                self.conn = None;
                false
            }
            Some(Broken::Savepoint(error)) => {
                tracing::warn!(%error, "SQLite savepoint failed");
                false
            }
            None if depth(conn) == Some(1) => match at_once(Manager::commit_transaction(conn)) {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(%error, "SQLite commit failed");
                    false
                }
            },
            None => false,
        };
        if !committed
            && let Some(conn) = self.conn.as_mut()
            && !roll_back(conn)
        {
            self.conn = None;
        }
        let commit = mark.elapsed();
        let count = ran.len() as u64;
        for (k, Ran { job, failed, held }) in ran.into_iter().enumerate() {
            // Each write's own time, the first one's with what came before it (a catch-up
            // checkpoint, `BEGIN`), the last one's with the commit: their sum over a second is
            // the share of it the writer was busy, the bound on SQLite's write rate.
            let held = if k as u64 + 1 == count {
                held + commit
            } else {
                held
            };
            metrics::histogram!("rekey_db_writer_held_seconds").record(held.as_secs_f64());
            job.answer(match (failed, committed) {
                (Some(failure), _) => Err(failure),
                (None, true) => Ok(()),
                (None, false) => Err(unavailable("the write did not commit")),
            });
        }
        let before = self.writes;
        self.writes += count;
        if before / CHECKPOINT_EVERY != self.writes / CHECKPOINT_EVERY {
            self.checkpoints.start();
        }
    }
}

/// The writer's connection, ready for a transaction: opened again if it broke, none open (one
/// a failure left is rolled back), and the last background checkpoint caught up.
fn ready<'a>(
    conn: &'a mut Option<SqliteWriterConn>,
    path: &str,
    checkpoints: &Checkpoints,
) -> Result<&'a mut SqliteWriterConn, Failure> {
    if conn
        .as_mut()
        .is_some_and(|open| depth(open) != Some(0) && !roll_back(open))
    {
        *conn = None;
    }
    let conn = match conn {
        Some(conn) => conn,
        empty => empty.insert(
            open_writer(path)
                .now_or_never()
                .unwrap_or_else(|| Err(unavailable("opening the writer did not complete")))?,
        ),
    };
    checkpoints.catch_up(conn);
    Ok(conn)
}

/// Runs one write in its savepoint: `Ok` with the failure it is answered whatever the commit
/// does (`None`: the commit's outcome), `Err` when the transaction cannot go on.
fn one(conn: &mut SqliteWriterConn, job: &mut dyn Job) -> Result<Option<Failure>, Broken> {
    at_once(Manager::begin_transaction(&mut *conn)).map_err(Broken::Savepoint)?;
    let Ok(mut keep) = std::panic::catch_unwind(AssertUnwindSafe(|| job.run(&mut *conn))) else {
        return Err(Broken::Panicked);
    };
    // A transaction the body left open inside its savepoint (it was dropped inside one) is
    // rolled back, and the write with it.
    let mut failed = None;
    while depth(conn).is_some_and(|depth| depth > 2) {
        keep = false;
        failed = Some(unavailable("the write left a transaction open"));
        at_once(Manager::rollback_transaction(&mut *conn)).map_err(Broken::Savepoint)?;
    }
    if depth(conn) != Some(2) {
        return Err(Broken::Savepoint("the write's savepoint is gone".into()));
    }
    match keep {
        true => at_once(Manager::commit_transaction(&mut *conn)),
        false => at_once(Manager::rollback_transaction(&mut *conn)),
    }
    .map_err(Broken::Savepoint)?;
    Ok(failed)
}

/// Back to no transaction, however deep it was: `false` when that failed (the connection
/// must then be closed, which rolls back what it held).
fn roll_back(conn: &mut SqliteWriterConn) -> bool {
    while matches!(
        Manager::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(Some(_))
    ) {
        if at_once(Manager::rollback_transaction(&mut *conn)).is_err() {
            return false;
        }
    }
    !Manager::is_broken_transaction_manager(conn)
}

/// The WAL's checkpoints: in the background on the checkpointer's connection (on the
/// blocking pool), and caught up by the writer thread between transactions.
struct Checkpoints {
    pool: SqlitePool,
    /// The runtime the background checkpoints run on.
    runtime: tokio::runtime::Handle,
    /// A background checkpoint is running.
    running: Arc<AtomicBool>,
    /// A background checkpoint has finished: the writer thread checkpoints what was written
    /// meanwhile, so that its next transaction finds the WAL fully copied and starts it over.
    catch_up: Arc<AtomicBool>,
}

impl Checkpoints {
    /// Copies the WAL into the database file in the background, unless a checkpoint is
    /// running. `PASSIVE`: it waits for no one, and no reader or writer waits for it. When it
    /// is done, the writer thread catches up ([`Checkpoints::catch_up`]), so the WAL starts
    /// over rather than growing.
    fn start(&self) {
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let (pool, running) = (self.pool.clone(), Arc::clone(&self.running));
        let catch_up = Arc::clone(&self.catch_up);
        self.runtime.spawn(async move {
            let done = match pool.get().await {
                Ok(mut conn) => conn
                    .batch_execute("PRAGMA wal_checkpoint(PASSIVE)")
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match done {
                Ok(()) => catch_up.store(true, Ordering::Release),
                Err(error) => tracing::warn!(%error, "SQLite checkpoint failed"),
            }
            running.store(false, Ordering::Release);
        });
    }

    /// Finishes what the last background checkpoint left, on the writer's connection
    /// between transactions (nothing is appended meanwhile).
    ///
    /// SQLite starts the WAL over only when a write begins with every frame copied to the
    /// database and no reader still on an older snapshot. The background checkpoint never
    /// gets there under load: writes go on while it copies. So the writer thread copies the
    /// few frames written since, and RESTART waits for the readers still on older snapshots
    /// (reads are short) so that the next transaction starts the WAL over instead of growing
    /// it. When it gives up (a reader outlasted the busy timeout), the next transaction tries
    /// again: a missed restart is a WAL that grows until the next one.
    fn catch_up(&self, conn: &mut SqliteWriterConn) {
        // While a background checkpoint runs, the two would wait for each other: the next
        // transaction tries again.
        if self.running.load(Ordering::Acquire) || !self.catch_up.swap(false, Ordering::AcqRel) {
            return;
        }
        let restart = {
            use diesel_async::RunQueryDsl as _;
            at_once(diesel::sql_query("PRAGMA wal_checkpoint(RESTART)").get_result(conn))
        };
        match restart {
            Ok(Checkpoint { busy: 0 }) => {}
            Ok(Checkpoint { .. }) => self.catch_up.store(true, Ordering::Release),
            Err(error) => {
                self.catch_up.store(true, Ordering::Release);
                tracing::warn!(%error, "SQLite checkpoint failed");
            }
        }
    }
}

/// The writer connection's transaction depth as diesel counts it (0: none), `None` when its
/// transaction manager is in error.
fn depth(conn: &mut SqliteWriterConn) -> Option<u32> {
    Manager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .ok()
        .map(|depth| depth.map_or(0, std::num::NonZeroU32::get))
}

#[cfg(test)]
mod tests {
    use diesel_async::RunQueryDsl as _;

    use super::*;

    /// The SQLite pools of a new file with one table `t (x INTEGER)` and a table `d` whose
    /// foreign key to `t` is checked at commit time; a write waits at most `patience`.
    async fn pools(patience: Duration) -> (SqlitePools, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let mut settings = crate::DatabaseSettings::for_url(url);
        settings.connect_timeout = patience;
        let store = crate::connect(&settings).await.expect("connect");
        let crate::Pool::Sqlite(pools) = store.pool else {
            unreachable!("a SQLite URL")
        };
        // However slowly the test's tasks queue, they join the transaction they queued for.
        pools.set_batch_age(Duration::from_secs(60));
        run(
            &pools,
            "CREATE TABLE t (x INTEGER PRIMARY KEY); CREATE TABLE d (x INTEGER \
             REFERENCES t (x) DEFERRABLE INITIALLY DEFERRED);",
        )
        .await
        .expect("tables");
        (pools, dir)
    }

    /// Runs `sql` in a write of its own, and waits for its commit.
    async fn run(pools: &SqlitePools, sql: &'static str) -> Result<(), Failure> {
        pools
            .write(move |conn: &mut SqliteWriterConn| {
                let body: Body<'_, (), Failure> = Box::pin(async move {
                    conn.batch_execute(sql)
                        .await
                        .map_err(|e| Failure::Unexpected(e.to_string()))
                });
                body
            })
            .await?
    }

    /// Inserts `x` into `table` in a write of its own, and waits for its commit.
    async fn insert(pools: &SqlitePools, table: &str, x: i32) -> Result<(), Failure> {
        let sql = format!("INSERT INTO {table} (x) VALUES ({x})");
        pools
            .write(move |conn: &mut SqliteWriterConn| {
                let body: Body<'_, (), Failure> = Box::pin(async move {
                    diesel::sql_query(sql)
                        .execute(conn)
                        .await
                        .map(drop)
                        .map_err(|e| Failure::Unexpected(e.to_string()))
                });
                body
            })
            .await?
    }

    /// What a test write does after its statement.
    enum Then {
        /// Answers this.
        Answer(Result<(), Failure>),
        /// Tells `entered` it holds the writer thread, waits until `gate`'s sender is
        /// dropped, then answers `answer`.
        Hold {
            entered: oneshot::Sender<()>,
            gate: std::sync::mpsc::Receiver<()>,
            answer: Result<(), Failure>,
        },
        /// Opens a transaction of its own and inserts 10 into `t` in it, and returns `Ok`.
        LeaveOpen,
        /// Panics.
        Panic,
    }

    /// Spawns a write that runs `sql`, then does `then`.
    fn spawn_write(
        pools: &SqlitePools,
        sql: &'static str,
        then: Then,
    ) -> tokio::task::JoinHandle<Result<(), Failure>> {
        let pools = pools.clone();
        tokio::spawn(async move {
            pools
                .write(move |conn: &mut SqliteWriterConn| {
                    let body: Body<'_, (), Failure> = Box::pin(async move {
                        let failed = |e: diesel::result::Error| Failure::Unexpected(e.to_string());
                        conn.batch_execute(sql).await.map_err(failed)?;
                        match then {
                            Then::Answer(answer) => answer,
                            Then::Hold {
                                entered,
                                gate,
                                answer,
                            } => {
                                let _ = entered.send(());
                                let _ = gate.recv();
                                answer
                            }
                            Then::LeaveOpen => {
                                at_once(Manager::begin_transaction(&mut *conn))
                                    .expect("a savepoint left open");
                                let insert = "INSERT INTO t (x) VALUES (10)";
                                conn.batch_execute(insert).await.map_err(failed)
                            }
                            Then::Panic => panic!("a body that panics"),
                        }
                    });
                    body
                })
                .await?
        })
    }

    /// A write that runs `sql` and then holds the writer thread until the returned sender is
    /// dropped, then answers `answer`; returned once it holds the thread.
    async fn holding(
        pools: &SqlitePools,
        sql: &'static str,
        answer: Result<(), Failure>,
    ) -> (
        std::sync::mpsc::Sender<()>,
        tokio::task::JoinHandle<Result<(), Failure>>,
    ) {
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let (entered, holds) = oneshot::channel();
        let then = Then::Hold {
            entered,
            gate,
            answer,
        };
        let task = spawn_write(pools, sql, then);
        holds.await.expect("the write holds the writer");
        (release, task)
    }

    /// Spawns a write of `sql` that then does `then`, and returns once it is queued for the
    /// writer thread.
    async fn queue_one(
        pools: &SqlitePools,
        sql: &'static str,
        then: Then,
    ) -> tokio::task::JoinHandle<Result<(), Failure>> {
        let room = pools.queue.capacity();
        let task = spawn_write(pools, sql, then);
        while pools.queue.capacity() == room {
            tokio::task::yield_now().await;
        }
        task
    }

    /// Spawns a write of `x` into `table` for each of `xs` and returns once all of them are
    /// queued for the writer thread.
    async fn queue(
        pools: &SqlitePools,
        table: &'static str,
        xs: std::ops::Range<i32>,
    ) -> Vec<tokio::task::JoinHandle<Result<(), Failure>>> {
        let room = pools.queue.capacity();
        let tasks: Vec<_> = xs
            .clone()
            .map(|x| {
                let pools = pools.clone();
                tokio::spawn(async move { insert(&pools, table, x).await })
            })
            .collect();
        while pools.queue.capacity() + xs.len() > room {
            tokio::task::yield_now().await;
        }
        tasks
    }

    /// What `t` holds, read on a reader connection (so only what was committed).
    async fn committed(pools: &SqlitePools) -> Vec<i32> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            x: i32,
        }
        let mut conn = pools.read.get().await.expect("reader");
        let rows: Vec<Row> = diesel::sql_query("SELECT x FROM t ORDER BY x")
            .load(&mut *conn)
            .await
            .expect("select");
        rows.into_iter().map(|row| row.x).collect()
    }

    fn batches(pools: &SqlitePools) -> u64 {
        pools.transactions()
    }

    const PATIENCE: Duration = Duration::from_secs(30);

    /// With nobody queued, a write is a transaction of its own, committed when it returns.
    #[tokio::test]
    async fn a_write_alone_commits_at_once() {
        let (pools, _dir) = pools(PATIENCE).await;
        let before = batches(&pools);
        insert(&pools, "t", 1).await.expect("committed");
        assert_eq!(committed(&pools).await, [1]);
        insert(&pools, "t", 2).await.expect("committed");
        assert_eq!(committed(&pools).await, [1, 2]);
        assert_eq!(batches(&pools) - before, 2, "one transaction each");
    }

    /// Holds the writer thread with a write of 0, queues writes of `1..=n` behind it, lets go
    /// once they are all queued, and returns how many transactions the `n + 1` writes took,
    /// after checking that none was answered before its commit and all of them committed.
    async fn transactions_for(pools: &SqlitePools, n: i32) -> u64 {
        let before = batches(pools);
        let (release, first) = holding(pools, "INSERT INTO t (x) VALUES (0)", Ok(())).await;
        let queued = queue(pools, "t", 1..n + 1).await;
        assert!(committed(pools).await.is_empty(), "not committed yet");
        drop(release);
        first.await.expect("task").expect("committed");
        for task in queued {
            task.await.expect("task").expect("committed");
        }
        assert_eq!(committed(pools).await, (0..=n).collect::<Vec<_>>());
        batches(pools) - before
    }

    /// Five writes queue behind one that holds the writer thread: the six share one
    /// transaction, and none is answered before it committed.
    #[tokio::test]
    async fn writes_queued_together_share_one_commit() {
        let (pools, _dir) = pools(PATIENCE).await;
        assert_eq!(transactions_for(&pools, 5).await, 1, "one for six");
    }

    /// A transaction takes at most 32 writes: 41 commit in two.
    #[tokio::test]
    async fn a_transaction_holds_at_most_32_writes() {
        let (pools, _dir) = pools(PATIENCE).await;
        assert_eq!(transactions_for(&pools, 40).await, 2, "32, then 9");
    }

    /// A transaction takes no more writes once its age is up (here at once): the writes
    /// queued behind a held one each commit in a transaction of their own.
    #[tokio::test]
    async fn a_transaction_takes_no_write_after_its_age() {
        let (pools, _dir) = pools(PATIENCE).await;
        pools.set_batch_age(Duration::ZERO);
        assert_eq!(transactions_for(&pools, 2).await, 3, "one each");
    }

    /// A write whose body returned an error is rolled back to its savepoint and answered
    /// its error; the write after it, in the same transaction, commits.
    #[tokio::test]
    async fn a_write_that_failed_is_undone_alone() {
        let (pools, _dir) = pools(PATIENCE).await;
        let before = batches(&pools);
        let refused = Err(Failure::Unexpected("refused".into()));
        let (release, first) = holding(&pools, "INSERT INTO t (x) VALUES (1)", refused).await;
        let queued = queue(&pools, "t", 2..3).await;
        drop(release);
        assert!(matches!(
            first.await.expect("task"),
            Err(Failure::Unexpected(why)) if why == "refused"
        ));
        for task in queued {
            task.await.expect("task").expect("committed");
        }
        assert_eq!(committed(&pools).await, [2]);
        assert_eq!(batches(&pools) - before, 1, "in the same transaction");
    }

    /// The commit fails (a deferred foreign key): every write in the transaction is told so
    /// and none is kept; the writer then commits the next write.
    #[tokio::test]
    async fn a_failed_commit_fails_every_write_in_it() {
        let (pools, _dir) = pools(PATIENCE).await;
        let (release, first) = holding(&pools, "INSERT INTO d (x) VALUES (42)", Ok(())).await;
        let queued = queue(&pools, "t", 1..3).await;
        drop(release);
        assert!(matches!(
            first.await.expect("task"),
            Err(Failure::Unavailable(_))
        ));
        for task in queued {
            assert!(matches!(
                task.await.expect("task"),
                Err(Failure::Unavailable(_))
            ));
        }
        assert!(committed(&pools).await.is_empty());
        insert(&pools, "t", 3)
            .await
            .expect("the next write commits");
        assert_eq!(committed(&pools).await, [3]);
    }

    /// A write whose body left a transaction of its own open (as a body dropped inside
    /// `transaction` does) is undone and told so; the write queued behind it, in the same
    /// transaction, commits.
    #[tokio::test]
    async fn a_write_that_left_a_transaction_open_is_undone_and_told_so() {
        let (pools, _dir) = pools(PATIENCE).await;
        let before = batches(&pools);
        let (release, first) = holding(&pools, "INSERT INTO t (x) VALUES (0)", Ok(())).await;
        let left_open = queue_one(&pools, "INSERT INTO t (x) VALUES (1)", Then::LeaveOpen).await;
        let queued = queue(&pools, "t", 2..3).await;
        drop(release);
        first.await.expect("task").expect("committed");
        assert!(matches!(
            left_open.await.expect("task"),
            Err(Failure::Unavailable(why)) if why.contains("left a transaction open")
        ));
        for task in queued {
            task.await.expect("task").expect("committed");
        }
        assert_eq!(committed(&pools).await, [0, 2]);
        assert_eq!(batches(&pools) - before, 1, "in the same transaction");
    }

    /// A write whose body panicked fails its transaction (the connection is closed unused:
    /// a panic inside a statement leaves it unusable), the writes before it in that
    /// transaction with it; the writer thread opens the connection again and goes on.
    #[tokio::test]
    async fn a_write_that_panicked_fails_its_transaction_and_the_writer_goes_on() {
        let (pools, _dir) = pools(PATIENCE).await;
        let (release, first) = holding(&pools, "INSERT INTO t (x) VALUES (0)", Ok(())).await;
        let panics = queue_one(&pools, "INSERT INTO t (x) VALUES (1)", Then::Panic).await;
        let after = queue_one(&pools, "SELECT 1", Then::Answer(Ok(()))).await;
        drop(release);
        for task in [first, panics] {
            assert!(matches!(
                task.await.expect("task"),
                Err(Failure::Unavailable(_))
            ));
        }
        after.await.expect("task").expect("the next transaction");
        assert!(committed(&pools).await.is_empty());
        insert(&pools, "t", 2).await.expect("the next write");
        assert_eq!(committed(&pools).await, [2]);
    }

    /// A write that waited for its turn longer than the patience is not run, and one that
    /// finds the queue full waits no longer than that either: both are told so.
    #[tokio::test]
    async fn writes_that_wait_too_long_are_not_run() {
        let (pools, _dir) = pools(Duration::from_secs(1)).await;
        let (release, first) = holding(&pools, "INSERT INTO t (x) VALUES (0)", Ok(())).await;
        let queued = queue(&pools, "t", 1..QUEUE as i32 + 1).await;
        assert_eq!(pools.queue.capacity(), 0, "the queue is full");
        let refused = insert(&pools, "t", 1000).await;
        assert!(matches!(refused, Err(Failure::Unavailable(why)) if why.contains("timed out")));
        drop(release);
        first.await.expect("task").expect("committed");
        for task in queued {
            assert!(matches!(
                task.await.expect("task"),
                Err(Failure::Unavailable(why)) if why.contains("timed out")
            ));
        }
        assert_eq!(committed(&pools).await, [0], "none of the late writes ran");
        insert(&pools, "t", 2).await.expect("the next write");
        assert_eq!(committed(&pools).await, [0, 2]);
    }
}
