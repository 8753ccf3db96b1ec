//! The bound on filtered lists, reached: a filtered `/api/peers` is serialized for its
//! request alone, so clients that ask for one and never read it fill nara's budget of
//! lists held (8 MiB), after which a filtered request gets 503 with `Retry-After` while
//! the shared list and lookups still answer; once those clients go, filters answer again.

use crate::common::go_wire::now_ns;
use crate::common::{TestNara, client, wait_until};
use nara::{App, Fingerprint, Health, Identity, Kind, Metrics, Plaza, Soul, SoulSource, event};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// The budget the HTTP API chapter gives for filtered lists held at once.
const BUDGET_BYTES: usize = 8 * 1024 * 1024;

/// nara's routes and accept loop in-process, over a view of `count` naras heard by
/// their hey_there.
struct Nara {
    addr: SocketAddr,
    base: String,
    _app: Arc<App>,
    _stop: oneshot::Sender<()>,
}

impl TestNara for Nara {
    fn base(&self) -> &str {
        &self.base
    }
}

/// As in event_streams.rs: the listener's small send buffer is inherited by every
/// connection, so a client that stops reading leaves its list with nara, not with the
/// kernel.
async fn serve(count: usize) -> Nara {
    let health = Arc::new(Health::new());
    let metrics = Arc::new(Metrics::new());
    let soul = Soul::mint("filters").expect("the system has randomness");
    let plaza = Plaza::new(
        Identity::new(&soul, "filters", SoulSource::Ephemeral),
        nara::testing::plaza_config(),
        metrics.clone(),
    );
    let fingerprint = Fingerprint::of("filtered-lists", &[]);
    for i in 0..count {
        let name = format!("n{i:05}");
        let identity = Identity::new(&Soul::native(&fingerprint, &name), &name, SoulSource::Native);
        let payload = event::encode(&identity, Kind::HeyThere, now_ns(), "");
        plaza
            .receive(&Kind::HeyThere.topic(&name), &payload)
            .expect("a signed hey_there is accepted");
    }
    let app = Arc::new(App::with_plaza(
        health.clone(),
        plaza,
        metrics,
        &nara::testing::http_config(),
    ));
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_send_buffer_size(4096).expect("a send buffer size");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("a loopback address");
    let listener = socket.listen(128).expect("a listener");
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
        _app: app,
        _stop: stop,
    }
}

/// A client that asks for `path` and never reads a byte of the answer.
async fn stalled_client(nara: &Nara, path: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("a client");
    socket.set_recv_buffer_size(4096).expect("the test harness works");
    let mut stream = socket.connect(nara.addr).await.expect("the test harness works");
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .expect("the test harness works");
    stream
}

/// How many filtered requests nara has answered with `status`.
async fn answered(nara: &Nara, status: u16) -> u64 {
    nara.metric(&format!(
        "nara_http_requests_total{{route=\"peers\",status=\"{status}\"}}"
    ))
    .await
}

#[tokio::test]
async fn clients_that_never_read_their_filtered_lists_fill_the_budget_then_filters_get_503_until_they_go() {
    const FILTER: &str = "/api/peers?status=ONLINE";
    let nara = serve(700).await;
    let list_len = client()
        .get(nara.url(FILTER))
        .send()
        .await
        .expect("a filtered list")
        .bytes()
        .await
        .expect("its body")
        .len();
    // Each stalled client's list stays with nara whole until its last byte is sent; the
    // budget in bytes is reached before the most lists at once (64).
    let fit = BUDGET_BYTES.div_ceil(list_len);
    assert!(fit < 64, "a list of 701 naras, {list_len} bytes");

    let mut stalled = Vec::new();
    for held in 1..=fit + 1 {
        stalled.push(stalled_client(&nara, FILTER).await);
        let (ok, refused) = wait_until(
            &format!("nara to answer stalled client {held}"),
            Duration::from_secs(10),
            || async {
                let (ok, refused) = (answered(&nara, 200).await, answered(&nara, 503).await);
                (ok + refused == held as u64 + 1).then_some((ok, refused))
            },
        )
        .await;
        let expected_refused = u64::from(held > fit);
        assert_eq!(
            refused, expected_refused,
            "{ok} answered with a list: {fit} lists of {list_len} bytes fill 8 MiB"
        );
    }

    let refused = client().get(nara.url(FILTER)).send().await.expect("an answer");
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: serde_json::Value = refused.json().await.expect("a JSON error");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("KiB of filtered lists not yet taken") && error.contains("GET /api/peers unfiltered"),
        "{error}"
    );
    // What every reader shares, and lookups, are not filtered lists.
    assert_eq!(nara.status_code("/api/peers").await, 200);
    assert_eq!(nara.status_code("/api/peers/n00042").await, 200);
    assert_eq!(nara.status_code("/narae.json").await, 200);

    drop(stalled);
    let nara = &nara;
    wait_until(
        "a filtered list once the stalled clients have gone",
        Duration::from_secs(10),
        || async move { (nara.status_code(FILTER).await == 200).then_some(()) },
    )
    .await;
}
