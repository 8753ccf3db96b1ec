//! The command line: flags (each with its environment variable), subcommands, and the
//! rewriting that keeps nara's older single-dash flags (`-http-addr :8080`) working.

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("NARA_GIT_REVISION"),
    ", ",
    env!("NARA_BUILD_PROFILE"),
    ")"
);

/// nara: serves its web UI, docs and API on one port.
///
/// Settings come from flags, then environment variables, then the --config file, then
/// the defaults shown here.
#[derive(Debug, Parser)]
#[command(name = "nara", version = VERSION_LINE)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Read settings from this TOML file (keys as the flags, with underscores)
    #[arg(long, env = "NARA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Listen address: HOST:PORT, :PORT (all interfaces) or [IPv6]:PORT. When no
    /// address is set anywhere and $PORT is, nara listens on all interfaces at $PORT
    #[arg(long, env = "NARA_HTTP_ADDR", value_name = "ADDR", default_value = ":8080")]
    pub http_addr: String,

    /// This nara's name: letters, digits, '-', '_' or '.', at most 64 [default: the hostname]
    #[arg(long, env = "NARA_NAME", value_name = "NAME")]
    pub name: Option<String>,

    /// Log format: auto (pretty on a terminal, JSON otherwise), json or pretty
    #[arg(long, env = "NARA_LOG_FORMAT", value_name = "FORMAT", default_value = "auto")]
    pub log_format: String,

    /// Log filter, e.g. info or nara=debug; with none set anywhere, RUST_LOG is used
    #[arg(long, env = "NARA_LOG_LEVEL", value_name = "FILTER", default_value = "info")]
    pub log_level: String,

    /// How long in-flight requests may take to finish after SIGTERM, e.g. 10s or 1m30s
    #[arg(long, env = "NARA_SHUTDOWN_GRACE", value_name = "DURATION", default_value = "10s")]
    pub shutdown_grace: String,

    /// This nara's soul (mint one with `nara soul new`). Prefer --soul-file or a systemd
    /// credential named "soul": a flag's value is visible in `ps` [default: derived from
    /// /etc/machine-id and the name, with a warning]
    #[arg(
        long,
        env = "NARA_SOUL",
        value_name = "SOUL",
        hide_env_values = true,
        help_heading = "Plaza"
    )]
    pub soul: Option<String>,

    /// Read the soul from this file
    #[arg(long, env = "NARA_SOUL_FILE", value_name = "FILE", help_heading = "Plaza")]
    pub soul_file: Option<PathBuf>,

    /// The plaza's MQTT broker, mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS); unset,
    /// nara runs alone. When unset, MQTT_HOST and MQTT_PORT are read
    #[arg(long, env = "NARA_MQTT_URL", value_name = "URL", help_heading = "Plaza")]
    pub mqtt_url: Option<String>,

    /// Broker user name
    #[arg(long, env = "NARA_MQTT_USER", value_name = "USER", help_heading = "Plaza")]
    pub mqtt_user: Option<String>,

    /// File holding the broker password (or set NARA_MQTT_PASSWORD; never a flag, which
    /// `ps` would show)
    #[arg(long, env = "NARA_MQTT_PASSWORD_FILE", value_name = "FILE", help_heading = "Plaza")]
    pub mqtt_password_file: Option<PathBuf>,

    /// Answer readiness with 503 while disconnected from the plaza
    #[arg(long, env = "NARA_REQUIRE_PLAZA", help_heading = "Plaza")]
    pub require_plaza: bool,

    /// How often to send a signed newspaper (presence) message
    #[arg(
        long,
        env = "NARA_PLAZA_NEWSPAPER_INTERVAL",
        value_name = "DURATION",
        default_value = "30s",
        help_heading = "Plaza"
    )]
    pub plaza_newspaper_interval: String,

    /// Wait a random time up to this long before announcing, so a fleet restarting
    /// together does not announce at once
    #[arg(
        long,
        env = "NARA_PLAZA_ANNOUNCE_JITTER",
        value_name = "DURATION",
        default_value = "5s",
        help_heading = "Plaza"
    )]
    pub plaza_announce_jitter: String,

    /// A nara silent for longer than this is MISSING
    #[arg(
        long,
        env = "NARA_PLAZA_MISSING_AFTER",
        value_name = "DURATION",
        default_value = "5m",
        help_heading = "Plaza"
    )]
    pub plaza_missing_after: String,

    /// Messages signed further than this from our clock are dropped as replays
    #[arg(
        long,
        env = "NARA_PLAZA_MAX_SKEW",
        value_name = "DURATION",
        default_value = "60s",
        help_heading = "Plaza"
    )]
    pub plaza_max_skew: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Souls: the secret identity a nara signs its plaza messages with
    #[command(subcommand)]
    Soul(SoulCommand),

    /// Probe a running nara's /healthz and exit 0 if healthy, 1 if not (for images
    /// that have no curl)
    Healthcheck {
        /// The URL to probe [default: /healthz at the configured listen address]
        #[arg(long, value_name = "URL")]
        url: Option<String>,

        /// Give up after this long
        #[arg(long, value_name = "DURATION", default_value = "3s")]
        timeout: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SoulCommand {
    /// Mint a new soul bonded to NAME and print it (store it as a secret)
    New {
        /// The name this soul is for
        #[arg(long, value_name = "NAME")]
        name: String,
    },
}

/// The parsed command line together with clap's record of where each value came from.
pub struct Parsed {
    pub cli: Cli,
    pub matches: ArgMatches,
}

/// Parses `args` (program name first) after rewriting single-dash long flags.
pub fn parse<I, T>(args: I) -> Result<Parsed, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let command = Cli::command();
    let long_names: Vec<String> = command
        .get_arguments()
        .chain(command.get_subcommands().flat_map(|s| s.get_arguments()))
        .filter_map(|a| a.get_long().map(String::from))
        .collect();
    let args = rewrite_single_dash(args.into_iter().map(Into::into), &long_names);
    let matches = command.try_get_matches_from(args)?;
    let cli = Cli::from_arg_matches(&matches)?;
    Ok(Parsed { cli, matches })
}

/// `-http-addr :8080` and `-name=x` become `--http-addr :8080` and `--name=x`, but only
/// for names nara knows, so nothing else changes meaning.
fn rewrite_single_dash(args: impl Iterator<Item = OsString>, long_names: &[String]) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut passthrough = false;
    for arg in args {
        let rewritten = match arg.to_str() {
            Some("--") => {
                passthrough = true;
                None
            }
            Some(text) if !passthrough && text.starts_with('-') && !text.starts_with("--") => {
                let name = text[1..].split('=').next().unwrap_or("");
                (name.len() > 1 && long_names.iter().any(|n| n == name)).then(|| format!("-{text}").into())
            }
            _ => None,
        };
        out.push(rewritten.unwrap_or(arg));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(args: &[&str]) -> Vec<String> {
        let names = vec!["http-addr".to_string(), "name".to_string()];
        rewrite_single_dash(args.iter().map(OsString::from), &names)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn single_dash_long_flags_become_double_dash() {
        assert_eq!(
            rewrite(&["nara", "-http-addr", ":8080", "-name=x"]),
            ["nara", "--http-addr", ":8080", "--name=x"]
        );
    }

    #[test]
    fn unknown_short_flags_and_values_are_left_alone() {
        assert_eq!(rewrite(&["nara", "-h", "-V", "-bogus"]), ["nara", "-h", "-V", "-bogus"]);
        assert_eq!(rewrite(&["nara", "--", "-name"]), ["nara", "--", "-name"]);
    }

    #[test]
    fn help_names_every_flags_environment_variable() {
        let help = Cli::command().render_long_help().to_string();
        for var in [
            "NARA_CONFIG",
            "NARA_HTTP_ADDR",
            "NARA_NAME",
            "NARA_LOG_FORMAT",
            "NARA_LOG_LEVEL",
            "NARA_SHUTDOWN_GRACE",
        ] {
            assert!(help.contains(var), "--help lacks {var}");
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
