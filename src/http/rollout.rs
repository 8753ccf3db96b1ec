//! `GET /api/rollout`: the rollout as data (see `plaza::rollout`), against the
//! configured or inferred target, or the version a request asks about (`?version=V`,
//! which `nara rollout wait` polls).
//!
//! Its cost is bounded whatever the clients do: the fleet is read from the view (a copy
//! of it, under its lock) at most once per [`FRESH_FOR`] and shared by every answer in
//! between, and each answer is one pass over that copy with at most
//! [`BEHIND_LISTED`](crate::plaza::rollout::BEHIND_LISTED) naras named.

use crate::plaza::Plaza;
use crate::plaza::rollout::Fleet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one reading of the fleet serves every answer: a gate polling a few times a
/// second sees a change within this, and a flood of requests reads the view at most
/// ten times a second.
pub(crate) const FRESH_FOR: Duration = Duration::from_millis(100);

/// The most bytes of `?version=` taken; a version is a few dozen.
const MAX_VERSION_LEN: usize = 128;

/// The fleet as last read from the view, shared by the answers until it is stale.
#[derive(Default)]
pub(crate) struct RolloutCache {
    taken: Mutex<Option<(Instant, Arc<Fleet>)>>,
}

impl RolloutCache {
    /// The fleet, read anew from `plaza` if the last reading is older than
    /// [`FRESH_FOR`]. Requests that arrive while it is read wait and share it.
    fn fleet(&self, plaza: &Plaza) -> Arc<Fleet> {
        let mut taken = self.taken.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match taken.as_ref() {
            Some((at, fleet)) if at.elapsed() < FRESH_FOR => fleet.clone(),
            _ => {
                let fleet = Arc::new(Fleet::of(&plaza.snapshot().1));
                *taken = Some((Instant::now(), fleet.clone()));
                fleet
            }
        }
    }
}

/// The version a request's query asks about, if any; an error says what is wrong with
/// the query (an unknown parameter is refused, so that a typo does not answer for
/// another target).
fn asked_version(query: Option<&str>) -> Result<Option<String>, String> {
    let mut asked = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "version" if asked.is_some() => return Err("version is given twice".into()),
            "version" if value.is_empty() => return Err("version is empty".into()),
            "version" if value.len() > MAX_VERSION_LEN => {
                return Err(format!("version is longer than {MAX_VERSION_LEN} bytes"));
            }
            "version" => asked = Some(value.into_owned()),
            other => return Err(format!("unknown query parameter {other:?}; /api/rollout takes version")),
        }
    }
    Ok(asked)
}

/// The answer's JSON, or what is wrong with the request.
pub(crate) fn answer(cache: &RolloutCache, plaza: &Plaza, query: Option<&str>) -> Result<Vec<u8>, String> {
    let asked = asked_version(query)?;
    let fleet = cache.fleet(plaza);
    let configured = plaza.config.rollout_target.as_deref();
    let rollout = fleet.rollout(asked.as_deref(), configured);
    Ok(serde_json::to_vec(&rollout).expect("a rollout serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_one_version_or_nothing() {
        assert_eq!(asked_version(None), Ok(None));
        assert_eq!(asked_version(Some("")), Ok(None));
        assert_eq!(asked_version(Some("version=1.0.0%2Bb1")), Ok(Some("1.0.0+b1".into())));
        assert!(asked_version(Some("verison=1.0.0")).is_err_and(|e| e.contains("\"verison\"")));
        assert!(asked_version(Some("version=1&version=2")).is_err());
        assert!(asked_version(Some("version=")).is_err());
        assert!(asked_version(Some(&format!("version={}", "9".repeat(200)))).is_err());
    }
}
