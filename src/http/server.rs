//! The accept loop and graceful shutdown.
//!
//! On shutdown the listener closes at once (no new connections), idle keep-alive
//! connections close, and requests in flight get up to the grace period to finish.

use super::routes::{App, Body};
use crate::http::accept_backoff::AcceptBackoff;
use crate::http::connection::Connection;
use crate::http::hangup::Hangup;
use crate::http::heap::{self, CrowdWatch};
use crate::http::linger::{Lingering, UnreadBody};
use crate::http::socket::ConnectionSocket;
use http::{Request, Response};
use hyper::body::{Body as _, Incoming};
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tracing::Instrument;

/// A client that has not sent its request head within this long is disconnected
/// (slowloris); a generous bound for humans on bad links, a short one for attackers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Request heads larger than this are refused with 431.
pub(crate) const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Connections the kernel queues for nara before it accepts them (capped by
/// `net.core.somaxconn`). tokio's default of 1024 drops the SYNs of a larger crowd
/// arriving at once, and each dropped one costs its client a retransmit (1 s, then 3 s).
pub(crate) const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` with nara's backlog (and `SO_REUSEADDR`, as tokio sets it).
pub(crate) fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// How the server loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Every in-flight request finished within the grace period.
    Drained,
    /// The grace period ran out; this many connections were cut.
    GraceExpired {
        /// Connections still open when the grace period ran out.
        cut: usize,
    },
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

/// Serves `service` on `listener` until `shutdown` completes, then drains. Failed
/// accepts are counted in `accept_errors`.
pub async fn serve<S>(
    listener: TcpListener,
    service: S,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
    accept_errors: prometheus::IntCounter,
) -> Ended
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
    let mut backoff = AcceptBackoff::new(accept_errors);
    let mut crowd = CrowdWatch::default();

    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    backoff.succeeded();
                    let _ = stream.set_nodelay(true);
                    let unread = UnreadBody::default();
                    let hangup = Hangup::default();
                    let service = MarkingUnreadBodies {
                        inner: service.clone(),
                        unread: unread.clone(),
                        connection: Connection {
                            peer,
                            hangup: hangup.clone(),
                            socket: ConnectionSocket::of(&stream),
                        },
                    };
                    let io = TokioIo::new(Lingering::new(stream, unread));
                    let connection = graceful.watch(builder.serve_connection(io, service));
                    // Whatever is logged while serving this connection says whose it is.
                    let span = tracing::debug_span!("connection", %peer);
                    connections.spawn(
                        async move {
                            tokio::select! {
                                served = connection => if let Err(err) = served {
                                    tracing::debug!(error = %err, "connection ended with an error");
                                },
                                // Dropping the connection frees its buffers at once.
                                () = hangup.requested() => tracing::debug!("closed a connection its handler gave up on"),
                            }
                        }
                        .instrument(span),
                    );
                    if crowd.observe(connections.len()) {
                        heap::trim();
                    }
                }
                Err(err) => {
                    // Out of file descriptors, or a reset before accept: the open
                    // connections keep being served (each in its own task) while the
                    // loop waits, longer each time, before the next accept.
                    let wait = backoff.failed(&err);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = &mut shutdown => break,
                    }
                }
            },
            // Reaps finished connections so the set stays as large as what is open.
            Some(_) = connections.join_next(), if !connections.is_empty() => {
                if crowd.observe(connections.len()) {
                    heap::trim();
                }
            }
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

/// A connection's service, noting when a request came with a body: nara reads none, so
/// that connection lingers when it closes (see [`crate::http::linger`]); and handing
/// each request what it may know of its [`Connection`].
struct MarkingUnreadBodies<S> {
    inner: S,
    unread: UnreadBody,
    connection: Connection,
}

impl<S: Service<Request<Incoming>>> Service<Request<Incoming>> for MarkingUnreadBodies<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        if !req.body().is_end_stream() {
            self.unread.mark();
        }
        req.extensions_mut().insert(self.connection.clone());
        self.inner.call(req)
    }
}

/// Aborts every connection still open and reports how many there were.
async fn cut_remaining(connections: &mut tokio::task::JoinSet<()>) -> usize {
    while connections.try_join_next().is_some() {}
    let cut = connections.len();
    connections.shutdown().await;
    cut
}
