//! The accept loop and graceful shutdown.
//!
//! On shutdown the listener closes at once (no new connections), idle keep-alive
//! connections close, and requests in flight get up to the grace period to finish.

use crate::routes::{App, Body};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// A client that has not sent its request head within this long is disconnected
/// (slowloris); a generous bound for humans on bad links, a short one for attackers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Request heads larger than this are refused with 431.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How the server loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Every in-flight request finished within the grace period.
    Drained,
    /// The grace period ran out; this many connections were cut.
    GraceExpired { cut: usize },
}

/// nara's own service over an [`App`].
pub fn app_service(
    app: Arc<App>,
) -> impl Service<Request<Incoming>, Response = Response<Body>, Error = Infallible, Future: Send> + Clone + Send + 'static
{
    service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.handle(&req)) }
    })
}

/// Serves `service` on `listener` until `shutdown` completes, then drains.
pub async fn serve<S>(listener: TcpListener, service: S, shutdown: impl Future<Output = ()>, grace: Duration) -> Ended
where
    S: Service<Request<Incoming>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES);
    tokio::pin!(shutdown);
    let mut connections = tokio::task::JoinSet::new();

    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service.clone()));
                    connections.spawn(async move {
                        if let Err(err) = connection.await {
                            tracing::debug!(%peer, error = %err, "connection ended with an error");
                        }
                    });
                }
                Err(err) => {
                    // Out of file descriptors or a reset before accept: keep serving
                    // the connections we have and try again shortly.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Reaps finished connections so the set stays as large as what is open.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }

    drop(listener);
    let in_flight = graceful.count();
    tracing::info!(
        connections = in_flight,
        grace_s = grace.as_secs_f64(),
        "listener closed; draining"
    );
    match tokio::time::timeout(grace, graceful.shutdown()).await {
        Ok(()) => Ended::Drained,
        Err(_) => {
            let cut = cut_remaining(&mut connections).await;
            Ended::GraceExpired { cut }
        }
    }
}

/// Aborts every connection still open and reports how many there were.
async fn cut_remaining(connections: &mut tokio::task::JoinSet<()>) -> usize {
    while connections.try_join_next().is_some() {}
    let cut = connections.len();
    connections.shutdown().await;
    cut
}
