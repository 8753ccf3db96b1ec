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
//! `takeover_after`, or at once when the active one hands over on its way out. A twin
//! pinned `standby` takes over only when it hears no twin at all.

use super::message::Story;
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

/// The most twins remembered; more would only be a flood under a stolen soul.
const MAX_TWINS: usize = 64;
/// An active twin answers a lower one at most this often.
const REASSERT_EVERY: Duration = Duration::from_secs(1);

/// The role an operator pins a process to (`--plaza-role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pin {
    /// The newest start wins.
    Auto,
    /// Active whenever it runs (unless a Go nara holds the soul, which never yields).
    Active,
    /// Never active while another twin is heard: a canary that must not take over.
    Standby,
}

impl Pin {
    /// Parses `auto`, `active` or `standby`.
    pub fn parse(text: &str) -> Result<Pin, String> {
        match text {
            "auto" => Ok(Pin::Auto),
            "active" => Ok(Pin::Active),
            "standby" => Ok(Pin::Standby),
            _ => Err("expected auto, active or standby".into()),
        }
    }

    /// The name on the command line and in newspapers.
    pub fn as_str(self) -> &'static str {
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
pub enum Role {
    /// It publishes: hey_there, newspapers, chau.
    Active,
    /// It publishes nothing, and takes over when the active twin goes.
    Standby,
}

impl Role {
    /// The role's name in `/api/status` and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Active => "active",
            Role::Standby => "standby",
        }
    }
}

/// Why the role last changed, in a word: a bounded metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A higher twin spoke.
    Yielded,
    /// The active twin handed over as it stopped.
    HandedOver,
    /// The active twin said chau.
    Chau,
    /// No twin above it was heard for the takeover window.
    Silence,
}

impl Cause {
    /// Each cause with the role it leads to: every series of the role-change metric.
    pub const TRANSITIONS: [(Role, Cause); 4] = [
        (Role::Standby, Cause::Yielded),
        (Role::Active, Cause::HandedOver),
        (Role::Active, Cause::Chau),
        (Role::Active, Cause::Silence),
    ];

    /// The label.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Yielded => "yielded",
            Cause::HandedOver => "handed_over",
            Cause::Chau => "chau",
            Cause::Silence => "silence",
        }
    }
}

/// Where a twin stands in the rule; the highest wins.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank {
    pin: u8,
    started_ns: u64,
    boot_id: String,
}

impl Rank {
    /// The rank of a process pinned to `pin`, started at `started_ns`, with `boot_id`.
    pub fn new(pin: Pin, started_ns: u64, boot_id: &str) -> Rank {
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
                pin: 3,
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
pub enum Act {
    /// Nothing to send.
    Nothing,
    /// Send a newspaper now: this process just took over, or a lower twin must hear it.
    PublishNow,
}

struct Twin {
    rank: Rank,
    last_heard: Instant,
}

/// This process's role, and the twins it has heard.
pub struct Roles {
    me: Rank,
    pin: Pin,
    born: Instant,
    takeover_after: Duration,
    twins: HashMap<String, Twin>,
    role: Role,
    since: SystemTime,
    reason: String,
    last_reassert: Option<Instant>,
    changes: Vec<(Role, Cause)>,
}

/// The role part of `/api/status`.
#[derive(Clone, Debug, Serialize)]
pub struct RoleStatus {
    /// `active` or `standby`.
    pub role: Role,
    /// What `--plaza-role` pinned it to.
    pub pinned: Pin,
    /// Since when, RFC 3339.
    pub since: String,
    /// Why, in a sentence.
    pub reason: String,
    /// Twins heard within the takeover window.
    pub twins: usize,
}

impl Roles {
    /// The role of a process just started: active unless pinned standby (which first
    /// waits `takeover_after` to hear whether another twin is active).
    pub fn new(me: Rank, pin: Pin, takeover_after: Duration) -> Roles {
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
            takeover_after,
            twins: HashMap::new(),
            role,
            since: SystemTime::now(),
            reason,
            last_reassert: None,
            changes: Vec::new(),
        }
    }

    /// Whether this process publishes.
    pub fn is_active(&self) -> bool {
        self.role == Role::Active
    }

    /// The role changes not yet taken (for the metrics): to what, and why.
    pub fn take_changes(&mut self) -> Vec<(Role, Cause)> {
        std::mem::take(&mut self.changes)
    }

    /// When the role last changed (or the process started).
    pub fn since(&self) -> SystemTime {
        self.since
    }

    /// The role part of `/api/status` at `now`.
    pub fn status(&self, now: Instant) -> RoleStatus {
        RoleStatus {
            role: self.role,
            pinned: self.pin,
            since: humantime::format_rfc3339_seconds(self.since).to_string(),
            reason: self.reason.clone(),
            twins: self.live(now).count(),
        }
    }

    fn live(&self, now: Instant) -> impl Iterator<Item = &Twin> {
        self.twins
            .values()
            .filter(move |t| now.saturating_duration_since(t.last_heard) <= self.takeover_after)
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

    /// A verified newspaper signed with this soul by another process.
    pub fn heard(&mut self, story: &Story, now: Instant) -> Act {
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
        self.twins.insert(
            boot.clone(),
            Twin {
                rank: rank.clone(),
                last_heard: now,
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

    /// A chau signed with this soul by another process: whoever was active left.
    pub fn twin_left(&mut self, now: Instant) -> Act {
        self.twins.clear();
        self.reconsider(now, Cause::Chau, "took over: the active twin said chau")
    }

    /// Called every second: a standby takes over once the twins above it are silent.
    pub fn tick(&mut self, now: Instant) -> Act {
        let window = self.takeover_after;
        self.twins
            .retain(|_, t| now.saturating_duration_since(t.last_heard) <= window * 4);
        let reason = format!(
            "took over: no twin above it heard for {} s",
            self.takeover_after.as_secs()
        );
        self.reconsider(now, Cause::Silence, &reason)
    }

    fn reconsider(&mut self, now: Instant, cause: Cause, why: &str) -> Act {
        if self.role == Role::Active {
            return Act::Nothing;
        }
        let may = match self.pin {
            Pin::Standby => {
                !self.has_live_twins(now) && now.saturating_duration_since(self.born) >= self.takeover_after
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

    fn story(boot: &str, pin: &str, started_ns: u64, handover: bool) -> Story {
        Story {
            boot_id: Some(boot.into()),
            role_pin: Some(pin.into()),
            started_ns: Some(started_ns),
            handover,
            ..Story::default()
        }
    }

    #[test]
    fn the_newest_start_wins_and_the_older_twin_yields() {
        let t0 = Instant::now();
        let mut old = Roles::new(Rank::new(Pin::Auto, 100, "old"), Pin::Auto, WINDOW);
        let mut new = Roles::new(Rank::new(Pin::Auto, 200, "new"), Pin::Auto, WINDOW);
        assert!(old.is_active() && new.is_active(), "each starts active");
        assert_eq!(old.heard(&story("new", "auto", 200, false), t0), Act::Nothing);
        assert!(!old.is_active(), "{}", old.reason);
        assert_eq!(
            new.heard(&story("old", "auto", 100, false), t0),
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
        let mut pinned = Roles::new(Rank::new(Pin::Active, 100, "a"), Pin::Active, WINDOW);
        let mut newer = Roles::new(Rank::new(Pin::Auto, 200, "b"), Pin::Auto, WINDOW);
        assert_eq!(pinned.heard(&story("b", "auto", 200, false), t0), Act::PublishNow);
        newer.heard(&story("a", "active", 100, false), t0);
        assert!(pinned.is_active() && !newer.is_active());
    }

    #[test]
    fn a_standby_takes_over_after_silence_or_at_once_on_handover() {
        let t0 = Instant::now();
        let mut standby = Roles::new(Rank::new(Pin::Auto, 100, "s"), Pin::Auto, WINDOW);
        standby.heard(&story("a", "auto", 200, false), t0);
        assert!(!standby.is_active());
        assert_eq!(standby.tick(t0 + WINDOW), Act::Nothing, "still within the window");
        assert_eq!(standby.tick(t0 + WINDOW + Duration::from_secs(1)), Act::PublishNow);
        assert!(standby.is_active(), "{}", standby.reason);

        let mut standby = Roles::new(Rank::new(Pin::Auto, 100, "s"), Pin::Auto, WINDOW);
        standby.heard(&story("a", "auto", 200, false), t0);
        assert_eq!(standby.heard(&story("a", "auto", 200, true), t0), Act::PublishNow);
        assert!(standby.reason.contains("handed over"), "{}", standby.reason);
    }

    #[test]
    fn pinned_standby_never_takes_over_while_a_twin_is_heard() {
        let t0 = Instant::now();
        let mut canary = Roles::new(Rank::new(Pin::Standby, 300, "c"), Pin::Standby, WINDOW);
        assert!(!canary.is_active());
        for second in 0..30 {
            let now = t0 + Duration::from_secs(second);
            canary.heard(&story("a", "auto", 100, false), now);
            assert_eq!(canary.tick(now), Act::Nothing);
        }
        assert!(!canary.is_active());
        // Alone for a whole window: the nara must not vanish, so it speaks.
        assert_eq!(canary.tick(t0 + Duration::from_secs(29) + WINDOW * 2), Act::PublishNow);
    }

    #[test]
    fn a_go_nara_with_the_same_soul_is_never_challenged() {
        let t0 = Instant::now();
        let mut ours = Roles::new(Rank::new(Pin::Active, 900, "x"), Pin::Active, WINDOW);
        let go = Story::default();
        ours.heard(&go, t0);
        assert!(!ours.is_active(), "{}", ours.reason);
        assert!(ours.reason.contains("Go nara"));
        assert_eq!(ours.twin_left(t0), Act::PublishNow, "its chau hands the soul over");
    }

    #[test]
    fn the_twins_remembered_are_bounded() {
        let t0 = Instant::now();
        let mut roles = Roles::new(Rank::new(Pin::Auto, u64::MAX, "me"), Pin::Auto, WINDOW);
        for i in 0..(MAX_TWINS as u64 * 3) {
            roles.heard(
                &story(&format!("b{i}"), "auto", i, false),
                t0 + Duration::from_millis(i),
            );
        }
        assert_eq!(roles.twins.len(), MAX_TWINS);
    }
}
