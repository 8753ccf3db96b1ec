//! The settings of nara as a whole (the file, the address, the name, logging,
//! shutdown), declared once each; the plaza's are declared beside them, in
//! [`super::plaza`] and, for its secrets, [`super::secrets`].

use super::layering::Setting;
use super::plaza;

/// `--config`: the TOML file the other settings may come from.
pub(crate) static CONFIG: Setting = Setting::value("config", "config", "FILE")
    .env(&["NARA_CONFIG"])
    .not_in_file()
    .help("Read settings from this TOML file (keys as the flags, with underscores)");

/// `--http-addr`: where to listen.
pub(crate) static HTTP_ADDR: Setting = Setting::value("http_addr", "http-addr", "ADDR")
    .env(&["NARA_HTTP_ADDR", "HTTP_ADDR"])
    .default(":8080")
    .also_reads(&[PORT])
    .help("Listen address: HOST:PORT, :PORT (all interfaces) or [IPv6]:PORT. When no address is set anywhere and $PORT is, nara listens on all interfaces at $PORT");

/// The port platforms (Heroku, Cloud Run, Fly) give a web process: with no address set
/// anywhere, nara listens on all interfaces at it.
pub(crate) const PORT: &str = "PORT";

/// `--name`: this nara's name on the plaza and in the UI.
pub static NAME: Setting = Setting::value("name", "name", "NAME")
    .aliases(&["nara-id"])
    .env(&["NARA_NAME", "NARA_ID"])
    .default_described("the hostname")
    .help("This nara's name: letters, digits, '-', '_' or '.', at most 64");

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

/// `--shutdown-grace`: how long a drain may take.
pub(crate) static SHUTDOWN_GRACE: Setting = Setting::value("shutdown_grace", "shutdown-grace", "DURATION")
    .env(&["NARA_SHUTDOWN_GRACE"])
    .default("10s")
    .help("How long in-flight requests may take to finish after SIGTERM, e.g. 10s or 1m30s");

/// `--verbose`: the Go nara's switch for debug logs.
pub(crate) static VERBOSE: Setting = Setting::switch("verbose", "verbose")
    .not_in_file()
    .help("Log at debug level, when no log filter is set anywhere (as the Go nara's -verbose)");

/// `--vv`: the Go nara's switch for trace logs.
pub(crate) static VERY_VERBOSE: Setting = Setting::switch("vv", "vv")
    .not_in_file()
    .help("Log at trace level, when no log filter is set anywhere (as the Go nara's -vv)");

/// `--serve-ui`: accepted from the Go nara's command lines; the UI is always served.
pub(crate) static SERVE_UI: Setting = Setting::switch("serve_ui", "serve-ui")
    .not_in_file()
    .default("true")
    .help("Accepted for the Go nara's command lines: nara always serves its UI");

/// `--http-max-event-streams`: how many `/api/events` streams may be open at once.
pub(crate) static HTTP_MAX_EVENT_STREAMS: Setting =
    Setting::value("http_max_event_streams", "http-max-event-streams", "COUNT")
        .env(&["NARA_HTTP_MAX_EVENT_STREAMS"])
        .default("64")
        .help("The most /api/events streams open at once (1 to 100000); past it a request gets 503 with Retry-After");

/// nara's own settings, in the order `--help` lists them.
pub(crate) static GENERAL: [&Setting; 10] = [
    &CONFIG,
    &HTTP_ADDR,
    &NAME,
    &LOG_FORMAT,
    &LOG_LEVEL,
    &VERBOSE,
    &VERY_VERBOSE,
    &SHUTDOWN_GRACE,
    &SERVE_UI,
    &HTTP_MAX_EVENT_STREAMS,
];

/// Every setting: nara's own, then the plaza's.
pub fn all() -> impl Iterator<Item = &'static Setting> {
    GENERAL.iter().chain(plaza::SETTINGS.iter()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_setting_has_help_and_its_own_key_flag_and_variables() {
        let mut keys = BTreeSet::new();
        let mut flags = BTreeSet::new();
        let mut variables = BTreeSet::new();
        for setting in all() {
            assert!(!setting.help.is_empty(), "{} has no help", setting.key);
            assert!(keys.insert(setting.key), "key {} twice", setting.key);
            for flag in setting.flag.iter().chain(setting.aliases) {
                assert!(flags.insert(*flag), "--{flag} twice");
            }
            for var in setting.env {
                assert!(variables.insert(*var), "{var} twice");
            }
        }
    }
}
