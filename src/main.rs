//! The `nara` binary: parse the command line, then serve or run a subcommand.
//! Every user error ends in one line on stderr and a non-zero exit, never a panic.

use nara::cli::{self, Command, SoulCommand};
use nara::config::{self, Config, Environment};
use nara::health::Health;
use nara::metrics::Metrics;
use nara::plaza::identity::{Identity, Soul, SoulSource};
use nara::plaza::{Plaza, transport};
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
    if let Some(Command::Soul(SoulCommand::New { name })) = &parsed.cli.command {
        return mint_soul(name);
    }
    let config = match Config::resolve(&parsed.cli, &parsed.matches, &Environment::from_process()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("nara: {err}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let runtime = match runtime_builder().enable_all().build() {
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
        Some(Command::Soul(_)) => unreachable!("handled before the configuration is read"),
        None => runtime.block_on(run_server(config)),
    }
}

/// `nara soul new --name NAME`: the soul on stdout, advice on stderr.
fn mint_soul(name: &str) -> ExitCode {
    if let Err(e) = config::validate_name(name) {
        eprintln!("nara: invalid value {name:?} for --name: {e}");
        return ExitCode::from(USAGE_ERROR);
    }
    match Soul::mint(name) {
        Ok(soul) => {
            println!("{}", soul.to_base58());
            eprintln!(
                "nara: a new soul for {name:?}; keep it secret (a file for --soul-file, a systemd credential, or NARA_SOUL)"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("nara: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One core (a small VM, a CPU quota, `taskset`): a single-threaded scheduler has no
/// cross-thread wake-ups or per-thread allocator arenas to pay for. More cores: the
/// work-stealing scheduler with a worker per core.
fn runtime_builder() -> tokio::runtime::Builder {
    match std::thread::available_parallelism() {
        Ok(n) if n.get() == 1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
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
    let open_files = nara::open_files::raise_and_report();
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

    let identity = Identity::new(&config.soul, &config.name, config.soul_source);
    warn_about_identity(&identity);
    let metrics = Arc::new(Metrics::new());
    let accept_errors = metrics.http_accept_errors.clone();
    let plaza = Plaza::new(identity, config.plaza.clone(), metrics.clone());
    let health = Arc::new(Health::new());
    let app = Arc::new(App::with_plaza(health.clone(), plaza.clone(), metrics));
    let plaza_task = config
        .plaza
        .broker
        .clone()
        .map(|broker| tokio::spawn(transport::run(plaza.clone(), broker, health.draining_signal())));
    health.mark_started();
    systemd::notify_ready();
    tracing::info!(
        addr = %local_addr,
        name = %config.name,
        version = build_info::VERSION,
        revision = build_info::REVISION,
        assets = assets::count(),
        id = %plaza.identity.id,
        plaza = %config.plaza.broker.as_ref().map_or("none (running alone)".to_string(), |b| b.address()),
        open_files = open_files.map(|o| o.limit),
        "nara listening"
    );

    let shutdown = async {
        let signal = signals.recv().await;
        health.begin_draining();
        systemd::notify_stopping();
        tracing::info!(signal, "shutting down: readiness now 503, finishing requests in flight");
    };
    let ended = server::serve(
        listener,
        server::app_service(app),
        shutdown,
        config.shutdown_grace,
        accept_errors,
    )
    .await;
    if let Some(task) = plaza_task {
        // It saw the drain begin with everyone else; this only waits for its chau.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), task).await;
    }
    match ended {
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

/// Identity problems an operator should hear about; never the soul itself.
fn warn_about_identity(identity: &Identity) {
    match identity.soul_source {
        SoulSource::Native => tracing::warn!(
            name = %identity.name,
            "no soul configured: using one derived from this machine's machine-id; it will not survive a move \
             to another machine (mint one with `nara soul new --name NAME` and pass it with --soul-file)"
        ),
        SoulSource::Ephemeral => tracing::warn!(
            name = %identity.name,
            "no soul configured and no machine-id: using a random soul; this nara's ID changes on every start"
        ),
        _ => {}
    }
    if !identity.bonded {
        tracing::warn!(
            name = %identity.name,
            "this soul was minted for another name; the identity is marked unbonded in /api/status"
        );
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
    server::listen(config.http_addr).map_err(|e| format!("cannot listen on {} (--http-addr): {e}", config.http_addr))
}
