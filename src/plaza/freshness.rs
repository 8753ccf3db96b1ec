//! Whether a verified message is news, or something already said: the freshness rules
//! that the plaza chapter states as a table (message kind × situation → accepted,
//! `replayed` or `stale`). Anyone on a shared broker can record every message and
//! publish it again later, so a message that verifies proves only that its sender once
//! said it; this module decides whether it says something now.
//!
//! - **Events** (hey_there, chau) carry a signed time: each must be newer than the last
//!   one accepted from that soul.
//! - **This nara's newspapers** carry a signed time too (`sent_ns`), judged the same way.
//! - **A Go nara's newspaper** carries no time, only its host's uptime, which implies a
//!   boot time (now − uptime). A genuine newspaper has the highest uptime of its boot so
//!   far; one recorded and replayed later implies a later boot than the truth, never an
//!   earlier one. So within a boot the uptime must grow, and the anchor follows it (a
//!   host whose clock drifts moves it a little each time); an earlier boot with a higher
//!   uptime replaces the anchor (a replay heard first is thereby corrected by the next
//!   genuine newspaper), unless it fits inside a boot this observer saw the nara leave;
//!   and the anchor moves *later* only after a verified hey_there, and only to a boot
//!   after the old one was last known alive (its newest uptime, or its chau), so that
//!   nothing recorded before then can move it.
//! - **A will** (see `will.rs`) is signed as its connection is made, so it is older than
//!   everything said on that connection, and its age says nothing: it has a rule of its
//!   own. It counts only if it names the process of the newest newspaper accepted (its
//!   `boot_id`) and a connection no older than the newest one heard from it (`conn`). A
//!   will of an older process or connection is `stale`, and so is one from a name that
//!   never sent a newspaper of this kind.
//! - **A lock-out ends**: whatever the anchor is, once the newspapers believed from a
//!   name have been silent for `--plaza-missing-after` while one other boot kept
//!   speaking, alone, for as long, that boot is believed. A single recording believed in
//!   the nara's place (which nothing in a Go newspaper can always tell from the truth)
//!   therefore keeps the real one out for that long, not until the name is forgotten.

use super::message::{Body, Rejection, Story, Will};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::num::NonZeroU32;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How stale a Go nara's `HostStats.Uptime` may be when it sends it: it refreshes its
/// host stats every 5 s.
const GO_UPTIME_LAG_S: u64 = 5;

/// The windows the rules judge by, from the settings.
#[derive(Clone, Copy, Debug)]
pub(super) struct Judging {
    /// `--plaza-max-skew`: how far an event's time may be from our clock, and two
    /// readings of one boot time from each other.
    pub(super) max_skew: Duration,
    /// `--plaza-missing-after`: how long the newspapers believed from a name must have
    /// been silent, and another boot heard alone, before that boot is believed. It is
    /// longer than any genuine gap between a nara's newspapers (or that nara would
    /// blink MISSING), so a nara that speaks is never replaced this way.
    pub(super) recover_after: Duration,
}

/// A boot of a Go nara's host, as its newspapers imply it: when (Unix seconds), and the
/// highest uptime heard from it (or what it must have reached when its nara said chau).
/// In 32 bits, as one is kept for every nara in the view: an uptime accepted is never
/// more than the Unix time, which fits until 2106; a host that booted at the epoch
/// itself does not exist, which leaves zero to mean "none" at no cost in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Boot {
    at_s: NonZeroU32,
    newest_uptime_s: u32,
}

impl Boot {
    /// The boot a newspaper heard at `now_s` with `uptime_s` implies, if it can exist.
    fn implied(uptime_s: u64, now_s: u64) -> Option<Boot> {
        let at_s = u32::try_from(now_s.checked_sub(uptime_s)?).ok()?;
        Some(Boot {
            at_s: NonZeroU32::new(at_s)?,
            newest_uptime_s: u32::try_from(uptime_s).ok()?,
        })
    }

    fn at(self) -> u32 {
        self.at_s.get()
    }

    /// The last moment this boot is known to have been alive.
    fn alive_until_s(self) -> u64 {
        u64::from(self.at()) + u64::from(self.newest_uptime_s)
    }

    /// Whether `other` implies this boot, within the skew.
    fn is(self, other: Boot, skew_s: u32) -> bool {
        other.at().abs_diff(self.at()) <= skew_s
    }

    /// Whether a newspaper implying `heard` could have been recorded in this boot (or,
    /// for an envelope, in one of the boots it covers): a recording implies a boot no
    /// earlier than its own, with an uptime its boot reached.
    fn holds(self, heard: Boot, skew_s: u32) -> bool {
        heard.at().saturating_add(skew_s) >= self.at() && heard.newest_uptime_s <= self.newest_uptime_s
    }

    /// One boot that holds every recording either holds: the earlier start, the
    /// higher uptime.
    fn envelope(self, other: Boot) -> Boot {
        Boot {
            at_s: self.at_s.min(other.at_s),
            newest_uptime_s: self.newest_uptime_s.max(other.newest_uptime_s),
        }
    }
}

/// A boot heard only in refused newspapers, while another is believed, and the uptime
/// it was first heard with: how long it has spoken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Candidate {
    boot: Boot,
    first_uptime_s: u32,
}

impl Candidate {
    /// Seconds between its first newspaper and its newest.
    fn spoken_for_s(self) -> u32 {
        self.boot.newest_uptime_s.saturating_sub(self.first_uptime_s)
    }
}

/// What has been accepted from one soul, to tell a fresh message from a replay. Small
/// and `Copy`: one is kept for every nara in the view, and for every name a full view
/// forgot while its pin stays; and in the state directory, as it is (see
/// `state_dir.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Freshness {
    newest_event_ns: u64,
    newest_paper_ns: u64,
    boot: Option<Boot>,
    /// The boot this observer last saw the nara leave for a later one (after a
    /// hey_there), or that a recovery replaced: a newspaper that fits inside it is a
    /// recording of it, and one of that boot with a higher uptime is that boot going on
    /// (the later one was a recording).
    past: Option<Boot>,
    /// Every boot it left before `past`, as one envelope: a newspaper that fits inside
    /// it is a recording of one of them, however many reboots ago.
    older: Option<Boot>,
    /// When a hey_there was accepted (Unix seconds), if no newspaper has been since.
    hello_s: Option<NonZeroU32>,
    /// A boot heard in refused newspapers, which is believed if it keeps speaking alone
    /// (see [`Judging::recover_after`]).
    candidate: Option<Candidate>,
    /// The process the newest newspaper of this kind came from, as [`process_key`]
    /// (0: none, or a Go newspaper came since), and the newest of its connections heard
    /// of: what a will must name to count.
    process: u64,
    conn: u32,
}

/// A process's random ID in the 64 bits the view keeps for it: the first eight bytes of
/// its SHA-256, never 0 (which means none). Boot IDs are drawn at random by the
/// processes themselves, and a will must be signed with the soul: nobody can choose one
/// that collides with another's.
pub(super) fn process_key(boot_id: &str) -> u64 {
    let digest = Sha256::digest(boot_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first).max(1)
}

fn unix_s(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Seconds in the 32 bits a [`Boot`] keeps them in, saturating.
fn short(seconds: u64) -> u32 {
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

/// How a Go newspaper that is news moves the anchor.
enum Move {
    /// To it, the boot before staying as it is (the first, the same boot, an earlier one).
    Follow,
    /// To a later boot: the one before retires.
    Reboot,
}

impl Freshness {
    /// Accepts `body` as fresh at `now` and records it, or says why not.
    ///
    /// A refused Go newspaper may still leave evidence behind (a boot that keeps
    /// speaking while another is believed, see [`Judging::recover_after`]): a caller
    /// that keeps this name's history keeps `self` whatever the outcome; one that
    /// judges a name it does not keep works on a copy.
    pub(super) fn admit(&mut self, body: &Body, now: SystemTime, judging: Judging) -> Result<(), Rejection> {
        match body {
            Body::HeyThere { sent_ns } | Body::Chau { sent_ns } => {
                if *sent_ns <= self.newest_event_ns {
                    return Err(Rejection::Replayed);
                }
                self.newest_event_ns = *sent_ns;
                if matches!(body, Body::HeyThere { .. }) {
                    self.hello_s = NonZeroU32::new(short(unix_s(now)));
                } else if let Some(boot) = &mut self.boot {
                    // It was alive until it left, whatever it said before: a newspaper
                    // from before the chau says less (allowing for the Go nara's stats
                    // lagging a few seconds behind).
                    let up_at_chau = unix_s(now).saturating_sub(u64::from(boot.at()) + GO_UPTIME_LAG_S);
                    boot.newest_uptime_s = boot.newest_uptime_s.max(short(up_at_chau));
                }
            }
            Body::Newspaper(Story {
                sent_ns: Some(sent_ns), ..
            }) => {
                // Signed with its time (checked against the skew already): each must be
                // newer than the last, whichever process of the soul sent it.
                if *sent_ns <= self.newest_paper_ns {
                    return Err(Rejection::Replayed);
                }
                self.newest_paper_ns = *sent_ns;
                self.hello_s = None;
                if let Body::Newspaper(story) = body {
                    self.heard_process(story);
                }
            }
            Body::Newspaper(story) => {
                self.admit_go_newspaper(story.host_uptime_s, unix_s(now), judging)?;
                // A Go process speaks for the name now, and it leaves no will.
                self.process = 0;
                self.conn = 0;
            }
            Body::Will(will) => self.admit_will(will)?,
        }
        Ok(())
    }

    /// The process and connection a newspaper of this kind came from: the newest of
    /// this name's, since it was accepted.
    fn heard_process(&mut self, story: &Story) {
        let Some(boot_id) = &story.boot_id else {
            return;
        };
        let process = process_key(boot_id);
        let conn = story.conn.unwrap_or(0);
        if process == self.process {
            self.conn = self.conn.max(conn);
        } else {
            self.process = process;
            self.conn = conn;
        }
    }

    /// A will counts only if it names the process of the newest newspaper accepted and
    /// a connection no older than the newest heard from it. One for a later connection
    /// (made, and ended before its first newspaper reached this observer) makes that
    /// the newest: the ones before it are stale from then on.
    fn admit_will(&mut self, will: &Will) -> Result<(), Rejection> {
        if self.process == 0 || process_key(&will.boot_id) != self.process || will.conn < self.conn {
            return Err(Rejection::Stale);
        }
        self.conn = will.conn;
        Ok(())
    }

    /// Whether a message signed at `signed_ns`, accepted, came after the will of
    /// `conn` signed at `will_signed_ns`: the nara outlived that connection's end.
    pub(super) fn outlived(body: &Body, conn: u32, will_signed_ns: u64) -> bool {
        match body {
            Body::HeyThere { sent_ns } | Body::Chau { sent_ns } => *sent_ns > will_signed_ns,
            Body::Newspaper(story) => {
                story.conn.is_some_and(|c| c > conn) || story.sent_ns.is_some_and(|sent| sent > will_signed_ns)
            }
            Body::Will(_) => false,
        }
    }

    /// When the host of the Go nara of this name booted (Unix seconds), as the
    /// newspapers believed imply it: a later one is a new boot (see `restarts.rs`).
    pub(super) fn go_boot_s(&self) -> Option<u32> {
        self.boot.map(Boot::at)
    }

    /// Whether a Go process speaks for this name: its newest newspaper was in the Go
    /// nara's format.
    pub(super) fn speaks_go(&self) -> bool {
        self.carried_newspaper() && self.process == 0
    }

    /// Whether this name has carried a newspaper: it said what it runs, and (on a
    /// broker with one account per name) that cost an account.
    pub(super) fn carried_newspaper(&self) -> bool {
        self.boot.is_some() || self.newest_paper_ns != 0
    }

    /// A newspaper in the Go nara's format, whose only clue to its age is its host's
    /// uptime. See the module documentation and the plaza chapter's table.
    fn admit_go_newspaper(&mut self, uptime_s: u64, now_s: u64, judging: Judging) -> Result<(), Rejection> {
        // A host that booted before 1970 (or at its first second) does not exist.
        let heard = Boot::implied(uptime_s, now_s).ok_or(Rejection::Stale)?;
        let skew_s = short(judging.max_skew.as_secs());
        match self.judge(heard, skew_s) {
            Ok(Move::Follow) => {}
            Ok(Move::Reboot) => self.retire_anchor(),
            Err(rejection) => {
                if !self.recovers(heard, now_s, skew_s, short(judging.recover_after.as_secs())) {
                    return Err(rejection);
                }
                // What was believed in its place goes where recordings are recognised,
                // if it started before (a later one is no past boot).
                if self.boot.is_some_and(|boot| boot.at() < heard.at()) {
                    self.retire_anchor();
                }
            }
        }
        // The anchor follows the newest accepted newspaper: a host whose clock drifts
        // moves it a little each time, never by more than the skew without the checks
        // above.
        self.boot = Some(heard);
        self.hello_s = None;
        if self.candidate.is_some_and(|c| c.boot.is(heard, skew_s)) {
            self.candidate = None;
        }
        Ok(())
    }

    /// The rules of the plaza chapter's table for a Go newspaper implying `heard`.
    fn judge(&self, heard: Boot, skew_s: u32) -> Result<Move, Rejection> {
        let Some(boot) = self.boot else {
            // The first Go newspaper under a name that has spoken in our format (its
            // twins sign their time) must be announced by a hey_there: a Go process of
            // the soul says one as it starts.
            if self.newest_paper_ns != 0 && self.hello_s.is_none() {
                return Err(Rejection::Stale);
            }
            return Ok(Move::Follow);
        };
        if boot.is(heard, skew_s) {
            // The same boot: only a higher uptime is news. The same one again is a
            // duplicate; a lower one, a recording.
            return if heard.newest_uptime_s > boot.newest_uptime_s {
                Ok(Move::Follow)
            } else {
                Err(Rejection::Replayed)
            };
        }
        if heard.at() < boot.at() {
            // An earlier boot: a recording never implies one earlier than the truth of
            // its own boot, so with a higher uptime this is the truth and the anchor
            // was a recording (or the nara moved to a host up for longer), unless it
            // fits inside a boot this observer saw the nara leave: a recording of
            // that one, however many reboots ago.
            if heard.newest_uptime_s <= boot.newest_uptime_s {
                return Err(Rejection::Stale);
            }
            if let Some(past) = self.past
                && past.is(heard, skew_s)
                && heard.newest_uptime_s > past.newest_uptime_s
            {
                // The boot it left goes on: the later one was a recording. (A
                // recording of an older boot could say as much, for as long as the
                // nara's next newspaper takes to follow it.)
                return Ok(Move::Follow);
            }
            let recorded = |boots: Option<Boot>| boots.is_some_and(|boots| boots.holds(heard, skew_s));
            if recorded(self.past) || recorded(self.older) {
                return Err(Rejection::Replayed);
            }
            return Ok(Move::Follow);
        }
        // A later boot: the host rebooted, or this is a recording. Only after a
        // hey_there, and only to a boot after the old one was last known alive and
        // before the hey_there that announced it.
        let hello_s = self.hello_s.ok_or(Rejection::Stale)?.get();
        if u64::from(heard.at()) + u64::from(skew_s) < boot.alive_until_s()
            || heard.at() > hello_s.saturating_add(skew_s)
        {
            return Err(Rejection::Stale);
        }
        Ok(Move::Reboot)
    }

    /// The anchor is a boot the nara left: from now on a recording of it is one.
    fn retire_anchor(&mut self) {
        if let Some(boot) = self.boot
            && let Some(past) = self.past.replace(boot)
        {
            self.older = Some(self.older.map_or(past, |older| older.envelope(past)));
        }
    }

    /// A refused newspaper implying `heard` is evidence too: if the newspapers believed
    /// from this name have been silent for `recover_s` while one other boot kept
    /// speaking, alone, for as long, that boot is the nara (what was believed was a
    /// recording, or the nara moved to a host that booted while the old one still
    /// ran). Records `heard` as that boot, and says whether it is believed now.
    ///
    /// One boot is followed at a time. A boot heard more than once keeps its place
    /// until it has been silent for `recover_s`, so newspapers of other boots published
    /// in between cannot reset its count; a boot heard once gives its place to the next.
    fn recovers(&mut self, heard: Boot, now_s: u64, skew_s: u32, recover_s: u32) -> bool {
        let candidate = match self.candidate {
            Some(candidate) if candidate.boot.is(heard, skew_s) => {
                if heard.newest_uptime_s <= candidate.boot.newest_uptime_s {
                    // The same newspaper again, or an older one of that boot.
                    return false;
                }
                Candidate {
                    boot: heard,
                    ..candidate
                }
            }
            Some(candidate)
                if candidate.spoken_for_s() > 0 && now_s <= candidate.boot.alive_until_s() + u64::from(recover_s) =>
            {
                return false;
            }
            _ => Candidate {
                boot: heard,
                first_uptime_s: heard.newest_uptime_s,
            },
        };
        self.candidate = Some(candidate);
        let believed_until_s = self
            .boot
            .map_or(0, Boot::alive_until_s)
            .max(self.newest_paper_ns / 1_000_000_000);
        candidate.spoken_for_s() >= recover_s.max(1) && now_s >= believed_until_s + u64::from(recover_s)
    }

    /// Records an event this process signed itself, so that an older one of the soul
    /// (a recording of a process before it) is a replay.
    pub(super) fn sent_event(&mut self, sent_ns: u64) {
        self.newest_event_ns = self.newest_event_ns.max(sent_ns);
    }

    /// The newest event accepted from this soul (or signed by this process).
    pub(super) fn newest_event_ns(&self) -> u64 {
        self.newest_event_ns
    }
}

#[cfg(test)]
mod tests {
    //! One test per row of the plaza chapter's freshness table, at the level of a
    //! single soul's history.
    use super::*;

    const JUDGING: Judging = Judging {
        max_skew: Duration::from_secs(60),
        recover_after: Duration::from_secs(360),
    };
    /// The Go host booted at T0; `t(s)` is T0 + s.
    const T0: u64 = 1_800_000_000;

    fn t(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(T0 + s)
    }

    fn ns(s: u64) -> u64 {
        (T0 + s) * 1_000_000_000
    }

    fn paper(uptime: u64) -> Body {
        Body::Newspaper(Story {
            host_uptime_s: uptime,
            ..Story::default()
        })
    }

    fn signed_paper(sent: u64) -> Body {
        Body::Newspaper(Story {
            sent_ns: Some(ns(sent)),
            ..Story::default()
        })
    }

    fn hey(at: u64) -> Body {
        Body::HeyThere { sent_ns: ns(at) }
    }

    fn chau(at: u64) -> Body {
        Body::Chau { sent_ns: ns(at) }
    }

    /// Applies each (message, received at) in turn, keeping what each leaves behind
    /// as the view does for a name it keeps, and returns the results.
    fn run(steps: &[(Body, u64)]) -> Vec<Result<(), Rejection>> {
        let mut fresh = Freshness::default();
        steps
            .iter()
            .map(|(body, at)| fresh.admit(body, t(*at), JUDGING))
            .collect()
    }

    /// The nara's newspapers every 30 s from `from` to `until` (received at), its host
    /// booted at `booted`.
    fn speaking(booted: u64, from: u64, until: u64) -> Vec<(Body, u64)> {
        (from..=until).step_by(30).map(|at| (paper(at - booted), at)).collect()
    }

    #[test]
    fn an_event_must_be_newer_than_the_last_one_accepted() {
        assert_eq!(
            run(&[(hey(20), 20), (chau(19), 21), (hey(20), 21), (chau(21), 21)]),
            [Ok(()), Err(Rejection::Replayed), Err(Rejection::Replayed), Ok(())]
        );
    }

    #[test]
    fn our_newspapers_must_be_newer_than_the_last_one_accepted() {
        assert_eq!(
            run(&[(signed_paper(10), 10), (signed_paper(10), 11), (signed_paper(11), 11)]),
            [Ok(()), Err(Rejection::Replayed), Ok(())]
        );
    }

    #[test]
    fn within_a_boot_only_a_higher_uptime_is_news() {
        assert_eq!(
            run(&[
                (paper(100), 100),
                (paper(130), 130),
                (paper(130), 131),
                (paper(100), 140)
            ]),
            [Ok(()), Ok(()), Err(Rejection::Replayed), Err(Rejection::Replayed)],
            "the same newspaper again is a duplicate; an older one a replay"
        );
    }

    #[test]
    fn an_old_newspaper_heard_first_is_corrected_by_the_next_genuine_one() {
        // Captured an hour ago (uptime 3400), replayed at 7000 to an observer that
        // knows nothing yet: it implies a boot at 3600.
        assert_eq!(
            run(&[
                (paper(3400), 7000),
                (paper(7005), 7005),
                (paper(7035), 7035),
                // The replay again, now against the truth.
                (paper(3400), 7040),
            ]),
            [Ok(()), Ok(()), Ok(()), Err(Rejection::Stale)]
        );
    }

    #[test]
    fn a_newspaper_from_before_a_chau_cannot_move_the_boot_after_a_restart() {
        assert_eq!(
            run(&[
                (paper(5000), 5000),
                (chau(5100), 5100),
                // Restarted on the same host; its hey_there, then a recording from
                // before the chau (an hour old) before its first new newspaper.
                (hey(5110), 5110),
                (paper(1400), 5111),
                (paper(5112), 5112),
                (paper(5142), 5142),
            ]),
            [Ok(()), Ok(()), Ok(()), Err(Rejection::Stale), Ok(()), Ok(())]
        );
    }

    #[test]
    fn a_replay_within_the_skew_of_a_chau_is_older_than_the_chau() {
        assert_eq!(
            run(&[
                (paper(100), 100),
                (paper(200), 200),
                (chau(230), 230),
                (paper(210), 235)
            ]),
            [Ok(()), Ok(()), Ok(()), Err(Rejection::Replayed)]
        );
    }

    #[test]
    fn a_slowly_drifting_host_clock_is_followed() {
        // Each newspaper 30 s later implies a boot 1 s later: after 200 of them, 200 s
        // past the first, far beyond the skew.
        let steps: Vec<(Body, u64)> = (0..200u64).map(|i| (paper(1000 + 29 * i), 1000 + 30 * i)).collect();
        assert!(run(&steps).iter().all(Result::is_ok));
    }

    #[test]
    fn a_later_boot_needs_a_hey_there_and_a_time_after_the_old_boot_was_alive() {
        assert_eq!(
            run(&[
                (paper(100), 100),
                // Rebooted at 1000: uptime 20 at 1020, no hey_there heard.
                (paper(20), 1020),
                (hey(1025), 1025),
                (paper(26), 1026),
                // The old boot's newspaper is now a recording of the boot before.
                (paper(100), 1030),
            ]),
            [Ok(()), Err(Rejection::Stale), Ok(()), Ok(()), Err(Rejection::Replayed)]
        );
    }

    #[test]
    fn a_later_boot_after_the_hey_there_that_announced_it_is_impossible() {
        assert_eq!(
            run(&[(paper(100), 100), (hey(960), 960), (paper(1), 1100)]),
            [Ok(()), Ok(()), Err(Rejection::Stale)]
        );
    }

    #[test]
    fn a_recording_of_the_boot_before_a_reboot_is_a_replay() {
        assert_eq!(
            run(&[
                (paper(100), 100),
                (paper(900), 900),
                (hey(1025), 1025),
                (paper(25), 1025),
                // Recorded at 500 in the old boot (uptime 500), replayed at 1100: it
                // implies a boot at 600, earlier than the new one, with more uptime.
                (paper(500), 1100),
                (paper(105), 1105),
            ]),
            [Ok(()), Ok(()), Ok(()), Ok(()), Err(Rejection::Replayed), Ok(())]
        );
    }

    #[test]
    fn a_move_to_a_host_up_for_longer_is_an_earlier_boot_with_a_higher_uptime() {
        assert_eq!(
            run(&[(paper(100), 600), (hey(950), 950), (paper(951), 951)]),
            [Ok(()), Ok(()), Ok(())]
        );
    }

    #[test]
    fn a_go_newspaper_under_a_name_that_signs_its_time_needs_a_hey_there_first() {
        assert_eq!(
            run(&[
                (signed_paper(10), 10),
                (paper(5000), 11),
                (hey(12), 12),
                (paper(5013), 13),
            ]),
            [Ok(()), Err(Rejection::Stale), Ok(()), Ok(())]
        );
    }

    #[test]
    fn the_history_kept_for_every_nara_stays_small() {
        // One per nara in the view, 10,000 by default, and one per pin kept. 8 bytes
        // more than when only one past boot was kept (at most 160 KB over both
        // tables): the envelope of older boots. The boot heard while another is
        // believed fits in what the zero a boot time never is saves.
        // 16 bytes more for the process and connection a will must name: 320 KB over
        // both tables at the defaults.
        assert!(
            std::mem::size_of::<Freshness>() <= 72,
            "{}",
            std::mem::size_of::<Freshness>()
        );
    }

    #[test]
    fn a_recording_from_any_boot_before_a_reboot_seen_is_a_replay() {
        assert_eq!(
            run(&[
                // Boot A at 0, heard until 5000.
                (paper(5000), 5000),
                // Rebooted at 5100 (B), announced, heard until 6000.
                (hey(5130), 5130),
                (paper(30), 5130),
                (paper(900), 6000),
                // Rebooted at 6100 (C), announced.
                (hey(6130), 6130),
                (paper(30), 6130),
                // Recorded in A at 4000 (uptime 4000), replayed at 6200: it implies a
                // boot at 2200, earlier than C's, with more uptime.
                (paper(4000), 6200),
                (paper(130), 6230),
            ]),
            [
                Ok(()),
                Ok(()),
                Ok(()),
                Ok(()),
                Ok(()),
                Ok(()),
                Err(Rejection::Replayed),
                Ok(())
            ]
        );
    }

    #[test]
    fn a_recording_heard_first_locks_a_nara_out_for_the_recovery_window_only() {
        // The host ran a first boot from 0 to 50,000 and rebooted at 50,100. An
        // observer that starts at 60,000 first hears a newspaper recorded in the first
        // boot (uptime 40,000): it implies a boot at 20,000 with more uptime than the
        // real one has.
        let mut steps = vec![(paper(40_000), 60_000)];
        // Then the nara's own newspapers, every 30 s, after its hey_there.
        steps.push((hey(60_005), 60_005));
        let genuine: Vec<u64> = (0..40).map(|i| 60_010 + 30 * i).collect();
        steps.extend(genuine.iter().map(|&at| (paper(at - 50_100), at)));
        let results = run(&steps);
        assert_eq!(results[..2], [Ok(()), Ok(())]);
        let first_accepted = genuine[results[2..].iter().position(Result::is_ok).expect("accepted at last")];
        assert!(
            (60_000 + 360..=60_000 + 360 + 30).contains(&first_accepted),
            "first accepted at {first_accepted}"
        );
        assert!(results[2..].iter().skip_while(|r| r.is_err()).all(Result::is_ok));
    }

    #[test]
    fn a_recorded_stream_never_replaces_a_nara_that_keeps_speaking() {
        // The nara's host booted at 0, and it speaks every 300 s, the longest a Go
        // nara waits. For two hours, every 30 s in between, an attacker publishes
        // newspapers recorded in step from another boot (at 8,000): a later boot with
        // no hey_there, refused each time, however long it goes on.
        let mut steps = vec![(paper(10_000), 10_000)];
        for at in (10_030..17_200).step_by(30) {
            let uptime = if at % 300 == 100 { at } else { at - 8_000 };
            steps.push((paper(uptime), at));
        }
        let results = run(&steps);
        for ((body, at), result) in steps.iter().zip(&results) {
            let Body::Newspaper(story) = body else {
                unreachable!("only newspapers here")
            };
            assert_eq!(result.is_ok(), story.host_uptime_s == *at, "at {at}: {result:?}");
        }
    }

    #[test]
    fn a_boot_heard_once_now_and_then_never_takes_the_place_of_a_silent_one() {
        // A recording believed in the nara's place, then silence: single recordings
        // of other boots, each once, never add up to a boot that spoke.
        let mut steps = vec![(paper(40_000), 60_000)];
        steps.extend((1..100u64).map(|i| (paper(1_000 + i * 7_919 % 30_000), 60_000 + i * 30)));
        assert!(run(&steps)[1..].iter().all(Result::is_err));
    }

    #[test]
    fn newspapers_of_other_boots_in_between_do_not_reset_a_boot_that_keeps_speaking() {
        // The observer-restart lock-out, with one recording of another boot after
        // each genuine newspaper once the genuine one has spoken twice.
        let mut steps = vec![(paper(40_000), 60_000)];
        for (i, (body, at)) in speaking(50_100, 60_010, 61_000).into_iter().enumerate() {
            steps.push((body, at));
            if i >= 1 {
                steps.push((paper(20_000 + i as u64), at + 1));
            }
        }
        let results = run(&steps);
        let accepted_at: Vec<u64> = steps
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|((_, at), _)| *at)
            .collect();
        assert_eq!(accepted_at[0], 60_000);
        assert!((60_360..=60_400).contains(&accepted_at[1]), "{accepted_at:?}");
    }

    #[test]
    fn once_recovered_the_recording_it_replaced_is_refused() {
        let mut steps = vec![(paper(40_000), 60_000)];
        steps.extend(speaking(50_100, 60_010, 60_400));
        // The same recording again.
        steps.push((paper(40_000), 60_401));
        let results = run(&steps);
        assert!(results[results.len() - 2].is_ok(), "{results:?}");
        assert_eq!(results[results.len() - 1], Err(Rejection::Replayed));
        // A recording of that boot made later (a higher uptime) is not recognised:
        // each lock-out costs the attacker a recording it has not used, and lasts the
        // recovery window.
    }

    #[test]
    fn a_move_to_a_host_that_booted_while_the_old_one_ran_is_believed_after_the_recovery_window() {
        // On a host booted at 0 until 10,000; then on one booted at 5,000, which
        // looks like a recording from the old boot (a later boot, with no hey_there
        // heard) until it has spoken alone for the recovery window.
        let mut steps = speaking(0, 9_000, 10_000);
        let moved_from = steps.len();
        steps.extend(speaking(5_000, 10_020, 10_500));
        let results = run(&steps);
        let first_believed = steps[moved_from..]
            .iter()
            .zip(&results[moved_from..])
            .find(|(_, r)| r.is_ok())
            .map(|((_, at), _)| *at);
        assert!(
            first_believed.is_some_and(|at| (10_380..=10_420).contains(&at)),
            "{first_believed:?}"
        );
    }

    #[test]
    fn after_a_later_boot_that_was_a_recording_the_boot_left_goes_on_however_long_the_ones_before_lived() {
        assert_eq!(
            run(&[
                // A long first boot (50,000 s), then a reboot seen at 50,100 (C).
                (paper(50_000), 50_000),
                (hey(50_130), 50_130),
                (paper(30), 50_130),
                (paper(1_000), 51_100),
                // An attacker makes the nara say hey_there (a newspaper from a name it
                // does not know) and replays C's first newspaper: a later boot.
                (hey(52_000), 52_000),
                (paper(30), 52_001),
                // C's next genuine newspaper: the boot it left, going on.
                (paper(1_930), 52_030),
                (paper(1_960), 52_060),
            ]),
            [Ok(()), Ok(()), Ok(()), Ok(()), Ok(()), Ok(()), Ok(()), Ok(())]
        );
    }

    #[test]
    fn an_uptime_beyond_the_clock_is_stale() {
        assert_eq!(run(&[(paper(u64::MAX), 10)]), [Err(Rejection::Stale)]);
    }
}
