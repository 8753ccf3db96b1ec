//! Graceful shutdown: readiness turns 503 at once, new connections are refused,
//! requests in flight finish within the grace period, and stuck ones are cut after it.

mod common;

use common::{InProcess, client};
use http_body_util::BodyExt;
use nara::http::health::Health;
use nara::http::routes::App;
use nara::http::server::{Ended, app_service};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

/// nara's service with one extra path, `/hold`, that stays in flight until released:
/// a stand-in for a slow client download, so a test controls when it ends.
async fn start_with_hold(grace: Duration) -> (InProcess, mpsc::Receiver<()>, Arc<Notify>) {
    let health = Arc::new(Health::new());
    let app = Arc::new(App::new("drain".into(), health.clone()));
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
                return Ok::<_, Infallible>(app.handle(&http::Request::get("/healthz").body(()).unwrap()));
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
    let mut readiness = server.app.readiness();
    for _ in 0..100 {
        if readiness.status() == http::StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        readiness = server.app.readiness();
    }
    assert_eq!(readiness.status(), http::StatusCode::SERVICE_UNAVAILABLE);
    let body = readiness.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["reasons"], serde_json::json!(["draining"]));

    // The listener closes: new connections are refused while the old request runs.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(server.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "new connections were still accepted while draining");
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
