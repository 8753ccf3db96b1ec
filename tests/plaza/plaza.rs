//! The plaza against a real broker (mosquitto on loopback): naras see each other with
//! their versions, chau and silence are noticed, forged messages are dropped and
//! counted, a broker restart is survived while HTTP keeps answering, and a nara run
//! in-process meets one run as a binary.

use crate::common::broker::Mosquitto;
use crate::common::go_wire;
use crate::common::{InProcess, Running, TestNara, client, holds_for, nara_command, nara_on, wait_until};
use nara::{Ended, Identity, Soul, SoulSource};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn two_naras_see_each_other_online_with_their_versions() {
    let broker = Mosquitto::start();
    let a = nara_on(&broker.url(), "alpha", &[]);
    let b = nara_on(&broker.url(), "beta", &[]);
    // ONLINE from its hey_there; the version comes with the newspaper just after it.
    let with_version = |p: &Value| p["status"] == "ONLINE" && p["version"] != "";
    let seen_by_a = a
        .wait_peer_where("beta", "ONLINE with a version", Duration::from_secs(10), with_version)
        .await;
    let seen_by_b = b
        .wait_peer_where("alpha", "ONLINE with a version", Duration::from_secs(10), with_version)
        .await;
    assert_eq!(seen_by_a["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(seen_by_a["revision"], nara::REVISION);
    let b_status = b.get_json("/api/status").await;
    assert_eq!(seen_by_a["id"], b_status["id"]);
    assert_eq!(seen_by_a["public_key"], b_status["public_key"]);
    assert_eq!(seen_by_b["self"], false);
    let own = a.peer("alpha").await.expect("a nara is in its own view");
    assert_eq!(
        (own["status"].as_str(), own["self"].as_bool()),
        (Some("ONLINE"), Some(true))
    );
    assert_eq!(b_status["plaza"]["connected"], true);
    assert_eq!(b_status["plaza"]["broker"], broker.url());
}

#[tokio::test]
async fn three_naras_all_see_each_other() {
    let broker = Mosquitto::start();
    let naras: Vec<Running> = ["one", "two", "three"]
        .iter()
        .map(|n| nara_on(&broker.url(), n, &[]))
        .collect();
    for viewer in &naras {
        for name in ["one", "two", "three"] {
            viewer.wait_peer(name, "ONLINE", Duration::from_secs(10)).await;
        }
        assert_eq!(viewer.get_json("/api/status").await["plaza"]["peers"]["online"], 3);
    }
}

#[tokio::test]
async fn chau_on_sigterm_turns_a_nara_offline() {
    let broker = Mosquitto::start();
    let a = nara_on(&broker.url(), "stays", &[]);
    let mut b = nara_on(&broker.url(), "leaves", &[]);
    a.wait_peer("leaves", "ONLINE", Duration::from_secs(10)).await;
    b.signal("TERM");
    assert_eq!(b.wait_exit(Duration::from_secs(5)).code(), Some(0));
    a.wait_peer("leaves", "OFFLINE", Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_killed_nara_goes_missing_after_the_timeout() {
    let broker = Mosquitto::start();
    let a = nara_on(&broker.url(), "watcher", &["--plaza-missing-after", "2s"]);
    let b = nara_on(&broker.url(), "doomed", &[]);
    a.wait_peer("doomed", "ONLINE", Duration::from_secs(10)).await;
    b.signal("KILL");
    let missing = a.wait_peer("doomed", "MISSING", Duration::from_secs(8)).await;
    assert_eq!(missing["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(a.metric("nara_plaza_peers{status=\"MISSING\"}").await, 1);
}

#[tokio::test]
async fn a_plaza_log_line_names_the_nara_it_is_about() {
    let broker = Mosquitto::start();
    let mut listener = nara_on(&broker.url(), "listener", &["--log-level", "nara=debug"]);
    let _speaker = nara_on(&broker.url(), "speaker", &[]);
    listener.wait_peer("speaker", "ONLINE", Duration::from_secs(10)).await;
    let line = listener.wait_for_log(
        "a debug line about a change in the peer view, not about listener itself",
        Duration::from_secs(5),
        |line| line["message"] == "a nara changed" && line["span"]["peer"] != "listener",
    );
    assert_eq!(line["span"]["name"], "plaza_peer", "{line}");
    assert_eq!(line["span"]["peer"], "speaker", "{line}");
}

#[tokio::test]
async fn an_in_process_nara_meets_the_binary_and_says_chau_when_stopped() {
    let broker = Mosquitto::start();
    let url = broker.url();
    let mut inside = InProcess::start_args(&[
        "--mqtt-url",
        &url,
        "--plaza-announce-jitter",
        "0s",
        "--plaza-newspaper-interval",
        "1s",
    ])
    .await;
    let outside = nara_on(&url, "outside", &[]);
    let seen_inside = outside.wait_peer("test-nara", "ONLINE", Duration::from_secs(10)).await;
    let seen_outside = inside.wait_peer("outside", "ONLINE", Duration::from_secs(10)).await;
    assert_eq!(seen_inside["id"], inside.app.plaza.identity.id.as_str());
    assert_eq!(seen_outside["id"], outside.get_json("/api/status").await["id"]);

    inside.stop();
    let ended = tokio::time::timeout(Duration::from_secs(10), inside.ended)
        .await
        .expect("the in-process nara ends within 10 s of being stopped")
        .expect("the in-process nara's task does not panic");
    assert_eq!(ended, Ended::Drained);
    // It said chau on its way out: OFFLINE at once, not MISSING after a silence.
    outside.wait_peer("test-nara", "OFFLINE", Duration::from_secs(5)).await;
}

#[tokio::test]
async fn forged_and_malformed_messages_are_dropped_and_counted() {
    let broker = Mosquitto::start();
    let _victim = nara_on(&broker.url(), "victim", &[]);
    let observer = nara_on(&broker.url(), "observer", &[]);
    let genuine = observer.wait_peer("victim", "ONLINE", Duration::from_secs(10)).await;

    let (forger, _) = go_wire::raw_client(broker.port, "forger", &[]).await;
    let thief = Identity::new(&Soul::mint("victim").unwrap(), "victim", SoulSource::Ephemeral);
    let publish = |topic: &'static str, payload: Vec<u8>| {
        forger.publish(topic, rumqttc::v5::mqttbytes::QoS::AtLeastOnce, false, payload)
    };

    // A new key under a name already seen: trust on first use refuses it.
    publish(
        "nara/plaza/hey_there",
        go_wire::hey_there(&thief, go_wire::now_ns()).into_bytes(),
    )
    .await
    .unwrap();
    // A chau for the victim with the real key put in after signing: the signature breaks.
    let real_key_chau =
        go_wire::chau(&thief, go_wire::now_ns()).replace(&thief.public_key, genuine["public_key"].as_str().unwrap());
    publish("nara/plaza/chau", real_key_chau.into_bytes()).await.unwrap();
    // An old message, validly signed by a stranger: outside the skew window.
    let stranger = Identity::new(&Soul::mint("stranger").unwrap(), "stranger", SoulSource::Ephemeral);
    publish(
        "nara/plaza/hey_there",
        go_wire::hey_there(&stranger, go_wire::now_ns() - 3_600_000_000_000).into_bytes(),
    )
    .await
    .unwrap();
    publish("nara/plaza/hey_there", vec![b'x'; 64 * 1024]).await.unwrap();
    publish("nara/plaza/hey_there", b"{not json".to_vec()).await.unwrap();
    publish("nara/plaza/hey_there", vec![0xff, 0xfe, 0x00]).await.unwrap();

    let expectations = [
        ("key_mismatch", "hey-there"),
        ("bad_signature", "chau"),
        ("stale", "hey-there"),
        ("too_large", "hey-there"),
        ("invalid_json", "hey-there"),
        ("not_utf8", "hey-there"),
    ];
    for (result, kind) in expectations {
        let series = format!("nara_plaza_messages_total{{kind=\"{kind}\",result=\"{result}\"}}");
        let (observer, series) = (&observer, series.as_str());
        wait_until(
            &format!("{series} to be counted"),
            Duration::from_secs(10),
            || async move { (observer.metric(series).await >= 1).then_some(()) },
        )
        .await;
    }

    let after = observer.peer("victim").await.unwrap();
    assert_eq!(after["status"], "ONLINE", "the forged chau did not take effect");
    assert_eq!(after["public_key"], genuine["public_key"]);
    assert_eq!(after["version"], env!("CARGO_PKG_VERSION"));
    assert!(observer.peer("stranger").await.is_none());
    assert_eq!(observer.status_code("/healthz").await, 200);
}

#[tokio::test]
async fn a_broker_restart_is_survived_and_http_answers_throughout() {
    let mut broker = Mosquitto::start();
    let a = nara_on(&broker.url(), "first", &[]);
    let b = nara_on(&broker.url(), "second", &[]);
    a.wait_peer("second", "ONLINE", Duration::from_secs(10)).await;

    broker.stop();
    a.wait_for_plaza(false, Duration::from_secs(10)).await;
    for nara in [&a, &b] {
        let health = client().get(nara.url("/healthz")).send().await.unwrap();
        assert!(health.status().is_success(), "HTTP answers while the broker is down");
        assert_eq!(client().get(nara.url("/readyz")).send().await.unwrap().status(), 200);
    }

    broker.restart();
    a.wait_for_plaza(true, Duration::from_secs(20)).await;
    b.wait_for_plaza(true, Duration::from_secs(20)).await;
    // Re-announced: each still sees the other ONLINE, with messages flowing again
    // (last_seen has one-second resolution, so wait for it to move).
    let before = a.peer("second").await.unwrap()["last_seen"].clone();
    let (a_ref, before) = (&a, &before);
    wait_until(
        "a message from second after the restart",
        Duration::from_secs(10),
        || async move {
            a_ref
                .peer("second")
                .await
                .filter(|now| now["status"] == "ONLINE" && now["last_seen"] != *before)
        },
    )
    .await;
    assert!(a.metric("nara_plaza_reconnects_total").await >= 1);
}

#[tokio::test]
async fn require_plaza_makes_readiness_wait_for_the_broker() {
    let mut broker = Mosquitto::start();
    broker.stop();
    let a = nara_on(&broker.url(), "strict", &["--require-plaza"]);
    let readiness = client().get(a.url("/readyz")).send().await.unwrap();
    assert_eq!(readiness.status(), 503);
    let body: Value = readiness.json().await.unwrap();
    assert_eq!(body["reasons"], serde_json::json!(["plaza"]));
    assert_eq!(
        client().get(a.url("/healthz")).send().await.unwrap().status(),
        200,
        "alive all the same"
    );

    broker.restart();
    a.wait_for_plaza(true, Duration::from_secs(20)).await;
    assert_eq!(client().get(a.url("/readyz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_nara_without_a_broker_runs_alone_and_sees_itself() {
    let mut command = nara_command();
    command.args(["--http-addr", "127.0.0.1:0", "--name", "hermit"]);
    let alone = Running::start(command).unwrap();
    let status = alone.get_json("/api/status").await;
    assert_eq!(status["plaza"]["configured"], false);
    assert_eq!(status["plaza"]["connected"], false);
    assert_eq!(client().get(alone.url("/readyz")).send().await.unwrap().status(), 200);
    let peers = alone.get_json("/api/peers").await;
    assert_eq!(peers["peers"].as_array().unwrap().len(), 1);
    assert_eq!(peers["peers"][0]["name"], "hermit");
}

#[tokio::test]
async fn mqtt_host_and_port_are_read_when_no_url_is_given() {
    let broker = Mosquitto::start();
    let mut command = nara_command();
    command
        .args([
            "--http-addr",
            "127.0.0.1:0",
            "--name",
            "legacy-env",
            "--plaza-announce-jitter",
            "0s",
        ])
        .env("MQTT_HOST", "127.0.0.1")
        .env("MQTT_PORT", broker.port.to_string());
    let nara = Running::start(command).unwrap();
    nara.wait_for_plaza(true, Duration::from_secs(10)).await;
}

/// Reads the stream until every needle has appeared, or fails after ten seconds.
async fn read_until(events: &mut reqwest::Response, seen: &mut String, needles: &[&str]) {
    // Each chunk is read as it comes: a timeout around the reading, nothing to poll.
    let read = async {
        while !needles.iter().all(|n| seen.contains(n)) {
            let chunk = events
                .chunk()
                .await
                .unwrap_or_else(|e| panic!("the event stream broke: {e}"))
                .expect("the event stream stays open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    let arrived = tokio::time::timeout(Duration::from_secs(10), read).await.is_ok();
    assert!(arrived, "{needles:?} never arrived; got {seen:?}");
}

#[tokio::test]
async fn the_event_stream_sends_a_snapshot_then_joins() {
    let broker = Mosquitto::start();
    let a = nara_on(&broker.url(), "streamer", &[]);
    let mut events = client().get(a.url("/api/events")).send().await.unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let mut seen = String::new();
    read_until(&mut events, &mut seen, &["event: snapshot", "\"streamer\""]).await;
    assert!(!seen.contains("newcomer"));
    let _b = nara_on(&broker.url(), "newcomer", &[]);
    read_until(&mut events, &mut seen, &["event: join", "\"newcomer\""]).await;
}

/// Publishes `payload` on each topic as a retained QoS 1 message and returns once the
/// broker has acknowledged them all, so a nara started after finds them there.
async fn retain_on(broker: &Mosquitto, topics: &[&str], payload: Vec<u8>) {
    let mut options = MqttOptions::new("retainer", "127.0.0.1", broker.port);
    options.set_max_packet_size(4 * 1024 * 1024, 4 * 1024 * 1024);
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    for topic in topics {
        client
            .publish(*topic, QoS::AtLeastOnce, true, payload.clone())
            .await
            .expect("the publication is queued");
    }
    let mut acked = 0;
    // Each acknowledgement is read as it comes: a timeout around the reading.
    let acknowledged = async {
        while acked < topics.len() {
            if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) = eventloop.poll().await {
                acked += 1;
            }
        }
    };
    let all = tokio::time::timeout(Duration::from_secs(10), acknowledged)
        .await
        .is_ok();
    assert!(
        all,
        "the broker acknowledged {acked} of {} retained messages",
        topics.len()
    );
}

/// Two naras meet and stay connected: each sees the other and never reconnects.
async fn meet_and_stay_connected(broker: &Mosquitto) {
    let a = nara_on(&broker.url(), "alpha", &[]);
    let b = nara_on(&broker.url(), "beta", &[]);
    a.wait_peer("beta", "ONLINE", Duration::from_secs(10)).await;
    b.wait_peer("alpha", "ONLINE", Duration::from_secs(10)).await;
    // Nothing should happen, and 3 s is long enough for a disconnect-and-resubscribe
    // loop to show.
    let (a, b) = (&a, &b);
    holds_for(
        "alpha and beta connected, neither reconnecting",
        Duration::from_secs(3),
        || async move {
            for nara in [a, b] {
                if !nara.plaza_connected().await || nara.metric("nara_plaza_reconnects_total").await != 0 {
                    return false;
                }
            }
            true
        },
    )
    .await;
}

#[tokio::test]
async fn retained_messages_past_the_packet_limit_never_keep_a_nara_off_the_plaza() {
    let broker = Mosquitto::start();
    let two_mib = vec![b'x'; 2 * 1024 * 1024];
    let topics = [
        "nara/plaza/hey_there",
        "nara/newspaper/alpha",
        "nara/plaza/chau",
        "nara/plaza/anything",
    ];
    retain_on(&broker, &topics, two_mib).await;
    meet_and_stay_connected(&broker).await;
}

#[tokio::test]
async fn a_stream_of_messages_past_the_packet_limit_costs_no_connection() {
    let broker = Mosquitto::start();
    let mut options = MqttOptions::new("flooder", "127.0.0.1", broker.port);
    options.set_max_packet_size(4 * 1024 * 1024, 4 * 1024 * 1024);
    let (flood, mut eventloop) = AsyncClient::new(options, 16);
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = sent.clone();
    let network = tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            if let rumqttc::Event::Outgoing(rumqttc::Outgoing::Publish(_)) = event {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
    let stream = tokio::spawn(async move {
        let two_mib = vec![b'x'; 2 * 1024 * 1024];
        // Bounded: the test is over long before this many.
        for _ in 0..400 {
            let _ = flood
                .publish("nara/newspaper/flood", QoS::AtMostOnce, false, two_mib.clone())
                .await;
            // A sleep, not a wait: it paces the flood at one message per 50 ms.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    meet_and_stay_connected(&broker).await;
    let published = sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        published > 20,
        "only {published} large messages went out during the test"
    );
    stream.abort();
    network.abort();
}

#[tokio::test]
async fn a_broker_that_drops_each_connection_at_once_is_retried_with_growing_waits() {
    // A fake broker: it accepts, answers CONNECT with a successful MQTT 5 CONNACK, and
    // hangs up. A ConnAck alone must not reset the backoff.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = attempts.clone();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut connect = [0u8; 512];
            // Only a CONNECT packet (type 1) is an attempt.
            if stream.read(&mut connect).is_ok_and(|n| n > 0) && connect[0] >> 4 == 1 {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = stream.write_all(&[0x20, 0x03, 0x00, 0x00, 0x00]);
            }
        }
    });
    let nara = nara_on(&format!("mqtt://127.0.0.1:{port}"), "flaky", &[]);
    // A sleep, not a wait: the test counts the attempts made in a fixed 6 s.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let made = attempts.load(std::sync::atomic::Ordering::SeqCst);
    // Waits of 0.25, 0.5, 1, 2 and 4 s (plus jitter) fit about five attempts in 6 s;
    // resetting on each ConnAck would make twenty or more.
    assert!((2..=7).contains(&made), "{made} connection attempts in 6 s");
    assert_eq!(nara.get_text("/healthz").await.trim(), "ok");
}

#[tokio::test]
async fn a_flood_of_fresh_keys_with_newspapers_displaces_no_online_nara_nor_takes_its_name() {
    const CAP: usize = 20;
    let broker = Mosquitto::start();
    let cap = CAP.to_string();
    let observer = nara_on(&broker.url(), "observer", &["--plaza-max-peers", &cap]);
    observer.wait_for_plaza(true, Duration::from_secs(10)).await;
    let (client, _) = go_wire::raw_client(broker.port, "flooder", &[]).await;
    let say = async |topic: &str, payload: String| {
        client
            .publish(topic, rumqttc::v5::mqttbytes::QoS::AtLeastOnce, false, payload)
            .await
            .expect("queued");
    };
    let alice = Identity::new(&Soul::mint("alice").unwrap(), "alice", SoulSource::Ephemeral);
    say("nara/plaza/hey_there", go_wire::hey_there(&alice, go_wire::now_ns())).await;
    say("nara/newspaper/alice", go_wire::signed_newspaper(&alice, "1.0.0", 5000)).await;
    observer
        .wait_peer_version("alice", "1.0.0", Duration::from_secs(10))
        .await;

    // Twice the cap of fresh keys, each with a newspaper (on a broker with one account
    // per name, each of them an account).
    for i in 0..CAP * 2 {
        let name = format!("flood{i}");
        let flood = Identity::new(&Soul::mint(&name).unwrap(), &name, SoulSource::Ephemeral);
        say(
            &format!("nara/newspaper/{name}"),
            go_wire::signed_newspaper(&flood, "6.6.6", 100),
        )
        .await;
    }
    let refused = CAP * 2 - (CAP - 2);
    let series = "nara_plaza_messages_total{kind=\"newspaper\",result=\"view_full\"}";
    let observer = &observer;
    wait_until(
        "the newcomers past the cap refused",
        Duration::from_secs(10),
        || async move { (observer.metric(series).await == refused as u64).then_some(()) },
    )
    .await;
    // Then someone else claims alice's name.
    let mallory = Identity::new(&Soul::mint("alice").unwrap(), "alice", SoulSource::Ephemeral);
    say("nara/plaza/hey_there", go_wire::hey_there(&mallory, go_wire::now_ns())).await;
    let series = "nara_plaza_messages_total{kind=\"hey-there\",result=\"key_mismatch\"}";
    wait_until("mallory refused", Duration::from_secs(10), || async move {
        (observer.metric(series).await == 1).then_some(())
    })
    .await;
    let seen = observer.peer("alice").await.expect("alice is still in the view");
    assert_eq!(
        (&seen["status"], &seen["public_key"]),
        (&"ONLINE".into(), &alice.public_key.as_str().into())
    );
    // /api/peers may share a list taken up to 100 ms before the last change.
    wait_until("the view full at the cap", Duration::from_secs(2), || async move {
        let peers = observer.get_json("/api/peers").await;
        (peers["peers"].as_array().map(Vec::len) == Some(CAP)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_burst_of_chaus_from_fresh_keys_does_not_close_the_view_to_newcomers() {
    const CAP: usize = 20;
    let broker = Mosquitto::start();
    let cap = CAP.to_string();
    let observer = nara_on(&broker.url(), "observer", &["--plaza-max-peers", &cap]);
    observer.wait_for_plaza(true, Duration::from_secs(10)).await;
    let (client, _) = go_wire::raw_client(broker.port, "burster", &[]).await;
    // Twice the view and the table of pins over, from fresh keys never heard before.
    for i in 0..CAP * 2 + 10 {
        let name = format!("gone{i}");
        let gone = Identity::new(&Soul::mint(&name).unwrap(), &name, SoulSource::Ephemeral);
        let bye = go_wire::chau(&gone, go_wire::now_ns());
        client
            .publish("nara/plaza/chau", rumqttc::v5::mqttbytes::QoS::AtLeastOnce, false, bye)
            .await
            .expect("queued");
    }
    let observer = &observer;
    wait_until("the whole burst counted", Duration::from_secs(10), || async move {
        (counted(observer, "chau").await == (CAP * 2 + 10) as u64).then_some(())
    })
    .await;
    // A newcomer, with no further traffic: it joins.
    let newcomer = nara_on(&broker.url(), "newcomer", &[]);
    observer.wait_peer("newcomer", "ONLINE", Duration::from_secs(10)).await;
    drop(newcomer);
    assert_eq!(
        observer
            .metric("nara_plaza_messages_total{kind=\"hey-there\",result=\"view_full\"}")
            .await,
        0
    );
}

#[tokio::test]
async fn a_flood_of_hey_theres_from_fresh_keys_keeps_no_newcomer_out() {
    const CAP: usize = 20;
    let broker = Mosquitto::start();
    let cap = CAP.to_string();
    let observer = nara_on(&broker.url(), "observer", &["--plaza-max-peers", &cap]);
    let _alice = nara_on(&broker.url(), "alice", &[]);
    observer.wait_peer("alice", "ONLINE", Duration::from_secs(10)).await;
    let (client, _) = go_wire::raw_client(broker.port, "flooder", &[]).await;
    // Three times the view of fresh keys saying hey_there, which costs nothing, even on
    // a broker with one account per name: they take each other's places.
    for i in 0..CAP * 3 {
        let name = format!("flood{i}");
        let flood = Identity::new(&Soul::mint(&name).unwrap(), &name, SoulSource::Ephemeral);
        let hello = go_wire::hey_there(&flood, go_wire::now_ns());
        client
            .publish(
                "nara/plaza/hey_there",
                rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                false,
                hello,
            )
            .await
            .expect("queued");
    }
    let observer = &observer;
    // Its own hey_there and alice's may be counted too: with this many, the flood has
    // filled the view twice over at least.
    wait_until("the flood counted", Duration::from_secs(10), || async move {
        (counted(observer, "hey-there").await >= (CAP * 3) as u64).then_some(())
    })
    .await;
    let _newcomer = nara_on(&broker.url(), "newcomer", &[]);
    observer.wait_peer("newcomer", "ONLINE", Duration::from_secs(10)).await;
    assert_eq!(observer.peer("alice").await.unwrap()["status"], "ONLINE");
    for kind in ["hey-there", "newspaper"] {
        let series = format!("nara_plaza_messages_total{{kind=\"{kind}\",result=\"view_full\"}}");
        assert_eq!(observer.metric(&series).await, 0, "{series}");
    }
}

/// How many messages of `kind` `nara` has counted, whatever became of them.
async fn counted(nara: &Running, kind: &str) -> u64 {
    let prefix = format!("nara_plaza_messages_total{{kind=\"{kind}\"");
    nara.get_text("/metrics")
        .await
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}
