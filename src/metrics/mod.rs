//! Prometheus metrics: build info, requests by route and status, a latency histogram,
//! and the standard `process_*` metrics, rendered in the text exposition format; and
//! the format written directly ([`text`]) for pages rebuilt on every scrape.

mod process;
pub(crate) mod text;

use crate::build_info;
use crate::start_time::StartTime;
use http::StatusCode;
use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::time::Duration;

/// The `Content-Type` of the text exposition format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Latency buckets in seconds: embedded assets answer in microseconds, so the low end
/// is fine-grained; anything past a second is an incident, not a distribution.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];
/// Every metric nara exports, in one registry.
pub struct Metrics {
    registry: Registry,
    started: StartTime,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Known naras by status (ONLINE, SUSPECT, OFFLINE, MISSING), this one included.
    pub(crate) plaza_peers: IntGaugeVec,
    /// 1 while connected to the plaza's broker.
    pub(crate) plaza_connected: IntGauge,
    /// Plaza messages received, by kind and result (accepted or why dropped).
    pub(crate) plaza_messages: IntCounterVec,
    /// Connection attempts that failed or connections that broke.
    pub(crate) plaza_reconnects: IntCounter,
    /// The same, by cause (credentials, protocol, tls, refused, unreachable, lost).
    pub(crate) plaza_connect_failures: IntCounterVec,
    /// 1 for this process's role on the plaza (active or standby), 0 for the other.
    pub(crate) plaza_role: IntGaugeVec,
    /// Times this process's role changed, by the role it took and why.
    pub(crate) plaza_role_changes: IntCounterVec,
    /// When this process's role last changed (or it started), Unix seconds.
    pub(crate) plaza_role_since: IntGauge,
    /// Version changes seen in other naras.
    pub(crate) plaza_version_changes: IntCounter,
    /// Times this process answered a will of its own live connection.
    pub(crate) plaza_refutations: IntCounter,
    /// The newspaper interval the plaza's size makes now, before its ±10 % spread.
    pub(crate) plaza_newspaper_interval: Gauge,
    /// 1 while another process speaks for this soul beside this one (its clock is
    /// ahead beyond the skew, so neither hears the other).
    pub(crate) plaza_two_speakers: IntGauge,
    /// Failed accepts on the HTTP listener (mostly: out of descriptors).
    pub http_accept_errors: IntCounter,
    /// `/api/events` streams open now.
    pub(crate) http_event_streams_open: IntGauge,
    /// `/api/events` streams nara closed, by why: their client stopped reading, or they
    /// reached their maximum age.
    pub(crate) http_event_streams_closed: IntCounterVec,
    /// `/api/events` requests refused a stream, by which cap: the total, or one client's.
    pub(crate) http_event_streams_refused: IntCounterVec,
    /// Events meant for hooks, by what became of them: run, dropped because the queue
    /// was full or the rate was spent, or left to the twin that speaks for the soul.
    pub(crate) hook_events: IntCounterVec,
    /// Saves of the view to the state directory, by result.
    pub(crate) state_saves: IntCounterVec,
    /// Hook runs, by kind (program, webhook) and result (ok, or how it failed).
    pub(crate) hook_runs: IntCounterVec,
    /// Hooks running now.
    pub(crate) hooks_running: IntGauge,
}

/// Registers `metric` and returns it. Its name, help and labels are constants in this
/// file, so an error is a typo here that every test would find, not something a user
/// can cause.
fn registered<M: Collector + Clone + 'static>(registry: &Registry, metric: prometheus::Result<M>) -> M {
    let metric = metric.expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique");
    metric
}

/// A metric with labels, made by `new` (such as [`IntCounterVec::new`]) and registered.
fn labelled<M: Collector + Clone + 'static>(
    registry: &Registry,
    new: impl FnOnce(Opts, &[&str]) -> prometheus::Result<M>,
    name: &str,
    help: &str,
    labels: &[&str],
) -> M {
    registered(registry, new(Opts::new(name, help), labels))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Metrics for a process that starts now: `process_start_time_seconds`,
    /// `/api/status` and the plaza's newspapers all read `Metrics::started`.
    pub fn new() -> Self {
        let started = StartTime::now();
        let registry = Registry::new();
        let build_info = labelled(
            &registry,
            IntGaugeVec::new,
            "nara_build_info",
            "The running nara's version and git revision; always 1.",
            &["version", "revision"],
        );
        build_info
            .with_label_values(&[build_info::VERSION, build_info::REVISION])
            .set(1);
        let requests = labelled(
            &registry,
            IntCounterVec::new,
            "nara_http_requests_total",
            "HTTP requests answered, by route and status code.",
            &["route", "status"],
        );
        let latency = registered(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "nara_http_request_duration_seconds",
                    "Time to produce a response, by route.",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["route"],
            ),
        );
        let plaza_peers = labelled(
            &registry,
            IntGaugeVec::new,
            "nara_plaza_peers",
            "Known naras by status, this one included.",
            &["status"],
        );
        let plaza_connected = registered(
            &registry,
            IntGauge::new("nara_plaza_connected", "1 while connected to the plaza's MQTT broker."),
        );
        let plaza_messages = labelled(
            &registry,
            IntCounterVec::new,
            "nara_plaza_messages_total",
            "Plaza messages received, by kind and result (accepted, or the reason dropped).",
            &["kind", "result"],
        );
        let plaza_reconnects = registered(
            &registry,
            IntCounter::new(
                "nara_plaza_reconnects_total",
                "Failed connection attempts to, and lost connections with, the plaza's broker.",
            ),
        );
        let plaza_connect_failures = labelled(
            &registry,
            IntCounterVec::new,
            "nara_plaza_connect_failures_total",
            "Failed connection attempts to, and lost connections with, the plaza's broker, by cause.",
            &["cause"],
        );
        let plaza_role = labelled(
            &registry,
            IntGaugeVec::new,
            "nara_plaza_role",
            "1 for this process's role on the plaza (active publishes, standby only watches).",
            &["role"],
        );
        let plaza_role_changes = labelled(
            &registry,
            IntCounterVec::new,
            "nara_plaza_role_changes_total",
            "Times this process took over its soul's presence or yielded it to a twin, by the role it took and why.",
            &["to", "cause"],
        );
        let plaza_role_since = registered(
            &registry,
            IntGauge::new(
                "nara_plaza_role_since_timestamp_seconds",
                "When this process's plaza role last changed, or it started, in Unix seconds.",
            ),
        );
        let plaza_version_changes = registered(
            &registry,
            IntCounter::new(
                "nara_plaza_version_changes_total",
                "Version changes seen in other naras' newspapers.",
            ),
        );
        let plaza_refutations = registered(
            &registry,
            IntCounter::new(
                "nara_plaza_refutations_total",
                "Times this nara heard the will of its own live connection (published again by someone) and answered it.",
            ),
        );
        let plaza_newspaper_interval = registered(
            &registry,
            Gauge::new(
                "nara_plaza_newspaper_interval_seconds",
                "This nara's newspaper interval as the plaza's size makes it (before its ±10 % spread): --plaza-newspaper-interval, stretched on a plaza larger than the interval times --plaza-fleet-rate.",
            ),
        );
        let plaza_two_speakers = registered(
            &registry,
            IntGauge::new(
                "nara_plaza_two_speakers",
                "1 while another process with this soul speaks beside this active one: its clock is ahead beyond --plaza-max-skew, so neither hears the other.",
            ),
        );
        let http_accept_errors = registered(
            &registry,
            IntCounter::new(
                "nara_http_accept_errors_total",
                "Connections the HTTP listener failed to accept, mostly for want of file descriptors.",
            ),
        );
        let http_event_streams_open = registered(
            &registry,
            IntGauge::new(
                "nara_http_event_streams_open",
                "/api/events streams open now (at most --http-max-event-streams).",
            ),
        );
        let http_event_streams_closed = labelled(
            &registry,
            IntCounterVec::new,
            "nara_http_event_streams_closed_total",
            "/api/events streams nara closed: past the byte budget or stalled (their client stopped reading), or at their maximum age.",
            &["reason"],
        );
        let http_event_streams_refused = labelled(
            &registry,
            IntCounterVec::new,
            "nara_http_event_streams_refused_total",
            "/api/events requests refused with 503: full (--http-max-event-streams open) or client (--http-max-event-streams-per-client open from the same client).",
            &["reason"],
        );
        let hook_events = labelled(
            &registry,
            IntCounterVec::new,
            "nara_hook_events_total",
            "Events meant for a hook (--on-event, --on-event-url), by result: run, queue_full (dropped: the queue was full), rate_limited (dropped: past --on-event-rate) or standby (left to the twin that speaks for this soul).",
            &["result"],
        );
        let state_saves = labelled(
            &registry,
            IntCounterVec::new,
            "nara_state_saves_total",
            "Saves of the view to the state directory (--state-dir), by result: written, unchanged (nothing new since the last) or failed (logged).",
            &["result"],
        );
        let hook_runs = labelled(
            &registry,
            IntCounterVec::new,
            "nara_hook_runs_total",
            "Hook runs, by hook (program, webhook) and result: ok, exit (non-zero status or a signal), timeout (killed after --on-event-timeout), spawn (could not start), status (a webhook answered other than 2xx) or request (a webhook could not be reached).",
            &["hook", "result"],
        );
        let hooks_running = registered(
            &registry,
            IntGauge::new("nara_hooks_running", "Hook runs in progress now."),
        );
        registry
            .register(Box::new(process::ProcessMetrics::new(&started)))
            .expect("process metrics register once");
        Metrics {
            registry,
            started,
            requests,
            latency,
            plaza_peers,
            plaza_connected,
            plaza_messages,
            plaza_reconnects,
            plaza_connect_failures,
            plaza_role,
            plaza_role_changes,
            plaza_role_since,
            plaza_version_changes,
            plaza_refutations,
            plaza_newspaper_interval,
            plaza_two_speakers,
            http_accept_errors,
            http_event_streams_open,
            http_event_streams_closed,
            http_event_streams_refused,
            hook_events,
            state_saves,
            hook_runs,
            hooks_running,
        }
    }

    /// When this process started: its one start clock, taken when the assembly
    /// created these metrics.
    pub(crate) fn started(&self) -> &StartTime {
        &self.started
    }

    /// Records one answered request. `route` is one of a fixed set of labels, never a
    /// raw path, so a scan of random URLs cannot grow the series without bound.
    pub(crate) fn observe(&self, route: &'static str, status: StatusCode, elapsed: Duration) {
        self.requests.with_label_values(&[route, status.as_str()]).inc();
        self.latency.with_label_values(&[route]).observe(elapsed.as_secs_f64());
    }

    /// The current metrics in the text exposition format.
    pub(crate) fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 * 1024);
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding to a Vec cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_requests_appear_by_route_and_status() {
        let metrics = Metrics::new();
        metrics.observe("liveness", StatusCode::OK, Duration::from_micros(50));
        metrics.observe("not_found", StatusCode::NOT_FOUND, Duration::from_micros(50));
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(
            text.contains(r#"nara_http_requests_total{route="liveness",status="200"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"nara_http_requests_total{route="not_found",status="404"} 1"#),
            "{text}"
        );
        assert!(text.contains("nara_http_request_duration_seconds_bucket"), "{text}");
        assert!(text.contains("nara_build_info{"), "{text}");
    }

    #[test]
    fn the_process_start_time_is_this_process_s_by_the_wall_clock() {
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let text = String::from_utf8(Metrics::new().render()).unwrap();
        let value: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("process_start_time_seconds "))
            .unwrap_or_else(|| panic!("no process_start_time_seconds in {text}"))
            .parse()
            .unwrap();
        assert!(
            (value - before).abs() < 5.0,
            "process_start_time_seconds is {value}, now is {before}"
        );
        assert_eq!(
            text.matches("# TYPE process_start_time_seconds").count(),
            1,
            "one start time series: {text}"
        );
    }
}
