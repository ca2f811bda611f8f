//! The load generator: `concurrency` workers send requests back to back for a fixed time
//! after a warm-up; latencies go into an HDR histogram (microseconds, 3 significant digits).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

/// What one scenario at one concurrency measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Answers in the measured window.
    pub requests: u64,
    /// Answers in all, warm-up included (what the server's counters saw).
    pub answered: u64,
    pub errors: u64,
    pub seconds: f64,
    pub histogram: Histogram<u64>,
}

impl Measured {
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    /// A latency percentile in milliseconds.
    pub fn ms(&self, quantile: f64) -> f64 {
        self.histogram.value_at_quantile(quantile) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.histogram.max() as f64 / 1000.0
    }
}

/// A progress bar over `warmup` + `duration` for `label` (drawn on a terminal only), kept up
/// to date with the number of answers in `answered` until the returned task is aborted.
fn progress(
    label: &str,
    warmup: Duration,
    duration: Duration,
    answered: Arc<AtomicU64>,
) -> (ProgressBar, tokio::task::JoinHandle<()>) {
    let total = warmup + duration;
    let bar = ProgressBar::new(u64::try_from(total.as_millis()).unwrap_or(u64::MAX));
    bar.set_style(
        ProgressStyle::with_template("    {prefix:36} [{bar:30}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_owned());
    let ticking = bar.clone();
    let started = Instant::now();
    let ticker = tokio::spawn(async move {
        loop {
            let elapsed = started.elapsed();
            ticking.set_position(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
            let phase = if elapsed < warmup {
                "warm-up"
            } else {
                "measuring"
            };
            ticking.set_message(format!(
                "{phase} {:>4.1}/{:.0} s, {} answers",
                elapsed.as_secs_f64().min(total.as_secs_f64()),
                total.as_secs_f64(),
                answered.load(Ordering::Relaxed)
            ));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    (bar, ticker)
}

/// Runs `request(worker, n)` from `concurrency` workers: `warmup`, then `duration` measured,
/// with a progress bar named `label`. A request answers `Some(true)` for success,
/// `Some(false)` for an error, and `None` when there is no more work (the worker stops;
/// nothing is recorded).
pub async fn run<F, Fut, R>(
    label: &str,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    request: F,
) -> Measured
where
    F: Fn(usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = R> + Send,
    R: Into<Option<bool>>,
{
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let answered = Arc::new(AtomicU64::new(0));
    let (bar, ticker) = progress(label, warmup, duration, answered.clone());
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let (request, answered) = (request.clone(), answered.clone());
        workers.spawn(async move {
            let mut histogram =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
            let (mut requests, mut errors, mut n) = (0_u64, 0_u64, 0_u64);
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let answer: Option<bool> = request(worker, n).await.into();
                let Some(ok) = answer else {
                    break;
                };
                answered.fetch_add(1, Ordering::Relaxed);
                n += 1;
                if sent >= measure_from {
                    let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    let _ = histogram.record(micros.clamp(1, 60_000_000));
                    requests += 1;
                    if !ok {
                        errors += 1;
                    }
                }
            }
            (histogram, requests, errors, n)
        });
    }
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
    let (mut requests, mut errors, mut answered) = (0, 0, 0);
    while let Some(done) = workers.join_next().await {
        let (histogram, r, e, n) = done.expect("worker");
        let _ = total.add(histogram);
        requests += r;
        errors += e;
        answered += n;
    }
    ticker.abort();
    bar.finish_and_clear();
    Measured {
        requests,
        answered,
        errors,
        seconds: duration.as_secs_f64(),
        histogram: total,
    }
}

/// Sends `request()` one at a time every `interval` (a new one only after the last answered)
/// for `warmup` + `duration`, recording latencies after the warm-up: a light probe that runs
/// beside a load.
pub async fn probe<F, Fut>(
    interval: Duration,
    warmup: Duration,
    duration: Duration,
    request: F,
) -> Measured
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    let (measure_from, end) = (start + warmup, start + warmup + duration);
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
    let (mut requests, mut errors) = (0_u64, 0_u64);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let ok = request().await;
        if sent >= measure_from {
            let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
            let _ = histogram.record(micros.clamp(1, 60_000_000));
            requests += 1;
            if !ok {
                errors += 1;
            }
        }
    }
    Measured {
        requests,
        answered: requests,
        errors,
        seconds: duration.as_secs_f64(),
        histogram,
    }
}
