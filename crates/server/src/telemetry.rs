//! Logging: tracing to stderr, pretty or JSON, filtered by `log.level`; traces (see
//! [`crate::traces`]); metrics.

use std::io::IsTerminal as _;

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _, fmt};

use crate::settings::{LogFormat, LogSettings};

/// Installs the global subscriber: the log (filtered by `log.level`) and, with `provider`,
/// the export of rekey's spans (every level, whatever `log.level` says).
///
/// # Errors
/// A message when the filter does not parse.
pub fn init(
    settings: &LogSettings,
    provider: Option<&opentelemetry_sdk::trace::SdkTracerProvider>,
) -> Result<(), String> {
    let filter = EnvFilter::try_new(&settings.level)
        .map_err(|e| format!("log.level {:?}: {e}", settings.level))?;
    let log = match settings.format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
        // Colours only for a terminal: a file or journald gets no escape codes.
        LogFormat::Pretty => fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(log.with_filter(filter))
        .with(provider.map(crate::traces::layer))
        .try_init()
        .map_err(|e| format!("logging: {e}"))
}

/// The `# HELP` line of every metric rekey records, in the README's words.
fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "rekey_http_requests_total",
        "HTTP requests answered, by route pattern, protocol and status"
    );
    describe_histogram!(
        "rekey_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by route pattern and protocol"
    );
    describe_counter!(
        "rekey_rpc_outcomes_total",
        "Use-case outcomes, by RPC and outcome (ok or the error id)"
    );
    describe_counter!(
        "rekey_limit_hits_total",
        "Requests refused by an abuse budget, by budget"
    );
    describe_counter!(
        "rekey_deliveries_total",
        "Delivery attempts, by channel and result (sent, retry, dead, skipped)"
    );
    describe_gauge!(
        "rekey_outbox_pending",
        "Messages in the outbox waiting to be delivered"
    );
    describe_gauge!(
        "rekey_outbox_oldest_pending_age_seconds",
        Unit::Seconds,
        "Age of the oldest message waiting in the outbox"
    );
    describe_gauge!(
        "rekey_db_pool_connections",
        "Database pool connections, by state (in_use, idle)"
    );
    describe_histogram!(
        "rekey_db_pool_wait_seconds",
        Unit::Seconds,
        "Time spent waiting for a database connection, by backend"
    );
    describe_histogram!(
        "rekey_db_writer_held_seconds",
        Unit::Seconds,
        "Time each write held SQLite's one writer connection (its sum per second: how busy the writer is)"
    );
    describe_counter!(
        "rekey_db_statements_total",
        "SQL statements sent to the database (transaction control included), by backend"
    );
}

/// Installs the Prometheus recorder (once per process) and returns what `/debug/metrics`
/// calls: it refreshes the gauges read at scrape time (outbox depth and age, pool use), then
/// renders every metric.
///
/// # Errors
/// A message when the recorder cannot be installed (another one already is).
pub fn metrics_renderer(
    store: rekey_persistence_adapter::Store,
) -> Result<rekey_http_adapter::MetricsRenderer, String> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    use rekey_application::ports::Clock as _;

    const SECONDS: [f64; 14] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS)
        .map_err(|e| format!("metrics: {e}"))?
        .install_recorder()
        .map_err(|e| format!("metrics: {e}"))?;
    describe_metrics();
    // Histogram samples queue up until upkeep folds them into their buckets; without it they
    // would grow without bound between scrapes (measured: RSS 14 -> 72 MB under a 76 000
    // req/s load that nobody scraped).
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(std::sync::Arc::new(move || {
        let (store, handle) = (store.clone(), handle.clone());
        Box::pin(async move {
            let pool = store.pool_state();
            metrics::gauge!("rekey_db_pool_connections", "state" => "in_use")
                .set(f64::from(pool.connections.saturating_sub(pool.idle)));
            metrics::gauge!("rekey_db_pool_connections", "state" => "idle")
                .set(f64::from(pool.idle));
            match store.outbox_depth().await {
                Ok(depth) => {
                    #[allow(clippy::cast_precision_loss, reason = "a gauge is a float")]
                    metrics::gauge!("rekey_outbox_pending").set(depth.pending as f64);
                    let age = depth.oldest.map_or(0.0, |oldest| {
                        (crate::adapters::SystemClock.now() - oldest)
                            .to_std()
                            .map_or(0.0, |age| age.as_secs_f64())
                    });
                    metrics::gauge!("rekey_outbox_oldest_pending_age_seconds").set(age);
                }
                Err(failure) => tracing::warn!(%failure, "metrics: the outbox depth is unknown"),
            }
            handle.render()
        })
    }))
}
