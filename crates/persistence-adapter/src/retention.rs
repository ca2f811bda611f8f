//! The `Retention` port: bounded deletes of ended outbox messages, long-expired codes, full
//! rate-limit buckets and ended event deliveries.
//!
//! Raw SQL, like the outbox claim: each delete is `DELETE … WHERE key IN (SELECT key … ORDER BY
//! time LIMIT n)`, a limited sub-select that diesel's DSL does not take as a delete target.
//! The text is the same for both backends except the placeholders and one clause: on
//! PostgreSQL the sub-select locks its rows with `FOR UPDATE SKIP LOCKED`. Locking re-checks
//! the condition on each row's latest version, so a row that a concurrent write changed (a
//! dead message retried, a code replaced, a bucket taken from) is not deleted; a row another
//! transaction holds (a request, or another instance's pruning) is skipped and left for the
//! next run instead of waited for, so instances pruning at once never wait on, or deadlock
//! with, each other. On SQLite the statement runs under the one write lock, so nothing changes
//! between its sub-select and its delete.
//!
//! The sub-selects read the indexes of migration `2026-11-30-000003_retention` (and
//! `outbox_due` on SQLite, `rate_limits_tat` for buckets), so a batch costs the same however
//! large the backlog is. Sent messages, codes and buckets go oldest first, in index order;
//! dead and skipped messages in no particular order (on SQLite they are two ranges of
//! `outbox_due`, and ordering them would sort every due row each time). The outer delete finds
//! the batch's rows by primary key, or, where the planner judges one sequential scan of a small
//! table cheaper, with one hash join (PostgreSQL's EXPLAIN ANALYZE on 100 000 rows: 15–45 ms a
//! batch of 1000 either way). Repeating the condition outside the sub-select, which the lock
//! makes redundant, made PostgreSQL hash-join against every due row instead.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Timestamp};
use diesel_async::RunQueryDsl;
use rekey_application::Failure;
use rekey_application::ports::{Prunable, Retention};

use crate::error::query_failure;
use crate::{Store, with_writer};

/// Sent messages, by `sent_at`.
const SENT: &str = "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
     WHERE status = 'sent' AND sent_at < $1 ORDER BY sent_at LIMIT $2{lock})";

/// Dead and skipped messages, by the end of their last attempt's lease.
const ENDED: &str = "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
     WHERE status IN ('dead', 'skipped') AND next_attempt_at < $1 LIMIT $2{lock})";

/// Codes, by `expires_at`.
const CODES: &str = "DELETE FROM password_codes WHERE user_id IN (SELECT user_id \
     FROM password_codes WHERE expires_at < $1 ORDER BY expires_at LIMIT $2{lock})";

/// Buckets whose tat (µs) has passed: full again, the same as no row.
const BUCKETS: &str = "DELETE FROM rate_limits WHERE key IN (SELECT key FROM rate_limits \
     WHERE tat < $1 ORDER BY tat LIMIT $2{lock})";

/// Sent and dead event deliveries, by when their event was recorded.
const EVENTS: &str = "DELETE FROM event_deliveries WHERE id IN (SELECT id FROM event_deliveries \
     WHERE status IN ('sent', 'dead') AND created_at < $1 ORDER BY created_at LIMIT $2{lock})";

/// One statement for each backend.
struct Sql {
    postgres: String,
    sqlite: String,
}

impl Sql {
    fn new(text: &str) -> Self {
        Self {
            postgres: text.replace("{lock}", " FOR UPDATE SKIP LOCKED"),
            sqlite: text.replace("{lock}", "").replace('$', "?"),
        }
    }
}

static SQL: LazyLock<[Sql; 5]> = LazyLock::new(|| {
    [
        Sql::new(SENT),
        Sql::new(ENDED),
        Sql::new(CODES),
        Sql::new(BUCKETS),
        Sql::new(EVENTS),
    ]
});

fn statement(what: Prunable) -> &'static Sql {
    let index = match what {
        Prunable::SentMessages => 0,
        Prunable::EndedMessages => 1,
        Prunable::ExpiredCodes => 2,
        Prunable::FullBuckets => 3,
        Prunable::EndedEvents => 4,
    };
    &SQL[index]
}

impl Retention for Store {
    async fn prune(
        &self,
        what: Prunable,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, Failure> {
        let sql = statement(what);
        let sql = if self.backend() == "sqlite" {
            sql.sqlite.as_str()
        } else {
            sql.postgres.as_str()
        };
        let limit = i64::from(limit);
        let deleted = if what == Prunable::FullBuckets {
            let before = before.timestamp_micros();
            with_writer!(self, |conn| diesel::sql_query(sql)
                .bind::<BigInt, _>(before)
                .bind::<BigInt, _>(limit)
                .execute(conn)
                .await
                .map_err(query_failure))?
        } else {
            let before = before.naive_utc();
            with_writer!(self, |conn| diesel::sql_query(sql)
                .bind::<Timestamp, _>(before)
                .bind::<BigInt, _>(limit)
                .execute(conn)
                .await
                .map_err(query_failure))?
        };
        Ok(deleted as u64)
    }
}
