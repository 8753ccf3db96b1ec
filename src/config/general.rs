//! The settings of nara as a whole (the file, the address, the name, logging,
//! shutdown), declared once each; the plaza declares its own beside it.

use crate::layering::{DefaultValue, Group, Setting, Shape};
use crate::plaza;

/// `--config`: the TOML file the other settings may come from.
pub static CONFIG: Setting = Setting {
    key: "config",
    flag: Some("config"),
    aliases: &[],
    env: &["NARA_CONFIG"],
    in_file: false,
    value_name: "FILE",
    default: DefaultValue::Unset,
    help: "Read settings from this TOML file (keys as the flags, with underscores)",
    shape: Shape::Value,
    secret: false,
    group: Group::General,
    fallbacks: &[],
};

/// `--http-addr`: where to listen.
pub static HTTP_ADDR: Setting = Setting {
    key: "http_addr",
    flag: Some("http-addr"),
    aliases: &[],
    env: &["NARA_HTTP_ADDR", "HTTP_ADDR"],
    in_file: true,
    value_name: "ADDR",
    default: DefaultValue::Value(":8080"),
    help: "Listen address: HOST:PORT, :PORT (all interfaces) or [IPv6]:PORT. When no address is set anywhere and $PORT is, nara listens on all interfaces at $PORT",
    shape: Shape::Value,
    secret: false,
    group: Group::General,
    fallbacks: &["PORT"],
};

/// `--name`: this nara's name on the plaza and in the UI.
pub static NAME: Setting = Setting {
    key: "name",
    flag: Some("name"),
    aliases: &["nara-id"],
    env: &["NARA_NAME", "NARA_ID"],
    in_file: true,
    value_name: "NAME",
    default: DefaultValue::Described("the hostname"),
    help: "This nara's name: letters, digits, '-', '_' or '.', at most 64",
    shape: Shape::Value,
    secret: false,
    group: Group::General,
    fallbacks: &[],
};

/// `--log-format`: pretty or JSON lines.
pub static LOG_FORMAT: Setting = Setting {
    key: "log_format",
    flag: Some("log-format"),
    aliases: &[],
    env: &["NARA_LOG_FORMAT"],
    in_file: true,
    value_name: "FORMAT",
    default: DefaultValue::Value("auto"),
    help: "Log format: auto (pretty on a terminal, JSON otherwise), json or pretty",
    shape: Shape::Value,
    secret: false,
    group: Group::General,
    fallbacks: &[],
};

/// `--log-level`: the log filter.
pub static LOG_LEVEL: Setting = Setting {
    key: "log_level",
    flag: Some("log-level"),
    aliases: &[],
    env: &["NARA_LOG_LEVEL"],
    in_file: true,
    value_name: "FILTER",
    default: DefaultValue::Value("info"),
    help: "Log filter, e.g. info or nara=debug; with none set anywhere, RUST_LOG is used",
    shape: Shape::Value,
    secret: false,
    group: Group::General,
    fallbacks: &["RUST_LOG"],
};

/// `--shutdown-grace`: how long a drain may take.
pub static SHUTDOWN_GRACE: Setting = Setting {
    key: "shutdown_grace",
    flag: Some("shutdown-grace"),
    aliases: &[],
    env: &["NARA_SHUTDOWN_GRACE"],
    in_file: true,
    value_name: "DURATION",
    default: DefaultValue::Value("10s"),
    help: "How long in-flight requests may take to finish after SIGTERM, e.g. 10s or 1m30s",
    shape: Shape::Value,
    secret: false,
    group: Group::General,
    fallbacks: &[],
};

/// `--verbose`: the Go nara's switch for debug logs.
pub static VERBOSE: Setting = Setting {
    key: "verbose",
    flag: Some("verbose"),
    aliases: &[],
    env: &[],
    in_file: false,
    value_name: "",
    default: DefaultValue::Value("false"),
    help: "Log at debug level, when no log filter is set anywhere (as the Go nara's -verbose)",
    shape: Shape::Switch,
    secret: false,
    group: Group::General,
    fallbacks: &[],
};

/// `--vv`: the Go nara's switch for trace logs.
pub static VERY_VERBOSE: Setting = Setting {
    key: "vv",
    flag: Some("vv"),
    aliases: &[],
    env: &[],
    in_file: false,
    value_name: "",
    default: DefaultValue::Value("false"),
    help: "Log at trace level, when no log filter is set anywhere (as the Go nara's -vv)",
    shape: Shape::Switch,
    secret: false,
    group: Group::General,
    fallbacks: &[],
};

/// `--serve-ui`: accepted from the Go nara's command lines; the UI is always served.
pub static SERVE_UI: Setting = Setting {
    key: "serve_ui",
    flag: Some("serve-ui"),
    aliases: &[],
    env: &[],
    in_file: false,
    value_name: "",
    default: DefaultValue::Value("true"),
    help: "Accepted for the Go nara's command lines: nara always serves its UI",
    shape: Shape::Switch,
    secret: false,
    group: Group::General,
    fallbacks: &[],
};

/// `--http-max-event-streams`: how many `/api/events` streams may be open at once.
pub static HTTP_MAX_EVENT_STREAMS: Setting = Setting {
    key: "http_max_event_streams",
    flag: Some("http-max-event-streams"),
    aliases: &[],
    env: &["NARA_HTTP_MAX_EVENT_STREAMS"],
    in_file: true,
    value_name: "COUNT",
    default: DefaultValue::Value("64"),
    help: "The most /api/events streams open at once (1 to 100000); past it a request gets 503 with Retry-After",
    shape: Shape::Value,
    secret: false,
    group: Group::General,
    fallbacks: &[],
};

/// nara's own settings, in the order `--help` lists them.
pub static GENERAL: [&Setting; 10] = [
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
    GENERAL.iter().chain(plaza::settings::SETTINGS.iter()).copied()
}
