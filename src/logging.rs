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

/// Installs the global subscriber.
pub fn init(config: &LogConfig) {
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
