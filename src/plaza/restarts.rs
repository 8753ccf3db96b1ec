//! Restarts: how often each nara's process was replaced by a new one after it ended,
//! as this nara saw it, and whether it restarts so often that it is *flapping*.
//!
//! A restart is a new process of a nara heard after the one before it ended. What a
//! process of this kind is, its newspapers say (`boot_id`, random per process, and
//! `started_ns`); that it ended, the plaza says: a chau, a will (the broker saw its
//! connection die), or a silence long enough to be MISSING. Twins make the rest
//! (see `role.rs`): several processes of one soul run side by side, and the one that
//! speaks changes without any of them restarting.
//!
//! - A new process that started before the last word of the one before it (its newest
//!   signed newspaper, its chau, or its will, which the broker publishes a little more
//!   than [`WILL_DELAY`] after a dead process's socket closes) ran beside it: a
//!   twin, whether a standby taking over (on a handover, a will or a silence) or two
//!   processes alternating. Never a restart.
//! - A new process after the one before ended (the nara was OFFLINE, SUSPECT or MISSING
//!   in between, or said chau) is a restart.
//! - A new process while the one before is still ONLINE, which started after that one's
//!   last word, is what a rollout looks like (the new release takes over as it starts,
//!   the old one yields and falls silent, and stops later without a word), and what a
//!   crash looks like when the supervisor is faster than the broker's will (2 s). The
//!   will tells them apart: if the will of the process before arrives within
//!   [`LATE_WILL_WITHIN`] of the new process's first newspaper, it crashed and this is
//!   a restart; otherwise it is a rollout.
//! - A Go nara carries no process ID and no start time, nor any restart count in its
//!   newspapers (its own `Restarts` is each Go observer's guess, counting every return
//!   from MISSING). Its restarts here are what its newspapers prove: its host booted
//!   again (the boot time its uptime implies moved later), or it came back after its
//!   chau (a Go nara says chau as its process exits). A Go nara that crashed and came
//!   back on the same host cannot be told from one whose network blinked, and is not
//!   counted.
//!
//! A nara that restarted [`FLAP_COUNT`] times within [`FLAP_WINDOW`] is flapping until
//! the oldest of those is that old. All of it lives in the nara's entry in the view (at
//! most `--plaza-max-peers` of them), in a fixed size of about a hundred bytes; a nara
//! the view forgets starts again from none when it is heard again.

use super::freshness::process_key;
use super::message::{Body, Will};
use super::will::WILL_DELAY;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// This many restarts within [`FLAP_WINDOW`] make a nara flapping.
pub const FLAP_COUNT: usize = 3;
/// The window of [`FLAP_COUNT`] restarts. Kubernetes backs a crash-looping container
/// off to at most 5 minutes between starts, so one that keeps crashing restarts at
/// least three times in 15 minutes; systemd's default start limit stops a unit after
/// 5 starts in 10 s, well within it.
pub const FLAP_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long after a new process's first newspaper the will of the process before it
/// still says that one crashed: the broker notices a dead host within 1.5 times the
/// keepalive (30 s) and holds the will 2 s more; a crashed process's socket closes at
/// once.
pub const LATE_WILL_WITHIN: Duration = Duration::from_secs(60);

/// Which process speaks for the nara, as its newspapers say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
enum Speaker {
    /// No newspaper yet.
    #[default]
    Unknown,
    /// A newspaper without a process ID: a Go nara's (or a release of this kind from
    /// before twins, which `role.rs` takes for one too).
    Go,
    /// A process of this kind: its ID (as `freshness::process_key`) and its newest
    /// connection heard of.
    Ours { process: u64, conn: u32 },
}

/// The process that spoke before a new one took over while it was still ONLINE: a
/// will of it soon after says it crashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Replaced {
    process: u64,
    conn: u32,
    at: SystemTime,
}

/// [`Restarts`] whole, as the state directory keeps it (see `state_dir.rs`): times in
/// Unix milliseconds, 0 for none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct KeptRestarts {
    count: u32,
    last_ms: u64,
    recent: [u32; FLAP_COUNT],
    speaker: Speaker,
    alive_until_ns: u64,
    ended: bool,
    said_chau: bool,
    /// The replaced process, its connection and when (ms): `None` if none.
    replaced: Option<(u64, u32, u64)>,
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// How long before a will its process surely lived, beyond the will's delay: see
/// [`Restarts::heard`].
const WILL_MARGIN: Duration = Duration::from_secs(2);

/// A nara's restarts as this nara saw them, and what it takes to see the next.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Restarts {
    /// Restarts seen since this nara first heard of it.
    pub restarts: u32,
    /// When this nara saw the last one.
    #[serde(serialize_with = "rfc3339_or_null")]
    pub last_restart: Option<SystemTime>,
    /// It restarted [`FLAP_COUNT`] times within [`FLAP_WINDOW`].
    pub flapping: bool,
    /// The times of the last restarts (Unix seconds, newest last, 0: none).
    #[serde(skip)]
    recent: [u32; FLAP_COUNT],
    #[serde(skip)]
    speaker: Speaker,
    /// The newest signed time the speaking process was heard at (its newspapers, or
    /// its chau), Unix nanoseconds: a process that started before it ran beside it.
    #[serde(skip)]
    alive_until_ns: u64,
    /// The nara was not ONLINE since the speaker's last newspaper: it ended.
    #[serde(skip)]
    ended: bool,
    /// It said chau since the speaker's last newspaper.
    #[serde(skip)]
    said_chau: bool,
    #[serde(skip)]
    replaced: Option<Replaced>,
}

fn rfc3339_or_null<S: serde::Serializer>(time: &Option<SystemTime>, serializer: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serializer.collect_str(&humantime::format_rfc3339_seconds(*time)),
        None => serializer.serialize_none(),
    }
}

fn unix_s(time: SystemTime) -> u32 {
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

fn unix_ns(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Restarts {
    /// A message of the nara, accepted at `now`; `was_online`: whether it was ONLINE
    /// (neither OFFLINE, SUSPECT nor MISSING) just before, or joins with it.
    /// `go_reboot`: a Go newspaper whose implied host boot is later than the one
    /// believed before it. Returns whether it counted a restart.
    pub(super) fn heard(&mut self, was_online: bool, body: &Body, go_reboot: bool, now: SystemTime) -> bool {
        if !was_online {
            self.ended = true;
        }
        let story = match body {
            Body::Chau { sent_ns } => {
                self.ended = true;
                self.said_chau = true;
                self.alive_until_ns = self.alive_until_ns.max(*sent_ns);
                return false;
            }
            Body::Will(_) => {
                // The broker saw its connection end a little more than the will's delay
                // before now (mosquitto adds up to a second): a process started before
                // then ran beside it. One started after may have been started by a
                // supervisor at once (systemd waits 100 ms), so the margin takes two
                // seconds, for the broker and for the two clocks.
                let died_ns = unix_ns(now).saturating_sub(unix_ns(UNIX_EPOCH + WILL_DELAY + WILL_MARGIN));
                self.alive_until_ns = self.alive_until_ns.max(died_ns);
                return false;
            }
            Body::HeyThere { .. } => return false,
            Body::Newspaper(story) => story,
        };
        let previous = self.speaker;
        let (speaker, alive_ns) = match &story.boot_id {
            Some(boot_id) => {
                let process = process_key(boot_id);
                let conn = story.conn.unwrap_or(0);
                let conn = match previous {
                    Speaker::Ours { process: p, conn: c } if p == process => c.max(conn),
                    _ => conn,
                };
                (
                    Speaker::Ours { process, conn },
                    story.sent_ns.unwrap_or_else(|| unix_ns(now)),
                )
            }
            None => (Speaker::Go, unix_ns(now)),
        };
        let same = match (previous, speaker) {
            (Speaker::Ours { process: was, .. }, Speaker::Ours { process, .. }) => was == process,
            (Speaker::Go, Speaker::Go) => true,
            _ => false,
        };
        // It started before the last word of the one before: it ran beside it.
        let ran_beside = story.boot_id.is_some() && story.started_ns.is_some_and(|s| s <= self.alive_until_ns);
        let restarted = match previous {
            Speaker::Unknown => false,
            _ if same => speaker == Speaker::Go && (go_reboot || self.said_chau),
            _ => self.ended && !ran_beside,
        };
        if same {
            self.alive_until_ns = self.alive_until_ns.max(alive_ns);
        } else {
            // A process that took over while the one before was ONLINE, after that
            // one's last word: a rollout, unless that one's will follows.
            self.replaced = match previous {
                Speaker::Ours { process, conn } if !self.ended && !ran_beside => {
                    Some(Replaced { process, conn, at: now })
                }
                _ => None,
            };
            self.alive_until_ns = alive_ns;
        }
        self.speaker = speaker;
        self.ended = false;
        self.said_chau = false;
        if restarted {
            self.count(now, now);
        }
        restarted
    }

    /// A will refused as stale (it names no process that speaks now), heard at `now`:
    /// if it is the will of the process a new one replaced within [`LATE_WILL_WITHIN`],
    /// that one crashed, and the new one was a restart. Returns whether it counted one.
    pub(super) fn heard_late_will(&mut self, will: &Will, now: SystemTime) -> bool {
        let Some(replaced) = self.replaced else {
            return false;
        };
        let soon = now.duration_since(replaced.at).unwrap_or_default() <= LATE_WILL_WITHIN;
        if !soon || process_key(&will.boot_id) != replaced.process || will.conn < replaced.conn {
            return false;
        }
        self.replaced = None;
        self.count(replaced.at, now);
        true
    }

    /// Ends the flapping of a nara whose restarts are older than the window at `now`.
    /// Returns whether it changed.
    pub(super) fn settle(&mut self, now: SystemTime) -> bool {
        if self.flapping && !self.flaps(now) {
            self.flapping = false;
            return true;
        }
        false
    }

    /// All of it, for the state directory.
    pub(super) fn kept(&self) -> KeptRestarts {
        KeptRestarts {
            count: self.restarts,
            last_ms: self.last_restart.map_or(0, unix_ms),
            recent: self.recent,
            speaker: self.speaker,
            alive_until_ns: self.alive_until_ns,
            ended: self.ended,
            said_chau: self.said_chau,
            replaced: self.replaced.map(|r| (r.process, r.conn, unix_ms(r.at))),
        }
    }

    /// What [`Restarts::kept`] kept, back at `now` (flapping as the restarts kept say
    /// it is then).
    pub(super) fn from_kept(kept: KeptRestarts, now: SystemTime) -> Restarts {
        let mut restarts = Restarts {
            restarts: kept.count,
            last_restart: (kept.last_ms != 0).then(|| from_ms(kept.last_ms)),
            flapping: false,
            recent: kept.recent,
            speaker: kept.speaker,
            alive_until_ns: kept.alive_until_ns,
            ended: kept.ended,
            said_chau: kept.said_chau,
            replaced: kept.replaced.map(|(process, conn, at)| Replaced {
                process,
                conn,
                at: from_ms(at),
            }),
        };
        restarts.flapping = restarts.flaps(now);
        restarts
    }

    /// Restarts as a test states them: `count`, the last at `last`, and whether
    /// flapping.
    #[cfg(test)]
    pub(crate) fn seen(count: u32, last: SystemTime, flapping: bool) -> Restarts {
        Restarts {
            restarts: count,
            last_restart: Some(last),
            flapping,
            ..Restarts::default()
        }
    }

    /// A restart at `at`, counted at `now`.
    fn count(&mut self, at: SystemTime, now: SystemTime) {
        self.restarts = self.restarts.saturating_add(1);
        self.last_restart = Some(at);
        self.recent.rotate_left(1);
        self.recent[FLAP_COUNT - 1] = unix_s(at).max(1);
        self.flapping = self.flaps(now);
    }

    /// Whether the last [`FLAP_COUNT`] restarts all fall within the window before `now`.
    fn flaps(&self, now: SystemTime) -> bool {
        let oldest = self.recent[0];
        oldest != 0 && u64::from(unix_s(now).saturating_sub(oldest)) < FLAP_WINDOW.as_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plaza::message::{Message, Story};
    use crate::plaza::view::{ChangeKind, Limits, Peer, Status, View};

    const LIMITS: Limits = Limits {
        missing_after: Duration::from_secs(300),
        forget_after: Duration::from_secs(3600),
        max_peers: 100,
        max_skew: Duration::from_secs(60),
    };

    fn t(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    fn ns(at: u64) -> u64 {
        (1_800_000_000 + at) * 1_000_000_000
    }

    fn view() -> View {
        View::new(
            Peer {
                name: "me".into(),
                id: "id-me".into(),
                public_key: "key-me".into(),
                status: Status::Online,
                version: "1.0.0".into(),
                revision: "r".into(),
                public_url: None,
                version_history: Vec::new(),
                tags: crate::plaza::tags::Tags::default(),
                uptime_s: 0,
                host: Default::default(),
                first_seen: t(0),
                last_seen: t(0),
                is_self: true,
                restarts: Restarts::default(),
            },
            LIMITS,
        )
    }

    fn message(body: Body) -> Message {
        Message {
            name: "b".into(),
            public_key: "kb".into(),
            body,
        }
    }

    /// A newspaper of process `boot` (started at `t(started)`), connection `conn`,
    /// signed at `t(sent)`.
    fn paper(boot: &str, started: u64, conn: u32, sent: u64) -> Message {
        message(Body::Newspaper(Story {
            id: "id-b".into(),
            version: "1.0.0".into(),
            revision: Some("r".into()),
            sent_ns: Some(ns(sent)),
            boot_id: Some(boot.into()),
            conn: Some(conn),
            started_ns: Some(ns(started)),
            ..Story::default()
        }))
    }

    /// A Go newspaper: its host up `uptime` seconds.
    fn go_paper(uptime: u64) -> Message {
        message(Body::Newspaper(Story {
            id: "id-b".into(),
            version: "0.2.0".into(),
            host_uptime_s: uptime,
            ..Story::default()
        }))
    }

    fn hey(at: u64) -> Message {
        message(Body::HeyThere { sent_ns: ns(at) })
    }

    fn chau(at: u64) -> Message {
        message(Body::Chau { sent_ns: ns(at) })
    }

    fn will(boot: &str, conn: u32, signed: u64) -> Message {
        message(Body::Will(Will {
            boot_id: boot.into(),
            conn,
            signed_ns: ns(signed),
        }))
    }

    fn b(view: &View) -> Restarts {
        view.peer("b").expect("b is in the view").restarts.clone()
    }

    #[test]
    fn a_new_process_after_a_chau_is_a_restart_and_says_so_as_a_change() {
        let mut view = view();
        view.apply(&paper("p1", 0, 1, 10), t(10)).unwrap();
        view.apply(&paper("p1", 0, 1, 40), t(40)).unwrap();
        assert_eq!(b(&view).restarts, 0, "one process speaking is no restart");
        // systemctl restart: a handover nobody takes, chau, then the new process.
        view.apply(&chau(50), t(50)).unwrap();
        view.apply(&hey(52), t(52)).unwrap();
        let change = view.apply(&paper("p2", 51, 1, 52), t(52)).unwrap().expect("a change");
        assert_eq!(change.kind, ChangeKind::Change);
        assert_eq!(
            (change.peer.restarts.restarts, change.peer.restarts.last_restart),
            (1, Some(t(52)))
        );
        let json = serde_json::to_value(&change.peer).unwrap();
        assert_eq!(json["restarts"], 1);
        assert_eq!(json["last_restart"], "2027-01-15T08:00:52Z");
        assert_eq!(json["flapping"], false);
        // Its next newspapers are the same process.
        view.apply(&paper("p2", 51, 1, 80), t(80)).unwrap();
        assert_eq!(b(&view).restarts, 1);
    }

    #[test]
    fn a_new_process_after_a_will_or_a_silence_is_a_restart() {
        let mut view = view();
        view.apply(&paper("p1", 0, 1, 10), t(10)).unwrap();
        // Crashed: the broker publishes its will; MISSING; a new process.
        view.apply(&will("p1", 1, 0), t(20)).unwrap();
        view.confirm(t(25));
        view.apply(&paper("p2", 24, 1, 26), t(26)).unwrap();
        assert_eq!(b(&view).restarts, 1);
        // Its host lost power: silent until MISSING, then a new process.
        view.sweep(t(26 + 301));
        assert_eq!(view.peer("b").unwrap().status, Status::Missing);
        view.apply(&hey(400), t(400)).unwrap();
        view.apply(&paper("p3", 390, 1, 401), t(401)).unwrap();
        assert_eq!(b(&view).restarts, 2);
        assert_eq!(b(&view).last_restart, Some(t(401)));
    }

    #[test]
    fn the_same_process_back_from_missing_or_a_new_connection_is_no_restart() {
        let mut view = view();
        view.apply(&paper("p1", 0, 1, 10), t(10)).unwrap();
        view.apply(&will("p1", 1, 0), t(20)).unwrap();
        view.confirm(t(25));
        // Its network blinked: the same process, on its next connection.
        view.apply(&paper("p1", 0, 2, 30), t(30)).unwrap();
        view.sweep(t(30 + 301));
        view.apply(&paper("p1", 0, 3, 400), t(400)).unwrap();
        assert_eq!(b(&view).restarts, 0);
    }

    #[test]
    fn a_standby_twin_taking_over_is_no_restart() {
        let mut view = view();
        // p2 has run as a standby since 5; p1 speaks.
        view.apply(&paper("p1", 0, 1, 10), t(10)).unwrap();
        // p1 stops and hands over; p2 takes over at once.
        let mut handover = paper("p1", 0, 1, 40);
        if let Body::Newspaper(story) = &mut handover.body {
            story.handover = true;
        }
        view.apply(&handover, t(40)).unwrap();
        view.apply(&paper("p2", 5, 1, 41), t(41)).unwrap();
        assert_eq!(b(&view).restarts, 0, "a handover");
        // p1 came back as a standby at 50; p2 crashes: its will, and p1 takes over.
        view.apply(&will("p2", 1, 5), t(60)).unwrap();
        view.apply(&paper("p1b", 50, 1, 61), t(61)).unwrap();
        assert_eq!(b(&view).restarts, 0, "a standby taking over on a will");
        // Two twins alternating (each sure it should speak): never a restart.
        for i in 0..10 {
            let boot = if i % 2 == 0 { "p2b" } else { "p1b" };
            view.apply(&paper(boot, 55, 1, 70 + i), t(70 + i)).unwrap();
        }
        assert_eq!(b(&view).restarts, 0, "twins alternating");
    }

    #[test]
    fn a_rollout_is_no_restart_and_a_crash_faster_than_the_will_is_one() {
        let mut view = view();
        view.apply(&paper("old", 0, 1, 10), t(10)).unwrap();
        // The new release starts at 20 and takes over as it starts; the old one yields
        // without a word and stops later, cleanly.
        view.apply(&paper("new", 20, 1, 21), t(21)).unwrap();
        assert_eq!(b(&view).restarts, 0);
        // Its will comes only after the window: it was a standby killed later.
        assert_eq!(
            view.apply(&will("old", 1, 0), t(21 + 61)),
            Err(crate::plaza::message::Rejection::Stale)
        );
        assert_eq!(b(&view).restarts, 0);
        // A crash, restarted before the broker published the will: the will follows the
        // new process's first newspaper within a few seconds.
        view.apply(&paper("new2", 200, 1, 201), t(201)).unwrap();
        assert_eq!(b(&view).restarts, 0, "not yet known");
        let change = view.apply(&will("new", 1, 20), t(203)).unwrap().expect("a change");
        assert_eq!(change.peer.restarts.restarts, 1);
        assert_eq!(change.peer.restarts.last_restart, Some(t(201)));
        // The same will again counts nothing.
        assert!(view.apply(&will("new", 1, 20), t(204)).is_err());
        assert_eq!(b(&view).restarts, 1);
    }

    #[test]
    fn a_go_nara_restarts_when_its_host_boots_again_or_after_its_chau() {
        let mut view = view();
        view.apply(&hey(10), t(10)).unwrap();
        view.apply(&go_paper(1000), t(10)).unwrap();
        view.apply(&go_paper(1300), t(310)).unwrap();
        // Silent until MISSING, then back on the same boot: its network, not a restart.
        view.sweep(t(310 + 301));
        view.apply(&hey(700), t(700)).unwrap();
        view.apply(&go_paper(1690), t(700)).unwrap();
        assert_eq!(b(&view).restarts, 0);
        // It says chau as its process exits; back on the same host.
        view.apply(&chau(720), t(720)).unwrap();
        view.apply(&hey(730), t(730)).unwrap();
        view.apply(&go_paper(1720), t(730)).unwrap();
        assert_eq!(b(&view).restarts, 1);
        // Its host rebooted: hey_there, and a newspaper of a later boot.
        view.apply(&hey(900), t(900)).unwrap();
        view.apply(&go_paper(30), t(900)).unwrap();
        assert_eq!(b(&view).restarts, 2);
        assert_eq!(b(&view).last_restart, Some(t(900)));
    }

    #[test]
    fn three_restarts_within_the_window_flag_a_nara_flapping_until_they_age() {
        let mut view = view();
        view.apply(&paper("p0", 0, 1, 10), t(10)).unwrap();
        let mut clock = 10;
        for i in 1..=FLAP_COUNT as u64 {
            clock += 200;
            view.apply(&chau(clock), t(clock)).unwrap();
            view.apply(&paper(&format!("p{i}"), clock + 1, 1, clock + 2), t(clock + 2))
                .unwrap();
            assert_eq!(b(&view).flapping, i == FLAP_COUNT as u64, "after {i} restarts");
        }
        let first = 212;
        let settled = |changes: Vec<crate::plaza::view::Change>| {
            changes
                .into_iter()
                .filter(|c| c.kind == ChangeKind::Change && !c.peer.restarts.flapping)
                .count()
        };
        assert_eq!(settled(view.sweep(t(first + FLAP_WINDOW.as_secs() - 1))), 0);
        assert!(b(&view).flapping);
        assert_eq!(settled(view.sweep(t(first + FLAP_WINDOW.as_secs()))), 1);
        assert!(!b(&view).flapping);
        assert_eq!(b(&view).restarts, FLAP_COUNT as u32);
        assert_eq!(
            settled(view.sweep(t(first + FLAP_WINDOW.as_secs() + 1))),
            0,
            "announced once"
        );
        // Three restarts spread wider than the window never flag it.
        let mut wide = Restarts::default();
        for i in 0..6 {
            wide.count(t(i * 500), t(i * 500));
            assert!(!wide.flapping);
        }
    }

    #[test]
    fn what_each_nara_keeps_is_of_a_fixed_small_size() {
        // No list grows with restarts: the count saturates, the times kept are the last
        // FLAP_COUNT.
        assert!(
            std::mem::size_of::<Restarts>() <= 128,
            "{}",
            std::mem::size_of::<Restarts>()
        );
        let mut restarts = Restarts {
            restarts: u32::MAX - 1,
            ..Restarts::default()
        };
        for i in 0..10 {
            restarts.count(t(i), t(i));
        }
        assert_eq!(restarts.restarts, u32::MAX);
        assert_eq!(restarts.recent.len(), FLAP_COUNT);
        assert!(restarts.flapping);
    }

    #[test]
    fn a_nara_the_view_forgets_starts_again_from_none() {
        let mut view = view();
        view.apply(&paper("p1", 0, 1, 10), t(10)).unwrap();
        view.apply(&chau(20), t(20)).unwrap();
        view.apply(&paper("p2", 21, 1, 22), t(22)).unwrap();
        view.apply(&chau(30), t(30)).unwrap();
        assert_eq!(b(&view).restarts, 1);
        view.sweep(t(30 + 3601));
        assert!(view.peer("b").is_none());
        view.apply(&paper("p3", 4000, 1, 4001), t(4001)).unwrap();
        assert_eq!(b(&view), Restarts { ..b(&view) });
        assert_eq!(b(&view).restarts, 0);
    }
}
