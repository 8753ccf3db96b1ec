//! The `nara` binary: parse the command line, then serve or run a subcommand.
//! Every user error ends in one line on stderr and a non-zero exit, never a panic.

use nara::cli::{self, Command};
use nara::config::{self, Config, Environment};
use nara::health::Health;
use nara::routes::App;
use nara::server::{self, Ended};
use nara::shutdown::Signals;
use nara::{assets, build_info, healthcheck, logging, systemd};
use std::process::ExitCode;
use std::sync::Arc;

/// Exit status for a bad flag, variable or config file, as clap uses.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let parsed = match cli::parse(std::env::args_os()) {
        Ok(parsed) => parsed,
        Err(err) => return report_clap_error(err),
    };
    let config = match Config::resolve(&parsed.cli, &parsed.matches, &Environment::from_process()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("nara: {err}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("nara: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match parsed.cli.command {
        Some(Command::Healthcheck { url, timeout }) => {
            let timeout = match config::parse_duration(&timeout) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("nara: invalid value {timeout:?} for --timeout: {e}");
                    return ExitCode::from(USAGE_ERROR);
                }
            };
            let url = url.unwrap_or_else(|| healthcheck::default_url(config.http_addr));
            runtime.block_on(run_healthcheck(&url, timeout))
        }
        None => runtime.block_on(run_server(config)),
    }
}

/// clap's own errors (unknown flag, missing value) as one line, exit 2; help and
/// version go to stdout with exit 0.
fn report_clap_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = err.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            eprintln!("nara: {} (see nara --help)", first.trim_start_matches("error: "));
            ExitCode::from(USAGE_ERROR)
        }
    }
}

async fn run_healthcheck(url: &str, timeout: std::time::Duration) -> ExitCode {
    match healthcheck::probe(url, timeout).await {
        Ok(status) if status.is_success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("nara healthcheck: {url} answered {status}");
            ExitCode::FAILURE
        }
        Err(reason) => {
            eprintln!("nara healthcheck: {reason}");
            ExitCode::FAILURE
        }
    }
}

async fn run_server(config: Config) -> ExitCode {
    logging::init(config.log_format, &config.log_filter);
    let mut signals = match Signals::install() {
        Ok(signals) => signals,
        Err(err) => {
            eprintln!("nara: cannot install signal handlers: {err}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match bind(&config).await {
        Ok(listener) => listener,
        Err(message) => {
            eprintln!("nara: {message}");
            return ExitCode::FAILURE;
        }
    };
    let local_addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();

    let health = Arc::new(Health::new());
    let app = Arc::new(App::new(config.name.clone(), health.clone()));
    health.mark_started();
    systemd::notify_ready();
    tracing::info!(
        addr = %local_addr,
        name = %config.name,
        version = build_info::VERSION,
        revision = build_info::REVISION,
        assets = assets::count(),
        "nara listening"
    );

    let shutdown = async {
        let signal = signals.recv().await;
        health.begin_draining();
        systemd::notify_stopping();
        tracing::info!(signal, "shutting down: readiness now 503, finishing requests in flight");
    };
    match server::serve(listener, server::app_service(app), shutdown, config.shutdown_grace).await {
        Ended::Drained => {
            tracing::info!("stopped cleanly");
            ExitCode::SUCCESS
        }
        Ended::GraceExpired { cut } => {
            tracing::warn!(
                connections = cut,
                "grace period expired; cut the connections still open"
            );
            ExitCode::SUCCESS
        }
    }
}

/// A systemd-activated socket if there is one, else the configured address.
async fn bind(config: &Config) -> Result<tokio::net::TcpListener, String> {
    match systemd::take_activated_listener() {
        Ok(Some(listener)) => {
            return tokio::net::TcpListener::from_std(listener)
                .map_err(|e| format!("cannot use the socket systemd passed (LISTEN_FDS): {e}"));
        }
        Ok(None) => {}
        Err(e) => return Err(format!("cannot read LISTEN_FDS from systemd: {e}")),
    }
    tokio::net::TcpListener::bind(config.http_addr)
        .await
        .map_err(|e| format!("cannot listen on {} (--http-addr): {e}", config.http_addr))
}
