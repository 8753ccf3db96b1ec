//! nara: one binary that serves its API, web UI and documentation on a single port,
//! with every asset embedded at build time, and meets other naras on the plaza.
//!
//! The rooms, each depending only on those listed after it:
//! - [`nara`](mod@nara): the assembly, [`Nara`], whose one entry point [`Nara::run`] the
//!   binary and the in-process tests both start;
//! - [`config`]: every setting, declared and resolved from its sources, the command
//!   line, and the one typed [`config::Config`];
//! - [`http`]: the HTTP half (server loop, routes, assets, health, status, events);
//! - [`plaza`]: the plaza half (identity, wire format, transport, the peer view);
//! - small shared modules: metrics, logging, systemd, signals, build info;
//! - `testing`: what tests, examples, benches and fuzz targets start from (hidden from
//!   the docs).

pub mod boot_clock;
pub mod build_info;
pub mod config;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod nara;
pub mod open_files;
pub mod plaza;
pub mod signals;
pub mod start_time;
pub mod systemd;
#[doc(hidden)]
pub mod testing;

pub use self::nara::Nara;
