//! Restarts on a real broker (mosquitto on loopback) with real nara processes: a nara
//! killed or stopped and started again with the same soul is counted by an observer,
//! once each time, in every place an operator looks (`/api/peers`, the lookup,
//! `/metrics/peers`, the Go routes, `nara peers`), and three restarts in a row flag it
//! flapping. Twins taking over from each other count nothing (see `twins.rs`). A Go
//! nara restarts when its host boots again, and not when it comes back from MISSING on
//! the same boot.

use crate::common::broker::Mosquitto;
use crate::common::go_wire::{self, now_ns, raw_client};
use crate::common::{Running, TestNara, holds_for, nara_command, nara_on, wait_until};
use rumqttc::v5::mqttbytes::QoS;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// A soul for `name` in a file, as an operator keeps one across restarts.
fn soul_file(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    let soul = nara::Soul::mint(name).expect("a soul is minted");
    let path = dir.path().join(format!("{name}.soul"));
    std::fs::write(&path, soul.to_base58()).expect("the soul file is written");
    path
}

fn kitchen(broker: &Mosquitto, soul: &std::path::Path) -> Running {
    nara_on(
        &broker.url(),
        "kitchen",
        &["--soul-file", soul.to_str().expect("a UTF-8 path")],
    )
}

/// Waits until `observer` has counted `count` restarts of kitchen, and returns it.
async fn restarts_seen(observer: &Running, count: u64) -> Value {
    let what = format!("the observer to count {count} restarts of kitchen");
    wait_until(&what, Duration::from_secs(15), || async {
        observer
            .peer("kitchen")
            .await
            .filter(|seen| seen["restarts"] == count && seen["status"] == "ONLINE")
    })
    .await
}

#[tokio::test]
async fn a_nara_killed_or_stopped_and_started_again_is_counted_each_time_and_three_is_flapping() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let soul = soul_file(&dir, "kitchen");
    let observer = nara_on(&broker.url(), "observer", &[]);
    let mut first = kitchen(&broker, &soul);
    let seen = observer.wait_peer("kitchen", "ONLINE", Duration::from_secs(10)).await;
    assert_eq!(
        (&seen["restarts"], &seen["last_restart"], &seen["flapping"]),
        (&Value::from(0), &Value::Null, &Value::from(false)),
        "{seen}"
    );

    // Killed: no handover, no chau; the broker publishes its will. The same soul
    // starts again.
    first.signal("KILL");
    first.wait_exit(Duration::from_secs(5));
    let mut second = kitchen(&broker, &soul);
    let seen = restarts_seen(&observer, 1).await;
    assert!(seen["last_restart"].is_string(), "{seen}");
    assert_eq!(seen["flapping"], false, "{seen}");
    holds_for("one restart, counted once", Duration::from_secs(3), || async {
        observer.peer("kitchen").await.is_some_and(|seen| seen["restarts"] == 1)
    })
    .await;

    // Stopped cleanly (its handover finds no twin, so it says chau), started again.
    second.signal("TERM");
    assert_eq!(second.wait_exit(Duration::from_secs(10)).code(), Some(0));
    observer.wait_peer("kitchen", "OFFLINE", Duration::from_secs(5)).await;
    let mut third = kitchen(&broker, &soul);
    restarts_seen(&observer, 2).await;

    // A third time within the window: flapping.
    third.signal("KILL");
    third.wait_exit(Duration::from_secs(5));
    let _fourth = kitchen(&broker, &soul);
    let seen = restarts_seen(&observer, 3).await;
    assert_eq!(seen["flapping"], true, "{seen}");

    // Everywhere an operator looks.
    let one = observer.get_json("/api/peers/kitchen").await;
    assert_eq!(
        (&one["restarts"], &one["flapping"]),
        (&Value::from(3), &Value::from(true))
    );
    assert_eq!(one["last_restart"], seen["last_restart"]);
    let page = wait_until("/metrics/peers to say 3 restarts", Duration::from_secs(5), || async {
        let page = observer.get_text("/metrics/peers").await;
        page.contains("nara_restarts_total{name=\"kitchen\"} 3\n")
            .then_some(page)
    })
    .await;
    assert!(page.contains("nara_peer_flapping{name=\"kitchen\"} 1\n"), "{page}");
    assert!(page.contains("nara_restarts_total{name=\"observer\"} 0\n"), "{page}");
    let last_restart = humantime::parse_rfc3339(one["last_restart"].as_str().unwrap()).unwrap();
    let unix = last_restart.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(
        page.contains(&format!("nara_last_restart{{name=\"kitchen\"}} {unix}\n")),
        "{page}"
    );
    let narae = observer.get_json("/narae.json").await;
    let item = narae["naras"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["Name"] == "kitchen")
        .cloned()
        .unwrap();
    assert_eq!(
        (&item["Restarts"], &item["LastRestart"]),
        (&Value::from(3), &Value::from(unix))
    );
    let table = nara_command()
        .args(["peers", "--url", &observer.base])
        .output()
        .expect("nara runs");
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.lines().next().unwrap().ends_with("RESTARTS"), "{table}");
    let row = table.lines().find(|l| l.starts_with("kitchen")).unwrap_or_default();
    assert!(row.ends_with("3 (flapping)"), "{table}");
}

#[tokio::test]
async fn a_go_nara_restarts_when_its_host_boots_again_not_when_it_comes_back_from_missing() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &["--plaza-missing-after", "2s"]);
    observer.wait_for_plaza(true, Duration::from_secs(10)).await;
    let bart = nara::Identity::new(
        &nara::Soul::mint("bart").expect("a soul is minted"),
        "bart",
        nara::SoulSource::File,
    );
    let (go, _) = raw_client(broker.port, "go-bart", &[]).await;
    let send = |topic: &'static str, payload: String| {
        let go = go.clone();
        async move {
            go.publish(topic, QoS::AtLeastOnce, false, payload)
                .await
                .expect("the publish is queued");
        }
    };
    let now_s = || u64::try_from(now_ns()).expect("after 1970") / 1_000_000_000;
    // Its host booted a day ago.
    let booted = now_s() - 86_400;
    send("nara/plaza/hey_there", go_wire::hey_there(&bart, now_ns())).await;
    send(
        "nara/newspaper/bart",
        go_wire::signed_newspaper(&bart, "0.2.0", now_s() - booted),
    )
    .await;
    observer.wait_peer("bart", "ONLINE", Duration::from_secs(10)).await;

    // Silent until MISSING, then back on the same boot: its network, not a restart.
    observer.wait_peer("bart", "MISSING", Duration::from_secs(10)).await;
    send("nara/plaza/hey_there", go_wire::hey_there(&bart, now_ns())).await;
    send(
        "nara/newspaper/bart",
        go_wire::signed_newspaper(&bart, "0.2.0", now_s() - booted),
    )
    .await;
    let seen = observer.wait_peer("bart", "ONLINE", Duration::from_secs(10)).await;
    assert_eq!(seen["restarts"], 0, "{seen}");

    // Its host rebooted: a hey_there, then a newspaper of a boot seconds ago.
    send("nara/plaza/hey_there", go_wire::hey_there(&bart, now_ns())).await;
    send("nara/newspaper/bart", go_wire::signed_newspaper(&bart, "0.2.0", 30)).await;
    let seen = wait_until("a restart of bart", Duration::from_secs(10), || async {
        observer.peer("bart").await.filter(|seen| seen["restarts"] == 1)
    })
    .await;
    assert!(seen["last_restart"].is_string(), "{seen}");
}
