//! The view as JSON, serialized once and shared: the list of every known nara (the
//! `/api/peers` body and the `/api/events` snapshot, which are the same JSON) and each
//! change as it is announced. Readers get [`Bytes`] clones of one buffer, so a thousand
//! clients of a 10,000-nara view cost one serialized list, not a thousand.

use super::view::{Change, ChangeKind, Peer};
use bytes::Bytes;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How old a shared list may be before the next reader serializes a fresh one, when
/// no change was announced since: `last_seen` and `uptime_s` move without a change
/// event, and a reader should not see them older than this.
pub(crate) const FRESH_FOR: Duration = Duration::from_secs(1);
/// How long `/api/peers` readers share a list although the view changed since.
pub(crate) const CHURN_SHARE: Duration = Duration::from_millis(100);

/// One announced change, serialized once for every stream, in the one form every
/// reader of the change stream sends it: a Server-Sent Event named after its kind, whose
/// data is the change as JSON (`{"type":…,"peer":{…}}`).
#[derive(Clone, Debug)]
pub struct ChangeJson {
    /// What happened (the event's name).
    #[cfg_attr(not(test), expect(dead_code, reason = "only a unit test reads it yet"))]
    pub(crate) kind: ChangeKind,
    /// `event: KIND\ndata: JSON\n\n`, one buffer shared by every stream.
    pub(crate) event: Bytes,
}

impl ChangeJson {
    /// Serializes `change` once.
    pub(crate) fn new(change: &Change) -> ChangeJson {
        let mut event = format!("event: {}\ndata: ", change.kind.as_str()).into_bytes();
        serde_json::to_writer(&mut event, change).expect("a change serializes");
        event.extend_from_slice(b"\n\n");
        ChangeJson {
            kind: change.kind,
            event: Bytes::from(event),
        }
    }
}

/// `{"peers":[…]}` for a list of naras.
fn peers_json(peers: &[Peer]) -> Bytes {
    let mut json = Vec::new();
    json.extend_from_slice(LIST_OPENS);
    write_peers(&mut json, peers, true);
    json.extend_from_slice(LIST_CLOSES);
    Bytes::from(json)
}

/// What a list of peers begins and ends with, around the peers.
const LIST_OPENS: &[u8] = br#"{"peers":["#;
const LIST_CLOSES: &[u8] = b"]}";

/// Appends `peers`, comma-separated, to a list being written; `first` when nothing
/// stands in the list yet.
fn write_peers(json: &mut Vec<u8>, peers: &[Peer], first: bool) {
    for (at, peer) in peers.iter().enumerate() {
        if at > 0 || !first {
            json.push(b',');
        }
        serde_json::to_writer(&mut *json, peer).expect("a peer serializes");
    }
}

/// How long [`peers_json_yielding`] serializes before it lets the other tasks run.
const TURN: Duration = Duration::from_millis(1);
/// Peers serialized between two looks at the clock.
const PEERS_PER_LOOK: usize = 64;

/// The same bytes as [`peers_json`], giving the other tasks a turn every millisecond: at
/// 10,000 naras the list is 2.7 MB and some 10 to 20 ms of one thread, which a request
/// to a one-core nara (one thread) would otherwise wait through. `capacity` is a guess
/// of the size (the last list's), so the buffer is not copied as it grows.
pub(crate) async fn peers_json_yielding(peers: &[Peer], capacity: usize) -> Bytes {
    let mut json = Vec::with_capacity(capacity);
    json.extend_from_slice(LIST_OPENS);
    let mut turn_began = Instant::now();
    for (look, some) in peers.chunks(PEERS_PER_LOOK).enumerate() {
        if look > 0 && turn_began.elapsed() >= TURN {
            tokio::task::yield_now().await;
            turn_began = Instant::now();
        }
        write_peers(&mut json, some, look == 0);
    }
    json.extend_from_slice(LIST_CLOSES);
    // The slack of a guess would stay with the list for as long as it is shared.
    json.shrink_to_fit();
    Bytes::from(json)
}

/// The last serialized list: after which change it was taken, when, and its bytes.
#[derive(Debug)]
struct Shared {
    after_change: u64,
    taken: Instant,
    json: Bytes,
}

/// The shared list, refreshed by whichever reader finds it stale; the others wait for
/// that one instead of serializing their own.
#[derive(Debug, Default)]
pub(crate) struct SharedList {
    last: Mutex<Option<Shared>>,
}

/// A lock on the shared list, held while a reader checks it and, if it must, refreshes it.
pub(crate) struct ListGuard<'a> {
    last: std::sync::MutexGuard<'a, Option<Shared>>,
}

impl SharedList {
    /// Locks the list. Lock it before the view, never after, so two readers cannot
    /// deadlock.
    pub(crate) fn lock(&self) -> ListGuard<'_> {
        ListGuard {
            last: self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }
}

impl ListGuard<'_> {
    /// The shared list if it was taken after change `after_change` and is still fresh.
    pub(crate) fn current(&self, after_change: u64) -> Option<Bytes> {
        self.last
            .as_ref()
            .filter(|s| s.after_change == after_change && s.taken.elapsed() < FRESH_FOR)
            .map(|s| s.json.clone())
    }

    /// The shared list if no change was announced since it was taken (and it is
    /// fresh), or if it is younger than [`CHURN_SHARE`] whatever was announced: under
    /// churn, readers share at most ten lists a second instead of one per request.
    pub(crate) fn recent(&self, after_change: u64) -> Option<Bytes> {
        self.last
            .as_ref()
            .filter(|s| {
                let age = s.taken.elapsed();
                age < CHURN_SHARE || (s.after_change == after_change && age < FRESH_FOR)
            })
            .map(|s| s.json.clone())
    }

    /// The size of the last list, to size the next one's buffer.
    pub(crate) fn last_len(&self) -> usize {
        self.last.as_ref().map_or(0, |s| s.json.len())
    }

    /// Keeps `json`, the list taken at `taken` after change `after_change`, as the
    /// shared list, unless a later one was kept meanwhile.
    pub(crate) fn offer(&mut self, after_change: u64, taken: Instant, json: Bytes) {
        if self.last.as_ref().is_none_or(|s| s.after_change <= after_change) {
            *self.last = Some(Shared {
                after_change,
                taken,
                json,
            });
        }
    }

    /// Serializes `peers`, taken after change `after_change`, as the new shared list.
    pub(crate) fn refresh(&mut self, after_change: u64, peers: &[Peer]) -> Bytes {
        let json = peers_json(peers);
        *self.last = Some(Shared {
            after_change,
            taken: Instant::now(),
            json: json.clone(),
        });
        json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_shared_until_a_change_or_its_age_makes_it_stale() {
        let list = SharedList::default();
        let mut guard = list.lock();
        assert_eq!(guard.current(0), None, "nothing serialized yet");
        let first = guard.refresh(7, &[]);
        assert_eq!(&first[..], br#"{"peers":[]}"#);
        let again = guard.current(7).unwrap();
        assert_eq!(again.as_ptr(), first.as_ptr(), "the same buffer, not a copy");
        assert_eq!(guard.current(8), None, "a change was announced since");
        assert!(
            guard.recent(8).is_some(),
            "/api/peers shares it for a moment although a change was announced"
        );
        std::thread::sleep(CHURN_SHARE);
        assert!(guard.recent(8).is_none(), "then a change makes it stale");
        assert!(guard.recent(7).is_some(), "without one it stays fresh");
        guard.offer(6, Instant::now(), Bytes::from_static(b"older"));
        assert_eq!(
            guard.current(7).unwrap(),
            first,
            "an older list does not replace a later one"
        );
        guard.offer(8, Instant::now(), Bytes::from_static(b"later"));
        assert_eq!(&guard.current(8).unwrap()[..], b"later");
    }

    fn crowd(count: usize) -> Vec<Peer> {
        let now = std::time::SystemTime::now();
        (0..count)
            .map(|i| Peer {
                name: format!("nara-{i:05}"),
                id: format!("id-{i}"),
                public_key: "key".into(),
                status: super::super::view::Status::Online,
                version: "1.0.0".into(),
                revision: "abc".into(),
                public_url: (i % 2 == 0).then(|| format!("https://n{i}.example")),
                version_history: Vec::new(),
                tags: crate::plaza::tags::Tags::default(),
                uptime_s: i as u64,
                host: Default::default(),
                first_seen: now,
                last_seen: now,
                is_self: i == 0,
                restarts: Default::default(),
            })
            .collect()
    }

    #[test]
    fn each_naras_tags_at_their_limit_add_about_a_kib_to_the_list() {
        let mut peers = crowd(1_000);
        let untagged = peers_json(&peers).len();
        let tags = crate::plaza::tags::tests::at_the_limit();
        for peer in &mut peers {
            peer.tags = tags.clone();
        }
        let tagged = peers_json(&peers).len();
        // The tags object as JSON, less the `{}` an untagged nara writes: the bound a
        // list grows by per nara (the Performance chapter's 14 MB at 10,000).
        let per_nara = (tagged - untagged) / peers.len();
        assert!(per_nara < crate::plaza::tags::MAX_JSON_BYTES, "{per_nara} bytes a nara");
        assert!(
            per_nara > crate::plaza::tags::MAX_JSON_BYTES - 64,
            "{per_nara} bytes a nara"
        );
    }

    #[tokio::test]
    async fn the_list_serialized_in_turns_is_the_same_json() {
        for count in [0, 1, PEERS_PER_LOOK, 1000] {
            let peers = crowd(count);
            assert_eq!(
                peers_json_yielding(&peers, 0).await,
                peers_json(&peers),
                "{count} peers"
            );
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn other_tasks_run_while_a_large_list_is_serialized() {
        let peers = crowd(5_000);
        let other_ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = other_ran.clone();
        let other = tokio::spawn(async move { flag.store(true, std::sync::atomic::Ordering::SeqCst) });
        let json = peers_json_yielding(&peers, 0).await;
        assert!(
            other.is_finished(),
            "a task that was ready ran before {} bytes were through",
            json.len()
        );
        assert!(other_ran.load(std::sync::atomic::Ordering::SeqCst));
    }
}
