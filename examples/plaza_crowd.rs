//! A crowded, churning plaza, for the browser tests: N naras join through BROKER (each
//! with a newspaper; a third of them run an older version), then ROUNDS times every
//! one says chau and hey_there again, as fast as the broker takes it. Prints "joined"
//! once all have been published, "churned" after each round, then exits; the naras
//! stay in the views that heard them.
//!
//! Run: cargo run --example plaza_crowd -- mqtt://127.0.0.1:1883 10000 1

#[path = "support/crowd.rs"]
mod crowd;
#[path = "support/mqtt.rs"]
mod mqtt;

use nara::newspaper::{self, OwnStatus};
use nara::{Identity, Kind, event};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos() as u64
}

async fn send(client: &AsyncClient, topic: String, payload: Vec<u8>) {
    client
        .publish(topic, QoS::AtLeastOnce, false, payload)
        .await
        .expect("queued");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, broker, count, rounds] = args.as_slice() else {
        panic!("usage: plaza_crowd BROKER_URL N ROUNDS");
    };
    let count: usize = count.parse().expect("N is a number");
    let rounds: usize = rounds.parse().expect("ROUNDS is a number");
    let crowd: Vec<Identity> = crowd::native("crowd", count, |i| format!("crowd-{i:05}"));
    let (client, mut eventloop) = mqtt::connect(broker, format!("crowd-{}", std::process::id()), 1024);
    let acked = Arc::new(AtomicUsize::new(0));
    let counting = acked.clone();
    let polling = tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            if let Event::Incoming(Packet::PubAck(_)) = event {
                counting.fetch_add(1, Ordering::SeqCst);
            }
        }
    });

    let started_ns = now_ns();
    for (i, identity) in crowd.iter().enumerate() {
        let status = OwnStatus {
            version: if i % 3 == 0 { "0.9.0" } else { "0.10.0" },
            revision: "crowd",
            profile: "release",
            public_url: None,
            host_uptime_s: 1000,
            process_uptime_s: 10,
            sent_ns: now_ns(),
            boot_id: "crowd",
            conn: 1,
            started_ns,
            role_pin: "auto",
            handover: false,
            tags: &nara::tags::NO_TAGS,
            health: Default::default(),
        };
        send(
            &client,
            Kind::Newspaper.topic(&identity.name),
            newspaper::encode(identity, &status),
        )
        .await;
    }
    println!("joined");
    for _ in 0..rounds {
        for kind in [Kind::Chau, Kind::HeyThere] {
            for identity in &crowd {
                let payload = event::encode(identity, kind, now_ns() as i64, "");
                send(&client, kind.topic(&identity.name), payload).await;
            }
        }
        println!("churned");
    }
    // Exit once the broker has taken every message (a minute at most).
    let sent = count * (1 + 2 * rounds);
    let give_up = Instant::now() + Duration::from_secs(60);
    while acked.load(Ordering::SeqCst) < sent && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    polling.abort();
}
