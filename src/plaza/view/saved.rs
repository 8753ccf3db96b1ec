//! The view as the state directory keeps it: every entry's key pin, replay anchors
//! (its [`Freshness`]), first and last heard, version history and restarts, and the
//! pins of the naras a full view forgot. [`View::saved`] takes a copy under the view's
//! lock; [`View::restore`] puts one back into a fresh view before the plaza is heard.
//! Suspicions are not kept: they are seconds long, and a will heard again is judged
//! again.
//!
//! Each entry is bounded in bytes ([`ENTRY_MAX_BYTES`]), so that the file is bounded by
//! the view's entry limit: an entry whose texts (version, revision, URL, history, all
//! of which a newspaper sets) would pass the bound is kept without them, its pin and
//! anchors whole, and one whose name or key alone would (no nara's is that long) is not
//! kept.

use super::{Departed, Peer, Status, VERSION_HISTORY, VersionChange, View};
use crate::plaza::freshness::Freshness;
use crate::plaza::restarts::{KeptRestarts, Restarts};
use crate::plaza::tags::Tags;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The most bytes one entry takes in the file, as JSON.
pub(crate) const ENTRY_MAX_BYTES: usize = 2048;

/// One nara of the view, as kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SavedPeer {
    name: String,
    key: String,
    #[serde(default)]
    id: String,
    status: Status,
    #[serde(default)]
    version: String,
    #[serde(default)]
    revision: String,
    #[serde(default)]
    url: Option<String>,
    /// Its signed tags, checked against the limits again when restored.
    #[serde(default)]
    tags: BTreeMap<String, String>,
    /// Version changes, oldest first: from, to, when (Unix ms).
    #[serde(default)]
    history: Vec<(String, String, u64)>,
    #[serde(default)]
    uptime_s: u64,
    first_ms: u64,
    last_ms: u64,
    #[serde(default, rename = "self")]
    is_self: bool,
    #[serde(default)]
    restarts: KeptRestarts,
    /// `None` for this nara itself, whose own words the view does not judge.
    #[serde(default)]
    fresh: Option<Freshness>,
}

/// The pin and history of a nara a full view forgot (see [`Departed`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SavedDeparted {
    name: String,
    key: String,
    fresh: Freshness,
    first_ms: u64,
    last_ms: u64,
}

/// What [`View::saved`] copies out.
#[derive(Clone, Debug, Default)]
pub(crate) struct SavedView {
    pub(crate) peers: Vec<SavedPeer>,
    pub(crate) departed: Vec<SavedDeparted>,
}

/// What [`View::restore`] put back, for the log line that says so.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Restored {
    /// Naras back in the view.
    pub(crate) peers: usize,
    /// Pins back among those of forgotten naras (including any the view had no room
    /// for, when `--plaza-max-peers` is lower than when they were saved).
    pub(crate) pins: usize,
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

impl SavedPeer {
    fn of(peer: &Peer, fresh: Option<Freshness>) -> SavedPeer {
        SavedPeer {
            name: peer.name.clone(),
            key: peer.public_key.clone(),
            id: peer.id.clone(),
            status: peer.status,
            version: peer.version.clone(),
            revision: peer.revision.clone(),
            url: peer.public_url.clone(),
            tags: peer.tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            history: peer
                .version_history
                .iter()
                .map(|c| (c.from.clone(), c.to.clone(), unix_ms(c.at)))
                .collect(),
            uptime_s: peer.uptime_s,
            first_ms: unix_ms(peer.first_seen),
            last_ms: unix_ms(peer.last_seen),
            is_self: peer.is_self,
            restarts: peer.restarts.kept(),
            fresh,
        }
    }

    /// The same entry without what a newspaper writes freely: its pin, anchors, times
    /// and restarts stay.
    fn without_texts(&self) -> SavedPeer {
        SavedPeer {
            id: String::new(),
            version: String::new(),
            revision: String::new(),
            url: None,
            tags: BTreeMap::new(),
            history: Vec::new(),
            ..self.clone()
        }
    }

    fn into_peer(self, now: SystemTime) -> Peer {
        Peer {
            name: self.name,
            id: self.id,
            public_key: self.key,
            // A suspicion is not kept: the nara is around until a will or the silence
            // rule says otherwise.
            status: if self.status == Status::Suspect {
                Status::Online
            } else {
                self.status
            },
            version: self.version,
            revision: self.revision,
            public_url: self.url,
            // A file edited by hand may hold what no newspaper could: then none.
            tags: Tags::new(self.tags).unwrap_or_default(),
            // Not kept: a health is one interval old at most, and the next newspaper (or
            // the broker's retained one) brings it.
            host: Default::default(),
            version_history: self
                .history
                .into_iter()
                .rev()
                .take(VERSION_HISTORY)
                .rev()
                .map(|(from, to, at)| VersionChange {
                    from,
                    to,
                    at: from_ms(at),
                })
                .collect(),
            uptime_s: self.uptime_s,
            first_seen: from_ms(self.first_ms),
            last_seen: from_ms(self.last_ms),
            is_self: false,
            restarts: Restarts::from_kept(self.restarts, now),
        }
    }
}

/// `entry` as JSON within [`ENTRY_MAX_BYTES`], or `None` if even its pin is longer.
pub(crate) fn encode_peer(entry: &SavedPeer) -> Option<String> {
    let fits = |text: String| (text.len() <= ENTRY_MAX_BYTES).then_some(text);
    serde_json::to_string(entry)
        .ok()
        .and_then(fits)
        .or_else(|| serde_json::to_string(&entry.without_texts()).ok().and_then(fits))
}

/// `entry` as JSON within [`ENTRY_MAX_BYTES`], or `None` if it is longer.
pub(crate) fn encode_departed(entry: &SavedDeparted) -> Option<String> {
    serde_json::to_string(entry)
        .ok()
        .filter(|text| text.len() <= ENTRY_MAX_BYTES)
}

impl View {
    /// A copy of all that the state directory keeps.
    pub(crate) fn saved(&self) -> SavedView {
        SavedView {
            peers: self
                .peers
                .values()
                .map(|peer| SavedPeer::of(peer, self.freshness.get(&peer.name).copied()))
                .collect(),
            departed: self
                .departed
                .iter()
                .map(|(name, d)| SavedDeparted {
                    name: name.clone(),
                    key: d.public_key.clone(),
                    fresh: d.freshness,
                    first_ms: unix_ms(d.first_heard),
                    last_ms: unix_ms(d.last_heard),
                })
                .collect(),
        }
    }

    /// Puts back what [`View::saved`] kept, into a view that holds only this nara, at
    /// `now`. This nara's own entry keeps its first seen and its version history, to
    /// which a new version since adds a change. The most recently heard naras fill the
    /// view up to its limit; the pins of the others join those of forgotten naras.
    /// Announces nothing: none of it is news.
    pub(crate) fn restore(&mut self, saved: SavedView, now: SystemTime) -> Restored {
        let mut restored = Restored::default();
        let mut peers = saved.peers;
        if let Some(at) = peers.iter().position(|p| p.is_self) {
            let kept = peers.swap_remove(at);
            if let Some(own) = self.peers.values_mut().find(|p| p.is_self && p.name == kept.name) {
                let version = own.version.clone();
                let before = kept.into_peer(now);
                own.first_seen = before.first_seen;
                own.version_history = before.version_history;
                if !before.version.is_empty() && before.version != version {
                    if own.version_history.len() == VERSION_HISTORY {
                        own.version_history.remove(0);
                    }
                    own.version_history.push(VersionChange {
                        from: before.version,
                        to: version,
                        at: now,
                    });
                }
            }
        }
        // The most recently heard first: they take the places a lower limit leaves.
        peers.sort_by_key(|p| std::cmp::Reverse(p.last_ms));
        for kept in peers {
            if self.peers.contains_key(&kept.name) {
                continue;
            }
            let fresh = kept.fresh.unwrap_or_default();
            let peer = kept.into_peer(now);
            if self.peers.len() >= self.limits.max_peers.max(2) {
                if fresh.carried_newspaper() {
                    self.keep_pin(
                        peer.name.clone(),
                        Departed {
                            public_key: peer.public_key,
                            freshness: fresh,
                            first_heard: peer.first_seen,
                            last_heard: peer.last_seen,
                        },
                    );
                }
                continue;
            }
            if !fresh.carried_newspaper() {
                self.queue_announced(&peer.name);
            }
            self.freshness.insert(peer.name.clone(), fresh);
            self.counts.moved(None, peer.status);
            self.peers.insert(peer.name.clone(), peer);
            restored.peers += 1;
        }
        for kept in saved.departed {
            if self.peers.contains_key(&kept.name) || self.departed.contains_key(&kept.name) {
                continue;
            }
            self.keep_pin(
                kept.name,
                Departed {
                    public_key: kept.key,
                    freshness: kept.fresh,
                    first_heard: from_ms(kept.first_ms),
                    last_heard: from_ms(kept.last_ms),
                },
            );
        }
        restored.pins = self.departed.len();
        restored
    }
}

#[cfg(test)]
mod tests {
    use super::super::Limits;
    use super::super::tests::{LIMITS, chau, hey, own, paper, recount, t};
    use super::*;
    use crate::plaza::message::{Body, Rejection};

    /// What a file would carry: each entry through JSON and back.
    fn through_json(saved: SavedView) -> SavedView {
        SavedView {
            peers: saved
                .peers
                .iter()
                .map(|p| serde_json::from_str(&encode_peer(p).unwrap()).unwrap())
                .collect(),
            departed: saved
                .departed
                .iter()
                .map(|d| serde_json::from_str(&encode_departed(d).unwrap()).unwrap())
                .collect(),
        }
    }

    #[test]
    fn a_restored_view_holds_what_the_saved_one_knew_and_refuses_what_it_refused() {
        let mut view = View::new(own(), Limits { max_peers: 3, ..LIMITS });
        view.apply(&paper("b", "kb", 1000, "1.0.0"), t(10)).unwrap();
        view.apply(&paper("b", "kb", 1100, "1.1.0"), t(110)).unwrap();
        view.apply(&paper("c", "kc", 1000, "1.0.0"), t(10)).unwrap();
        view.apply(&chau("c", "kc", 20), t(20)).unwrap();
        // d takes c's place; c's pin moves to the departed.
        view.apply(&paper("d", "kd", 1000, "1.0.0"), t(120)).unwrap();
        assert_eq!(view.departed.len(), 1);
        let mut again = View::new(own(), Limits { max_peers: 3, ..LIMITS });
        let restored = again.restore(through_json(view.saved()), t(200));
        assert_eq!(restored, Restored { peers: 2, pins: 1 });
        assert_eq!(again.snapshot(), view.snapshot());
        assert_eq!(again.counts(), recount(&again));
        assert_eq!(again.freshness, view.freshness);
        assert_eq!(
            again.apply(&hey("b", "k-thief", 201), t(201)),
            Err(Rejection::KeyMismatch)
        );
        assert_eq!(
            again.apply(&hey("c", "k-thief", 201), t(201)),
            Err(Rejection::KeyMismatch),
            "the pin of a forgotten nara too"
        );
        // A recording of b's first newspaper: a view without b's anchors takes it.
        let recording = paper("b", "kb", 1000, "1.0.0");
        assert!(View::new(own(), LIMITS).apply(&recording, t(200)).is_ok());
        assert_eq!(again.apply(&recording, t(200)), Err(Rejection::Stale));
    }

    #[test]
    fn a_restored_nara_keeps_its_tags() {
        let mut view = View::new(own(), LIMITS);
        let mut message = paper("b", "kb", 1000, "1.0.0");
        if let Body::Newspaper(story) = &mut message.body {
            story.tags = Tags::parse(["site=lisbon", "ephemeral=true"]).unwrap();
        }
        view.apply(&message, t(10)).unwrap();
        let mut again = View::new(own(), LIMITS);
        again.restore(through_json(view.saved()), t(20));
        let tags = &again.peers["b"].tags;
        assert_eq!((tags.get("site"), tags.is_ephemeral()), (Some("lisbon"), true));
    }

    #[test]
    fn this_naras_own_entry_keeps_its_first_seen_and_records_its_new_version() {
        let view = View::new(own(), LIMITS);
        let mut upgraded_own = own();
        upgraded_own.version = "0.2.0".into();
        upgraded_own.first_seen = t(500);
        let mut again = View::new(upgraded_own, LIMITS);
        again.restore(through_json(view.saved()), t(600));
        let me = again.peer("me").unwrap();
        assert_eq!(me.first_seen, t(0));
        assert_eq!(
            me.version_history,
            [VersionChange {
                from: "0.1.0".into(),
                to: "0.2.0".into(),
                at: t(600)
            }]
        );
    }

    #[test]
    fn a_lower_limit_keeps_the_most_recently_heard_and_the_pins_of_the_others() {
        let mut view = View::new(
            own(),
            Limits {
                max_peers: 10,
                ..LIMITS
            },
        );
        for i in 0..5u64 {
            view.apply(&paper(&format!("n{i}"), &format!("k{i}"), 1000, "1.0.0"), t(10 + i))
                .unwrap();
        }
        let mut again = View::new(own(), Limits { max_peers: 3, ..LIMITS });
        let restored = again.restore(view.saved(), t(100));
        assert_eq!(restored, Restored { peers: 2, pins: 3 });
        let names: Vec<String> = again.snapshot().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["me", "n3", "n4"]);
        assert_eq!(
            again.apply(&hey("n0", "k-thief", 101), t(101)),
            Err(Rejection::KeyMismatch)
        );
    }

    #[test]
    fn an_entry_past_the_byte_bound_keeps_its_pin_without_its_texts() {
        let mut view = lone();
        let long = "9".repeat(ENTRY_MAX_BYTES);
        view.apply(&paper("b", "kb", 1000, &long), t(10)).unwrap();
        let saved = view.saved();
        let b = saved.peers.iter().find(|p| p.name == "b").unwrap();
        let text = encode_peer(b).unwrap();
        assert!(text.len() <= ENTRY_MAX_BYTES);
        let back: SavedPeer = serde_json::from_str(&text).unwrap();
        assert_eq!((back.key.as_str(), back.version.as_str()), ("kb", ""));
        assert_eq!(back.fresh, b.fresh);
        let mut nameless = b.clone();
        nameless.name = "n".repeat(ENTRY_MAX_BYTES);
        assert_eq!(encode_peer(&nameless), None);
    }

    fn lone() -> View {
        View::new(own(), LIMITS)
    }
}
