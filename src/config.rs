//! The one typed `Config`, built once at start from flags > environment > TOML file >
//! defaults, and every error about it naming the flag, variable or file key at fault.

use crate::cli::Cli;
use crate::listen_addr;
use crate::plaza::identity::{Soul, SoulSource, friendly_name, is_generic_hostname};
use crate::plaza::settings::{PlazaConfig, resolve_plaza, resolve_soul};
use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything the server needs to know, validated.
#[derive(Clone, Debug)]
pub struct Config {
    pub http_addr: SocketAddr,
    pub name: String,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub shutdown_grace: Duration,
    pub plaza: PlazaConfig,
    pub soul: Soul,
    pub soul_source: SoulSource,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Pretty on a terminal, JSON otherwise.
    Auto,
    Json,
    Pretty,
}

/// The settings a `--config` file may hold; unknown keys are errors, not silence.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub http_addr: Option<String>,
    pub name: Option<String>,
    pub log_format: Option<String>,
    pub log_level: Option<String>,
    pub shutdown_grace: Option<String>,
    pub soul_file: Option<String>,
    pub mqtt_url: Option<String>,
    pub mqtt_user: Option<String>,
    pub mqtt_password_file: Option<String>,
    pub require_plaza: Option<bool>,
    pub plaza_newspaper_interval: Option<String>,
    pub plaza_announce_jitter: Option<String>,
    pub plaza_missing_after: Option<String>,
    pub plaza_max_skew: Option<String>,
}

/// Where a value came from, so an error can point at it.
#[derive(Clone, Debug)]
pub enum Origin {
    Flag(&'static str),
    Env(&'static str),
    File { key: &'static str, path: PathBuf },
    Default(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "--{flag}"),
            Origin::Env(var) => write!(f, "{var}"),
            Origin::File { key, path } => write!(f, "{key} in {}", path.display()),
            Origin::Default(flag) => write!(f, "the default of --{flag}"),
        }
    }
}

/// A configuration problem, rendered as one line.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

pub(crate) fn invalid(value: &str, origin: &Origin, expected: impl fmt::Display) -> ConfigError {
    ConfigError(format!("invalid value {value:?} for {origin}: {expected}"))
}

/// The process environment as far as configuration reads it beyond clap's own `env`.
pub struct Environment {
    pub port: Option<String>,
    pub rust_log: Option<String>,
    pub hostname: Option<String>,
    pub machine_id: Option<String>,
    pub mqtt_host: Option<String>,
    pub mqtt_port: Option<String>,
    pub mqtt_password: Option<String>,
    /// systemd's `$CREDENTIALS_DIRECTORY` (LoadCredential=).
    pub credentials_directory: Option<String>,
}

impl Environment {
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Environment {
            port: var("PORT"),
            rust_log: var("RUST_LOG"),
            hostname: read_hostname(),
            machine_id: ["/etc/machine-id", "/var/lib/dbus/machine-id"]
                .iter()
                .find_map(|p| std::fs::read_to_string(p).ok())
                .map(|id| id.trim().to_string())
                .filter(|id| !id.is_empty()),
            mqtt_host: var("MQTT_HOST"),
            mqtt_port: var("MQTT_PORT"),
            mqtt_password: var("NARA_MQTT_PASSWORD"),
            credentials_directory: var("CREDENTIALS_DIRECTORY"),
        }
    }
}

/// The kernel's hostname via gethostname(2): hardened units (ProcSubset=pid) hide
/// /proc/sys, and the call works on every Unix.
fn read_hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = ok.then(|| String::from_utf8_lossy(&buf[..end]).trim().to_string());
    name.or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|h| !h.is_empty())
}

/// Reads and parses a `--config` file; errors name the file and, for syntax, the line.
pub fn load_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        let at = line.map(|l| format!(" line {l}")).unwrap_or_default();
        ConfigError(format!("config file {}{at}: {}", path.display(), e.message().trim()))
    })
}

/// One setting resolved through the layers: the first of flag, env, file, default.
pub struct Layered<'a> {
    pub matches: &'a ArgMatches,
    pub file: &'a FileSettings,
    file_path: Option<&'a Path>,
}

impl Layered<'_> {
    /// The value and its origin; `None` when no layer sets it and there is no default.
    pub fn pick(
        &self,
        id: &'static str,
        flag: &'static str,
        env: &'static str,
        cli_value: Option<&str>,
        file_value: Option<&String>,
    ) -> Option<(String, Origin)> {
        let from_cli = |origin| cli_value.map(|v| (v.to_string(), origin));
        match self.matches.value_source(id) {
            Some(ValueSource::CommandLine) => from_cli(Origin::Flag(flag)),
            Some(ValueSource::EnvVariable) => from_cli(Origin::Env(env)),
            _ => match (file_value, self.file_path) {
                (Some(v), Some(path)) => Some((
                    v.clone(),
                    Origin::File {
                        key: id,
                        path: path.to_path_buf(),
                    },
                )),
                _ => from_cli(Origin::Default(flag)),
            },
        }
    }
}

impl Config {
    /// Builds the configuration from parsed flags (with clap's value sources), the
    /// `--config` file if any, and the parts of the environment clap does not read.
    pub fn resolve(cli: &Cli, matches: &ArgMatches, env: &Environment) -> Result<Config, ConfigError> {
        let file = match &cli.config {
            Some(path) => load_file(path)?,
            None => FileSettings::default(),
        };
        let layers = Layered {
            matches,
            file: &file,
            file_path: cli.config.as_deref(),
        };

        let (addr_text, addr_origin) = layers
            .pick(
                "http_addr",
                "http-addr",
                "NARA_HTTP_ADDR",
                Some(&cli.http_addr),
                layers.file.http_addr.as_ref(),
            )
            .expect("http_addr has a default");
        let http_addr = match (&addr_origin, &env.port) {
            (Origin::Default(_), Some(port)) => listen_addr::parse_port(port)
                .map(listen_addr::all_interfaces)
                .map_err(|e| invalid(port, &Origin::Env("PORT"), e))?,
            _ => listen_addr::parse(&addr_text).map_err(|e| invalid(&addr_text, &addr_origin, e))?,
        };

        let name = match layers.pick(
            "name",
            "name",
            "NARA_NAME",
            cli.name.as_deref(),
            layers.file.name.as_ref(),
        ) {
            Some((name, origin)) => validate_name(&name).map_err(|e| invalid(&name, &origin, e))?,
            None => default_name(env),
        };

        let (format_text, format_origin) = layers
            .pick(
                "log_format",
                "log-format",
                "NARA_LOG_FORMAT",
                Some(&cli.log_format),
                layers.file.log_format.as_ref(),
            )
            .expect("log_format has a default");
        let log_format = match format_text.as_str() {
            "auto" => LogFormat::Auto,
            "json" => LogFormat::Json,
            "pretty" => LogFormat::Pretty,
            _ => return Err(invalid(&format_text, &format_origin, "expected auto, json or pretty")),
        };

        let (level_text, level_origin) = layers
            .pick(
                "log_level",
                "log-level",
                "NARA_LOG_LEVEL",
                Some(&cli.log_level),
                layers.file.log_level.as_ref(),
            )
            .expect("log_level has a default");
        let (log_filter, filter_origin) = match (&level_origin, &env.rust_log) {
            (Origin::Default(_), Some(rust_log)) => (rust_log.clone(), Origin::Env("RUST_LOG")),
            _ => (level_text, level_origin),
        };
        tracing_subscriber::EnvFilter::try_new(&log_filter).map_err(|e| {
            invalid(
                &log_filter,
                &filter_origin,
                format_args!("expected a level (error, warn, info, debug, trace) or target=level list ({e})"),
            )
        })?;

        let (grace_text, grace_origin) = layers
            .pick(
                "shutdown_grace",
                "shutdown-grace",
                "NARA_SHUTDOWN_GRACE",
                Some(&cli.shutdown_grace),
                layers.file.shutdown_grace.as_ref(),
            )
            .expect("shutdown_grace has a default");
        let shutdown_grace = parse_duration(&grace_text).map_err(|e| invalid(&grace_text, &grace_origin, e))?;

        let plaza = resolve_plaza(&layers, cli, env)?;
        let (soul, soul_source) = resolve_soul(&layers, cli, env, &name)?;
        Ok(Config {
            http_addr,
            name,
            log_format,
            log_filter,
            shutdown_grace,
            plaza,
            soul,
            soul_source,
        })
    }
}

/// The hostname, unless it says nothing about the machine (`localhost`, a container
/// ID, ...): then a friendly name derived from the machine, the same on every start.
fn default_name(env: &Environment) -> String {
    let hostname = env.hostname.as_deref().filter(|h| validate_name(h).is_ok());
    match hostname {
        Some(h) if !is_generic_hostname(h) => h.to_string(),
        _ => friendly_name(env.machine_id.as_deref().or(hostname).unwrap_or("nara")),
    }
}

/// Parses durations such as `10s`, `500ms` or `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|_| "expected a duration such as 10s, 500ms or 1m30s".to_string())
}

/// Names travel in MQTT topics and URLs, so they stay within a safe alphabet.
pub fn validate_name(name: &str) -> Result<String, String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > 64 || !name.chars().all(ok_char) {
        return Err("expected 1 to 64 letters, digits, '-', '_' or '.'".to_string());
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_go_and_human_forms_parse() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("10").is_err());
    }

    #[test]
    fn names_outside_the_safe_alphabet_are_refused() {
        assert!(validate_name("nara-01.home").is_ok());
        for bad in ["", "a/b", "a+b", "with space", "#", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn config_file_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nara.toml");
        std::fs::write(&path, "name = \"ok\"\nhtp_addr = \":1\"\n").unwrap();
        let err = load_file(&path).unwrap_err().to_string();
        assert!(err.contains("nara.toml line 2"), "{err}");
        assert!(err.contains("htp_addr"), "{err}");
    }

    fn environment(hostname: Option<&str>, machine_id: Option<&str>) -> Environment {
        Environment {
            port: None,
            rust_log: None,
            hostname: hostname.map(String::from),
            machine_id: machine_id.map(String::from),
            mqtt_host: None,
            mqtt_port: None,
            mqtt_password: None,
            credentials_directory: None,
        }
    }

    #[test]
    fn the_default_name_is_the_hostname_unless_it_is_generic() {
        assert_eq!(default_name(&environment(Some("kitchen-pi"), Some("m1"))), "kitchen-pi");
        let generic = default_name(&environment(Some("localhost"), Some("m1")));
        assert_ne!(generic, "localhost");
        assert_eq!(
            generic,
            default_name(&environment(Some("raspberrypi"), Some("m1"))),
            "derived from the machine"
        );
        assert_ne!(generic, default_name(&environment(Some("localhost"), Some("m2"))));
        assert!(validate_name(&default_name(&environment(None, None))).is_ok());
    }

    #[test]
    fn missing_config_file_is_named() {
        let err = load_file(Path::new("/nonexistent/nara.toml")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/nara.toml"), "{err}");
    }
}
