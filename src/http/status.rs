//! `/api/status`: who this nara is and how long it has been up.

use crate::build_info;
use crate::plaza::identity::SoulSource;
use crate::plaza::{Plaza, PlazaStatus};
use crate::start_time::StartTime;
use serde::Serialize;

/// Everything here is safe to publish: the soul appears in no field, only its source.
#[derive(Debug, Serialize)]
pub(crate) struct StatusReport<'a> {
    pub(crate) name: &'a str,
    /// Derived from soul and name.
    pub(crate) id: &'a str,
    /// The public key its messages are signed with, standard Base64.
    pub(crate) public_key: &'a str,
    /// False when the soul was minted for another name.
    pub(crate) bonded: bool,
    /// When it was: which name to set, and why it matters.
    pub(crate) bond_advice: Option<&'a str>,
    /// Where the soul came from (never the soul).
    pub(crate) soul_source: SoulSource,
    /// The crate version.
    pub(crate) version: &'static str,
    /// The git revision it was built from.
    pub(crate) revision: &'static str,
    /// `release` or `debug`.
    pub(crate) profile: &'static str,
    /// RFC 3339, UTC, whole seconds.
    pub(crate) started_at: String,
    /// Seconds since start, by the monotonic clock.
    pub(crate) uptime_s: u64,
    /// The plaza: broker, connection, peer counts.
    plaza: PlazaStatus,
}

impl<'a> StatusReport<'a> {
    /// The report for this moment.
    pub(crate) fn new(plaza: &'a Plaza, started: &StartTime) -> Self {
        let identity = &plaza.identity;
        StatusReport {
            name: &identity.name,
            id: &identity.id,
            public_key: &identity.public_key,
            bonded: identity.bonded,
            bond_advice: identity.bond_advice.as_deref(),
            soul_source: identity.soul_source,
            version: build_info::VERSION,
            revision: build_info::REVISION,
            profile: build_info::PROFILE,
            started_at: humantime::format_rfc3339_seconds(started.wall()).to_string(),
            uptime_s: started.uptime_s(),
            plaza: plaza.status(),
        }
    }
}
