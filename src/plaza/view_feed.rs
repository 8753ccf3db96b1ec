//! The peer view and the feed its readers follow: the [`View`] behind its lock, the
//! change stream every `/api/events` client subscribes to, the count of changes
//! announced, and the view as JSON shared by every reader (see [`serialized`]).
//!
//! One rule holds them together: a change is announced while the view is locked, so
//! that a reader who takes the list and a receiver together sees each change in one of
//! them, never in neither. [`LockedView::announce`] is the only way to announce, so the
//! rule needs no remembering. Locks are taken in one order: the shared list, then the
//! view. A listener (the event hooks') may hear each change too, under the same lock:
//! it must only look and hand on, never wait.
//!
//! [`serialized`]: super::serialized

use super::serialized::{self, ChangeJson, SharedList};
use super::view::{Change, Peer, View};
use bytes::Bytes;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;
use tokio::sync::broadcast;

/// How many changes a slow `/api/events` client may fall behind before it is resent
/// a snapshot instead.
const CHANGE_BACKLOG: usize = 256;

/// The peer view and its change stream.
pub(crate) struct ViewFeed {
    view: Mutex<View>,
    changes: broadcast::Sender<ChangeJson>,
    /// Changes announced so far; written under the view's lock.
    announced: AtomicU64,
    /// The view as JSON, shared by every reader until it goes stale.
    list: SharedList,
    /// Held by the stream that serializes a fresh list, while others wait to share it.
    serializing: tokio::sync::Mutex<()>,
    /// Hears every change as it is announced, if one was set.
    listener: OnceLock<Listener>,
}

/// What hears every change as it is announced, under the view's lock.
pub(crate) type Listener = Box<dyn Fn(&Change) + Send + Sync>;

/// The view, locked: read and change it, and announce what changed.
pub(crate) struct LockedView<'a> {
    view: MutexGuard<'a, View>,
    feed: &'a ViewFeed,
}

impl ViewFeed {
    /// A feed over `view`, with no change announced yet.
    pub(crate) fn new(view: View) -> ViewFeed {
        ViewFeed {
            view: Mutex::new(view),
            changes: broadcast::channel(CHANGE_BACKLOG).0,
            announced: AtomicU64::new(0),
            list: SharedList::default(),
            serializing: tokio::sync::Mutex::new(()),
            listener: OnceLock::new(),
        }
    }

    /// Sets what hears every change from now on; a second listener is refused.
    pub(crate) fn listen(&self, listener: Listener) -> Result<(), Listener> {
        self.listener.set(listener)
    }

    pub(crate) fn lock(&self) -> LockedView<'_> {
        LockedView {
            // A panic while holding the lock cannot leave the map half-written in a way
            // that matters more than losing the whole view, so keep serving.
            view: self.view.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
            feed: self,
        }
    }

    /// Every known nara as `{"peers":[…]}`: one buffer shared by every reader until the
    /// view changes, or for `serialized::CHURN_SHARE` even if it did.
    pub(crate) fn peers_json(&self) -> Bytes {
        let mut list = self.list.lock();
        if let Some(json) = list.recent(self.announced.load(Ordering::SeqCst)) {
            return json;
        }
        let (after_change, peers) = {
            let view = self.lock();
            (self.announced.load(Ordering::SeqCst), view.snapshot())
        };
        list.refresh(after_change, &peers)
    }

    /// Every known nara, and how many changes had been announced when it was taken: a
    /// reader that keeps something made from it knows it stale once
    /// [`ViewFeed::announced`] has moved on. The view is locked only while it is copied.
    pub(crate) fn snapshot(&self) -> (u64, Vec<Peer>) {
        let view = self.lock();
        (self.announced(), view.snapshot())
    }

    /// How many changes have been announced so far.
    pub(crate) fn announced(&self) -> u64 {
        self.announced.load(Ordering::SeqCst)
    }

    /// Every known nara as `{"peers":[…]}` and a receiver for every change after it,
    /// taken together so that nothing falls between them. The JSON is the shared
    /// buffer when no change was announced since it was taken. A fresh one is
    /// serialized in turns, one stream at a time (the others wait to share it).
    pub(crate) async fn subscribe_json(&self) -> (Bytes, broadcast::Receiver<ChangeJson>) {
        let _serializing = self.serializing.lock().await;
        let (after_change, taken, peers, changes, capacity) = {
            let list = self.list.lock();
            let view = self.lock();
            let after_change = self.announced.load(Ordering::SeqCst);
            let changes = self.changes.subscribe();
            if let Some(json) = list.current(after_change) {
                return (json, changes);
            }
            (after_change, Instant::now(), view.snapshot(), changes, list.last_len())
        };
        let json = serialized::peers_json_yielding(&peers, capacity + capacity / 8).await;
        self.list.lock().offer(after_change, taken, json.clone());
        (json, changes)
    }
}

impl LockedView<'_> {
    /// Sends a change to every stream, serialized once; the view is locked, so
    /// [`ViewFeed::subscribe_json`] sees either the change in its list or in its receiver.
    pub(crate) fn announce(&self, change: &Change) {
        self.feed.announced.fetch_add(1, Ordering::SeqCst);
        // No receivers (no /api/events client) is fine.
        let _ = self.feed.changes.send(ChangeJson::new(change));
        if let Some(listener) = self.feed.listener.get() {
            listener(change);
        }
    }
}

impl Deref for LockedView<'_> {
    type Target = View;

    fn deref(&self) -> &View {
        &self.view
    }
}

impl DerefMut for LockedView<'_> {
    fn deref_mut(&mut self) -> &mut View {
        &mut self.view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plaza::view::{ChangeKind, Limits, Peer, Status};
    use std::time::{Duration, SystemTime};

    fn feed() -> ViewFeed {
        let now = SystemTime::now();
        let own = Peer {
            name: "me".into(),
            id: "id-me".into(),
            public_key: "key-me".into(),
            status: Status::Online,
            version: "0.1.0".into(),
            revision: "r".into(),
            public_url: None,
            version_history: Vec::new(),
            tags: crate::plaza::tags::Tags::default(),
            uptime_s: 0,
            host: Default::default(),
            first_seen: now,
            last_seen: now,
            is_self: true,
            restarts: Default::default(),
        };
        let limits = Limits {
            missing_after: Duration::from_secs(60),
            forget_after: Duration::from_secs(3600),
            max_peers: 10,
            max_skew: Duration::from_secs(60),
        };
        ViewFeed::new(View::new(own, limits))
    }

    #[tokio::test]
    async fn an_announced_change_reaches_a_subscriber_and_makes_the_shared_list_stale() {
        let feed = feed();
        let (first, mut changes) = feed.subscribe_json().await;
        let (again, _) = feed.subscribe_json().await;
        assert_eq!(again.as_ptr(), first.as_ptr(), "nothing announced: the same list");
        let change = Change {
            kind: ChangeKind::Change,
            peer: feed.lock().snapshot()[0].clone(),
        };
        feed.lock().announce(&change);
        let received = changes.try_recv().expect("the change reached the subscriber");
        assert_eq!(received.kind, ChangeKind::Change);
        let (after, _) = feed.subscribe_json().await;
        assert_ne!(after.as_ptr(), first.as_ptr(), "a change makes the list stale");
    }
}
