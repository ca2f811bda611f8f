//! Retention: deletes what no longer needs keeping (ended outbox messages, long-expired codes,
//! full rate-limit buckets, ended event deliveries) in bounded batches, so that storage grows only with the events.

use chrono::{DateTime, TimeDelta, Utc};
use tracing::instrument;

use crate::Failure;
use crate::ports::{Clock, Prunable, Retention};

/// How much is kept, and how it is deleted (`delivery.retention` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// How long sent, skipped and dead messages are kept after they ended, and how long a code
    /// is kept after it expired (so SetPassword answers "Code is expired", not "Code not
    /// found", for that long). More than zero.
    pub retention: TimeDelta,
    /// Rows deleted per statement, so no statement holds its locks for long.
    pub batch_size: u32,
    /// Statements per kind of row and run; what is left waits for the next run.
    pub max_batches: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            retention: TimeDelta::days(7),
            batch_size: 1000,
            max_batches: 100,
        }
    }
}

/// What one run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Sent messages.
    pub sent_messages: u64,
    /// Dead and skipped messages.
    pub ended_messages: u64,
    /// Expired codes.
    pub expired_codes: u64,
    /// Full rate-limit buckets.
    pub full_buckets: u64,
    /// Sent and dead event deliveries.
    pub ended_events: u64,
    /// Whether a kind still had rows to delete when its `max_batches` ran out.
    pub more: bool,
}

impl PruneReport {
    /// Rows deleted in all.
    pub fn total(&self) -> u64 {
        self.sent_messages
            + self.ended_messages
            + self.expired_codes
            + self.full_buckets
            + self.ended_events
    }

    fn count(&mut self, what: Prunable, rows: u64) {
        let slot = match what {
            Prunable::SentMessages => &mut self.sent_messages,
            Prunable::EndedMessages => &mut self.ended_messages,
            Prunable::ExpiredCodes => &mut self.expired_codes,
            Prunable::FullBuckets => &mut self.full_buckets,
            Prunable::EndedEvents => &mut self.ended_events,
        };
        *slot += rows;
    }
}

/// The time before which rows of `what` go, at `now`: messages and codes are kept for the
/// retention after they ended or expired; a bucket goes as soon as it is full.
pub fn cutoff(what: Prunable, now: DateTime<Utc>, policy: &RetentionPolicy) -> DateTime<Utc> {
    match what {
        Prunable::SentMessages
        | Prunable::EndedMessages
        | Prunable::ExpiredCodes
        | Prunable::EndedEvents => now
            .checked_sub_signed(policy.retention)
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
        Prunable::FullBuckets => now,
    }
}

/// One run of the retention job at the clock's time: for each kind of row, deletes batches of
/// `batch_size` until a batch comes back short (nothing more is due) or `max_batches` ran out
/// (`more` in the report). Counts every deleted row in
/// `rekey_retention_pruned_total{what}`.
///
/// # Errors
/// [`Failure`] when the store fails; the rows deleted before stay deleted (and counted).
#[instrument(skip_all)]
pub async fn prune<S: Retention, C: Clock>(
    store: &S,
    clock: &C,
    policy: &RetentionPolicy,
) -> Result<PruneReport, Failure> {
    let now = clock.now();
    let batch = policy.batch_size.max(1);
    let mut report = PruneReport::default();
    for what in Prunable::ALL {
        let before = cutoff(what, now, policy);
        let mut batches = 0;
        loop {
            if batches == policy.max_batches {
                report.more = true;
                break;
            }
            batches += 1;
            let deleted = store.prune(what, before, batch).await?;
            if deleted > 0 {
                metrics::counter!("rekey_retention_pruned_total", "what" => what.as_str())
                    .increment(deleted);
                report.count(what, deleted);
            }
            if deleted < u64::from(batch) {
                break;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// A store with `rows` due of each kind, answering in batches, recording each call.
    struct Due {
        rows: Mutex<HashMap<Prunable, u64>>,
        calls: Mutex<Vec<(Prunable, DateTime<Utc>, u32)>>,
        fail: Option<Prunable>,
    }

    impl Due {
        fn new(rows: [(Prunable, u64); 5]) -> Self {
            Self {
                rows: Mutex::new(rows.into_iter().collect()),
                calls: Mutex::default(),
                fail: None,
            }
        }
    }

    impl Retention for Due {
        async fn prune(
            &self,
            what: Prunable,
            before: DateTime<Utc>,
            limit: u32,
        ) -> Result<u64, Failure> {
            self.calls.lock().expect("lock").push((what, before, limit));
            if self.fail == Some(what) {
                return Err(Failure::Unavailable("down".into()));
            }
            let mut rows = self.rows.lock().expect("lock");
            let left = rows.get_mut(&what).expect("kind");
            let deleted = (*left).min(u64::from(limit));
            *left -= deleted;
            Ok(deleted)
        }
    }

    struct At(DateTime<Utc>);

    impl Clock for At {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-03-01T12:00:00Z".parse().expect("time")
    }

    fn policy(batch_size: u32, max_batches: u32) -> RetentionPolicy {
        RetentionPolicy {
            retention: TimeDelta::days(7),
            batch_size,
            max_batches,
        }
    }

    #[tokio::test]
    async fn each_kind_is_deleted_in_batches_until_one_comes_back_short() {
        let store = Due::new([
            (Prunable::SentMessages, 25),
            (Prunable::EndedMessages, 10),
            (Prunable::ExpiredCodes, 0),
            (Prunable::FullBuckets, 3),
            (Prunable::EndedEvents, 4),
        ]);
        let report = prune(&store, &At(now()), &policy(10, 100))
            .await
            .expect("prune");
        assert_eq!(
            report,
            PruneReport {
                sent_messages: 25,
                ended_messages: 10,
                expired_codes: 0,
                full_buckets: 3,
                ended_events: 4,
                more: false,
            }
        );
        assert_eq!(report.total(), 42);
        let week_ago: DateTime<Utc> = "2026-02-22T12:00:00Z".parse().expect("time");
        let calls = store.calls.lock().expect("lock").clone();
        assert_eq!(
            calls,
            [
                (Prunable::SentMessages, week_ago, 10),
                (Prunable::SentMessages, week_ago, 10),
                (Prunable::SentMessages, week_ago, 10),
                // 10 of 10: a full batch, so one more to see that nothing is left
                (Prunable::EndedMessages, week_ago, 10),
                (Prunable::EndedMessages, week_ago, 10),
                (Prunable::ExpiredCodes, week_ago, 10),
                // buckets go as soon as they are full: the cutoff is now
                (Prunable::FullBuckets, now(), 10),
                (Prunable::EndedEvents, week_ago, 10),
            ]
        );
    }

    #[tokio::test]
    async fn a_run_stops_after_max_batches_and_says_more_is_left() {
        let store = Due::new([
            (Prunable::SentMessages, 50),
            (Prunable::EndedMessages, 0),
            (Prunable::ExpiredCodes, 0),
            (Prunable::FullBuckets, 0),
            (Prunable::EndedEvents, 0),
        ]);
        let report = prune(&store, &At(now()), &policy(10, 2))
            .await
            .expect("prune");
        assert_eq!((report.sent_messages, report.more), (20, true));
        let next = prune(&store, &At(now()), &policy(10, 100))
            .await
            .expect("prune");
        assert_eq!((next.sent_messages, next.more), (30, false));
    }

    #[tokio::test]
    async fn a_failure_stops_the_run_and_keeps_what_was_deleted() {
        let mut store = Due::new([
            (Prunable::SentMessages, 5),
            (Prunable::EndedMessages, 5),
            (Prunable::ExpiredCodes, 5),
            (Prunable::FullBuckets, 5),
            (Prunable::EndedEvents, 5),
        ]);
        store.fail = Some(Prunable::ExpiredCodes);
        let failure = prune(&store, &At(now()), &policy(10, 100)).await;
        assert_eq!(failure, Err(Failure::Unavailable("down".into())));
        let rows = store.rows.lock().expect("lock").clone();
        assert_eq!(rows[&Prunable::SentMessages], 0);
        assert_eq!(rows[&Prunable::FullBuckets], 5, "not reached");
    }

    #[test]
    fn a_retention_beyond_the_calendar_keeps_everything() {
        let huge = RetentionPolicy {
            retention: TimeDelta::MAX,
            ..RetentionPolicy::default()
        };
        assert_eq!(
            cutoff(Prunable::SentMessages, now(), &huge),
            DateTime::<Utc>::MIN_UTC
        );
        assert_eq!(cutoff(Prunable::FullBuckets, now(), &huge), now());
    }
}
