//! How long the transport waits before it tries the broker again: a wait that doubles
//! with each failure up to a cap, spread at random by up to half again, so that the
//! naras of a plaza do not all come back in the same instant when their broker does.
//! A refusal that only an operator can fix (credentials, a broker without MQTT 5)
//! starts and caps far higher. The wait starts short again after a connection that
//! lasted [`STABLE_AFTER`], or as soon as a valid plaza message arrives.
//!
//! A session taken over has a wait of its own: nara comes back under a new client ID,
//! so there is no one to fight, and the wait only keeps a client that keeps learning
//! the new IDs from making nara reconnect without pause. It doubles with each takeover
//! in a row, to a cap, and starts short again only after a connection that lasted.

use super::broker_trouble::Cause;
use std::time::{Duration, Instant};

const FIRST_WAIT: Duration = Duration::from_millis(250);
const MAX_WAIT: Duration = Duration::from_secs(30);
/// The longest a nara waits before it tries a broker that went away again: the cap and
/// its spread. A broker back from a restart has every live nara back within it.
pub(super) const LONGEST_WAIT: Duration = Duration::from_millis(MAX_WAIT.as_millis() as u64 * 3 / 2);
/// After a refusal that only an operator can fix (credentials, a broker without MQTT
/// 5), retrying every few seconds would only fill the broker's log and ours.
const REFUSED_FIRST_WAIT: Duration = Duration::from_secs(60);
const REFUSED_MAX_WAIT: Duration = Duration::from_secs(600);
/// A connection that lasted this long was a real one: the next failure backs off
/// from the start again. (A broker that accepts and then drops us at once must not
/// reset the backoff with every ConnAck.)
const STABLE_AFTER: Duration = Duration::from_secs(30);
/// After a takeover, nara connects again under a new client ID after this wait,
/// doubling with each takeover in a row up to [`TAKEOVER_MAX_WAIT`].
const TAKEOVER_FIRST_WAIT: Duration = Duration::from_secs(1);
const TAKEOVER_MAX_WAIT: Duration = Duration::from_secs(16);

/// The transport's backoff from the broker: the next wait, the failures since it was
/// last short, the takeovers in a row, and when the broker accepted the connection
/// now open.
#[derive(Debug)]
pub(super) struct BrokerBackoff {
    /// The next wait, before its random spread.
    wait: Duration,
    failures: u32,
    /// Takeovers since a connection last lasted [`STABLE_AFTER`].
    takeovers: u32,
    accepted_at: Option<Instant>,
}

impl BrokerBackoff {
    /// No failure yet: the first wait is short.
    pub(super) fn new() -> Self {
        BrokerBackoff {
            wait: FIRST_WAIT,
            failures: 0,
            takeovers: 0,
            accepted_at: None,
        }
    }

    /// The broker accepted the connection (a CONNACK) at `now`.
    pub(super) fn accepted(&mut self, now: Instant) {
        self.accepted_at = Some(now);
    }

    /// A valid plaza message arrived: this connection works, so the next failure
    /// starts from a short wait.
    pub(super) fn message_arrived(&mut self) {
        self.start_short();
    }

    /// The connection, or the attempt at one, ended at `now`. Returns whether the
    /// broker had accepted it; if it lasted [`STABLE_AFTER`], the next wait is short.
    pub(super) fn ended(&mut self, now: Instant) -> bool {
        if self.settled(now) {
            self.start_short();
        }
        self.accepted_at.take().is_some()
    }

    /// Whether the connection now open has lasted [`STABLE_AFTER`] at `now`; once it
    /// has, the takeovers before it no longer count.
    pub(super) fn settled(&mut self, now: Instant) -> bool {
        let lasted = self
            .accepted_at
            .is_some_and(|at| now.saturating_duration_since(at) >= STABLE_AFTER);
        if lasted {
            self.takeovers = 0;
        }
        lasted
    }

    /// Counts a takeover and returns how long to wait before connecting under a new
    /// client ID: [`TAKEOVER_FIRST_WAIT`], doubled for each takeover in a row before
    /// it, up to [`TAKEOVER_MAX_WAIT`], spread by up to half again.
    pub(super) fn taken_over(&mut self) -> Duration {
        self.failures += 1;
        let wait = TAKEOVER_FIRST_WAIT
            .saturating_mul(1 << self.takeovers.min(16))
            .min(TAKEOVER_MAX_WAIT);
        self.takeovers = self.takeovers.saturating_add(1);
        wait + jitter(wait / 2)
    }

    /// Counts a failure for `cause` and returns how long to wait before the next try;
    /// the wait after it doubles, up to the cap for `cause`.
    pub(super) fn failed(&mut self, cause: Cause) -> Duration {
        self.failures += 1;
        let cap = if cause.needs_an_operator() {
            self.wait = self.wait.max(REFUSED_FIRST_WAIT);
            REFUSED_MAX_WAIT
        } else {
            MAX_WAIT
        };
        let wait = self.wait + jitter(self.wait / 2);
        self.wait = (self.wait * 2).min(cap);
        wait
    }

    /// Failures since the wait was last short.
    pub(super) fn failures(&self) -> u32 {
        self.failures
    }

    fn start_short(&mut self) {
        self.wait = FIRST_WAIT;
        self.failures = 0;
    }
}

/// A random duration in `[0, max]`: the backoff's spread, and the transport's other
/// waits that many naras must not end in the same instant.
pub(super) fn jitter(max: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    let millis = max.as_millis() as u64;
    if millis == 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(u64::from_le_bytes(bytes) % (millis + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that `wait` is `base` spread by at most half again.
    fn assert_spread(wait: Duration, base: Duration) {
        assert!(
            wait >= base && wait <= base + base / 2,
            "{wait:?} is not within [{base:?}, {:?}]",
            base + base / 2
        );
    }

    #[test]
    fn the_wait_starts_short_and_doubles_to_its_cap() {
        let mut backoff = BrokerBackoff::new();
        let mut base = FIRST_WAIT;
        for attempt in 1..=12 {
            assert_spread(backoff.failed(Cause::Unreachable), base);
            assert_eq!(backoff.failures(), attempt);
            base = (base * 2).min(MAX_WAIT);
        }
        assert_eq!(base, MAX_WAIT, "twelve failures reach the cap");
        assert_spread(backoff.failed(Cause::Lost), MAX_WAIT);
    }

    #[test]
    fn a_refusal_only_an_operator_can_fix_waits_longer_and_caps_higher() {
        let mut backoff = BrokerBackoff::new();
        let mut base = REFUSED_FIRST_WAIT;
        for _ in 0..8 {
            assert_spread(backoff.failed(Cause::Credentials), base);
            base = (base * 2).min(REFUSED_MAX_WAIT);
        }
        assert_spread(backoff.failed(Cause::Protocol), REFUSED_MAX_WAIT);
        let mut backoff = BrokerBackoff::new();
        backoff.failed(Cause::Unreachable);
        assert_spread(backoff.failed(Cause::Protocol), REFUSED_FIRST_WAIT);
    }

    #[test]
    fn a_connection_that_lasted_starts_the_wait_short_again() {
        let mut backoff = BrokerBackoff::new();
        for _ in 0..5 {
            backoff.failed(Cause::Unreachable);
        }
        let at = Instant::now();
        backoff.accepted(at);
        assert!(backoff.ended(at + STABLE_AFTER), "the broker had accepted it");
        assert_spread(backoff.failed(Cause::Lost), FIRST_WAIT);
        assert_eq!(backoff.failures(), 1);
    }

    #[test]
    fn a_connection_dropped_at_once_keeps_the_wait_growing() {
        let mut backoff = BrokerBackoff::new();
        for _ in 0..5 {
            backoff.failed(Cause::Unreachable);
        }
        let at = Instant::now();
        backoff.accepted(at);
        assert!(backoff.ended(at + Duration::from_secs(1)));
        assert_spread(backoff.failed(Cause::Lost), FIRST_WAIT * 32);
        assert!(!backoff.ended(at), "no CONNACK since the last end");
    }

    #[test]
    fn a_valid_message_starts_the_wait_short_again() {
        let mut backoff = BrokerBackoff::new();
        for _ in 0..5 {
            backoff.failed(Cause::Credentials);
        }
        backoff.message_arrived();
        assert_eq!(backoff.failures(), 0);
        assert_spread(backoff.failed(Cause::Lost), FIRST_WAIT);
    }

    #[test]
    fn takeovers_in_a_row_wait_longer_to_a_cap() {
        let mut backoff = BrokerBackoff::new();
        let mut base = TAKEOVER_FIRST_WAIT;
        for _ in 0..8 {
            assert_spread(backoff.taken_over(), base);
            base = (base * 2).min(TAKEOVER_MAX_WAIT);
        }
        assert_eq!(base, TAKEOVER_MAX_WAIT, "eight takeovers reach the cap");
        assert_spread(backoff.taken_over(), TAKEOVER_MAX_WAIT);
    }

    #[test]
    fn takeovers_count_until_a_connection_lasts_and_a_message_does_not_reset_them() {
        let mut backoff = BrokerBackoff::new();
        backoff.taken_over();
        backoff.taken_over();
        backoff.message_arrived();
        assert_spread(backoff.taken_over(), TAKEOVER_FIRST_WAIT * 4);
        let at = Instant::now();
        backoff.accepted(at);
        assert!(!backoff.settled(at + STABLE_AFTER / 2), "not yet");
        assert_spread(backoff.taken_over(), TAKEOVER_FIRST_WAIT * 8);
        assert!(backoff.settled(at + STABLE_AFTER), "the connection lasted");
        assert_spread(backoff.taken_over(), TAKEOVER_FIRST_WAIT);
        backoff.taken_over();
        backoff.accepted(at);
        assert!(backoff.ended(at + STABLE_AFTER));
        assert_spread(backoff.taken_over(), TAKEOVER_FIRST_WAIT);
    }

    #[test]
    fn a_takeover_leaves_the_usual_wait_as_it_was() {
        let mut backoff = BrokerBackoff::new();
        backoff.failed(Cause::Unreachable);
        backoff.taken_over();
        assert_spread(backoff.failed(Cause::Unreachable), FIRST_WAIT * 2);
    }

    #[test]
    fn jitter_stays_within_its_bound() {
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
        let max = Duration::from_millis(10);
        let draws: Vec<Duration> = (0..1000).map(|_| jitter(max)).collect();
        assert!(draws.iter().all(|d| *d <= max), "{draws:?}");
        assert!(
            draws.iter().any(|d| *d != draws[0]),
            "a thousand draws are not all the same"
        );
    }
}
