//! One soul, one presence. Several processes may share a soul for a while (a rollout
//! starts the new release beside the old, Kubernetes runs replicas, a nara moves to new
//! hardware): each is a *twin* of the others. Exactly one twin is *active* on the plaza;
//! the others are *standby*: they serve HTTP and watch the plaza but publish nothing.
//!
//! The rule needs no coordinator, because every twin computes it alike from the signed
//! newspapers it hears: the highest [`Rank`] wins, where a rank is the role a twin was
//! pinned to (`--plaza-role`), then its start time (the newest start wins, so a rollout
//! hands the soul to the new release), then its random boot ID. A twin that hears a
//! higher one yields at once; one that hears a lower one publishes at once, so that the
//! other yields. A standby takes over when no higher twin has been heard for
//! `takeover_after`, at once when the active one hands over on its way out, and at once
//! when the broker publishes the will of the active one's current connection (it
//! crashed, froze or lost its network). A twin pinned `standby` takes over only when it
//! hears no twin at all.
//!
//! What a twin hears passes the freshness rules as any message does: a newspaper of
//! this kind must be newer than the last one from its boot ID, so a dead twin's
//! recorded newspaper keeps nothing alive. A Go nara with this soul (whose newspapers
//! carry no time) is believed only right after a fresh hey_there of the soul that this
//! process did not send and that no twin of this kind followed with a newspaper (a twin
//! that starts or reconnects says hey_there too), and only while its newspapers keep
//! coming. A twin whose signed time is ahead of this clock by more than the skew cannot
//! be heard at all (its every newspaper is `stale`): both would speak, so this is
//! reported as two speakers. What this process signs is newer than what its twins said
//! (see `Presence::sign_newspaper`), so a handover to a twin whose clock is a little
//! behind is believed at once.

use super::message::{Rejection, Story};
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

/// The most twins remembered; more would only be a flood under a stolen soul.
const MAX_TWINS: usize = 64;
/// An active twin answers a lower one at most this often.
const REASSERT_EVERY: Duration = Duration::from_secs(1);
/// The most boot IDs whose newest newspaper is remembered (each for the skew window,
/// after which the signed time alone refuses a recording).
const MAX_BOOTS_REMEMBERED: usize = 256;

/// The role an operator pins a process to (`--plaza-role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Pin {
    /// The newest start wins.
    Auto,
    /// Active whenever it runs (unless a Go nara holds the soul, which never yields).
    Active,
    /// Never active while another twin is heard: a canary that must not take over.
    Standby,
}

impl Pin {
    /// Parses `auto`, `active` or `standby`.
    pub(crate) fn parse(text: &str) -> Result<Pin, String> {
        match text {
            "auto" => Ok(Pin::Auto),
            "active" => Ok(Pin::Active),
            "standby" => Ok(Pin::Standby),
            _ => Err("expected auto, active or standby".into()),
        }
    }

    /// The name on the command line and in newspapers.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Pin::Auto => "auto",
            Pin::Active => "active",
            Pin::Standby => "standby",
        }
    }
}

/// Whether this process speaks for its soul on the plaza.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Role {
    /// It publishes: hey_there, newspapers, chau.
    Active,
    /// It publishes nothing, and takes over when the active twin goes.
    Standby,
}

impl Role {
    /// The role's name in `/api/status` and metrics.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Active => "active",
            Role::Standby => "standby",
        }
    }
}

/// Why the role last changed, in a word: a bounded metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// A higher twin spoke.
    Yielded,
    /// The active twin handed over as it stopped.
    HandedOver,
    /// The active twin said chau.
    Chau,
    /// No twin above it was heard for the takeover window.
    Silence,
    /// The broker published the will of the active twin's connection.
    Will,
}

impl Cause {
    /// Each cause with the role it leads to: every series of the role-change metric.
    pub(crate) const TRANSITIONS: [(Role, Cause); 5] = [
        (Role::Standby, Cause::Yielded),
        (Role::Active, Cause::HandedOver),
        (Role::Active, Cause::Chau),
        (Role::Active, Cause::Silence),
        (Role::Active, Cause::Will),
    ];

    /// The label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Cause::Yielded => "yielded",
            Cause::HandedOver => "handed_over",
            Cause::Chau => "chau",
            Cause::Silence => "silence",
            Cause::Will => "will",
        }
    }
}

/// Where a twin stands in the rule; the highest wins.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Rank {
    pin: u8,
    started_ns: u64,
    boot_id: String,
}

impl Rank {
    /// The rank of a process pinned to `pin`, started at `started_ns`, with `boot_id`.
    pub(crate) fn new(pin: Pin, started_ns: u64, boot_id: &str) -> Rank {
        let pin = match pin {
            Pin::Standby => 0,
            Pin::Auto => 1,
            Pin::Active => 2,
        };
        Rank {
            pin,
            started_ns,
            boot_id: boot_id.to_string(),
        }
    }

    /// The rank a newspaper from a twin states. One with no boot ID comes from a Go
    /// nara, which never yields: it outranks every twin of this kind.
    fn of(story: &Story) -> Rank {
        match &story.boot_id {
            None => Rank {
                pin: GO_PIN,
                started_ns: 0,
                boot_id: String::new(),
            },
            Some(boot_id) => {
                let pin = story
                    .role_pin
                    .as_deref()
                    .and_then(|p| Pin::parse(p).ok())
                    .unwrap_or(Pin::Auto);
                Rank::new(pin, story.started_ns.unwrap_or(0), boot_id)
            }
        }
    }
}

/// What the transport must do after the role was reconsidered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    /// Nothing to send.
    Nothing,
    /// Send a newspaper now: this process just took over, or a lower twin must hear it.
    PublishNow,
}

struct Twin {
    rank: Rank,
    last_heard: Instant,
    /// The newest of its connections heard of: a will for an older one is stale.
    conn: u32,
}

impl Rank {
    /// A Go nara: it never yields, and its newspapers come every 30 to 300 s.
    fn is_go(&self) -> bool {
        self.pin == GO_PIN
    }
}

/// The rank pin of a Go nara, above every pin of this kind.
const GO_PIN: u8 = 3;

/// How long each kind of evidence counts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Windows {
    /// A twin of this kind not heard for this long is gone: a standby takes over.
    pub(crate) takeover_after: Duration,
    /// The same for a Go twin, whose newspapers come every 30 to 300 s
    /// (`--plaza-missing-after`).
    pub(crate) go_twin_after: Duration,
    /// `--plaza-max-skew`: how recent an own-soul hey_there must be to vouch for a Go
    /// twin's newspaper.
    pub(crate) max_skew: Duration,
}

/// A twin heard with a signed time ahead of this clock by more than the skew.
struct Ahead {
    boot_id: String,
    ahead: Duration,
    heard: Instant,
}

/// Two processes speak for the soul: this one, active, and a twin whose clock is
/// ahead by more than the skew, so that neither can hear the other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct TwoSpeakers {
    /// The other twin's boot ID.
    pub(crate) twin: String,
    /// How far its clock is ahead of this one's, in whole seconds.
    pub(crate) ahead_s: u64,
    /// What to do about it.
    pub(crate) reason: String,
}

/// This process's role, and the twins it has heard.
pub(crate) struct Roles {
    me: Rank,
    pin: Pin,
    born: Instant,
    windows: Windows,
    twins: HashMap<String, Twin>,
    /// The newest `sent_ns` accepted from each boot ID of this soul.
    newest_sent: HashMap<String, u64>,
    /// When a fresh own-soul hey_there that this process did not send was heard, if no
    /// newspaper of a twin (of either kind) has been since.
    hello: Option<Instant>,
    ahead: Option<Ahead>,
    role: Role,
    since: SystemTime,
    reason: String,
    last_reassert: Option<Instant>,
    changes: Vec<(Role, Cause)>,
}

/// The role part of `/api/status`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct RoleStatus {
    /// `active` or `standby`.
    pub(crate) role: Role,
    /// What `--plaza-role` pinned it to.
    pub(crate) pinned: Pin,
    /// Since when, RFC 3339.
    pub(crate) since: String,
    /// Why, in a sentence.
    pub(crate) reason: String,
    /// Twins heard within the takeover window.
    pub(crate) twins: usize,
    /// Another process speaking for the soul while this one does, if one is heard
    /// (its clock is too far ahead for the two to hear each other).
    pub(crate) two_speakers: Option<TwoSpeakers>,
}

impl Roles {
    /// The role of a process just started: active unless pinned standby (which first
    /// waits `takeover_after` to hear whether another twin is active).
    pub(crate) fn new(me: Rank, pin: Pin, windows: Windows) -> Roles {
        let (role, reason) = match pin {
            Pin::Standby => (
                Role::Standby,
                "pinned standby: takes over only if no twin is heard".to_string(),
            ),
            Pin::Active => (Role::Active, "pinned active".to_string()),
            Pin::Auto => (
                Role::Active,
                "started: the newest start speaks for the soul".to_string(),
            ),
        };
        Roles {
            me,
            pin,
            born: Instant::now(),
            windows,
            twins: HashMap::new(),
            newest_sent: HashMap::new(),
            hello: None,
            ahead: None,
            role,
            since: SystemTime::now(),
            reason,
            last_reassert: None,
            changes: Vec::new(),
        }
    }

    /// Whether this process publishes.
    pub(crate) fn is_active(&self) -> bool {
        self.role == Role::Active
    }

    /// The role changes not yet taken (for the metrics): to what, and why.
    pub(crate) fn take_changes(&mut self) -> Vec<(Role, Cause)> {
        std::mem::take(&mut self.changes)
    }

    /// When the role last changed (or the process started).
    pub(crate) fn since(&self) -> SystemTime {
        self.since
    }

    /// The role part of `/api/status` at `now`.
    pub(crate) fn status(&self, now: Instant) -> RoleStatus {
        RoleStatus {
            role: self.role,
            pinned: self.pin,
            since: humantime::format_rfc3339_seconds(self.since).to_string(),
            reason: self.reason.clone(),
            twins: self.live(now).count(),
            two_speakers: self.two_speakers(now),
        }
    }

    /// How long a twin of `rank` counts once heard.
    fn window(&self, rank: &Rank) -> Duration {
        if rank.is_go() {
            self.windows.go_twin_after
        } else {
            self.windows.takeover_after
        }
    }

    fn live(&self, now: Instant) -> impl Iterator<Item = &Twin> {
        self.twins
            .values()
            .filter(move |t| now.saturating_duration_since(t.last_heard) <= self.window(&t.rank))
    }

    /// Whether another process speaks for the soul while this one does: a twin heard
    /// within the takeover window with its clock ahead beyond the skew.
    pub(crate) fn two_speakers(&self, now: Instant) -> Option<TwoSpeakers> {
        let ahead = self.ahead.as_ref()?;
        (self.role == Role::Active && now.saturating_duration_since(ahead.heard) <= self.windows.takeover_after).then(
            || TwoSpeakers {
                twin: ahead.boot_id.clone(),
                ahead_s: ahead.ahead.as_secs(),
                reason: format!(
                    "twin {} signs its newspapers {} s ahead of this clock, beyond --plaza-max-skew: \
                     each refuses the other's as stale and both speak; run NTP on both hosts",
                    ahead.boot_id,
                    ahead.ahead.as_secs()
                ),
            },
        )
    }

    /// A newspaper of this soul from another process, verified, but signed `ahead` of
    /// this clock by more than the skew: a recording cannot come from the future, so a
    /// twin with a clock ahead is speaking.
    pub(crate) fn heard_ahead(&mut self, boot_id: &str, ahead: Duration, now: Instant) {
        let was = self.two_speakers(now).map(|t| t.twin);
        self.ahead = Some(Ahead {
            boot_id: boot_id.to_string(),
            ahead,
            heard: now,
        });
        if let Some(two) = self.two_speakers(now)
            && was.as_deref() != Some(two.twin.as_str())
        {
            tracing::warn!(twin = %two.twin, ahead_s = two.ahead_s, "two processes speak for this soul: {}", two.reason);
        }
    }

    /// A fresh hey_there of this soul that this process did not send: a twin started or
    /// reconnected. If a newspaper in the Go nara's format follows within the skew,
    /// before any newspaper of a twin of this kind, it is a Go twin.
    pub(crate) fn heard_hello(&mut self, now: Instant) {
        self.hello = Some(now);
    }

    /// Whether a Go twin's newspaper heard now is believed: right after a hey_there of
    /// the soul, or while the Go twin's newspapers keep coming.
    fn believes_go_twin(&mut self, now: Instant) -> bool {
        let announced = self
            .hello
            .is_some_and(|at| now.saturating_duration_since(at) <= self.windows.max_skew);
        let speaking = self
            .twins
            .get("")
            .is_some_and(|go| now.saturating_duration_since(go.last_heard) <= self.windows.go_twin_after);
        if announced {
            self.hello = None;
        }
        announced || speaking
    }

    /// A newspaper of twin `boot_id` signed at `sent_ns`, heard from the broker's store:
    /// checked and recorded as [`Roles::heard`] does (this process signs after it), and
    /// nothing more, since a retained copy says nothing of who is alive.
    pub(crate) fn note_signed(&mut self, boot_id: &str, sent_ns: u64, now_ns: u64) -> Result<(), Rejection> {
        self.admit_signed(boot_id, sent_ns, now_ns)
    }

    /// Checks that a newspaper of this kind is newer than the last one from its boot
    /// ID, and records it.
    fn admit_signed(&mut self, boot_id: &str, sent_ns: u64, now_ns: u64) -> Result<(), Rejection> {
        if self.newest_sent.get(boot_id).is_some_and(|&newest| sent_ns <= newest) {
            return Err(Rejection::Replayed);
        }
        let skew_ns = u64::try_from(self.windows.max_skew.as_nanos()).unwrap_or(u64::MAX);
        // Past the skew the signed time alone refuses a recording.
        self.newest_sent
            .retain(|_, newest| newest.saturating_add(skew_ns) >= now_ns);
        if !self.newest_sent.contains_key(boot_id) && self.newest_sent.len() >= MAX_BOOTS_REMEMBERED {
            let oldest = self
                .newest_sent
                .iter()
                .min_by_key(|(_, newest)| **newest)
                .map(|(boot, _)| boot.clone());
            if let Some(oldest) = oldest {
                self.newest_sent.remove(&oldest);
            }
        }
        self.newest_sent.insert(boot_id.to_string(), sent_ns);
        // A twin of this kind speaks: a hey_there heard before was its own (a twin
        // starting, or one reconnecting, says hey_there and then a newspaper at once),
        // so no Go newspaper after it is vouched for.
        self.hello = None;
        Ok(())
    }

    /// The newest signed time of a newspaper heard from a twin within the skew (0 if
    /// none): what this process's next newspaper must be newer than, at observers.
    pub(crate) fn newest_heard_ns(&self) -> u64 {
        self.newest_sent.values().copied().max().unwrap_or(0)
    }

    /// Whether a twin has been heard within the takeover window.
    fn has_live_twins(&self, now: Instant) -> bool {
        self.live(now).next().is_some()
    }

    fn set(&mut self, role: Role, cause: Cause, reason: String) {
        if self.role != role {
            self.changes.push((role, cause));
            self.since = SystemTime::now();
            tracing::info!(role = role.as_str(), reason = %reason, "plaza role changed");
        }
        self.role = role;
        self.reason = reason;
    }

    /// A verified newspaper signed with this soul by another process, heard at `now`
    /// (`now_ns` by the wall clock). Refused if it is no news: a recording of a
    /// twin's newspaper, or a Go twin's newspaper that nothing shows to be fresh.
    pub(crate) fn heard(&mut self, story: &Story, now: Instant, now_ns: u64) -> Result<Act, Rejection> {
        match (&story.boot_id, story.sent_ns) {
            (Some(boot_id), Some(sent_ns)) => self.admit_signed(boot_id, sent_ns, now_ns)?,
            (Some(_), None) => return Err(Rejection::Stale),
            (None, _) => {
                if !self.believes_go_twin(now) {
                    return Err(Rejection::Stale);
                }
            }
        }
        Ok(self.heard_fresh(story, now))
    }

    fn heard_fresh(&mut self, story: &Story, now: Instant) -> Act {
        let rank = Rank::of(story);
        let boot = rank.boot_id.clone();
        if story.handover {
            self.twins.remove(&boot);
            return self.reconsider(
                now,
                Cause::HandedOver,
                "took over: the active twin handed over as it stopped",
            );
        }
        if !self.twins.contains_key(&boot) && self.twins.len() >= MAX_TWINS {
            let quietest = self
                .twins
                .iter()
                .min_by_key(|(_, t)| t.last_heard)
                .map(|(k, _)| k.clone());
            if let Some(quietest) = quietest {
                self.twins.remove(&quietest);
            }
        }
        let conn = self.twins.get(&boot).map_or(0, |t| t.conn).max(story.conn.unwrap_or(0));
        self.twins.insert(
            boot.clone(),
            Twin {
                rank: rank.clone(),
                last_heard: now,
                conn,
            },
        );
        if self.role == Role::Standby {
            return Act::Nothing;
        }
        if rank > self.me {
            let who = if boot.is_empty() {
                "a Go nara with this soul, which never yields".to_string()
            } else {
                format!("twin {boot}, which outranks this one (pinned role, then newest start)")
            };
            self.set(Role::Standby, Cause::Yielded, format!("yielded to {who}"));
            Act::Nothing
        } else if self
            .last_reassert
            .is_none_or(|at| now.saturating_duration_since(at) >= REASSERT_EVERY)
        {
            self.last_reassert = Some(now);
            Act::PublishNow
        } else {
            Act::Nothing
        }
    }

    /// The will of twin `boot_id`'s connection `conn`: that connection ended without a
    /// goodbye. It counts only for a twin heard within its window, and a connection no
    /// older than the newest heard from it (a will of an older one is a recording, or
    /// was followed by a reconnect). The twin is gone: a standby takes over at once if
    /// no other twin above it is heard.
    pub(crate) fn heard_will(&mut self, boot_id: &str, conn: u32, now: Instant) -> Result<Act, Rejection> {
        let live = self
            .twins
            .get(boot_id)
            .is_some_and(|t| now.saturating_duration_since(t.last_heard) <= self.window(&t.rank));
        if !live || self.twins.get(boot_id).is_some_and(|t| conn < t.conn) {
            return Err(Rejection::Stale);
        }
        self.twins.remove(boot_id);
        Ok(self.reconsider(
            now,
            Cause::Will,
            "took over: the active twin's connection ended without a goodbye (the broker published its will)",
        ))
    }

    /// A chau signed with this soul by another process: whoever was active left.
    pub(crate) fn twin_left(&mut self, now: Instant) -> Act {
        self.twins.clear();
        self.hello = None;
        self.reconsider(now, Cause::Chau, "took over: the active twin said chau")
    }

    /// A twin of this kind not heard for `takeover_after` is gone from now on: the
    /// newspaper interval stretched or shrank with the plaza.
    pub(crate) fn set_takeover_after(&mut self, takeover_after: Duration) {
        self.windows.takeover_after = takeover_after;
    }

    /// Called every second: a standby takes over once the twins above it are silent.
    pub(crate) fn tick(&mut self, now: Instant) -> Act {
        let window = self.windows.takeover_after.max(self.windows.go_twin_after);
        self.twins
            .retain(|_, t| now.saturating_duration_since(t.last_heard) <= window * 4);
        let reason = format!(
            "took over: no twin above it heard for {} s",
            self.windows.takeover_after.as_secs()
        );
        self.reconsider(now, Cause::Silence, &reason)
    }

    fn reconsider(&mut self, now: Instant, cause: Cause, why: &str) -> Act {
        if self.role == Role::Active {
            return Act::Nothing;
        }
        let may = match self.pin {
            Pin::Standby => {
                !self.has_live_twins(now) && now.saturating_duration_since(self.born) >= self.windows.takeover_after
            }
            _ => !self.live(now).any(|t| t.rank > self.me),
        };
        if may {
            self.set(Role::Active, cause, why.to_string());
            Act::PublishNow
        } else {
            Act::Nothing
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(10);
    const GO_WINDOW: Duration = Duration::from_secs(360);
    const SKEW: Duration = Duration::from_secs(60);
    /// The wall clock the tests pretend it is, in Unix nanoseconds.
    const NOW_NS: u64 = 1_800_000_000_000_000_000;

    fn roles(pin: Pin, started_ns: u64, boot: &str) -> Roles {
        Roles::new(
            Rank::new(pin, started_ns, boot),
            pin,
            Windows {
                takeover_after: WINDOW,
                go_twin_after: GO_WINDOW,
                max_skew: SKEW,
            },
        )
    }

    /// A newspaper of this kind from twin `boot`, signed `sent_s` seconds after NOW_NS.
    fn signed(boot: &str, pin: &str, started_ns: u64, handover: bool, sent_s: u64) -> Story {
        Story {
            boot_id: Some(boot.into()),
            role_pin: Some(pin.into()),
            started_ns: Some(started_ns),
            sent_ns: Some(NOW_NS + sent_s * 1_000_000_000),
            handover,
            ..Story::default()
        }
    }

    fn story(boot: &str, pin: &str, started_ns: u64, handover: bool) -> Story {
        signed(boot, pin, started_ns, handover, 0)
    }

    /// A Go nara's newspaper: no boot ID, no signed time.
    fn go() -> Story {
        Story::default()
    }

    /// Hears `story` at `now`, which must be fresh.
    fn hear(roles: &mut Roles, story: &Story, now: Instant) -> Act {
        roles.heard(story, now, NOW_NS).expect("a fresh newspaper")
    }

    #[test]
    fn a_standby_takes_over_at_once_on_the_will_of_the_active_twins_connection() {
        let t0 = Instant::now();
        let mut standby = roles(Pin::Auto, 100, "s");
        let connected = |conn: u32, sent_s: u64| Story {
            conn: Some(conn),
            ..signed("a", "auto", 200, false, sent_s)
        };
        hear(&mut standby, &connected(1, 0), t0);
        hear(&mut standby, &connected(2, 1), t0);
        assert!(!standby.is_active());
        assert_eq!(standby.take_changes(), [(Role::Standby, Cause::Yielded)]);
        // The will of a connection it left: a recording, or the one before a reconnect.
        assert_eq!(standby.heard_will("a", 1, t0), Err(Rejection::Stale));
        // Of a process it never heard.
        assert_eq!(standby.heard_will("z", 9, t0), Err(Rejection::Stale));
        assert!(!standby.is_active());
        assert_eq!(standby.heard_will("a", 2, t0), Ok(Act::PublishNow));
        assert!(standby.is_active(), "{}", standby.reason);
        assert_eq!(standby.take_changes(), [(Role::Active, Cause::Will)]);
        // The will of a twin long silent counts for nothing: it was gone already.
        let mut standby = roles(Pin::Auto, 100, "s");
        hear(&mut standby, &connected(1, 0), t0);
        let late = t0 + WINDOW * 2;
        standby.tick(late);
        assert_eq!(standby.heard_will("a", 1, late), Err(Rejection::Stale));
    }

    #[test]
    fn the_will_of_a_lower_twin_leaves_the_active_one_as_it_is() {
        let t0 = Instant::now();
        let mut active = roles(Pin::Auto, 300, "me");
        hear(&mut active, &story("old", "auto", 100, false), t0);
        assert_eq!(active.heard_will("old", 0, t0), Ok(Act::Nothing));
        assert!(active.is_active());
        assert!(active.take_changes().is_empty());
    }

    #[test]
    fn the_newest_start_wins_and_the_older_twin_yields() {
        let t0 = Instant::now();
        let mut old = roles(Pin::Auto, 100, "old");
        let mut new = roles(Pin::Auto, 200, "new");
        assert!(old.is_active() && new.is_active(), "each starts active");
        assert_eq!(hear(&mut old, &story("new", "auto", 200, false), t0), Act::Nothing);
        assert!(!old.is_active(), "{}", old.reason);
        assert_eq!(
            hear(&mut new, &story("old", "auto", 100, false), t0),
            Act::PublishNow,
            "the newer answers at once so the older hears it"
        );
        assert!(new.is_active());
        assert_eq!(old.take_changes(), [(Role::Standby, Cause::Yielded)]);
        assert!(old.take_changes().is_empty(), "taken once");
    }

    #[test]
    fn pinned_active_outranks_a_newer_start() {
        let t0 = Instant::now();
        let mut pinned = roles(Pin::Active, 100, "a");
        let mut newer = roles(Pin::Auto, 200, "b");
        assert_eq!(hear(&mut pinned, &story("b", "auto", 200, false), t0), Act::PublishNow);
        hear(&mut newer, &story("a", "active", 100, false), t0);
        assert!(pinned.is_active() && !newer.is_active());
    }

    #[test]
    fn a_standby_takes_over_after_silence_or_at_once_on_handover() {
        let t0 = Instant::now();
        let mut standby = roles(Pin::Auto, 100, "s");
        hear(&mut standby, &story("a", "auto", 200, false), t0);
        assert!(!standby.is_active());
        assert_eq!(standby.tick(t0 + WINDOW), Act::Nothing, "still within the window");
        assert_eq!(standby.tick(t0 + WINDOW + Duration::from_secs(1)), Act::PublishNow);
        assert!(standby.is_active(), "{}", standby.reason);

        let mut standby = roles(Pin::Auto, 100, "s");
        hear(&mut standby, &story("a", "auto", 200, false), t0);
        assert_eq!(
            hear(&mut standby, &signed("a", "auto", 200, true, 1), t0),
            Act::PublishNow
        );
        assert!(standby.reason.contains("handed over"), "{}", standby.reason);
    }

    #[test]
    fn a_dead_twins_recorded_newspaper_keeps_it_alive_no_longer() {
        let t0 = Instant::now();
        let mut standby = roles(Pin::Auto, 100, "s");
        let last_words = story("a", "auto", 200, false);
        hear(&mut standby, &last_words, t0);
        // The active twin is killed; its last newspaper comes back every second.
        for second in 1..=WINDOW.as_secs() + 1 {
            let now = t0 + Duration::from_secs(second);
            assert_eq!(standby.heard(&last_words, now, NOW_NS), Err(Rejection::Replayed));
            standby.tick(now);
        }
        assert!(standby.is_active(), "took over on time: {}", standby.reason);
        // Its handover newspaper, recorded, hands nothing over twice either.
        let mut other = roles(Pin::Auto, 100, "s");
        let handover = signed("b", "auto", 200, true, 2);
        hear(&mut other, &handover, t0);
        assert_eq!(other.heard(&handover, t0, NOW_NS), Err(Rejection::Replayed));
    }

    #[test]
    fn what_is_remembered_of_each_boot_is_bounded() {
        let t0 = Instant::now();
        let mut roles = roles(Pin::Auto, u64::MAX, "me");
        for i in 0..(MAX_BOOTS_REMEMBERED as u64 * 2) {
            hear(&mut roles, &signed(&format!("b{i}"), "auto", i, false, i), t0);
        }
        assert_eq!(roles.newest_sent.len(), MAX_BOOTS_REMEMBERED);
        // Once past the skew, the signed time alone is enough: nothing is kept.
        let later = NOW_NS + 10_000 * 1_000_000_000;
        roles
            .heard(&signed("late", "auto", 1, false, 10_000), t0, later)
            .unwrap();
        assert_eq!(roles.newest_sent.len(), 1);
    }

    #[test]
    fn pinned_standby_never_takes_over_while_a_twin_is_heard() {
        let t0 = Instant::now();
        let mut canary = roles(Pin::Standby, 300, "c");
        assert!(!canary.is_active());
        for second in 0..30 {
            let now = t0 + Duration::from_secs(second);
            hear(&mut canary, &signed("a", "auto", 100, false, second), now);
            assert_eq!(canary.tick(now), Act::Nothing);
        }
        assert!(!canary.is_active());
        // Alone for a whole window: the nara must not vanish, so it speaks.
        assert_eq!(canary.tick(t0 + Duration::from_secs(29) + WINDOW * 2), Act::PublishNow);
    }

    #[test]
    fn a_go_nara_with_the_same_soul_is_believed_only_after_its_hey_there() {
        let t0 = Instant::now();
        let mut ours = roles(Pin::Active, 900, "x");
        // A Go newspaper of this soul, of any age, on its own: no proof of life.
        assert_eq!(ours.heard(&go(), t0, NOW_NS), Err(Rejection::Stale));
        assert!(ours.is_active());
        // Nor one that a twin of this kind said, whose first newspaper followed it.
        ours.heard_hello(t0);
        hear(&mut ours, &story("twin", "auto", 100, false), t0);
        assert_eq!(ours.heard(&go(), t0, NOW_NS), Err(Rejection::Stale));
        // A hey_there long before is no proof either.
        ours.heard_hello(t0);
        assert_eq!(ours.heard(&go(), t0 + SKEW * 2, NOW_NS), Err(Rejection::Stale));
        assert!(ours.is_active());
        // A Go nara starts: hey_there, then at once its newspaper.
        let start = t0 + SKEW * 3;
        ours.heard_hello(start);
        assert_eq!(hear(&mut ours, &go(), start), Act::Nothing);
        assert!(!ours.is_active(), "{}", ours.reason);
        assert!(ours.reason.contains("Go nara"));
        // It is believed while its newspapers keep coming, up to --plaza-missing-after
        // apart, and no longer.
        let later = start + GO_WINDOW;
        hear(&mut ours, &go(), later);
        assert_eq!(ours.tick(later + GO_WINDOW), Act::Nothing);
        assert_eq!(ours.heard(&go(), later + GO_WINDOW * 2, NOW_NS), Err(Rejection::Stale));
        assert_eq!(ours.tick(later + GO_WINDOW + Duration::from_secs(1)), Act::PublishNow);
        // And its chau hands the soul over at once.
        let mut ours = roles(Pin::Active, 900, "x");
        ours.heard_hello(t0);
        hear(&mut ours, &go(), t0);
        assert_eq!(ours.twin_left(t0), Act::PublishNow);
    }

    #[test]
    fn a_known_twins_fresh_newspaper_closes_the_window_its_hello_opened() {
        let t0 = Instant::now();
        let second = Duration::from_secs(1);
        let mut standby = roles(Pin::Auto, 100, "s");
        hear(&mut standby, &signed("a", "auto", 200, false, 0), t0);
        assert!(!standby.is_active());
        // The active twin reconnects: hey_there, then its newspaper at once.
        standby.heard_hello(t0 + second);
        hear(&mut standby, &signed("a", "auto", 200, false, 1), t0 + second);
        // A newspaper the soul's Go nara sent long ago, replayed right after.
        assert_eq!(standby.heard(&go(), t0 + second * 2, NOW_NS), Err(Rejection::Stale));
        // The active twin is killed: the standby takes over after the window.
        assert_eq!(standby.tick(t0 + second * 2 + WINDOW), Act::PublishNow);
        assert!(standby.is_active(), "{}", standby.reason);
    }

    #[test]
    fn a_twin_with_its_clock_ahead_beyond_the_skew_is_reported_as_a_second_speaker() {
        let t0 = Instant::now();
        let mut ours = roles(Pin::Auto, 100, "me");
        assert_eq!(ours.status(t0).two_speakers, None);
        ours.heard_ahead("fast", Duration::from_secs(120), t0);
        let two = ours.status(t0).two_speakers.expect("two speakers");
        assert_eq!((two.twin.as_str(), two.ahead_s), ("fast", 120));
        assert!(two.reason.contains("NTP"), "{}", two.reason);
        // Once it is no longer heard, it is no longer reported.
        assert_eq!(ours.status(t0 + WINDOW + Duration::from_secs(1)).two_speakers, None);
        // A standby does not speak: one speaker only.
        let mut standby = roles(Pin::Standby, 100, "me");
        standby.heard_ahead("fast", Duration::from_secs(120), t0);
        assert_eq!(standby.status(t0).two_speakers, None);
    }

    #[test]
    fn the_twins_remembered_are_bounded() {
        let t0 = Instant::now();
        let mut roles = roles(Pin::Auto, u64::MAX, "me");
        for i in 0..(MAX_TWINS as u64 * 3) {
            hear(
                &mut roles,
                &story(&format!("b{i}"), "auto", i, false),
                t0 + Duration::from_millis(i),
            );
        }
        assert_eq!(roles.twins.len(), MAX_TWINS);
    }
}
