//! Worker threads that run the calls' use cases, each on a current-thread runtime.
//!
//! tonic requires a service's futures to be `Send`, and the use cases' futures, generic over
//! `Ports`, cannot be proved `Send` today: rustc's check of auto traits across `await`s with
//! borrowed, higher-ranked lifetimes fails ("implementation of `Send` is not general enough",
//! rust-lang/rust#110338) although every value involved is `Send`. actix-web never needs it:
//! each of its workers is a single-threaded runtime. The gRPC adapter does the same for the
//! part that needs it: the tonic task sends the owned request (a `Send` closure) to a worker,
//! the worker builds and polls the use case's future locally, and sends the owned answer back.
//! A call whose client has gone is dropped on the worker too, as on the HTTP side.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{mpsc, oneshot};
use tracing::Instrument as _;

/// A call, ready to be built on a worker from the ports.
type Job<P> = Box<dyn FnOnce(Arc<P>) -> Pin<Box<dyn Future<Output = ()>>> + Send>;

/// Calls waiting for one worker beyond which senders wait (backpressure, not unbounded memory).
const QUEUE: usize = 256;

/// The worker threads, fed round-robin.
pub(crate) struct Workers<P> {
    queues: Vec<mpsc::Sender<Job<P>>>,
    next: AtomicUsize,
}

impl<P> std::fmt::Debug for Workers<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("threads", &self.queues.len())
            .finish()
    }
}

impl<P: Send + Sync + 'static> Workers<P> {
    /// Starts `threads` workers (at least one). They end when the last `Workers` is dropped
    /// and their calls are done.
    ///
    /// # Errors
    /// A message when a runtime or a thread cannot be made.
    pub(crate) fn start(ports: &Arc<P>, threads: usize) -> Result<Self, String> {
        let mut queues = Vec::new();
        for index in 0..threads.max(1) {
            let (sender, mut receiver) = mpsc::channel::<Job<P>>(QUEUE);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("gRPC worker runtime: {e}"))?;
            let ports = ports.clone();
            std::thread::Builder::new()
                .name(format!("rekey-grpc-{index}"))
                .spawn(move || {
                    let local = tokio::task::LocalSet::new();
                    local.block_on(&runtime, async move {
                        while let Some(job) = receiver.recv().await {
                            tokio::task::spawn_local(job(ports.clone()));
                        }
                    });
                    // The queue is closed: finish the calls still running.
                    runtime.block_on(local);
                })
                .map_err(|e| format!("gRPC worker thread: {e}"))?;
            queues.push(sender);
        }
        Ok(Self {
            queues,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs the future `make` builds from the ports on a worker, in the caller's span.
    /// Dropping the returned future (the client went away) drops the call on the worker.
    ///
    /// # Errors
    /// [`Lost::NoWorker`] when no worker takes the call (they have stopped);
    /// [`Lost::Panicked`] when the call ended without an answer (it panicked).
    pub(crate) async fn run<T, F, Fut>(&self, make: F) -> Result<T, Lost>
    where
        F: FnOnce(Arc<P>) -> Fut + Send + 'static,
        Fut: Future<Output = T> + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let span = tracing::Span::current();
        let job: Job<P> = Box::new(move |ports| {
            Box::pin(
                async move {
                    let mut answer = answer;
                    let call = make(ports);
                    let out = tokio::select! {
                        out = call => Some(out),
                        () = answer.closed() => None,
                    };
                    if let Some(out) = out {
                        let _ = answer.send(out);
                    }
                }
                .instrument(span),
            )
        });
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.queues.len();
        let queue = self.queues.get(index).ok_or(Lost::NoWorker)?;
        queue.send(job).await.map_err(|_| Lost::NoWorker)?;
        answered.await.map_err(|_| Lost::Panicked)
    }
}

/// Why a call sent to a worker brought no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lost {
    /// No worker took it.
    NoWorker,
    /// It ended without an answer: it panicked (tokio caught it; the worker lives on).
    Panicked,
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;

    #[tokio::test]
    async fn a_future_that_is_not_send_runs_on_a_worker() {
        let workers = Workers::start(&Arc::new(40_u32), 2).expect("workers");
        for _ in 0..4 {
            let answer = workers
                .run(|ports| async move {
                    // An `Rc` held across an await: this future is not `Send`.
                    let local = Rc::new(*ports);
                    tokio::task::yield_now().await;
                    *local + 2
                })
                .await;
            assert_eq!(answer, Ok(42));
        }
    }

    #[tokio::test]
    async fn a_panicking_call_is_lost_and_the_worker_lives_on() {
        let workers = Workers::start(&Arc::new(()), 1).expect("workers");
        let lost = workers
            .run(|_ports| async move {
                if std::hint::black_box(true) {
                    panic!("a bug in a use case");
                }
            })
            .await;
        assert_eq!(lost, Err(Lost::Panicked));
        assert_eq!(workers.run(|_ports| async move { 7 }).await, Ok(7));
    }

    #[tokio::test]
    async fn a_dropped_call_is_dropped_on_the_worker() {
        let workers = Arc::new(Workers::start(&Arc::new(()), 1).expect("workers"));
        let (started, on_start) = oneshot::channel::<()>();
        let (dropped, on_drop) = oneshot::channel::<()>();
        struct Guard(Option<oneshot::Sender<()>>);
        impl Drop for Guard {
            fn drop(&mut self) {
                if let Some(dropped) = self.0.take() {
                    let _ = dropped.send(());
                }
            }
        }
        let call = tokio::spawn({
            let workers = workers.clone();
            async move {
                workers
                    .run(move |_ports| async move {
                        let _guard = Guard(Some(dropped));
                        let _ = started.send(());
                        std::future::pending::<()>().await;
                    })
                    .await
            }
        });
        on_start.await.expect("the call started");
        call.abort();
        tokio::time::timeout(std::time::Duration::from_secs(5), on_drop)
            .await
            .expect("dropped in time")
            .expect("guard dropped");
    }
}
