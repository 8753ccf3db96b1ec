//! What the accept loop does when accepting fails, mostly for want of descriptors
//! (EMFILE/ENFILE): keep serving the connections already open, wait a little longer
//! each time (capped), count every failure, and log at a bounded rate: one line at the
//! first failure, then at most one line per [`REPORT_EVERY`] however often accepting
//! fails, recovers and fails again, each saying how many failed since the last.

use prometheus::IntCounter;
use std::time::{Duration, Instant};

const FIRST_WAIT: Duration = Duration::from_millis(10);
/// Capped so that a freed descriptor is used within half a second.
const MAX_WAIT: Duration = Duration::from_millis(500);
/// At most one log line per this long.
pub(crate) const REPORT_EVERY: Duration = Duration::from_secs(5);
/// The accept loop's state after failures: how long to wait next, and what to log.
pub(crate) struct AcceptBackoff {
    wait: Duration,
    /// Whether the last accept failed.
    failing: bool,
    /// Failures not yet in a log line, and when the last line was written.
    unreported: u64,
    last_line: Option<Instant>,
    counter: IntCounter,
}

impl AcceptBackoff {
    /// A backoff that counts failures in `counter`.
    pub(crate) fn new(counter: IntCounter) -> Self {
        AcceptBackoff {
            wait: FIRST_WAIT,
            failing: false,
            unreported: 0,
            last_line: None,
            counter,
        }
    }

    /// Whether a line may be written now.
    fn may_log(&self, now: Instant) -> bool {
        self.last_line.is_none_or(|at| now.duration_since(at) >= REPORT_EVERY)
    }

    /// Records a failed accept; returns how long to wait before the next.
    pub(crate) fn failed(&mut self, err: &std::io::Error) -> Duration {
        self.counter.inc();
        self.unreported += 1;
        let now = Instant::now();
        if self.may_log(now) {
            if self.unreported == 1 {
                tracing::warn!(
                    error = %err,
                    "accept failed; serving the open connections, retrying with backoff, and logging at most one line every {} s",
                    REPORT_EVERY.as_secs()
                );
            } else {
                tracing::warn!(
                    failed = self.unreported,
                    error = %err,
                    "{} accepts failed since the last line",
                    self.unreported
                );
            }
            self.unreported = 0;
            self.last_line = Some(now);
        }
        self.failing = true;
        let wait = self.wait;
        self.wait = (self.wait * 2).min(MAX_WAIT);
        wait
    }

    /// Records a successful accept: the next failure starts from a short wait. Failures
    /// not yet logged are told now if the rate allows, else with the next line.
    pub(crate) fn succeeded(&mut self) {
        if !self.failing {
            return;
        }
        self.failing = false;
        self.wait = FIRST_WAIT;
        let now = Instant::now();
        if self.unreported > 0 && self.may_log(now) {
            tracing::warn!(
                failed = self.unreported,
                "accepting again; {} accepts had failed since the last line",
                self.unreported
            );
            self.unreported = 0;
            self.last_line = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emfile() -> std::io::Error {
        std::io::Error::from_raw_os_error(24)
    }

    #[test]
    fn waits_grow_to_the_cap_and_reset_after_a_success() {
        let counter = IntCounter::new("t", "t").unwrap();
        let mut backoff = AcceptBackoff::new(counter.clone());
        let waits: Vec<Duration> = (0..10).map(|_| backoff.failed(&emfile())).collect();
        assert_eq!(waits[0], FIRST_WAIT);
        assert!(waits.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*waits.last().unwrap(), MAX_WAIT);
        assert_eq!(counter.get(), 10);
        backoff.succeeded();
        assert_eq!(backoff.failed(&emfile()), FIRST_WAIT);
    }

    #[test]
    fn failing_and_recovering_in_quick_turns_logs_one_line() {
        let mut backoff = AcceptBackoff::new(IntCounter::new("t", "t").unwrap());
        for _ in 0..100 {
            backoff.failed(&emfile());
            backoff.succeeded();
        }
        // The first failure was logged; the 99 after it wait for the next line.
        assert_eq!(backoff.unreported, 99);
    }
}
