//! The view of the plaza: every nara heard from, with its status, built from verified
//! messages. ONLINE on any valid message, OFFLINE on `chau`, MISSING after a silence.
//!
//! It also holds the history single messages cannot prove: the key first seen for
//! each name (trust on first use), the newest event accepted from it, and for
//! newspapers, which carry no timestamp, the boot time their host uptime implies
//! (`Freshness`).

use super::message::{Body, Message, Rejection, Story};
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
    /// Its nara ID, from its newspaper (empty until the first one: the ID in a
    /// hey_there is not signed).
    pub id: String,
    /// Its public key, standard Base64.
    pub public_key: String,
    /// Where it stands.
    pub status: Status,
    /// The version it runs, from its newspaper (empty until the first one).
    pub version: String,
    /// The git revision it runs, which only this nara's newspapers carry.
    pub revision: String,
    /// Where its web UI is, if its newspaper says.
    pub public_url: Option<String>,
    /// Its last version changes, oldest first (at most [`VERSION_HISTORY`]).
    pub version_history: Vec<VersionChange>,
    /// Its host's uptime in seconds, as its newspaper last said.
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

/// How many version changes each peer keeps.
pub const VERSION_HISTORY: usize = 8;

/// A nara's version, as its newspapers said it changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionChange {
    /// The version it ran.
    pub from: String,
    /// The version it runs now.
    pub to: String,
    /// When this nara heard the change.
    #[serde(serialize_with = "rfc3339")]
    pub at: SystemTime,
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
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// First heard from.
    Join,
    /// Back online, or another revision.
    Change,
    /// Another version: the last entry of its `version_history` says from what.
    VersionChanged,
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
            ChangeKind::VersionChanged => "version-changed",
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

/// Takes what a newspaper says into the peer, noting a version change at `now`.
fn read_story(peer: &mut Peer, story: &Story, now: SystemTime) {
    if !peer.version.is_empty() && !story.version.is_empty() && peer.version != story.version {
        if peer.version_history.len() == VERSION_HISTORY {
            peer.version_history.remove(0);
        }
        peer.version_history.push(VersionChange {
            from: peer.version.clone(),
            to: story.version.clone(),
            at: now,
        });
    }
    peer.id.clone_from(&story.id);
    peer.version.clone_from(&story.version);
    peer.revision = story.revision.clone().unwrap_or_default();
    peer.public_url.clone_from(&story.public_url);
    peer.uptime_s = story.host_uptime_s;
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
    /// How far a newspaper's implied boot time may stray from the one first seen.
    pub max_skew: Duration,
}

/// What has been accepted from one nara, to tell a fresh message from a replay.
///
/// Events carry a signed timestamp: each must be newer than the last. A newspaper
/// carries only its host's uptime, which implies a boot time (now minus uptime). The
/// first newspaper fixes it; later ones must imply the same boot time (within the
/// skew) and not a smaller uptime. So a newspaper recorded and replayed later implies
/// a later boot and is stale. A nara on a rebooted host, or moved to another, says
/// hey_there first (every nara does on start), and only then may a newspaper move the
/// boot time, to one before that hey_there. This nara's own newspapers carry a signed
/// time and are judged by it, as events are.
#[derive(Clone, Copy, Debug, Default)]
struct Freshness {
    newest_event_ns: u64,
    newest_paper_ns: u64,
    boot: Option<SystemTime>,
    newest_uptime_s: u64,
    hello: Option<SystemTime>,
}

/// `a` and `b` no more than `skew` apart.
fn within(a: SystemTime, b: SystemTime, skew: Duration) -> bool {
    a.duration_since(b).unwrap_or_else(|earlier| earlier.duration()) <= skew
}

impl Freshness {
    /// Accepts `body` as fresh at `now` and records it, or says why not.
    fn admit(&mut self, body: &Body, now: SystemTime, skew: Duration) -> Result<(), Rejection> {
        match body {
            Body::HeyThere { sent_ns } | Body::Chau { sent_ns } => {
                if *sent_ns <= self.newest_event_ns {
                    return Err(Rejection::Replayed);
                }
                self.newest_event_ns = *sent_ns;
                if matches!(body, Body::HeyThere { .. }) {
                    self.hello = Some(now);
                } else if let Some(boot) = self.boot {
                    // Whatever it said before leaving is older than this.
                    let up_at_chau = now.duration_since(boot).unwrap_or_default().as_secs();
                    self.newest_uptime_s = self.newest_uptime_s.max(up_at_chau);
                }
            }
            Body::Newspaper(Story {
                sent_ns: Some(sent_ns), ..
            }) => {
                // This nara's newspapers carry a signed time (checked against the skew
                // already): each must be newer than the last, whatever host sent it.
                if *sent_ns <= self.newest_paper_ns {
                    return Err(Rejection::Replayed);
                }
                self.newest_paper_ns = *sent_ns;
            }
            Body::Newspaper(story) => {
                let implied = now
                    .checked_sub(Duration::from_secs(story.host_uptime_s))
                    .ok_or(Rejection::Stale)?;
                match self.boot {
                    Some(boot) if within(implied, boot, skew) => {
                        if story.host_uptime_s < self.newest_uptime_s {
                            return Err(Rejection::Replayed);
                        }
                    }
                    Some(_) => {
                        // A boot after the hello that announced it is impossible. (Times
                        // beyond what the clock can hold count as after anything.)
                        let before_hello = self
                            .hello
                            .is_some_and(|hello| hello.checked_add(skew).is_none_or(|t| implied <= t));
                        if !before_hello {
                            return Err(Rejection::Stale);
                        }
                        self.boot = Some(implied);
                    }
                    None => self.boot = Some(implied),
                }
                self.newest_uptime_s = story.host_uptime_s;
                self.hello = None;
            }
        }
        Ok(())
    }
}

/// The peer view: every nara heard from, within [`Limits`], with counts kept in step.
pub struct Projection {
    peers: HashMap<String, Peer>,
    freshness: HashMap<String, Freshness>,
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
            freshness: HashMap::new(),
            counts,
            limits,
            forgotten: Vec::new(),
        }
    }

    /// Removes `name` from the view (its key pin and replay mark with it).
    fn forget(&mut self, name: &str) -> Option<Change> {
        let peer = self.peers.remove(name)?;
        self.freshness.remove(name);
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

    /// Applies a message that passed [`super::wire::decode`]. Returns the change it made,
    /// if any, or why it was refused.
    pub fn apply(&mut self, message: &Message, now: SystemTime) -> Result<Option<Change>, Rejection> {
        if let Some(known) = self.peers.get(&message.name) {
            if known.public_key != message.public_key {
                return Err(Rejection::KeyMismatch);
            }
            if known.is_self {
                // This nara's own words, echoed by the broker: it knows what it said.
                return Ok(None);
            }
        }
        // Judged on a copy, kept only if accepted: a refused message from a name never
        // seen leaves nothing behind.
        let mut freshness = self.freshness.get(&message.name).copied().unwrap_or_default();
        freshness.admit(&message.body, now, self.limits.max_skew)?;
        self.freshness.insert(message.name.clone(), freshness);

        let status = if matches!(message.body, Body::Chau { .. }) {
            Status::Offline
        } else {
            Status::Online
        };
        if !self.peers.contains_key(&message.name) {
            self.make_room();
        }
        let story = match &message.body {
            Body::Newspaper(story) => Some(story),
            _ => None,
        };
        let Some(peer) = self.peers.get_mut(&message.name) else {
            let mut peer = Peer {
                name: message.name.clone(),
                id: String::new(),
                public_key: message.public_key.clone(),
                status,
                version: String::new(),
                revision: String::new(),
                public_url: None,
                version_history: Vec::new(),
                uptime_s: 0,
                first_seen: now,
                last_seen: now,
                is_self: false,
            };
            if let Some(story) = story {
                read_story(&mut peer, story, now);
            }
            self.peers.insert(peer.name.clone(), peer.clone());
            self.counts.moved(None, status);
            return Ok(Some(Change {
                kind: ChangeKind::Join,
                peer,
            }));
        };

        let before = (peer.status, peer.version.clone(), peer.revision.clone());
        set_status(&mut self.counts, peer, status);
        if let Some(story) = story {
            read_story(peer, story, now);
        }
        peer.last_seen = now;
        let version_changed = !before.1.is_empty() && before.1 != peer.version;
        let changed = before != (peer.status, peer.version.clone(), peer.revision.clone());
        Ok(changed.then(|| Change {
            kind: if peer.status != Status::Online {
                ChangeKind::Leave
            } else if version_changed {
                ChangeKind::VersionChanged
            } else {
                ChangeKind::Change
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
            public_url: None,
            version_history: Vec::new(),
            uptime_s: 0,
            first_seen: t(0),
            last_seen: t(0),
            is_self: true,
        }
    }

    /// A hey_there from `name` signed at `t(at)`.
    fn hey(name: &str, key: &str, at: u64) -> Message {
        event(name, key, Body::HeyThere { sent_ns: ns(at) })
    }

    /// A chau from `name` signed at `t(at)`.
    fn chau(name: &str, key: &str, at: u64) -> Message {
        event(name, key, Body::Chau { sent_ns: ns(at) })
    }

    fn ns(at: u64) -> u64 {
        (1_800_000_000 + at) * 1_000_000_000
    }

    fn event(name: &str, key: &str, body: Body) -> Message {
        Message {
            name: name.into(),
            public_key: key.into(),
            body,
        }
    }

    /// A newspaper from `name` whose host has been up `uptime` seconds.
    fn paper(name: &str, key: &str, uptime: u64, version: &str) -> Message {
        event(
            name,
            key,
            Body::Newspaper(Story {
                id: format!("id-{name}"),
                version: version.into(),
                revision: Some("r".into()),
                public_url: None,
                host_uptime_s: uptime,
                process_uptime_s: None,
                ..Story::default()
            }),
        )
    }

    const LIMITS: Limits = Limits {
        missing_after: Duration::from_secs(300),
        forget_after: Duration::from_secs(3600),
        max_peers: 10_000,
        max_skew: Duration::from_secs(60),
    };

    fn projection() -> Projection {
        Projection::new(own(), LIMITS)
    }

    #[test]
    fn a_full_view_forgets_the_longest_silent_nara_to_take_a_new_one() {
        let mut view = Projection::new(own(), Limits { max_peers: 3, ..LIMITS });
        view.apply(&hey("b", "kb", 10), t(10)).unwrap();
        view.apply(&hey("c", "kc", 20), t(20)).unwrap();
        view.apply(&paper("b", "kb", 1000, "0.1.0"), t(30)).unwrap();
        assert!(view.take_forgotten().is_empty());
        view.apply(&hey("d", "kd", 40), t(40)).unwrap();
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
        view.apply(&hey("c", "another-key", 50), t(50)).unwrap();
    }

    #[test]
    fn offline_and_missing_naras_are_forgotten_after_the_forget_timeout() {
        let mut view = projection();
        view.apply(&hey("b", "kb", 10), t(10)).unwrap();
        view.apply(&hey("c", "kc", 10), t(10)).unwrap();
        view.apply(&chau("c", "kc", 11), t(11)).unwrap();
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
    fn a_new_nara_joins_online_its_newspaper_says_its_version_and_chau_makes_it_offline() {
        let mut view = projection();
        let joined = view.apply(&hey("b", "kb", 10), t(10)).unwrap().unwrap();
        assert_eq!((joined.kind, joined.peer.status), (ChangeKind::Join, Status::Online));
        assert_eq!(joined.peer.version, "", "a hey_there says no version");
        let read = view.apply(&paper("b", "kb", 1000, "0.2.0"), t(11)).unwrap().unwrap();
        assert_eq!((read.kind, read.peer.version.as_str()), (ChangeKind::Change, "0.2.0"));
        assert!(
            read.peer.version_history.is_empty(),
            "learning a version is no change of it"
        );
        assert_eq!(read.peer.id, "id-b");
        assert_eq!(view.apply(&paper("b", "kb", 1030, "0.2.0"), t(41)).unwrap(), None);
        let upgraded = view.apply(&paper("b", "kb", 1035, "0.3.0"), t(46)).unwrap().unwrap();
        assert_eq!(upgraded.kind, ChangeKind::VersionChanged);
        assert_eq!(
            upgraded.peer.version_history,
            [VersionChange {
                from: "0.2.0".into(),
                to: "0.3.0".into(),
                at: t(46)
            }]
        );
        let left = view.apply(&chau("b", "kb", 50), t(50)).unwrap().unwrap();
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
                let key = format!("k{name}");
                let message = if (i as u64 + round).is_multiple_of(3) {
                    chau(name, &key, clock)
                } else {
                    hey(name, &key, clock)
                };
                let _ = view.apply(&message, t(clock));
                assert_eq!(view.counts(), recount(&view), "after {name} in round {round}");
            }
            // This nara's own chau echoed back does not take it offline.
            assert_eq!(view.apply(&chau("me", "key-me", clock), t(clock)), Ok(None));
            clock += 400;
            view.sweep(t(clock));
            assert_eq!(view.counts(), recount(&view), "after the sweep in round {round}");
        }
        // A refused message changes nothing.
        let _ = view.apply(&hey("b", "forged", clock), t(clock));
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
            ChangeKind::VersionChanged,
            ChangeKind::Leave,
            ChangeKind::Forget,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn silence_beyond_the_timeout_makes_a_nara_missing_but_never_this_one() {
        let mut view = projection();
        view.apply(&paper("b", "kb", 1000, "0.1.0"), t(10)).unwrap();
        assert!(view.sweep(t(300)).is_empty());
        let changes = view.sweep(t(311));
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].peer.name.as_str(), changes[0].peer.status),
            ("b", Status::Missing)
        );
        assert!(view.sweep(t(400)).is_empty(), "reported once");
        let back = view.apply(&paper("b", "kb", 1391, "0.1.0"), t(401)).unwrap().unwrap();
        assert_eq!((back.kind, back.peer.status), (ChangeKind::Change, Status::Online));
    }

    #[test]
    fn a_name_seen_with_one_key_refuses_another() {
        let mut view = projection();
        view.apply(&paper("b", "kb", 1000, "0.1.0"), t(10)).unwrap();
        assert_eq!(
            view.apply(&paper("b", "stolen", 1001, "6.6.6"), t(11)),
            Err(Rejection::KeyMismatch)
        );
        assert_eq!(
            view.apply(&chau("me", "stolen", 11), t(11)),
            Err(Rejection::KeyMismatch),
            "nobody else may speak for this nara"
        );
        assert_eq!(view.snapshot().iter().find(|p| p.name == "b").unwrap().version, "0.1.0");
    }

    #[test]
    fn an_event_not_newer_than_one_accepted_is_a_replay() {
        let mut view = projection();
        view.apply(&hey("b", "kb", 20), t(20)).unwrap();
        assert_eq!(view.apply(&chau("b", "kb", 19), t(21)), Err(Rejection::Replayed));
        assert_eq!(view.apply(&hey("b", "kb", 20), t(21)), Err(Rejection::Replayed));
        assert!(view.apply(&chau("b", "kb", 21), t(21)).is_ok());
    }

    #[test]
    fn a_replayed_newspaper_implies_a_later_boot_and_is_stale() {
        let mut view = projection();
        // Booted at t(0): uptime 100 at t(100).
        view.apply(&paper("b", "kb", 100, "0.1.0"), t(100)).unwrap();
        view.apply(&paper("b", "kb", 130, "0.1.0"), t(131)).unwrap();
        // The first newspaper again, an hour later.
        assert_eq!(
            view.apply(&paper("b", "kb", 100, "0.1.0"), t(3700)),
            Err(Rejection::Stale)
        );
        // Within the skew, an older uptime is still a replay.
        assert_eq!(
            view.apply(&paper("b", "kb", 100, "0.1.0"), t(140)),
            Err(Rejection::Replayed)
        );
        // Same uptime again (two newspapers in one second) is fine.
        assert!(view.apply(&paper("b", "kb", 130, "0.1.0"), t(140)).is_ok());
    }

    #[test]
    fn newspapers_from_before_a_chau_cannot_bring_a_nara_back() {
        let mut view = projection();
        view.apply(&paper("b", "kb", 100, "0.1.0"), t(100)).unwrap();
        view.apply(&paper("b", "kb", 200, "0.1.0"), t(200)).unwrap();
        view.apply(&chau("b", "kb", 230), t(230)).unwrap();
        assert_eq!(
            view.apply(&paper("b", "kb", 200, "0.1.0"), t(235)),
            Err(Rejection::Replayed)
        );
        // Restarted on the same host: the boot time holds, the uptime grew.
        let back = view.apply(&paper("b", "kb", 240, "0.2.0"), t(240)).unwrap().unwrap();
        assert_eq!(
            (back.peer.status, back.peer.version.as_str()),
            (Status::Online, "0.2.0")
        );
    }

    #[test]
    fn a_rebooted_host_moves_the_boot_time_only_after_a_hey_there() {
        let mut view = projection();
        view.apply(&paper("b", "kb", 100, "0.1.0"), t(100)).unwrap();
        // Rebooted at t(1000): uptime 20 at t(1020), no hey_there heard.
        assert_eq!(
            view.apply(&paper("b", "kb", 20, "0.2.0"), t(1020)),
            Err(Rejection::Stale)
        );
        view.apply(&hey("b", "kb", 1025), t(1025)).unwrap();
        let rebooted = view.apply(&paper("b", "kb", 26, "0.2.0"), t(1026)).unwrap().unwrap();
        assert_eq!(rebooted.peer.version, "0.2.0");
        // And the new boot time now holds.
        assert_eq!(
            view.apply(&paper("b", "kb", 100, "0.1.0"), t(1030)),
            Err(Rejection::Stale),
            "the old boot's newspaper is stale now"
        );
    }

    #[test]
    fn after_a_hey_there_the_boot_may_move_to_any_time_before_it() {
        let mut view = projection();
        // Booted at t(500); moved to a host that booted at t(0), long before.
        view.apply(&paper("b", "kb", 100, "0.1.0"), t(600)).unwrap();
        view.apply(&hey("b", "kb", 950), t(950)).unwrap();
        assert!(view.apply(&paper("b", "kb", 951, "0.1.0"), t(951)).is_ok());
        // But a boot after the hey_there that announced it is impossible.
        view.apply(&hey("b", "kb", 960), t(960)).unwrap();
        assert_eq!(
            view.apply(&paper("b", "kb", 1, "0.1.0"), t(1100)),
            Err(Rejection::Stale)
        );
    }

    #[test]
    fn newspapers_with_a_signed_time_are_judged_by_it_from_any_host() {
        let mut view = projection();
        let timed = |uptime: u64, sent: u64| {
            let mut message = paper("b", "kb", uptime, "0.1.0");
            if let Body::Newspaper(story) = &mut message.body {
                story.sent_ns = Some(ns(sent));
            }
            message
        };
        view.apply(&timed(100, 10), t(10)).unwrap();
        // A twin on a host that booted at another time: its signed time is what counts.
        assert!(view.apply(&timed(99_999, 11), t(11)).is_ok());
        assert_eq!(view.apply(&timed(100, 10), t(12)), Err(Rejection::Replayed));
    }

    #[test]
    fn a_refused_message_from_a_stranger_leaves_nothing_behind() {
        let mut view = projection();
        let impossible_uptime = paper("z", "kz", u64::MAX, "0.1.0");
        assert_eq!(view.apply(&impossible_uptime, t(22)), Err(Rejection::Stale));
        assert!(view.freshness.is_empty());
        assert_eq!(view.snapshot().len(), 1);
    }

    #[test]
    fn the_version_history_is_bounded() {
        let mut view = projection();
        for i in 0..(VERSION_HISTORY as u64 * 2 + 1) {
            view.apply(&paper("b", "kb", 100 + i, &format!("0.{i}.0")), t(100 + i))
                .unwrap();
        }
        let b = view.snapshot().into_iter().find(|p| p.name == "b").unwrap();
        assert_eq!(b.version_history.len(), VERSION_HISTORY);
        assert_eq!(b.version_history.last().unwrap().to, b.version);
    }

    #[test]
    fn snapshot_is_ordered_by_name() {
        let mut view = projection();
        view.apply(&hey("a", "ka", 10), t(10)).unwrap();
        let names: Vec<String> = view.snapshot().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["a", "me"]);
    }
}
