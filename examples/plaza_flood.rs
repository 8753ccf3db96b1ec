//! The plaza through a real broker, for `make bench`: publishes N signed newspapers from
//! 1,000 simulated naras to BROKER and watches NARA's accepted-message counter until
//! all arrive (or 30 s pass). Prints one JSON object: messages/s end to end, and how
//! many arrived.
//!
//! Run: cargo run --release --example plaza_flood -- mqtt://127.0.0.1:1883 http://127.0.0.1:8080 20000

#[path = "support/crowd.rs"]
mod crowd;
#[path = "support/mqtt.rs"]
mod mqtt;

use nara::newspaper::{self, OwnStatus};
use nara::{Identity, Kind};
use rumqttc::QoS;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

async fn accepted(nara: &str) -> u64 {
    let text = match reqwest::get(format!("{nara}/metrics")).await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => return 0,
    };
    text.lines()
        .filter(|l| l.starts_with("nara_plaza_messages_total{kind=\"newspaper\",result=\"accepted\"}"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (broker, nara, total): (&str, &str, usize) = match args.as_slice() {
        [_, broker, nara, n] => (broker, nara, n.parse().expect("N is a number")),
        _ => panic!("usage: plaza_flood BROKER_URL NARA_URL N"),
    };
    let senders: Vec<Identity> = crowd::native("flood", 1000, |i| format!("flood-{i:04}"));
    let now_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos() as u64;
    let messages: Vec<(String, Vec<u8>)> = (0..total)
        .map(|i| {
            let id = &senders[i % senders.len()];
            // Each newspaper is signed a nanosecond after the one before, so every one
            // is fresh.
            let status = OwnStatus {
                version: "0.1.0",
                revision: "flood",
                profile: "release",
                public_url: None,
                host_uptime_s: 100_000 + (i / senders.len()) as u64,
                process_uptime_s: 10,
                sent_ns: now_ns + i as u64,
                boot_id: &id.name,
                conn: 1,
                started_ns: now_ns,
                role_pin: "auto",
                handover: false,
                tags: &nara::tags::NO_TAGS,
                health: Default::default(),
            };
            (Kind::Newspaper.topic(&id.name), newspaper::encode(id, &status))
        })
        .collect();

    let (client, mut eventloop) = mqtt::connect(broker, "nara-flood", 1024);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });

    let before = accepted(nara).await;
    let started = Instant::now();
    for (topic, payload) in messages {
        client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .expect("queued");
    }
    let mut arrived = 0;
    while started.elapsed() < Duration::from_secs(30) {
        arrived = accepted(nara).await - before;
        if arrived as usize >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"sent\":{total},\"arrived\":{arrived},\"seconds\":{seconds:.3},\"per_s\":{:.0}}}",
        arrived as f64 / seconds
    );
}
