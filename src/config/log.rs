//! The log settings: declared here once each, and resolved into the [`LogConfig`]
//! logging takes: its format, and one filter from `--log-level`, the Go nara's
//! `-verbose` and `-vv`, or `RUST_LOG`, with a warning when that filter would silence
//! every line of nara's own.

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
    let silenced = silences_nara(&filter).then(|| {
        format!(
            "the log filter {filter:?} from {filter_origin} enables none of nara's own log lines, so nara logs \
             nothing of its own (a word that is not a level names a target, and nara's targets are nara and \
             nara::…); {EXPECTED}"
        )
    });
    Ok(LogConfig {
        format,
        filter,
        silenced,
    })
}

/// What a log filter may be, the end of every message about one.
const EXPECTED: &str = "expected a level (error, warn, info, debug, trace or off), or TARGET=LEVEL pairs such as \
                        nara=debug,hyper=info";

/// The error for `directive`, which is not part of a log filter (the whole filter when
/// it has none).
fn not_a_filter(directive: &str) -> String {
    format!("{directive:?} is not a level or TARGET=LEVEL; {EXPECTED}")
}

/// The levels a filter names.
const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];

/// The directives of a filter: what its commas separate, trimmed, empty ones left out.
fn directives(filter: &str) -> impl Iterator<Item = &str> {
    filter.split(',').map(str::trim).filter(|d| !d.is_empty())
}

/// A log filter as tracing reads it. With `levels_bare`, a directive without `=` must be
/// a level: the filter would read `infoo` as a target, and log nothing at all. Targets
/// take a level (`nara=debug`). Every refusal is worded alike ([`not_a_filter`]).
fn parse_log_filter(filter: &str, levels_bare: bool) -> Result<String, String> {
    if directives(filter).next().is_none() {
        return Err(not_a_filter(filter));
    }
    for directive in directives(filter) {
        let bare_word = !directive.contains('=') && !LEVELS.contains(&directive.to_ascii_lowercase().as_str());
        if (levels_bare && bare_word) || directive.parse::<tracing_subscriber::filter::Directive>().is_err() {
            return Err(not_a_filter(directive));
        }
    }
    tracing_subscriber::EnvFilter::try_new(filter).map_err(|_| not_a_filter(filter))?;
    Ok(filter.to_string())
}

/// Whether `filter` (valid) enables no line of nara's own, whose targets are `nara` and
/// `nara::…`, while asking for some lines: a filter that turns nara's lines off (`off`,
/// `nara=off,hyper=debug`) says what it means. A directive on spans or fields
/// (`[conn]=debug`) may enable lines in them, so it silences nothing.
fn silences_nara(filter: &str) -> bool {
    let mut asks = false;
    let mut turns_off = false;
    for directive in directives(filter) {
        // `target[span{field=value}]=level`: the level follows the last `=`, unless that
        // `=` is a field's.
        let (selector, level) = match directive.rsplit_once('=') {
            Some((selector, level)) if !level.contains(['}', ']']) => (selector, Some(level)),
            _ => (directive, None),
        };
        let (target, level) = match level {
            Some(level) => (selector, level.to_ascii_lowercase()),
            None if LEVELS.contains(&selector.to_ascii_lowercase().as_str()) => ("", selector.to_ascii_lowercase()),
            None => (selector, "trace".to_string()),
        };
        let target = target.split('[').next().unwrap_or("");
        // A target matches every target that starts with it.
        let of_nara = "nara".starts_with(target) || target.starts_with("nara::");
        if level == "off" {
            turns_off |= of_nara;
            continue;
        }
        asks = true;
        if selector.contains('[') || of_nara {
            return false;
        }
    }
    asks && !turns_off
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refused_filter_is_worded_alike() {
        for (filter, levels_bare, at_fault) in [
            ("infoo", true, "infoo"),
            ("info,nara=loud", true, "nara=loud"),
            ("nara=loud", false, "nara=loud"),
            ("nara[{", false, "nara[{"),
            (" , ", true, " , "),
        ] {
            assert_eq!(
                parse_log_filter(filter, levels_bare),
                Err(format!(
                    "{at_fault:?} is not a level or TARGET=LEVEL; expected a level (error, warn, info, debug, trace or \
                     off), or TARGET=LEVEL pairs such as nara=debug,hyper=info"
                )),
                "{filter}"
            );
        }
        assert_eq!(
            parse_log_filter("infoo", false),
            Ok("infoo".into()),
            "RUST_LOG's syntax"
        );
        assert_eq!(parse_log_filter("INFO,nara=debug", true), Ok("INFO,nara=debug".into()));
    }

    #[test]
    fn a_filter_that_enables_none_of_naras_lines_is_told_from_one_that_turns_them_off() {
        for silencing in ["infoo", "hyper=debug", "narax=info", "nara_web=info", "narA=info"] {
            assert!(silences_nara(silencing), "{silencing}");
        }
        for hearing in [
            "info",
            "nara=debug",
            "nara::plaza=trace",
            "nar",
            "hyper=debug,warn",
            "[conn]=debug",
            "nara[conn{peer=x}]",
            "off",
            "nara=off",
            "hyper=off,off",
            "nara=off,hyper=debug",
            "nara_web=info,off",
        ] {
            assert!(!silences_nara(hearing), "{hearing}");
        }
    }
}
