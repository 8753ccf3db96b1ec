//! The log settings: declared here once each, and resolved into the [`LogConfig`]
//! logging takes: its format, and one filter from `--log-level`, the Go nara's
//! `-verbose` and `-vv`, or `RUST_LOG`.

use super::layering::{ConfigError, Origin, Report, Setting, Sources, invalid};
use crate::logging::{LogConfig, LogFormat};

/// `--log-format`: pretty or JSON lines.
pub(crate) static LOG_FORMAT: Setting = Setting::value("log_format", "log-format", "FORMAT")
    .env(&["NARA_LOG_FORMAT"])
    .default("auto")
    .help("Log format: auto (pretty on a terminal, JSON otherwise), json or pretty");

/// `--log-level`: the log filter.
pub(crate) static LOG_LEVEL: Setting = Setting::value("log_level", "log-level", "FILTER")
    .env(&["NARA_LOG_LEVEL"])
    .default("info")
    .also_reads(&[RUST_LOG])
    .help("Log filter, e.g. info or nara=debug; with none set anywhere, RUST_LOG is used");

/// The filter other Rust programs read: with no log filter set anywhere (nor `--verbose`
/// or `--vv`), nara takes it, in the target syntax they share.
pub(crate) const RUST_LOG: &str = "RUST_LOG";

/// `--verbose`: the Go nara's switch for debug logs.
pub(crate) static VERBOSE: Setting = Setting::switch("verbose", "verbose")
    .not_in_file()
    .help("Log at debug level, when no log filter is set anywhere (as the Go nara's -verbose)");

/// `--vv`: the Go nara's switch for trace logs.
pub(crate) static VERY_VERBOSE: Setting = Setting::switch("vv", "vv")
    .not_in_file()
    .help("Log at trace level, when no log filter is set anywhere (as the Go nara's -vv)");

/// How log lines look and which ones are written.
pub(crate) fn resolve(sources: &Sources, report: &mut Report) -> Result<LogConfig, ConfigError> {
    let format = sources.resolve_defaulted(&LOG_FORMAT, report, LogFormat::parse)?.value;

    let level = sources.resolve_defaulted(&LOG_LEVEL, report, |f| parse_log_filter(f, true))?;
    // The Go nara's -vv and -verbose; the louder one wins.
    let mut louder = None;
    for (setting, filter) in [(&VERY_VERBOSE, "trace"), (&VERBOSE, "debug")] {
        if let Some(picked) = sources.pick(setting)?.filter(|p| p.value == "true") {
            louder = Some((filter.to_string(), picked.origin));
            break;
        }
    }
    let (filter, filter_origin) = match (&level.origin, louder, sources.env().get(RUST_LOG)) {
        (Origin::Default(_), Some(louder), _) => louder,
        // RUST_LOG may be set for other programs too, in the filter syntax they share.
        (Origin::Default(_), None, Some(filter)) => (
            parse_log_filter(filter, false).map_err(|e| invalid(filter, &Origin::Env(RUST_LOG), e))?,
            Origin::Env(RUST_LOG),
        ),
        _ => (level.value, level.origin),
    };
    report.record(&LOG_LEVEL, Some(&filter), &filter_origin);
    Ok(LogConfig { format, filter })
}

/// A log filter as tracing reads it. With `levels_bare`, a directive without `=` must be
/// a level: the filter would read `infoo` as a target, and log nothing at all. Targets
/// take a level (`nara=debug`).
fn parse_log_filter(filter: &str, levels_bare: bool) -> Result<String, String> {
    const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if levels_bare && !directive.contains('=') && !LEVELS.contains(&directive.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "{directive:?} is not a level; expected error, warn, info, debug, trace or off, or \
                 TARGET=LEVEL pairs such as nara=debug,hyper=info"
            ));
        }
    }
    tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| format!("expected a level (error, warn, info, debug, trace) or target=level list ({e})"))?;
    Ok(filter.to_string())
}
