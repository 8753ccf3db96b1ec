//! nara: one binary that serves its API, web UI and documentation on a single port,
//! with every asset embedded at build time, and meets other naras on the plaza.
//!
//! The rooms are private modules, each depending only on those listed after it:
//! - `nara`: the assembly, [`Nara`], whose one entry point [`Nara::run`] the binary and
//!   the in-process tests both start;
//! - `config`: every setting, declared and resolved from its sources, the command line,
//!   and the one typed [`Config`];
//! - `hooks`: the event hooks, programs and webhooks run on the view's confirmed
//!   changes;
//! - `http`: the HTTP half (server loop, routes, assets, health, status, events);
//! - `plaza`: the plaza half (identity, wire format, transport, the peer view);
//! - small shared modules: metrics, logging, systemd, signals, build info, the clocks,
//!   the open-file limit.
//!
//! What the binary and the tests, examples, benches and fuzz targets use on purpose is
//! named below, by `pub use`; nothing else leaves the crate. `testing` (hidden from the
//! docs) holds what only they start from.

mod boot_clock;
mod build_info;
mod config;
mod hooks;
mod http;
mod logging;
mod metrics;
mod nara;
mod open_files;
mod plaza;
mod signals;
mod start_time;
mod systemd;
// Hidden rather than behind a feature: the integration tests, examples and the fuzz
// crate reach it with no flag to remember, and the binary never calls it.
#[doc(hidden)]
pub mod testing;

// The binary's steps: its command line, the configuration that resolves to, what the
// process sets up around the server, and the server.
pub use crate::config::cli;
pub use crate::config::identity::minted_soul_advice;
pub use crate::config::layering::{ConfigError, Environment};
pub use crate::config::{
    Config, HealthcheckTarget, Settings, check as check_config, healthcheck_target, load as load_config,
};
pub use crate::http::{healthcheck, peer_table, rollout_gate};
pub use crate::logging::init as init_logging;
pub use crate::nara::{Nara, StartError, bind, runtime};
pub use crate::open_files::raise_and_report as raise_open_files_limit;
pub use crate::signals::Signals;

// The parts of a Config, each handed whole to its consumer.
pub use crate::http::config::{ClientHeader, HttpConfig, StreamLimits, TrustedProxies};
pub use crate::logging::{LogConfig, LogFormat};
pub use crate::plaza::config::PlazaConfig;

// The settings' declarations, which --help, the TOML keys and the book follow.
pub use crate::config::layering::{DefaultValue, Setting, Shape};
pub use crate::config::list::all as all_settings;

// The pieces a nara is assembled from, for tests and tools that assemble one
// differently (their own stream limits, a plaza of 10,000, the accept loop alone).
pub use crate::http::health::Health;
pub use crate::http::routes::{App, Body};
pub use crate::http::server::{Ended, HEADER_READ_TIMEOUT, app_service, serve};
pub use crate::metrics::Metrics;
pub use crate::plaza::Plaza;
pub use crate::plaza::identity::{Fingerprint, Identity, Soul, SoulSource, validate_name};
pub use crate::plaza::message::Kind;

// The plaza's wire format as a unit, for tests and tools that speak as other naras
// (event, newspaper with the tags and host health it carries, will, and the retained
// expiry a fleet keeps) and fuzz what a broker delivers (wire, view).
pub use crate::plaza::{event, host_health, newspaper, retained, tags, view, will, wire};

// What the build says of itself.
pub use crate::build_info::{REVISION, VERSION};
