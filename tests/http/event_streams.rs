//! The bounds of `/api/events`, each reached: a client that stops reading is cut off
//! past its byte budget or after its stall limit (and counted), though the kernel took
//! its bytes off nara's hands; past the cap a request gets 503 with `Retry-After`, and a
//! client that falls behind gets a fresh snapshot, the very list `/api/peers` serves,
//! shared rather than serialized again; and the caps, the age and the trusted proxies
//! are settings like any other. The attacks on them are in `stream_attacks`.

use crate::common::go_wire::now_ns;
use crate::common::{TestNara, wait_until};
use nara::{
    App, ClientHeader, Fingerprint, Health, Identity, Kind, Metrics, Plaza, Soul, SoulSource, StreamLimits,
    TrustedProxies, event,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

pub(crate) fn naras(count: usize) -> Vec<Identity> {
    let fingerprint = Fingerprint::of("event-streams", &[]);
    (0..count)
        .map(|i| {
            let name = format!("n{i:05}");
            Identity::new(&Soul::native(&fingerprint, &name), &name, SoulSource::Native)
        })
        .collect()
}

/// Every one of `crowd` says `kind` to `plaza`, as if heard from the broker.
pub(crate) fn say(plaza: &Plaza, crowd: &[Identity], kind: Kind) {
    for identity in crowd {
        let payload = event::encode(identity, kind, now_ns(), "");
        plaza
            .receive(&kind.topic(&identity.name), &payload)
            .expect("a signed event is accepted");
    }
}

/// nara's routes and accept loop, in-process, with these stream limits.
pub(crate) struct Nara {
    pub(crate) addr: SocketAddr,
    base: String,
    pub(crate) app: Arc<App>,
    _stop: oneshot::Sender<()>,
}

impl TestNara for Nara {
    fn base(&self) -> &str {
        &self.base
    }
}

/// On a listener as the binary opens it: the kernel may take megabytes into a socket's
/// send buffer (loopback's autotuning starts at some 2.5 MB), and nara must judge a
/// stream by what its client took, not by what the kernel took off its hands.
pub(crate) async fn serve(limits: StreamLimits) -> Nara {
    let health = Arc::new(Health::new());
    let metrics = Arc::new(Metrics::new());
    let soul = Soul::mint("streams").expect("the system has randomness");
    let identity = Identity::new(&soul, "streams", SoulSource::Ephemeral);
    let plaza = Plaza::new(identity, nara::testing::plaza_config(), metrics.clone());
    let mut config = nara::testing::http_config();
    config.streams = limits;
    let app = Arc::new(App::with_plaza(health.clone(), plaza, metrics, &config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback address");
    let addr = listener.local_addr().expect("a bound address");
    health.mark_started();
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let accept_errors = app.metrics.http_accept_errors.clone();
    tokio::spawn(nara::serve(
        listener,
        nara::app_service(app.clone()),
        shutdown,
        Duration::from_secs(1),
        accept_errors,
    ));
    Nara {
        addr,
        base: format!("http://{addr}"),
        app,
        _stop: stop,
    }
}

/// A client without a deadline: a stream lasts as long as the test reads it.
fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("a client")
}

/// A client that asks for the stream and never reads a byte of it.
pub(crate) async fn stalled_client(nara: &Nara) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("a client");
    socket.set_recv_buffer_size(4096).expect("the test harness works");
    let mut stream = socket.connect(nara.addr).await.expect("the test harness works");
    stream
        .write_all(b"GET /api/events HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .expect("the test harness works");
    stream
}

/// Whether nara closed `stream`: reading it to the end (what the kernel still holds
/// arrives first) meets its end or a reset.
pub(crate) async fn closed_by_nara(mut stream: TcpStream) -> bool {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

/// Events as they arrive on a stream, split at their blank lines.
struct Events {
    response: reqwest::Response,
    text: String,
}

impl Events {
    async fn open(nara: &Nara) -> Events {
        let response = client()
            .get(nara.url("/api/events"))
            .send()
            .await
            .expect("the test harness works");
        assert_eq!(response.status(), 200);
        Events {
            response,
            text: String::new(),
        }
    }

    /// The next event as (name, data).
    async fn next(&mut self) -> (String, String) {
        loop {
            if let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(n) = line.strip_prefix("event: ") {
                        name = n.to_string();
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push_str(d);
                    }
                }
                if !name.is_empty() {
                    return (name, data);
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event within 10 s")
                .expect("the test harness works")
                .expect("the stream goes on");
            self.text
                .push_str(std::str::from_utf8(&chunk).expect("the test harness works"));
        }
    }
}

#[tokio::test]
async fn a_stream_whose_client_stops_reading_is_closed_once_it_stalls() {
    let limits = StreamLimits {
        stall_after: Duration::from_secs(1),
        ..nara::testing::http_config().streams
    };
    let nara = serve(limits).await;
    // About 60 KB of snapshot: more than the kernel holds for this client.
    say(&nara.app.plaza, &naras(200), Kind::HeyThere);
    let stream = stalled_client(&nara).await;
    wait_until(
        "the stalled stream closed as stalled",
        Duration::from_secs(20),
        || async {
            (nara
                .metric(r#"nara_http_event_streams_closed_total{reason="stalled"}"#)
                .await
                == 1)
                .then_some(())
        },
    )
    .await;
    assert!(
        closed_by_nara(stream).await,
        "the connection is gone, and its buffers with it"
    );
    assert_eq!(nara.metric("nara_http_event_streams_open").await, 0);
}

#[tokio::test]
async fn a_stream_past_its_byte_budget_is_closed() {
    let limits = StreamLimits {
        budget: 16 * 1024,
        stall_after: Duration::from_secs(3600),
        ..nara::testing::http_config().streams
    };
    let nara = serve(limits).await;
    let crowd = naras(200);
    say(&nara.app.plaza, &crowd, Kind::HeyThere);
    let stream = stalled_client(&nara).await;
    wait_until("the stream open", Duration::from_secs(10), || async {
        (nara.metric("nara_http_event_streams_open").await == 1).then_some(())
    })
    .await;
    // 200 leave events, some 55 KB: more than the snapshot's size plus 16 KiB. One
    // every 10 ms, so the connection hands each to the kernel before the next comes:
    // the budget is reached only by counting what the kernel holds for the client.
    let mut pace = tokio::time::interval(Duration::from_millis(10));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for nara_leaving in crowd.chunks(1) {
        pace.tick().await;
        say(&nara.app.plaza, nara_leaving, Kind::Chau);
    }
    wait_until("the stream closed for its budget", Duration::from_secs(10), || async {
        (nara
            .metric(r#"nara_http_event_streams_closed_total{reason="budget"}"#)
            .await
            == 1)
            .then_some(())
    })
    .await;
    assert!(closed_by_nara(stream).await);
    assert_eq!(nara.metric("nara_http_event_streams_open").await, 0);
    assert_eq!(
        nara.metric(r#"nara_http_event_streams_closed_total{reason="stalled"}"#)
            .await,
        0
    );
}

#[tokio::test]
async fn past_the_cap_a_stream_request_gets_503_with_retry_after_until_one_closes() {
    let limits = StreamLimits {
        max_streams: 2,
        ..nara::testing::http_config().streams
    };
    let nara = serve(limits).await;
    let first = Events::open(&nara).await;
    let _second = Events::open(&nara).await;
    assert_eq!(nara.metric("nara_http_event_streams_open").await, 2);

    let refused = client().get(nara.url("/api/events")).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    assert!(refused.text().await.unwrap().contains("--http-max-event-streams"));
    assert_eq!(
        nara.metric(r#"nara_http_requests_total{route="events",status="503"}"#)
            .await,
        1
    );

    drop(first);
    wait_until("a place free again", Duration::from_secs(10), || async {
        let response = client().get(nara.url("/api/events")).send().await.unwrap();
        (response.status() == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_client_that_falls_behind_gets_a_fresh_snapshot_that_matches_api_peers() {
    let nara = serve(nara::testing::http_config().streams).await;
    let crowd = naras(300);
    say(&nara.app.plaza, &crowd, Kind::HeyThere);
    let mut events = Events::open(&nara).await;
    let (name, first) = events.next().await;
    assert_eq!(name, "snapshot");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&first).unwrap()["peers"]
            .as_array()
            .unwrap()
            .len(),
        301
    );

    // More changes than the stream's backlog, announced while its task cannot run (this
    // test's runtime has one thread): it falls behind.
    say(&nara.app.plaza, &crowd, Kind::Chau);
    let snapshot = loop {
        match events.next().await {
            (name, data) if name == "snapshot" => break data,
            (name, _) => assert_eq!(name, "leave", "changes before the fresh snapshot"),
        }
    };
    let peers = nara.get_text("/api/peers").await;
    assert_eq!(snapshot, peers, "the snapshot is the list /api/peers serves");
    let offline = serde_json::from_str::<serde_json::Value>(&snapshot).unwrap()["peers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "OFFLINE")
        .count();
    assert_eq!(offline, 300);
}

#[tokio::test]
async fn every_reader_shares_one_serialized_list_until_the_view_changes() {
    let nara = serve(nara::testing::http_config().streams).await;
    let crowd = naras(50);
    say(&nara.app.plaza, &crowd, Kind::HeyThere);
    let plaza = &nara.app.plaza;
    let body = plaza.peers_json();
    let (snapshot, _changes) = plaza.subscribe_json().await;
    assert_eq!(
        snapshot.as_ptr(),
        body.as_ptr(),
        "the stream's snapshot is /api/peers' buffer"
    );
    assert_eq!(plaza.peers_json().as_ptr(), body.as_ptr(), "and the next reader's");
    say(plaza, &crowd[..1], Kind::Chau);
    let (after_change, _changes) = plaza.subscribe_json().await;
    assert_ne!(after_change, snapshot, "a change makes a new list for a new stream");
}

#[test]
fn the_stream_cap_is_a_setting_whose_bad_value_names_its_source() {
    let soul = Soul::mint("cap").unwrap().to_base58();
    let args = |extra: &[&str]| {
        let mut args = vec!["nara", "--name", "cap", "--soul", soul.as_str()];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let none = nara::Environment::default();
    let from_env = nara::Environment::from_pairs([("NARA_HTTP_MAX_EVENT_STREAMS", "8")]);
    assert_eq!(
        nara::testing::config_from_args(args(&[]), &from_env)
            .unwrap()
            .http
            .streams
            .max_streams,
        8
    );
    let err = nara::testing::config_from_args(args(&["--http-max-event-streams", "0"]), &none).unwrap_err();
    assert!(
        err.0.contains("--http-max-event-streams") && err.0.contains("from 1 to 100000"),
        "{}",
        err.0
    );
}

#[test]
fn the_per_client_cap_age_and_trusted_proxies_are_settings_whose_bad_values_name_their_source() {
    let soul = Soul::mint("bounds").unwrap().to_base58();
    let args = |extra: &[&str]| {
        let mut args = vec!["nara", "--name", "bounds", "--soul", soul.as_str()];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let none = nara::Environment::default();
    let fly = nara::Environment::from_pairs([
        ("NARA_HTTP_MAX_EVENT_STREAMS_PER_CLIENT", "3"),
        ("NARA_HTTP_EVENT_STREAM_MAX_AGE", "2m"),
        ("NARA_HTTP_TRUSTED_PROXIES", "0.0.0.0/0, ::/0"),
        ("NARA_HTTP_CLIENT_IP_HEADER", "Fly-Client-IP"),
    ]);
    let streams = nara::testing::config_from_args(args(&[]), &fly).unwrap().http.streams;
    assert_eq!(streams.per_client, 3);
    assert_eq!(streams.max_age, Duration::from_secs(120));
    assert_eq!(
        streams.proxies,
        TrustedProxies {
            nets: vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()],
            header: ClientHeader::Single(http::HeaderName::from_static("fly-client-ip")),
        }
    );
    let defaults = nara::testing::config_from_args(args(&[]), &none).unwrap().http.streams;
    assert!(defaults.proxies.nets.is_empty(), "no proxy is trusted unless named");
    assert_eq!(defaults.proxies.header, ClientHeader::ForwardedFor);

    for (flag, value, says) in [
        ("--http-max-event-streams-per-client", "0", "from 1 to 100000"),
        ("--http-event-stream-max-age", "1s", "at least 10s"),
        ("--http-trusted-proxies", "10.0.0.0/8,proxy.lan", "\"proxy.lan\""),
        ("--http-client-ip-header", "Forwarded", "RFC 7239"),
    ] {
        let err = nara::testing::config_from_args(args(&[flag, value]), &none).unwrap_err();
        assert!(err.0.contains(flag) && err.0.contains(says), "{}", err.0);
    }
}

#[tokio::test]
async fn every_reason_to_close_or_refuse_a_stream_is_a_series_at_zero_from_the_start() {
    let nara = serve(nara::testing::http_config().streams).await;
    let text = nara.get_text("/metrics").await;
    for series in [
        r#"nara_http_event_streams_closed_total{reason="budget"} 0"#,
        r#"nara_http_event_streams_closed_total{reason="stalled"} 0"#,
        r#"nara_http_event_streams_closed_total{reason="age"} 0"#,
        r#"nara_http_event_streams_refused_total{reason="full"} 0"#,
        r#"nara_http_event_streams_refused_total{reason="client"} 0"#,
    ] {
        assert!(text.lines().any(|line| line == series), "/metrics lacks {series}");
    }
}
