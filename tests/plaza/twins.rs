//! One soul, one presence, on a real broker (mosquitto on loopback) with real nara
//! processes: twins (processes sharing a soul) elect one active speaker, the newest
//! start wins, a stopping active hands over without a gap, a pinned standby keeps out
//! of the way, and observers (this nara and a Go-format listener) see one nara whose
//! version changes.

use crate::common::broker::Mosquitto;
use crate::common::go_wire::{self, raw_client};
use crate::common::{Running, TestNara, client, holds_for, nara_on, wait_until};
use nara::newspaper::{self, OwnStatus};
use nara::{Identity, Kind, Soul, SoulSource};
use rumqttc::v5::mqttbytes::QoS;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// A soul for `name` in a file, as operators share one between processes.
fn soul_file(dir: &tempfile::TempDir, name: &str) -> (PathBuf, Soul) {
    let soul = Soul::mint(name).expect("a soul is minted");
    let path = dir.path().join(format!("{name}.soul"));
    std::fs::write(&path, soul.to_base58()).expect("the soul file is written");
    (path, soul)
}

fn twin(broker: &Mosquitto, soul: &std::path::Path, extra: &[&str]) -> Running {
    let mut args = vec!["--soul-file", soul.to_str().expect("a UTF-8 path")];
    args.extend_from_slice(extra);
    nara_on(&broker.url(), "twin", &args)
}

async fn role(nara: &Running) -> Value {
    nara.get_json("/api/status").await["plaza"]["role"].clone()
}

async fn wait_role(nara: &Running, wanted: &str, limit: Duration) -> Value {
    let what = format!("{} to be {wanted}", nara.base);
    wait_until(&what, limit, || async move {
        let role = role(nara).await;
        (role["role"] == wanted).then_some(role)
    })
    .await
}

/// The boot ID in each newspaper `heard` brings within `window`, and whether a chau
/// came: what a Go nara listening on the broker would have seen.
async fn listen(heard: &mut mpsc::UnboundedReceiver<(String, String)>, window: Duration) -> (Vec<String>, bool) {
    let mut boots = Vec::new();
    let mut chau = false;
    let until = Instant::now() + window;
    while let Ok(Some((topic, payload))) = tokio::time::timeout_at(until.into(), heard.recv()).await {
        if topic == "nara/plaza/chau" {
            chau = true;
        } else if topic.starts_with("nara/newspaper/") {
            let status = go_wire::verify_newspaper(&payload).unwrap_or_else(|e| panic!("{e}: {payload}"));
            boots.push(status["boot_id"].as_str().unwrap_or_default().to_string());
        }
    }
    (boots, chau)
}

#[tokio::test]
async fn two_twins_elect_one_speaker_and_the_newest_start_wins() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let (soul, _) = soul_file(&dir, "twin");
    let observer = nara_on(&broker.url(), "observer", &[]);
    let (_go, mut heard) = raw_client(broker.port, "go-listener", &["nara/newspaper/twin", "nara/plaza/chau"]).await;

    let mut old = twin(&broker, &soul, &[]);
    wait_role(&old, "active", Duration::from_secs(5)).await;
    observer.wait_peer("twin", "ONLINE", Duration::from_secs(10)).await;
    let new = twin(&broker, &soul, &[]);
    let yielded = wait_role(&old, "standby", Duration::from_secs(5)).await;
    let speaking = role(&new).await;
    assert_eq!(speaking["role"], "active", "{speaking}");
    assert!(yielded["reason"].as_str().unwrap().contains("yielded"), "{yielded}");
    assert_eq!(
        old.get_text("/metrics")
            .await
            .lines()
            .find(|l| l.starts_with("nara_plaza_role{role=\"active\"}"))
            .map(str::to_string),
        Some("nara_plaza_role{role=\"active\"} 0".to_string())
    );

    // From now on a listener hears one nara: the new process, every newspaper
    // interval (1 s here), never the old one, and no chau.
    let new_boot = new.get_json("/api/status").await["plaza"]["boot_id"].clone();
    let _ = listen(&mut heard, Duration::from_millis(200)).await;
    let (boots, chau) = listen(&mut heard, Duration::from_secs(3)).await;
    assert!(boots.len() >= 2, "{boots:?}");
    assert!(boots.iter().all(|b| *b == new_boot), "{boots:?} are not all {new_boot}");
    assert!(!chau, "nobody left");
    let seen = observer.peer("twin").await.unwrap();
    assert_eq!(seen["status"], "ONLINE");
    assert_eq!(
        observer.get_json("/api/peers").await["peers"].as_array().unwrap().len(),
        2
    );

    // A rollout, not a restart: the new process took over while the old one was
    // ONLINE, and the old one, now standby, stops without a word.
    old.signal("TERM");
    assert_eq!(old.wait_exit(Duration::from_secs(5)).code(), Some(0));
    holds_for("no restart counted", Duration::from_secs(3), || async {
        observer
            .peer("twin")
            .await
            .is_some_and(|seen| seen["restarts"] == 0 && seen["status"] == "ONLINE")
    })
    .await;
}

#[tokio::test]
async fn a_stopping_active_twin_hands_over_and_observers_see_no_gap() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let (soul, _) = soul_file(&dir, "twin");
    let observer = nara_on(&broker.url(), "observer", &["--plaza-missing-after", "3s"]);
    let (_go, mut heard) = raw_client(broker.port, "go-listener", &["nara/newspaper/twin", "nara/plaza/chau"]).await;
    let standby = twin(&broker, &soul, &[]);
    wait_role(&standby, "active", Duration::from_secs(5)).await;
    let mut active = twin(&broker, &soul, &[]);
    wait_role(&standby, "standby", Duration::from_secs(5)).await;
    observer.wait_peer("twin", "ONLINE", Duration::from_secs(10)).await;

    active.signal("TERM");
    assert_eq!(active.wait_exit(Duration::from_secs(5)).code(), Some(0));
    let took_over = wait_role(&standby, "active", Duration::from_secs(2)).await;
    assert!(
        took_over["reason"].as_str().unwrap().contains("handed over"),
        "{took_over}"
    );

    // Past the observer's MISSING window, the twin never stopped being ONLINE, and a
    // listener heard no chau.
    holds_for(
        "the twin ONLINE in the observer's view",
        Duration::from_secs(4),
        || async {
            observer
                .peer("twin")
                .await
                .is_some_and(|seen| seen["status"] == "ONLINE")
        },
    )
    .await;
    let seen = observer.peer("twin").await.unwrap();
    assert_eq!(
        seen["restarts"], 0,
        "a standby taking over on a handover is no restart: {seen}"
    );
    let (boots, chau) = listen(&mut heard, Duration::from_millis(100)).await;
    assert!(!chau, "a handover is no goodbye");
    assert!(!boots.is_empty());
}

#[tokio::test]
async fn a_pinned_standby_never_takes_over_while_an_active_twin_speaks() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let (soul, _) = soul_file(&dir, "twin");
    let active = twin(&broker, &soul, &[]);
    wait_role(&active, "active", Duration::from_secs(5)).await;
    let canary = twin(&broker, &soul, &["--plaza-role", "standby"]);
    // Nothing may happen. Five seconds is more than twice the takeover window (two
    // newspaper intervals of 1 s).
    holds_for(
        "the canary standby, the active twin active",
        Duration::from_secs(5),
        || async { role(&canary).await["role"] == "standby" && role(&active).await["role"] == "active" },
    )
    .await;
    assert_eq!(role(&canary).await["role"], "standby");
    assert_eq!(role(&canary).await["pinned"], "standby");
    assert_eq!(role(&active).await["role"], "active");
    assert_eq!(
        client().get(canary.url("/readyz")).send().await.unwrap().status(),
        200,
        "a standby serves"
    );

    // Once nothing speaks for the soul, the canary does, rather than let it vanish.
    active.signal("KILL");
    wait_role(&canary, "active", Duration::from_secs(10)).await;
}

#[tokio::test]
async fn an_observer_sees_one_nara_whose_version_changes_in_a_rollout() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let (soul_path, soul) = soul_file(&dir, "twin");
    let observer = nara_on(&broker.url(), "observer", &[]);
    let mut events = client().get(observer.url("/api/events")).send().await.unwrap();

    // The old release, played by this test: it speaks for the soul every 200 ms and
    // yields, as a nara does, when it hears a newer process with its soul.
    let identity = Identity::new(&soul, "twin", SoulSource::File);
    let (old, mut heard) = raw_client(broker.port, "old-release", &["nara/newspaper/twin"]).await;
    let now_ns = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    let started_ns = now_ns() - 60_000_000_000;
    let old_release = tokio::spawn(async move {
        loop {
            let status = OwnStatus {
                version: "0.0.9",
                revision: "old",
                profile: "release",
                public_url: None,
                host_uptime_s: 1000,
                process_uptime_s: 60,
                sent_ns: now_ns(),
                boot_id: "old-release",
                conn: 1,
                started_ns,
                role_pin: "auto",
                handover: false,
                tags: &nara::tags::NO_TAGS,
                health: Default::default(),
            };
            let paper = newspaper::encode(&identity, &status);
            old.publish(Kind::Newspaper.topic("twin"), QoS::AtMostOnce, false, paper)
                .await
                .expect("published");
            tokio::time::sleep(Duration::from_millis(200)).await;
            while let Ok((_, payload)) = heard.try_recv() {
                let status = go_wire::verify_newspaper(&payload).expect("a valid newspaper");
                if status["boot_id"] != "old-release" {
                    return;
                }
            }
        }
    });
    observer
        .wait_peer_version("twin", "0.0.9", Duration::from_secs(10))
        .await;

    let new = twin(&broker, &soul_path, &[]);
    tokio::time::timeout(Duration::from_secs(10), old_release)
        .await
        .expect("the old release yields to the new one")
        .expect("the old release's task ends cleanly");
    let version = env!("CARGO_PKG_VERSION");
    let upgraded = observer
        .wait_peer_version("twin", version, Duration::from_secs(10))
        .await;
    assert_eq!(upgraded["status"], "ONLINE");
    let history = upgraded["version_history"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["from"], "0.0.9", "{upgraded}");
    assert_eq!(history.last().unwrap()["to"], version);
    assert_eq!(role(&new).await["role"], "active");

    let mut seen = String::new();
    let arrived = tokio::time::timeout(Duration::from_secs(5), async {
        while !seen.contains("event: version-changed") {
            let chunk = events.chunk().await.expect("the stream").expect("open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(arrived.is_ok(), "no version-changed event in {seen}");
    let metrics = observer.get_text("/metrics").await;
    assert!(metrics.contains("nara_plaza_version_changes_total 1"), "{metrics}");
}

/// Publishes `payload` on `topic` every `every` until the task is aborted: an attacker
/// replaying a recording.
fn replay_forever(
    client: rumqttc::v5::AsyncClient,
    topic: &str,
    payload: String,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    let topic = topic.to_string();
    tokio::spawn(async move {
        loop {
            let _ = client
                .publish(topic.as_str(), QoS::AtMostOnce, false, payload.clone())
                .await;
            tokio::time::sleep(every).await;
        }
    })
}

/// The next payload on `topic` that `heard` brings within 10 s and `keep` accepts.
async fn next_on(
    heard: &mut mpsc::UnboundedReceiver<(String, String)>,
    topic: &str,
    keep: impl Fn(&str) -> bool,
) -> String {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(until.into(), heard.recv()).await {
            Ok(Some((got, payload))) if got == topic && keep(&payload) => return payload,
            Ok(Some(_)) => {}
            _ => panic!("nothing on {topic} within 10 s"),
        }
    }
}

fn boot_of(newspaper: &str) -> String {
    let status = go_wire::verify_newspaper(newspaper).unwrap_or_else(|e| panic!("{e}: {newspaper}"));
    status["boot_id"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_recorded_go_newspaper_of_its_own_soul_does_not_silence_a_nara() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let (soul_path, soul) = soul_file(&dir, "twin");
    let (_listener, mut heard) =
        raw_client(broker.port, "go-listener", &["nara/newspaper/twin", "nara/plaza/chau"]).await;
    let mut nara = twin(&broker, &soul_path, &[]);
    wait_role(&nara, "active", Duration::from_secs(5)).await;
    let own_boot = nara.get_json("/api/status").await["plaza"]["boot_id"].clone();

    // A newspaper the soul's Go nara sent in the Go era, of any age, replayed every
    // 300 ms.
    let identity = Identity::new(&soul, "twin", SoulSource::File);
    let (attacker, _) = raw_client(broker.port, "attacker", &[]).await;
    let replayer = replay_forever(
        attacker,
        "nara/newspaper/twin",
        go_wire::signed_newspaper(&identity, "0.0.1", 86_400),
        Duration::from_millis(300),
    );
    let (boots, _) = listen(&mut heard, Duration::from_secs(4)).await;
    replayer.abort();
    let own: Vec<_> = boots.iter().filter(|b| **b == own_boot).collect();
    assert!(own.len() >= 3, "the nara kept speaking: {boots:?}");
    let role = role(&nara).await;
    assert_eq!(role["role"], "active", "{role}");
    assert!(
        nara.metric("nara_plaza_messages_total{kind=\"newspaper\",result=\"stale\"}")
            .await
            >= 5,
        "the replays are counted"
    );
    nara.signal("TERM");
    let bye = next_on(&mut heard, "nara/plaza/chau", |_| true).await;
    assert!(go_wire::verify_event(&bye).is_ok(), "it says chau as it leaves");
    assert_eq!(nara.wait_exit(Duration::from_secs(5)).code(), Some(0));
}

#[tokio::test]
async fn a_go_nara_with_its_soul_is_believed_after_its_hey_there_and_hands_over_with_its_chau() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let (soul_path, soul) = soul_file(&dir, "twin");
    let (_listener, mut heard) = raw_client(broker.port, "listener", &["nara/newspaper/twin"]).await;
    let nara = twin(&broker, &soul_path, &[]);
    wait_role(&nara, "active", Duration::from_secs(5)).await;
    // It speaks on the plaza, so it listens there too.
    next_on(&mut heard, "nara/newspaper/twin", |_| true).await;
    // The soul's Go nara starts, as it does: hey_there, then its newspaper at once.
    let identity = Identity::new(&soul, "twin", SoulSource::File);
    let (go, _) = raw_client(broker.port, "go-twin", &[]).await;
    let publish = async |topic: &str, payload: String| {
        go.publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .expect("queued");
    };
    publish("nara/plaza/hey_there", go_wire::hey_there(&identity, go_wire::now_ns())).await;
    publish(
        "nara/newspaper/twin",
        go_wire::signed_newspaper(&identity, "0.2.0", 86_400),
    )
    .await;
    let yielded = wait_role(&nara, "standby", Duration::from_secs(5)).await;
    assert!(yielded["reason"].as_str().unwrap().contains("Go nara"), "{yielded}");
    publish("nara/plaza/chau", go_wire::chau(&identity, go_wire::now_ns())).await;
    let took_over = wait_role(&nara, "active", Duration::from_secs(5)).await;
    assert!(took_over["reason"].as_str().unwrap().contains("chau"), "{took_over}");
}

#[tokio::test]
async fn a_dead_twins_recorded_newspaper_does_not_delay_the_takeover() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let (soul, _) = soul_file(&dir, "twin");
    let (_listener, mut heard) = raw_client(broker.port, "go-listener", &["nara/newspaper/twin"]).await;
    let standby = twin(&broker, &soul, &[]);
    wait_role(&standby, "active", Duration::from_secs(5)).await;
    let active = twin(&broker, &soul, &[]);
    wait_role(&standby, "standby", Duration::from_secs(5)).await;
    let active_boot = active.get_json("/api/status").await["plaza"]["boot_id"]
        .as_str()
        .unwrap()
        .to_string();
    let last_words = next_on(&mut heard, "nara/newspaper/twin", |p| boot_of(p) == active_boot).await;

    // The active twin dies; its last newspaper comes back every half second, well
    // within the skew of its signed time.
    active.signal("KILL");
    let (attacker, _) = raw_client(broker.port, "attacker", &[]).await;
    let replayer = replay_forever(attacker, "nara/newspaper/twin", last_words, Duration::from_millis(500));
    // The takeover window is two newspaper intervals (1 s here).
    let took_over = wait_role(&standby, "active", Duration::from_secs(8)).await;
    replayer.abort();
    assert!(took_over["reason"].as_str().unwrap().contains("no twin"), "{took_over}");
    assert!(
        standby
            .metric("nara_plaza_messages_total{kind=\"newspaper\",result=\"replayed\"}")
            .await
            >= 1
    );
}

#[tokio::test]
async fn a_recorded_chau_of_the_soul_does_not_make_two_twins_speak() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let (soul, _) = soul_file(&dir, "twin");
    let (_listener, mut heard) =
        raw_client(broker.port, "go-listener", &["nara/plaza/chau", "nara/newspaper/twin"]).await;
    // A process of the soul that ran alone and stopped: its chau, recorded.
    let mut gone = twin(&broker, &soul, &[]);
    next_on(&mut heard, "nara/newspaper/twin", |_| true).await;
    gone.signal("TERM");
    let recorded = next_on(&mut heard, "nara/plaza/chau", |_| true).await;
    assert_eq!(gone.wait_exit(Duration::from_secs(5)).code(), Some(0));

    let older = twin(&broker, &soul, &[]);
    wait_role(&older, "active", Duration::from_secs(5)).await;
    let newer = twin(&broker, &soul, &[]);
    wait_role(&older, "standby", Duration::from_secs(5)).await;
    let (attacker, _) = raw_client(broker.port, "attacker", &[]).await;
    let replayer = replay_forever(attacker, "nara/plaza/chau", recorded, Duration::from_millis(300));
    holds_for("never both twins active", Duration::from_secs(4), || async {
        !(role(&older).await["role"] == "active" && role(&newer).await["role"] == "active")
    })
    .await;
    replayer.abort();
    assert_eq!(role(&newer).await["role"], "active");
    assert!(
        older
            .metric("nara_plaza_messages_total{kind=\"chau\",result=\"replayed\"}")
            .await
            >= 5
    );
}

#[tokio::test]
async fn a_twin_with_its_clock_ahead_beyond_the_skew_is_reported_as_a_second_speaker() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let (soul_path, soul) = soul_file(&dir, "twin");
    let mut nara = twin(&broker, &soul_path, &[]);
    wait_role(&nara, "active", Duration::from_secs(5)).await;
    // A twin whose host clock runs 120 s ahead: every newspaper it signs is "from the
    // future" here, and it hears this one's as 120 s old. Played by this test.
    let identity = Identity::new(&soul, "twin", SoulSource::File);
    let (fast, _) = raw_client(broker.port, "fast-twin", &[]).await;
    let now_ns = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    let ahead_ns = 120_000_000_000;
    let started_ns = now_ns() + ahead_ns;
    let speaker = tokio::spawn(async move {
        loop {
            let status = OwnStatus {
                version: "0.0.9",
                revision: "fast",
                profile: "release",
                public_url: None,
                host_uptime_s: 1000,
                process_uptime_s: 60,
                sent_ns: now_ns() + ahead_ns,
                boot_id: "fast-clock",
                conn: 1,
                started_ns,
                role_pin: "auto",
                handover: false,
                tags: &nara::tags::NO_TAGS,
                health: Default::default(),
            };
            let paper = newspaper::encode(&identity, &status);
            let _ = fast.publish("nara/newspaper/twin", QoS::AtMostOnce, false, paper).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let reported = wait_until("two speakers in /api/status", Duration::from_secs(10), || async {
        let role = role(&nara).await;
        (!role["two_speakers"].is_null()).then_some(role)
    })
    .await;
    assert_eq!(reported["role"], "active");
    assert_eq!(reported["two_speakers"]["twin"], "fast-clock");
    let ahead = reported["two_speakers"]["ahead_s"].as_u64().unwrap();
    assert!((115..=125).contains(&ahead), "{reported}");
    assert_eq!(nara.metric("nara_plaza_two_speakers").await, 1);
    nara.wait_for_log("the warning", Duration::from_secs(5), |line| {
        line["level"] == "WARN"
            && line["message"]
                .as_str()
                .is_some_and(|m| m.contains("two processes speak for this soul"))
    });
    // Once it stops, it is no longer reported.
    speaker.abort();
    wait_until("two speakers to end", Duration::from_secs(10), || async {
        role(&nara).await["two_speakers"].is_null().then_some(())
    })
    .await;
    wait_until("the gauge to fall", Duration::from_secs(5), || async {
        (nara.metric("nara_plaza_two_speakers").await == 0).then_some(())
    })
    .await;
}

/// A twin of this nara's kind, played by a test: it publishes the soul's newspapers as
/// process `boot` every 200 ms, signed `ahead` of this clock, says hey_there again
/// (as after a reconnect) whenever `reannounce` brings word, and stops when its task
/// is aborted (killed) or when told to hand over (its last newspaper says so).
struct PlayedTwin {
    task: tokio::task::JoinHandle<()>,
    hand_over: tokio::sync::oneshot::Sender<()>,
}

fn played_twin(
    client: rumqttc::v5::AsyncClient,
    identity: Identity,
    boot: &'static str,
    ahead: Duration,
    reannounce: mpsc::UnboundedReceiver<()>,
) -> PlayedTwin {
    let (hand_over, mut handing_over) = tokio::sync::oneshot::channel::<()>();
    let mut reannounce = reannounce;
    let now_ns = move || {
        (SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is past 1970")
            + ahead)
            .as_nanos() as u64
    };
    let started_ns = now_ns();
    let task = tokio::spawn(async move {
        let paper = |handover: bool| {
            newspaper::encode(
                &identity,
                &OwnStatus {
                    version: "0.0.9",
                    revision: "played",
                    profile: "release",
                    public_url: None,
                    host_uptime_s: 1000,
                    process_uptime_s: 60,
                    sent_ns: now_ns(),
                    boot_id: boot,
                    conn: 1,
                    started_ns,
                    role_pin: "auto",
                    handover,
                    tags: &nara::tags::NO_TAGS,
                    health: Default::default(),
                },
            )
        };
        loop {
            if handing_over.try_recv().is_ok() {
                let _ = client
                    .publish("nara/newspaper/twin", QoS::AtLeastOnce, false, paper(true))
                    .await;
                return;
            }
            if reannounce.try_recv().is_ok() {
                let hello = go_wire::hey_there(&identity, now_ns() as i64);
                let _ = client
                    .publish("nara/plaza/hey_there", QoS::AtLeastOnce, false, hello)
                    .await;
            }
            let _ = client
                .publish("nara/newspaper/twin", QoS::AtLeastOnce, false, paper(false))
                .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    PlayedTwin { task, hand_over }
}

#[tokio::test]
async fn a_recorded_go_newspaper_after_the_active_twin_reconnects_does_not_stop_the_takeover() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let (soul_path, soul) = soul_file(&dir, "twin");
    let standby = twin(&broker, &soul_path, &[]);
    wait_role(&standby, "active", Duration::from_secs(5)).await;
    // The active twin, played by this test: it started after the standby.
    let identity = Identity::new(&soul, "twin", SoulSource::File);
    let (client, _) = raw_client(broker.port, "active-twin", &[]).await;
    let (reconnect, reannounce) = mpsc::unbounded_channel();
    let active = played_twin(
        client,
        Identity::new(&soul, "twin", SoulSource::File),
        "played-active",
        Duration::ZERO,
        reannounce,
    );
    wait_role(&standby, "standby", Duration::from_secs(5)).await;

    // It reconnects (a taken client ID can force that): hey_there, then a newspaper.
    // An attacker that sees both replays a newspaper of the soul's Go era.
    let (attacker, mut heard) = raw_client(
        broker.port,
        "attacker",
        &["nara/plaza/hey_there", "nara/newspaper/twin"],
    )
    .await;
    reconnect.send(()).unwrap();
    next_on(&mut heard, "nara/plaza/hey_there", |_| true).await;
    next_on(&mut heard, "nara/newspaper/twin", |p| boot_of(p) == "played-active").await;
    attacker
        .publish(
            "nara/newspaper/twin",
            QoS::AtLeastOnce,
            false,
            go_wire::signed_newspaper(&identity, "0.0.1", 86_400),
        )
        .await
        .unwrap();
    // The active twin dies: the standby takes over after two newspaper intervals.
    active.task.abort();
    let took_over = wait_role(&standby, "active", Duration::from_secs(8)).await;
    assert!(took_over["reason"].as_str().unwrap().contains("no twin"), "{took_over}");
}

#[tokio::test]
async fn after_a_handover_from_a_twin_whose_clock_is_ahead_observers_believe_the_new_speaker_at_once() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let (soul_path, soul) = soul_file(&dir, "twin");
    let observer = nara_on(&broker.url(), "observer", &[]);
    let standby = twin(&broker, &soul_path, &[]);
    wait_role(&standby, "active", Duration::from_secs(5)).await;
    // The active twin, played by this test, on a host whose clock is 30 s ahead (well
    // within --plaza-max-skew).
    let identity = Identity::new(&soul, "twin", SoulSource::File);
    let (client, _) = raw_client(broker.port, "fast-twin", &[]).await;
    let (_reconnect, reannounce) = mpsc::unbounded_channel();
    let active = played_twin(client, identity, "ahead", Duration::from_secs(30), reannounce);
    wait_role(&standby, "standby", Duration::from_secs(5)).await;
    observer
        .wait_peer_version("twin", "0.0.9", Duration::from_secs(10))
        .await;

    // It stops, handing over: the standby speaks at once, and observers believe it.
    active.hand_over.send(()).unwrap();
    active.task.await.unwrap();
    wait_role(&standby, "active", Duration::from_secs(5)).await;
    observer
        .wait_peer_version("twin", env!("CARGO_PKG_VERSION"), Duration::from_secs(5))
        .await;
}
