//! When the process started: taken once, by the [`Metrics`](crate::metrics::Metrics)
//! the assembly creates, and read from there by `/api/status` (`started_at`,
//! `uptime_s`), the plaza (its newspapers' `process_uptime_s` and `started_ns`) and
//! `process_start_time_seconds`, so that all of them tell of the same start.

use std::time::{Instant, SystemTime};

/// When the process started, by the wall clock (for people) and the monotonic clock
/// (for uptime that a clock step cannot bend).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StartTime {
    wall: SystemTime,
    monotonic: Instant,
}

impl StartTime {
    /// This moment, by both clocks.
    pub(crate) fn now() -> Self {
        StartTime {
            wall: SystemTime::now(),
            monotonic: Instant::now(),
        }
    }

    /// The wall-clock start.
    pub(crate) fn wall(&self) -> SystemTime {
        self.wall
    }

    /// Whole seconds since the start, by the monotonic clock.
    pub(crate) fn uptime_s(&self) -> u64 {
        self.monotonic.elapsed().as_secs()
    }
}
