//! What the accept loop does when accepting fails, mostly for want of descriptors
//! (EMFILE/ENFILE): keep serving the connections already open, wait a little longer
//! each time (capped), count every failure, and log at a bounded rate: the first
//! failure at once, then at most one summary line per [`REPORT_EVERY`].

use prometheus::IntCounter;
use std::time::{Duration, Instant};

const FIRST_WAIT: Duration = Duration::from_millis(10);
const MAX_WAIT: Duration = Duration::from_millis(500);
/// At most one log line per this long while failures go on.
pub const REPORT_EVERY: Duration = Duration::from_secs(5);

pub struct AcceptBackoff {
    wait: Duration,
    /// Failures since the last line logged, and when that line was.
    unreported: u64,
    reported_at: Option<Instant>,
    counter: IntCounter,
}

impl AcceptBackoff {
    pub fn new(counter: IntCounter) -> Self {
        AcceptBackoff {
            wait: FIRST_WAIT,
            unreported: 0,
            reported_at: None,
            counter,
        }
    }

    /// Records a failed accept; returns how long to wait before the next.
    pub fn failed(&mut self, err: &std::io::Error) -> Duration {
        self.counter.inc();
        self.unreported += 1;
        let now = Instant::now();
        match self.reported_at {
            None => {
                tracing::warn!(
                    error = %err,
                    "accept failed; serving the open connections, retrying with backoff, and summarising further failures every {} s",
                    REPORT_EVERY.as_secs()
                );
                self.unreported = 0;
                self.reported_at = Some(now);
            }
            Some(at) if now.duration_since(at) >= REPORT_EVERY => {
                tracing::warn!(
                    failed = self.unreported,
                    error = %err,
                    "{} accepts failed in the last {} s",
                    self.unreported,
                    now.duration_since(at).as_secs()
                );
                self.unreported = 0;
                self.reported_at = Some(now);
            }
            Some(_) => {}
        }
        let wait = self.wait;
        self.wait = (self.wait * 2).min(MAX_WAIT);
        wait
    }

    /// Records a successful accept: the next failure starts from a short wait, and a
    /// run of failures ends with one line saying how many went unlogged.
    pub fn succeeded(&mut self) {
        if self.reported_at.is_none() {
            return;
        }
        if self.unreported > 0 {
            tracing::warn!(
                failed = self.unreported,
                "accepting again; {} more accepts had failed",
                self.unreported
            );
        } else {
            tracing::info!("accepting again");
        }
        self.wait = FIRST_WAIT;
        self.unreported = 0;
        self.reported_at = None;
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
}
