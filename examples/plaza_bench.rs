//! Plaza figures for `make bench`, printed as one JSON object:
//! signed messages verified per second (in-process, one core: hey_there events and
//! newspapers, in the Go nara's formats), resident memory with
//! 10,000 naras in the view, and at 10,000 the latency of `/api/peers`, of one nara
//! looked up by name (`/api/peers/{name}`) and of a filtered list of all of them.
//!
//! Run: cargo run --release --example plaza_bench

use nara::newspaper::{self, OwnStatus};
use nara::{App, Fingerprint, Health, Identity, Kind, Metrics, Plaza, Soul, SoulSource, event, wire};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmRSS:")).map(str::to_owned))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn hey_there(identity: &Identity, now_ns: i64) -> (String, Vec<u8>) {
    (
        Kind::HeyThere.topic(&identity.name),
        event::encode(identity, Kind::HeyThere, now_ns, ""),
    )
}

fn newspaper(identity: &Identity, now_ns: i64) -> (String, Vec<u8>) {
    let status = OwnStatus {
        version: "0.1.0",
        revision: "bench",
        profile: "release",
        public_url: None,
        host_uptime_s: 1000,
        process_uptime_s: 10,
        sent_ns: now_ns.unsigned_abs(),
        boot_id: "bench",
        conn: 1,
        started_ns: now_ns.unsigned_abs(),
        role_pin: "auto",
        handover: false,
        tags: &nara::tags::NO_TAGS,
        // As many bytes as a real nara's, and as much in the view.
        health: nara::testing::typical_host_health(),
    };
    (
        Kind::Newspaper.topic(&identity.name),
        newspaper::encode(identity, &status),
    )
}

/// The median rate over five passes of decoding and verifying every message, so one
/// slow spell of a shared machine does not decide.
fn verified_per_s(messages: &[(String, Vec<u8>)], now: SystemTime) -> f64 {
    let policy = nara::testing::policy();
    let mut passes: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let verified = messages
                .iter()
                .filter(|(topic, payload)| wire::decode(topic, payload, now, policy).is_ok())
                .count();
            assert_eq!(verified, messages.len());
            messages.len() as f64 / started.elapsed().as_secs_f64()
        })
        .collect();
    passes.sort_by(f64::total_cmp);
    passes[passes.len() / 2]
}

fn main() {
    let now = SystemTime::now();
    let now_ns = now
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos() as i64;
    const NARAS: usize = 10_000;

    let identities: Vec<Identity> = (0..NARAS)
        .map(|i| {
            let name = format!("nara-{i:05}");
            Identity::new(
                &Soul::native(&Fingerprint::of("bench", &[]), &name),
                &name,
                SoulSource::Native,
            )
        })
        .collect();
    let messages: Vec<(String, Vec<u8>)> = identities.iter().map(|id| hey_there(id, now_ns)).collect();

    // Verification alone: decode + Ed25519 verify, as every received message costs.
    let verify_per_s = verified_per_s(&messages, now);

    // The whole receive path into a live view of 10,000 naras.
    let metrics = Arc::new(Metrics::new());
    let own = Identity::new(
        &Soul::native(&Fingerprint::of("bench", &[]), "me"),
        "me",
        SoulSource::Native,
    );
    // Room for all of them beside this one: a full view refuses newcomers.
    let mut config = nara::testing::plaza_config();
    config.max_peers = NARAS + 1;
    let plaza = Plaza::new(own, config, metrics.clone());
    let rss_before = resident_kib();
    let started = Instant::now();
    for (topic, payload) in &messages {
        plaza.receive(topic, payload).expect("accepted");
    }
    let receive_per_s = NARAS as f64 / started.elapsed().as_secs_f64();
    drop(messages);
    let rss_after = resident_kib();

    // Newspapers are verified after the memory is measured, so that holding them does
    // not weigh on it.
    let newspaper_verify_per_s = {
        let papers: Vec<(String, Vec<u8>)> = identities.iter().map(|id| newspaper(id, now_ns)).collect();
        verified_per_s(&papers, now)
    };
    drop(identities);

    // /api/peers at 10,000 naras, through the real handler.
    let app = App::with_plaza(Arc::new(Health::new()), plaza, metrics, &nara::testing::http_config());
    let request = http::Request::get("/api/peers").body(()).expect("a GET request builds");
    let mut times: Vec<f64> = (0..50)
        .map(|_| {
            let started = Instant::now();
            let response = app.handle(&request);
            assert!(response.status().is_success());
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let lookup = lookup_ms(&app, NARAS);
    let filtered = handled_ms(&app, "/api/peers?status=ONLINE", 20);

    println!(
        "{{\"naras\":{NARAS},\"verify_per_s\":{verify_per_s:.0},\"newspaper_verify_per_s\":{newspaper_verify_per_s:.0},\
         \"receive_per_s\":{receive_per_s:.0},\
         \"rss_kib_before_view\":{rss_before},\"rss_kib_with_view\":{rss_after},\
         \"peers_ms_median\":{:.2},\"peers_ms_p99\":{:.2},\
         \"lookup_ms_median\":{:.4},\"lookup_ms_p99\":{:.4},\"filtered_all_ms_median\":{:.2}}}",
        times[times.len() / 2],
        times[times.len() * 99 / 100],
        lookup[lookup.len() / 2],
        lookup[lookup.len() * 99 / 100],
        filtered[filtered.len() / 2],
    );
}

/// `GET /api/peers/{name}` through the real handler, for 2,000 of the `naras` in view
/// (a lookup is never shared, so each one is the whole cost): milliseconds, sorted.
fn lookup_ms(app: &App, naras: usize) -> Vec<f64> {
    let mut times: Vec<f64> = (0..2_000)
        .map(|i| {
            let request = http::Request::get(format!("/api/peers/nara-{:05}", (i * 7919) % naras))
                .body(())
                .expect("a GET request builds");
            let started = Instant::now();
            let response = app.handle(&request);
            let elapsed = started.elapsed();
            assert!(response.status().is_success());
            elapsed.as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

/// `path` through the real handler `runs` times, each answer dropped before the next
/// (a filtered list is built for its request): milliseconds, sorted.
fn handled_ms(app: &App, path: &str, runs: usize) -> Vec<f64> {
    let request = http::Request::get(path).body(()).expect("a GET request builds");
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            let response = app.handle(&request);
            let elapsed = started.elapsed();
            assert!(response.status().is_success());
            elapsed.as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}
