//! The HTTP half of nara: the accept loop and its guards, the routes, the embedded
//! assets, health, status and the plaza's event stream, and the healthcheck client.
//!
//! This room may read the plaza's view (peers, status, changes); the plaza never
//! reaches back into it.

pub mod accept_backoff;
pub mod assets;
pub mod encoding;
pub mod events;
pub mod hangup;
pub mod health;
pub mod healthcheck;
pub mod heap;
pub mod linger;
pub mod routes;
pub mod server;
pub mod status;
