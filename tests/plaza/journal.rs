//! What a nara's log says of the plaza at the default level (info): naras joining,
//! coming back, leaving and going MISSING, each a line, within a bound that a flood of
//! fresh names reaches; and a warning, once a minute at most, when someone speaks under
//! this nara's own name with another key.

use crate::common::broker::Mosquitto;
use crate::common::{Running, TestNara, go_wire, nara_on, wait_until};
use nara::{Identity, Soul, SoulSource};
use rumqttc::v5::AsyncClient;
use rumqttc::v5::mqttbytes::QoS;
use serde_json::Value;
use std::time::Duration;

/// The most join lines a nara writes in a minute (`journal::LINES_PER_WINDOW`).
const JOIN_LINES_PER_MINUTE: usize = 10;

/// A nara of its own name, with a key of its own.
fn nara_named(name: &str) -> Identity {
    Identity::new(&Soul::mint(name).expect("randomness"), name, SoulSource::Ephemeral)
}

/// Publishes `payload` on `topic` as a program on the broker would.
async fn say(client: &AsyncClient, topic: &str, payload: String) {
    client
        .publish(topic, QoS::AtLeastOnce, false, payload)
        .await
        .expect("queued");
}

/// Whether `line` is an info line with `message` about `peer`.
fn about(line: &Value, message: &str, peer: &str) -> bool {
    line["level"] == "INFO" && line["message"] == message && line["peer"] == peer
}

const IMPOSTOR: &str = "a message came under this nara's own name, signed with another key";

/// Whether `line` is the warning about a message under this nara's name with another key.
fn impostor_warning(line: &Value) -> bool {
    line["level"] == "WARN" && line["message"].as_str().is_some_and(|m| m.starts_with(IMPOSTOR))
}

/// The lines of `nara`'s log so far, as JSON.
fn log_of(nara: &mut Running) -> Vec<Value> {
    nara.drain_log()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test]
async fn naras_coming_and_going_are_each_a_line_at_info() {
    let broker = Mosquitto::start();
    let mut observer = nara_on(&broker.url(), "observer", &["--plaza-missing-after", "2s"]);
    observer.wait_until_hearing(Duration::from_secs(10)).await;
    let mut leaver = nara_on(&broker.url(), "leaver", &[]);
    let wait = Duration::from_secs(10);
    observer.wait_for_log("leaver joined", wait, |l| about(l, "a nara joined the plaza", "leaver"));
    leaver.signal("TERM");
    assert_eq!(leaver.wait_exit(Duration::from_secs(5)).code(), Some(0));
    observer.wait_for_log("leaver left", wait, |l| {
        about(l, "a nara left the plaza (it said chau)", "leaver")
    });
    // A nara that says hello and what it runs, then nothing, goes MISSING, and comes
    // back with its next word (one that never sent a newspaper would be forgotten
    // instead). (The view is awaited first: waiting for the log blocks this thread, and
    // with it the raw client's sending.)
    let (client, _) = go_wire::raw_client(broker.port, "ghost-client", &[]).await;
    let ghost = nara_named("ghost");
    say(
        &client,
        "nara/plaza/hey_there",
        go_wire::hey_there(&ghost, go_wire::now_ns()),
    )
    .await;
    say(
        &client,
        "nara/newspaper/ghost",
        go_wire::signed_newspaper(&ghost, "0.2.0", 100),
    )
    .await;
    observer.wait_peer("ghost", "ONLINE", wait).await;
    observer.wait_for_log("ghost joined", wait, |l| about(l, "a nara joined the plaza", "ghost"));
    observer.wait_peer("ghost", "MISSING", wait).await;
    observer.wait_for_log("ghost MISSING", wait, |l| {
        about(
            l,
            "a nara went MISSING (silent for longer than --plaza-missing-after)",
            "ghost",
        )
    });
    say(
        &client,
        "nara/plaza/hey_there",
        go_wire::hey_there(&ghost, go_wire::now_ns()),
    )
    .await;
    observer.wait_peer("ghost", "ONLINE", wait).await;
    observer.wait_for_log("ghost back", wait, |l| {
        about(l, "a nara came back to the plaza", "ghost")
    });
}

#[tokio::test]
async fn a_flood_of_fresh_names_gets_a_bounded_number_of_join_lines() {
    const FLOOD: usize = 40;
    let broker = Mosquitto::start();
    let mut observer = nara_on(&broker.url(), "observer", &[]);
    observer.wait_until_hearing(Duration::from_secs(10)).await;
    let (client, _) = go_wire::raw_client(broker.port, "flooder", &[]).await;
    for i in 0..FLOOD {
        let flood = nara_named(&format!("flood{i}"));
        say(
            &client,
            "nara/plaza/hey_there",
            go_wire::hey_there(&flood, go_wire::now_ns()),
        )
        .await;
    }
    // Last, on the same topic from the same client, so it arrives after them all: a
    // line that marks the end of the flood in the log.
    let mallory = nara_named("observer");
    say(
        &client,
        "nara/plaza/hey_there",
        go_wire::hey_there(&mallory, go_wire::now_ns()),
    )
    .await;
    let refused = "nara_plaza_messages_total{kind=\"hey-there\",result=\"key_mismatch\"}";
    let observer_ref = &observer;
    wait_until(
        "the flood and the impostor taken in",
        Duration::from_secs(10),
        || async move { (observer_ref.metric(refused).await == 1).then_some(()) },
    )
    .await;
    observer.wait_for_log("the impostor's warning", Duration::from_secs(10), impostor_warning);
    let joined = log_of(&mut observer)
        .iter()
        .filter(|l| l["message"] == "a nara joined the plaza")
        .count();
    assert_eq!(
        joined, JOIN_LINES_PER_MINUTE,
        "one line per join up to the bound, then none"
    );
    assert_eq!(
        observer.get_json("/api/status").await["plaza"]["peers"]["online"],
        FLOOD + 1,
        "every one was taken in all the same"
    );
}

#[tokio::test]
async fn another_key_under_this_naras_name_is_warned_of_once_a_minute() {
    let broker = Mosquitto::start();
    let mut kitchen = nara_on(&broker.url(), "kitchen", &[]);
    kitchen.wait_until_hearing(Duration::from_secs(10)).await;
    let (client, _) = go_wire::raw_client(broker.port, "mallory", &[]).await;
    let mallory = nara_named("kitchen");
    for _ in 0..5 {
        say(
            &client,
            "nara/plaza/hey_there",
            go_wire::hey_there(&mallory, go_wire::now_ns()),
        )
        .await;
    }
    // Then a newcomer on the same topic, whose join line marks the end in the log.
    let latecomer = nara_named("latecomer");
    say(
        &client,
        "nara/plaza/hey_there",
        go_wire::hey_there(&latecomer, go_wire::now_ns()),
    )
    .await;
    kitchen.wait_peer("latecomer", "ONLINE", Duration::from_secs(10)).await;
    kitchen.wait_for_log("the latecomer", Duration::from_secs(10), |l| {
        about(l, "a nara joined the plaza", "latecomer")
    });
    let warnings: Vec<Value> = log_of(&mut kitchen).into_iter().filter(impostor_warning).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        (&warnings[0]["name"], &warnings[0]["public_key"], &warnings[0]["kind"]),
        (
            &"kitchen".into(),
            &mallory.public_key.as_str().into(),
            &"hey-there".into()
        )
    );
    let series = "nara_plaza_messages_total{kind=\"hey-there\",result=\"key_mismatch\"}";
    assert_eq!(kitchen.metric(series).await, 5, "each one refused");
}
