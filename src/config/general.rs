//! The settings of nara as a whole (the file, the address, the name, logging,
//! shutdown), declared once each; the plaza declares its own beside it.

use crate::layering::{DefaultValue, Group, Setting, Shape};
use crate::plaza;

/// `--config`: the TOML file the other settings may come from.
pub static CONFIG: Setting = Setting {
    key: "config",
    flag: Some("config"),
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
    env: &["NARA_HTTP_ADDR"],
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
    env: &["NARA_NAME"],
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

/// nara's own settings, in the order `--help` lists them.
pub static GENERAL: [&Setting; 6] = [&CONFIG, &HTTP_ADDR, &NAME, &LOG_FORMAT, &LOG_LEVEL, &SHUTDOWN_GRACE];

/// Every setting: nara's own, then the plaza's.
pub fn all() -> impl Iterator<Item = &'static Setting> {
    GENERAL.iter().chain(plaza::settings::SETTINGS.iter()).copied()
}
