//! The HTTP half of nara: the accept loop and its guards, the routes, the embedded
//! assets, health, status and the plaza's event stream, the healthcheck client, and
//! the typed configuration it is given.
//!
//! This room may read the plaza's view (peers, status, changes); the plaza never
//! reaches back into it.

pub(crate) mod accept_backoff;
pub(crate) mod assets;
pub(crate) mod config;
pub(crate) mod encoding;
mod events;
pub(crate) mod filtered;
pub(crate) mod go_json;
pub(crate) mod hangup;
pub(crate) mod health;
pub mod healthcheck;
pub(crate) mod heap;
pub(crate) mod linger;
pub(crate) mod peers;
pub(crate) mod routes;
pub(crate) mod server;
pub(crate) mod status;
