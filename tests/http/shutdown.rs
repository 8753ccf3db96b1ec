//! Graceful shutdown: readiness turns 503 at once, new connections are refused,
//! requests in flight finish within the grace period, and stuck ones are cut after it.

use crate::common::{InProcess, TestNara, client, wait_until};
use http_body_util::BodyExt;
use nara::{Ended, Health, app_service};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

/// nara's service with one extra path, `/hold`, that stays in flight until released:
/// a stand-in for a slow client download, so a test controls when it ends.
async fn start_with_hold(grace: Duration) -> (InProcess, mpsc::Receiver<()>, Arc<Notify>) {
    let health = Arc::new(Health::new());
    let app = Arc::new(nara::testing::app("drain", health.clone()));
    let (entered_tx, entered_rx) = mpsc::channel(4);
    let release = Arc::new(Notify::new());
    let inner = app_service(app.clone());
    let app_for_service = app.clone();
    let release_for_service = release.clone();
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let inner = inner.clone();
        let app = app_for_service.clone();
        let entered = entered_tx.clone();
        let release = release_for_service.clone();
        async move {
            if req.uri().path() == "/hold" {
                let _ = entered.send(()).await;
                release.notified().await;
                let healthz = http::Request::get("/healthz").body(()).expect("a valid request");
                return Ok::<_, Infallible>(app.handle(&healthz));
            }
            hyper::service::Service::call(&inner, req).await
        }
    });
    let server = InProcess::start_with(app, health, service, grace).await;
    (server, entered_rx, release)
}

#[tokio::test]
async fn readiness_turns_503_while_draining_and_the_request_in_flight_completes() {
    let (mut server, mut entered, release) = start_with_hold(Duration::from_secs(5)).await;
    let in_flight = tokio::spawn(client().get(server.url("/hold")).send());
    entered.recv().await.expect("the held request reached the server");

    server.stop();
    let app = &server.app;
    let readiness = wait_until("readiness to turn 503", Duration::from_secs(1), || async move {
        Some(app.readiness()).filter(|r| r.status() == http::StatusCode::SERVICE_UNAVAILABLE)
    })
    .await;
    let body = readiness.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["reasons"], serde_json::json!(["draining"]));

    // The listener closes: new connections are refused while the old request runs.
    let addr = server.addr;
    wait_until(
        "new connections to be refused while draining",
        Duration::from_secs(1),
        || async move { tokio::net::TcpStream::connect(addr).await.is_err().then_some(()) },
    )
    .await;
    assert!(!in_flight.is_finished());

    release.notify_one();
    let response = in_flight.await.unwrap().expect("the in-flight request completes");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.text().await.unwrap().trim(), "ok");
    let ended = tokio::time::timeout(Duration::from_secs(5), server.ended)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended, Ended::Drained);
}

#[tokio::test]
async fn requests_still_running_when_grace_expires_are_cut() {
    let (mut server, mut entered, _release) = start_with_hold(Duration::from_millis(200)).await;
    let in_flight = tokio::spawn(client().get(server.url("/hold")).send());
    entered.recv().await.unwrap();
    server.stop();
    let ended = tokio::time::timeout(Duration::from_secs(5), server.ended)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended, Ended::GraceExpired { cut: 1 });
    assert!(in_flight.await.unwrap().is_err(), "the cut request fails at the client");
}

#[tokio::test]
async fn idle_keep_alive_connections_do_not_hold_up_shutdown() {
    let mut server = InProcess::start().await;
    let client = client();
    // Leaves a pooled keep-alive connection open.
    assert!(
        client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    server.stop();
    let ended = tokio::time::timeout(Duration::from_secs(2), server.ended)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended, Ended::Drained);
}

/// The server as the binary assembles it (config, plaza, routes), not only its loop: a
/// client holding `/api/events` open sees readiness turn 503 and the listener close,
/// then its stream ends, and the server reports a clean drain well within the grace.
#[tokio::test]
async fn the_assembled_server_drains_an_open_event_stream_and_ends_cleanly() {
    let mut server = InProcess::start().await;
    let mut events = client().get(server.url("/api/events")).send().await.unwrap();
    assert_eq!(events.status(), reqwest::StatusCode::OK);
    let first = events
        .chunk()
        .await
        .unwrap()
        .expect("the stream opens with its retry line");
    assert!(String::from_utf8_lossy(&first).contains("retry:"), "{first:?}");

    server.stop();
    let app = server.app.clone();
    wait_until("readiness 503 once stopped", Duration::from_secs(2), || {
        let app = app.clone();
        async move { (app.readiness().status() == http::StatusCode::SERVICE_UNAVAILABLE).then_some(()) }
    })
    .await;
    let addr = server.addr;
    wait_until("the listener closed", Duration::from_secs(2), || async move {
        tokio::net::TcpStream::connect(addr).await.is_err().then_some(())
    })
    .await;
    // The stream ends (EOF) instead of holding the drain up for the whole grace.
    let rest = tokio::time::timeout(Duration::from_secs(3), async {
        while events.chunk().await.unwrap_or(None).is_some() {}
    })
    .await;
    assert!(rest.is_ok(), "the event stream stayed open while draining");
    let ended = tokio::time::timeout(Duration::from_secs(3), server.ended)
        .await
        .expect("the server ends within the grace")
        .expect("the server task does not panic");
    assert_eq!(ended, Ended::Drained);
}
