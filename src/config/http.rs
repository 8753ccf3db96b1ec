//! The HTTP half's settings: declared here once each, and resolved into the
//! [`HttpConfig`] it takes (where to listen and which setting said so, the drain's
//! grace, the event streams' bounds and who counts as one client for them, and how
//! many naras `/metrics/peers` exports).

use super::layering::values::{parse_count, parse_duration, parse_duration_at_least, parse_switch};
use super::layering::{ConfigError, Origin, Report, Resolved, Setting, Sources, invalid, list_items};
use super::listen_addr;
use crate::http::config::{ClientHeader, HttpConfig, StreamLimits, TrustedProxies};
use http::HeaderName;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// `--http-addr`: where to listen.
pub(crate) static HTTP_ADDR: Setting = Setting::value("http_addr", "http-addr", "ADDR")
    .env(&["NARA_HTTP_ADDR", "HTTP_ADDR"])
    .default(":8080")
    .also_reads(&[PORT])
    .help("Listen address: HOST:PORT, :PORT (all interfaces) or [IPv6]:PORT. When no address is set anywhere and $PORT is, nara listens on all interfaces at $PORT");

/// The port platforms (Heroku, Cloud Run, Fly) give a web process: with no address set
/// anywhere, nara listens on all interfaces at it.
pub(crate) const PORT: &str = "PORT";

/// `--shutdown-grace`: how long a drain may take.
pub(crate) static SHUTDOWN_GRACE: Setting = Setting::value("shutdown_grace", "shutdown-grace", "DURATION")
    .env(&["NARA_SHUTDOWN_GRACE"])
    .default("10s")
    .help("How long in-flight requests may take to finish after SIGTERM, e.g. 10s or 1m30s");

/// `--serve-ui`: accepted from the Go nara's command lines; the UI is always served.
pub(crate) static SERVE_UI: Setting = Setting::switch("serve_ui", "serve-ui")
    .not_in_file()
    .default("true")
    .help("Accepted for the Go nara's command lines: nara always serves its UI");

/// `--http-max-event-streams`: how many `/api/events` streams may be open at once.
pub(crate) static HTTP_MAX_EVENT_STREAMS: Setting =
    Setting::value("http_max_event_streams", "http-max-event-streams", "COUNT")
        .env(&["NARA_HTTP_MAX_EVENT_STREAMS"])
        .default("64")
        .help("The most /api/events streams open at once (1 to 100000); past it a request gets 503 with Retry-After");

/// `--http-max-event-streams-per-client`: how many of them one client may hold.
pub(crate) static HTTP_MAX_EVENT_STREAMS_PER_CLIENT: Setting = Setting::value(
    "http_max_event_streams_per_client",
    "http-max-event-streams-per-client",
    "COUNT",
)
.env(&["NARA_HTTP_MAX_EVENT_STREAMS_PER_CLIENT"])
.default("8")
.help("The most /api/events streams open at once from one client address (1 to 100000; IPv6 by /64); past it a request gets 503 with Retry-After. Behind a proxy every client has the proxy's address unless --http-trusted-proxies names it");

/// `--http-event-stream-max-age`: how long a stream lasts before nara ends it.
pub(crate) static HTTP_EVENT_STREAM_MAX_AGE: Setting =
    Setting::value("http_event_stream_max_age", "http-event-stream-max-age", "DURATION")
        .env(&["NARA_HTTP_EVENT_STREAM_MAX_AGE"])
        .default("10m")
        .help("How long an /api/events stream lasts before nara ends it (at least 10s); a browser reconnects by itself and gets a fresh snapshot");

/// `--http-trusted-proxies`: the peers whose header names the client.
pub(crate) static HTTP_TRUSTED_PROXIES: Setting =
    Setting::value("http_trusted_proxies", "http-trusted-proxies", "CIDRS")
        .env(&["NARA_HTTP_TRUSTED_PROXIES"])
        .help("Proxies in front of nara, as addresses or blocks separated by commas (10.0.0.0/8, 192.0.2.7): a request from one of them is counted as the client its --http-client-ip-header names; any other peer's header is ignored");

/// `--http-client-ip-header`: where a trusted proxy names the client.
pub(crate) static HTTP_CLIENT_IP_HEADER: Setting =
    Setting::value("http_client_ip_header", "http-client-ip-header", "HEADER")
        .env(&["NARA_HTTP_CLIENT_IP_HEADER"])
        .default("X-Forwarded-For")
        .help("The header in which a trusted proxy names the client: X-Forwarded-For (its last address) or a header holding one address, such as Fly-Client-IP or X-Real-IP");

/// The shortest stream age nara takes: below it, browsers would reconnect (and take a
/// fresh snapshot) more often than they show anything.
const MIN_STREAM_AGE: Duration = Duration::from_secs(10);

/// `--metrics-max-peers`: how many naras `/metrics/peers` gives a series each.
pub(crate) static METRICS_MAX_PEERS: Setting = Setting::value("metrics_max_peers", "metrics-max-peers", "COUNT")
    .env(&["NARA_METRICS_MAX_PEERS"])
    .default("10000")
    .help("The most naras /metrics/peers exports series for (0 to 1000000); past it MISSING and flapping, then OFFLINE naras are kept first, and nara_peers_left_out counts the rest");

/// `--metrics-peer-tags`: which tag keys `/metrics/peers` exports.
pub(crate) static METRICS_PEER_TAGS: Setting = Setting::list("metrics_peer_tags", "metrics-peer-tags", "KEY")
    .env(&["NARA_METRICS_PEER_TAGS"])
    .help("A tag key whose value /metrics/peers exports as nara_peer_tag_info{name,key,value} for each nara carrying it (e.g. role). Repeatable, up to 4 keys; in the variable, separated by spaces. Unset, no tag is exported");

/// The most tag keys `/metrics/peers` exports: each is up to one series per nara it
/// exports (`--metrics-max-peers`).
pub(crate) const MAX_METRICS_PEER_TAGS: usize = 4;

/// Where to listen: `--http-addr` from any source, else `PORT` on all interfaces, else
/// the default. Resolved before the name and the log settings, as `--help` lists it.
pub(crate) fn resolve_listen(sources: &Sources, report: &mut Report) -> Result<Resolved<SocketAddr>, ConfigError> {
    let addr = sources.resolve_defaulted(&HTTP_ADDR, report, listen_addr::parse)?;
    match (&addr.origin, sources.env().get(PORT)) {
        (Origin::Default(_), Some(port)) => {
            report.record(&HTTP_ADDR, Some(&format!(":{port}")), PORT);
            let origin = Origin::Env(PORT);
            let value = listen_addr::parse_port(port)
                .map(listen_addr::all_interfaces)
                .map_err(|e| invalid(port, &origin, e))?;
            Ok(Resolved { value, origin })
        }
        _ => Ok(addr),
    }
}

/// The HTTP half's configuration: `listen` as [`resolve_listen`] found it, and the
/// other settings resolved from `sources`.
pub(crate) fn resolve(
    sources: &Sources,
    report: &mut Report,
    listen: Resolved<SocketAddr>,
) -> Result<HttpConfig, ConfigError> {
    let shutdown_grace = sources
        .resolve_defaulted(&SHUTDOWN_GRACE, report, parse_duration)?
        .value;
    // Accepted for the Go nara's command lines; the UI is always served.
    sources.resolve_defaulted(&SERVE_UI, report, parse_switch)?;
    let max_streams = sources
        .resolve_defaulted(&HTTP_MAX_EVENT_STREAMS, report, |t| parse_count(t, 1, 100_000))?
        .value;
    let per_client = sources
        .resolve_defaulted(&HTTP_MAX_EVENT_STREAMS_PER_CLIENT, report, |t| {
            parse_count(t, 1, 100_000)
        })?
        .value;
    let max_age = sources
        .resolve_defaulted(&HTTP_EVENT_STREAM_MAX_AGE, report, |t| {
            parse_duration_at_least(t, MIN_STREAM_AGE)
        })?
        .value;
    let nets = sources
        .resolve(&HTTP_TRUSTED_PROXIES, report, parse_nets)?
        .map_or_else(Vec::new, |r| r.value);
    let header = sources
        .resolve_defaulted(&HTTP_CLIENT_IP_HEADER, report, parse_client_header)?
        .value;
    let metrics_max_peers = sources
        .resolve_defaulted(&METRICS_MAX_PEERS, report, |t| parse_count(t, 0, 1_000_000))?
        .value;
    let metrics_peer_tags = sources
        .resolve(&METRICS_PEER_TAGS, report, parse_tag_keys)?
        .map_or_else(Vec::new, |r| r.value);
    Ok(HttpConfig {
        listen: listen.value,
        listen_source: listen.origin.to_string(),
        shutdown_grace,
        streams: StreamLimits {
            budget: StreamLimits::DEFAULT_BUDGET,
            stall_after: StreamLimits::DEFAULT_STALL_AFTER,
            max_streams,
            per_client,
            max_age,
            proxies: TrustedProxies { nets, header },
        },
        metrics_max_peers,
        metrics_peer_tags,
    })
}

/// Tag keys, each by the tags' rules, at most [`MAX_METRICS_PEER_TAGS`] of them.
fn parse_tag_keys(text: &str) -> Result<Vec<String>, String> {
    let mut keys: Vec<String> = Vec::new();
    for key in list_items(text) {
        if let Some(problem) = crate::plaza::tags::key_problem(key) {
            return Err(problem);
        }
        if !keys.iter().any(|k| k == key) {
            keys.push(key.to_string());
        }
    }
    if keys.len() > MAX_METRICS_PEER_TAGS {
        return Err(format!(
            "{} keys, more than the {MAX_METRICS_PEER_TAGS} /metrics/peers exports",
            keys.len()
        ));
    }
    Ok(keys)
}

/// Addresses and address blocks, separated by commas or spaces; an address alone is a
/// block of one.
fn parse_nets(text: &str) -> Result<Vec<IpNet>, String> {
    text.split([',', ' ', '\t'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{part:?} is not an address or a block such as 10.0.0.0/8, 192.0.2.7 or fd00::/8"))
        })
        .collect()
}

/// `X-Forwarded-For` (any case), or the name of a header holding one address.
fn parse_client_header(text: &str) -> Result<ClientHeader, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("x-forwarded-for") {
        return Ok(ClientHeader::ForwardedFor);
    }
    if text.eq_ignore_ascii_case("forwarded") {
        return Err(
            "the Forwarded header (RFC 7239) is not read; name X-Forwarded-For or a header holding one address"
                .to_string(),
        );
    }
    HeaderName::from_bytes(text.as_bytes())
        .map(ClientHeader::Single)
        .map_err(|_| "expected a header name such as X-Forwarded-For, Fly-Client-IP or X-Real-IP".to_string())
}

/// The HTTP half's configuration when nothing is set: every declared default; what
/// `testing::http_config` hands tests and tools.
pub(crate) fn defaults() -> HttpConfig {
    // The declared defaults are constants, and a test resolves them.
    let sources = Sources::default();
    let mut report = Report::default();
    resolve_listen(&sources, &mut report)
        .and_then(|listen| resolve(&sources, &mut report, listen))
        .expect("the declared defaults resolve")
}

/// [`defaults`] with `/metrics/peers` exporting the tag keys `keys`, as
/// `--metrics-peer-tags` would give them (for the tags' budget program).
pub(crate) fn defaults_with_peer_tags(keys: Vec<String>) -> HttpConfig {
    HttpConfig {
        metrics_peer_tags: keys,
        ..defaults()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_defaults_resolve() {
        let config = defaults();
        assert_eq!(config.listen, listen_addr::all_interfaces(8080));
        assert_eq!(config.listen_source, "the default of --http-addr");
        assert!(config.metrics_peer_tags.is_empty());
    }

    #[test]
    fn metrics_peer_tags_are_tag_keys_at_most_four_and_a_bad_one_names_the_flag() {
        let resolve_keys = |args: &[&str]| {
            let invocation = super::super::cli::parse(args).unwrap();
            let sources = Sources::new(invocation.flags, Default::default(), None);
            let mut report = Report::default();
            let listen = resolve_listen(&sources, &mut report).unwrap();
            resolve(&sources, &mut report, listen).map(|c| c.metrics_peer_tags)
        };
        let keys = resolve_keys(&["nara", "--metrics-peer-tags", "role", "--metrics-peer-tags", "site"]).unwrap();
        assert_eq!(keys, ["role", "site"]);
        let err = resolve_keys(&["nara", "--metrics-peer-tags", "Role"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("for --metrics-peer-tags") && err.contains("\"Role\""),
            "{err}"
        );
        let five: Vec<String> = (0..5).map(|i| format!("--metrics-peer-tags=k{i}")).collect();
        let mut args = vec!["nara"];
        args.extend(five.iter().map(String::as_str));
        let err = resolve_keys(&args).unwrap_err().to_string();
        assert!(err.contains("5 keys, more than the 4"), "{err}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_blocks_and_a_bad_one_is_named() {
        let nets = parse_nets("10.0.0.0/8, 192.0.2.7 fd00::/8").unwrap();
        assert_eq!(nets.len(), 3);
        assert!(nets[1].contains(&"192.0.2.7".parse::<IpAddr>().unwrap()));
        assert!(!nets[1].contains(&"192.0.2.8".parse::<IpAddr>().unwrap()));
        assert_eq!(parse_nets("").unwrap(), Vec::<IpNet>::new());
        let err = parse_nets("10.0.0.0/8,proxy.lan").unwrap_err();
        assert!(err.contains("\"proxy.lan\""), "{err}");
    }

    #[test]
    fn the_client_header_is_x_forwarded_for_or_one_that_holds_an_address() {
        assert_eq!(parse_client_header("x-forwarded-FOR"), Ok(ClientHeader::ForwardedFor));
        assert_eq!(
            parse_client_header("Fly-Client-IP"),
            Ok(ClientHeader::Single(HeaderName::from_static("fly-client-ip")))
        );
        assert!(parse_client_header("Forwarded").unwrap_err().contains("RFC 7239"));
        assert!(parse_client_header("not a header").is_err());
    }

    #[test]
    fn the_listen_source_names_the_setting_that_gave_the_address() {
        let source = |args: &[&str], env: &[(&str, &str)]| {
            let invocation = super::super::cli::parse(args).unwrap();
            let env = super::super::Environment::from_pairs(env.iter().copied());
            let sources = Sources::new(invocation.flags, env, None);
            resolve_listen(&sources, &mut Report::default())
                .unwrap()
                .origin
                .to_string()
        };
        assert_eq!(source(&["nara", "--http-addr", ":1"], &[("PORT", "2")]), "--http-addr");
        assert_eq!(source(&["nara"], &[("PORT", "2")]), "PORT");
        assert_eq!(source(&["nara"], &[("HTTP_ADDR", ":3")]), "HTTP_ADDR");
    }
}
