//! Joins that cost the plaza nothing, on a real broker: each nara's newspaper is
//! retained by the broker, so a newcomer and a read-only watcher learn every nara from
//! their subscription while nobody answers them. What the broker retained is judged by
//! its signed age (a retained replay does no more than a live one), and what a
//! subscription brings is bounded (a flood of retained junk is dropped after a look at
//! its size, and counted).

use crate::common::broker::Mosquitto;
use crate::common::go_wire::{self, now_ns, raw_client};
use crate::common::{Running, TestNara, holds_for, nara_command, nara_on, wait_until};
use nara::newspaper::{self, OwnStatus};
use nara::{Fingerprint, Identity, Soul, SoulSource};
use rumqttc::v5::AsyncClient;
use rumqttc::v5::mqttbytes::QoS;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::sync::mpsc;

/// A nara whose newspaper interval is far longer than any test waits.
fn slow_nara(broker: &Mosquitto, name: &str, extra: &[&str]) -> Running {
    let mut command = nara_command();
    command
        .args([
            "--http-addr",
            "127.0.0.1:0",
            "--name",
            name,
            "--mqtt-url",
            &broker.url(),
        ])
        .args(["--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "120s"])
        .args(extra);
    Running::start(command).unwrap_or_else(|e| panic!("{e}"))
}

/// Publishes `payload` retained on `topic` (QoS 1, acknowledged before this returns).
async fn retain(client: &AsyncClient, topic: &str, payload: Vec<u8>) {
    client
        .publish(topic, QoS::AtLeastOnce, true, payload)
        .await
        .expect("the publish is queued");
}

/// Everything `heard` has brought so far.
fn drain(heard: &mut mpsc::UnboundedReceiver<(String, String)>) -> Vec<(String, String)> {
    std::iter::from_fn(|| heard.try_recv().ok()).collect()
}

/// How many newspapers `nara` counted as `result`.
async fn newspapers(nara: &Running, result: &str) -> u64 {
    nara.metric(&format!(
        "nara_plaza_messages_total{{kind=\"newspaper\",result=\"{result}\"}}"
    ))
    .await
}

/// Whether `nara` sees every one of `names` ONLINE with the version it runs.
async fn sees_all(nara: &Running, names: &[&str]) -> bool {
    let peers = nara.peers().await;
    names.iter().all(|name| {
        peers
            .iter()
            .any(|p| p["name"] == *name && p["status"] == "ONLINE" && p["version"] == env!("CARGO_PKG_VERSION"))
    })
}

#[tokio::test]
async fn a_newcomer_and_a_watcher_learn_the_plaza_from_the_broker_and_nobody_answers() {
    let broker = Mosquitto::start();
    let names = ["first", "second", "third"];
    let _fleet: Vec<Running> = names.iter().map(|n| slow_nara(&broker, n, &[])).collect();
    // Whatever the plaza says from now on, as the broker forwards it live.
    let (_ears, mut heard) = raw_client(broker.port, "ears", &["nara/plaza/hey_there", "nara/newspaper/+"]).await;
    wait_until("the three announced", Duration::from_secs(10), || {
        let got = drain(&mut heard);
        async move { (got.len() >= 3).then_some(()) }
    })
    .await;
    let _ = drain(&mut heard);

    let newcomer = slow_nara(&broker, "newcomer", &[]);
    let watcher = slow_nara(&broker, "watcher", &["--read-only"]);
    for nara in [&newcomer, &watcher] {
        let what = format!("{} to see the three ONLINE with their versions", nara.base);
        wait_until(&what, Duration::from_secs(10), || async move {
            sees_all(nara, &names).await.then_some(())
        })
        .await;
    }
    // Their first newspapers are two minutes away: nobody answered the newcomer.
    let answers: Vec<(String, String)> = drain(&mut heard)
        .into_iter()
        .filter(|(topic, payload)| !topic.ends_with("/newcomer") && !payload.contains("\"newcomer\""))
        .collect();
    assert!(answers.is_empty(), "the others answered: {answers:?}");
    assert_eq!(
        newspapers(&watcher, "accepted").await,
        4,
        "three retained, and the newcomer's"
    );
}

/// The Go nara's test soul for `name` (its test helper's `testSoul`).
fn go_test_identity(name: &str) -> Identity {
    let fingerprint = Fingerprint(Sha256::digest(format!("test-hardware-{name}")).into());
    Identity::new(&Soul::native(&fingerprint, name), name, SoulSource::Native)
}

#[tokio::test]
async fn a_retained_replay_is_judged_by_its_signed_age_and_locks_nobody_out() {
    let broker = Mosquitto::start();
    let alice = nara_on(&broker.url(), "alice", &[]);
    alice.wait_for_plaza(true, Duration::from_secs(10)).await;
    let (attacker, mut heard) = raw_client(broker.port, "attacker", &["nara/newspaper/alice"]).await;
    // A newspaper of alice's, recorded; she has said newer ones since. The attacker
    // keeps it retained in place of hers.
    let recorded = heard.recv().await.expect("a newspaper of alice").1;
    heard.recv().await.expect("a newer one");
    let replaying = {
        let attacker = attacker.clone();
        tokio::spawn(async move {
            loop {
                retain(&attacker, "nara/newspaper/alice", recorded.clone().into_bytes()).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    // A Go nara's newspaper recorded an hour ago, which Go naras never retain: dave's
    // host booted 7000 s ago.
    let dave = go_test_identity("dave");
    let now_s = || u64::try_from(now_ns() / 1_000_000_000).unwrap();
    let booted = now_s() - 7000;
    let hour_old = go_wire::signed_newspaper(&dave, "0.1.0", now_s() - booted - 3600);
    retain(&attacker, "nara/newspaper/dave", hour_old.into_bytes()).await;
    // One of ours signed an hour ago, older than any retained newspaper may be.
    let ghost = Identity::new(&Soul::mint("ghost").unwrap(), "ghost", SoulSource::Ephemeral);
    let ancient_ns = u64::try_from(now_ns() - 3_600_000_000_000).unwrap();
    let ancient = newspaper::encode(
        &ghost,
        &OwnStatus {
            version: "0.0.1",
            revision: "old",
            profile: "release",
            public_url: None,
            host_uptime_s: 10,
            process_uptime_s: 10,
            sent_ns: ancient_ns,
            boot_id: "ancient",
            conn: 1,
            started_ns: ancient_ns - 10_000_000_000,
            role_pin: "auto",
            handover: false,
            tags: &nara::tags::NO_TAGS,
            health: Default::default(),
        },
    );
    retain(&attacker, "nara/newspaper/ghost", ancient).await;

    let observer = nara_on(&broker.url(), "observer", &[]);
    observer.wait_peer("alice", "ONLINE", Duration::from_secs(10)).await;
    // Whether it heard the recording or hers first, her newspapers keep being
    // believed: each is newer than the last.
    let observer_ref = &observer;
    let accepted = newspapers(observer_ref, "accepted").await;
    wait_until(
        "alice's live newspapers believed",
        Duration::from_secs(10),
        || async move { (newspapers(observer_ref, "accepted").await >= accepted + 3).then_some(()) },
    )
    .await;
    replaying.abort();
    // The hour-old one of ours: stale, and no nara.
    wait_until(
        "the hour-old newspaper refused",
        Duration::from_secs(10),
        || async move { (newspapers(observer_ref, "stale").await >= 1).then_some(()) },
    )
    .await;
    assert!(observer.peer("ghost").await.is_none());
    // dave's recording was the first the observer heard of him: believed, as a live
    // replay heard first would be; his genuine newspaper puts it right.
    observer
        .wait_peer_version("dave", "0.1.0", Duration::from_secs(10))
        .await;
    let (go, _) = raw_client(broker.port, "go-dave", &[]).await;
    go.publish(
        "nara/newspaper/dave",
        QoS::AtLeastOnce,
        false,
        go_wire::signed_newspaper(&dave, "0.2.0", now_s() - booted),
    )
    .await
    .unwrap();
    let seen = observer
        .wait_peer_version("dave", "0.2.0", Duration::from_secs(10))
        .await;
    assert_eq!(seen["status"], "ONLINE");
    assert_eq!(observer.peer("alice").await.unwrap()["status"], "ONLINE");
}

/// Retains `count` messages of `size` bytes of junk on newspaper topics of made-up
/// naras.
async fn flood(broker: &Mosquitto, count: usize, size: usize) {
    let (client, _) = raw_client(broker.port, "flooder", &[]).await;
    for i in 0..count {
        retain(&client, &format!("nara/newspaper/junk-{i}"), vec![b'x'; size]).await;
    }
    // The last one stored means all are (one client, in order, acknowledged).
    let (_check, mut heard) = raw_client(broker.port, "check", &[&format!("nara/newspaper/junk-{}", count - 1)]).await;
    tokio::time::timeout(Duration::from_secs(10), heard.recv())
        .await
        .expect("the flood is stored")
        .expect("the check runs");
}

/// Starts a nara with a view of 20 on `broker`, flooded with `count` retained messages
/// of `size` bytes, and checks that it read at most `most` of them, dropped the rest,
/// and joined the plaza all the same.
async fn bounded(count: usize, size: usize, most: u64) {
    let broker = Mosquitto::start();
    let _alice = nara_on(&broker.url(), "alice", &[]);
    flood(&broker, count, size).await;
    let observer = nara_on(&broker.url(), "observer", &["--plaza-max-peers", "20"]);
    let observer_ref = &observer;
    wait_until("the flood counted", Duration::from_secs(20), || async move {
        let read = newspapers(observer_ref, "invalid_json").await;
        let dropped = newspapers(observer_ref, "retained_over_budget").await;
        (read + dropped >= count as u64).then_some(())
    })
    .await;
    let read = newspapers(&observer, "invalid_json").await;
    assert!(read <= most, "read {read} retained messages of {size} bytes");
    // The rest dropped unread (alice's own retained newspaper among them, if it came
    // after the budget was spent).
    let dropped = newspapers(&observer, "retained_over_budget").await;
    assert!(dropped >= count as u64 - read, "dropped {dropped}");
    observer.wait_peer("alice", "ONLINE", Duration::from_secs(10)).await;
    assert!(observer.plaza_connected().await);
    assert_eq!(observer.status_code("/healthz").await, 200);
}

#[tokio::test]
async fn a_retained_flood_of_many_small_messages_is_read_as_far_as_the_view_holds() {
    // 20 naras in the view: 40 retained messages (a newspaper and a will each) read per
    // connection, the rest dropped.
    bounded(300, 1024, 40).await;
}

#[tokio::test]
async fn a_retained_flood_of_large_messages_is_read_as_far_as_its_bytes_allow() {
    // 4 KiB for each of the 20: 80 KiB, six messages of 12 KiB.
    bounded(40, 12 * 1024, 6).await;
}

#[tokio::test]
async fn a_nara_that_says_chau_deletes_what_the_broker_holds_of_it() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &[]);
    let mut alice = slow_nara(&broker, "alice", &[]);
    observer.wait_peer("alice", "ONLINE", Duration::from_secs(10)).await;
    // The broker holds her newspaper: a late subscriber gets it at once, though her
    // next one is two minutes away.
    let (_late, mut held) = raw_client(broker.port, "late", &["nara/newspaper/alice"]).await;
    let (_, paper) = tokio::time::timeout(Duration::from_secs(10), held.recv())
        .await
        .expect("her retained newspaper")
        .expect("the subscriber listens");
    go_wire::verify_newspaper(&paper).unwrap_or_else(|e| panic!("{e}: {paper}"));

    alice.signal("TERM");
    alice.wait_exit(Duration::from_secs(15));
    observer.wait_peer("alice", "OFFLINE", Duration::from_secs(10)).await;
    // The deletion reached the observer live, and is counted as such.
    let observer_ref = &observer;
    wait_until("the deletion counted", Duration::from_secs(10), || async move {
        (newspapers(observer_ref, "deleted").await == 1).then_some(())
    })
    .await;
    // A newcomer finds nothing of her at the broker, and does not see her.
    let (_after, mut nothing) = raw_client(broker.port, "after", &["nara/newspaper/alice"]).await;
    let newcomer = slow_nara(&broker, "newcomer", &[]);
    newcomer.wait_peer("observer", "ONLINE", Duration::from_secs(10)).await;
    let newcomer_ref = &newcomer;
    holds_for("alice unknown to the newcomer", Duration::from_secs(2), || async move {
        newcomer_ref.peer("alice").await.is_none()
    })
    .await;
    assert!(nothing.try_recv().is_err(), "the broker still held her newspaper");
}

#[tokio::test]
async fn a_broker_that_keeps_no_retained_messages_gets_plain_newspapers() {
    // mosquitto ends the connection of a client that publishes retained here.
    let broker = Mosquitto::start_with("", "allow_anonymous true\nretain_available false");
    let mut alice = nara_on(&broker.url(), "alice", &[]);
    let observer = nara_on(&broker.url(), "observer", &[]);
    observer.wait_peer("alice", "ONLINE", Duration::from_secs(10)).await;
    let observer_ref = &observer;
    let accepted = newspapers(observer_ref, "accepted").await;
    wait_until(
        "alice's newspapers keep coming",
        Duration::from_secs(10),
        || async move { (newspapers(observer_ref, "accepted").await >= accepted + 4).then_some(()) },
    )
    .await;
    for nara in [&alice, &observer] {
        assert_eq!(nara.metric("nara_plaza_reconnects_total").await, 0, "{}", nara.base);
        assert!(nara.plaza_connected().await);
    }
    alice.wait_for_log("the warning", Duration::from_secs(5), |line| {
        line["level"] == "WARN"
            && line["message"]
                .as_str()
                .is_some_and(|m| m.contains("no retained messages"))
    });
    // Her chau goes out, with no deletion that would be refused.
    alice.signal("TERM");
    alice.wait_exit(Duration::from_secs(15));
    observer.wait_peer("alice", "OFFLINE", Duration::from_secs(10)).await;
}

/// Whether a client that subscribes now to `topic` gets a retained message there
/// within half a second.
async fn holds_retained(broker: &Mosquitto, topic: &str, id: &str) -> bool {
    let (_client, mut heard) = raw_client(broker.port, id, &[topic]).await;
    tokio::time::timeout(Duration::from_millis(500), heard.recv())
        .await
        .is_ok_and(|got| got.is_some())
}

#[tokio::test]
async fn the_broker_drops_a_dead_nara_s_newspaper_when_it_would_be_missing() {
    let broker = Mosquitto::start();
    // Its retained newspapers expire after --plaza-missing-after.
    let doomed = nara_on(&broker.url(), "doomed", &["--plaza-missing-after", "4s"]);
    doomed.wait_for_plaza(true, Duration::from_secs(10)).await;
    let topic = "nara/newspaper/doomed";
    let broker_ref = &broker;
    wait_until("its newspaper retained", Duration::from_secs(10), || async move {
        holds_retained(broker_ref, topic, "before").await.then_some(())
    })
    .await;
    // Killed, it deletes nothing: only the expiry takes its newspaper away.
    doomed.signal("KILL");
    let killed = std::time::Instant::now();
    assert!(holds_retained(&broker, topic, "just-after").await, "held right after");
    let looks = std::sync::atomic::AtomicUsize::new(0);
    let looks_ref = &looks;
    wait_until("the retained newspaper gone", Duration::from_secs(15), || async move {
        let look = looks_ref.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        (!holds_retained(broker_ref, topic, &format!("later-{look}")).await).then_some(())
    })
    .await;
    assert!(
        killed.elapsed() >= Duration::from_secs(2),
        "gone after {:?}",
        killed.elapsed()
    );
}

#[tokio::test]
async fn a_nara_that_joins_after_a_crash_sees_the_dead_nara_suspect_not_online() {
    let broker = Mosquitto::start();
    let alive = nara_on(&broker.url(), "alive", &[]);
    let doomed = nara_on(&broker.url(), "doomed", &[]);
    alive.wait_peer("doomed", "ONLINE", Duration::from_secs(10)).await;
    doomed.signal("KILL");
    alive.wait_peer("doomed", "MISSING", Duration::from_secs(15)).await;
    // The broker holds both its last newspaper and its will.
    assert!(holds_retained(&broker, "nara/newspaper/doomed", "papers").await);
    assert!(holds_retained(&broker, "nara/will/doomed", "wills").await);

    let newcomer = nara_on(&broker.url(), "newcomer", &[]);
    newcomer.wait_peer("alive", "ONLINE", Duration::from_secs(10)).await;
    newcomer.wait_peer("doomed", "SUSPECT", Duration::from_secs(10)).await;
    // Held so, never confirmed on a will it did not hear live, nor ONLINE on the
    // strength of a newspaper its will came after.
    let newcomer_ref = &newcomer;
    holds_for(
        "doomed SUSPECT at the newcomer",
        Duration::from_secs(3),
        || async move {
            newcomer_ref
                .peer("doomed")
                .await
                .is_some_and(|p| p["status"] == "SUSPECT")
        },
    )
    .await;
    assert_eq!(newcomer.peer("alive").await.unwrap()["status"], "ONLINE");
}
