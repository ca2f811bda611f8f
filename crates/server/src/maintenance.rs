//! The maintenance task: runs the retention job (`usecase::retention::prune`) at start and then
//! every [`EVERY`], so ended outbox messages, long-expired codes and full rate-limit buckets do
//! not pile up. Every instance runs it; on one shared database that is safe (see the
//! `Retention` port).

use std::time::Duration;

use rekey_application::Failure;
use rekey_application::ports::{Clock, Retention};
use rekey_application::usecase::retention::{PruneReport, RetentionPolicy, prune};
use tokio::task::JoinHandle;

/// How often the job runs.
pub const EVERY: Duration = Duration::from_secs(600);

/// The pause before the next run when a run stopped with rows still due (its batches ran
/// out): short, so a backlog drains quickly, but long enough to let other work in.
pub const AGAIN: Duration = Duration::from_secs(1);

/// When to run next after a run that ended with `outcome`: soon if it left rows due, else after
/// [`EVERY`] (a failure too: the database may be down, and the next run catches up).
pub fn next_run(outcome: &Result<PruneReport, Failure>) -> Duration {
    match outcome {
        Ok(report) if report.more => AGAIN,
        _ => EVERY,
    }
}

/// Starts the task on the current runtime; abort the handle to stop it (a batch is one short
/// statement, so stopping mid-run loses nothing).
pub fn spawn<S, C>(store: S, clock: C, policy: RetentionPolicy) -> JoinHandle<()>
where
    S: Retention + 'static,
    C: Clock + 'static,
{
    tokio::spawn(async move {
        loop {
            let outcome = prune(&store, &clock, &policy).await;
            match &outcome {
                Ok(report) if report.total() > 0 || report.more => {
                    tracing::debug!(?report, "retention: deleted what had ended");
                }
                Ok(_) => {}
                Err(failure) => tracing::warn!(%failure, "retention failed; trying again later"),
            }
            tokio::time::sleep(next_run(&outcome)).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backlog_runs_again_soon_anything_else_waits_the_interval() {
        let done = PruneReport {
            sent_messages: 1000,
            ..PruneReport::default()
        };
        let backlog = PruneReport { more: true, ..done };
        assert_eq!(next_run(&Ok(done)), EVERY);
        assert_eq!(next_run(&Ok(PruneReport::default())), EVERY);
        assert_eq!(next_run(&Ok(backlog)), AGAIN);
        assert_eq!(
            next_run(&Err(Failure::Unavailable("database down".into()))),
            EVERY
        );
    }
}
