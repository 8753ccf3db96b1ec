//! `/metrics/peers`: the plaza as Prometheus reads it, a series per known nara (its
//! version, revision and status; whether it is ONLINE, when it was last seen, its
//! host's uptime, its restarts and when it last restarted, under the Go nara's names
//! where they mean the same; whether it is flapping; the values of the tag keys an
//! operator picked), how many naras run each version, and how many were left out.
//!
//! Tags are exported only for the keys `--metrics-peer-tags` names (at most 4), one
//! `nara_peer_tag_info` series per exported nara per key it carries: every key of every
//! nara would be up to 16 series a nara, most of them nobody queries.
//!
//! Every nara is scraped for its own `/metrics`; these series live on a page of their
//! own because N observers each carrying N naras would be N² series, and one job
//! scrapes this page from one or two naras. Its size is bounded in naras
//! (`--metrics-max-peers`): past it, MISSING and flapping naras and then OFFLINE ones
//! are kept first, so that the bound never hides the naras an alert is about. The page is written from a
//! snapshot of the view (the view is locked only while it is copied) and shared by
//! every scraper until the view changes, as `/api/peers` is.

use crate::metrics::text::TextPage;
use crate::plaza::Plaza;
use crate::plaza::serialized::{CHURN_SHARE, FRESH_FOR};
use crate::plaza::view::{Peer, Status};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The page's series: names and help, in the order the page gives them. The Go nara's
/// five keep its names and help word for word, so its dashboards read them.
const INFO: (&str, &str) = (
    "nara_peer_info",
    "A nara this one knows, by name, with the version and git revision its newspaper carries (empty until its first; a Go nara sends no revision) and its status (ONLINE, SUSPECT, OFFLINE or MISSING); always 1.",
);
const TAG_INFO: (&str, &str) = (
    "nara_peer_tag_info",
    "A tag a nara this one knows carries, for the keys --metrics-peer-tags names; always 1. Join it to other series on name.",
);
const ONLINE: (&str, &str) = ("nara_online", "1 if the Nara is ONLINE, else 0");
const LAST_SEEN: (&str, &str) = ("nara_last_seen", "Unix timestamp when the Nara was last seen");
const UPTIME: (&str, &str) = ("nara_uptime_seconds", "Uptime reported by the host");
const RESTARTS: (&str, &str) = ("nara_restarts_total", "Restart count from the Nara");
const LAST_RESTART: (&str, &str) = ("nara_last_restart", "Unix timestamp when the Nara last restarted");
const FLAPPING: (&str, &str) = (
    "nara_peer_flapping",
    "1 while the nara is flapping: it restarted 3 times within 15 minutes, as this nara saw it; left out while it is not.",
);
const BY_VERSION: (&str, &str) = (
    "nara_peers_by_version",
    "Known naras by the version they run (empty: not known yet) and their status, this one included, counted over the whole view, past --metrics-max-peers too.",
);
const LEFT_OUT: (&str, &str) = (
    "nara_peers_left_out",
    "Known naras this page gives no series of their own, past --metrics-max-peers (MISSING and flapping naras, then OFFLINE ones are kept first).",
);
const OBSERVER_CONNECTED: (&str, &str) = (
    "nara_peers_observer_connected",
    "1 while the nara answering is connected to the plaza's broker; at 0 its view goes stale, and every other nara turns MISSING in it after --plaza-missing-after.",
);

/// The page as scrapers share it.
pub(crate) struct PeerMetrics {
    /// The most naras given series of their own (`--metrics-max-peers`).
    max_peers: usize,
    /// The tag keys exported (`--metrics-peer-tags`).
    tag_keys: Vec<String>,
    /// The last page written, which scrapers share until it goes stale; a scraper that
    /// finds it stale writes the next one while the others wait to share it.
    last: Mutex<Option<Page>>,
}

/// A page written after change `after_change` of the view, from a snapshot taken at
/// `taken`.
struct Page {
    after_change: u64,
    taken: Instant,
    text: Bytes,
}

impl Page {
    /// As `/api/peers` shares its list: while no change was announced and for
    /// `FRESH_FOR` (`last_seen` moves without one), or for `CHURN_SHARE` whatever was.
    fn fresh(&self, announced: u64) -> bool {
        let age = self.taken.elapsed();
        age < CHURN_SHARE || (self.after_change == announced && age < FRESH_FOR)
    }
}

impl PeerMetrics {
    /// No page written yet; at most `max_peers` naras get series of their own, with
    /// their tags of `tag_keys`.
    pub(crate) fn new(max_peers: usize, tag_keys: Vec<String>) -> PeerMetrics {
        PeerMetrics {
            max_peers,
            tag_keys,
            last: Mutex::new(None),
        }
    }

    /// The page for `plaza` now: the shared one while it is fresh, else a new one.
    pub(crate) fn page(&self, plaza: &Plaza) -> Bytes {
        // A panic while writing a page leaves at worst the last page: keep serving.
        let mut last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(page) = last.as_ref().filter(|p| p.fresh(plaza.changes_announced())) {
            return page.text.clone();
        }
        let taken = Instant::now();
        let (after_change, peers) = plaza.snapshot();
        let capacity = last.as_ref().map_or(0, |p| p.text.len());
        let text = Bytes::from(render(
            &peers,
            self.max_peers,
            &self.tag_keys,
            plaza.is_connected(),
            capacity,
        ));
        *last = Some(Page {
            after_change,
            taken,
            text: text.clone(),
        });
        text
    }
}

/// The order in which naras keep their series when there is room for only some: the
/// naras an alert is about first, and last those that only said hey_there, which costs
/// nothing to send.
fn rank(peer: &Peer) -> usize {
    match peer.status {
        Status::Missing => 0,
        _ if peer.restarts.flapping => 0,
        Status::Offline => 1,
        // Not confirmed gone, so ranked as the naras that speak.
        Status::Online | Status::Suspect if !peer.version.is_empty() => 2,
        Status::Online | Status::Suspect => 3,
    }
}

const RANKS: usize = 4;

/// The status as the page's labels (and `/api/peers`) spell it.
fn status_label(status: Status) -> &'static str {
    match status {
        Status::Online => "ONLINE",
        Status::Suspect => "SUSPECT",
        Status::Offline => "OFFLINE",
        Status::Missing => "MISSING",
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The naras of `peers` (by name, as a snapshot lists them) that get series of their
/// own, at most `max`: by [`rank`], then by name, so a nara's place does not change
/// from one scrape to the next while the view does not.
fn kept(peers: &[Peer], max: usize) -> Vec<&Peer> {
    let mut per_rank = [0; RANKS];
    for peer in peers {
        per_rank[rank(peer)] += 1;
    }
    let mut room = max;
    let mut places = [0; RANKS];
    for (place, count) in places.iter_mut().zip(per_rank) {
        *place = count.min(room);
        room -= *place;
    }
    peers
        .iter()
        .filter(|peer| {
            let place = &mut places[rank(peer)];
            let keep = *place > 0;
            *place = place.saturating_sub(1);
            keep
        })
        .collect()
}

/// The page for `peers`, a snapshot of the view sorted by name, with at most `max`
/// naras given series of their own, and their tags of `tag_keys`; `connected`: whether
/// this nara hears the plaza. `capacity` is a guess of the size (the last page's).
fn render(peers: &[Peer], max: usize, tag_keys: &[String], connected: bool, capacity: usize) -> Vec<u8> {
    let kept = kept(peers, max);
    let mut page = TextPage::with_capacity(capacity);
    page.gauge(INFO.0, INFO.1);
    for peer in &kept {
        let labels = [
            ("name", peer.name.as_str()),
            ("version", peer.version.as_str()),
            ("revision", peer.revision.as_str()),
            ("status", status_label(peer.status)),
        ];
        page.sample(INFO.0, &labels, 1);
    }
    if !tag_keys.is_empty() {
        page.gauge(TAG_INFO.0, TAG_INFO.1);
        for peer in &kept {
            for key in tag_keys {
                if let Some(value) = peer.tags.get(key) {
                    page.sample(TAG_INFO.0, &[("name", &peer.name), ("key", key), ("value", value)], 1);
                }
            }
        }
    }
    page.gauge(ONLINE.0, ONLINE.1);
    for peer in &kept {
        page.sample(ONLINE.0, &[("name", &peer.name)], u8::from(peer.status.is_around()));
    }
    // As the Go nara, a time or an uptime not known yet is left out rather than 0.
    page.gauge(LAST_SEEN.0, LAST_SEEN.1);
    for peer in &kept {
        let seen = unix_seconds(peer.last_seen);
        if seen > 0 {
            page.sample(LAST_SEEN.0, &[("name", &peer.name)], seen);
        }
    }
    page.gauge(UPTIME.0, UPTIME.1);
    for peer in kept.iter().filter(|p| p.uptime_s > 0) {
        page.sample(UPTIME.0, &[("name", &peer.name)], peer.uptime_s);
    }
    // Counted by this nara since it first heard of the nara (see plaza/restarts.rs): a
    // nara its view forgot starts again from 0, which Prometheus reads as a reset.
    page.counter(RESTARTS.0, RESTARTS.1);
    for peer in &kept {
        page.sample(RESTARTS.0, &[("name", &peer.name)], peer.restarts.restarts);
    }
    page.gauge(LAST_RESTART.0, LAST_RESTART.1);
    for peer in &kept {
        if let Some(at) = peer.restarts.last_restart {
            page.sample(LAST_RESTART.0, &[("name", &peer.name)], unix_seconds(at));
        }
    }
    // Only the flapping naras: a series of 0 for every steady one would add a tenth
    // to the page for what is almost always nothing.
    page.gauge(FLAPPING.0, FLAPPING.1);
    for peer in kept.iter().filter(|p| p.restarts.flapping) {
        page.sample(FLAPPING.0, &[("name", &peer.name)], 1);
    }
    let mut by_version: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for peer in peers {
        *by_version
            .entry((peer.version.as_str(), status_label(peer.status)))
            .or_default() += 1;
    }
    page.gauge(BY_VERSION.0, BY_VERSION.1);
    for ((version, status), count) in by_version {
        page.sample(BY_VERSION.0, &[("version", version), ("status", status)], count);
    }
    page.gauge(LEFT_OUT.0, LEFT_OUT.1);
    page.sample(LEFT_OUT.0, &[], peers.len() - kept.len());
    page.gauge(OBSERVER_CONNECTED.0, OBSERVER_CONNECTED.1);
    page.sample(OBSERVER_CONNECTED.0, &[], u8::from(connected));
    page.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn peer(name: &str, status: Status, version: &str) -> Peer {
        let seen = UNIX_EPOCH + Duration::from_secs(1_765_000_000);
        Peer {
            name: name.into(),
            id: String::new(),
            public_key: "key".into(),
            status,
            version: version.into(),
            revision: String::new(),
            public_url: None,
            version_history: Vec::new(),
            tags: crate::plaza::tags::Tags::default(),
            uptime_s: if version.is_empty() { 0 } else { 3600 },
            host: Default::default(),
            first_seen: seen,
            last_seen: seen,
            is_self: false,
            restarts: Default::default(),
        }
    }

    fn page(peers: &[Peer], max: usize) -> String {
        String::from_utf8(render(peers, max, &[], true, 0)).unwrap()
    }

    /// The names given series of their own, in the page's order.
    fn exported(page: &str) -> Vec<&str> {
        page.lines()
            .filter_map(|l| l.strip_prefix("nara_online{name=\""))
            .filter_map(|l| l.split('"').next())
            .collect()
    }

    #[test]
    fn each_nara_has_its_series_and_each_version_its_count() {
        let peers = [
            peer("a", Status::Online, "1.0.0"),
            peer("b", Status::Missing, "0.9.0"),
            peer("c", Status::Online, ""),
        ];
        let text = page(&peers, 10);
        for line in [
            r#"nara_peer_info{name="a",version="1.0.0",revision="",status="ONLINE"} 1"#,
            r#"nara_peer_info{name="b",version="0.9.0",revision="",status="MISSING"} 1"#,
            r#"nara_online{name="a"} 1"#,
            r#"nara_online{name="b"} 0"#,
            r#"nara_last_seen{name="c"} 1765000000"#,
            r#"nara_uptime_seconds{name="a"} 3600"#,
            r#"nara_peers_by_version{version="",status="ONLINE"} 1"#,
            r#"nara_peers_by_version{version="0.9.0",status="MISSING"} 1"#,
            r#"nara_peers_by_version{version="1.0.0",status="ONLINE"} 1"#,
            "nara_peers_left_out 0",
            "nara_peers_observer_connected 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} is missing:\n{text}");
        }
        assert!(
            !text.contains(r#"nara_uptime_seconds{name="c"}"#),
            "an uptime not known yet is left out, as the Go nara does:\n{text}"
        );
    }

    #[test]
    fn each_nara_has_its_restarts_and_a_flapping_one_is_kept_first() {
        let steady = peer("a-steady", Status::Online, "1.0.0");
        let mut looping = peer("c-looping", Status::Online, "1.0.0");
        looping.restarts =
            crate::plaza::restarts::Restarts::seen(4, UNIX_EPOCH + Duration::from_secs(1_765_000_100), true);
        let text = page(&[steady.clone(), looping.clone()], 10);
        for line in [
            "# TYPE nara_restarts_total counter",
            r#"nara_restarts_total{name="a-steady"} 0"#,
            r#"nara_restarts_total{name="c-looping"} 4"#,
            r#"nara_last_restart{name="c-looping"} 1765000100"#,
            r#"nara_peer_flapping{name="c-looping"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} is missing:\n{text}");
        }
        assert!(
            !text.contains(r#"nara_last_restart{name="a-steady"}"#),
            "a nara never seen restarting has no last restart, as the Go nara leaves it out:\n{text}"
        );
        assert!(!text.contains(r#"nara_peer_flapping{name="a-steady"}"#), "{text}");
        // Past the bound, a flapping nara is kept with the MISSING ones.
        let kept = exported(&page(&[steady, looping], 1)).join(",");
        assert_eq!(kept, "c-looping");
        let help = FLAPPING.1;
        assert!(
            help.contains(&format!(
                "{} times within {} minutes",
                crate::plaza::restarts::FLAP_COUNT,
                crate::plaza::restarts::FLAP_WINDOW.as_secs() / 60
            )),
            "{help}"
        );
    }

    #[test]
    fn a_full_view_fits_in_3_mb() {
        let peers: Vec<Peer> = (0..10_000)
            .map(|i| {
                let mut peer = peer(&format!("crowd-{i:05}"), Status::Online, "0.1.0");
                peer.revision = "3f2a9c1d0b7e".into();
                peer
            })
            .collect();
        let size = render(&peers, 10_000, &[], true, 0).len();
        assert!(size < 3_000_000, "{size} bytes");
    }

    #[test]
    fn tags_are_exported_only_for_the_keys_picked() {
        let mut tagged = peer("a", Status::Online, "1.0.0");
        tagged.tags = crate::plaza::tags::Tags::parse(["role=db", "site=lisbon", "rack=r1"]).unwrap();
        let bare = peer("b", Status::Online, "1.0.0");
        let keys = ["role".to_string(), "site".to_string(), "zone".to_string()];
        let text = String::from_utf8(render(&[tagged.clone(), bare.clone()], 10, &keys, true, 0)).unwrap();
        let tag_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("nara_peer_tag_info{")).collect();
        assert_eq!(
            tag_lines,
            [
                r#"nara_peer_tag_info{name="a",key="role",value="db"} 1"#,
                r#"nara_peer_tag_info{name="a",key="site",value="lisbon"} 1"#,
            ]
        );
        assert!(
            !page(&[tagged, bare], 10).contains("nara_peer_tag_info"),
            "no key picked, no series"
        );
    }

    #[test]
    fn a_full_view_with_four_tag_keys_at_their_limit_fits_in_8_mb() {
        let tags = crate::plaza::tags::tests::at_the_limit();
        let keys: Vec<String> = tags.iter().take(4).map(|(k, _)| k.to_string()).collect();
        let peers: Vec<Peer> = (0..10_000)
            .map(|i| {
                let mut peer = peer(&format!("crowd-{i:05}"), Status::Online, "0.1.0");
                peer.revision = "3f2a9c1d0b7e".into();
                peer.tags = tags.clone();
                peer
            })
            .collect();
        let text = render(&peers, 10_000, &keys, true, 0);
        let series = text
            .split(|b| *b == b'\n')
            .filter(|l| l.starts_with(b"nara_peer_tag_info{"))
            .count();
        assert_eq!(series, 4 * 10_000, "the bound: keys × --metrics-max-peers");
        eprintln!(
            "/metrics/peers at 10,000 naras, 4 tag keys at their limit: {} bytes",
            text.len()
        );
        assert!(text.len() < 8_000_000, "{} bytes", text.len());
    }

    #[test]
    fn past_the_bound_missing_then_offline_naras_are_kept_and_the_rest_counted() {
        let peers = [
            peer("a-online", Status::Online, "1.0.0"),
            peer("b-hello-only", Status::Online, ""),
            peer("c-offline", Status::Offline, "1.0.0"),
            peer("d-missing", Status::Missing, "1.0.0"),
            peer("e-online", Status::Online, "1.0.0"),
            peer("f-missing", Status::Missing, "0.9.0"),
        ];
        let kept_at = |max| {
            let text = page(&peers, max);
            let left_out = format!("nara_peers_left_out {}", peers.len() - max.min(peers.len()));
            assert!(text.lines().any(|l| l == left_out), "{left_out}:\n{text}");
            // The counts cover the whole view, whatever the bound.
            assert!(
                text.contains(r#"nara_peers_by_version{version="1.0.0",status="ONLINE"} 2"#),
                "{text}"
            );
            exported(&text).into_iter().map(String::from).collect::<Vec<_>>()
        };
        assert_eq!(kept_at(0), Vec::<String>::new());
        assert_eq!(kept_at(1), ["d-missing"]);
        assert_eq!(kept_at(2), ["d-missing", "f-missing"]);
        assert_eq!(kept_at(3), ["c-offline", "d-missing", "f-missing"]);
        assert_eq!(kept_at(4), ["a-online", "c-offline", "d-missing", "f-missing"]);
        assert_eq!(
            kept_at(5),
            ["a-online", "c-offline", "d-missing", "e-online", "f-missing"],
            "a nara known only by its hey_there is the last kept"
        );
        assert_eq!(kept_at(6).len(), 6);
        assert_eq!(kept_at(100).len(), 6);
    }

    #[test]
    fn a_shared_page_is_kept_until_the_view_changes_or_it_ages() {
        let page = Page {
            after_change: 3,
            taken: Instant::now(),
            text: Bytes::new(),
        };
        assert!(page.fresh(3));
        assert!(page.fresh(4), "shared for a moment although the view changed");
        let older = Page {
            taken: Instant::now() - CHURN_SHARE,
            ..page
        };
        assert!(older.fresh(3), "no change: still fresh");
        assert!(!older.fresh(4), "a change makes it stale");
        let old = Page {
            taken: Instant::now() - FRESH_FOR,
            ..older
        };
        assert!(!old.fresh(3), "last_seen moved meanwhile");
    }
}
