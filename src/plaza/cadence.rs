//! When this nara's newspapers go out: at a random phase of their interval, and at an
//! interval that stretches as the plaza grows.
//!
//! Liveness rides on the broker (the will), so a newspaper only carries state, and the
//! plaza can afford fewer of them as it grows. The law, for a view of N naras:
//!
//! ```text
//! interval(N) = clamp(N / R, base, C)
//! ```
//!
//! with `base` the `--plaza-newspaper-interval`, R the `--plaza-fleet-rate` (messages
//! a second for the whole plaza) and C the longest interval: the plaza sends N / base
//! newspapers a second while that is under R, then R up to N = R × C, then N / C.
//! C is capped so that a nara whose newspaper is lost is not taken for gone: two
//! intervals in a row, each late by the spread, stay within the silence after which it
//! would be MISSING (`--plaza-missing-after`, which is also the retained newspapers'
//! expiry), and within the Go nara's 5 minutes while a Go nara is in the view.
//!
//! Nothing synchronises the plaza: each interval is spread by ±10 %, and an announce
//! (a connection made) starts this nara's phase again at a random point of its own
//! interval. No nara resets another's.

use super::retained;
use std::time::{Duration, Instant};

/// Each interval is the law's, spread this much either way at random.
const SPREAD: f64 = 0.1;
/// A Go nara calls a nara MISSING after this much silence in its own view.
const GO_MISSING_AFTER: Duration = Duration::from_secs(300);
/// The longest interval fits this many times, each late by the spread, in the
/// silence after which a nara is MISSING: one newspaper may be lost.
const INTERVALS_TO_MISSING: f64 = 2.0 * (1.0 + SPREAD);

/// The law, as this nara's settings make it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cadence {
    /// `--plaza-newspaper-interval`: the shortest interval.
    base: Duration,
    /// `--plaza-fleet-rate`: newspapers a second the whole plaza may send.
    rate: f64,
    /// `--plaza-missing-after`.
    missing_after: Duration,
}

impl Cadence {
    pub(crate) fn new(base: Duration, rate: f64, missing_after: Duration) -> Cadence {
        Cadence {
            base,
            rate,
            missing_after,
        }
    }

    /// C, the longest interval: a newspaper may be lost before anyone, a Go nara
    /// included while `go_around`, calls this nara MISSING or the broker drops its
    /// retained copy. Never under the base interval, which the operator chose.
    pub(crate) fn longest(&self, go_around: bool) -> Duration {
        let mut silence = self.missing_after.min(retained::expiry(self.missing_after));
        if go_around {
            silence = silence.min(GO_MISSING_AFTER);
        }
        // Whole seconds, rounded down: the figure an operator reads stays plain.
        let longest_s = (silence.as_secs_f64() / INTERVALS_TO_MISSING).floor();
        Duration::from_secs(longest_s as u64).max(self.base)
    }

    /// The interval for a view of `naras` (ONLINE or SUSPECT, this one included).
    pub(crate) fn interval(&self, naras: usize, go_around: bool) -> Duration {
        let longest = self.longest(go_around);
        // Bounded before it becomes a Duration: no overflow, whatever the count.
        let wanted_s = (naras as f64 / self.rate).min(longest.as_secs_f64());
        Duration::from_secs_f64(wanted_s).clamp(self.base, longest)
    }

    /// How long a standby twin waits, silent its active twin, before it takes over:
    /// `base_window` while the interval is the base one, else two intervals and their
    /// spread, within the silence that makes a nara MISSING. Twins see the same plaza,
    /// so the standby's view stretches as the active one's does; the Go cap is left
    /// out, since it only shortens the active twin's interval.
    pub(crate) fn takeover_after(&self, naras: usize, base_window: Duration) -> Duration {
        let interval = self.interval(naras, false);
        if interval <= self.base {
            return base_window;
        }
        interval
            .mul_f64(INTERVALS_TO_MISSING)
            .min(self.missing_after)
            .max(base_window)
    }
}

/// How often a nara says hey_there while a Go nara is in its view (±10 %, so at most
/// 238 s apart). A Go nara derives who is ONLINE from its event ledger, which our
/// newspapers never enter and a hey_there does: without one for 300 s it calls this
/// nara MISSING, and counts a restart at its next newspaper.
const GO_HELLO_EVERY: Duration = Duration::from_secs(216);

/// When this nara next says hey_there for the Go naras' sake.
#[derive(Debug)]
pub(crate) struct GoHello {
    next: Instant,
}

impl GoHello {
    pub(crate) fn new(now: Instant) -> GoHello {
        GoHello {
            next: now + spread(GO_HELLO_EVERY),
        }
    }

    /// This nara said hey_there (it announced itself): the next is a period away.
    pub(crate) fn said_hello(&mut self, now: Instant) {
        self.next = now + spread(GO_HELLO_EVERY);
    }

    /// Whether a hey_there is due at `now`: the period has passed and `go_around` (asked
    /// only then, since it looks over the whole view) says a Go nara is in view. Either
    /// way the next look is a period away.
    pub(crate) fn due(&mut self, now: Instant, go_around: impl FnOnce() -> bool) -> bool {
        if now < self.next {
            return false;
        }
        self.said_hello(now);
        go_around()
    }
}

/// `interval` spread by ±10 % at random: the wait until the next newspaper.
pub(crate) fn spread(interval: Duration) -> Duration {
    interval.mul_f64(1.0 - SPREAD + 2.0 * SPREAD * unit())
}

/// A random point of `interval`: the wait until the first newspaper after an announce.
pub(crate) fn phase(interval: Duration) -> Duration {
    interval.mul_f64(unit())
}

/// The wait until the next newspaper, the last one having been scheduled at
/// `previous`: the interval spread, or a random point of it when it grew by more than
/// the spread can cover. Naras that started together announce into views still
/// empty, so their first newspapers share the base interval; as their views fill, a
/// spread of ±10 % would keep them bunched within it for many intervals, where a new
/// phase spreads them over the whole longer interval at once.
pub(crate) fn next_wait(previous: Duration, interval: Duration) -> Duration {
    if interval.as_secs_f64() > previous.as_secs_f64() * (1.0 + 2.0 * SPREAD) {
        phase(interval)
    } else {
        spread(interval)
    }
}

/// A random number in [0, 1).
fn unit() -> f64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    // The top 53 bits, as many as an f64 holds exactly.
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    /// The defaults: 30 s, 10 a second, MISSING after 6 min.
    fn defaults() -> Cadence {
        Cadence::new(S(30), 10.0, S(360))
    }

    #[test]
    fn the_longest_interval_lets_one_newspaper_be_lost_and_stays_under_go_s_five_minutes() {
        let cadence = defaults();
        assert_eq!(cadence.longest(false), S(163));
        assert_eq!(cadence.longest(true), S(136));
        for go in [false, true] {
            let longest = cadence.longest(go);
            assert!(longest.mul_f64(2.2) <= S(360));
            assert!(longest < retained::expiry(S(360)));
        }
        assert!(cadence.longest(true).mul_f64(2.2) <= GO_MISSING_AFTER);
        // An operator's longer base interval stands.
        assert_eq!(Cadence::new(S(200), 10.0, S(360)).longest(false), S(200));
    }

    #[test]
    fn the_plaza_sends_n_over_base_then_at_most_r_then_n_over_c() {
        let cadence = defaults();
        let rate = |n: usize| n as f64 / cadence.interval(n, false).as_secs_f64();
        // Small plazas: the base interval, N / 30 a second.
        assert_eq!(cadence.interval(1, false), S(30));
        assert_eq!(cadence.interval(300, false), S(30));
        assert!((rate(300) - 10.0).abs() < 1e-9);
        // Up to R × C: the interval stretches, the rate stays at R.
        assert_eq!(cadence.interval(1000, false), S(100));
        for n in [301, 500, 1000, 1630] {
            assert!((rate(n) - 10.0).abs() < 1e-6, "{n}: {}", rate(n));
        }
        // Beyond: C, and the rate grows as N / C.
        assert_eq!(cadence.interval(10_000, false), cadence.longest(false));
        assert!((rate(10_000) - 10_000.0 / 163.0).abs() < 1e-9);
        assert_eq!(cadence.interval(10_000, true), cadence.longest(true));
        // Whatever the count, no overflow.
        assert_eq!(cadence.interval(usize::MAX, false), cadence.longest(false));
    }

    #[test]
    fn a_slower_fleet_rate_stretches_sooner() {
        let cadence = Cadence::new(S(30), 1.0, S(360));
        assert_eq!(cadence.interval(30, false), S(30));
        assert_eq!(cadence.interval(60, false), S(60));
    }

    #[test]
    fn a_standby_waits_two_stretched_intervals_but_never_past_missing() {
        let cadence = defaults();
        assert_eq!(cadence.takeover_after(10, S(60)), S(60));
        assert_eq!(cadence.takeover_after(1000, S(60)), S(220));
        assert_eq!(cadence.takeover_after(100_000, S(60)), S(163).mul_f64(2.2));
        assert_eq!(
            Cadence::new(S(30), 10.0, S(120)).takeover_after(100_000, S(60)),
            S(54).mul_f64(2.2)
        );
    }

    #[test]
    fn a_hey_there_for_the_go_naras_comes_under_their_five_minutes_and_only_while_one_is_in_view() {
        let start = Instant::now();
        let mut hello = GoHello::new(start);
        assert!(!hello.due(start + S(190), || panic!("not asked before the period")));
        assert!(hello.due(start + S(240), || true), "due by 240 s, with a Go nara");
        assert!(!hello.due(start + S(241), || true), "then a period away");
        // No Go nara in view at the next look: nothing, and the look after is a period on.
        assert!(!hello.due(start + S(480), || false));
        assert!(!hello.due(start + S(481), || true));
        assert!(hello.due(start + S(720), || true));
        // An announce (a hey_there of its own) starts the period again.
        hello.said_hello(start + S(900));
        assert!(!hello.due(start + S(1090), || true));
        assert!(hello.due(start + S(1140), || true));
    }

    #[test]
    fn an_interval_that_grew_past_the_spread_takes_a_new_phase_over_its_whole_length() {
        let waits: Vec<Duration> = (0..400).map(|_| next_wait(S(30), S(100))).collect();
        assert!(waits.iter().all(|w| *w < S(100)));
        assert!(
            waits.iter().any(|w| *w < S(30)),
            "some come sooner than the spread allows"
        );
        assert!(
            waits.iter().any(|w| *w > S(70)),
            "and some later: spread over the interval"
        );
        for _ in 0..400 {
            let steady = next_wait(S(100), S(105));
            assert!(
                steady >= S(94) && steady <= S(116),
                "{steady:?}: a steady view keeps its cadence"
            );
        }
    }

    #[test]
    fn spreads_stay_within_ten_percent_and_phases_within_the_interval() {
        let interval = S(100);
        let spreads: Vec<Duration> = (0..1000).map(|_| spread(interval)).collect();
        assert!(spreads.iter().all(|d| (S(90)..=S(110)).contains(d)));
        let phases: Vec<Duration> = (0..1000).map(|_| phase(interval)).collect();
        assert!(phases.iter().all(|d| *d < interval));
        // Spread over the interval, not bunched: each tenth of it gets some.
        for tenth in 0..10 {
            let (from, to) = (S(10 * tenth), S(10 * tenth + 10));
            assert!(
                phases.iter().any(|d| (from..to).contains(d)),
                "none in {from:?}..{to:?}"
            );
        }
    }
}
