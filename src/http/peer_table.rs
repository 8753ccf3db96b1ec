//! `nara peers`: the naras a running nara sees, as a table (name, status, version,
//! last seen, restarts) or as JSON, read from its `/api/peers`. It takes the place of the Go
//! nara's `-show-neighbours`, which printed such a table on the nara's own console.

use super::client::{Client, Endpoint};
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// The most of `/api/peers` read: about 2.7 MB at 10,000 naras, so room for some
/// 200,000 (14 MB at 10,000 with every nara's tags at their limit: some 45,000).
const ANSWER_LIMIT: usize = 64 * 1024 * 1024;

/// What to list.
#[derive(Clone, Debug)]
pub struct Listing {
    /// The nara to ask.
    pub url: String,
    /// Only the naras with this status (ONLINE, OFFLINE, MISSING), if given.
    pub status: Option<String>,
    /// JSON (`{"peers":[…]}`, as `/api/peers` answers) instead of a table.
    pub json: bool,
    /// How long the request may take.
    pub timeout: Duration,
}

/// Why there is no listing: the exit status and the line that says why.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    /// 2 for a URL that is none, 3 for a nara that did not answer as one.
    pub exit_code: u8,
    /// What went wrong.
    pub line: String,
}

impl Failure {
    fn invalid(line: String) -> Failure {
        Failure { exit_code: 2, line }
    }

    fn unreachable(line: String) -> Failure {
        Failure { exit_code: 3, line }
    }
}

/// The listing as it is printed, ending in a newline.
pub async fn list(listing: &Listing) -> Result<String, Failure> {
    let endpoint =
        Endpoint::parse(&listing.url).map_err(|e| Failure::invalid(format!("invalid value for --url: {e}")))?;
    let url = endpoint.url("/api/peers");
    let authority = endpoint.authority().to_string();
    let mut client = Client::new(endpoint, "nara-peers").map_err(Failure::unreachable)?;
    let answer = tokio::time::timeout(listing.timeout, client.get("/api/peers", ANSWER_LIMIT))
        .await
        .map_err(|_| {
            Failure::unreachable(format!(
                "no answer from {authority} within {}",
                humantime::format_duration(listing.timeout)
            ))
        })?
        .map_err(Failure::unreachable)?;
    if !answer.status.is_success() {
        return Err(Failure::unreachable(format!("{url} answered {}", answer.status)));
    }
    let mut peers = match serde_json::from_slice::<Value>(&answer.body) {
        Ok(mut list) => match list["peers"].take() {
            Value::Array(peers) => peers,
            _ => return Err(Failure::unreachable(format!("{url} answered no list of peers"))),
        },
        Err(e) => return Err(Failure::unreachable(format!("{url} answered no JSON: {e}"))),
    };
    if let Some(status) = &listing.status {
        peers.retain(|peer| peer["status"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(status)));
    }
    if listing.json {
        let list = serde_json::json!({ "peers": peers });
        return Ok(format!("{list}\n"));
    }
    Ok(table(&peers, SystemTime::now()))
}

/// The table: a header, then a row per nara, columns padded to their widest cell.
fn table(peers: &[Value], now: SystemTime) -> String {
    let text = |peer: &Value, key: &str| peer[key].as_str().unwrap_or_default().to_string();
    let mut rows = vec![["NAME", "STATUS", "VERSION", "LAST SEEN", "RESTARTS"].map(String::from)];
    for peer in peers {
        let version = match text(peer, "version") {
            version if version.is_empty() => "-".to_string(),
            version => version,
        };
        let last_seen = humantime::parse_rfc3339(&text(peer, "last_seen")).map_or_else(
            |_| "?".to_string(),
            |at| ago(now.duration_since(at).unwrap_or_default()),
        );
        rows.push([
            text(peer, "name"),
            text(peer, "status"),
            version,
            last_seen,
            restarts(peer),
        ]);
    }
    let mut widths = [0; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(cells.join("   ").trim_end());
        out.push('\n');
    }
    out
}

/// A nara's restarts as the table says them: the count, and `(flapping)` in words
/// after it while it is; `?` from a nara too old to count them.
fn restarts(peer: &Value) -> String {
    match (peer["restarts"].as_u64(), peer["flapping"].as_bool()) {
        (Some(count), Some(true)) => format!("{count} (flapping)"),
        (Some(count), _) => count.to_string(),
        (None, _) => "?".to_string(),
    }
}

/// How long ago, as the Go nara's table said it: `12s ago`, `3 mins ago`, `5 hours
/// ago`, `2 days ago`.
fn ago(elapsed: Duration) -> String {
    let s = elapsed.as_secs();
    match s {
        _ if s >= 2 * 86_400 => format!("{} days ago", s / 86_400),
        _ if s >= 2 * 3_600 => format!("{} hours ago", s / 3_600),
        _ if s >= 120 => format!("{} mins ago", s / 60),
        _ => format!("{s}s ago"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_the_go_nara_wrote_them() {
        assert_eq!(ago(Duration::from_secs(5)), "5s ago");
        assert_eq!(ago(Duration::from_secs(119)), "119s ago");
        assert_eq!(ago(Duration::from_secs(180)), "3 mins ago");
        assert_eq!(ago(Duration::from_secs(3 * 3_600)), "3 hours ago");
        assert_eq!(ago(Duration::from_secs(3 * 86_400)), "3 days ago");
    }

    #[test]
    fn the_table_pads_each_column_to_its_widest_cell() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let seen = |s: u64| humantime::format_rfc3339_seconds(now - Duration::from_secs(s)).to_string();
        let peers = [
            serde_json::json!({"name": "kitchen", "status": "ONLINE", "version": "0.2.0", "last_seen": seen(3),
                               "restarts": 0, "flapping": false}),
            serde_json::json!({"name": "attic", "status": "MISSING", "version": "", "last_seen": seen(600),
                               "restarts": 4, "flapping": true}),
            serde_json::json!({"name": "old", "status": "ONLINE", "version": "0.1.0", "last_seen": seen(5)}),
        ];
        assert_eq!(
            table(&peers, now),
            "NAME      STATUS    VERSION   LAST SEEN     RESTARTS\n\
             kitchen   ONLINE    0.2.0     3s ago        0\n\
             attic     MISSING   -         10 mins ago   4 (flapping)\n\
             old       ONLINE    0.1.0     5s ago        ?\n"
        );
    }
}
