//! SQLite's connections: a pool of readers, one writer that every write of the process takes
//! in turn, and a connection for the checkpoints.
//!
//! **Group commit.** A commit is the costly part of a small write: its WAL frames are written
//! and the transaction's bookkeeping done once per commit, and writes that touch the same
//! pages (an index's last leaf, the `events` table's end) write them again in every commit.
//! So writes that queue for the writer share one transaction: the first opens it (`BEGIN`),
//! each runs in a savepoint of its own (released when its body is done, rolled back when the
//! body did not finish), and the last one in the queue commits for all of them, at most
//! [`BATCH_WRITES`] writes or [`BATCH_AGE`] after the first. A write whose turn came while
//! others waited hands the turn on and awaits the commit: no write is acknowledged before the
//! commit that holds it, and when that commit fails every write in it fails
//! ([`Failure::Unavailable`]). Without a queue (light load) every write commits alone, as
//! before.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection as _, SimpleAsyncConnection as _, TransactionManager as _};
use futures_util::FutureExt as _;
use rekey_application::Failure;
use tokio::sync::watch;

use crate::{SqlitePool, SqliteWriterConn};

/// Writes between two checkpoints of the WAL (the writer's own are off): about SQLite's
/// default of 1000 pages, at a few pages per write.
const CHECKPOINT_EVERY: u64 = 256;

/// The most writes one commit holds: bounds how long the first of them waits for it.
const BATCH_WRITES: u32 = 32;

/// The longest a commit is put off for the writes queued behind the first.
const BATCH_AGE: Duration = Duration::from_millis(2);

/// When a transaction is still open this long after it began, a task of its own takes the
/// turn and commits it: the writes that were to commit it may have gone away (their requests
/// were dropped while queued, or their bodies returned early) and left it open, holding the
/// file's write lock and its writes unseen.
const SWEEP: Duration = Duration::from_millis(50);

/// The statement each connection of the file runs first (the writer's, the readers' and the
/// checkpointer's): WAL mode, a busy timeout (for other processes on the file, e.g. `rekey
/// admin`), foreign keys, and syncs at checkpoints only.
pub(crate) const SETUP: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

/// SQLite's connections: readers, the one writer, and the checkpointer.
#[derive(Clone)]
pub(crate) struct SqlitePools {
    /// `database.max_connections` readers (`PRAGMA query_only`, so a write sent to one fails).
    pub(crate) read: SqlitePool,
    /// One connection for the checkpoints, whose fsyncs run on the blocking pool: on the
    /// writer they stalled the HTTP worker that held it (docs/PERFORMANCE.md, run 17).
    pub(crate) checkpointer: SqlitePool,
    /// The writer connection, which writers take in turn, in the order they came (a fair
    /// queue keeps the tail short).
    turn: Arc<tokio::sync::Mutex<Slot>>,
    /// The file, to open the writer again when its connection broke.
    path: Arc<str>,
    /// Writers waiting for their turn: while there are some, a commit waits for them.
    queued: Arc<AtomicUsize>,
    /// [`BATCH_AGE`] (longer in tests, whose tasks may be slow to queue).
    batch_age: Duration,
    /// How long a write waits for its turn (`database.connect_timeout`).
    patience: Duration,
    /// Writes so far, for the checkpoints.
    writes: Arc<AtomicU64>,
    /// A checkpoint is running.
    checkpointing: Arc<AtomicBool>,
    /// A background checkpoint has finished: the next writer checkpoints what was written
    /// meanwhile, so that its own transaction finds the WAL fully copied and starts it over.
    catch_up: Arc<AtomicBool>,
}

/// The writer connection and the transaction its writes share.
struct Slot {
    conn: SqliteWriterConn,
    /// The connection must be opened again (a statement of the batch's bookkeeping failed).
    broken: bool,
    /// The open transaction, if any.
    batch: Option<Batch>,
    /// Transactions begun so far (each one's number).
    batches: u64,
}

/// One transaction that several writes share.
struct Batch {
    /// Its number.
    id: u64,
    /// When it began.
    began: Instant,
    /// Writes done in it.
    writes: u32,
    /// Told `Some(true)` when it committed, `Some(false)` when it did not.
    outcome: watch::Sender<Option<bool>>,
}

/// What `PRAGMA wal_checkpoint` answers (of its three columns, the one we act on).
#[derive(diesel::QueryableByName)]
struct Checkpoint {
    /// 1 when the checkpoint could not finish: a reader or writer was in the way.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
}

/// Opens the writer connection: [`SETUP`], and no checkpoints in its commits (they are done
/// on the checkpointer, see [`SqlitePools::checkpoint`]).
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

/// Runs one of the writer's bookkeeping statements. They run in place ([`crate::InPlace`]),
/// so the future is ready when first polled; one that is not counts as failed.
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
    pub(crate) fn new(
        read: SqlitePool,
        checkpointer: SqlitePool,
        writer: SqliteWriterConn,
        path: &str,
        patience: Duration,
    ) -> Self {
        Self {
            read,
            checkpointer,
            turn: Arc::new(tokio::sync::Mutex::new(Slot {
                conn: writer,
                broken: false,
                batch: None,
                batches: 0,
            })),
            path: path.into(),
            queued: Arc::default(),
            batch_age: BATCH_AGE,
            patience,
            writes: Arc::default(),
            checkpointing: Arc::default(),
            catch_up: Arc::default(),
        }
    }

    /// The writer's connections (1) and how many of them are idle (0 while a write holds it).
    pub(crate) fn writer_state(&self) -> (u32, u32) {
        (1, u32::from(self.turn.try_lock().is_ok()))
    }

    /// Waits for the writer's turn, then opens the write's savepoint (and the transaction,
    /// when none is open).
    ///
    /// # Errors
    /// [`Failure::Unavailable`] when the turn does not come within `patience`, or the
    /// connection cannot be (re)opened or begin.
    pub(crate) async fn writer(&self) -> Result<Writer<'_>, Failure> {
        let turn = {
            // Counted while waiting, however the wait ends (a dropped request included).
            let _queued = Queued::new(&self.queued);
            tokio::time::timeout(self.patience, self.turn.lock()).await
        };
        let mut slot = turn.map_err(|_| {
            Failure::Unavailable(
                "database connection: timed out waiting for the SQLite writer".into(),
            )
        })?;
        let since = Instant::now();
        if slot.batch.is_none() && depth(&mut slot) != Some(0) {
            // Between transactions, no transaction may be open: one left by a body that was
            // dropped inside it (or a failure) is rolled back.
            Self::roll_back(&mut slot);
        }
        if slot.broken {
            slot.conn = open_writer(&self.path).await?;
            slot.broken = false;
        }
        if slot.batch.is_none() && self.catch_up.swap(false, Ordering::AcqRel) {
            // Between transactions: where a checkpoint can restart the WAL.
            self.catch_up().await;
        }
        // Nobody queued behind it and no transaction open: the write runs as it is, its
        // statements committing as they run (no savepoint, no shared transaction).
        let alone = slot.batch.is_none() && self.queued.load(Ordering::Acquire) == 0;
        if !alone && slot.batch.is_none() {
            at_once(Manager::begin_transaction(&mut slot.conn)).map_err(|error| {
                slot.broken = true;
                Failure::Unavailable(format!("database: {error}"))
            })?;
            slot.batches += 1;
            let outcome = watch::Sender::new(None);
            self.sweep(slot.batches, outcome.subscribe());
            slot.batch = Some(Batch {
                id: slot.batches,
                began: since,
                writes: 0,
                outcome,
            });
        }
        // The write's own savepoint.
        if !alone && let Err(error) = at_once(Manager::begin_transaction(&mut slot.conn)) {
            Self::end_batch(&mut slot, false);
            return Err(Failure::Unavailable(format!("database: {error}")));
        }
        let writes = self.writes.fetch_add(1, Ordering::Relaxed) + 1;
        if writes.is_multiple_of(CHECKPOINT_EVERY) {
            self.checkpoint();
        }
        Ok(Writer {
            pools: self,
            slot,
            since,
            alone,
            done: false,
        })
    }

    /// Commits (or, `commit` false, rolls back) the open transaction and tells its writes.
    /// A failure leaves the connection to be opened again: its transaction state is unknown.
    fn end_batch(slot: &mut Slot, commit: bool) -> bool {
        let Some(batch) = slot.batch.take() else {
            return false;
        };
        // Only the transaction itself: a savepoint left open below it would make this
        // `COMMIT` a `RELEASE`.
        let committed = commit
            && depth(slot) == Some(1)
            && match at_once(Manager::commit_transaction(&mut slot.conn)) {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(%error, "SQLite commit failed");
                    false
                }
            };
        if !committed {
            Self::roll_back(slot);
        }
        batch.outcome.send_replace(Some(committed));
        committed
    }

    /// Back to no transaction, however deep it was; on failure, a new connection (closing
    /// this one rolls back what it held).
    fn roll_back(slot: &mut Slot) {
        while matches!(
            Manager::transaction_manager_status_mut(&mut slot.conn).transaction_depth(),
            Ok(Some(_))
        ) {
            if at_once(Manager::rollback_transaction(&mut slot.conn)).is_err() {
                slot.broken = true;
                break;
            }
        }
        slot.broken |= Manager::is_broken_transaction_manager(&mut slot.conn);
    }

    /// After [`SWEEP`], commits batch `id` if it is still open (see [`SWEEP`]).
    fn sweep(&self, id: u64, outcome: watch::Receiver<Option<bool>>) {
        let turn = Arc::clone(&self.turn);
        tokio::spawn(async move {
            tokio::time::sleep(SWEEP).await;
            if outcome.borrow().is_some() {
                return;
            }
            let mut slot = turn.lock().await;
            if slot.batch.as_ref().is_some_and(|open| open.id == id) {
                Self::end_batch(&mut slot, true);
            }
        });
    }

    /// Finishes what the last background checkpoint left, in the writer's turn and between
    /// transactions (nothing is appended meanwhile), on the checkpointer's connection (the
    /// fsyncs on the blocking pool, while the HTTP worker serves other requests).
    ///
    /// SQLite starts the WAL over only when a write begins with every frame copied to the
    /// database and no reader still on an older snapshot. The background checkpoint never
    /// gets there under load: writes go on while it copies. So the writer's turn copies the
    /// few frames written since, and RESTART waits for the readers still on older snapshots
    /// (reads are short) so that the next transaction starts the WAL over instead of growing
    /// it. When it gives up (a reader outlasted the busy timeout), the next writer tries
    /// again: a missed restart is a WAL that grows until the next one.
    async fn catch_up(&self) {
        if self.checkpointing.load(Ordering::Acquire) {
            // A background checkpoint holds the connection: the turn would wait for it. The
            // next writer tries again.
            self.catch_up.store(true, Ordering::Release);
            return;
        }
        // A task of its own, awaited: a dropped request must neither cancel the statement
        // midway nor lose the request for the next catch-up.
        let (pool, catch_up) = (self.checkpointer.clone(), Arc::clone(&self.catch_up));
        let restart = tokio::spawn(async move {
            let done = match pool.get().await {
                Ok(mut conn) => {
                    use diesel_async::RunQueryDsl as _;
                    diesel::sql_query("PRAGMA wal_checkpoint(RESTART)")
                        .get_result::<Checkpoint>(&mut *conn)
                        .await
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            match done {
                Ok(Checkpoint { busy: 0 }) => {}
                Ok(Checkpoint { .. }) => catch_up.store(true, Ordering::Release),
                Err(error) => {
                    catch_up.store(true, Ordering::Release);
                    tracing::warn!(%error, "SQLite checkpoint failed");
                }
            }
        });
        if let Err(error) = restart.await {
            self.catch_up.store(true, Ordering::Release);
            tracing::warn!(%error, "SQLite checkpoint failed");
        }
    }

    /// Copies the WAL into the database file in the background, on the checkpointer's
    /// connection (so on the blocking pool), unless a checkpoint is running. `PASSIVE`: it
    /// waits for no one, and no reader or writer waits for it. When it is done, the next
    /// writer catches up ([`SqlitePools::catch_up`]), so the WAL starts over rather than
    /// growing.
    fn checkpoint(&self) {
        if self.checkpointing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (pool, running) = (self.checkpointer.clone(), Arc::clone(&self.checkpointing));
        let catch_up = Arc::clone(&self.catch_up);
        tokio::spawn(async move {
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
}

/// The writer connection, held for one write (its turn), inside that write's savepoint.
pub(crate) struct Writer<'a> {
    pools: &'a SqlitePools,
    slot: tokio::sync::MutexGuard<'a, Slot>,
    /// When the turn came.
    since: Instant,
    /// Nobody was queued: no savepoint, no shared transaction.
    alone: bool,
    /// [`Writer::finish`] ran.
    done: bool,
}

/// A finished write's wait for the commit that holds it.
pub(crate) enum Commit {
    /// Committed, or it failed.
    Ended(bool),
    /// A later write of the same transaction commits it (or, after [`SWEEP`], a task of its
    /// own).
    Pending(watch::Receiver<Option<bool>>),
}

impl Commit {
    /// Waits for the commit.
    ///
    /// # Errors
    /// [`Failure::Unavailable`] when the transaction that held the write did not commit.
    pub(crate) async fn wait(self) -> Result<(), Failure> {
        let committed = match self {
            Self::Ended(committed) => committed,
            Self::Pending(mut outcome) => outcome
                .wait_for(Option::is_some)
                .await
                .is_ok_and(|outcome| *outcome == Some(true)),
        };
        committed
            .then_some(())
            .ok_or_else(|| Failure::Unavailable("database: the write did not commit".into()))
    }
}

/// Counts a writer waiting for its turn until it is dropped.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn new(queued: &'a AtomicUsize) -> Self {
        queued.fetch_add(1, Ordering::AcqRel);
        Self(queued)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The writer connection's transaction depth as diesel counts it (0: none), `None` when its
/// transaction manager is in error.
fn depth(slot: &mut Slot) -> Option<u32> {
    Manager::transaction_manager_status_mut(&mut slot.conn)
        .transaction_depth()
        .ok()
        .map(|depth| depth.map_or(0, std::num::NonZeroU32::get))
}

impl<'a> Writer<'a> {
    /// The connection, inside this write's savepoint.
    pub(crate) fn conn(&mut self) -> &mut SqliteWriterConn {
        &mut self.slot.conn
    }

    /// Ends the write, whose body ran to its end: releases its savepoint, then commits the
    /// transaction unless writes are queued behind it (and it is neither full nor old), and
    /// hands the turn on. What the body did is kept; a body that failed has already undone
    /// its own work (a failed statement changes nothing; `transaction` rolls back).
    pub(crate) fn finish(mut self) -> Commit {
        self.end(true)
    }

    fn end(&mut self, keep: bool) -> Commit {
        self.done = true;
        let slot = &mut *self.slot;
        if self.alone {
            // Its statements committed as they ran, as before group commit. A transaction
            // its body left open (it was dropped inside one) is rolled back.
            let clean = depth(slot) == Some(0);
            SqlitePools::roll_back(slot);
            return Commit::Ended(clean);
        }
        // A transaction the body left open inside its savepoint (it was dropped or panicked
        // inside one) is rolled back, and the write with it.
        let (mut keep, mut undone) = (keep, false);
        while depth(slot).is_some_and(|depth| depth > 2) {
            (keep, undone) = (false, true);
            if at_once(Manager::rollback_transaction(&mut slot.conn)).is_err() {
                break;
            }
        }
        let step = match (keep, depth(slot)) {
            (_, depth) if depth != Some(2) => Err("the write's savepoint is gone".to_owned()),
            (true, _) => at_once(Manager::commit_transaction(&mut slot.conn)),
            (false, _) => at_once(Manager::rollback_transaction(&mut slot.conn)),
        };
        if let Err(error) = step {
            tracing::warn!(%error, "SQLite savepoint failed");
            return Commit::Ended(SqlitePools::end_batch(slot, false));
        }
        let Some(batch) = slot.batch.as_mut() else {
            return Commit::Ended(false);
        };
        batch.writes += 1;
        let more = self.pools.queued.load(Ordering::Acquire) > 0
            && batch.writes < BATCH_WRITES
            && batch.began.elapsed() < self.pools.batch_age;
        let commit = match more {
            true => Commit::Pending(batch.outcome.subscribe()),
            false => Commit::Ended(SqlitePools::end_batch(slot, true)),
        };
        match undone {
            true => Commit::Ended(false),
            false => commit,
        }
    }
}

impl Drop for Writer<'_> {
    /// A write that did not reach [`Writer::finish`] (its body returned early or was dropped)
    /// is rolled back to its savepoint; the others in the transaction are not touched.
    /// Records how long the turn was held (`rekey_db_writer_held_seconds`): its sum over a
    /// second is the share of that second in which the writer was busy, the bound on
    /// SQLite's write rate.
    fn drop(&mut self) {
        if !self.done {
            drop(self.end(false));
        }
        metrics::histogram!("rekey_db_writer_held_seconds")
            .record(self.since.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use diesel_async::RunQueryDsl as _;

    use super::*;

    /// The SQLite pools of a new file with one table `t (x INTEGER)`, with a foreign key
    /// checked at commit time (`d.x` must be in `t`), and writes batched however slowly the
    /// test's tasks queue.
    async fn pools() -> (SqlitePools, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = crate::connect(&crate::DatabaseSettings::for_url(url))
            .await
            .expect("connect");
        let crate::Pool::Sqlite(mut pools) = store.pool else {
            unreachable!("a SQLite URL")
        };
        pools.batch_age = Duration::from_secs(60);
        let mut writer = pools.writer().await.expect("writer");
        writer
            .conn()
            .batch_execute(
                "CREATE TABLE t (x INTEGER PRIMARY KEY); CREATE TABLE d (x INTEGER \
                 REFERENCES t (x) DEFERRABLE INITIALLY DEFERRED);",
            )
            .await
            .expect("tables");
        writer.finish().wait().await.expect("committed");
        (pools, dir)
    }

    /// Inserts `x` into `table` in a write of its own, and waits for its commit.
    async fn insert(pools: &SqlitePools, table: &str, x: i32) -> Result<(), Failure> {
        let mut writer = pools.writer().await?;
        diesel::sql_query(format!("INSERT INTO {table} (x) VALUES ({x})"))
            .execute(writer.conn())
            .await
            .map_err(|e| Failure::Unexpected(e.to_string()))?;
        writer.finish().wait().await
    }

    /// The writer, its turn come while the writes of `xs` into `table` queued behind it,
    /// after running `sql` (not yet finished); and the queued writes.
    async fn holding<'a>(
        pools: &'a SqlitePools,
        sql: &str,
        table: &'static str,
        xs: std::ops::Range<i32>,
    ) -> (
        Writer<'a>,
        Vec<tokio::task::JoinHandle<Result<(), Failure>>>,
    ) {
        let gate = pools.turn.lock().await;
        let mut first = Box::pin(pools.writer());
        assert!(
            futures_util::poll!(&mut first).is_pending(),
            "first in line"
        );
        let queued = queue(pools, table, xs).await;
        drop(gate);
        let mut writer = first.await.expect("writer");
        diesel::sql_query(sql)
            .execute(writer.conn())
            .await
            .expect("the first write");
        (writer, queued)
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

    /// Spawns a write of `x` into `table` for each of `xs` and returns once all of them wait
    /// for the turn.
    async fn queue(
        pools: &SqlitePools,
        table: &'static str,
        xs: std::ops::Range<i32>,
    ) -> Vec<tokio::task::JoinHandle<Result<(), Failure>>> {
        let before = AtomicUsize::load(&pools.queued, Ordering::Acquire);
        let tasks: Vec<_> = xs
            .clone()
            .map(|x| {
                let pools = pools.clone();
                tokio::spawn(async move { insert(&pools, table, x).await })
            })
            .collect();
        while AtomicUsize::load(&pools.queued, Ordering::Acquire) < before + xs.len() {
            tokio::task::yield_now().await;
        }
        tasks
    }

    fn batches(pools: &SqlitePools) -> u64 {
        pools.turn.try_lock().expect("the writer is free").batches
    }

    /// With nobody queued, a write runs as it is: committed when it returns, in no shared
    /// transaction.
    #[tokio::test]
    async fn a_write_alone_commits_at_once() {
        let (pools, _dir) = pools().await;
        let before = batches(&pools);
        insert(&pools, "t", 1).await.expect("committed");
        insert(&pools, "t", 2).await.expect("committed");
        assert_eq!(committed(&pools).await, [1, 2]);
        assert_eq!(
            batches(&pools),
            before,
            "no transaction shared, none opened"
        );
    }

    /// Five writes queue behind one that holds the writer: the six share one transaction,
    /// and none of them returns before it committed.
    #[tokio::test]
    async fn writes_queued_together_share_one_commit() {
        let (pools, _dir) = pools().await;
        let before = batches(&pools);
        let (first, queued) = holding(&pools, "INSERT INTO t (x) VALUES (0)", "t", 1..6).await;
        let pending = first.finish();
        assert!(matches!(pending, Commit::Pending { .. }), "others queued");
        assert!(committed(&pools).await.is_empty(), "not committed yet");
        pending.wait().await.expect("committed");
        assert_eq!(committed(&pools).await, [0, 1, 2, 3, 4, 5]);
        for task in queued {
            task.await.expect("task").expect("committed");
        }
        assert_eq!(
            batches(&pools) - before,
            1,
            "one transaction for six writes"
        );
    }

    /// A write whose body returned early (its `Writer` dropped unfinished) is rolled back to
    /// its savepoint; the write after it, in the same transaction, commits.
    #[tokio::test]
    async fn a_write_that_did_not_finish_is_undone_alone() {
        let (pools, _dir) = pools().await;
        let (first, queued) = holding(&pools, "INSERT INTO t (x) VALUES (1)", "t", 2..3).await;
        drop(first);
        for task in queued {
            task.await.expect("task").expect("committed");
        }
        assert_eq!(committed(&pools).await, [2]);
    }

    /// The commit fails (a deferred foreign key): every write in the transaction is told so
    /// and none is kept; the writer then commits the next write.
    #[tokio::test]
    async fn a_failed_commit_fails_every_write_in_it() {
        let (pools, _dir) = pools().await;
        let (first, queued) = holding(&pools, "INSERT INTO d (x) VALUES (42)", "t", 1..3).await;
        let pending = first.finish();
        assert!(matches!(pending.wait().await, Err(Failure::Unavailable(_))));
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

    /// The write queued behind the first goes away before its turn (its request was
    /// dropped): the transaction it was to commit is committed by its sweep, and the wait
    /// that went away is no longer counted (the next write runs alone).
    #[tokio::test]
    async fn a_write_left_waiting_commits_itself() {
        let (pools, _dir) = pools().await;
        let (first, queued) = holding(&pools, "INSERT INTO t (x) VALUES (1)", "t", 2..3).await;
        let pending = first.finish();
        assert!(matches!(pending, Commit::Pending { .. }));
        for task in &queued {
            task.abort();
        }
        for task in queued {
            assert!(task.await.is_err_and(|e| e.is_cancelled()));
        }
        assert_eq!(
            AtomicUsize::load(&pools.queued, Ordering::Acquire),
            0,
            "a dropped wait is no longer counted"
        );
        pending.wait().await.expect("committed by its sweep");
        assert_eq!(committed(&pools).await, [1]);
        insert(&pools, "t", 2).await.expect("alone");
        assert_eq!(committed(&pools).await, [1, 2]);
    }

    /// A write whose body left a transaction of its own open (as a body dropped or
    /// panicking inside `transaction` does) is undone and told so; the write queued behind
    /// it, in the same transaction, commits.
    #[tokio::test]
    async fn a_write_that_left_a_transaction_open_is_undone_and_told_so() {
        let (pools, _dir) = pools().await;
        let (mut first, queued) = holding(&pools, "INSERT INTO t (x) VALUES (1)", "t", 2..3).await;
        at_once(Manager::begin_transaction(first.conn())).expect("a savepoint left open");
        diesel::sql_query("INSERT INTO t (x) VALUES (10)")
            .execute(first.conn())
            .await
            .expect("insert");
        assert!(matches!(
            first.finish().wait().await,
            Err(Failure::Unavailable(_))
        ));
        for task in queued {
            task.await.expect("task").expect("committed");
        }
        assert_eq!(committed(&pools).await, [2]);
    }
}
