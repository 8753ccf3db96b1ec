//! An older release of a nara, for rollout tests: it speaks for a soul on the plaza
//! as a nara of VERSION that started an hour ago (a hey_there, then a newspaper every
//! 500 ms), and yields as a nara does when it hears a newer process with its soul:
//! it prints "yielded" and publishes nothing more. Stop it with a signal.
//!
//! Run: cargo run --example plaza_old_release -- mqtt://127.0.0.1:1883 SOUL_FILE NAME VERSION

#[path = "support/mqtt.rs"]
mod mqtt;

use nara::newspaper::{self, OwnStatus};
use nara::{Identity, Kind, Soul, SoulSource, event};
use rumqttc::{Event, Packet, QoS};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos() as u64
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, broker, soul_file, name, version] = args.as_slice() else {
        panic!("usage: plaza_old_release BROKER_URL SOUL_FILE NAME VERSION");
    };
    let text = std::fs::read_to_string(soul_file).expect("the soul file is readable");
    let soul = Soul::parse(text.trim()).expect("the file holds a soul");
    let identity = Identity::new(&soul, name, SoulSource::File);
    let boot_id = format!("old-release-{}", std::process::id());
    let started_ns = now_ns() - 3_600_000_000_000;

    let (client, mut eventloop) = mqtt::connect(broker, boot_id.clone(), 64);
    client
        .subscribe(Kind::Newspaper.topic(name), QoS::AtMostOnce)
        .await
        .expect("subscribed");
    let hello = event::encode(&identity, Kind::HeyThere, now_ns() as i64, "");
    client
        .publish(Kind::HeyThere.topic(name), QoS::AtMostOnce, false, hello)
        .await
        .expect("queued");

    let mut every = tokio::time::interval(Duration::from_millis(500));
    let mut yielded = false;
    loop {
        tokio::select! {
            _ = every.tick(), if !yielded => {
                let status = OwnStatus {
                    version,
                    revision: "old-release",
                    profile: "release",
                    public_url: None,
                    host_uptime_s: 3600,
                    process_uptime_s: 3600,
                    sent_ns: now_ns(),
                    boot_id: &boot_id,
                    conn: 1,
                    started_ns,
                    role_pin: "auto",
                    handover: false,
                    tags: &nara::tags::NO_TAGS,
                    health: Default::default(),
                };
                let paper = newspaper::encode(&identity, &status);
                client
                    .publish(Kind::Newspaper.topic(name), QoS::AtMostOnce, false, paper)
                    .await
                    .expect("queued");
            }
            polled = eventloop.poll() => match polled {
                Ok(Event::Incoming(Packet::Publish(message))) => {
                    let text = String::from_utf8_lossy(&message.payload);
                    // A newspaper with this soul from another process: a newer release.
                    if !yielded && text.contains(&identity.public_key) && !text.contains(&boot_id) {
                        yielded = true;
                        println!("yielded");
                    }
                }
                Ok(_) => {}
                Err(error) => panic!("the broker went away: {error}"),
            },
        }
    }
}
