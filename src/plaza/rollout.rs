//! A rollout as data: from the naras in the view, the fleet (every nara ONLINE or
//! MISSING: one that said chau has left it, one that crashed has not), the versions it
//! runs with the revisions under each, and against a target version, who is behind and
//! since when. `GET /api/rollout` answers it and `nara rollout wait` gates a deploy on
//! it.
//!
//! The target is `--rollout-target` when given, else the newest version (in
//! [`version`] order) among the naras that send a build revision: only this nara's
//! kind does, so a Go nara on the same plaza, whose versions count differently, never
//! becomes the target by accident.

use super::version;
use super::view::{Peer, Status};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::SystemTime;

/// How many of the naras behind an answer names; the count covers them all.
pub(crate) const BEHIND_LISTED: usize = 100;

/// One nara of the fleet, as a rollout needs it.
#[derive(Clone, Debug)]
struct Member {
    name: String,
    status: Status,
    /// Empty while not yet known (no newspaper heard).
    version: String,
    revision: String,
    /// When it was first seen on `version`.
    since: SystemTime,
}

/// The fleet at one moment, grouped once so that each answer against a target costs a
/// pass over it and no more.
#[derive(Debug)]
pub(crate) struct Fleet {
    members: Vec<Member>,
    offline: usize,
    /// `versions` as JSON, serialized once for every answer.
    versions_json: Box<RawValue>,
    /// How many ONLINE naras run each version.
    online_on: HashMap<String, usize>,
    /// The newest version among the naras that send a revision.
    newest_native: Option<String>,
}

/// One version the fleet runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VersionRow {
    /// The version; empty for naras whose version is not yet known.
    pub(crate) version: String,
    /// Naras of the fleet on it.
    pub(crate) naras: usize,
    /// Of those, ONLINE.
    pub(crate) online: usize,
    /// Of those, MISSING.
    pub(crate) missing: usize,
    /// The revisions under it, the most common first: more than one is revision drift.
    pub(crate) revisions: Vec<RevisionRow>,
}

/// One revision under a version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RevisionRow {
    /// The git revision; empty for a Go nara, which sends none.
    pub(crate) revision: String,
    /// Naras of the fleet on it.
    pub(crate) naras: usize,
}

/// Where an answer's target came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TargetSource {
    /// `--rollout-target`.
    Configured,
    /// The newest version among the naras that send a revision.
    Inferred,
    /// The request's `?version=`.
    Query,
}

/// The fleet's counts against a target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FleetCounts {
    /// Every nara ONLINE or MISSING: the fleet a gate counts.
    pub(crate) naras: usize,
    pub(crate) online: usize,
    pub(crate) missing: usize,
    /// Naras that said chau: outside the fleet.
    pub(crate) offline: usize,
    /// ONLINE on the target.
    pub(crate) on_target: usize,
    /// The rest of the fleet: on another version, not yet known, or MISSING.
    pub(crate) behind: usize,
}

/// A nara of the fleet not running the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Behind {
    pub(crate) name: String,
    /// ONLINE or MISSING.
    pub(crate) status: String,
    /// Empty while not yet known.
    pub(crate) version: String,
    pub(crate) revision: String,
    /// When it was first seen on `version` (RFC 3339).
    pub(crate) since: String,
}

/// `GET /api/rollout`'s answer.
#[derive(Debug, Serialize)]
pub(crate) struct Rollout<'a> {
    /// `None` only when no nara of the fleet sends a revision and none was configured.
    target: Option<&'a str>,
    target_source: Option<TargetSource>,
    fleet: FleetCounts,
    versions: &'a RawValue,
    /// The first [`BEHIND_LISTED`], longest behind first; `fleet.behind` counts them all.
    behind: Vec<Behind>,
}

/// The word `/api/peers` uses for `status`. Exhaustive on purpose: a new status must
/// say here whether it counts in the fleet.
fn word(status: Status) -> &'static str {
    match status {
        Status::Online => "ONLINE",
        Status::Suspect => "SUSPECT",
        Status::Offline => "OFFLINE",
        Status::Missing => "MISSING",
    }
}

/// When `peer` was first seen on its version: its last version change, if that was to
/// this version, else when it was first heard.
fn since(peer: &Peer) -> SystemTime {
    peer.version_history
        .last()
        .filter(|change| change.to == peer.version)
        .map_or(peer.first_seen, |change| change.at)
}

/// Newest first, the unknown version last.
fn newest_first(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => version::compare(b, a),
    }
}

impl Fleet {
    /// The fleet among `peers` (the view's snapshot).
    pub(crate) fn of(peers: &[Peer]) -> Fleet {
        let mut members = Vec::with_capacity(peers.len());
        let mut offline = 0;
        for peer in peers {
            match peer.status {
                Status::Online | Status::Suspect | Status::Missing => members.push(Member {
                    name: peer.name.clone(),
                    status: peer.status,
                    version: peer.version.clone(),
                    revision: peer.revision.clone(),
                    since: since(peer),
                }),
                Status::Offline => offline += 1,
            }
        }
        let mut rows: HashMap<&str, (VersionRow, HashMap<&str, usize>)> = HashMap::new();
        for member in &members {
            let (row, revisions) = rows.entry(&member.version).or_insert_with(|| {
                let row = VersionRow {
                    version: member.version.clone(),
                    naras: 0,
                    online: 0,
                    missing: 0,
                    revisions: Vec::new(),
                };
                (row, HashMap::new())
            });
            row.naras += 1;
            match member.status {
                // A suspicion is not a crash until confirmed: the gate counts it as
                // it was.
                Status::Online | Status::Suspect => row.online += 1,
                Status::Missing => row.missing += 1,
                Status::Offline => {}
            }
            *revisions.entry(&member.revision).or_default() += 1;
        }
        let mut versions: Vec<VersionRow> = rows
            .into_values()
            .map(|(mut row, revisions)| {
                row.revisions = revisions
                    .into_iter()
                    .map(|(revision, naras)| RevisionRow {
                        revision: revision.to_string(),
                        naras,
                    })
                    .collect();
                row.revisions
                    .sort_by(|a, b| b.naras.cmp(&a.naras).then_with(|| a.revision.cmp(&b.revision)));
                row
            })
            .collect();
        versions.sort_by(|a, b| newest_first(&a.version, &b.version));
        let online_on = versions.iter().map(|row| (row.version.clone(), row.online)).collect();
        let newest_native = members
            .iter()
            .filter(|m| !m.revision.is_empty() && !m.version.is_empty())
            .map(|m| m.version.as_str())
            .max_by(|a, b| version::compare(a, b))
            .map(String::from);
        let versions_json = serde_json::value::to_raw_value(&versions).expect("version rows serialize");
        Fleet {
            members,
            offline,
            versions_json,
            online_on,
            newest_native,
        }
    }

    /// The target an answer uses: the request's, else the configured one, else the
    /// newest version among the naras that send a revision.
    fn target<'a>(&'a self, asked: Option<&'a str>, configured: Option<&'a str>) -> Option<(&'a str, TargetSource)> {
        asked
            .map(|v| (v, TargetSource::Query))
            .or_else(|| configured.map(|v| (v, TargetSource::Configured)))
            .or_else(|| self.newest_native.as_deref().map(|v| (v, TargetSource::Inferred)))
    }

    /// The rollout against the target (see [`Fleet::target`]).
    pub(crate) fn rollout<'a>(&'a self, asked: Option<&'a str>, configured: Option<&'a str>) -> Rollout<'a> {
        let target = self.target(asked, configured);
        let online = self.members.iter().filter(|m| m.status.is_around()).count();
        let mut fleet = FleetCounts {
            naras: self.members.len(),
            online,
            missing: self.members.len() - online,
            offline: self.offline,
            on_target: 0,
            behind: 0,
        };
        let mut behind = Vec::new();
        if let Some((version, _)) = target {
            fleet.on_target = self.online_on.get(version).copied().unwrap_or(0);
            fleet.behind = fleet.naras - fleet.on_target;
            let mut listed: Vec<&Member> = self
                .members
                .iter()
                .filter(|m| !(m.status.is_around() && m.version == version))
                .collect();
            let longest_behind_first =
                |a: &&Member, b: &&Member| a.since.cmp(&b.since).then_with(|| a.name.cmp(&b.name));
            if listed.len() > BEHIND_LISTED {
                listed.select_nth_unstable_by(BEHIND_LISTED, longest_behind_first);
                listed.truncate(BEHIND_LISTED);
            }
            listed.sort_by(longest_behind_first);
            behind = listed
                .into_iter()
                .map(|m| Behind {
                    name: m.name.clone(),
                    status: word(m.status).to_string(),
                    version: m.version.clone(),
                    revision: m.revision.clone(),
                    since: humantime::format_rfc3339_seconds(m.since).to_string(),
                })
                .collect();
        }
        Rollout {
            target: target.map(|(version, _)| version),
            target_source: target.map(|(_, source)| source),
            fleet,
            versions: &self.versions_json,
            behind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plaza::view::VersionChange;
    use std::time::Duration;

    fn t(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    fn peer(name: &str, status: Status, version: &str, revision: &str) -> Peer {
        Peer {
            name: name.into(),
            id: format!("id-{name}"),
            public_key: format!("key-{name}"),
            status,
            version: version.into(),
            revision: revision.into(),
            public_url: None,
            version_history: Vec::new(),
            tags: crate::plaza::tags::Tags::default(),
            uptime_s: 0,
            host: Default::default(),
            first_seen: t(0),
            last_seen: t(100),
            is_self: false,
            restarts: Default::default(),
        }
    }

    fn answer(fleet: &Fleet, asked: Option<&str>, configured: Option<&str>) -> serde_json::Value {
        serde_json::to_value(fleet.rollout(asked, configured)).expect("serializes")
    }

    #[test]
    fn the_target_is_the_newest_native_version_so_a_go_nara_never_becomes_it() {
        let fleet = Fleet::of(&[
            peer("home", Status::Online, "0.1.0", "abc"),
            peer("hall", Status::Online, "0.10.0", "def"),
            peer("go", Status::Online, "0.20.0", ""),
            peer("gone", Status::Offline, "9.0.0", "zzz"),
        ]);
        let answer = answer(&fleet, None, None);
        assert_eq!(answer["target"], "0.10.0");
        assert_eq!(answer["target_source"], "inferred");
        assert_eq!(answer["fleet"]["naras"], 3, "an OFFLINE nara left the fleet");
        assert_eq!(answer["fleet"]["offline"], 1);
        assert_eq!(answer["fleet"]["on_target"], 1);
        let behind: Vec<&str> = answer["behind"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["name"].as_str().unwrap())
            .collect();
        assert_eq!(behind, ["go", "home"]);
    }

    #[test]
    fn a_configured_target_wins_and_a_query_wins_over_both() {
        let fleet = Fleet::of(&[peer("home", Status::Online, "0.1.0", "abc")]);
        let configured = answer(&fleet, None, Some("0.2.0"));
        assert_eq!(
            (configured["target"].as_str(), configured["target_source"].as_str()),
            (Some("0.2.0"), Some("configured"))
        );
        assert_eq!(configured["fleet"]["behind"], 1);
        let asked = answer(&fleet, Some("0.1.0"), Some("0.2.0"));
        assert_eq!(
            (asked["target"].as_str(), asked["target_source"].as_str()),
            (Some("0.1.0"), Some("query"))
        );
        assert_eq!(asked["fleet"]["on_target"], 1);
    }

    #[test]
    fn a_missing_nara_on_the_target_and_one_not_yet_known_are_behind() {
        let fleet = Fleet::of(&[
            peer("a", Status::Online, "0.2.0", "r"),
            peer("crashed", Status::Missing, "0.2.0", "r"),
            peer("new", Status::Online, "", ""),
        ]);
        let answer = answer(&fleet, None, None);
        assert_eq!(answer["target"], "0.2.0");
        assert_eq!(answer["fleet"]["on_target"], 1);
        assert_eq!(answer["fleet"]["behind"], 2);
        assert_eq!(answer["fleet"]["missing"], 1);
        let statuses: Vec<(&str, &str)> = answer["behind"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["name"].as_str().unwrap(), b["status"].as_str().unwrap()))
            .collect();
        assert_eq!(statuses, [("crashed", "MISSING"), ("new", "ONLINE")]);
    }

    #[test]
    fn versions_come_newest_first_with_their_revisions_and_the_unknown_last() {
        let fleet = Fleet::of(&[
            peer("a", Status::Online, "0.9.0", "r1"),
            peer("b", Status::Online, "0.10.0", "r2"),
            peer("c", Status::Missing, "0.10.0", "r3"),
            peer("d", Status::Online, "0.10.0", "r2"),
            peer("e", Status::Online, "", ""),
        ]);
        let versions = &answer(&fleet, None, None)["versions"];
        assert_eq!(
            versions[0],
            serde_json::json!({"version": "0.10.0", "naras": 3, "online": 2, "missing": 1,
                "revisions": [{"revision": "r2", "naras": 2}, {"revision": "r3", "naras": 1}]})
        );
        assert_eq!(versions[1]["version"], "0.9.0");
        assert_eq!(versions[2]["version"], "");
    }

    #[test]
    fn since_is_when_it_was_first_seen_on_its_version() {
        let mut upgraded = peer("up", Status::Online, "0.1.0", "r");
        upgraded.version_history.push(VersionChange {
            from: "0.0.9".into(),
            to: "0.1.0".into(),
            at: t(50),
        });
        let mut back = peer("back", Status::Online, "0.0.9", "r");
        back.version_history.push(VersionChange {
            from: "0.0.8".into(),
            to: "0.0.10".into(),
            at: t(60),
        });
        let fleet = Fleet::of(&[upgraded, back]);
        let answer = answer(&fleet, Some("0.2.0"), None);
        let since = |name: &str| {
            answer["behind"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["name"] == name)
                .map(|b| b["since"].as_str().unwrap().to_string())
                .unwrap()
        };
        assert_eq!(since("up"), humantime::format_rfc3339_seconds(t(50)).to_string());
        assert_eq!(
            since("back"),
            humantime::format_rfc3339_seconds(t(0)).to_string(),
            "a history that does not end on its version says nothing of it"
        );
    }

    #[test]
    fn the_behind_list_is_bounded_longest_behind_first_and_the_count_is_whole() {
        let peers: Vec<Peer> = (0..BEHIND_LISTED as u64 + 50)
            .map(|i| {
                let mut p = peer(&format!("n{i:04}"), Status::Online, "0.1.0", "r");
                // The later the name, the longer behind.
                p.first_seen = t(10_000 - i);
                p
            })
            .collect();
        let fleet = Fleet::of(&peers);
        let answer = answer(&fleet, Some("0.2.0"), None);
        let behind = answer["behind"].as_array().unwrap();
        assert_eq!(behind.len(), BEHIND_LISTED);
        assert_eq!(answer["fleet"]["behind"], BEHIND_LISTED + 50);
        assert_eq!(behind[0]["name"], format!("n{:04}", BEHIND_LISTED + 49));
        assert_eq!(behind[BEHIND_LISTED - 1]["name"], "n0050");
    }

    #[test]
    fn with_no_revision_and_no_setting_there_is_no_target_and_no_one_is_behind() {
        let fleet = Fleet::of(&[peer("go", Status::Online, "0.2.0", "")]);
        let answer = answer(&fleet, None, None);
        assert_eq!(answer["target"], serde_json::Value::Null);
        assert_eq!(answer["fleet"]["behind"], 0);
        assert_eq!(answer["behind"], serde_json::json!([]));
    }
}
