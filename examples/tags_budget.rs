//! The budgets that tags touch, at 10,000 naras, untagged and with every nara's tags at
//! their limit (16 tags, 1,009 bytes of JSON): a newspaper's size, resident memory with
//! the view, the `/api/peers` list (what a snapshot serializes), and `/metrics/peers`
//! with 4 tag keys exported. Printed as one JSON object per case, each case run in a
//! process of its own.
//!
//! Run: cargo run --release --example tags_budget

use http_body::Body as _;
use nara::newspaper::{self, OwnStatus};
use nara::tags::Tags;
use nara::{App, Fingerprint, Health, Identity, Kind, Metrics, Plaza, Soul, SoulSource};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

const NARAS: usize = 10_000;

fn resident_kib() -> u64 {
    status_kib("VmRSS:")
}

/// A figure of `/proc/self/status` in KiB (`VmRSS:`, `VmHWM:` for the peak).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix(field)).map(str::to_owned))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Tags at every limit: 16 of them, 20-byte keys, 37-byte values, 1,009 bytes as JSON.
fn at_the_limit() -> Tags {
    let items: Vec<String> = (0..nara::tags::MAX_TAGS)
        .map(|i| format!("key-{i:02}-{}={i:02}{}", "k".repeat(13), "v".repeat(35)))
        .collect();
    Tags::parse(items.iter().map(String::as_str)).expect("within the limits")
}

fn body_len(app: &App, path: &str) -> u64 {
    let request = http::Request::get(path).body(()).expect("a GET request builds");
    let response = app.handle(&request);
    assert!(response.status().is_success(), "{path}");
    response.body().size_hint().exact().expect("a whole body")
}

fn case(label: &str, tags: &Tags) {
    let now_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos() as u64;
    let papers: Vec<(String, Vec<u8>)> = (0..NARAS)
        .map(|i| {
            let name = format!("nara-{i:05}");
            let identity = Identity::new(
                &Soul::native(&Fingerprint::of("tags", &[]), &name),
                &name,
                SoulSource::Native,
            );
            let status = OwnStatus {
                version: "0.1.0",
                revision: "3f2a9c1d0b7e",
                profile: "release",
                public_url: None,
                host_uptime_s: 1000,
                process_uptime_s: 10,
                sent_ns: now_ns,
                boot_id: "bench",
                conn: 1,
                started_ns: now_ns,
                role_pin: "auto",
                handover: false,
                tags,
                // The tags' cost alone: the host health's is measured apart (the
                // Performance chapter adds them).
                health: Default::default(),
            };
            (Kind::Newspaper.topic(&name), newspaper::encode(&identity, &status))
        })
        .collect();
    let paper_bytes = papers[0].1.len();
    let own = Identity::new(
        &Soul::native(&Fingerprint::of("tags", &[]), "me"),
        "me",
        SoulSource::Native,
    );
    let mut config = nara::testing::plaza_config();
    config.max_peers = NARAS + 1;
    let metrics = Arc::new(Metrics::new());
    let plaza = Plaza::new(own, config, metrics.clone());
    let rss_before = resident_kib();
    for (topic, payload) in &papers {
        plaza.receive(topic, payload).expect("accepted");
    }
    drop(papers);
    let rss_with_view = resident_kib();
    let http = nara::testing::http_config_with_peer_tags(tags.iter().take(4).map(|(k, _)| k.to_string()).collect());
    let app = App::with_plaza(Arc::new(Health::new()), plaza, metrics, &http);
    let peers = body_len(&app, "/api/peers");
    let metrics_peers = body_len(&app, "/metrics/peers");
    let filtered = body_len(&app, "/api/peers?status=ONLINE");
    println!(
        "{{\"case\":\"{label}\",\"naras\":{NARAS},\"newspaper_bytes\":{paper_bytes},\
         \"view_kib\":{},\"api_peers_bytes\":{peers},\"filtered_all_bytes\":{filtered},\
         \"metrics_peers_bytes\":{metrics_peers},\"rss_kib\":{},\"peak_rss_kib\":{}}}",
        rss_with_view.saturating_sub(rss_before),
        resident_kib(),
        status_kib("VmHWM:"),
    );
}

/// Each case in a process of its own, so the second's memory is not the first's, freed
/// and reused.
fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("untagged") => case("untagged", &Tags::default()),
        Some("limit") => case("tags at their limit", &at_the_limit()),
        _ => {
            let me = std::env::current_exe().expect("this program's path");
            for which in ["untagged", "limit"] {
                let status = std::process::Command::new(&me).arg(which).status().expect("runs");
                assert!(status.success(), "{which}");
            }
        }
    }
}
