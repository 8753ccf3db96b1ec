//! One nara by name, the list filtered, and the Go nara's JSON routes, read from a nara
//! on a real broker (mosquitto on loopback) whose fleet is two other naras (one of
//! which leaves), a Go nara that speaks through a raw MQTT client, and a read-only
//! watcher: what each route answers about each of them.

use crate::common::broker::Mosquitto;
use crate::common::go_wire::{self, GO_NARAE_KEYS, GO_STATUS_KEYS, keys_in_order, now_ns, raw_client};
use crate::common::{TestNara, nara_on};
use nara::{Fingerprint, Identity, Soul, SoulSource};
use rumqttc::v5::mqttbytes::QoS;
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const WAIT: Duration = Duration::from_secs(10);

/// The names in a `{"peers":[…]}` or `{"naras":[…]}` answer, in its order.
fn names(list: &Value, key: &str, name: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {list}"))
        .iter()
        .map(|p| p[name].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The objects of a `{"naras":[…]}` answer, as written.
fn items(body: &str) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Fleet<'a> {
        #[serde(borrow)]
        naras: Vec<&'a serde_json::value::RawValue>,
    }
    let fleet: Fleet<'_> = serde_json::from_str(body).expect("{\"naras\":[…],…}");
    fleet.naras.iter().map(|n| n.get().to_string()).collect()
}

/// Whether `keys` come in the order they have in `order`.
fn in_order_of(keys: &[String], order: &[&str]) -> bool {
    let at: Vec<Option<usize>> = keys.iter().map(|k| order.iter().position(|o| o == k)).collect();
    at.iter().all(Option::is_some) && at.windows(2).all(|pair| pair[0] < pair[1])
}

#[tokio::test]
async fn lookups_filters_and_the_go_routes_answer_for_a_fleet_on_a_broker() {
    let broker = Mosquitto::start();
    let url = broker.url();
    let alpha = nara_on(&url, "alpha", &[]);
    let _beta = nara_on(&url, "beta", &["--public-url", "https://beta.example.org/"]);
    let mut gamma = nara_on(&url, "gamma", &[]);
    let watcher = nara_on(&url, "watcher", &["--read-only"]);
    alpha.wait_until_hearing(WAIT).await;
    let fingerprint = Fingerprint::of("fleet-routes", &[]);
    let alice = Identity::new(&Soul::native(&fingerprint, "alice"), "alice", SoulSource::Native);
    let (go, _) = raw_client(broker.port, "go-alice", &[]).await;
    for (topic, payload) in [
        ("nara/plaza/hey_there", go_wire::hey_there(&alice, now_ns())),
        ("nara/newspaper/alice", go_wire::signed_newspaper(&alice, "0.2.0", 5000)),
    ] {
        go.publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .expect("the publish is queued");
    }
    alpha.wait_peer_version("alice", "0.2.0", WAIT).await;
    alpha.wait_peer_version("beta", nara::VERSION, WAIT).await;
    alpha.wait_peer_version("gamma", nara::VERSION, WAIT).await;
    watcher.wait_peer_version("alpha", nara::VERSION, WAIT).await;
    gamma.signal("TERM");
    gamma.wait_exit(WAIT);
    alpha.wait_peer("gamma", "OFFLINE", WAIT).await;

    // One nara by name: as the list shows it.
    let listed = alpha.peer("beta").await.expect("beta is listed");
    let one = alpha.get_json("/api/peers/beta").await;
    for field in [
        "name",
        "id",
        "public_key",
        "status",
        "version",
        "revision",
        "public_url",
        "first_seen",
    ] {
        assert_eq!(one[field], listed[field], "{field}");
    }
    assert_eq!(one["public_url"], "https://beta.example.org/");
    let go_nara = alpha.get_json("/api/peers/alice").await;
    assert_eq!(
        (go_nara["version"].as_str(), go_nara["revision"].as_str()),
        (Some("0.2.0"), Some(""))
    );
    assert_eq!(
        alpha.status_code("/api/peers/watcher").await,
        404,
        "a read-only nara is never heard"
    );

    // The list filtered.
    for (query, expected) in [
        ("status=OFFLINE", vec!["gamma"]),
        ("version=0.2.0", vec!["alice"]),
        ("status=online", vec!["alice", "alpha", "beta"]),
        (
            &format!("status=ONLINE&version={}", nara::VERSION),
            vec!["alpha", "beta"],
        ),
        (
            &format!("status=online,offline&version=0.2.0&version={}", nara::VERSION),
            vec!["alice", "alpha", "beta", "gamma"],
        ),
        ("status=MISSING", vec![]),
    ] {
        let list = alpha.get_json(&format!("/api/peers?{query}")).await;
        assert_eq!(names(&list, "peers", "name"), expected, "{query}");
    }

    // /api.json: every nara with what nara knows of it, this one last.
    let text = alpha.get_text("/api.json").await;
    let api: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(api["server"], "alpha");
    assert_eq!(names(&api, "naras", "Name"), ["alice", "beta", "gamma", "alpha"]);
    let by_name = |fleet: &Value, name: &str| -> Value {
        fleet["naras"]
            .as_array()
            .and_then(|naras| naras.iter().find(|n| n["Name"] == name).cloned())
            .unwrap_or_else(|| panic!("{name} in {fleet}"))
    };
    let item = by_name(&api, "alice");
    assert_eq!(item["Version"], "0.2.0");
    assert_eq!(item["ID"], alice.id.as_str());
    assert_eq!(item["PublicKey"], alice.public_key.as_str());
    assert_eq!(item["HostStats"]["Uptime"], 5000, "the Go nara's own HostStats.Uptime");
    assert_eq!(item["Online"], "ONLINE");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let last_seen = item["LastSeen"].as_u64().expect("Unix seconds");
    assert!(now.abs_diff(last_seen) < 60, "LastSeen {last_seen}, now {now}");
    assert_eq!(by_name(&api, "gamma")["Online"], "OFFLINE");
    assert_eq!(by_name(&api, "beta")["PublicUrl"], "https://beta.example.org/");
    assert_eq!(by_name(&api, "alpha")["Version"], nara::VERSION);
    let own_view: Value = watcher.get_json("/api.json").await;
    let seen_by_watcher = names(&own_view, "naras", "Name");
    assert!(
        seen_by_watcher.contains(&"alpha".to_string()) && !seen_by_watcher.contains(&"watcher".to_string()),
        "a read-only nara leaves itself out, as a read-only Go nara does: {seen_by_watcher:?}"
    );

    // /narae.json: flat, in the same order, without a version.
    let text = alpha.get_text("/narae.json").await;
    let narae: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(names(&narae, "naras", "Name"), ["alice", "beta", "gamma", "alpha"]);
    for item in items(&text) {
        let keys = keys_in_order(&item);
        assert!(keys.iter().all(|k| GO_NARAE_KEYS.contains(&k.as_str())), "{keys:?}");
    }
    let item = by_name(&narae, "alice");
    assert_eq!(
        (item["Uptime"].as_u64(), item["ID"].as_str()),
        (Some(5000), Some(alice.id.as_str()))
    );

    // /status/{name}.json: another nara's status in Go's field order; not this one's.
    let text = alpha.get_text("/status/alice.json").await;
    let keys = keys_in_order(&text);
    assert!(in_order_of(&keys, GO_STATUS_KEYS), "{keys:?} in the Go nara's order");
    let status: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        (status["Version"].as_str(), status["ID"].as_str()),
        (Some("0.2.0"), Some(alice.id.as_str()))
    );
    assert_eq!(
        alpha.get_json("/status/beta.json").await["PublicUrl"],
        "https://beta.example.org/"
    );
    assert_eq!(alpha.status_code("/status/alpha.json").await, 404);
    assert_eq!(alpha.status_code("/status/nobody.json").await, 404);
}
