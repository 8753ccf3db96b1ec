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
//!   genuine newspaper); and the anchor moves *later* only after a verified hey_there,
//!   and only to a boot after the old one was last known alive (its newest uptime, or its
//!   chau), so that nothing recorded before then can move it.

use super::message::{Body, Rejection, Story};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How stale a Go nara's `HostStats.Uptime` may be when it sends it: it refreshes its
/// host stats every 5 s.
const GO_UPTIME_LAG_S: u64 = 5;

/// A boot of a Go nara's host, as its newspapers imply it: when (Unix seconds), and the
/// highest uptime heard from it (or what it must have reached when its nara said chau).
/// In 32 bits, as one is kept for every nara in the view: an uptime accepted is never
/// more than the Unix time, which fits until 2106.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Boot {
    at_s: u32,
    newest_uptime_s: u32,
}

impl Boot {
    /// The last moment this boot is known to have been alive.
    fn alive_until_s(self) -> u64 {
        u64::from(self.at_s) + u64::from(self.newest_uptime_s)
    }
}

/// What has been accepted from one soul, to tell a fresh message from a replay. Small
/// and `Copy`: a message is judged on a copy, which is kept only if it is accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Freshness {
    newest_event_ns: u64,
    newest_paper_ns: u64,
    boot: Option<Boot>,
    /// The boot before the current one, once the anchor moved on after a hey_there:
    /// a newspaper that fits inside it is a recording of it.
    past: Option<Boot>,
    /// When a hey_there was accepted (Unix seconds), if no newspaper has been since.
    hello_s: Option<u32>,
}

fn unix_s(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Seconds in the 32 bits a [`Boot`] keeps them in, saturating.
fn short(seconds: u64) -> u32 {
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

impl Freshness {
    /// Accepts `body` as fresh at `now` and records it, or says why not. `skew` is
    /// `--plaza-max-skew`: how far two readings of one boot time may differ.
    pub(super) fn admit(&mut self, body: &Body, now: SystemTime, skew: Duration) -> Result<(), Rejection> {
        match body {
            Body::HeyThere { sent_ns } | Body::Chau { sent_ns } => {
                if *sent_ns <= self.newest_event_ns {
                    return Err(Rejection::Replayed);
                }
                self.newest_event_ns = *sent_ns;
                if matches!(body, Body::HeyThere { .. }) {
                    self.hello_s = Some(short(unix_s(now)));
                } else if let Some(boot) = &mut self.boot {
                    // It was alive until it left, whatever it said before: a newspaper
                    // from before the chau says less (allowing for the Go nara's stats
                    // lagging a few seconds behind).
                    let up_at_chau = unix_s(now).saturating_sub(u64::from(boot.at_s) + GO_UPTIME_LAG_S);
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
            }
            Body::Newspaper(story) => self.admit_go_newspaper(story.host_uptime_s, unix_s(now), skew.as_secs())?,
        }
        Ok(())
    }

    /// A newspaper in the Go nara's format, whose only clue to its age is its host's
    /// uptime. See the module documentation and the plaza chapter's table.
    fn admit_go_newspaper(&mut self, uptime_s: u64, now_s: u64, skew_s: u64) -> Result<(), Rejection> {
        // A host that booted before 1970 does not exist.
        let implied_s = now_s.checked_sub(uptime_s).ok_or(Rejection::Stale)?;
        let heard = Boot {
            at_s: u32::try_from(implied_s).map_err(|_| Rejection::Stale)?,
            newest_uptime_s: u32::try_from(uptime_s).map_err(|_| Rejection::Stale)?,
        };
        let uptime_s = heard.newest_uptime_s;
        let implied_s = heard.at_s;
        let skew_s = short(skew_s);
        match self.boot {
            None => {
                // The first Go newspaper under a name that has spoken in our format
                // (its twins sign their time) must be announced by a hey_there: a Go
                // process of the soul says one as it starts.
                if self.newest_paper_ns != 0 && self.hello_s.is_none() {
                    return Err(Rejection::Stale);
                }
            }
            Some(boot) if implied_s.abs_diff(boot.at_s) <= skew_s => {
                // The same boot: only a higher uptime is news. The same one again is a
                // duplicate; a lower one, a recording.
                if uptime_s <= boot.newest_uptime_s {
                    return Err(Rejection::Replayed);
                }
            }
            Some(boot) if implied_s < boot.at_s => {
                // An earlier boot: a recording never implies one earlier than the truth
                // of its own boot, so with a higher uptime this is the truth and the
                // anchor was a recording (or the nara moved to a host up for longer).
                if uptime_s <= boot.newest_uptime_s {
                    return Err(Rejection::Stale);
                }
                if self.past.is_some_and(|past| {
                    implied_s.saturating_add(skew_s) >= past.at_s && uptime_s <= past.newest_uptime_s
                }) {
                    // It fits inside the boot before: a recording of that one.
                    return Err(Rejection::Replayed);
                }
            }
            Some(boot) => {
                // A later boot: the host rebooted, or this is a recording. Only after a
                // hey_there, and only to a boot after the old one was last known alive
                // and before the hey_there that announced it.
                let Some(hello_s) = self.hello_s else {
                    return Err(Rejection::Stale);
                };
                if u64::from(implied_s) + u64::from(skew_s) < boot.alive_until_s()
                    || implied_s > hello_s.saturating_add(skew_s)
                {
                    return Err(Rejection::Stale);
                }
                self.past = Some(boot);
            }
        }
        // The anchor follows the newest accepted newspaper: a host whose clock drifts
        // moves it a little each time, never by more than the skew without the checks
        // above.
        self.boot = Some(heard);
        self.hello_s = None;
        Ok(())
    }

    /// Records an event this process signed itself, so that an older one of the soul
    /// (a recording of a process before it) is a replay.
    pub(super) fn sent_event(&mut self, sent_ns: u64) {
        self.newest_event_ns = self.newest_event_ns.max(sent_ns);
    }
}

#[cfg(test)]
mod tests {
    //! One test per row of the plaza chapter's freshness table, at the level of a
    //! single soul's history.
    use super::*;

    const SKEW: Duration = Duration::from_secs(60);
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

    /// Applies each (message, received at) in turn and returns the results.
    fn run(steps: &[(Body, u64)]) -> Vec<Result<(), Rejection>> {
        let mut fresh = Freshness::default();
        steps
            .iter()
            .map(|(body, at)| {
                let mut copy = fresh;
                let result = copy.admit(body, t(*at), SKEW);
                if result.is_ok() {
                    fresh = copy;
                }
                result
            })
            .collect()
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
        // One per nara in the view, 10,000 by default: no larger than before boots
        // were remembered twice.
        assert!(
            std::mem::size_of::<Freshness>() <= 48,
            "{}",
            std::mem::size_of::<Freshness>()
        );
    }

    #[test]
    fn an_uptime_beyond_the_clock_is_stale() {
        assert_eq!(run(&[(paper(u64::MAX), 10)]), [Err(Rejection::Stale)]);
    }
}
