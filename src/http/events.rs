//! `/api/events`: Server-Sent Events of the plaza. A client first gets a `snapshot`
//! of every known nara, then `join`, `change` and `leave` events, and a comment line
//! as a heartbeat, so proxies keep the stream open and a reconnecting browser catches
//! up from the snapshot. The stream ends when nara starts draining.
//!
//! Every stream is bounded. The snapshot and each change are serialized once by the
//! plaza and shared by every stream ([`Bytes`] clones). What a stream has not yet
//! handed to its connection is counted in bytes: past its budget, or when nothing was
//! taken for [`StreamLimits::stall_after`], the stream's connection is closed (an
//! EventSource reconnects by itself and gets a fresh snapshot). At most
//! [`StreamLimits::max_streams`] are open at once; past that a request gets 503.

use crate::http::config::StreamLimits;
use crate::http::hangup::Hangup;
use crate::plaza::Plaza;
use crate::plaza::serialized::ChangeJson;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use prometheus::{IntCounterVec, IntGauge};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};

/// How often an idle stream sends a comment, so proxies keep it open.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(15);
/// Sent first: how long a disconnected EventSource waits before reconnecting.
const RETRY: &str = "retry: 3000\n\n";
/// How long a refused client is asked to wait before it tries again.
pub(crate) const RETRY_AFTER_S: u64 = 5;
/// A snapshot goes out in slices of this size, so a slow reader shows progress
/// between them instead of none until megabytes have gone.
const SLICE: usize = 64 * 1024;
/// Changes a stream takes from the plaza at a time, when that many are waiting.
const BATCH: usize = 64;

/// Why nara closed a stream, as the metric's `reason` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closed {
    /// Its unsent bytes passed the budget.
    Budget,
    /// Its connection took nothing for the stall limit.
    Stalled,
}

impl Closed {
    fn as_str(self) -> &'static str {
        match self {
            Closed::Budget => "budget",
            Closed::Stalled => "stalled",
        }
    }
}

/// Every open event stream: how many, within what limits, and the metrics about them.
pub(crate) struct Streams {
    limits: StreamLimits,
    open: AtomicUsize,
    open_gauge: IntGauge,
    closed: IntCounterVec,
}

impl Streams {
    /// Streams within `limits`, counted in `open_gauge` and (closed by nara) `closed`.
    pub(crate) fn new(limits: StreamLimits, open_gauge: IntGauge, closed: IntCounterVec) -> Streams {
        for reason in [Closed::Budget, Closed::Stalled] {
            closed.with_label_values(&[reason.as_str()]);
        }
        Streams {
            limits,
            open: AtomicUsize::new(0),
            open_gauge,
            closed,
        }
    }

    /// The limits these streams keep.
    pub(crate) fn limits(&self) -> StreamLimits {
        self.limits
    }

    /// A place for one more stream, or `None` when `max_streams` are open.
    fn admit(self: &Arc<Self>) -> Option<Ticket> {
        self.open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |open| {
                (open < self.limits.max_streams).then_some(open + 1)
            })
            .ok()?;
        self.open_gauge.inc();
        Some(Ticket(self.clone()))
    }
}

/// One stream's place among the open ones, given back when its body is dropped.
struct Ticket(Arc<Streams>);

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
        self.0.open_gauge.dec();
    }
}

/// One frame of a stream, and whether it is part of a snapshot.
struct Chunk {
    bytes: Bytes,
    snapshot: bool,
}

/// What a stream's feeder and its body share: the unsent bytes and the last progress.
struct Queue {
    /// Bytes queued and not yet taken by the connection.
    unsent: AtomicUsize,
    /// Of these, the bytes of a snapshot.
    snapshot_unsent: AtomicUsize,
    /// Milliseconds after `epoch` when the connection last took a frame, or when the
    /// queue last went from empty to not.
    progress_ms: AtomicU64,
    epoch: Instant,
    closed: AtomicBool,
}

impl Queue {
    fn new() -> Queue {
        Queue {
            unsent: AtomicUsize::new(0),
            snapshot_unsent: AtomicUsize::new(0),
            progress_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            closed: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn taken(&self, chunk: &Chunk) {
        if chunk.snapshot {
            self.snapshot_unsent.fetch_sub(chunk.bytes.len(), Ordering::SeqCst);
        }
        self.unsent.fetch_sub(chunk.bytes.len(), Ordering::SeqCst);
        self.progress_ms.store(self.now_ms(), Ordering::SeqCst);
    }

    fn stalled(&self, limit: Duration) -> bool {
        let idle = self.now_ms().saturating_sub(self.progress_ms.load(Ordering::SeqCst));
        self.unsent.load(Ordering::SeqCst) > 0 && Duration::from_millis(idle) >= limit
    }
}

/// A response body fed by a task; ends when the task drops its sender or gives up.
pub struct EventBody {
    rx: mpsc::UnboundedReceiver<Chunk>,
    queue: Arc<Queue>,
    _ticket: Ticket,
}

impl Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.queue.closed.load(Ordering::SeqCst) {
            return Poll::Ready(None);
        }
        self.rx.poll_recv(cx).map(|chunk| {
            chunk.map(|chunk| {
                self.queue.taken(&chunk);
                Ok(Frame::data(chunk.bytes))
            })
        })
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The feeder's end of a stream: pushes frames and keeps the budget.
struct Feed {
    tx: mpsc::UnboundedSender<Chunk>,
    queue: Arc<Queue>,
    budget: usize,
}

/// What became of frames handed to a stream's [`Feed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pushed {
    /// Queued for the connection.
    Queued,
    /// The client has gone (its body was dropped): the stream ends quietly.
    ClientGone,
    /// Refused: they would pass the budget, so nara closes the stream.
    OverBudget,
}

impl Feed {
    /// Queues `frames` as one unit, or refuses them all if they would take the unsent
    /// events past the budget, or if they are a snapshot and one is still unsent.
    fn push(&mut self, frames: &[Bytes], snapshot: bool) -> Pushed {
        let len: usize = frames.iter().map(Bytes::len).sum();
        let unsent = self.queue.unsent.load(Ordering::SeqCst);
        let over = if snapshot {
            self.refuses_snapshot()
        } else {
            self.events_unsent() + len > self.budget
        };
        if over {
            return Pushed::OverBudget;
        }
        if unsent == 0 {
            self.queue.progress_ms.store(self.queue.now_ms(), Ordering::SeqCst);
        }
        if snapshot {
            self.queue.snapshot_unsent.fetch_add(len, Ordering::SeqCst);
        }
        self.queue.unsent.fetch_add(len, Ordering::SeqCst);
        let sent = frames.iter().all(|frame| {
            self.tx
                .send(Chunk {
                    bytes: frame.clone(),
                    snapshot,
                })
                .is_ok()
        });
        if sent { Pushed::Queued } else { Pushed::ClientGone }
    }

    /// Unsent bytes of events (not of a snapshot).
    fn events_unsent(&self) -> usize {
        let unsent = self.queue.unsent.load(Ordering::SeqCst);
        unsent - self.queue.snapshot_unsent.load(Ordering::SeqCst).min(unsent)
    }

    /// Whether a snapshot would be refused now: one is still unsent, or the unsent
    /// events are past the budget.
    fn refuses_snapshot(&self) -> bool {
        self.queue.snapshot_unsent.load(Ordering::SeqCst) > 0 || self.events_unsent() > self.budget
    }

    fn snapshot(&mut self, json: &Bytes) -> Pushed {
        let mut frames = vec![Bytes::from_static(b"event: snapshot\ndata: ")];
        frames.extend(
            (0..json.len())
                .step_by(SLICE)
                .map(|at| json.slice(at..json.len().min(at + SLICE))),
        );
        frames.push(Bytes::from_static(b"\n\n"));
        self.push(&frames, true)
    }

    fn change(&mut self, change: &ChangeJson) -> Pushed {
        self.push(std::slice::from_ref(&change.event), false)
    }
}

/// Fell behind: a fresh snapshot is worth more than the lost changes, and a new
/// receiver starts right after it.
async fn catch_up(plaza: &Plaza, changes: &mut broadcast::Receiver<ChangeJson>, feed: &mut Feed) -> Pushed {
    // Asked before a snapshot is taken: under churn each one is serialized afresh (some
    // 10 ms of one thread at 10,000 naras), and a stalled stream would cost one each
    // time it fell behind, only to be closed.
    if feed.refuses_snapshot() {
        return Pushed::OverBudget;
    }
    let (json, resubscribed) = plaza.subscribe_json().await;
    *changes = resubscribed;
    feed.snapshot(&json)
}

/// Starts streaming the plaza to one client, or `None` when `max_streams` are open.
/// `hangup` closes the client's connection when the stream passes a bound.
pub(crate) fn stream(
    plaza: Arc<Plaza>,
    streams: &Arc<Streams>,
    draining: watch::Receiver<bool>,
    hangup: Option<Hangup>,
) -> Option<EventBody> {
    let ticket = streams.admit()?;
    let (tx, rx) = mpsc::unbounded_channel();
    let queue = Arc::new(Queue::new());
    let feeder = Feeder {
        plaza,
        feed: Feed {
            tx,
            queue: queue.clone(),
            budget: streams.limits.budget,
        },
        streams: streams.clone(),
        draining,
        hangup,
    };
    tokio::spawn(feeder.run());
    Some(EventBody {
        rx,
        queue,
        _ticket: ticket,
    })
}

/// The task behind one stream: what it reads (the plaza, the drain), what it feeds,
/// and how it closes the client's connection when the stream passes a bound.
struct Feeder {
    plaza: Arc<Plaza>,
    feed: Feed,
    streams: Arc<Streams>,
    draining: watch::Receiver<bool>,
    hangup: Option<Hangup>,
}

impl Feeder {
    /// Feeds the stream until it ends; if nara ended it because its client is not
    /// reading, counts why and hangs up the connection.
    async fn run(mut self) {
        let Some(reason) = self.pump().await else {
            return;
        };
        tracing::debug!(
            reason = reason.as_str(),
            "closed an event stream whose client is not reading"
        );
        self.streams.closed.with_label_values(&[reason.as_str()]).inc();
        self.feed.queue.closed.store(true, Ordering::SeqCst);
        if let Some(hangup) = &self.hangup {
            hangup.request();
        }
    }

    /// The retry hint and a snapshot, then changes and heartbeats until the client goes,
    /// nara drains, or the stream passes a bound (returned: why nara closes it).
    async fn pump(&mut self) -> Option<Closed> {
        let (json, mut changes) = self.plaza.subscribe_json().await;
        let feed = &mut self.feed;
        if feed.push(&[Bytes::from_static(RETRY.as_bytes())], false) != Pushed::Queued
            || feed.snapshot(&json) != Pushed::Queued
        {
            return None;
        }
        drop(json);
        let stall_after = self.streams.limits.stall_after;
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        let check_every = (stall_after / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let mut check = tokio::time::interval(check_every);
        loop {
            // Caught up after the select, whose outputs may not be held across an await.
            let mut lagged = false;
            let pushed = tokio::select! {
                received = changes.recv() => match received {
                    // What else is already waiting goes with it, without another turn
                    // of the loop for each.
                    Ok(change) => {
                        let mut pushed = feed.change(&change);
                        for _ in 1..BATCH {
                            if pushed != Pushed::Queued {
                                break;
                            }
                            match changes.try_recv() {
                                Ok(change) => pushed = feed.change(&change),
                                Err(broadcast::error::TryRecvError::Lagged(_)) => {
                                    lagged = true;
                                    break;
                                }
                                // Closed shows at the next recv.
                                Err(_) => break,
                            }
                        }
                        pushed
                    }
                    // Nothing pushed: the catch-up below sends a snapshot instead.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        lagged = true;
                        Pushed::Queued
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = heartbeat.tick() => feed.push(&[Bytes::from_static(b": heartbeat\n\n")], false),
                _ = check.tick() => {
                    if feed.queue.stalled(stall_after) {
                        return Some(Closed::Stalled);
                    }
                    continue;
                }
                _ = self.draining.wait_for(|d| *d) => return None,
                () = feed.tx.closed() => return None,
            };
            let pushed = match pushed {
                Pushed::Queued if lagged => catch_up(&self.plaza, &mut changes, feed).await,
                pushed => pushed,
            };
            match pushed {
                Pushed::Queued => {}
                Pushed::ClientGone => return None,
                Pushed::OverBudget => return Some(Closed::Budget),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streams(max_streams: usize) -> Arc<Streams> {
        let gauge = IntGauge::new("open", "open").unwrap();
        let closed = IntCounterVec::new(prometheus::Opts::new("closed", "closed"), &["reason"]).unwrap();
        Arc::new(Streams::new(
            StreamLimits {
                max_streams,
                ..crate::testing::http_config().streams
            },
            gauge,
            closed,
        ))
    }

    #[test]
    fn the_cap_admits_until_full_and_a_place_comes_back_when_a_stream_ends() {
        let streams = streams(2);
        let first = streams.admit().expect("one");
        let _second = streams.admit().expect("two");
        assert!(streams.admit().is_none(), "a third is past the cap");
        assert_eq!(streams.open_gauge.get(), 2);
        drop(first);
        assert_eq!(streams.open_gauge.get(), 1);
        assert!(streams.admit().is_some(), "the place came back");
    }

    #[test]
    fn the_budget_counts_events_and_one_snapshot_may_wait_besides() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut feed = Feed {
            tx,
            queue: Arc::new(Queue::new()),
            budget: 100,
        };
        let big = Bytes::from(vec![b'x'; 3 * SLICE]);
        assert_eq!(
            feed.snapshot(&big),
            Pushed::Queued,
            "a snapshot fits, whatever its size"
        );
        let change = Bytes::from(vec![b'y'; 60]);
        assert_eq!(feed.push(std::slice::from_ref(&change), false), Pushed::Queued);
        assert_eq!(
            feed.push(std::slice::from_ref(&change), false),
            Pushed::OverBudget,
            "120 bytes of events pass a budget of 100"
        );
        assert_eq!(
            feed.snapshot(&big),
            Pushed::OverBudget,
            "nor does a second snapshot fit behind an unsent one"
        );
        while let Ok(chunk) = rx.try_recv() {
            feed.queue.taken(&chunk);
        }
        assert_eq!(feed.queue.unsent.load(Ordering::SeqCst), 0);
        assert_eq!(feed.snapshot(&big), Pushed::Queued, "once taken, the next one fits");
    }

    #[test]
    fn a_push_to_a_client_that_has_gone_says_so() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut feed = Feed {
            tx,
            queue: Arc::new(Queue::new()),
            budget: 100,
        };
        drop(rx);
        let change = Bytes::from_static(b"data: {}\n\n");
        assert_eq!(feed.push(std::slice::from_ref(&change), false), Pushed::ClientGone);
    }

    #[tokio::test]
    async fn a_stream_that_cannot_take_a_snapshot_is_closed_before_one_is_taken_for_it() {
        use crate::metrics::Metrics;
        use crate::plaza::event;
        use crate::plaza::identity::{Identity, Soul, SoulSource};
        use crate::plaza::message::Kind;
        use std::time::{SystemTime, UNIX_EPOCH};

        let me = Identity::new(&Soul::mint("me").unwrap(), "me", SoulSource::Ephemeral);
        let plaza = Plaza::new(me, crate::testing::plaza_config(), Arc::new(Metrics::new()));
        let (json, mut changes) = plaza.subscribe_json().await;
        let other = Identity::new(&Soul::mint("other").unwrap(), "other", SoulSource::Ephemeral);
        let now_ns = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64;
        let hello = event::encode(&other, Kind::HeyThere, now_ns, "");
        plaza
            .receive(&Kind::HeyThere.topic("other"), &hello)
            .expect("a valid hey_there");
        assert_eq!(changes.len(), 1, "the join waits in the receiver");

        let (tx, _rx) = mpsc::unbounded_channel();
        let mut feed = Feed {
            tx,
            queue: Arc::new(Queue::new()),
            budget: StreamLimits::DEFAULT_BUDGET,
        };
        assert_eq!(feed.snapshot(&json), Pushed::Queued, "the first snapshot, never taken");
        assert_eq!(catch_up(&plaza, &mut changes, &mut feed).await, Pushed::OverBudget);
        assert_eq!(
            changes.len(),
            1,
            "the receiver was kept: no fresh snapshot was taken for a stream that could not send it"
        );
    }

    #[test]
    fn a_stream_stalls_only_while_it_holds_unsent_bytes() {
        let queue = Queue::new();
        assert!(!queue.stalled(Duration::ZERO), "nothing unsent, nothing stalled");
        queue.unsent.store(10, Ordering::SeqCst);
        assert!(queue.stalled(Duration::ZERO));
        assert!(!queue.stalled(Duration::from_secs(60)));
        queue.taken(&Chunk {
            bytes: Bytes::from_static(&[0; 10]),
            snapshot: false,
        });
        assert!(!queue.stalled(Duration::ZERO));
    }
}
