//! What the broker holds for a newcomer: each nara's newspaper, retained, so that a
//! nara that joins (or a watcher that only listens) learns the plaza from the broker in
//! one subscription, without anyone answering it; and each will the broker published,
//! retained as long, so that it also learns who crashed.
//!
//! A retained newspaper is old by nature. It is judged by its signed time like any
//! newspaper (newer than what is known, or it is no news), may be as old as
//! [`expiry`] (the broker drops it then), and says the nara was last seen when it was
//! signed: a retained copy never makes a nara look younger than its own last word.
//!
//! Anyone on a shared broker may retain anything on a topic it may write, so what a
//! subscription brings is bounded per connection (`Budget`): at most two messages (a
//! newspaper and a will) for each nara the view holds, and [`BYTES_PER_NARA`] for each
//! nara; the rest is dropped after a look at its topic and size, and counted.

use std::time::Duration;

/// The retained bytes a connection reads per nara the view holds: a Go nara's
/// newspaper is one to two KiB, this nara's under one (about 1.5 KiB with its tags at
/// their limit), a will a few hundred bytes.
pub const BYTES_PER_NARA: usize = 4 * 1024;

/// How long the broker keeps a nara's retained newspaper (its Message Expiry): until
/// the nara would be MISSING anyway (`--plaza-missing-after`), so that a nara whose will
/// was lost still leaves the broker's memory, and never longer than MQTT can say.
pub fn expiry(missing_after: Duration) -> Duration {
    missing_after.min(Duration::from_secs(u64::from(u32::MAX)))
}

/// What one connection may still read of what the broker retained.
#[derive(Debug)]
pub(crate) struct Budget {
    messages: usize,
    bytes: usize,
}

impl Budget {
    /// A connection's budget, for a view of `max_peers` naras.
    pub(crate) fn new(max_peers: usize) -> Budget {
        Budget {
            // A newspaper and a will for each.
            messages: max_peers.saturating_mul(2),
            bytes: max_peers.saturating_mul(BYTES_PER_NARA),
        }
    }

    /// Takes one retained message of `len` bytes from the budget, if it has room.
    pub(crate) fn admit(&mut self, len: usize) -> bool {
        if self.messages == 0 || len > self.bytes {
            return false;
        }
        self.messages -= 1;
        self.bytes -= len;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_spent_by_messages_or_by_bytes_whichever_runs_out_first() {
        let mut budget = Budget::new(3);
        assert!((0..6).all(|_| budget.admit(10)));
        assert!(!budget.admit(1), "six messages for a view of three");
        let mut budget = Budget::new(3);
        assert!(budget.admit(3 * BYTES_PER_NARA - 10));
        assert!(!budget.admit(11), "the bytes ran out first");
        assert!(budget.admit(10));
    }

    #[test]
    fn the_retained_newspapers_expire_when_their_nara_would_be_missing() {
        assert_eq!(expiry(Duration::from_secs(360)), Duration::from_secs(360));
        assert_eq!(expiry(Duration::from_secs(u64::MAX)).as_secs(), u64::from(u32::MAX));
    }
}
