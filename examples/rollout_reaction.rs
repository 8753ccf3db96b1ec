//! How soon `nara rollout wait` sees a threshold reached, for `make bench`'s "Rollout"
//! section. NARAS naras join the plaza through BROKER, all on this build's version but
//! one straggler on an older one; the nara at OBSERVER sees them. Then, TRIALS times: a
//! gate (`NARA_BIN rollout wait --version THIS --min 100%`) is started and seen polling,
//! the straggler's next newspaper brings the version at a moment spread over the gate's
//! poll interval, and the time from the observer announcing the change on
//! `/api/events` (the threshold reached, in its view) to the gate's exit is taken; the
//! straggler then goes back. Also times `GET /api/rollout?version=…` at this size, with
//! a fresh reading of the view and sharing one.
//! Prints one JSON object.
//!
//! Run: cargo run --release --example rollout_reaction -- mqtt://127.0.0.1:1883 127.0.0.1:8080 target/release/nara 9999 20

#[path = "support/crowd.rs"]
mod crowd;
#[path = "support/mqtt.rs"]
mod mqtt;

use nara::newspaper::{self, OwnStatus};
use nara::{Identity, Kind, VERSION};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// The straggler's version before and between trials.
const OLD: &str = "0.0.9";

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos() as u64
}

/// A newspaper of `identity` at `version`, as this nara's kind signs it.
fn paper(identity: &Identity, version: &str, started_ns: u64) -> Vec<u8> {
    let boot_id = format!("bench-{}", identity.name);
    newspaper::encode(
        identity,
        &OwnStatus {
            version,
            revision: "bench",
            profile: "release",
            public_url: None,
            host_uptime_s: 3600,
            process_uptime_s: 60,
            sent_ns: now_ns(),
            boot_id: &boot_id,
            conn: 1,
            started_ns,
            role_pin: "auto",
            handover: false,
            tags: &nara::tags::NO_TAGS,
            health: Default::default(),
        },
    )
}

/// Follows the observer's `/api/events` and sends the moment each `version-changed` of
/// `name` arrives, with the version it changed to.
async fn follow(observer: String, name: String, seen: mpsc::UnboundedSender<(Instant, String)>) {
    let mut response = reqwest::Client::new()
        .get(format!("http://{observer}/api/events"))
        .send()
        .await
        .expect("the observer streams its events");
    let mut buffer: Vec<u8> = Vec::new();
    let marker = format!("\"name\":\"{name}\"");
    while let Some(chunk) = response.chunk().await.expect("the stream goes on") {
        let arrived = Instant::now();
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buffer.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&event);
            if text.starts_with("event: version-changed") && text.contains(&marker) {
                let to = text
                    .split("\"version\":\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or_default()
                    .to_string();
                let _ = seen.send((arrived, to));
            }
        }
    }
}

/// One number from the observer's `/api/status` (`plaza.peers.online`).
async fn online(observer: &str) -> u64 {
    let status: serde_json::Value = reqwest::get(format!("http://{observer}/api/status"))
        .await
        .expect("the observer answers")
        .json()
        .await
        .expect("JSON");
    status["plaza"]["peers"]["online"].as_u64().unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, broker, observer, nara_bin, naras, trials] = args.as_slice() else {
        panic!("usage: rollout_reaction BROKER_URL OBSERVER_ADDR NARA_BIN NARAS TRIALS");
    };
    let naras: usize = naras.parse().expect("NARAS is a number");
    let trials: usize = trials.parse().expect("TRIALS is a number");
    let fleet = crowd::native("rollout", naras, |i| format!("fleet-{i:05}"));
    let straggler = &fleet[0];
    let (client, mut eventloop) = mqtt::connect(broker, format!("rollout-{}", std::process::id()), 1024);
    let acked = Arc::new(AtomicUsize::new(0));
    let counting = acked.clone();
    tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            if let Event::Incoming(Packet::PubAck(_)) = event {
                counting.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let send = |client: AsyncClient, identity: &Identity, version: &str, started_ns: u64| {
        let payload = paper(identity, version, started_ns);
        let topic = Kind::Newspaper.topic(&identity.name);
        async move {
            client
                .publish(topic, QoS::AtLeastOnce, false, payload)
                .await
                .expect("queued");
        }
    };
    let started_ns = now_ns();
    for (i, identity) in fleet.iter().enumerate() {
        let version = if i == 0 { OLD } else { VERSION };
        send(client.clone(), identity, version, started_ns).await;
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while online(observer).await < naras as u64 + 1 {
        assert!(Instant::now() < deadline, "the observer never saw the whole fleet");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // One answer timed: each a fresh reading of the view (past the 100 ms it is
    // shared for), then answers that share one, as polls close together do.
    let http = reqwest::Client::new();
    let mut fresh_ms = Vec::new();
    let mut shared_ms = Vec::new();
    for i in 0..100 {
        let began = Instant::now();
        let body = http
            .get(format!("http://{observer}/api/rollout?version={VERSION}"))
            .send()
            .await
            .expect("answers")
            .bytes()
            .await
            .expect("a body");
        let ms = began.elapsed().as_secs_f64() * 1000.0;
        assert!(body.len() > 100, "a rollout answer");
        if i % 2 == 0 {
            fresh_ms.push(ms);
        } else {
            shared_ms.push(ms);
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
    fresh_ms.sort_by(f64::total_cmp);
    shared_ms.sort_by(f64::total_cmp);

    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    tokio::spawn(follow(observer.clone(), straggler.name.clone(), seen_tx));
    // The snapshot first, so that every change after it is an event.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut reactions_ms = Vec::new();
    for trial in 0..trials {
        let mut gate = Command::new(nara_bin)
            .args([
                "rollout",
                "wait",
                "--url",
                &format!("http://{observer}"),
                "--version",
                VERSION,
                "--min",
                "100%",
                "--timeout",
                "60s",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the gate starts");
        let stderr = gate.stderr.take().expect("piped");
        let (polling_tx, polling) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = polling_tx.send(line);
            }
        });
        let (exited_tx, exited) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let status = gate.wait().expect("the gate ends");
            let _ = exited_tx.send((Instant::now(), status));
        });
        let Ok(line) = tokio::task::spawn_blocking(move || polling.recv_timeout(Duration::from_secs(30)))
            .await
            .expect("joined")
        else {
            let ended = exited.recv_timeout(Duration::from_secs(5));
            panic!("the gate said nothing of the fleet; it ended: {ended:?}");
        };
        assert!(line.contains(&format!("{naras} of {} naras", naras + 1)), "{line}");
        // Spread the change over the gate's poll interval (250 ms).
        tokio::time::sleep(Duration::from_millis((trial as u64 * 97) % 250)).await;
        send(client.clone(), straggler, VERSION, started_ns).await;
        let (at, to) = seen.recv().await.expect("the change is streamed");
        assert_eq!(to, VERSION);
        let (exit_at, status) = tokio::task::spawn_blocking(move || exited.recv_timeout(Duration::from_secs(30)))
            .await
            .expect("joined")
            .expect("the gate exits");
        assert!(status.success(), "the gate passed");
        reactions_ms.push(exit_at.saturating_duration_since(at).as_secs_f64() * 1000.0);
        send(client.clone(), straggler, OLD, started_ns).await;
        let (_, back) = seen.recv().await.expect("the change back is streamed");
        assert_eq!(back, OLD);
        // The nara shares one reading of its view for 100 ms: the next gate must not
        // start on a reading from before the change back, when everyone was there.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let sorted = {
        let mut sorted = reactions_ms.clone();
        sorted.sort_by(f64::total_cmp);
        sorted
    };
    println!(
        "{}",
        serde_json::json!({
            "naras": naras + 1,
            "trials": trials,
            "reaction_ms_median": percentile(&sorted, 0.5),
            "reaction_ms_p90": percentile(&sorted, 0.9),
            "reaction_ms_max": sorted[sorted.len() - 1],
            "reaction_ms": reactions_ms,
            "answer_ms_median": percentile(&fresh_ms, 0.5),
            "answer_ms_max": fresh_ms[fresh_ms.len() - 1],
            "shared_answer_ms_median": percentile(&shared_ms, 0.5),
            "published_acked": acked.load(Ordering::SeqCst),
        })
    );
}
