//! `rekey`: the password-reset service. `rekey serve` (the default) runs the HTTP API;
//! `rekey migrate` applies database migrations; `rekey admin …` manages organizations, users
//! and tokens from the command line.

mod adapters;
mod admin;
mod import;
mod maintenance;
mod serve;
mod settings;
mod telemetry;
mod traces;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::settings::Settings;

/// rekey: a self-hosted, ZITADEL-compatible password-reset service.
#[derive(Debug, Parser)]
#[command(name = "rekey", version, about)]
struct Cli {
    /// A configuration file (TOML) layered over the defaults.
    #[arg(long, global = true, env = "REKEY_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administration from the command line.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("rekey: {error}");
            return ExitCode::from(2);
        }
    };
    // An admin command prints its result and, on failure, one line; the start-up warnings of
    // the adapters it opens are the server's to give.
    let mut log = settings.log.clone();
    if matches!(cli.command, Some(Command::Admin(_))) {
        log.level = "off".to_owned();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("rekey: starting the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let provider = match &cli.command {
        None | Some(Command::Serve) => traces::provider(&settings.otel, runtime.handle().clone()),
        Some(_) => Ok(None),
    };
    let provider = match provider {
        Ok(provider) => provider,
        Err(error) => {
            eprintln!("rekey: {error}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = telemetry::init(&log, provider.as_ref()) {
        eprintln!("rekey: {error}");
        return ExitCode::from(2);
    }
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve::run(settings).await,
            Command::Migrate => {
                let database = adapters::database_settings(&settings);
                let applied = rekey_persistence_adapter::migrate(&database)
                    .await
                    .map_err(|e| e.to_string())?;
                tracing::info!(applied, "migrations applied");
                Ok(())
            }
            Command::Admin(command) => admin::run(&settings, command).await,
        }
    });
    // On this thread, while the runtime the exports run on still stands.
    if let Some(provider) = &provider {
        traces::shutdown(provider);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("rekey: {error}");
            ExitCode::FAILURE
        }
    }
}
