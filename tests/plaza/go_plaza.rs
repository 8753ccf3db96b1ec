//! The Go nara's presence messages on a real broker (mosquitto on loopback), both ways:
//! a Go nara's hey_there, newspaper and chau move it through nara's view; tampered,
//! replayed, stale, unsigned and foreign-key messages are refused and counted under
//! their reasons; and what nara publishes passes the Go nara's checks.

use crate::common::broker::Mosquitto;
use crate::common::go_wire::{self, now_ns, raw_client};
use crate::common::{TestNara, nara_on, wait_until};
use nara::{Fingerprint, Identity, Soul, SoulSource};
use rumqttc::v5::AsyncClient;
use rumqttc::v5::mqttbytes::QoS;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The Go nara's test soul for `name` (its test helper's `testSoul`).
fn go_test_identity(name: &str) -> Identity {
    let fingerprint = Fingerprint(Sha256::digest(format!("test-hardware-{name}")).into());
    Identity::new(&Soul::native(&fingerprint, name), name, SoulSource::Native)
}

async fn send(client: &AsyncClient, topic: &str, payload: String) {
    client
        .publish(topic, QoS::AtLeastOnce, false, payload)
        .await
        .expect("the publish is queued");
}

#[tokio::test]
async fn a_go_nara_is_online_with_its_version_and_offline_after_its_chau() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &[]);
    let alice = go_test_identity("alice");
    let (go, _) = raw_client(broker.port, "go-alice", &[]).await;
    // What observer would see, were alice a Go nara joining: hello, then its newspaper.
    observer.wait_for_plaza(true, Duration::from_secs(10)).await;
    send(&go, "nara/plaza/hey_there", go_wire::hey_there(&alice, now_ns())).await;
    send(
        &go,
        "nara/newspaper/alice",
        go_wire::signed_newspaper(&alice, "0.2.0", 5000),
    )
    .await;
    let seen = observer
        .wait_peer_where("alice", "ONLINE at 0.2.0", Duration::from_secs(10), |p| {
            p["status"] == "ONLINE" && p["version"] == "0.2.0"
        })
        .await;
    assert_eq!(
        seen["id"],
        alice.id.as_str(),
        "the ID is the signed one from the newspaper"
    );
    assert_eq!(seen["public_key"], alice.public_key.as_str());
    assert_eq!(seen["uptime_s"], 5000);

    send(&go, "nara/plaza/chau", go_wire::chau(&alice, now_ns())).await;
    observer.wait_peer("alice", "OFFLINE", Duration::from_secs(10)).await;
    assert_eq!(
        observer
            .metric("nara_plaza_messages_total{kind=\"chau\",result=\"accepted\"}")
            .await,
        1
    );
}

#[tokio::test]
async fn tampered_replayed_stale_unsigned_and_foreign_key_messages_are_refused_and_counted() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &[]);
    observer.wait_for_plaza(true, Duration::from_secs(10)).await;
    let alice = go_test_identity("alice");
    let mallory = go_test_identity("mallory");
    let (go, _) = raw_client(broker.port, "go", &[]).await;

    let hello = go_wire::hey_there(&alice, now_ns());
    send(&go, "nara/plaza/hey_there", hello.clone()).await;
    send(
        &go,
        "nara/newspaper/alice",
        go_wire::signed_newspaper(&alice, "0.2.0", 5000),
    )
    .await;
    observer
        .wait_peer_version("alice", "0.2.0", Duration::from_secs(10))
        .await;

    // The same hey_there again.
    send(&go, "nara/plaza/hey_there", hello).await;
    observer.wait_counted("hey-there", "replayed").await;
    // A version changed after signing.
    let status = go_wire::go_status(&alice, "0.2.0", 5001);
    let tampered = go_wire::newspaper("alice", &status.replace("0.2.0", "6.6.6"), &alice, &status);
    send(&go, "nara/newspaper/alice", tampered).await;
    observer.wait_counted("newspaper", "bad_signature").await;
    // No signature at all, which the Go nara would let through.
    let unsigned = format!(r#"{{"From":"alice","Status":{status}}}"#);
    send(&go, "nara/newspaper/alice", unsigned).await;
    observer.wait_counted("newspaper", "unsigned").await;
    // A newspaper recorded an hour ago: its uptime implies a boot an hour later.
    send(
        &go,
        "nara/newspaper/alice",
        go_wire::signed_newspaper(&alice, "0.1.0", 1400),
    )
    .await;
    observer.wait_counted("newspaper", "stale").await;
    // A hey_there signed an hour ago.
    let stranger = go_test_identity("stranger");
    let old = go_wire::hey_there(&stranger, now_ns() - 3_600_000_000_000);
    send(&go, "nara/plaza/hey_there", old).await;
    observer.wait_counted("hey-there", "stale").await;
    // Mallory's own valid newspaper, published under alice's name: another key.
    let status = go_wire::go_status(&mallory, "6.6.6", 9000).replace("\"mallory\"", "\"alice\"");
    let foreign = go_wire::newspaper("alice", &status, &mallory, &status);
    send(&go, "nara/newspaper/alice", foreign).await;
    observer.wait_counted("newspaper", "key_mismatch").await;
    // Mallory signs a hey_there naming alice as its sender.
    let borrowed = go_wire::hey_there(&mallory, now_ns()).replace("\"emitter\":\"mallory\"", "\"emitter\":\"alice\"");
    send(&go, "nara/plaza/hey_there", borrowed).await;
    observer.wait_counted("hey-there", "wrong_sender").await;
    // A newspaper on another nara's topic.
    send(
        &go,
        "nara/newspaper/bob",
        go_wire::signed_newspaper(&alice, "0.2.0", 5002),
    )
    .await;
    observer.wait_counted("newspaper", "wrong_topic").await;
    // The Go nara's other traffic is not listened to: neither an error nor forged.
    send(&go, "nara/plaza/social", r#"{"svc":"social"}"#.into()).await;
    send(&go, "nara/plaza/howdy", r#"{"From":"alice"}"#.into()).await;

    // A genuine newspaper still gets through after all that, and nothing else changed.
    send(
        &go,
        "nara/newspaper/alice",
        go_wire::signed_newspaper(&alice, "0.2.1", 5010),
    )
    .await;
    let alice_now = observer
        .wait_peer_version("alice", "0.2.1", Duration::from_secs(10))
        .await;
    assert_eq!(alice_now["status"], "ONLINE");
    assert!(observer.peer("stranger").await.is_none());
    assert!(observer.peer("mallory").await.is_none());
    let metrics = observer.get_text("/metrics").await;
    assert!(!metrics.contains("kind=\"other\""), "{metrics}");
    assert_eq!(observer.status_code("/healthz").await, 200);
}

#[tokio::test]
async fn what_nara_publishes_passes_the_go_naras_checks() {
    let broker = Mosquitto::start();
    let (_listener, mut heard) = raw_client(
        broker.port,
        "go-listener",
        &["nara/plaza/hey_there", "nara/plaza/chau", "nara/newspaper/+"],
    )
    .await;
    let mut speaker = nara_on(
        &broker.url(),
        "speaker",
        &[
            "--public-url",
            "https://speaker.example.org/",
            "--tag",
            "role=db",
            "--tag",
            "site=lisbon-2",
        ],
    );
    let own = speaker.get_json("/api/status").await;

    let mut next = async |topic: &str| loop {
        let (got, payload) = tokio::time::timeout(Duration::from_secs(10), heard.recv())
            .await
            .unwrap_or_else(|_| panic!("nothing on {topic} within 10 s"))
            .expect("the listener runs");
        if got == topic {
            return payload;
        }
    };
    let hello = go_wire::verify_event(&next("nara/plaza/hey_there").await).unwrap();
    assert_eq!(hello["svc"], "hey-there");
    assert_eq!(hello["hey_there"]["From"], "speaker");
    assert_eq!(hello["hey_there"]["PublicKey"], own["public_key"]);
    assert_eq!(hello["hey_there"]["ID"], own["id"]);
    let ts = hello["ts"].as_i64().unwrap();
    assert!((now_ns() - ts).abs() < 10_000_000_000, "ts is now in nanoseconds: {ts}");

    let status = go_wire::verify_newspaper(&next("nara/newspaper/speaker").await).unwrap();
    assert_eq!(status["Version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(status["PublicKey"], own["public_key"]);
    assert_eq!(status["ID"], own["id"]);
    assert_eq!(status["PublicUrl"], "https://speaker.example.org/");
    assert!(status["HostStats"]["Uptime"].as_u64().is_some(), "{status}");
    assert_eq!(status["build_revision"], nara::REVISION);
    // Its tags ride in the signed Status, which a Go nara reads without a complaint.
    assert_eq!(status["tags"]["role"], "db", "{status}");
    assert_eq!(status["tags"]["site"], "lisbon-2");
    assert_eq!(status["tags"]["os"], std::env::consts::OS, "an automatic label");
    let skipped = go_wire::go_accepts_status(&status).unwrap_or_else(|e| panic!("{e}: {status}"));
    assert!(skipped.contains(&"tags".to_string()), "{skipped:?}");
    let shadowing = serde_json::json!({"version": "1.0.0"});
    assert!(
        go_wire::go_accepts_status(&shadowing).is_err(),
        "a key Go would fold into its Version is caught"
    );

    speaker.signal("TERM");
    let bye = go_wire::verify_event(&next("nara/plaza/chau").await).unwrap();
    assert_eq!(bye["chau"]["From"], "speaker");
    assert_eq!(speaker.wait_exit(Duration::from_secs(5)).code(), Some(0));
}

/// Seconds since the Unix epoch, as an uptime arithmetic needs them.
fn now_s() -> u64 {
    u64::try_from(now_ns()).expect("after 1970") / 1_000_000_000
}

#[tokio::test]
async fn an_old_newspaper_heard_first_does_not_lock_out_the_real_ones() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &[]);
    observer.wait_for_plaza(true, Duration::from_secs(10)).await;
    let dave = go_test_identity("dave");
    let (attacker, _) = raw_client(broker.port, "attacker", &[]).await;
    // dave's host booted 7000 s ago. One of his newspapers, recorded an hour ago, is
    // the first this observer hears of him.
    let booted = now_s() - 7000;
    let recorded = go_wire::signed_newspaper(&dave, "0.1.0", now_s() - booted - 3600);
    send(&attacker, "nara/newspaper/dave", recorded.clone()).await;
    observer
        .wait_peer_version("dave", "0.1.0", Duration::from_secs(10))
        .await;
    // dave's next genuine newspaper takes over at once, and the recording is refused
    // from then on.
    let (go, _) = raw_client(broker.port, "go-dave", &[]).await;
    send(
        &go,
        "nara/newspaper/dave",
        go_wire::signed_newspaper(&dave, "0.2.0", now_s() - booted),
    )
    .await;
    let seen = observer
        .wait_peer_version("dave", "0.2.0", Duration::from_secs(10))
        .await;
    assert!(seen["uptime_s"].as_u64().unwrap() >= 7000, "{seen}");
    send(&attacker, "nara/newspaper/dave", recorded).await;
    observer.wait_counted("newspaper", "stale").await;
    assert_eq!(observer.peer("dave").await.unwrap()["version"], "0.2.0");
}

#[tokio::test]
async fn a_newspaper_from_before_a_chau_cannot_move_a_restarted_naras_boot() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &[]);
    observer.wait_for_plaza(true, Duration::from_secs(10)).await;
    let alice = go_test_identity("alice");
    let (go, _) = raw_client(broker.port, "go-alice", &[]).await;
    let (attacker, _) = raw_client(broker.port, "attacker", &[]).await;
    // alice's host booted 5000 s ago; her stats lag ten seconds behind.
    let booted = now_s() - 5000;
    let recorded = go_wire::signed_newspaper(&alice, "0.1.0", now_s() - booted - 3600);
    send(&go, "nara/plaza/hey_there", go_wire::hey_there(&alice, now_ns())).await;
    send(
        &go,
        "nara/newspaper/alice",
        go_wire::signed_newspaper(&alice, "0.1.0", now_s() - booted - 10),
    )
    .await;
    observer
        .wait_peer_version("alice", "0.1.0", Duration::from_secs(10))
        .await;
    send(&go, "nara/plaza/chau", go_wire::chau(&alice, now_ns())).await;
    observer.wait_peer("alice", "OFFLINE", Duration::from_secs(10)).await;

    // She restarts on the same host and says hey_there; before her first newspaper, an
    // attacker publishes one recorded an hour before her chau.
    send(&go, "nara/plaza/hey_there", go_wire::hey_there(&alice, now_ns())).await;
    observer.wait_peer("alice", "ONLINE", Duration::from_secs(10)).await;
    send(&attacker, "nara/newspaper/alice", recorded).await;
    observer.wait_counted("newspaper", "stale").await;
    // Her own newspapers are believed, and the same one again is no news.
    let genuine = go_wire::signed_newspaper(&alice, "0.2.0", now_s() - booted);
    send(&go, "nara/newspaper/alice", genuine.clone()).await;
    observer
        .wait_peer_version("alice", "0.2.0", Duration::from_secs(10))
        .await;
    send(&attacker, "nara/newspaper/alice", genuine).await;
    observer.wait_counted("newspaper", "replayed").await;
    let alice_now = observer.peer("alice").await.unwrap();
    assert_eq!(
        (&alice_now["status"], &alice_now["version"]),
        (&"ONLINE".into(), &"0.2.0".into())
    );
    assert_eq!(
        alice_now["restarts"], 1,
        "back after her chau: one restart, and the replays none"
    );
}

#[tokio::test]
async fn a_replay_from_two_reboots_back_is_refused_and_the_genuine_newspapers_stay_accepted() {
    let broker = Mosquitto::start();
    // A small skew, so that boots a few seconds apart are told apart.
    let observer = nara_on(&broker.url(), "observer", &["--plaza-max-skew", "5s"]);
    observer.wait_for_plaza(true, Duration::from_secs(10)).await;
    let vera = go_test_identity("vera");
    let (go, _) = raw_client(broker.port, "go-vera", &[]).await;
    let (attacker, _) = raw_client(broker.port, "attacker", &[]).await;
    // Boot A: up 10,000 s. The attacker keeps one of its newspapers from when it was
    // up 5,000 s.
    let a_booted = now_s() - 10_000;
    let recorded = go_wire::signed_newspaper(&vera, "0.1.0", 5_000);
    send(&go, "nara/plaza/hey_there", go_wire::hey_there(&vera, now_ns())).await;
    send(
        &go,
        "nara/newspaper/vera",
        go_wire::signed_newspaper(&vera, "0.1.0", now_s() - a_booted),
    )
    .await;
    observer
        .wait_peer_version("vera", "0.1.0", Duration::from_secs(10))
        .await;
    // The host reboots (B), and again (C), each time saying hey_there as it starts.
    let b_booted = now_s() - 2;
    send(&go, "nara/plaza/hey_there", go_wire::hey_there(&vera, now_ns())).await;
    send(
        &go,
        "nara/newspaper/vera",
        go_wire::signed_newspaper(&vera, "0.2.0", now_s() - b_booted),
    )
    .await;
    observer
        .wait_peer_version("vera", "0.2.0", Duration::from_secs(10))
        .await;
    wait_until("a boot beyond the skew of B", Duration::from_secs(10), || async {
        (now_s() >= b_booted + 9).then_some(())
    })
    .await;
    let c_booted = now_s() - 1;
    send(&go, "nara/plaza/hey_there", go_wire::hey_there(&vera, now_ns())).await;
    send(
        &go,
        "nara/newspaper/vera",
        go_wire::signed_newspaper(&vera, "0.3.0", now_s() - c_booted),
    )
    .await;
    observer
        .wait_peer_version("vera", "0.3.0", Duration::from_secs(10))
        .await;

    // The recording from A: an earlier boot than C, with more uptime.
    send(&attacker, "nara/newspaper/vera", recorded).await;
    observer.wait_counted("newspaper", "replayed").await;
    assert_eq!(observer.peer("vera").await.unwrap()["version"], "0.3.0");
    // C's next newspaper is believed.
    send(
        &go,
        "nara/newspaper/vera",
        go_wire::signed_newspaper(&vera, "0.3.1", now_s() - c_booted + 1),
    )
    .await;
    observer
        .wait_peer_version("vera", "0.3.1", Duration::from_secs(10))
        .await;
}

#[tokio::test]
async fn a_recording_heard_first_by_a_restarted_observer_locks_the_nara_out_only_for_a_while() {
    let broker = Mosquitto::start();
    // The observer has just started: it knows nothing of vera.
    let observer = nara_on(&broker.url(), "observer", &["--plaza-missing-after", "3s"]);
    observer.wait_for_plaza(true, Duration::from_secs(10)).await;
    let vera = go_test_identity("vera");
    let (attacker, _) = raw_client(broker.port, "attacker", &[]).await;
    // vera's host rebooted 1,000 s ago. The first thing the observer hears of her is a
    // newspaper of the boot before, recorded when that host was up 12,000 s: an earlier
    // boot, still running, as far as the observer can tell.
    send(
        &attacker,
        "nara/newspaper/vera",
        go_wire::signed_newspaper(&vera, "0.1.0", 12_000),
    )
    .await;
    observer
        .wait_peer_version("vera", "0.1.0", Duration::from_secs(10))
        .await;
    // vera speaks: a hey_there, then her newspapers.
    let booted = now_s() - 1_000;
    let (go, _) = raw_client(broker.port, "go-vera", &[]).await;
    send(&go, "nara/plaza/hey_there", go_wire::hey_there(&vera, now_ns())).await;
    let speaking = tokio::spawn(async move {
        loop {
            send(
                &go,
                "nara/newspaper/vera",
                go_wire::signed_newspaper(&vera, "0.2.0", now_s() - booted),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    // Believed once her boot has spoken, alone, for the recovery window (3 s here).
    observer
        .wait_peer_version("vera", "0.2.0", Duration::from_secs(15))
        .await;
    speaking.abort();
}

#[tokio::test]
async fn a_go_nara_shares_the_plaza_with_wills_and_retained_newspapers_unchanged() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &[]);
    let doomed = nara_on(&broker.url(), "doomed", &[]);
    observer.wait_peer("doomed", "ONLINE", Duration::from_secs(10)).await;
    // A Go nara joins later, and subscribes to what the Go nara subscribes to (its
    // MQTT client asks for what the broker retained, as this one does).
    let (go, mut go_heard) = raw_client(
        broker.port,
        "go-bart",
        &[
            "nara/plaza/hey_there",
            "nara/plaza/chau",
            "nara/plaza/howdy",
            "nara/newspaper/#",
        ],
    )
    .await;
    // It learns both naras at once from the newspapers the broker holds, which pass
    // its checks.
    let mut learned = std::collections::BTreeSet::new();
    while learned.len() < 2 {
        let (topic, payload) = tokio::time::timeout(Duration::from_secs(10), go_heard.recv())
            .await
            .expect("the retained newspapers, at once")
            .expect("the Go nara listens");
        let status = go_wire::verify_newspaper(&payload).unwrap_or_else(|e| panic!("{e}: {payload}"));
        assert_eq!(status["Version"], env!("CARGO_PKG_VERSION"));
        learned.insert(topic);
    }
    // The Go nara speaks as it does: it sends no will, and is never held SUSPECT.
    let bart = go_test_identity("bart");
    send(&go, "nara/plaza/hey_there", go_wire::hey_there(&bart, now_ns())).await;
    send(
        &go,
        "nara/newspaper/bart",
        go_wire::signed_newspaper(&bart, "0.2.0", 5000),
    )
    .await;
    observer
        .wait_peer_version("bart", "0.2.0", Duration::from_secs(10))
        .await;

    // A nara of ours crashes: the broker publishes its will on a topic the Go nara
    // never hears, and the observer sees it MISSING within seconds.
    doomed.signal("KILL");
    observer.wait_peer("doomed", "MISSING", Duration::from_secs(15)).await;
    assert_eq!(observer.peer("bart").await.unwrap()["status"], "ONLINE");
    // Everything the Go nara heard passes its checks, and none of it is a will.
    while let Ok((topic, payload)) = go_heard.try_recv() {
        assert!(!payload.contains("\"Will\""), "{topic}: {payload}");
        if topic.starts_with("nara/newspaper/") {
            go_wire::verify_newspaper(&payload).unwrap_or_else(|e| panic!("{e}: {payload}"));
        } else {
            go_wire::verify_event(&payload).unwrap_or_else(|e| panic!("{e}: {payload}"));
        }
    }
}
