//! The view of the plaza: every nara heard from, with its status, built from verified
//! messages. ONLINE on any valid message, OFFLINE on `chau`, MISSING after a silence.
//!
//! It also holds the history single messages cannot prove: the key first seen for
//! each name (trust on first use) and the newest timestamp accepted from it.

use super::message::{Kind, Message, Rejection};
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// Where a nara stands, as the plaza sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Heard from recently.
    Online,
    /// Said chau.
    Offline,
    /// Silent for longer than `--plaza-missing-after`.
    Missing,
}

/// One nara as this nara sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Peer {
    /// Its name.
    pub name: String,
    /// Its nara ID.
    pub id: String,
    /// Its public key, Base58.
    pub public_key: String,
    /// Where it stands.
    pub status: Status,
    /// The version it runs.
    pub version: String,
    /// The git revision it runs.
    pub revision: String,
    /// Its uptime in seconds, as it last said.
    pub uptime_s: u64,
    /// When this nara first heard from it.
    #[serde(serialize_with = "rfc3339")]
    pub first_seen: SystemTime,
    /// When this nara last heard from it.
    #[serde(serialize_with = "rfc3339")]
    pub last_seen: SystemTime,
    /// This nara itself.
    #[serde(rename = "self")]
    pub is_self: bool,
}

fn rfc3339<S: serde::Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_rfc3339_seconds(*time))
}

/// A change in the view, as `/api/events` streams it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: ChangeKind,
    /// The nara as it is now.
    pub peer: Peer,
}

/// The kind of a change, as `/api/events` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// First heard from.
    Join,
    /// Back online, or another version or revision.
    Change,
    /// OFFLINE (said chau) or MISSING (went silent).
    Leave,
    /// Gone from the view: gone too long, or the longest silent when the view was full.
    Forget,
}

impl ChangeKind {
    /// The name it goes by on the wire (the SSE event name, the JSON `type`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Join => "join",
            ChangeKind::Change => "change",
            ChangeKind::Leave => "leave",
            ChangeKind::Forget => "forget",
        }
    }
}

/// Peers by status, for `/api/status` and the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// ONLINE naras.
    pub online: usize,
    /// OFFLINE naras.
    pub offline: usize,
    /// MISSING naras.
    pub missing: usize,
}

impl Counts {
    fn of(&mut self, status: Status) -> &mut usize {
        match status {
            Status::Online => &mut self.online,
            Status::Offline => &mut self.offline,
            Status::Missing => &mut self.missing,
        }
    }

    /// One nara moved from `from` (None: newly heard from) to `to`; from `to` to
    /// itself is no change.
    fn moved(&mut self, from: Option<Status>, to: Status) {
        if let Some(from) = from {
            *self.of(from) -= 1;
        }
        *self.of(to) += 1;
    }

    /// One nara left the view.
    fn removed(&mut self, status: Status) {
        *self.of(status) -= 1;
    }
}

/// Sets a known peer's status, keeping the counts in step.
fn set_status(counts: &mut Counts, peer: &mut Peer, to: Status) {
    counts.moved(Some(peer.status), to);
    peer.status = to;
}

/// How long naras stay in the view, and how many it holds: anyone may publish on a
/// shared broker, so neither may grow without end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Silence after which an ONLINE nara is MISSING.
    pub missing_after: Duration,
    /// How long an OFFLINE or MISSING nara stays before it is forgotten, and its key
    /// with it.
    pub forget_after: Duration,
    /// The most naras the view holds, this one included; a new one then takes the
    /// place of the longest silent.
    pub max_peers: usize,
}

/// The peer view: every nara heard from, within [`Limits`], with counts kept in step.
pub struct Projection {
    peers: HashMap<String, Peer>,
    newest: HashMap<String, u64>,
    /// Kept in step with `peers` on every status change, so reading them is O(1)
    /// however large the plaza is.
    counts: Counts,
    limits: Limits,
    /// Naras forgotten to make room, not yet announced.
    forgotten: Vec<Change>,
}

impl Projection {
    /// A view that already holds this nara, ONLINE.
    pub fn new(own: Peer, limits: Limits) -> Self {
        let mut counts = Counts::default();
        counts.moved(None, own.status);
        let mut peers = HashMap::new();
        peers.insert(own.name.clone(), own);
        Projection {
            peers,
            newest: HashMap::new(),
            counts,
            limits,
            forgotten: Vec::new(),
        }
    }

    /// Removes `name` from the view (its key pin and replay mark with it).
    fn forget(&mut self, name: &str) -> Option<Change> {
        let peer = self.peers.remove(name)?;
        self.newest.remove(name);
        self.counts.removed(peer.status);
        Some(Change {
            kind: ChangeKind::Forget,
            peer,
        })
    }

    /// Makes room for one more nara by forgetting the longest silent other one.
    fn make_room(&mut self) {
        while self.peers.len() >= self.limits.max_peers.max(2) {
            let longest_silent = self
                .peers
                .values()
                .filter(|p| !p.is_self)
                .min_by_key(|p| p.last_seen)
                .map(|p| p.name.clone());
            match longest_silent.and_then(|name| self.forget(&name)) {
                Some(change) => self.forgotten.push(change),
                None => break,
            }
        }
    }

    /// The naras forgotten to make room since the last call, for announcing.
    pub fn take_forgotten(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.forgotten)
    }

    /// Applies a message that passed [`Message::decode`]. Returns the change it made,
    /// if any, or why it was refused.
    pub fn apply(&mut self, message: &Message, now: SystemTime) -> Result<Option<Change>, Rejection> {
        if let Some(known) = self.peers.get(&message.name)
            && known.public_key != message.public_key
        {
            return Err(Rejection::KeyMismatch);
        }
        if self
            .newest
            .get(&message.name)
            .is_some_and(|&newest| message.timestamp < newest)
        {
            return Err(Rejection::Replayed);
        }
        self.newest.insert(message.name.clone(), message.timestamp);

        let status = if message.kind == Kind::Chau {
            Status::Offline
        } else {
            Status::Online
        };
        if !self.peers.contains_key(&message.name) {
            self.make_room();
        }
        let Some(peer) = self.peers.get_mut(&message.name) else {
            let peer = Peer {
                name: message.name.clone(),
                id: message.id.clone(),
                public_key: message.public_key.clone(),
                status,
                version: message.version.clone(),
                revision: message.revision.clone(),
                uptime_s: message.uptime_s,
                first_seen: now,
                last_seen: now,
                is_self: false,
            };
            self.peers.insert(peer.name.clone(), peer.clone());
            self.counts.moved(None, status);
            return Ok(Some(Change {
                kind: ChangeKind::Join,
                peer,
            }));
        };

        let changed = peer.status != status || peer.version != message.version || peer.revision != message.revision;
        set_status(
            &mut self.counts,
            peer,
            if peer.is_self { Status::Online } else { status },
        );
        peer.id.clone_from(&message.id);
        peer.version.clone_from(&message.version);
        peer.revision.clone_from(&message.revision);
        peer.uptime_s = message.uptime_s;
        peer.last_seen = now;
        Ok(changed.then(|| Change {
            kind: if peer.status == Status::Online {
                ChangeKind::Change
            } else {
                ChangeKind::Leave
            },
            peer: peer.clone(),
        }))
    }

    /// Marks ONLINE naras silent for longer than the missing timeout as MISSING, and
    /// forgets OFFLINE and MISSING ones silent for longer than the forget timeout.
    pub fn sweep(&mut self, now: SystemTime) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut stale = Vec::new();
        for peer in self.peers.values_mut() {
            let silent = now.duration_since(peer.last_seen).unwrap_or_default();
            if peer.is_self {
                continue;
            }
            if peer.status == Status::Online && silent > self.limits.missing_after {
                set_status(&mut self.counts, peer, Status::Missing);
                changes.push(Change {
                    kind: ChangeKind::Leave,
                    peer: peer.clone(),
                });
            } else if peer.status != Status::Online && silent > self.limits.forget_after {
                stale.push(peer.name.clone());
            }
        }
        changes.extend(stale.iter().filter_map(|name| self.forget(name)));
        changes
    }

    /// Marks this nara as seen now (it is in its own view whether or not a broker
    /// echoes its messages back).
    pub fn touch_self(&mut self, name: &str, uptime_s: u64, now: SystemTime) {
        if let Some(own) = self.peers.get_mut(name) {
            own.last_seen = now;
            own.uptime_s = uptime_s;
        }
    }

    /// Every known nara, by name.
    pub fn snapshot(&self) -> Vec<Peer> {
        let mut peers: Vec<Peer> = self.peers.values().cloned().collect();
        peers.sort_by(|a, b| a.name.cmp(&b.name));
        peers
    }

    /// Naras by status.
    pub fn counts(&self) -> Counts {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    fn own() -> Peer {
        Peer {
            name: "me".into(),
            id: "id-me".into(),
            public_key: "key-me".into(),
            status: Status::Online,
            version: "0.1.0".into(),
            revision: "r".into(),
            uptime_s: 0,
            first_seen: t(0),
            last_seen: t(0),
            is_self: true,
        }
    }

    fn msg(name: &str, key: &str, kind: Kind, timestamp: u64, version: &str) -> Message {
        Message {
            kind,
            name: name.into(),
            id: format!("id-{name}"),
            public_key: key.into(),
            version: version.into(),
            revision: "r".into(),
            timestamp,
            uptime_s: 1,
        }
    }

    const LIMITS: Limits = Limits {
        missing_after: Duration::from_secs(300),
        forget_after: Duration::from_secs(3600),
        max_peers: 10_000,
    };

    fn projection() -> Projection {
        Projection::new(own(), LIMITS)
    }

    #[test]
    fn a_full_view_forgets_the_longest_silent_nara_to_take_a_new_one() {
        let mut view = Projection::new(own(), Limits { max_peers: 3, ..LIMITS });
        view.apply(&msg("b", "kb", Kind::HeyThere, 10, "0.1.0"), t(10)).unwrap();
        view.apply(&msg("c", "kc", Kind::HeyThere, 20, "0.1.0"), t(20)).unwrap();
        view.apply(&msg("b", "kb", Kind::Newspaper, 30, "0.1.0"), t(30))
            .unwrap();
        assert!(view.take_forgotten().is_empty());
        view.apply(&msg("d", "kd", Kind::HeyThere, 40, "0.1.0"), t(40)).unwrap();
        let forgotten = view.take_forgotten();
        assert_eq!(forgotten.len(), 1);
        assert_eq!(
            (forgotten[0].kind, forgotten[0].peer.name.as_str()),
            (ChangeKind::Forget, "c")
        );
        let names: Vec<String> = view.snapshot().into_iter().map(|p| p.name).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.contains(&"me".to_string()), "this nara is never forgotten");
        assert_eq!(view.counts(), recount(&view));
        // A forgotten nara's key is forgotten too: it may come back with another.
        view.apply(&msg("c", "another-key", Kind::HeyThere, 50, "0.1.0"), t(50))
            .unwrap();
    }

    #[test]
    fn offline_and_missing_naras_are_forgotten_after_the_forget_timeout() {
        let mut view = projection();
        view.apply(&msg("b", "kb", Kind::HeyThere, 10, "0.1.0"), t(10)).unwrap();
        view.apply(&msg("c", "kc", Kind::HeyThere, 10, "0.1.0"), t(10)).unwrap();
        view.apply(&msg("c", "kc", Kind::Chau, 11, "0.1.0"), t(11)).unwrap();
        assert_eq!(view.sweep(t(400)).len(), 1, "b goes MISSING");
        let forgotten = view.sweep(t(3700));
        let mut names: Vec<&str> = forgotten.iter().map(|c| c.peer.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["b", "c"]);
        assert!(forgotten.iter().all(|c| c.kind == ChangeKind::Forget));
        assert_eq!(view.snapshot().len(), 1);
        assert_eq!(view.counts(), recount(&view));
    }

    #[test]
    fn a_new_nara_joins_online_and_chau_makes_it_offline() {
        let mut view = projection();
        let joined = view
            .apply(&msg("b", "kb", Kind::HeyThere, 10, "0.1.0"), t(10))
            .unwrap()
            .unwrap();
        assert_eq!((joined.kind, joined.peer.status), (ChangeKind::Join, Status::Online));
        assert_eq!(
            view.apply(&msg("b", "kb", Kind::Newspaper, 20, "0.1.0"), t(20))
                .unwrap(),
            None
        );
        let left = view
            .apply(&msg("b", "kb", Kind::Chau, 30, "0.1.0"), t(30))
            .unwrap()
            .unwrap();
        assert_eq!((left.kind, left.peer.status), (ChangeKind::Leave, Status::Offline));
        assert_eq!(
            view.counts(),
            Counts {
                online: 1,
                offline: 1,
                missing: 0
            }
        );
    }

    /// Counts by walking every peer, as the kept counts must always agree.
    fn recount(view: &Projection) -> Counts {
        let mut counts = Counts::default();
        for peer in view.snapshot() {
            counts.moved(None, peer.status);
        }
        counts
    }

    #[test]
    fn kept_counts_agree_with_the_peers_through_every_kind_of_change() {
        let mut view = projection();
        let mut clock = 10;
        for round in 0..3u64 {
            for (i, name) in ["b", "c", "d", "e"].into_iter().enumerate() {
                clock += 1;
                let kind = if (i as u64 + round).is_multiple_of(3) {
                    Kind::Chau
                } else {
                    Kind::HeyThere
                };
                let _ = view.apply(&msg(name, &format!("k{name}"), kind, clock, "0.1.0"), t(clock));
                assert_eq!(view.counts(), recount(&view), "after {name} in round {round}");
            }
            // This nara's own chau echoed back does not take it offline.
            let _ = view.apply(&msg("me", "key-me", Kind::Chau, clock, "0.1.0"), t(clock));
            clock += 400;
            view.sweep(t(clock));
            assert_eq!(view.counts(), recount(&view), "after the sweep in round {round}");
        }
        // A refused message changes nothing.
        let _ = view.apply(&msg("b", "forged", Kind::HeyThere, clock, "0.1.0"), t(clock));
        assert_eq!(view.counts(), recount(&view));
        assert_eq!(
            view.counts().online,
            1,
            "only this nara is left online: {:?}",
            view.counts()
        );
    }

    #[test]
    fn change_kinds_are_named_as_serde_writes_them() {
        for kind in [
            ChangeKind::Join,
            ChangeKind::Change,
            ChangeKind::Leave,
            ChangeKind::Forget,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn a_new_version_is_a_change() {
        let mut view = projection();
        view.apply(&msg("b", "kb", Kind::HeyThere, 10, "0.1.0"), t(10)).unwrap();
        let upgraded = view
            .apply(&msg("b", "kb", Kind::HeyThere, 20, "0.2.0"), t(20))
            .unwrap()
            .unwrap();
        assert_eq!(upgraded.kind, ChangeKind::Change);
        assert_eq!(upgraded.peer.version, "0.2.0");
    }

    #[test]
    fn silence_beyond_the_timeout_makes_a_nara_missing_but_never_this_one() {
        let mut view = projection();
        view.apply(&msg("b", "kb", Kind::HeyThere, 10, "0.1.0"), t(10)).unwrap();
        assert!(view.sweep(t(300)).is_empty());
        let changes = view.sweep(t(311));
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].peer.name.as_str(), changes[0].peer.status),
            ("b", Status::Missing)
        );
        assert!(view.sweep(t(400)).is_empty(), "reported once");
        let back = view
            .apply(&msg("b", "kb", Kind::Newspaper, 401, "0.1.0"), t(401))
            .unwrap()
            .unwrap();
        assert_eq!((back.kind, back.peer.status), (ChangeKind::Change, Status::Online));
    }

    #[test]
    fn a_name_seen_with_one_key_refuses_another() {
        let mut view = projection();
        view.apply(&msg("b", "kb", Kind::HeyThere, 10, "0.1.0"), t(10)).unwrap();
        assert_eq!(
            view.apply(&msg("b", "stolen", Kind::HeyThere, 11, "6.6.6"), t(11)),
            Err(Rejection::KeyMismatch)
        );
        assert_eq!(
            view.apply(&msg("me", "stolen", Kind::Chau, 11, "0.1.0"), t(11)),
            Err(Rejection::KeyMismatch),
            "nobody else may speak for this nara"
        );
        assert_eq!(view.snapshot().iter().find(|p| p.name == "b").unwrap().version, "0.1.0");
    }

    #[test]
    fn a_message_older_than_one_accepted_is_a_replay() {
        let mut view = projection();
        view.apply(&msg("b", "kb", Kind::Newspaper, 20, "0.1.0"), t(20))
            .unwrap();
        assert_eq!(
            view.apply(&msg("b", "kb", Kind::Chau, 19, "0.1.0"), t(21)),
            Err(Rejection::Replayed)
        );
        assert!(
            view.apply(&msg("b", "kb", Kind::Newspaper, 20, "0.1.0"), t(21)).is_ok(),
            "same second is fine"
        );
    }

    #[test]
    fn snapshot_is_ordered_by_name() {
        let mut view = projection();
        view.apply(&msg("a", "ka", Kind::HeyThere, 10, "0.1.0"), t(10)).unwrap();
        let names: Vec<String> = view.snapshot().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["a", "me"]);
    }
}
