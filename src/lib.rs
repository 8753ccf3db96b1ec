//! nara: one binary that serves its API, web UI and documentation on a single port,
//! with every asset embedded at build time.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that tests can run
//! the very same server in-process on an ephemeral port.

pub mod accept_backoff;
pub mod assets;
pub mod build_info;
pub mod cli;
pub mod config;
pub mod encoding;
pub mod health;
pub mod healthcheck;
pub mod heap;
pub mod linger;
pub mod listen_addr;
pub mod logging;
pub mod metrics;
pub mod open_files;
pub mod plaza;
pub mod routes;
pub mod server;
pub mod shutdown;
pub mod status;
pub mod systemd;
