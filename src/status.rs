//! `/api/status`: who this nara is and how long it has been up.

use crate::build_info;
use serde::Serialize;
use std::time::{Instant, SystemTime};

/// When the process started, by the wall clock (for people) and the monotonic clock
/// (for uptime that a clock step cannot bend).
#[derive(Clone, Copy, Debug)]
pub struct StartTime {
    wall: SystemTime,
    monotonic: Instant,
}

impl StartTime {
    pub fn now() -> Self {
        StartTime {
            wall: SystemTime::now(),
            monotonic: Instant::now(),
        }
    }

    pub fn uptime_s(&self) -> u64 {
        self.monotonic.elapsed().as_secs()
    }
}

#[derive(Debug, Serialize)]
pub struct StatusReport<'a> {
    pub name: &'a str,
    pub version: &'static str,
    pub revision: &'static str,
    pub profile: &'static str,
    /// RFC 3339, UTC, whole seconds.
    pub started_at: String,
    pub uptime_s: u64,
}

impl<'a> StatusReport<'a> {
    pub fn new(name: &'a str, started: &StartTime) -> Self {
        StatusReport {
            name,
            version: build_info::VERSION,
            revision: build_info::REVISION,
            profile: build_info::PROFILE,
            started_at: humantime::format_rfc3339_seconds(started.wall).to_string(),
            uptime_s: started.uptime_s(),
        }
    }
}
