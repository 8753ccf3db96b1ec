//! The HTTP half's configuration as it takes it: where to listen (and which setting
//! said so), how long a drain may take, the bounds of the event streams, and how many
//! naras `/metrics/peers` exports. The configuration room fills it in from the
//! settings; the HTTP half reads it and declares no setting.

use std::net::SocketAddr;
use std::time::Duration;

/// The HTTP half's settings. It has no `Default`: its defaults are the declared ones, as
/// `nara::testing::http_config()` resolves them.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Where to listen, unless systemd passes a socket.
    pub(crate) listen: SocketAddr,
    /// Where `listen` came from, as an error about it would name it: `--http-addr`, a
    /// variable (`NARA_HTTP_ADDR`, `PORT`), a key in the `--config` file, or the default.
    pub(crate) listen_source: String,
    /// How long requests in flight may take to finish once a drain begins.
    pub(crate) shutdown_grace: Duration,
    /// The bounds of the `/api/events` streams.
    pub streams: StreamLimits,
    /// The most naras `/metrics/peers` exports series for (`--metrics-max-peers`).
    pub(crate) metrics_max_peers: usize,
}

/// The bounds of the event streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    /// Unsent bytes of events a stream may hold, besides one unsent snapshot.
    pub budget: usize,
    /// How long a stream may hold unsent bytes without its connection taking any.
    pub stall_after: Duration,
    /// Streams open at once (`--http-max-event-streams`).
    pub max_streams: usize,
}

impl StreamLimits {
    /// 1 MiB of changes (about 3,000) beyond one snapshot: a browser that reads keeps
    /// far less queued, a client that stopped reading reaches it within one churn.
    pub(crate) const DEFAULT_BUDGET: usize = 1024 * 1024;
    /// 30 s without a byte taken: longer than any pause of a reading browser, short
    /// enough that a stalled client's snapshot is let go soon.
    pub(crate) const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(30);
}
