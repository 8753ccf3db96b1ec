//! The HTTP contract: which path answers what. Every handler is synchronous and never
//! reads a request body, so one function maps a request's head to a response.

use super::config::{HttpConfig, StreamLimits};
use super::connection::Connection;
use super::events::{self, Streams};
use super::filtered::FilteredLists;
use super::go_json::{self, GoLists};
use super::peer_metrics::PeerMetrics;
use super::peers::{self, Answer};
use super::rollout::{self, RolloutCache};
use super::seats::Refused;
use super::status::StatusReport;
use crate::http::assets::{self, Asset};
use crate::http::encoding;
use crate::http::health::Health;
use crate::metrics::{self, Metrics};
use crate::plaza::Plaza;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{Either, Full};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

/// Every response body: a whole buffer (for embedded assets a `&'static` one), or the
/// event stream of `/api/events`.
pub type Body = Either<Full<Bytes>, events::EventBody>;

const ALLOW: &str = "GET, HEAD";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";
const NO_STORE: &str = "no-store";
const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";

/// Shared state behind every request.
pub struct App {
    /// Liveness, readiness and draining.
    pub health: Arc<Health>,
    /// What `/metrics` renders.
    pub metrics: Arc<Metrics>,
    /// The plaza's view, which the API and events read.
    pub plaza: Arc<Plaza>,
    /// The open `/api/events` streams and their bounds.
    pub(crate) streams: Arc<Streams>,
    /// The filtered peer lists held for their clients, and their bounds.
    pub(crate) filtered: FilteredLists,
    /// The Go nara's fleet-wide routes, each serialized once and shared.
    pub(crate) go_lists: GoLists,
    /// `/metrics/peers`, shared by its scrapers.
    peer_metrics: PeerMetrics,
    /// The fleet as `/api/rollout` last read it.
    rollout: RolloutCache,
}

/// What a path resolved to, before the method is checked.
enum Target {
    Liveness,
    Readiness,
    Status,
    Metrics,
    PeerMetrics,
    Peers,
    Rollout,
    /// One nara, by the name as the path wrote it.
    Peer(String),
    /// The Go nara's `/api.json`, `/narae.json` and `/status/{name}.json`.
    GoApi,
    GoNarae,
    GoStatus(String),
    Events,
    DocsRedirect,
    /// An embedded file, with the status to send it with (the book's 404 page is 404).
    Asset(&'static Asset, StatusCode),
    NotFound,
    /// A request target that is not a path (`CONNECT`'s authority form): 400.
    NotAPath,
}

impl App {
    /// An app over an existing plaza and metrics, within the bounds of `config` (its
    /// event streams', `/metrics/peers`'), as the server assembles it.
    pub fn with_plaza(health: Arc<Health>, plaza: Arc<Plaza>, metrics: Arc<Metrics>, config: &HttpConfig) -> Self {
        let streams = Arc::new(Streams::new(
            config.streams.clone(),
            metrics.http_event_streams_open.clone(),
            metrics.http_event_streams_closed.clone(),
            metrics.http_event_streams_refused.clone(),
        ));
        App {
            health,
            metrics,
            plaza,
            streams,
            filtered: FilteredLists::new(),
            go_lists: GoLists::default(),
            peer_metrics: PeerMetrics::new(config.metrics_max_peers, config.metrics_peer_tags.clone()),
            rollout: RolloutCache::default(),
        }
    }

    /// Answers one request, records it in the metrics, and logs it at debug.
    pub fn handle<B>(&self, req: &Request<B>) -> Response<Body> {
        let began = Instant::now();
        let (route, target) = resolve(req);
        // A path nara does not serve is an error whatever the method; 405 is only
        // for paths it does serve.
        let served = !matches!(target, Target::NotFound | Target::NotAPath);
        let mut response = if served && req.method() != Method::GET && req.method() != Method::HEAD {
            method_not_allowed()
        } else {
            self.answer(req, target)
        };
        response
            .headers_mut()
            .insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        let elapsed = began.elapsed();
        self.metrics.observe(route, response.status(), elapsed);
        tracing::debug!(
            method = %req.method(),
            path = req.uri().path(),
            status = response.status().as_u16(),
            route,
            micros = elapsed.as_micros() as u64,
            "request"
        );
        response
    }

    fn answer<B>(&self, req: &Request<B>, target: Target) -> Response<Body> {
        match target {
            Target::Liveness => plain(StatusCode::OK, "ok\n"),
            Target::Readiness => self.readiness(),
            Target::Status => {
                let report = StatusReport::new(&self.plaza, self.metrics.started());
                json(StatusCode::OK, serde_json::to_vec(&report).expect("status serializes"))
            }
            Target::Rollout => match rollout::answer(&self.rollout, &self.plaza, req.uri().query()) {
                Ok(body) => json(StatusCode::OK, body),
                Err(error) => bad_query(&error),
            },
            // One serialized list, shared by every reader (see plaza::serialized); a
            // filtered one is built for its request, within bounds (see http::filtered).
            Target::Peers => match req.uri().query() {
                None | Some("") => respond(StatusCode::OK, JSON, NO_STORE, self.plaza.peers_json()),
                Some(query) => {
                    let hangup = req.extensions().get::<Connection>().map(|c| c.hangup.clone());
                    json_answer(peers::filtered(&self.plaza, &self.filtered, query, hangup))
                }
            },
            Target::Peer(name) => json_answer(peers::one(&self.plaza, &name)),
            Target::GoApi => json_answer(go_json::api(&self.plaza, &self.go_lists)),
            Target::GoNarae => json_answer(go_json::narae(&self.plaza, &self.go_lists)),
            Target::GoStatus(name) => json_answer(go_json::status(&self.plaza, &name)),
            Target::Events => {
                let connection = req.extensions().get::<Connection>();
                // A request served without the accept loop (in-process tests) has no peer.
                let peer = connection.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.peer.ip());
                let limits = self.streams.limits();
                let client = limits.proxies.client(peer, req.headers());
                let draining = self.health.draining_signal();
                let stream = match events::stream(self.plaza.clone(), &self.streams, draining, client, connection) {
                    Ok(stream) => stream,
                    Err(refused) => return too_many_streams(refused, limits),
                };
                let mut response = Response::new(Either::Right(stream));
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
                // Reverse proxies (nginx) must not buffer a stream.
                headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
                response
            }
            Target::Metrics => respond(
                StatusCode::OK,
                metrics::CONTENT_TYPE,
                NO_STORE,
                self.metrics.render().into(),
            ),
            // One page shared by every scraper until the view changes (see peer_metrics).
            Target::PeerMetrics => respond(
                StatusCode::OK,
                metrics::CONTENT_TYPE,
                NO_STORE,
                self.peer_metrics.page(&self.plaza),
            ),
            Target::DocsRedirect => {
                let location = match req.uri().query() {
                    Some(q) => format!("/docs/?{q}"),
                    None => "/docs/".to_string(),
                };
                let mut response = plain(StatusCode::PERMANENT_REDIRECT, "moved to /docs/\n");
                response.headers_mut().insert(
                    header::LOCATION,
                    HeaderValue::from_str(&location).unwrap_or(HeaderValue::from_static("/docs/")),
                );
                response
            }
            Target::Asset(asset, status) => serve_asset(req, asset, status),
            Target::NotFound => not_found(req.uri().path()),
            Target::NotAPath => plain(
                StatusCode::BAD_REQUEST,
                "the request target must be a path starting with /\n",
            ),
        }
    }

    /// Readiness as an orchestrator reads it: 200, or 503 naming what is not ready.
    pub fn readiness(&self) -> Response<Body> {
        let mut reasons = self.health.not_ready_reasons();
        if self.plaza.config.require && !self.plaza.is_connected() {
            reasons.push("plaza");
        }
        if reasons.is_empty() {
            json(StatusCode::OK, br#"{"status":"ready"}"#.to_vec())
        } else {
            let body = serde_json::json!({ "status": "not ready", "reasons": reasons });
            json(StatusCode::SERVICE_UNAVAILABLE, body.to_string().into_bytes())
        }
    }
}

/// Maps a path to a target and the metrics label it is counted under.
fn resolve<B>(req: &Request<B>) -> (&'static str, Target) {
    let path = req.uri().path();
    let Some(relative) = path.strip_prefix('/') else {
        return ("bad_request", Target::NotAPath);
    };
    match path {
        "/healthz" | "/health/live" => ("liveness", Target::Liveness),
        "/readyz" | "/health/ready" => ("readiness", Target::Readiness),
        "/api/status" => ("status", Target::Status),
        "/metrics" => ("metrics", Target::Metrics),
        "/metrics/peers" => ("metrics_peers", Target::PeerMetrics),
        "/api/peers" => ("peers", Target::Peers),
        "/api/rollout" => ("rollout", Target::Rollout),
        "/api/events" => ("events", Target::Events),
        "/api.json" => ("go_json", Target::GoApi),
        "/narae.json" => ("go_json", Target::GoNarae),
        "/docs" => ("docs", Target::DocsRedirect),
        _ if path.starts_with("/api/peers/") => ("peer", Target::Peer(path["/api/peers/".len()..].to_string())),
        _ if go_json::status_name(path).is_some() => (
            "go_json",
            Target::GoStatus(go_json::status_name(path).unwrap_or_default().to_string()),
        ),
        _ if path == "/api" || path.starts_with("/api/") => ("not_found", Target::NotFound),
        _ => match path.strip_prefix("/docs/") {
            Some(page) => resolve_docs(page),
            None => resolve_spa(req, relative),
        },
    }
}

/// The book: `/docs/x/` is its index page, `/docs/x` may omit `.html`, and anything
/// else the book lacks gets its own 404 page.
fn resolve_docs(page: &str) -> (&'static str, Target) {
    let exact = if page.is_empty() || page.ends_with('/') {
        format!("docs/{page}index.html")
    } else {
        format!("docs/{page}")
    };
    let found = assets::lookup(&exact).or_else(|| {
        (!has_extension(page))
            .then(|| assets::lookup(&format!("docs/{page}.html")))
            .flatten()
    });
    match (found, assets::lookup("docs/404.html")) {
        (Some(asset), _) => ("docs", Target::Asset(asset, StatusCode::OK)),
        (None, Some(not_found_page)) => ("docs", Target::Asset(not_found_page, StatusCode::NOT_FOUND)),
        (None, None) => ("not_found", Target::NotFound),
    }
}

/// The SPA: real files by name; extension-less paths from browsers are client-side
/// routes and get `index.html`; a missing file with an extension is a 404.
fn resolve_spa<B>(req: &Request<B>, rel: &str) -> (&'static str, Target) {
    let rel = if rel.is_empty() { "index.html" } else { rel };
    if let Some(asset) = assets::lookup(rel) {
        return ("asset", Target::Asset(asset, StatusCode::OK));
    }
    if !has_extension(rel)
        && accepts_html(req)
        && let Some(index) = assets::lookup("index.html")
    {
        return ("spa", Target::Asset(index, StatusCode::OK));
    }
    ("not_found", Target::NotFound)
}

fn has_extension(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or(path);
    last.rfind('.').is_some_and(|i| i > 0 && i + 1 < last.len())
}

fn accepts_html<B>(req: &Request<B>) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

fn serve_asset<B>(req: &Request<B>, asset: &'static Asset, status: StatusCode) -> Response<Body> {
    let accepted = encoding::negotiate(
        req.headers()
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    let variant = asset.variant(accepted.br, accepted.gzip);
    let cache = if asset.immutable && status == StatusCode::OK {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let not_modified = status == StatusCode::OK && if_none_match(req, variant.etag);

    let mut response = if not_modified {
        respond(StatusCode::NOT_MODIFIED, asset.content_type, cache, Bytes::new())
    } else {
        respond(status, asset.content_type, cache, Bytes::from_static(variant.body))
    };
    let headers = response.headers_mut();
    if not_modified {
        headers.remove(header::CONTENT_TYPE);
    }
    headers.insert(header::ETAG, HeaderValue::from_static(variant.etag));
    if asset.has_variants() {
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if let Some(coding) = variant.coding.header_value().filter(|_| !not_modified) {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    response
}

/// `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/` is ignored.
fn if_none_match<B>(req: &Request<B>, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

fn respond(status: StatusCode, content_type: &'static str, cache: &'static str, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    respond(status, TEXT, NO_STORE, Bytes::from_static(text.as_bytes()))
}

fn json(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    respond(status, JSON, NO_STORE, body.into())
}

fn json_answer(answer: Answer) -> Response<Body> {
    let mut response = respond(answer.status, JSON, NO_STORE, answer.body);
    if let Some(seconds) = answer.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn not_found(path: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": "not found", "path": path });
    json(StatusCode::NOT_FOUND, body.to_string().into_bytes())
}

/// 400 for a query a route does not take, saying what is wrong with it.
fn bad_query(error: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": error });
    json(StatusCode::BAD_REQUEST, body.to_string().into_bytes())
}

/// 503 past `--http-max-event-streams`, or past `--http-max-event-streams-per-client`
/// from one client; an EventSource gives up on it, so the page polls `/api/peers` and
/// tries the stream again itself.
fn too_many_streams(refused: Refused, limits: &StreamLimits) -> Response<Body> {
    let text = match refused {
        Refused::Full => format!(
            "{} event streams are open, the most this nara serves (--http-max-event-streams); try again later, or read /api/peers\n",
            limits.max_streams
        ),
        Refused::Client => format!(
            "{} event streams are open from your address, the most this nara serves one client (--http-max-event-streams-per-client); try again later, or read /api/peers\n",
            limits.per_client
        ),
    };
    let mut response = respond(StatusCode::SERVICE_UNAVAILABLE, TEXT, NO_STORE, text.into());
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(events::RETRY_AFTER_S));
    response
}

fn method_not_allowed() -> Response<Body> {
    let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed; use GET or HEAD\n");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_that_is_not_a_path_is_a_bad_request() {
        let app = crate::testing::app("test", Arc::new(Health::new()));
        // (An absolute-form target such as http://host/ is valid and means its path.)
        for target in ["noslash:80", "*"] {
            let req = Request::get(target).body(()).unwrap();
            let status = app.handle(&req).status();
            assert_eq!(status, StatusCode::BAD_REQUEST, "{target}");
        }
    }

    #[test]
    fn extensions_are_told_apart_from_client_routes() {
        assert!(has_extension("assets/main-ABC.js"));
        assert!(has_extension("favicon.ico"));
        assert!(!has_extension("network/peers"));
        assert!(!has_extension(".hidden"));
        assert!(!has_extension("v1.2/peers"));
    }

    #[test]
    fn readiness_turns_503_naming_draining() {
        let health = Arc::new(Health::new());
        let app = crate::testing::app("test", health.clone());
        assert_eq!(app.readiness().status(), StatusCode::SERVICE_UNAVAILABLE);
        health.mark_started();
        assert_eq!(app.readiness().status(), StatusCode::OK);
        health.begin_draining();
        assert_eq!(app.readiness().status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
