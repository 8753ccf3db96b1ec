//! The HTTP half of nara: the accept loop and its guards, the routes, the embedded
//! assets, health, status, the rollout, the plaza's event stream and its metrics per
//! nara; the client of the subcommands that ask a running nara (`healthcheck`,
//! `rollout wait`, `peers`); and the typed configuration it is given.
//!
//! This room may read the plaza's view (peers, status, changes); the plaza never
//! reaches back into it.

pub(crate) mod accept_backoff;
pub(crate) mod assets;
pub(crate) mod client;
pub(crate) mod client_ip;
pub(crate) mod config;
pub(crate) mod connection;
pub(crate) mod encoding;
mod events;
pub(crate) mod filtered;
pub(crate) mod go_json;
pub(crate) mod hangup;
pub(crate) mod health;
pub mod healthcheck;
pub(crate) mod heap;
pub(crate) mod linger;
mod peer_metrics;
pub mod peer_table;
pub(crate) mod peers;
pub(crate) mod rollout;
pub mod rollout_gate;
pub(crate) mod routes;
pub(crate) mod seats;
pub(crate) mod server;
pub(crate) mod socket;
pub(crate) mod status;
