//! The hooks' rate (`--on-event-rate`): a token bucket of N tokens, refilled at N a
//! minute. A quiet fleet's first N events run at once; a flood past that runs one event
//! every 60/N seconds, and drops the rest.

use std::time::{Duration, Instant};

/// Tokens for events: at most `capacity`, one back every `every`.
pub(crate) struct TokenBucket {
    capacity: u32,
    tokens: u32,
    every: Duration,
    /// When the last token came back (or the bucket was filled).
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket of `per_minute` tokens (at least 1), refilled at that many a minute.
    pub(crate) fn per_minute(per_minute: u32, now: Instant) -> TokenBucket {
        let capacity = per_minute.max(1);
        TokenBucket {
            capacity,
            tokens: capacity,
            every: Duration::from_secs(60) / capacity,
            refilled: now,
        }
    }

    /// Spends a token, if there is one at `now`.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled);
        let back = u32::try_from(elapsed.as_nanos() / self.every.as_nanos().max(1)).unwrap_or(u32::MAX);
        if back > 0 {
            self.tokens = self.tokens.saturating_add(back).min(self.capacity);
            self.refilled = if self.tokens == self.capacity {
                now
            } else {
                self.refilled + self.every * back
            };
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_rate_runs_then_one_per_interval() {
        let start = Instant::now();
        let mut bucket = TokenBucket::per_minute(30, start);
        let burst = (0..100).filter(|_| bucket.take(start)).count();
        assert_eq!(burst, 30);
        assert!(!bucket.take(start + Duration::from_millis(1999)));
        assert!(bucket.take(start + Duration::from_secs(2)));
        assert!(!bucket.take(start + Duration::from_secs(2)));
        // A quiet hour fills it again, no fuller than its capacity.
        let later = start + Duration::from_secs(3600);
        assert_eq!((0..100).filter(|_| bucket.take(later)).count(), 30);
    }
}
