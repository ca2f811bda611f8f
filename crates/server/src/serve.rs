//! `rekey serve`: bootstrap on first start, then the HTTP and gRPC servers until SIGTERM/SIGINT.

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use rekey_application::usecase::bootstrap;
use rekey_domain::{OrgName, Username};
use rekey_grpc_adapter::GrpcSettings;
use rekey_http_adapter::{HttpSettings, configure, configure_metrics, request_context};

use rekey_application::Failure;

use crate::adapters::{Adapters, Open, write_private};
use crate::settings::Settings;
use crate::{maintenance, worker};

/// Runs the service.
///
/// # Errors
/// A message when the database, the bind address or the bootstrap fails.
pub async fn run(settings: Settings) -> Result<(), String> {
    let adapters = Adapters::build(&settings, Open::Held).await?;
    let pending = match prepare_database(&settings, &adapters).await {
        Ok(()) => {
            tracing::info!(backend = adapters.store().backend(), "database ready");
            None
        }
        // A PostgreSQL failing over, or with no primary yet: serve 503 meanwhile (readiness
        // says not ready) and get ready when it is back, rather than exit.
        Err(Failure::Unavailable(cause)) if adapters.store().backend() == "postgres" => {
            tracing::error!(
                %cause,
                "the database is not available at start; answering 503 until it is"
            );
            Some(cause)
        }
        Err(failure) => return Err(failure.to_string()),
    };

    let wake = adapters.store().message_queued();
    let ports = web::Data::new(adapters);
    if let Some(cause) = pending {
        tokio::spawn(prepare_when_available(
            settings.clone(),
            ports.clone().into_inner(),
            cause,
        ));
    }
    let worker = settings.delivery.enabled.then(|| {
        worker::spawn(
            ports.clone().into_inner(),
            wake,
            settings.delivery.poll_interval,
        )
    });
    let renderer = crate::telemetry::metrics_renderer(ports.store().clone())?;
    let metrics_server = metrics_server(&settings, renderer.clone())?;
    let http = HttpSettings {
        body_limit: settings.server.body_limit,
        body_timeout: settings.server.body_timeout,
        metrics: metrics_server.is_none().then_some(renderer),
        page_min_response: settings.limits.page_min_response,
        trusted_proxies: trusted_proxies(&settings.limits.trusted_proxies)?,
    };
    let maintenance = maintenance::spawn(
        ports.store().clone(),
        crate::adapters::SystemClock,
        *ports.retention(),
    );
    let grpc_listener = tokio::net::TcpListener::bind(settings.server.grpc_bind.trim())
        .await
        .map_err(|e| {
            format!(
                "binding server.grpc_bind {}: {e}",
                settings.server.grpc_bind
            )
        })?;
    let grpc_addr = grpc_listener
        .local_addr()
        .map_err(|e| format!("server.grpc_bind: {e}"))?;
    let grpc_settings = GrpcSettings {
        body_limit: settings.server.body_limit,
        // No call outlives the shutdown window it would have to drain in.
        call_timeout: settings.server.shutdown_timeout,
        shutdown_timeout: settings.server.shutdown_timeout,
        web_origins: settings.server.grpc_web_origins.clone(),
    };
    let grpc_ports = ports.clone().into_inner();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(ports.clone())
            .wrap(from_fn(request_context))
            .configure(configure::<Adapters>(http.clone()))
    })
    .shutdown_timeout(settings.server.shutdown_timeout.as_secs())
    .client_request_timeout(settings.server.header_timeout)
    .keep_alive(settings.server.keep_alive)
    // A client that closes its side has gone: stop its request (and so drop any password
    // hash it still waits for) instead of finishing work nobody reads.
    .h1_allow_half_closed(false)
    .max_connections(settings.server.max_connections)
    .workers(crate::adapters::http_workers(&settings))
    .bind(&settings.server.bind)
    .map_err(|e| format!("binding {}: {e}", settings.server.bind))?;
    for addr in server.addrs() {
        tracing::info!(%addr, "listening");
    }
    // actix-web stops gracefully on SIGTERM and SIGINT: it stops accepting, lets in-flight
    // requests finish within shutdown_timeout, then returns. The metrics listener, if any,
    // and the gRPC listener stop on the same signals.
    let http = server.run();
    let http_handle = http.handle();
    let (http_done, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let http = async move {
        let served = match metrics_server {
            Some(metrics) => tokio::try_join!(http, metrics).map(drop),
            None => http.await,
        }
        .map_err(|e| format!("server: {e}"));
        // However the HTTP side ended, the gRPC side follows.
        let _ = http_done.send(());
        served
    };
    let grpc_stop = async move {
        tokio::select! {
            () = stop_signal() => {}
            _ = http_stopped => {}
        }
    };
    let grpc = async move {
        let served =
            rekey_grpc_adapter::serve(grpc_listener, grpc_ports, grpc_settings, grpc_stop).await;
        if served.is_err() {
            // Half a service is worse than none: take the HTTP side down too.
            http_handle.stop(true).await;
        }
        served
    };
    tracing::info!(addr = %grpc_addr, "grpc listening");
    let (served, grpc_served) = tokio::join!(http, grpc);
    // Both sides have drained; let the delivery batch in flight finish too.
    if let Some(worker) = worker {
        worker.shutdown().await;
    }
    maintenance.abort();
    served?;
    grpc_served?;
    tracing::info!("stopped");
    Ok(())
}

/// Migrates the database (when `database.migrate_on_start`), lets the store use it, and
/// creates the first organization on an empty one.
///
/// # Errors
/// [`Failure::Unavailable`] when the database cannot be reached; anything else is for the
/// operator to fix.
async fn prepare_database(settings: &Settings, adapters: &Adapters) -> Result<(), Failure> {
    if settings.database.migrate_on_start {
        crate::adapters::migrate_database(settings).await?;
    }
    adapters.store().release();
    first_start(settings, adapters).await
}

/// Retries [`prepare_database`] every second until it succeeds, logging each new cause.
async fn prepare_when_available(
    settings: Settings,
    adapters: std::sync::Arc<Adapters>,
    mut cause: String,
) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        match prepare_database(&settings, &adapters).await {
            Ok(()) => {
                tracing::info!(backend = adapters.store().backend(), "database ready");
                return;
            }
            Err(failure) => {
                let now = match failure {
                    Failure::Unavailable(now) => now,
                    other => other.to_string(),
                };
                if now != cause {
                    tracing::error!(cause = %now, "the database is still not ready");
                    cause = now;
                }
            }
        }
    }
}

/// Completes on SIGTERM or SIGINT (what actix-web stops on). If the handlers cannot be
/// installed it never completes, and the gRPC listener stops with the process.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("gRPC: cannot listen for SIGTERM/SIGINT; it stops only with the process");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// The listener of `server.metrics_bind`, if set: `/debug/metrics` alone, on one worker.
fn metrics_server(
    settings: &Settings,
    renderer: rekey_http_adapter::MetricsRenderer,
) -> Result<Option<actix_web::dev::Server>, String> {
    let bind = settings.server.metrics_bind.trim();
    if bind.is_empty() {
        return Ok(None);
    }
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(request_context))
            .configure(configure_metrics(renderer.clone()))
    })
    .workers(1)
    .shutdown_timeout(settings.server.shutdown_timeout.as_secs())
    .client_request_timeout(settings.server.header_timeout)
    .bind(bind)
    .map_err(|e| format!("binding server.metrics_bind {bind}: {e}"))?;
    for addr in server.addrs() {
        tracing::info!(%addr, "metrics listening");
    }
    Ok(Some(server.run()))
}

/// `limits.trusted_proxies`: addresses (a single host) or networks.
fn trusted_proxies(entries: &[String]) -> Result<Vec<ipnet::IpNet>, String> {
    entries
        .iter()
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!("limits.trusted_proxies: {entry:?} is not an address or network")
                })
        })
        .collect()
}

/// On an empty database: the first organization, its admin and the admin's token file.
async fn first_start(settings: &Settings, adapters: &Adapters) -> Result<(), Failure> {
    let input = bootstrap::Input {
        org_name: OrgName::new(settings.bootstrap.org_name.as_str())
            .map_err(|e| Failure::Unexpected(format!("bootstrap.org_name: {e}")))?,
        admin_username: Username::new(settings.bootstrap.admin_username.as_str())
            .map_err(|e| Failure::Unexpected(format!("bootstrap.admin_username: {e}")))?,
    };
    let Some(created) = bootstrap::execute(adapters, input).await? else {
        return Ok(());
    };
    let path = &settings.bootstrap.admin_pat_path;
    write_private(path, &format!("{}\n", created.token.expose())).map_err(Failure::Unexpected)?;
    tracing::info!(
        org.id = %created.org_id,
        admin.id = %created.admin_id,
        token_path = %path.display(),
        "first start: created the first organization and an IAM_OWNER admin; its token is in the file"
    );
    Ok(())
}
