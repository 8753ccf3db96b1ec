//! `/api/events`: Server-Sent Events of the plaza. A client first gets a `snapshot`
//! of every known nara, then `join`, `change` and `leave` events, and a comment line
//! as a heartbeat, so proxies keep the stream open and a reconnecting browser catches
//! up from the snapshot. The stream ends when nara starts draining.

use crate::plaza::Plaza;
use crate::plaza::projection::{Change, Peer};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
/// How often an idle stream sends a comment, so proxies keep it open.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// Sent first: how long a disconnected EventSource waits before reconnecting.
const RETRY: &str = "retry: 3000\n\n";

/// A response body fed by a task; ends when the task drops its sender.
pub struct EventBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

fn event(name: &str, data: &impl serde::Serialize) -> Bytes {
    let json = serde_json::to_string(data).expect("events serialize");
    Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
}

fn snapshot(peers: &[Peer]) -> Bytes {
    #[derive(serde::Serialize)]
    struct Snapshot<'a> {
        peers: &'a [Peer],
    }
    event("snapshot", &Snapshot { peers })
}

fn change(change: &Change) -> Bytes {
    event(change.kind.as_str(), change)
}

/// Starts streaming the plaza to one client.
pub fn stream(plaza: Arc<Plaza>, mut draining: watch::Receiver<bool>) -> EventBody {
    let (tx, rx) = mpsc::channel(32);
    let (peers, mut changes) = plaza.subscribe();
    tokio::spawn(async move {
        if tx.send(Bytes::from_static(RETRY.as_bytes())).await.is_err() || tx.send(snapshot(&peers)).await.is_err() {
            return;
        }
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        loop {
            let chunk = tokio::select! {
                received = changes.recv() => match received {
                    Ok(c) => change(&c),
                    // Fell behind: a fresh snapshot is worth more than the lost changes.
                    Err(broadcast::error::RecvError::Lagged(_)) => snapshot(&plaza.peers()),
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = heartbeat.tick() => Bytes::from_static(b": heartbeat\n\n"),
                _ = draining.wait_for(|d| *d) => break,
                () = tx.closed() => break,
            };
            if tx.send(chunk).await.is_err() {
                break;
            }
        }
    });
    EventBody { rx }
}
