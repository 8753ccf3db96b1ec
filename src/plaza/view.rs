//! The view of the plaza: every nara heard from, with its status, built from verified
//! messages. ONLINE on any valid message, OFFLINE on `chau`, MISSING after a silence.
//! A will that names the nara's current connection makes it SUSPECT: anyone can
//! publish a will again, so it is a strong hint, not proof. A live nara answers its own
//! will at once with a newer message, which ends the suspicion; one that does not
//! within [`CONFIRM_AFTER`] is MISSING.
//!
//! It also holds the history single messages cannot prove: the key first seen for
//! each name (trust on first use) and what was accepted from it (judged by the rules
//! in `freshness.rs`). Its bounds are an attacker's target, so what costs nothing to
//! send buys little room: a chau from a nara never seen creates nothing, and a nara
//! that never carried a newspaper is the first to make room and is forgotten once
//! silent. A full view refuses a newcomer only while every other nara in it carried a
//! newspaper and is still ONLINE; the key pin of a nara it forgot to make room outlives
//! its entry, in a table of its own (as bounded, where the naras heard longest keep
//! theirs), until `--plaza-forget-after`.

pub(crate) mod saved;

pub(crate) use saved::{SavedDeparted, SavedPeer, SavedView, encode_departed, encode_peer};

use super::freshness::{Freshness, Judging};
use super::host_health::HostHealth;
use super::message::{Body, Message, Rejection, Story};
use super::restarts::Restarts;
use super::tags::Tags;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

/// How long a nara stays SUSPECT after a will that names its current connection before
/// it is MISSING, unless a newer message of it says otherwise. A live nara that hears
/// its own will answers within a round trip through the broker.
pub const CONFIRM_AFTER: Duration = Duration::from_millis(1500);

/// Where a nara stands, as the plaza sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Heard from recently.
    Online,
    /// The broker published its will: its connection ended without a goodbye, or
    /// someone published a will of it again. MISSING after [`CONFIRM_AFTER`] unless it
    /// speaks; a will the broker kept (retained) is not confirmed, and the nara is
    /// MISSING only by the silence rule.
    Suspect,
    /// Said chau.
    Offline,
    /// Silent for longer than `--plaza-missing-after`, or SUSPECT for
    /// [`CONFIRM_AFTER`] without a word.
    Missing,
}

impl Status {
    /// Whether the nara is taken to be around: ONLINE, or SUSPECT until confirmed.
    pub(crate) fn is_around(self) -> bool {
        matches!(self, Status::Online | Status::Suspect)
    }
}

/// A will heard of a nara, not yet answered: when, and the connection it named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Suspicion {
    since: SystemTime,
    conn: u32,
    signed_ns: u64,
    /// Whether it becomes MISSING after [`CONFIRM_AFTER`]: a will heard live does; one
    /// the broker kept (retained) does not, and the nara stays SUSPECT until it speaks
    /// or the silence rule makes it MISSING.
    confirm: bool,
}

/// One nara as this nara sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Peer {
    /// The name its messages come from, by which the view knows it.
    pub name: String,
    /// Its nara ID, from its newspaper (empty until the first one: the ID in a
    /// hey_there is not signed).
    pub id: String,
    /// Its public key, standard Base64.
    pub public_key: String,
    /// ONLINE, SUSPECT, OFFLINE or MISSING.
    pub status: Status,
    /// The version it runs, from its newspaper (empty until the first one).
    pub version: String,
    /// The git revision it runs, which only this nara's newspapers carry.
    pub revision: String,
    /// Where its web UI is, if its newspaper says.
    pub public_url: Option<String>,
    /// Its last version changes, oldest first (at most `VERSION_HISTORY`).
    pub version_history: Vec<VersionChange>,
    /// Its tags, as its newspaper last said (see `tags.rs`).
    pub tags: Tags,
    /// Its host's uptime in seconds, as its newspaper last said.
    pub uptime_s: u64,
    /// Its host's load and its process's memory, CPU and descriptors, as its newspaper
    /// last said (see `host_health.rs`).
    pub host: HostHealth,
    /// When this nara first heard from it.
    #[serde(serialize_with = "rfc3339")]
    pub first_seen: SystemTime,
    /// When this nara last heard from it.
    #[serde(serialize_with = "rfc3339")]
    pub last_seen: SystemTime,
    /// This nara itself.
    #[serde(rename = "self")]
    pub is_self: bool,
    /// How often it restarted, when last, and whether it is flapping (see
    /// `restarts.rs`).
    #[serde(flatten)]
    pub restarts: Restarts,
}

/// How many version changes each peer keeps.
const VERSION_HISTORY: usize = 8;

/// A nara's version, as its newspapers said it changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionChange {
    /// The version it ran.
    pub(crate) from: String,
    /// The version it runs now.
    pub(crate) to: String,
    /// When this nara heard the change.
    #[serde(serialize_with = "rfc3339")]
    pub(crate) at: SystemTime,
}

fn rfc3339<S: serde::Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_rfc3339_seconds(*time))
}

/// A change in the view, as `/api/events` streams it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    #[serde(rename = "type")]
    pub(crate) kind: ChangeKind,
    /// The nara as it is now.
    pub(crate) peer: Peer,
}

/// The kind of a change, as `/api/events` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ChangeKind {
    /// First heard from.
    Join,
    /// Back online, SUSPECT, or another revision.
    Change,
    /// Another version: the last entry of its `version_history` says from what.
    VersionChanged,
    /// OFFLINE (said chau) or MISSING (went silent).
    Leave,
    /// Gone from the view: gone too long, or its place taken when the view was full.
    Forget,
}

impl ChangeKind {
    /// The name it goes by on the wire (the SSE event name, the JSON `type`).
    pub(crate) fn as_str(self) -> &'static str {
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
pub(crate) struct Counts {
    pub(crate) online: usize,
    pub(crate) suspect: usize,
    pub(crate) offline: usize,
    pub(crate) missing: usize,
}

impl Counts {
    fn of(&mut self, status: Status) -> &mut usize {
        match status {
            Status::Online => &mut self.online,
            Status::Suspect => &mut self.suspect,
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
    if peer.tags != story.tags {
        peer.tags.clone_from(&story.tags);
    }
    peer.host.clone_from(&story.health);
}

/// Sets a known peer's status, keeping the counts in step.
fn set_status(counts: &mut Counts, peer: &mut Peer, to: Status) {
    counts.moved(Some(peer.status), to);
    peer.status = to;
}

/// A will that names `peer`'s current connection (the freshness rules checked that):
/// an ONLINE nara is SUSPECT from `now`, confirmed (MISSING after [`CONFIRM_AFTER`]) if
/// `confirm`. One already SUSPECT keeps its time, unless this will is the first to be
/// confirmed; one OFFLINE or MISSING stays so.
fn suspect(
    counts: &mut Counts,
    suspects: &mut HashMap<String, Suspicion>,
    peer: &mut Peer,
    will: &super::message::Will,
    now: SystemTime,
    confirm: bool,
) -> Option<Change> {
    let (since, confirm) = match (peer.status, suspects.get(&peer.name)) {
        (Status::Online, _) => (now, confirm),
        (Status::Suspect, Some(held)) if held.confirm || !confirm => (held.since, held.confirm),
        (Status::Suspect, Some(_)) => (now, true),
        _ => return None,
    };
    suspects.insert(
        peer.name.clone(),
        Suspicion {
            since,
            conn: will.conn,
            signed_ns: will.signed_ns,
            confirm,
        },
    );
    if peer.status == Status::Suspect {
        return None;
    }
    set_status(counts, peer, Status::Suspect);
    Some(Change {
        kind: ChangeKind::Change,
        peer: peer.clone(),
    })
}

/// How long naras stay in the view, and how many it holds: anyone may publish on a
/// shared broker, so neither may grow without end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Silence after which an ONLINE nara is MISSING; also when a nara that never
    /// carried a newspaper is forgotten, and how long a lock-out by a recording can last
    /// (see `freshness.rs`).
    pub missing_after: Duration,
    /// How long an OFFLINE or MISSING nara stays before it is forgotten, and its key
    /// with it.
    pub forget_after: Duration,
    /// The most naras the view holds, this one included; a new one then takes the
    /// place of one that never carried a newspaper, or else of the longest silent
    /// OFFLINE or MISSING one, or is refused. Also the most key pins kept for naras
    /// that left the view that way.
    pub max_peers: usize,
    /// How far a newspaper's implied boot time may stray from the one first seen.
    pub max_skew: Duration,
}

impl Limits {
    fn judging(&self) -> Judging {
        Judging {
            max_skew: self.max_skew,
            recover_after: self.missing_after,
        }
    }
}

/// A name's key pin and history after its entry left a full view: a flood of new names
/// can take a silent nara's place in the view, not its name. Kept until
/// `--plaza-forget-after` after it was last heard, as a view entry would be, or until a
/// full table gives the place to a nara that was heard for longer.
#[derive(Clone, Debug)]
struct Departed {
    public_key: String,
    freshness: Freshness,
    first_heard: SystemTime,
    last_heard: SystemTime,
}

impl Departed {
    /// How long it was heard: what a Sybil made for the occasion lacks.
    fn heard_for(&self) -> Duration {
        self.last_heard.duration_since(self.first_heard).unwrap_or_default()
    }
}

/// The peer view: every nara heard from, within [`Limits`], with counts kept in step.
pub struct View {
    peers: HashMap<String, Peer>,
    freshness: HashMap<String, Freshness>,
    /// Key pins and histories of naras forgotten to make room, at most `max_peers`.
    departed: HashMap<String, Departed>,
    /// The names that joined without a newspaper, oldest first, so that a flood of
    /// them makes room in constant time. A name that has since carried a newspaper or
    /// left the view is skipped when reached, and swept out once the queue is twice
    /// `max_peers` long.
    announced: VecDeque<String>,
    /// The SUSPECT naras and the wills that made them so (at most one per nara in the
    /// view).
    suspects: HashMap<String, Suspicion>,
    /// Kept in step with `peers` on every status change, so reading them is O(1)
    /// however large the plaza is.
    counts: Counts,
    limits: Limits,
    /// Naras forgotten to make room, not yet announced.
    forgotten: Vec<Change>,
}

impl View {
    /// A view that already holds this nara, ONLINE.
    pub fn new(own: Peer, limits: Limits) -> Self {
        let mut counts = Counts::default();
        counts.moved(None, own.status);
        let mut peers = HashMap::new();
        peers.insert(own.name.clone(), own);
        View {
            peers,
            freshness: HashMap::new(),
            departed: HashMap::new(),
            announced: VecDeque::new(),
            suspects: HashMap::new(),
            counts,
            limits,
            forgotten: Vec::new(),
        }
    }

    /// Whether a Go nara is ONLINE or SUSPECT in the view: it calls a nara MISSING after
    /// 5 min of silence, so the newspaper interval stays well under that. One pass over
    /// the view, once per newspaper.
    pub(crate) fn go_around(&self) -> bool {
        self.peers.values().any(|peer| {
            !peer.is_self && peer.status.is_around() && self.freshness.get(&peer.name).is_some_and(Freshness::speaks_go)
        })
    }

    /// Removes `name` from the view (its key pin and replay mark with it).
    fn forget(&mut self, name: &str) -> Option<Change> {
        let peer = self.peers.remove(name)?;
        self.freshness.remove(name);
        self.suspects.remove(name);
        self.counts.removed(peer.status);
        Some(Change {
            kind: ChangeKind::Forget,
            peer,
        })
    }

    /// Records what was judged of `name`, a nara in the view (without a new key for a
    /// name already there: a flood of refused messages allocates nothing).
    fn keep_freshness(&mut self, name: &str, freshness: Freshness) {
        match self.freshness.get_mut(name) {
            Some(kept) => *kept = freshness,
            None => {
                self.freshness.insert(name.to_string(), freshness);
            }
        }
    }

    /// Whether `name` has carried a newspaper (see [`Freshness::carried_newspaper`]).
    fn established(&self, name: &str) -> bool {
        self.freshness.get(name).is_some_and(Freshness::carried_newspaper)
    }

    /// Makes room for one more nara. What goes first is a nara that never carried a
    /// newspaper, whatever its status, the one that joined first: a hey_there or a chau
    /// from a fresh key costs nothing, even on a broker with one account per name, so
    /// such entries only ever take each other's places (and leave no pin). Then the
    /// longest silent OFFLINE or MISSING one, whose key pin and history move to
    /// `departed`. A view whose every other entry carried a newspaper and is ONLINE
    /// refuses the newcomer: a flood of new names cannot displace naras that are still
    /// speaking, nor take anyone's name.
    fn make_room(&mut self) -> Result<(), Rejection> {
        while self.peers.len() >= self.limits.max_peers.max(2) {
            if let Some(first) = self.first_announced() {
                if let Some(change) = self.forget(&first) {
                    self.forgotten.push(change);
                }
                continue;
            }
            // Every other entry carried a newspaper.
            let victim = self
                .peers
                .values()
                .filter(|p| !p.is_self && !p.status.is_around())
                .min_by_key(|p| p.last_seen)
                .map(|p| p.name.clone())
                .ok_or(Rejection::ViewFull)?;
            let freshness = self.freshness.get(&victim).copied().unwrap_or_default();
            if let Some(change) = self.forget(&victim) {
                self.keep_pin(
                    victim,
                    Departed {
                        public_key: change.peer.public_key.clone(),
                        freshness,
                        first_heard: change.peer.first_seen,
                        last_heard: change.peer.last_seen,
                    },
                );
                self.forgotten.push(change);
            }
        }
        Ok(())
    }

    /// The nara in the view that joined first of those that never carried a
    /// newspaper, taken off the queue.
    fn first_announced(&mut self) -> Option<String> {
        while let Some(name) = self.announced.pop_front() {
            if self.peers.contains_key(&name) && !self.established(&name) {
                return Some(name);
            }
        }
        None
    }

    /// Queues a nara that joined without a newspaper, sweeping out the names that no
    /// longer belong there once they make the queue twice the view.
    fn queue_announced(&mut self, name: &str) {
        self.announced.push_back(name.to_string());
        if self.announced.len() > 2 * self.limits.max_peers.max(2) {
            let mut queue = std::mem::take(&mut self.announced);
            queue.retain(|name| self.peers.contains_key(name) && !self.established(name));
            self.announced = queue;
        }
    }

    /// Keeps the pin of a nara forgotten to make room. When the table is full, the pin
    /// of the nara heard for the shortest time goes (this one's, if it is that one):
    /// Sybils made for a flood lose their pins to each other, and the pin of a nara
    /// that spoke for hours outlasts any number of them. The view never closes for want
    /// of room for pins.
    fn keep_pin(&mut self, name: String, departed: Departed) {
        if self.departed.len() >= self.limits.max_peers {
            let weakest = self
                .departed
                .iter()
                .min_by_key(|(_, d)| (d.heard_for(), d.last_heard))
                .filter(|(_, d)| d.heard_for() < departed.heard_for())
                .map(|(name, _)| name.clone());
            let Some(weakest) = weakest else {
                return;
            };
            self.departed.remove(&weakest);
        }
        self.departed.insert(name, departed);
    }

    /// The naras forgotten to make room since the last call, for announcing.
    pub fn take_forgotten(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.forgotten)
    }

    /// Applies a message that passed [`super::wire::decode`]. Returns the change it made,
    /// if any, or why it was refused.
    pub fn apply(&mut self, message: &Message, now: SystemTime) -> Result<Option<Change>, Rejection> {
        self.apply_delivered(message, now, true)
    }

    /// [`View::apply`] for a message the broker kept (retained) and sent on
    /// subscribing: a will holds its nara SUSPECT without confirming it.
    pub fn apply_stored(&mut self, message: &Message, now: SystemTime) -> Result<Option<Change>, Rejection> {
        self.apply_delivered(message, now, false)
    }

    fn apply_delivered(&mut self, message: &Message, now: SystemTime, live: bool) -> Result<Option<Change>, Rejection> {
        let in_view = self.peers.get(&message.name);
        let departed = self.departed.get(&message.name);
        let pinned = in_view
            .map(|p| p.public_key.as_str())
            .or(departed.map(|d| d.public_key.as_str()));
        if pinned.is_some_and(|key| key != message.public_key) {
            return Err(Rejection::KeyMismatch);
        }
        if in_view.is_some_and(|p| p.is_self) {
            // This nara's own words, echoed by the broker: it knows what it said.
            return Ok(None);
        }
        let known = in_view.is_some();
        // A name kept here (in the view or among the pins) keeps what a refused
        // newspaper leaves as evidence (see `Freshness::admit`); a name never seen is
        // judged on a copy, so that a refused message leaves nothing behind.
        let mut freshness = match (in_view, departed) {
            (Some(_), _) => self.freshness.get(&message.name).copied().unwrap_or_default(),
            (None, Some(departed)) => departed.freshness,
            (None, None) => Freshness::default(),
        };
        let go_boot_before = freshness.go_boot_s();
        let judged = freshness.admit(&message.body, now, self.limits.judging());
        if let Err(rejection) = judged {
            if let (Body::Will(will), Some(peer)) = (&message.body, self.peers.get_mut(&message.name))
                && peer.restarts.heard_late_will(will, now)
            {
                // The will of the process a new one just replaced: it crashed.
                let change = Change {
                    kind: ChangeKind::Change,
                    peer: peer.clone(),
                };
                self.keep_freshness(&message.name, freshness);
                return Ok(Some(change));
            }
            if known {
                self.keep_freshness(&message.name, freshness);
            } else if let Some(departed) = self.departed.get_mut(&message.name) {
                departed.freshness = freshness;
            }
            return Err(rejection);
        }
        let is_chau = matches!(message.body, Body::Chau { .. });
        if !known {
            if is_chau || matches!(message.body, Body::Will(_)) {
                // Leaving, from a nara not in the view: nothing to take OFFLINE, and
                // nothing to create (a burst of them from fresh keys would fill the
                // view). A pinned one's history records it.
                if let Some(departed) = self.departed.get_mut(&message.name) {
                    departed.freshness = freshness;
                    departed.last_heard = now;
                }
                return Ok(None);
            }
            // Its own pin does not count against the table while it finds a place.
            let returning = self.departed.remove(&message.name);
            if let Err(full) = self.make_room() {
                if let Some(returning) = returning {
                    self.departed.insert(message.name.clone(), returning);
                }
                return Err(full);
            }
            let first_seen = returning.map_or(now, |d| d.first_heard);
            self.freshness.insert(message.name.clone(), freshness);
            if !freshness.carried_newspaper() {
                self.queue_announced(&message.name);
            }
            let mut peer = Peer {
                name: message.name.clone(),
                id: String::new(),
                public_key: message.public_key.clone(),
                status: Status::Online,
                version: String::new(),
                revision: String::new(),
                public_url: None,
                version_history: Vec::new(),
                tags: crate::plaza::tags::Tags::default(),
                uptime_s: 0,
                host: HostHealth::default(),
                first_seen,
                last_seen: now,
                is_self: false,
                restarts: Restarts::default(),
            };
            if let Body::Newspaper(story) = &message.body {
                read_story(&mut peer, story, now);
            }
            peer.restarts.heard(true, &message.body, false, now);
            self.peers.insert(peer.name.clone(), peer.clone());
            self.counts.moved(None, peer.status);
            return Ok(Some(Change {
                kind: ChangeKind::Join,
                peer,
            }));
        }
        self.keep_freshness(&message.name, freshness);
        let Some(peer) = self.peers.get_mut(&message.name) else {
            return Ok(None);
        };
        if let Body::Will(will) = &message.body {
            peer.restarts
                .heard(peer.status == Status::Online, &message.body, false, now);
            return Ok(suspect(&mut self.counts, &mut self.suspects, peer, will, now, live));
        }
        // A SUSPECT nara is around again only if this message came after the will that
        // made it so (a Go newspaper, which carries no time, cannot tell).
        let outlived = self
            .suspects
            .get(&message.name)
            .is_none_or(|s| Freshness::outlived(&message.body, s.conn, s.signed_ns));
        let before = (peer.status, peer.version.clone(), peer.revision.clone());
        let retagged = matches!(&message.body, Body::Newspaper(story) if story.tags != peer.tags);
        // A later host boot than the one believed before: a Go nara's restart.
        let go_reboot = matches!(&message.body, Body::Newspaper(story) if story.boot_id.is_none())
            && go_boot_before
                .zip(freshness.go_boot_s())
                .is_some_and(|(was, now_at)| u64::from(now_at.saturating_sub(was)) > self.limits.max_skew.as_secs());
        let restarted = peer
            .restarts
            .heard(peer.status == Status::Online, &message.body, go_reboot, now);
        let status = if is_chau {
            Status::Offline
        } else if outlived {
            Status::Online
        } else {
            peer.status
        };
        if status != Status::Suspect {
            self.suspects.remove(&message.name);
        }
        set_status(&mut self.counts, peer, status);
        if let Body::Newspaper(story) = &message.body {
            read_story(peer, story, now);
        }
        // A retained newspaper is heard "at" its signed time, which may be before the
        // last message heard live.
        peer.last_seen = peer.last_seen.max(now);
        let version_changed = !before.1.is_empty() && before.1 != peer.version;
        let changed = restarted || retagged || before != (peer.status, peer.version.clone(), peer.revision.clone());
        Ok(changed.then(|| Change {
            kind: if !peer.status.is_around() {
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
    /// forgets OFFLINE and MISSING ones silent for longer than the forget timeout. A
    /// nara that never carried a newspaper is forgotten instead of going MISSING: it
    /// proved nothing worth a day's place (and a Go nara that only said hey_there
    /// sends its newspaper well within that time).
    pub fn sweep(&mut self, now: SystemTime) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut stale = Vec::new();
        let freshness = &self.freshness;
        for peer in self.peers.values_mut() {
            let silent = now.duration_since(peer.last_seen).unwrap_or_default();
            if peer.is_self {
                continue;
            }
            if peer.restarts.settle(now) {
                changes.push(Change {
                    kind: ChangeKind::Change,
                    peer: peer.clone(),
                });
            }
            let established = freshness.get(&peer.name).is_some_and(Freshness::carried_newspaper);
            if !established && silent > self.limits.missing_after {
                stale.push(peer.name.clone());
            } else if peer.status.is_around() && silent > self.limits.missing_after {
                self.suspects.remove(&peer.name);
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
        let forget_after = self.limits.forget_after;
        self.departed
            .retain(|_, d| now.duration_since(d.last_heard).unwrap_or_default() <= forget_after);
        changes
    }

    /// Confirms each suspicion older than [`CONFIRM_AFTER`] at `now`: its nara is
    /// MISSING. Cheap when no nara is SUSPECT, so it may run often.
    pub fn confirm(&mut self, now: SystemTime) -> Vec<Change> {
        self.confirm_proven(now, now)
    }

    /// [`View::confirm`], for the suspicions whose will was heard no later than
    /// `broker_alive_at`: a time the broker was shown to be forwarding after it (see
    /// `plaza::liveness`). A stopping broker publishes every will it holds, and the
    /// answers to them never get through.
    pub(crate) fn confirm_proven(&mut self, now: SystemTime, broker_alive_at: SystemTime) -> Vec<Change> {
        let confirmed: Vec<String> = self
            .suspects
            .iter()
            .filter(|(_, s)| {
                s.confirm
                    && s.since <= broker_alive_at
                    && now.duration_since(s.since).unwrap_or_default() >= CONFIRM_AFTER
            })
            .map(|(name, _)| name.clone())
            .collect();
        let mut changes = Vec::with_capacity(confirmed.len());
        for name in confirmed {
            self.suspects.remove(&name);
            if let Some(peer) = self.peers.get_mut(&name)
                && peer.status == Status::Suspect
            {
                set_status(&mut self.counts, peer, Status::Missing);
                changes.push(Change {
                    kind: ChangeKind::Leave,
                    peer: peer.clone(),
                });
            }
        }
        changes
    }

    /// Whether any nara is SUSPECT: only then is there a suspicion to confirm or a
    /// probe to send.
    pub(crate) fn has_suspects(&self) -> bool {
        !self.suspects.is_empty()
    }

    /// Whether a suspicion that may be confirmed was heard after `broker_alive_at`, the
    /// newest time the broker was shown to be forwarding (`None`: never shown).
    pub(crate) fn needs_proof_after(&self, broker_alive_at: Option<SystemTime>) -> bool {
        self.suspects
            .values()
            .any(|s| s.confirm && broker_alive_at.is_none_or(|alive| s.since > alive))
    }

    /// Takes back every suspicion: this nara lost the broker, and a will heard just
    /// before says nothing (a broker that stops publishes every will it holds). Each
    /// SUSPECT nara is ONLINE again, and goes MISSING only by the silence rule.
    pub fn clear_suspicions(&mut self) -> Vec<Change> {
        let mut changes = Vec::with_capacity(self.suspects.len());
        for (name, _) in self.suspects.drain() {
            if let Some(peer) = self.peers.get_mut(&name)
                && peer.status == Status::Suspect
            {
                set_status(&mut self.counts, peer, Status::Online);
                changes.push(Change {
                    kind: ChangeKind::Change,
                    peer: peer.clone(),
                });
            }
        }
        changes
    }

    /// Marks this nara as seen now (it is in its own view whether or not a broker
    /// echoes its messages back).
    pub(crate) fn touch_self(&mut self, name: &str, uptime_s: u64, now: SystemTime) {
        if let Some(own) = self.peers.get_mut(name) {
            own.last_seen = now;
            own.uptime_s = uptime_s;
        }
    }

    /// This nara's own health, as its newspaper just said it.
    pub(crate) fn own_health(&mut self, name: &str, health: HostHealth) {
        if let Some(own) = self.peers.get_mut(name) {
            own.host = health;
        }
    }

    /// Every known nara, by name.
    pub(crate) fn snapshot(&self) -> Vec<Peer> {
        let mut peers: Vec<Peer> = self.peers.values().cloned().collect();
        peers.sort_by(|a, b| a.name.cmp(&b.name));
        peers
    }

    /// Naras by status.
    pub(crate) fn counts(&self) -> Counts {
        self.counts
    }

    /// The status of `name`, if it is in the view.
    pub(crate) fn status_of(&self, name: &str) -> Option<Status> {
        self.peers.get(name).map(|p| p.status)
    }

    /// `name`, if it is in the view: one lookup, whatever the view's size.
    pub(crate) fn peer(&self, name: &str) -> Option<&Peer> {
        self.peers.get(name)
    }

    /// Every known nara, in no order, for a reader that keeps only some of them.
    pub(crate) fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.peers.values()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(super) fn t(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    pub(super) fn own() -> Peer {
        Peer {
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
            host: HostHealth::default(),
            first_seen: t(0),
            last_seen: t(0),
            is_self: true,
            restarts: Restarts::default(),
        }
    }

    /// A hey_there from `name` signed at `t(at)`.
    pub(super) fn hey(name: &str, key: &str, at: u64) -> Message {
        event(name, key, Body::HeyThere { sent_ns: ns(at) })
    }

    /// A chau from `name` signed at `t(at)`.
    pub(super) fn chau(name: &str, key: &str, at: u64) -> Message {
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
    pub(super) fn paper(name: &str, key: &str, uptime: u64, version: &str) -> Message {
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

    pub(super) const LIMITS: Limits = Limits {
        missing_after: Duration::from_secs(300),
        forget_after: Duration::from_secs(3600),
        max_peers: 10_000,
        max_skew: Duration::from_secs(60),
    };

    fn lone_view() -> View {
        View::new(own(), LIMITS)
    }

    #[test]
    fn a_newspaper_with_other_tags_is_a_change_that_carries_them() {
        let mut view = lone_view();
        let tagged = |uptime: u64, tags: &[&str]| {
            let mut message = paper("b", "kb", uptime, "0.1.0");
            if let Body::Newspaper(story) = &mut message.body {
                story.tags = Tags::parse(tags.iter().copied()).unwrap();
            }
            message
        };
        view.apply(&tagged(1000, &["role=db"]), t(10)).unwrap();
        assert_eq!(
            view.apply(&tagged(1010, &["role=db"]), t(20)).unwrap(),
            None,
            "the same tags: no change"
        );
        let change = view
            .apply(&tagged(1020, &["role=web"]), t(30))
            .unwrap()
            .expect("a change");
        assert_eq!(change.kind, ChangeKind::Change);
        assert_eq!(change.peer.tags.get("role"), Some("web"));
    }

    #[test]
    fn a_full_view_forgets_the_longest_silent_offline_or_missing_nara_to_take_a_new_one() {
        let mut view = View::new(own(), Limits { max_peers: 4, ..LIMITS });
        view.apply(&paper("b", "kb", 1000, "0.1.0"), t(10)).unwrap();
        view.apply(&paper("c", "kc", 1000, "0.1.0"), t(20)).unwrap();
        view.apply(&paper("d", "kd", 1000, "0.1.0"), t(25)).unwrap();
        view.apply(&chau("b", "kb", 30), t(30)).unwrap();
        view.apply(&chau("c", "kc", 31), t(31)).unwrap();
        assert!(view.take_forgotten().is_empty());
        view.apply(&paper("e", "ke", 1000, "0.1.0"), t(40)).unwrap();
        let forgotten = view.take_forgotten();
        assert_eq!(forgotten.len(), 1);
        assert_eq!(
            (forgotten[0].kind, forgotten[0].peer.name.as_str()),
            (ChangeKind::Forget, "b"),
            "the longest silent of the naras that are not ONLINE"
        );
        let names: Vec<String> = view.snapshot().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["c", "d", "e", "me"]);
        assert_eq!(view.counts(), recount(&view));
        // Its key pin stays: nobody else takes its name while it is gone.
        assert_eq!(
            view.apply(&hey("b", "another-key", 50), t(50)),
            Err(Rejection::KeyMismatch)
        );
        // Its history stays too: a recording of its hello is still a replay.
        assert_eq!(view.apply(&hey("b", "kb", 29), t(55)), Err(Rejection::Replayed));
        // It comes back with its own key, in the place of the next silent one.
        view.apply(&hey("b", "kb", 60), t(60)).unwrap();
        assert_eq!(view.take_forgotten()[0].peer.name, "c");
        assert_eq!(view.departed.keys().collect::<Vec<_>>(), ["c"]);
    }

    #[test]
    fn the_pins_of_forgotten_naras_are_bounded_and_those_heard_longest_stay() {
        let mut view = View::new(own(), Limits { max_peers: 3, ..LIMITS });
        // One nara heard for an hour, one heard once.
        view.apply(&paper("old", "ko", 100, "1.0.0"), t(10)).unwrap();
        view.apply(&paper("old", "ko", 3690, "1.0.0"), t(3600)).unwrap();
        view.apply(&paper("brief", "kb", 100, "1.0.0"), t(3600)).unwrap();
        // Each round, everyone goes MISSING and a newcomer heard once takes a place:
        // the door never closes, the pins stay bounded, and the pins that go are
        // those of the naras heard for the shortest time.
        let mut clock = 3600;
        for round in 0..6u64 {
            clock += 400;
            view.sweep(t(clock));
            let name = format!("new{round}");
            assert!(view.apply(&paper(&name, "k", 100, "1.0.0"), t(clock)).is_ok(), "{name}");
            assert!(view.departed.len() <= 3);
        }
        assert_eq!(view.departed.len(), 3);
        assert_eq!(view.snapshot().len(), 3);
        assert_eq!(
            view.apply(&hey("old", "k-thief", clock), t(clock)),
            Err(Rejection::KeyMismatch)
        );
    }

    #[test]
    fn a_flood_of_new_names_displaces_no_online_nara_nor_takes_its_name() {
        const CAP: usize = 50;
        let mut view = View::new(
            own(),
            Limits {
                max_peers: CAP,
                ..LIMITS
            },
        );
        view.apply(&paper("alice", "k-alice", 1000, "1.0.0"), t(10)).unwrap();
        // 60 fresh keys, each with a newspaper, fill the view and then knock on a door
        // that stays shut while they speak.
        let refused = (0..60u64)
            .filter(|i| {
                let name = format!("flood{i}");
                view.apply(&paper(&name, &format!("k-{name}"), 100, "6.6.6"), t(11)) == Err(Rejection::ViewFull)
            })
            .count();
        assert_eq!(
            refused,
            60 - (CAP - 2),
            "the view holds this nara, alice and the first {}",
            CAP - 2
        );
        assert_eq!(view.snapshot().len(), CAP);
        assert!(view.take_forgotten().is_empty(), "nobody ONLINE was forgotten");
        assert_eq!(
            view.apply(&paper("alice", "k-mallory", 1002, "6.6.6"), t(12)),
            Err(Rejection::KeyMismatch)
        );
        // The flood goes MISSING; alice still speaks. Newcomers take the flood's
        // places, never alice's, and each place given up keeps its name's pin.
        view.apply(&paper("alice", "k-alice", 1390, "1.0.0"), t(400)).unwrap();
        view.sweep(t(400));
        let admitted = (0..200u64)
            .filter(|i| {
                let name = format!("second{i}");
                view.apply(&paper(&name, &format!("k-{name}"), 100, "6.6.6"), t(401))
                    .is_ok()
            })
            .count();
        assert_eq!(admitted, CAP - 2, "one place for each MISSING nara, one pin for each");
        assert_eq!(view.departed.len(), CAP - 2);
        let alice = view.snapshot().into_iter().find(|p| p.name == "alice").unwrap();
        assert_eq!((alice.status, alice.version.as_str()), (Status::Online, "1.0.0"));
        assert_eq!(
            view.apply(&hey("flood0", "k-mallory", 402), t(402)),
            Err(Rejection::KeyMismatch),
            "a forgotten name is still pinned"
        );
        // Only --plaza-forget-after lets the pins go.
        view.sweep(t(401 + 3600));
        assert!(view.departed.is_empty());
        assert_eq!(view.counts(), recount(&view));
    }

    #[test]
    fn offline_and_missing_naras_are_forgotten_after_the_forget_timeout() {
        let mut view = lone_view();
        view.apply(&paper("b", "kb", 1000, "0.1.0"), t(10)).unwrap();
        view.apply(&paper("c", "kc", 1000, "0.1.0"), t(10)).unwrap();
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
    fn a_nara_that_never_carried_a_newspaper_is_forgotten_once_silent_and_leaves_no_pin() {
        let mut view = View::new(own(), Limits { max_peers: 3, ..LIMITS });
        view.apply(&hey("hello-only", "kh", 10), t(10)).unwrap();
        view.apply(&hey("bye-too", "kb", 10), t(10)).unwrap();
        view.apply(&chau("bye-too", "kb", 11), t(11)).unwrap();
        assert!(view.sweep(t(300)).is_empty());
        let forgotten = view.sweep(t(312));
        assert_eq!(forgotten.len(), 2, "{forgotten:?}");
        assert!(forgotten.iter().all(|c| c.kind == ChangeKind::Forget));
        assert!(view.freshness.is_empty() && view.departed.is_empty());
        // One that did carry a newspaper goes MISSING, as ever.
        view.apply(&hey("speaks", "ks", 320), t(320)).unwrap();
        view.apply(&paper("speaks", "ks", 1000, "0.1.0"), t(320)).unwrap();
        let left = view.sweep(t(700));
        assert_eq!(
            (left[0].kind, left[0].peer.status),
            (ChangeKind::Leave, Status::Missing)
        );
        assert_eq!(view.counts(), recount(&view));
    }

    #[test]
    fn the_queue_of_naras_without_a_newspaper_is_bounded() {
        const CAP: usize = 10;
        let mut view = View::new(
            own(),
            Limits {
                max_peers: CAP,
                ..LIMITS
            },
        );
        // Each joins by its hey_there (queued) and is forgotten once silent, in a view
        // that is never full: nothing takes the stale names off the front.
        let mut clock = 10;
        let mut longest = 0;
        for i in 0..(CAP as u64 * 10) {
            view.apply(&hey(&format!("n{i}"), "k", clock), t(clock)).unwrap();
            longest = longest.max(view.announced.len());
            clock += 400;
            assert_eq!(view.sweep(t(clock)).len(), 1);
        }
        assert_eq!(longest, 2 * CAP, "swept out when it would pass twice the view");
        assert_eq!(view.snapshot().len(), 1);
    }

    #[test]
    fn a_new_nara_joins_online_its_newspaper_says_its_version_and_chau_makes_it_offline() {
        let mut view = lone_view();
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
                suspect: 0,
                offline: 1,
                missing: 0
            }
        );
    }

    /// Counts by walking every peer, as the kept counts must always agree.
    pub(super) fn recount(view: &View) -> Counts {
        let mut counts = Counts::default();
        for peer in view.snapshot() {
            counts.moved(None, peer.status);
        }
        counts
    }

    #[test]
    fn kept_counts_agree_with_the_peers_through_every_kind_of_change() {
        let mut view = lone_view();
        let mut clock = 10;
        for round in 0..3u64 {
            for (i, name) in ["b", "c", "d", "e"].into_iter().enumerate() {
                clock += 1;
                let key = format!("k{name}");
                let message = if (i as u64 + round).is_multiple_of(3) {
                    chau(name, &key, clock)
                } else {
                    paper(name, &key, 1000 + clock, "0.1.0")
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
        let mut view = lone_view();
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
        let mut view = lone_view();
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
        let mut view = lone_view();
        view.apply(&hey("b", "kb", 20), t(20)).unwrap();
        assert_eq!(view.apply(&chau("b", "kb", 19), t(21)), Err(Rejection::Replayed));
        assert_eq!(view.apply(&hey("b", "kb", 20), t(21)), Err(Rejection::Replayed));
        assert!(view.apply(&chau("b", "kb", 21), t(21)).is_ok());
    }

    #[test]
    fn a_replayed_newspaper_implies_a_later_boot_and_is_stale() {
        let mut view = lone_view();
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
        // The same uptime again is the same newspaper again: a duplicate, not news,
        // which must not keep a dead nara ONLINE.
        assert_eq!(
            view.apply(&paper("b", "kb", 130, "0.1.0"), t(140)),
            Err(Rejection::Replayed)
        );
        assert_eq!(view.sweep(t(131 + 301)).len(), 1, "b goes MISSING on time");
    }

    #[test]
    fn an_old_newspaper_heard_first_does_not_lock_out_the_real_ones() {
        let mut view = lone_view();
        // dave's host booted at t(0); a newspaper of his captured an hour ago, heard
        // first by this nara.
        view.apply(&paper("dave", "kd", 3400, "0.1.0"), t(7000)).unwrap();
        let genuine = view
            .apply(&paper("dave", "kd", 7005, "0.2.0"), t(7005))
            .unwrap()
            .unwrap();
        assert_eq!((genuine.peer.version.as_str(), genuine.peer.uptime_s), ("0.2.0", 7005));
        view.apply(&paper("dave", "kd", 7035, "0.2.0"), t(7035)).unwrap();
        assert_eq!(
            view.apply(&paper("dave", "kd", 3400, "0.1.0"), t(7040)),
            Err(Rejection::Stale)
        );
    }

    #[test]
    fn newspapers_from_before_a_chau_cannot_bring_a_nara_back() {
        let mut view = lone_view();
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
        let mut view = lone_view();
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
            Err(Rejection::Replayed),
            "the old boot's newspaper is a recording of the boot before now"
        );
    }

    #[test]
    fn after_a_hey_there_the_boot_may_move_to_any_time_before_it() {
        let mut view = lone_view();
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
        let mut view = lone_view();
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
    fn a_recorded_go_newspaper_of_a_soul_that_signs_its_time_changes_no_version() {
        let mut view = lone_view();
        let ours = |sent: u64, version: &str| {
            let mut message = paper("twin", "kt", 500, version);
            if let Body::Newspaper(story) = &mut message.body {
                story.sent_ns = Some(ns(sent));
            }
            message
        };
        view.apply(&hey("twin", "kt", 10), t(10)).unwrap();
        view.apply(&ours(10, "2.0.0"), t(10)).unwrap();
        // The soul ran a Go nara once; one of its newspapers, of any age, again.
        assert_eq!(
            view.apply(&paper("twin", "kt", 86_400, "0.0.1"), t(20)),
            Err(Rejection::Stale)
        );
        let twin = view.snapshot().into_iter().find(|p| p.name == "twin").unwrap();
        assert_eq!((twin.version.as_str(), twin.version_history.len()), ("2.0.0", 0));
        // A Go nara of the soul that starts says hey_there first, and is heard.
        view.apply(&hey("twin", "kt", 30), t(30)).unwrap();
        let moved = view
            .apply(&paper("twin", "kt", 86_400, "0.0.2"), t(30))
            .unwrap()
            .unwrap();
        assert_eq!(moved.kind, ChangeKind::VersionChanged);
    }

    #[test]
    fn a_newspaper_from_before_a_chau_does_not_move_a_restarted_naras_boot() {
        let mut view = lone_view();
        view.apply(&paper("alice", "ka", 5000, "0.1.0"), t(5000)).unwrap();
        view.apply(&chau("alice", "ka", 5100), t(5100)).unwrap();
        // Restarted on the same host: hey_there, then, before her first newspaper, one
        // recorded an hour before her chau.
        view.apply(&hey("alice", "ka", 5110), t(5110)).unwrap();
        assert_eq!(
            view.apply(&paper("alice", "ka", 1400, "0.0.9"), t(5111)),
            Err(Rejection::Stale)
        );
        // Her own newspapers all get through.
        for i in 0..11 {
            let at = 5112 + 30 * i;
            view.apply(&paper("alice", "ka", at, "0.2.0"), t(at)).unwrap();
        }
        let alice = view.snapshot().into_iter().find(|p| p.name == "alice").unwrap();
        assert_eq!((alice.status, alice.version.as_str()), (Status::Online, "0.2.0"));
    }

    #[test]
    fn a_host_clock_drifting_a_second_a_newspaper_is_followed() {
        let mut view = lone_view();
        for i in 0..200u64 {
            let at = 1000 + 30 * i;
            assert!(
                view.apply(&paper("b", "kb", 1000 + 29 * i, "0.1.0"), t(at)).is_ok(),
                "newspaper {i}"
            );
        }
    }

    #[test]
    fn a_refused_message_from_a_stranger_leaves_nothing_behind() {
        let mut view = lone_view();
        let impossible_uptime = paper("z", "kz", u64::MAX, "0.1.0");
        assert_eq!(view.apply(&impossible_uptime, t(22)), Err(Rejection::Stale));
        assert!(view.freshness.is_empty());
        assert_eq!(view.snapshot().len(), 1);
    }

    #[test]
    fn the_version_history_is_bounded() {
        let mut view = lone_view();
        for i in 0..(VERSION_HISTORY as u64 * 2 + 1) {
            view.apply(&paper("b", "kb", 100 + i, &format!("0.{i}.0")), t(100 + i))
                .unwrap();
        }
        let b = view.snapshot().into_iter().find(|p| p.name == "b").unwrap();
        assert_eq!(b.version_history.len(), VERSION_HISTORY);
        assert_eq!(b.version_history.last().unwrap().to, b.version);
    }

    #[test]
    fn a_chau_from_a_nara_never_seen_leaves_nothing_behind() {
        let mut view = lone_view();
        assert_eq!(view.apply(&chau("stranger", "ks", 10), t(10)), Ok(None));
        assert_eq!(view.snapshot().len(), 1);
        assert!(view.freshness.is_empty() && view.departed.is_empty());
    }

    #[test]
    fn a_burst_of_chaus_from_fresh_keys_leaves_the_door_open() {
        const CAP: usize = 50;
        let mut view = View::new(
            own(),
            Limits {
                max_peers: CAP,
                ..LIMITS
            },
        );
        for i in 0..(CAP as u64 * 2 + 10) {
            let _ = view.apply(&chau(&format!("c{i}"), &format!("k{i}"), 10), t(10));
        }
        assert!(view.apply(&hey("newcomer", "kn", 11), t(11)).is_ok());
        assert!(view.apply(&paper("newcomer", "kn", 100, "1.0.0"), t(11)).is_ok());
    }

    #[test]
    fn a_flood_of_hey_theres_from_fresh_keys_never_keeps_a_newcomer_with_a_newspaper_out() {
        const CAP: usize = 50;
        let mut view = View::new(
            own(),
            Limits {
                max_peers: CAP,
                ..LIMITS
            },
        );
        view.apply(&paper("alice", "k-alice", 1000, "1.0.0"), t(10)).unwrap();
        for i in 0..(CAP as u64 * 3) {
            let name = format!("flood{i}");
            let _ = view.apply(&hey(&name, &format!("k-{name}"), 11), t(11));
        }
        let newcomer = view.apply(&paper("bob", "k-bob", 500, "2.0.0"), t(12));
        assert_eq!(newcomer.map(|c| c.map(|c| c.kind)), Ok(Some(ChangeKind::Join)));
        let alice = view.snapshot().into_iter().find(|p| p.name == "alice").unwrap();
        assert_eq!(alice.status, Status::Online);
    }

    #[test]
    fn sybils_with_one_newspaper_each_close_the_view_only_while_they_speak() {
        const CAP: usize = 10;
        let sybil = |set: u64, i: u64| paper(&format!("s{set}-{i}"), &format!("k{set}-{i}"), 100, "6.6.6");
        let mut view = View::new(
            own(),
            Limits {
                max_peers: CAP,
                ..LIMITS
            },
        );
        // A genuine nara, heard for most of an hour, then silent.
        view.apply(&paper("gen", "k-gen", 1000, "1.0.0"), t(10)).unwrap();
        view.apply(&paper("gen", "k-gen", 3980, "1.0.0"), t(2990)).unwrap();
        // Three waves of Sybils, one newspaper each, six minutes apart.
        for (set, at) in [(1, 3000), (2, 3400), (3, 3800)] {
            view.sweep(t(at));
            for i in 0..CAP as u64 {
                let _ = view.apply(&sybil(set, i), t(at));
            }
        }
        assert_eq!(
            view.apply(&paper("late", "k-late", 100, "1.0.0"), t(3801)),
            Err(Rejection::ViewFull),
            "refused while every place is held by a nara that speaks"
        );
        // The last wave falls silent; a newcomer finds room at once.
        view.sweep(t(4200));
        assert!(view.apply(&paper("late", "k-late", 500, "1.0.0"), t(4200)).is_ok());
        assert!(view.departed.len() <= CAP);
        assert_eq!(
            view.apply(&hey("gen", "k-thief", 4201), t(4201)),
            Err(Rejection::KeyMismatch),
            "the genuine nara's pin outlived the Sybils'"
        );
    }

    /// A newspaper of this kind from `name`, from process `boot`'s connection `conn`,
    /// signed at `t(sent)`.
    fn ours(name: &str, key: &str, boot: &str, conn: u32, sent: u64) -> Message {
        event(
            name,
            key,
            Body::Newspaper(Story {
                id: format!("id-{name}"),
                version: "1.0.0".into(),
                revision: Some("r".into()),
                sent_ns: Some(ns(sent)),
                boot_id: Some(boot.into()),
                conn: Some(conn),
                ..Story::default()
            }),
        )
    }

    /// The will of `name`'s process `boot`, connection `conn`, signed at `t(signed)`.
    fn will(name: &str, key: &str, boot: &str, conn: u32, signed: u64) -> Message {
        event(
            name,
            key,
            Body::Will(super::super::message::Will {
                boot_id: boot.into(),
                conn,
                signed_ns: ns(signed),
            }),
        )
    }

    fn status_of(view: &View, name: &str) -> Status {
        view.snapshot().into_iter().find(|p| p.name == name).unwrap().status
    }

    #[test]
    fn a_will_of_the_current_connection_makes_a_nara_suspect_then_missing_without_an_answer() {
        let mut view = lone_view();
        view.apply(&ours("b", "kb", "p1", 1, 10), t(10)).unwrap();
        view.apply(&ours("b", "kb", "p1", 2, 20), t(20)).unwrap();
        let suspect = view.apply(&will("b", "kb", "p1", 2, 15), t(30)).unwrap().unwrap();
        assert_eq!(
            (suspect.kind, suspect.peer.status),
            (ChangeKind::Change, Status::Suspect)
        );
        assert_eq!(view.counts().suspect, 1);
        // The same will again changes nothing, and keeps the time it was first heard.
        assert_eq!(view.apply(&will("b", "kb", "p1", 2, 15), t(31)).unwrap(), None);
        let at = |ms: u64| t(30) + Duration::from_millis(ms);
        assert!(view.confirm(at(CONFIRM_AFTER.as_millis() as u64 - 1)).is_empty());
        let missing = view.confirm(at(CONFIRM_AFTER.as_millis() as u64));
        assert_eq!(missing.len(), 1);
        assert_eq!(
            (missing[0].kind, missing[0].peer.status),
            (ChangeKind::Leave, Status::Missing)
        );
        assert!(view.confirm(t(40)).is_empty(), "confirmed once");
        assert_eq!(view.counts(), recount(&view));
        // Back: its next connection's newspaper.
        view.apply(&ours("b", "kb", "p1", 3, 50), t(50)).unwrap();
        assert_eq!(status_of(&view, "b"), Status::Online);
    }

    #[test]
    fn a_go_nara_is_around_while_its_go_newspapers_keep_it_online() {
        let mut view = lone_view();
        view.apply(&ours("b", "kb", "p1", 1, 10), t(10)).unwrap();
        view.apply(&hey("g", "kg", 10), t(10)).unwrap();
        assert!(!view.go_around(), "ours, and a Go nara's hello without a newspaper");
        view.apply(&paper("g", "kg", 1000, "0.2.0"), t(11)).unwrap();
        assert!(view.go_around());
        view.sweep(t(11) + view.limits.missing_after + Duration::from_secs(1));
        assert!(!view.go_around(), "MISSING is not around");
    }

    #[test]
    fn a_will_from_the_store_holds_a_nara_suspect_without_confirming_it() {
        let mut view = lone_view();
        // A newcomer reads a nara's retained newspaper, then its retained will.
        view.apply_stored(&ours("b", "kb", "p1", 1, 10), t(10)).unwrap();
        let suspect = view
            .apply_stored(&will("b", "kb", "p1", 1, 5), t(100))
            .unwrap()
            .unwrap();
        assert_eq!(suspect.peer.status, Status::Suspect);
        assert!(view.confirm(t(200)).is_empty(), "never confirmed");
        assert_eq!(status_of(&view, "b"), Status::Suspect);
        // The silence rule makes it MISSING, counted from its newspaper.
        let swept = view.sweep(t(10) + view.limits.missing_after + Duration::from_secs(1));
        assert_eq!(swept[0].peer.status, Status::Missing);
        assert_eq!(view.counts(), recount(&view));

        // A will heard live after one from the store is confirmed from then on.
        view.apply(&ours("c", "kc", "p2", 1, 300), t(300)).unwrap();
        view.apply_stored(&will("c", "kc", "p2", 1, 299), t(301)).unwrap();
        view.apply(&will("c", "kc", "p2", 1, 299), t(302)).unwrap();
        assert!(
            view.confirm(t(303)).is_empty(),
            "1.5 s from the live one, not the stored"
        );
        assert_eq!(view.confirm(t(304)).len(), 1);
        assert_eq!(status_of(&view, "c"), Status::Missing);
    }

    #[test]
    fn a_newer_message_answers_a_will_and_the_nara_stays_online() {
        let mut view = lone_view();
        view.apply(&ours("b", "kb", "p1", 1, 10), t(10)).unwrap();
        view.apply(&will("b", "kb", "p1", 1, 5), t(20)).unwrap();
        assert_eq!(status_of(&view, "b"), Status::Suspect);
        let back = view.apply(&ours("b", "kb", "p1", 1, 21), t(21)).unwrap().unwrap();
        assert_eq!((back.kind, back.peer.status), (ChangeKind::Change, Status::Online));
        assert!(view.confirm(t(60)).is_empty(), "nothing left to confirm");
        // A hey_there signed after the will answers it too; a chau takes it OFFLINE.
        view.apply(&will("b", "kb", "p1", 1, 5), t(70)).unwrap();
        view.apply(&hey("b", "kb", 70), t(70)).unwrap();
        assert_eq!(status_of(&view, "b"), Status::Online);
        view.apply(&will("b", "kb", "p1", 1, 5), t(80)).unwrap();
        view.apply(&chau("b", "kb", 80), t(80)).unwrap();
        assert_eq!(status_of(&view, "b"), Status::Offline);
        assert!(view.confirm(t(90)).is_empty());
        assert_eq!(view.counts(), recount(&view));
    }

    #[test]
    fn a_will_of_an_older_process_or_connection_or_of_a_stranger_is_stale() {
        let mut view = lone_view();
        assert_eq!(view.apply(&will("z", "kz", "p", 1, 5), t(10)), Err(Rejection::Stale));
        assert_eq!(view.snapshot().len(), 1, "a will creates no nara");
        view.apply(&ours("b", "kb", "p1", 1, 10), t(10)).unwrap();
        view.apply(&ours("b", "kb", "p2", 1, 20), t(20)).unwrap();
        // Soon after p2 took over, p1's will says p1 crashed: a restart (see
        // `restarts.rs`), no suspicion. Again, it is stale.
        let crashed = view.apply(&will("b", "kb", "p1", 1, 5), t(30)).unwrap().unwrap();
        assert_eq!(
            (crashed.peer.status, crashed.peer.restarts.restarts),
            (Status::Online, 1)
        );
        assert_eq!(view.apply(&will("b", "kb", "p1", 1, 5), t(30)), Err(Rejection::Stale));
        view.apply(&ours("b", "kb", "p2", 4, 40), t(40)).unwrap();
        assert_eq!(view.apply(&will("b", "kb", "p2", 3, 30), t(41)), Err(Rejection::Stale));
        assert_eq!(
            view.apply(&will("b", "other-key", "p2", 4, 30), t(41)),
            Err(Rejection::KeyMismatch)
        );
        assert_eq!(status_of(&view, "b"), Status::Online);
        // One of a later connection, never heard from, counts; then the one before is
        // stale.
        view.apply(&will("b", "kb", "p2", 5, 42), t(43)).unwrap();
        assert_eq!(status_of(&view, "b"), Status::Suspect);
        assert_eq!(view.apply(&will("b", "kb", "p2", 4, 30), t(44)), Err(Rejection::Stale));
        // A nara that only said hey_there has no connection a will could name.
        view.apply(&hey("c", "kc", 50), t(50)).unwrap();
        assert_eq!(view.apply(&will("c", "kc", "p", 1, 45), t(51)), Err(Rejection::Stale));
    }

    #[test]
    fn a_message_from_before_the_will_does_not_answer_it() {
        let mut view = lone_view();
        view.apply(&ours("b", "kb", "p1", 1, 10), t(10)).unwrap();
        // Connection 2 began at 20 and ended; this observer never heard its newspapers.
        view.apply(&will("b", "kb", "p1", 2, 20), t(30)).unwrap();
        // A newspaper of connection 1, sent at 15, never heard before: fresh, but older
        // than the will.
        view.apply(&ours("b", "kb", "p1", 1, 15), t(31)).unwrap();
        assert_eq!(status_of(&view, "b"), Status::Suspect);
        // A Go newspaper carries no time: it cannot tell either.
        view.apply(&hey("b", "kb", 18), t(31)).unwrap();
        assert_eq!(status_of(&view, "b"), Status::Suspect);
        assert_eq!(view.confirm(t(40)).len(), 1);
    }

    #[test]
    fn losing_the_broker_takes_every_suspicion_back() {
        let mut view = lone_view();
        for name in ["b", "c"] {
            view.apply(&ours(name, name, "p", 1, 10), t(10)).unwrap();
            view.apply(&will(name, name, "p", 1, 5), t(20)).unwrap();
        }
        assert_eq!(view.counts().suspect, 2);
        let back = view.clear_suspicions();
        assert_eq!(back.len(), 2);
        assert!(back.iter().all(|c| c.peer.status == Status::Online));
        assert!(view.confirm(t(60)).is_empty());
        assert_eq!(view.counts(), recount(&view));
        // The silence rule still holds for them.
        assert_eq!(view.sweep(t(10 + 301)).len(), 2);
    }

    #[test]
    fn a_full_view_never_gives_a_suspect_naras_place_away() {
        let mut view = View::new(own(), Limits { max_peers: 3, ..LIMITS });
        view.apply(&ours("b", "kb", "p", 1, 10), t(10)).unwrap();
        view.apply(&ours("c", "kc", "p", 1, 10), t(10)).unwrap();
        view.apply(&will("b", "kb", "p", 1, 5), t(11)).unwrap();
        assert_eq!(
            view.apply(&ours("d", "kd", "p", 1, 12), t(12)),
            Err(Rejection::ViewFull)
        );
    }

    #[test]
    fn a_retained_newspaper_heard_at_its_signed_time_never_makes_a_nara_younger() {
        let mut view = lone_view();
        view.apply(&ours("b", "kb", "p", 1, 100), t(100)).unwrap();
        let b = view.snapshot().into_iter().find(|p| p.name == "b").unwrap();
        assert_eq!((b.first_seen, b.last_seen), (t(100), t(100)));
        // A fresher one, heard "at" a time before the last one was heard live.
        view.apply(&ours("b", "kb", "p", 1, 101), t(99)).unwrap();
        let b = view.snapshot().into_iter().find(|p| p.name == "b").unwrap();
        assert_eq!(b.last_seen, t(100));
    }

    #[test]
    fn snapshot_is_ordered_by_name() {
        let mut view = lone_view();
        view.apply(&hey("a", "ka", 10), t(10)).unwrap();
        let names: Vec<String> = view.snapshot().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["a", "me"]);
    }
}
