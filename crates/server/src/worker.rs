//! The delivery worker: runs the `deliver_due` and `deliver_events` use cases in a loop. It wakes at once when this
//! process queues a message, and polls for messages queued by other instances (or due for a
//! retry). Stopping lets the batch in flight finish.

use std::sync::Arc;
use std::time::Duration;

use rekey_application::ports::DeliveryPorts;
use rekey_application::usecase::deliver::deliver_due;
use rekey_application::usecase::events::deliver_events;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// A running worker.
#[derive(Debug)]
pub struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Starts the worker on the current runtime.
pub fn spawn<P: DeliveryPorts>(ports: Arc<P>, wake: Arc<Notify>, poll: Duration) -> Worker {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(ports, wake, poll, stopped));
    Worker { stop, task }
}

impl Worker {
    /// Stops after the batch in flight, and waits for it.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "delivery worker failed");
        }
    }
}

async fn run<P: DeliveryPorts>(
    ports: Arc<P>,
    wake: Arc<Notify>,
    poll: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let batch = usize::try_from(ports.delivery().batch_size).unwrap_or(usize::MAX);
    tracing::info!(poll_ms = poll.as_millis(), "delivery worker started");
    loop {
        if *stopped.borrow() {
            break;
        }
        let messages_full = match deliver_due(&*ports).await {
            Ok(report) => {
                if report.claimed > 0 {
                    tracing::debug!(?report, "delivery batch");
                }
                report.claimed >= batch
            }
            Err(failure) => {
                tracing::warn!(%failure, "delivery batch failed; retrying at the next poll");
                false
            }
        };
        // Events every round too, so a busy outbox does not hold them back.
        let events_full = match deliver_events(&*ports).await {
            Ok(report) => {
                if report.claimed > 0 {
                    tracing::debug!(?report, "event batch");
                }
                report.claimed >= batch
            }
            Err(failure) => {
                tracing::warn!(%failure, "event batch failed; retrying at the next poll");
                false
            }
        };
        let full = messages_full || events_full;
        if full {
            continue; // more may be due right now
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(poll) => {}
            _ = stopped.changed() => break,
        }
    }
    tracing::info!("delivery worker stopped");
}
