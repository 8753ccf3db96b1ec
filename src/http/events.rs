//! `/api/events`: Server-Sent Events of the plaza. A client first gets a `snapshot`
//! of every known nara, then `join`, `change` and `leave` events, and a comment line
//! as a heartbeat, so proxies keep the stream open and a reconnecting browser catches
//! up from the snapshot. The stream ends when nara starts draining.
//!
//! Every stream is bounded, by what its client has actually read. The snapshot and
//! each change are serialized once by the plaza and shared by every stream ([`Bytes`]
//! clones). A stream's unread bytes are those nara still holds for it plus those the
//! kernel holds in the socket's send buffer (see `http::socket`): past its
//! budget, or when its client reads almost nothing for [`StreamLimits::stall_after`]
//! while bytes wait, nara hangs up the connection (an EventSource reconnects by itself
//! and gets a fresh snapshot). A stream ends cleanly at [`StreamLimits::max_age`], so no
//! client holds one for good. Who may open one is `http::seats`' business.

use crate::http::config::StreamLimits;
use crate::http::connection::Connection;
use crate::http::hangup::Hangup;
use crate::http::seats::{Refused, Seat, Seats};
use crate::http::socket::StreamSocket;
use crate::plaza::Plaza;
use crate::plaza::serialized::ChangeJson;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use prometheus::{IntCounterVec, IntGauge};
use std::convert::Infallible;
use std::net::IpAddr;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

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
/// What a client must read within the stall limit while bytes wait for it (or all that
/// waited, if less): a client that reads a byte a second keeps its connection busy
/// and never catches up. A browser on the slowest mobile link reads this in seconds.
const STALL_PROGRESS: u64 = 16 * 1024;

/// Why nara closed a stream, as the metric's `reason` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closed {
    /// Its unread bytes passed the budget.
    Budget,
    /// Its client read almost nothing for the stall limit while bytes waited.
    Stalled,
    /// It reached its maximum age.
    Age,
}

impl Closed {
    fn as_str(self) -> &'static str {
        match self {
            Closed::Budget => "budget",
            Closed::Stalled => "stalled",
            Closed::Age => "age",
        }
    }
}

/// Every open event stream: within what limits, who may open one, and the metrics
/// about them.
pub(crate) struct Streams {
    limits: StreamLimits,
    seats: Arc<Seats>,
    closed: IntCounterVec,
}

impl Streams {
    /// Streams within `limits`, counted in `open_gauge`, `closed` (closed by nara) and
    /// `refused` (refused a seat); every reason is there from the start, at 0.
    pub(crate) fn new(
        limits: StreamLimits,
        open_gauge: IntGauge,
        closed: IntCounterVec,
        refused: IntCounterVec,
    ) -> Streams {
        for reason in [Closed::Budget, Closed::Stalled, Closed::Age] {
            closed.with_label_values(&[reason.as_str()]);
        }
        let seats = Arc::new(Seats::new(limits.max_streams, limits.per_client, open_gauge, refused));
        Streams { limits, seats, closed }
    }

    /// The limits these streams keep.
    pub(crate) fn limits(&self) -> &StreamLimits {
        &self.limits
    }
}

/// How far a stream has gone, shared by its feeder and its body.
struct Queue {
    /// Bytes handed to the body so far.
    queued: AtomicU64,
    /// Bytes the connection took from the body so far.
    taken: AtomicU64,
    /// Set when nara ends the stream: the body ends at its next poll.
    closed: AtomicBool,
}

impl Queue {
    fn new() -> Queue {
        Queue {
            queued: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }
    }
}

/// A response body fed by a task; ends when the task drops its sender or ends it.
pub struct EventBody {
    rx: mpsc::UnboundedReceiver<Bytes>,
    queue: Arc<Queue>,
    _seat: Seat,
}

impl Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        loop {
            if self.queue.closed.load(Ordering::SeqCst) {
                return Poll::Ready(None);
            }
            match ready!(self.rx.poll_recv(cx)) {
                // Empty: the feeder's wake-up after it ended the stream.
                Some(frame) if frame.is_empty() => {}
                Some(frame) => {
                    self.queue.taken.fetch_add(frame.len() as u64, Ordering::SeqCst);
                    return Poll::Ready(Some(Ok(Frame::data(frame))));
                }
                None => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The feeder's end of a stream: pushes frames, and knows how much of them the client
/// has read.
struct Feed {
    tx: mpsc::UnboundedSender<Bytes>,
    queue: Arc<Queue>,
    budget: u64,
    /// Where in the stream the last snapshot lies.
    snapshot: Range<u64>,
    /// The socket, to ask the kernel what it holds; `None` where it cannot be asked.
    socket: Option<StreamSocket>,
    /// How much the client had read at the last look (never less than before).
    read: u64,
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
    fn new(tx: mpsc::UnboundedSender<Bytes>, queue: Arc<Queue>, budget: usize, socket: Option<StreamSocket>) -> Feed {
        Feed {
            tx,
            queue,
            budget: budget as u64,
            snapshot: 0..0,
            socket,
            read: 0,
        }
    }

    /// Asks how far the client has read: what the connection took, less what the kernel
    /// still holds for the client. (What hyper holds between the two, at most one
    /// frame and its 16 KiB buffer, counts as read.)
    fn look(&mut self) {
        let taken = self.queue.taken.load(Ordering::SeqCst);
        let in_kernel = self.socket.as_ref().and_then(StreamSocket::unread).unwrap_or(0);
        self.read = self.read.max(taken.saturating_sub(in_kernel));
    }

    /// Bytes queued that the client had not read at the last look: between looks, what
    /// it read since counts as unread, so a refusal always looks again first.
    fn unread(&self) -> u64 {
        self.queue.queued.load(Ordering::SeqCst).saturating_sub(self.read)
    }

    /// Of the unread bytes, those of the last snapshot.
    fn snapshot_unread(&self) -> u64 {
        let queued = self.queue.queued.load(Ordering::SeqCst);
        let end = self.snapshot.end.min(queued);
        end.saturating_sub(self.snapshot.start.max(self.read))
    }

    /// Of the unread bytes, those of events (not of the last snapshot).
    fn events_unread(&self) -> u64 {
        self.unread() - self.snapshot_unread()
    }

    /// Whether `len` more bytes (a snapshot's, if `snapshot`) would be refused now: a
    /// snapshot while one is unread or the events are past the budget, events past it.
    fn refuses(&self, len: u64, snapshot: bool) -> bool {
        if snapshot {
            self.snapshot_unread() > 0 || self.events_unread() > self.budget
        } else {
            self.events_unread() + len > self.budget
        }
    }

    /// [`Feed::refuses`], after a fresh look when the last one would refuse.
    fn refuses_after_looking(&mut self, len: u64, snapshot: bool) -> bool {
        if !self.refuses(len, snapshot) {
            return false;
        }
        self.look();
        self.refuses(len, snapshot)
    }

    /// Queues `frames` as one unit, or refuses them all if they would take the unread
    /// events past the budget, or if they are a snapshot and one is still unread.
    fn push(&mut self, frames: &[Bytes], snapshot: bool) -> Pushed {
        let len: u64 = frames.iter().map(|f| f.len() as u64).sum();
        if self.refuses_after_looking(len, snapshot) {
            return Pushed::OverBudget;
        }
        let start = self.queue.queued.fetch_add(len, Ordering::SeqCst);
        if snapshot {
            self.snapshot = start..start + len;
        }
        let sent = frames.iter().all(|frame| self.tx.send(frame.clone()).is_ok());
        if sent { Pushed::Queued } else { Pushed::ClientGone }
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

    /// Ends the stream: the body ends at its next poll, woken if it waits.
    fn end(&self) {
        self.queue.closed.store(true, Ordering::SeqCst);
        let _ = self.tx.send(Bytes::new());
    }
}

/// Whether a stream's client keeps reading while bytes wait for it: it must read
/// [`STALL_PROGRESS`] (or all that waited) within the stall limit.
#[derive(Debug)]
struct Progress {
    /// Since when the client owes the reading.
    since: Instant,
    /// How far it had read then.
    read_then: u64,
    /// What waited for it then.
    owed: u64,
}

impl Progress {
    fn new(now: Instant) -> Progress {
        Progress {
            since: now,
            read_then: 0,
            owed: 0,
        }
    }

    /// Notes how far the client has read and what waits for it `now`; true when it has
    /// read too little for `limit`.
    fn stalled(&mut self, now: Instant, read: u64, unread: u64, limit: Duration) -> bool {
        let kept_up = read.saturating_sub(self.read_then) >= self.owed.min(STALL_PROGRESS);
        if unread == 0 || self.owed == 0 || kept_up {
            *self = Progress {
                since: now,
                read_then: read,
                owed: unread,
            };
            return false;
        }
        now.duration_since(self.since) >= limit
    }
}

/// Fell behind: a fresh snapshot is worth more than the lost changes, and a new
/// receiver starts right after it.
async fn catch_up(plaza: &Plaza, changes: &mut broadcast::Receiver<ChangeJson>, feed: &mut Feed) -> Pushed {
    // Asked before a snapshot is taken: under churn each one is serialized afresh (some
    // 10 ms of one thread at 10,000 naras), and a stalled stream would cost one each
    // time it fell behind, only to be closed.
    if feed.refuses_after_looking(0, true) {
        return Pushed::OverBudget;
    }
    let (json, resubscribed) = plaza.subscribe_json().await;
    *changes = resubscribed;
    feed.snapshot(&json)
}

/// Starts streaming the plaza to `client`, or says which cap refuses it. `connection`
/// is the one the request came on, when the accept loop said: its socket tells what
/// the client has read, and it is hung up when the stream passes a bound.
pub(crate) fn stream(
    plaza: Arc<Plaza>,
    streams: &Arc<Streams>,
    draining: watch::Receiver<bool>,
    client: IpAddr,
    connection: Option<&Connection>,
) -> Result<EventBody, Refused> {
    let seat = streams.seats.take(client)?;
    let socket = connection.and_then(|connection| {
        connection
            .socket
            .for_stream()
            .inspect_err(|err| tracing::debug!(error = %err, "an event stream cannot watch its socket"))
            .ok()
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let queue = Arc::new(Queue::new());
    let feeder = Feeder {
        plaza,
        feed: Feed::new(tx, queue.clone(), streams.limits.budget, socket),
        streams: streams.clone(),
        draining,
        hangup: connection.map(|c| c.hangup.clone()),
    };
    tokio::spawn(feeder.run());
    Ok(EventBody { rx, queue, _seat: seat })
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
    /// Feeds the stream until it ends. If nara ended it, counts why; a stream at its
    /// maximum age ends cleanly, and the connection of one whose client is not reading
    /// is hung up.
    async fn run(mut self) {
        let Some(reason) = self.pump().await else {
            return;
        };
        tracing::debug!(reason = reason.as_str(), "closed an event stream");
        self.streams.closed.with_label_values(&[reason.as_str()]).inc();
        self.feed.end();
        if reason == Closed::Age && self.end_was_read().await {
            return;
        }
        if let Some(hangup) = &self.hangup {
            hangup.request();
        }
    }

    /// How often a stream looks at what its client has read.
    fn check_every(&self) -> Duration {
        (self.streams.limits.stall_after / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }

    /// After a clean end: whether the client read the rest within the stall limit (the
    /// body has ended and the kernel holds nothing for it). Where the kernel cannot
    /// say, it did not.
    async fn end_was_read(&self) -> bool {
        let Some(socket) = &self.feed.socket else {
            return false;
        };
        let give_up = Instant::now() + self.streams.limits.stall_after;
        let mut check = tokio::time::interval(self.check_every());
        loop {
            check.tick().await;
            match socket.unread() {
                Some(0) if self.feed.tx.is_closed() => return true,
                Some(_) if Instant::now() < give_up => {}
                _ => return false,
            }
        }
    }

    /// The retry hint and a snapshot, then changes and heartbeats until the client goes,
    /// nara drains, or the stream passes a bound (returned: why nara closes it).
    async fn pump(&mut self) -> Option<Closed> {
        let old_enough = tokio::time::sleep(self.streams.limits.max_age);
        tokio::pin!(old_enough);
        let (json, mut changes) = self.plaza.subscribe_json().await;
        let check_every = self.check_every();
        let feed = &mut self.feed;
        if feed.push(&[Bytes::from_static(RETRY.as_bytes())], false) != Pushed::Queued
            || feed.snapshot(&json) != Pushed::Queued
        {
            return None;
        }
        drop(json);
        let stall_after = self.streams.limits.stall_after;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + HEARTBEAT, HEARTBEAT);
        let mut check = tokio::time::interval(check_every);
        let mut progress = Progress::new(Instant::now());
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
                    feed.look();
                    if progress.stalled(Instant::now(), feed.read, feed.unread(), stall_after) {
                        return Some(Closed::Stalled);
                    }
                    continue;
                }
                () = &mut old_enough => return Some(Closed::Age),
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

    fn feed(budget: usize) -> (Feed, mpsc::UnboundedReceiver<Bytes>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Feed::new(tx, Arc::new(Queue::new()), budget, None), rx)
    }

    /// The connection takes everything queued, and (no socket) the client reads it.
    fn take_all(feed: &mut Feed, rx: &mut mpsc::UnboundedReceiver<Bytes>) {
        while let Ok(frame) = rx.try_recv() {
            feed.queue.taken.fetch_add(frame.len() as u64, Ordering::SeqCst);
        }
        feed.look();
    }

    #[test]
    fn the_budget_counts_events_and_one_snapshot_may_wait_besides() {
        let (mut feed, mut rx) = feed(100);
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
            "nor does a second snapshot fit behind an unread one"
        );
        take_all(&mut feed, &mut rx);
        assert_eq!(feed.unread(), 0);
        assert_eq!(feed.snapshot(&big), Pushed::Queued, "once read, the next one fits");
    }

    #[test]
    fn bytes_the_connection_wrote_are_unread_while_the_kernel_holds_them() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let socket = crate::http::socket::ConnectionSocket::of(&server).for_stream().unwrap();
        if socket.unread().is_none() {
            return; // Only Linux says what the kernel holds.
        }
        let (tx, _rx) = mpsc::unbounded_channel();
        let mut feed = Feed::new(tx, Arc::new(Queue::new()), 100, Some(socket));
        // The connection took and wrote this much; the client reads none of it, and its
        // kernel takes what fits in its receive buffer.
        server.set_nonblocking(true).unwrap();
        let mut written = 0u64;
        while let Ok(n) = (&server).write(&[b'x'; 16 * 1024]) {
            written += n as u64;
        }
        feed.queue.queued.store(written, Ordering::SeqCst);
        feed.queue.taken.store(written, Ordering::SeqCst);
        feed.look();
        let unread = feed.unread();
        assert!(unread > 100 && unread < written, "{unread} of {written} unread");
        let change = Bytes::from(vec![b'y'; 60]);
        assert_eq!(
            feed.push(std::slice::from_ref(&change), false),
            Pushed::OverBudget,
            "what the kernel holds counts against the budget"
        );
    }

    #[test]
    fn a_push_to_a_client_that_has_gone_says_so() {
        let (mut feed, rx) = feed(100);
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

        let (mut feed, _rx) = feed(StreamLimits::DEFAULT_BUDGET);
        assert_eq!(feed.snapshot(&json), Pushed::Queued, "the first snapshot, never taken");
        assert_eq!(catch_up(&plaza, &mut changes, &mut feed).await, Pushed::OverBudget);
        assert_eq!(
            changes.len(),
            1,
            "the receiver was kept: no fresh snapshot was taken for a stream that could not send it"
        );
    }

    #[test]
    fn a_client_stalls_when_it_reads_too_little_while_bytes_wait() {
        let limit = Duration::from_secs(30);
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut progress = Progress::new(t0);
        assert!(!progress.stalled(at(0), 0, 0, limit), "nothing waits, nothing stalls");
        assert!(!progress.stalled(at(0), 0, 100_000, limit), "bytes begin to wait");
        assert!(
            !progress.stalled(at(20), 20, 99_980, limit),
            "a byte a second, within the limit"
        );
        assert!(
            progress.stalled(at(30), 30, 99_970, limit),
            "a byte a second, at the limit"
        );

        let mut progress = Progress::new(t0);
        progress.stalled(at(0), 0, 100_000, limit);
        assert!(
            !progress.stalled(at(29), STALL_PROGRESS, 90_000, limit),
            "16 KiB read: it keeps up"
        );
        assert!(
            !progress.stalled(at(58), STALL_PROGRESS, 90_000, limit),
            "and the limit runs anew from there"
        );
        assert!(progress.stalled(at(59), STALL_PROGRESS, 90_000, limit));

        let mut progress = Progress::new(t0);
        progress.stalled(at(0), 0, 15, limit);
        assert!(
            !progress.stalled(at(29), 15, 15, limit),
            "a heartbeat read whole is all it owed"
        );
    }
}
