//! tracing set-up: pretty lines for people at a terminal, JSON lines for collectors.
//! A line logged inside a span (a connection, a plaza peer) carries the span's fields.
//! The configuration room resolves the [`LogConfig`] it takes; logging declares no
//! setting.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// How log lines look and which ones are written.
#[derive(Clone, Debug)]
pub struct LogConfig {
    pub(crate) format: LogFormat,
    /// The filter (`info`, `nara=debug,hyper=info`), validated when it was resolved.
    pub(crate) filter: String,
    /// Why the filter enables none of nara's own lines (`RUST_LOG=infoo`), naming where
    /// it came from, if it does not.
    pub(crate) silenced: Option<String>,
}

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Pretty on a terminal, JSON otherwise.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Pretty,
}

impl LogFormat {
    /// `auto`, `json` or `pretty`.
    pub fn parse(text: &str) -> Result<LogFormat, &'static str> {
        match text {
            "auto" => Ok(LogFormat::Auto),
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            _ => Err("expected auto, json or pretty"),
        }
    }
}

/// Installs the global subscriber. A filter that enables none of nara's own lines is
/// said first, on stderr: a warning logged through it would never be seen.
pub fn init(config: &LogConfig) {
    if let Some(silenced) = &config.silenced {
        eprintln!("nara: warning: {silenced}");
    }
    let filter = EnvFilter::try_new(&config.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match config.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
}
