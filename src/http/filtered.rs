//! What filtered peer lists may cost. `/api/peers` alone is one list shared by every
//! reader; `/api/peers?status=…&version=…` is serialized for its request alone, so a
//! stream of them, from clients that never read their answers, would make nara hold one
//! list per client (2.7 MB each at 10,000 naras). So the lists built and not yet handed
//! to their connections are counted, in bytes and in lists: past either bound a request
//! is refused (503 with `Retry-After`) before anything is serialized for it (also when
//! [`MAX_BUILDING`] lists are being built), and the
//! lists that waited longer than [`STALL`] for their clients have their connections
//! closed, so clients that stop reading cannot keep the budget for themselves.

use crate::http::hangup::Hangup;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The bytes of filtered lists nara holds for their connections at once (the lists
/// being built come on top, one per request in progress).
pub(crate) const BUDGET_BYTES: usize = 8 * 1024 * 1024;
/// The filtered lists held or being built at once.
pub(crate) const MAX_LISTS: usize = 64;
/// The filtered lists being built at once. A build runs on a runtime thread, so the
/// threads bound it too, but there is one per core of the host, which a container's
/// memory limit does not follow: a list of 10,000 naras with their tags at the limit
/// takes 14 MB, so 64 cores building at once would take 900 MB.
pub(crate) const MAX_BUILDING: usize = 2;
/// How long a built list may wait for its connection to take it before that connection
/// is closed, when another request needs the room.
pub(crate) const STALL: Duration = Duration::from_secs(30);
/// How long a refused client is asked to wait: a list is handed over within
/// milliseconds to a client that reads.
pub(crate) const RETRY_AFTER_S: u64 = 1;

/// The filtered lists held for their connections, within their bounds.
#[derive(Clone, Debug)]
pub(crate) struct FilteredLists(Arc<Lists>);

#[derive(Debug)]
struct Lists {
    budget_bytes: usize,
    max_lists: usize,
    max_building: usize,
    stall: Duration,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    bytes: usize,
    lists: HashMap<u64, Holding>,
    next: u64,
}

/// One list being built or held.
#[derive(Debug)]
struct Holding {
    bytes: usize,
    /// Admitted, its list not yet built.
    building: bool,
    since: Instant,
    /// Closes the connection it waits for; `None` outside a server (unit tests).
    hangup: Option<Hangup>,
    hung_up: bool,
}

/// Why a list was refused: which bound was reached.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused(pub(crate) String);

impl FilteredLists {
    /// The bounds nara serves with.
    pub(crate) fn new() -> FilteredLists {
        FilteredLists::with_bounds(BUDGET_BYTES, MAX_LISTS, STALL)
    }

    fn with_bounds(budget_bytes: usize, max_lists: usize, stall: Duration) -> FilteredLists {
        FilteredLists(Arc::new(Lists {
            budget_bytes,
            max_lists,
            max_building: MAX_BUILDING,
            stall,
            held: Mutex::new(Held::default()),
        }))
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        self.0.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place for one more list, whose connection `hangup` closes; or, past a bound,
    /// why not. A refusal also closes the connections of lists that waited longer than
    /// the stall limit, which frees their room within moments for the next request.
    pub(crate) fn admit(&self, hangup: Option<Hangup>) -> Result<Place, Refused> {
        let mut held = self.held();
        let refused = if held.bytes >= self.0.budget_bytes {
            Some(format!(
                "nara holds {} KiB of filtered lists not yet taken by their clients, the most it holds ({} KiB)",
                held.bytes / 1024,
                self.0.budget_bytes / 1024
            ))
        } else if held.lists.len() >= self.0.max_lists {
            Some(format!(
                "{} filtered lists are being built or sent, the most nara serves at once",
                held.lists.len()
            ))
        } else if held.lists.values().filter(|list| list.building).count() >= self.0.max_building {
            Some(format!(
                "{} filtered lists are being built, the most nara builds at once",
                self.0.max_building
            ))
        } else {
            None
        };
        if let Some(refused) = refused {
            for holding in held.lists.values_mut() {
                if !holding.hung_up
                    && holding.bytes > 0
                    && holding.since.elapsed() >= self.0.stall
                    && let Some(hangup) = &holding.hangup
                {
                    hangup.request();
                    holding.hung_up = true;
                }
            }
            return Err(Refused(refused));
        }
        let id = held.next;
        held.next += 1;
        held.lists.insert(
            id,
            Holding {
                bytes: 0,
                building: true,
                since: Instant::now(),
                hangup,
                hung_up: false,
            },
        );
        Ok(Place {
            lists: self.clone(),
            id,
        })
    }

    /// The bytes held now.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.held().bytes
    }
}

/// One list's place among those held, given back when it is dropped: when the list's
/// last bytes went to the connection, or its connection closed.
#[derive(Debug)]
pub(crate) struct Place {
    lists: FilteredLists,
    id: u64,
}

impl Place {
    /// Holds `json`, the list built for this place, until the connection has taken all
    /// of it: the body's bytes own the place.
    pub(crate) fn hold(self, json: Vec<u8>) -> Bytes {
        {
            let mut held = self.lists.held();
            if let Some(holding) = held.lists.get_mut(&self.id) {
                holding.building = false;
                holding.bytes = json.len();
                holding.since = Instant::now();
            }
            held.bytes += json.len();
        }
        Bytes::from_owner(HeldList { json, _place: self })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut held = self.lists.held();
        if let Some(holding) = held.lists.remove(&self.id) {
            held.bytes -= holding.bytes;
        }
    }
}

/// A list and its place, released together.
struct HeldList {
    json: Vec<u8>,
    _place: Place,
}

impl AsRef<[u8]> for HeldList {
    fn as_ref(&self) -> &[u8] {
        &self.json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_more_lists_are_built_at_once_than_the_bound_however_many_may_be_held() {
        let lists = FilteredLists::with_bounds(1 << 20, 10, STALL);
        let building: Vec<Place> = (0..MAX_BUILDING).map(|_| lists.admit(None).unwrap()).collect();
        let refused = lists.admit(None).unwrap_err();
        assert!(
            refused.0.contains("being built, the most nara builds at once"),
            "{refused:?}"
        );
        let built: Vec<Bytes> = building.into_iter().map(|place| place.hold(vec![b'x'; 10])).collect();
        assert!(lists.admit(None).is_ok(), "built lists leave the builders' room");
        drop(built);
    }

    #[test]
    fn lists_are_counted_until_their_bytes_are_dropped_and_refused_past_the_budget() {
        let lists = FilteredLists::with_bounds(100, 10, STALL);
        let first = lists.admit(None).unwrap().hold(vec![b'x'; 60]);
        let second = lists.admit(None).unwrap().hold(vec![b'x'; 60]);
        assert_eq!(lists.bytes(), 120);
        let refused = lists.admit(None).unwrap_err();
        assert!(refused.0.contains("filtered lists not yet taken"), "{refused:?}");
        let shared = first.clone();
        drop(first);
        assert_eq!(lists.bytes(), 120, "a clone still holds the list");
        drop(shared);
        assert_eq!(lists.bytes(), 60);
        assert!(lists.admit(None).is_ok(), "room again");
        drop(second);
        assert_eq!(lists.bytes(), 0);
    }

    #[test]
    fn lists_being_built_count_against_the_most_at_once() {
        let lists = FilteredLists::with_bounds(1 << 20, 2, STALL);
        let building = [lists.admit(None).unwrap(), lists.admit(None).unwrap()];
        let refused = lists.admit(None).unwrap_err();
        assert!(refused.0.contains("2 filtered lists"), "{refused:?}");
        drop(building);
        assert!(lists.admit(None).is_ok(), "a place given back without a list frees it");
    }

    #[tokio::test]
    async fn a_list_not_taken_within_the_stall_limit_has_its_connection_closed() {
        let lists = FilteredLists::with_bounds(100, 10, Duration::ZERO);
        let hangup = Hangup::default();
        let held = lists.admit(Some(hangup.clone())).unwrap().hold(vec![b'x'; 100]);
        let refused = lists.admit(None);
        assert!(refused.is_err(), "the budget is still held until the connection goes");
        tokio::time::timeout(Duration::from_secs(5), hangup.requested())
            .await
            .expect("the stalled list's connection was asked to close");
        drop(held);
        assert!(lists.admit(None).is_ok());
    }
}
