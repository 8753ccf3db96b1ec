//! Host health on a real broker: a Go nara's `HostStats` shown mapped (its load per
//! core, its Go heap labelled as such, its CPU % unknown when it says 0), a native
//! nara's own measures shown by itself and by others, in `/api/peers` and the Go
//! routes, and a newspaper whose health no host could have refused, the view keeping
//! what it had.

use crate::common::broker::Mosquitto;
use crate::common::go_wire::{self, now_ns, raw_client};
use crate::common::{TestNara, nara_on, wait_until};
use nara::host_health::{Host, Hundredths, Measured};
use nara::newspaper::{self, OwnStatus};
use nara::{Fingerprint, Identity, Soul, SoulSource};
use rumqttc::v5::AsyncClient;
use rumqttc::v5::mqttbytes::QoS;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Duration;

fn test_identity(name: &str) -> Identity {
    let fingerprint = Fingerprint(Sha256::digest(format!("test-hardware-{name}")).into());
    Identity::new(&Soul::native(&fingerprint, name), name, SoulSource::Native)
}

async fn send(client: &AsyncClient, topic: &str, payload: impl Into<Vec<u8>>) {
    client
        .publish(topic, QoS::AtLeastOnce, false, payload.into())
        .await
        .expect("the publish is queued");
}

/// `name`'s item in a Go fleet route's `naras`.
fn go_item<'a>(fleet: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    fleet["naras"]
        .as_array()
        .and_then(|naras| naras.iter().find(|n| n["Name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {fleet}"))
}

#[tokio::test]
async fn a_go_naras_host_stats_show_mapped_and_its_cpu_of_0_as_unknown() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &[]);
    observer.wait_for_plaza(true, Duration::from_secs(10)).await;
    let (go, _) = raw_client(broker.port, "go-naras", &[]).await;
    // alice's newspaper says ProcCPUPercent 1.5 (a reading); bob's says 0, as every
    // Go nara's does.
    let alice = test_identity("alice");
    send(
        &go,
        "nara/newspaper/alice",
        go_wire::signed_newspaper(&alice, "0.2.0", 5000),
    )
    .await;
    let bob = test_identity("bob");
    let bob_status = go_wire::go_status(&bob, "0.2.0", 5000).replace("\"ProcCPUPercent\":1.5", "\"ProcCPUPercent\":0");
    send(
        &go,
        "nara/newspaper/bob",
        go_wire::newspaper("bob", &bob_status, &bob, &bob_status),
    )
    .await;

    let seen = observer
        .wait_peer_where("alice", "with host health", Duration::from_secs(10), |p| {
            p["host"] != json!({})
        })
        .await;
    assert_eq!(
        seen["host"],
        json!({"load_per_core": 0.12, "cpu_pct": 1.5, "go_heap_bytes": 12 * 1024 * 1024}),
        "LoadAvg is already per core; MemAllocMB is the Go heap, not an RSS; no descriptors"
    );
    assert_eq!(observer.get_json("/api/peers/alice").await["host"], seen["host"]);
    let bob_seen = observer
        .wait_peer_where("bob", "with host health", Duration::from_secs(10), |p| {
            p["host"] != json!({})
        })
        .await;
    assert_eq!(
        bob_seen["host"],
        json!({"load_per_core": 0.12, "go_heap_bytes": 12 * 1024 * 1024}),
        "a Go nara's CPU % of 0 says nothing"
    );

    // The Go routes carry them back under the Go keys, as a Go page reads them.
    let api = observer.get_json("/api.json").await;
    assert_eq!(
        go_item(&api, "alice")["HostStats"],
        json!({"Uptime": 5000, "LoadAvg": 0.12, "MemAllocMB": 12, "ProcCPUPercent": 1.5})
    );
    assert_eq!(
        go_item(&api, "bob")["HostStats"],
        json!({"Uptime": 5000, "LoadAvg": 0.12, "MemAllocMB": 12})
    );
}

#[tokio::test]
async fn native_naras_show_their_own_health_and_each_others() {
    let broker = Mosquitto::start();
    let speaker = nara_on(&broker.url(), "speaker", &[]);
    let observer = nara_on(&broker.url(), "observer", &[]);
    let filled = |p: &serde_json::Value| {
        p["host"]["rss_bytes"].as_u64().is_some_and(|b| b > 1024 * 1024)
            && p["host"]["open_fds"].as_u64().is_some_and(|n| n > 2)
            && p["host"]["load_per_core"].as_f64().is_some()
            && p["host"]["cpu_pct"].as_f64().is_some()
    };
    let own = speaker
        .wait_peer_where("speaker", "showing its own health", Duration::from_secs(10), filled)
        .await;
    assert_eq!(own["host"].get("go_heap_bytes"), None, "{own}");
    let seen = observer
        .wait_peer_where("speaker", "with its health", Duration::from_secs(10), filled)
        .await;
    assert_eq!(seen["host"].get("go_heap_bytes"), None, "{seen}");
    let item = observer.get_json("/api/peers/speaker").await;
    assert!(filled(&item), "{item}");

    // For a Go page: LoadAvg the Go way, and no MemAllocMB, which nara has none of.
    let api = observer.get_json("/api.json").await;
    let stats = &go_item(&api, "speaker")["HostStats"];
    assert!(stats["LoadAvg"].as_f64().is_some(), "{stats}");
    assert_eq!(stats.get("MemAllocMB"), None, "{stats}");
}

/// A newspaper from `identity` signed now, saying `health`.
fn native_paper(identity: &Identity, health: Measured) -> Vec<u8> {
    let sent_ns = u64::try_from(now_ns()).expect("after 1970");
    newspaper::encode(
        identity,
        &OwnStatus {
            version: "1.0.0",
            revision: "abc",
            profile: "release",
            public_url: None,
            host_uptime_s: 5000,
            process_uptime_s: 60,
            sent_ns,
            boot_id: "b00t",
            conn: 1,
            started_ns: sent_ns - 60_000_000_000,
            role_pin: "auto",
            handover: false,
            tags: &nara::tags::NO_TAGS,
            health,
        },
    )
}

#[tokio::test]
async fn a_newspaper_with_health_no_host_has_is_refused_and_the_view_keeps_what_it_had() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &[]);
    observer.wait_for_plaza(true, Duration::from_secs(10)).await;
    let (client, _) = raw_client(broker.port, "mallory", &[]).await;
    let mallory = test_identity("mallory");
    let sane = Measured {
        load_per_core: Some(Hundredths(50)),
        host: Host {
            rss_kib: Some(1000),
            cpu_pct: Some(2.5),
            fds: Some(12),
        },
    };
    send(&client, "nara/newspaper/mallory", native_paper(&mallory, sane)).await;
    let before = observer
        .wait_peer_where("mallory", "with host health", Duration::from_secs(10), |p| {
            p["host"]["rss_bytes"] == 1_024_000
        })
        .await;

    let invalid = "nara_plaza_messages_total{kind=\"newspaper\",result=\"invalid_fields\"}";
    for absurd in [
        Host {
            cpu_pct: Some(-5.0),
            ..sane.host
        },
        Host {
            cpu_pct: Some(1e12),
            ..sane.host
        },
        Host {
            rss_kib: Some(u64::MAX),
            ..sane.host
        },
        Host {
            fds: Some(u32::MAX),
            ..sane.host
        },
    ] {
        let counted = observer.metric(invalid).await;
        let health = Measured { host: absurd, ..sane };
        send(&client, "nara/newspaper/mallory", native_paper(&mallory, health)).await;
        let observer = &observer;
        wait_until(
            &format!("{absurd:?} refused as invalid"),
            Duration::from_secs(10),
            || async move { (observer.metric(invalid).await > counted).then_some(()) },
        )
        .await;
    }
    let after = observer.get_json("/api/peers/mallory").await;
    assert_eq!(after["host"], before["host"], "the view kept what it had");
}
