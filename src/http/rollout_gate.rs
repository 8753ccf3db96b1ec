//! `nara rollout wait`: a deploy gate. It asks a running nara, every 250 ms,
//! how the fleet stands against a version (`GET /api/rollout?version=V`) and returns
//! as soon as enough of the fleet runs it, or once the time is up.
//!
//! The fleet is the nara's: every nara ONLINE or MISSING, so one that crashed on the
//! new version still counts, against it; a nara whose version is not yet known is
//! behind. Polling rather than following `/api/events` keeps the cost to the nara at
//! one small answer per poll (it reads its view at most ten times a second however
//! many gates ask), and holds none of the event streams the web UI needs.

use super::client::{Client, Endpoint};
use crate::plaza::rollout::{Behind, FleetCounts};
use serde::Deserialize;
use std::time::Duration;
use tokio::time::Instant;

/// How often the nara is asked: a threshold reached is seen within this (plus the
/// nara's own [`FRESH_FOR`](super::rollout::FRESH_FOR)), well inside a second.
pub(crate) const POLL_EVERY: Duration = Duration::from_millis(250);

/// The longest one request may take before it is given up and asked again.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of an answer read. An answer names at most 100 naras, but lists every
/// version the fleet runs; 16 MiB is far past what a fleet of a million sends.
const ANSWER_LIMIT: usize = 16 * 1024 * 1024;

/// How many of the naras behind the last line names.
const NAMED: usize = 20;

/// What to wait for.
#[derive(Clone, Debug)]
pub struct Gate {
    /// The nara to ask (`http://HOST:PORT`, or `https://…`, under any path it is
    /// served at).
    pub url: String,
    /// The version the fleet should run.
    pub version: String,
    /// The share of the fleet that must run it, in percent (above 0, at most 100).
    pub min_percent: f64,
    /// How long to wait.
    pub timeout: Duration,
    /// How many naras at least must run it, whatever the share.
    pub min_count: Option<usize>,
}

/// How the wait ended, each with the line that says so.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Enough of the fleet runs the version.
    Reached(String),
    /// Time ran out: who is behind.
    TimedOut(String),
    /// The nara never gave an answer to count.
    Unreachable(String),
    /// The gate asked for something no nara can answer (a URL that is none).
    Invalid(String),
}

impl Outcome {
    /// The exit status: 0 reached, 1 timed out, 2 invalid, 3 unreachable.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Reached(_) => 0,
            Outcome::TimedOut(_) => 1,
            Outcome::Invalid(_) => 2,
            Outcome::Unreachable(_) => 3,
        }
    }

    /// The line that says how it ended.
    pub fn line(&self) -> &str {
        match self {
            Outcome::Reached(line) | Outcome::TimedOut(line) | Outcome::Unreachable(line) | Outcome::Invalid(line) => {
                line
            }
        }
    }
}

/// What the gate reads of `/api/rollout`.
#[derive(Debug, Deserialize)]
struct Standing {
    fleet: FleetCounts,
    behind: Vec<Behind>,
}

impl Gate {
    /// Hundredths of a percent: the share compared exactly, in integers.
    fn min_hundredths(&self) -> u64 {
        // Validated to (0, 100] where it is parsed.
        (self.min_percent * 100.0).round().clamp(1.0, 10_000.0) as u64
    }

    fn reached(&self, fleet: &FleetCounts) -> bool {
        let share = fleet.naras > 0 && fleet.on_target as u64 * 10_000 >= self.min_hundredths() * fleet.naras as u64;
        share && fleet.on_target >= self.min_count.unwrap_or(0)
    }

    /// `2 of 3 naras run 0.2.0 (66.7%; 100% needed)`.
    fn standing(&self, fleet: &FleetCounts) -> String {
        let share = match fleet.naras {
            0 => "none".to_string(),
            naras => percent(fleet.on_target as f64 * 100.0 / naras as f64),
        };
        let needed = match self.min_count {
            Some(count) => format!("{} and at least {count} naras needed", percent(self.min_percent)),
            None => format!("{} needed", percent(self.min_percent)),
        };
        let naras = if fleet.naras == 1 { "nara runs" } else { "naras run" };
        format!(
            "{} of {} {naras} {} ({share}; {needed})",
            fleet.on_target, fleet.naras, self.version,
        )
    }

    /// The line at the timeout: the standing, and who is behind.
    fn timed_out(&self, standing: &Standing) -> String {
        let mut named: Vec<String> = standing.behind.iter().take(NAMED).map(describe).collect();
        let more = standing.fleet.behind.saturating_sub(named.len());
        if more > 0 {
            named.push(format!("and {more} more"));
        }
        let behind = match named.is_empty() {
            true => "no one is behind, but the fleet is too small".to_string(),
            false => format!("behind: {}", named.join(", ")),
        };
        format!(
            "timed out after {}: {}; {behind}",
            humantime::format_duration(self.timeout),
            self.standing(&standing.fleet)
        )
    }
}

/// `hall (0.1.0)`, `attic (MISSING, 0.2.0)`, `new (version not yet known)`.
fn describe(nara: &Behind) -> String {
    let version = match nara.version.as_str() {
        "" => "version not yet known",
        version => version,
    };
    match nara.status.as_str() {
        "ONLINE" => format!("{} ({version})", nara.name),
        status => format!("{} ({status}, {version})", nara.name),
    }
}

/// `66.7%`, `100%`.
fn percent(value: f64) -> String {
    let text = format!("{value:.1}");
    format!("{}%", text.strip_suffix(".0").unwrap_or(&text))
}

/// Asks once: the fleet's standing, or why there is none.
async fn ask(client: &mut Client, route: &str) -> Result<Standing, String> {
    let answer = tokio::time::timeout(REQUEST_TIMEOUT, client.get(route, ANSWER_LIMIT))
        .await
        .map_err(|_| {
            format!(
                "no answer from {} within {}",
                client.endpoint().authority(),
                humantime::format_duration(REQUEST_TIMEOUT)
            )
        })??;
    let url = client.endpoint().url("/api/rollout");
    if !answer.status.is_success() {
        let error = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v["error"].as_str().map(String::from))
            .map_or_else(String::new, |e| format!(": {e}"));
        return Err(format!(
            "{url} answered {}{error} (is it a nara, and one new enough to have /api/rollout?)",
            answer.status
        ));
    }
    serde_json::from_slice(&answer.body).map_err(|e| format!("{url} answered no rollout: {e}"))
}

/// Waits as `gate` says, calling `progress` with a line each time the standing
/// changes or the nara cannot be reached in a new way.
pub async fn wait(gate: &Gate, mut progress: impl FnMut(&str)) -> Outcome {
    let endpoint = match Endpoint::parse(&gate.url) {
        Ok(endpoint) => endpoint,
        Err(e) => return Outcome::Invalid(format!("invalid value for --url: {e}")),
    };
    let mut client = match Client::new(endpoint, "nara-rollout-wait") {
        Ok(client) => client,
        Err(e) => return Outcome::Unreachable(e),
    };
    let route = format!(
        "/api/rollout?version={}",
        form_urlencoded::byte_serialize(gate.version.as_bytes()).collect::<String>()
    );
    let deadline = Instant::now() + gate.timeout;
    let mut last: Option<Standing> = None;
    let mut last_said = String::new();
    let mut last_error: Option<String> = None;
    loop {
        let asked_at = Instant::now();
        match ask(&mut client, &route).await {
            Ok(standing) => {
                if gate.reached(&standing.fleet) {
                    return Outcome::Reached(gate.standing(&standing.fleet));
                }
                let line = gate.standing(&standing.fleet);
                if line != last_said {
                    progress(&line);
                    last_said = line;
                }
                last = Some(standing);
                last_error = None;
            }
            Err(error) => {
                if last_error.as_ref() != Some(&error) {
                    progress(&format!("{error}; asking again until the timeout"));
                }
                last_error = Some(error);
            }
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        tokio::time::sleep_until((asked_at + POLL_EVERY).max(now).min(deadline)).await;
    }
    match (last, last_error) {
        (Some(standing), None) => Outcome::TimedOut(gate.timed_out(&standing)),
        (Some(standing), Some(error)) => {
            Outcome::TimedOut(format!("{} (and then: {error})", gate.timed_out(&standing)))
        }
        (None, error) => Outcome::Unreachable(format!(
            "timed out after {} without an answer to count: {}",
            humantime::format_duration(gate.timeout),
            error.unwrap_or_else(|| "no answer".into())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(min_percent: f64, min_count: Option<usize>) -> Gate {
        Gate {
            url: "http://127.0.0.1:9".into(),
            version: "0.2.0".into(),
            min_percent,
            timeout: Duration::from_secs(60),
            min_count,
        }
    }

    fn fleet(on_target: usize, naras: usize) -> FleetCounts {
        FleetCounts {
            naras,
            online: naras,
            on_target,
            behind: naras - on_target,
            ..FleetCounts::default()
        }
    }

    #[test]
    fn the_share_is_compared_exactly_and_the_count_too() {
        assert!(gate(100.0, None).reached(&fleet(3, 3)));
        assert!(!gate(100.0, None).reached(&fleet(2, 3)));
        assert!(!gate(66.67, None).reached(&fleet(2, 3)), "2 of 3 is 66.666…%");
        assert!(gate(66.66, None).reached(&fleet(2, 3)));
        assert!(!gate(50.0, Some(4)).reached(&fleet(3, 3)), "a fleet that shrank");
        assert!(gate(50.0, Some(2)).reached(&fleet(2, 4)));
        assert!(!gate(1.0, None).reached(&fleet(0, 0)));
    }

    #[test]
    fn the_last_line_names_who_is_behind_and_how_many_more() {
        let behind = |name: &str, status: &str, version: &str| Behind {
            name: name.into(),
            status: status.into(),
            version: version.into(),
            revision: String::new(),
            since: String::new(),
        };
        let standing = Standing {
            fleet: fleet(1, 30),
            behind: (0..25)
                .map(|i| behind(&format!("n{i}"), "ONLINE", "0.1.0"))
                .chain([behind("crashed", "MISSING", "0.2.0"), behind("new", "ONLINE", "")])
                .collect(),
        };
        let line = gate(90.0, None).timed_out(&standing);
        assert!(
            line.starts_with(
                "timed out after 1m: 1 of 30 naras run 0.2.0 (3.3%; 90% needed); behind: n0 (0.1.0), n1 (0.1.0)"
            ),
            "{line}"
        );
        assert!(line.ends_with("n19 (0.1.0), and 9 more"), "{line}");
        assert_eq!(describe(&standing.behind[25]), "crashed (MISSING, 0.2.0)");
        assert_eq!(describe(&standing.behind[26]), "new (version not yet known)");
    }
}
