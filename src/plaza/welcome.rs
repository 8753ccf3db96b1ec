//! When to welcome a newcomer: a nara answers another's hey_there with a newspaper, so
//! the newcomer sees it within seconds instead of up to a newspaper interval later. A
//! flood of hey_theres (fresh keys cost nothing) must not make it flood in turn, so the
//! welcomes draw on a small bucket: a few at once, then one per refill period.

use std::time::{Duration, Instant};

/// Welcomes that may go out back to back (a few naras joining together).
pub(crate) const BURST: u32 = 3;

/// A token bucket of welcomes.
#[derive(Debug)]
pub(crate) struct WelcomePacer {
    tokens: u32,
    refilled: Instant,
    refill: Duration,
}

impl WelcomePacer {
    /// Full, refilling one welcome per `refill`.
    pub(crate) fn new(refill: Duration, now: Instant) -> Self {
        WelcomePacer {
            tokens: BURST,
            refilled: now,
            refill: refill.max(Duration::from_millis(1)),
        }
    }

    /// When the next welcome may go out, at or after `now`, and takes it.
    pub(crate) fn next_slot(&mut self, now: Instant) -> Instant {
        let periods = now.saturating_duration_since(self.refilled).as_nanos() / self.refill.as_nanos();
        let periods = u32::try_from(periods).unwrap_or(u32::MAX);
        if periods > 0 {
            self.tokens = self.tokens.saturating_add(periods).min(BURST);
            self.refilled = if self.tokens == BURST {
                now
            } else {
                self.refilled + self.refill * periods
            };
        }
        if self.tokens > 0 {
            self.tokens -= 1;
            now
        } else {
            // The next token is spoken for: the welcome waits for it.
            self.refilled += self.refill;
            self.refilled
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_welcomes_go_at_once_then_one_per_refill() {
        let start = Instant::now();
        let refill = Duration::from_secs(10);
        let mut pacer = WelcomePacer::new(refill, start);
        for _ in 0..BURST {
            assert_eq!(pacer.next_slot(start), start);
        }
        assert_eq!(pacer.next_slot(start), start + refill);
        assert_eq!(pacer.next_slot(start), start + refill * 2);
    }

    #[test]
    fn a_flood_gets_one_welcome_per_refill_however_fast_it_comes() {
        let start = Instant::now();
        let refill = Duration::from_secs(10);
        let mut pacer = WelcomePacer::new(refill, start);
        let slots: Vec<Instant> = (0..1000)
            .map(|i| pacer.next_slot(start + Duration::from_millis(i)))
            .collect();
        let within_a_minute = slots.iter().filter(|s| **s < start + Duration::from_secs(60)).count();
        assert_eq!(within_a_minute, BURST as usize + 5, "{slots:?}");
    }

    #[test]
    fn a_quiet_bucket_fills_again() {
        let start = Instant::now();
        let refill = Duration::from_secs(10);
        let mut pacer = WelcomePacer::new(refill, start);
        for _ in 0..BURST {
            pacer.next_slot(start);
        }
        let later = start + refill * 10;
        for _ in 0..BURST {
            assert_eq!(pacer.next_slot(later), later);
        }
    }
}
