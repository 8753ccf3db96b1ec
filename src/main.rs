//! The `nara` binary: parse, dispatch, map the outcome to an exit status; the server
//! lives in the library, and the binary starts it as the tests do, through
//! [`Nara::run`]. A user error is one line on stderr, never a panic.

use nara::cli::{self, Command, RolloutCommand, SoulCommand};
use nara::{
    Config, Environment, HealthcheckTarget, Nara, Signals, Soul, healthcheck, peer_table, rollout_gate, validate_name,
};
use std::process::ExitCode;

/// Exit status for a bad flag, variable or config file, as clap uses.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let invocation = match cli::parse(std::env::args_os()) {
        Ok(invocation) => invocation,
        Err(err) => match cli::error_line(&err) {
            Some(line) => return fail(&line, USAGE_ERROR),
            // Help and version exit 0; help shown for a missing subcommand exits 2.
            None => {
                let status = u8::try_from(err.exit_code()).unwrap_or(USAGE_ERROR);
                return ExitCode::from(if err.print().is_err() { 1 } else { status });
            }
        },
    };
    let env = Environment::from_process();
    match &invocation.command {
        Some(Command::Soul(SoulCommand::New { name })) => mint_soul(name),
        Some(Command::CheckConfig { .. }) => match nara::check_config(&invocation, &env) {
            Ok(settings) => {
                print!("{}", settings.report);
                ExitCode::SUCCESS
            }
            Err(err) => fail(&err.to_string(), USAGE_ERROR),
        },
        Some(Command::Healthcheck { .. }) => match nara::healthcheck_target(&invocation, &env) {
            Ok((target, timeout)) => on_runtime(async move {
                let url = match target {
                    HealthcheckTarget::Url(url) => url,
                    HealthcheckTarget::Listening(addr) => healthcheck::default_url(addr),
                };
                let outcome = healthcheck::check(&url, timeout).await;
                outcome.map_or_else(|reason| fail_as("nara healthcheck", &reason, 1), |()| ExitCode::SUCCESS)
            }),
            Err(err) => fail(&err.to_string(), USAGE_ERROR),
        },
        Some(Command::Rollout(RolloutCommand::Wait {
            url,
            version,
            min,
            timeout,
            min_count,
        })) => {
            let gate = rollout_gate::Gate {
                url: url.clone(),
                version: version.clone(),
                min_percent: *min,
                timeout: *timeout,
                min_count: min_count.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            };
            on_runtime(async move {
                let outcome = rollout_gate::wait(&gate, |line| eprintln!("nara rollout wait: {line}")).await;
                match outcome {
                    rollout_gate::Outcome::Reached(line) => {
                        println!("{line}");
                        ExitCode::SUCCESS
                    }
                    other => fail_as("nara rollout wait", other.line(), other.exit_code()),
                }
            })
        }
        Some(Command::Peers {
            url,
            status,
            json,
            timeout,
        }) => {
            let listing = peer_table::Listing {
                url: url.clone(),
                status: status.clone(),
                json: *json,
                timeout: *timeout,
            };
            on_runtime(async move {
                match peer_table::list(&listing).await {
                    Ok(text) => {
                        print!("{text}");
                        ExitCode::SUCCESS
                    }
                    Err(failure) => fail_as("nara peers", &failure.line, failure.exit_code),
                }
            })
        }
        None => match nara::load_config(&invocation, &env) {
            Ok(config) => on_runtime(serve_until_signalled(config)),
            Err(err) => fail(&err.to_string(), USAGE_ERROR),
        },
    }
}

/// What the process adds around [`Nara::run`]: logging, the open-file limit, signal
/// handlers (before the socket, so a SIGTERM during start-up drains), the socket
/// (systemd's or `--http-addr`), then the nara until SIGTERM or SIGINT.
async fn serve_until_signalled(config: Config) -> ExitCode {
    nara::init_logging(&config.log);
    nara::raise_open_files_limit();
    let mut signals = match Signals::install() {
        Ok(signals) => signals,
        Err(err) => return fail(&format!("cannot install signal handlers: {err}"), 1),
    };
    let listener = match nara::bind(&config.http) {
        Ok(listener) => listener,
        Err(err) => return fail(&err.to_string(), 1),
    };
    let shutdown = async move {
        let signal = signals.recv().await;
        tracing::info!(signal, "signal received");
    };
    Nara::new(config).run(listener, shutdown).await;
    ExitCode::SUCCESS
}

/// Runs `work` on nara's async runtime.
fn on_runtime(work: impl Future<Output = ExitCode>) -> ExitCode {
    match nara::runtime() {
        Ok(runtime) => runtime.block_on(work),
        Err(err) => fail(&format!("cannot start the async runtime: {err}"), 1),
    }
}

/// `nara soul new --name NAME`: the soul on stdout, advice on stderr.
fn mint_soul(name: &str) -> ExitCode {
    if let Err(e) = validate_name(name) {
        return fail(&format!("invalid value {name:?} for --name: {e}"), USAGE_ERROR);
    }
    match Soul::mint(name) {
        Ok(soul) => {
            println!("{}", soul.to_base58());
            eprintln!("nara: {}", nara::minted_soul_advice(name));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e, 1),
    }
}

fn fail(message: &str, status: u8) -> ExitCode {
    fail_as("nara", message, status)
}

fn fail_as(who: &str, message: &str, status: u8) -> ExitCode {
    eprintln!("{who}: {message}");
    ExitCode::from(status)
}
