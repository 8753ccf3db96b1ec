//! The HTTP half's settings: declared here once each, and resolved into the
//! [`HttpConfig`] it takes (where to listen and which setting said so, the drain's
//! grace, the event streams' bounds, how many naras `/metrics/peers` exports).

use super::layering::values::{parse_count, parse_duration, parse_switch};
use super::layering::{ConfigError, Origin, Report, Resolved, Setting, Sources, invalid};
use super::listen_addr;
use crate::http::config::{HttpConfig, StreamLimits};
use std::net::SocketAddr;

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

/// `--metrics-max-peers`: how many naras `/metrics/peers` gives a series each.
pub(crate) static METRICS_MAX_PEERS: Setting = Setting::value("metrics_max_peers", "metrics-max-peers", "COUNT")
    .env(&["NARA_METRICS_MAX_PEERS"])
    .default("10000")
    .help("The most naras /metrics/peers exports series for (0 to 1000000); past it MISSING, then OFFLINE naras are kept first, and nara_peers_left_out counts the rest");

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
    let metrics_max_peers = sources
        .resolve_defaulted(&METRICS_MAX_PEERS, report, |t| parse_count(t, 0, 1_000_000))?
        .value;
    Ok(HttpConfig {
        listen: listen.value,
        listen_source: listen.origin.to_string(),
        shutdown_grace,
        streams: StreamLimits {
            budget: StreamLimits::DEFAULT_BUDGET,
            stall_after: StreamLimits::DEFAULT_STALL_AFTER,
            max_streams,
        },
        metrics_max_peers,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_defaults_resolve() {
        let config = defaults();
        assert_eq!(config.listen, listen_addr::all_interfaces(8080));
        assert_eq!(config.listen_source, "the default of --http-addr");
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
