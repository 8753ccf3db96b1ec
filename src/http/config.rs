//! The HTTP half's configuration as it takes it: where to listen (and which setting
//! said so), how long a drain may take, the bounds of the event streams, with who
//! counts as one client for them, and how many naras `/metrics/peers` exports. The
//! configuration room fills it in from the settings; the HTTP half reads it and
//! declares no setting.

use http::HeaderName;
use ipnet::IpNet;
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
    /// The tag keys `/metrics/peers` exports (`--metrics-peer-tags`).
    pub(crate) metrics_peer_tags: Vec<String>,
}

/// The bounds of the event streams, and who counts as one client for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    /// Bytes of events a stream may hold unread by its client (queued by nara or in the
    /// kernel's send buffer), besides one snapshot.
    pub budget: usize,
    /// How long a stream may hold unread bytes while its client reads almost none.
    pub stall_after: Duration,
    /// Streams open at once (`--http-max-event-streams`).
    pub max_streams: usize,
    /// Streams open at once from one client (`--http-max-event-streams-per-client`).
    pub per_client: usize,
    /// How long a stream may last before nara ends it (`--http-event-stream-max-age`).
    pub max_age: Duration,
    /// Who a request's client is when it comes through a proxy.
    pub proxies: TrustedProxies,
}

impl StreamLimits {
    /// 1 MiB of changes (about 3,000) beyond one snapshot: a browser that reads keeps
    /// far less unread, a client that stopped reading reaches it within one churn.
    pub(crate) const DEFAULT_BUDGET: usize = 1024 * 1024;
    /// 30 s of reading almost nothing while bytes wait: longer than any pause of a
    /// reading browser, short enough that a stalled client's snapshot is let go soon.
    pub(crate) const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(30);
}

/// The proxies whose word about a request's client nara takes
/// (`--http-trusted-proxies`, `--http-client-ip-header`). A request from any other peer
/// is its peer's, whatever its headers say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedProxies {
    /// The peers that are proxies, by address block; none by default.
    pub nets: Vec<IpNet>,
    /// The header in which they name the client.
    pub header: ClientHeader,
}

/// Where a trusted proxy names the client it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientHeader {
    /// `X-Forwarded-For`: its last address, the one the proxy itself appended.
    ForwardedFor,
    /// A header holding one address, such as Fly's `Fly-Client-IP` or `X-Real-IP`.
    Single(HeaderName),
}
