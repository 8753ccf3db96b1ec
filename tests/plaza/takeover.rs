//! A nara's MQTT session against an attacker on the broker. The broker setup the Plaza
//! chapter recommends, run as written, keeps twins of one soul on the plaza while
//! another account takes every client ID it can compute from what naras publish and
//! listens on `$SYS` and `#` for more; an attacker who did learn a client ID (the
//! broker's log stands for a leak) takes the session once, and nara says so, moves to a
//! new ID and stays on the plaza. The ID is in no message, status, metric or log line.

use crate::common::broker::Mosquitto;
use crate::common::go_wire;
use crate::common::mqtt::{Account, Squatter, listener};
use crate::common::repo_files::fenced_block;
use crate::common::{Running, TestNara, holds_for, nara_command, run_ok, wait_until};
use rumqttc::v5::mqttbytes::QoS;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const CHAPTER: &str = "docs/src/plaza.md";

/// The chapter's mosquitto setup: its `nara.conf` and `nara.acl` as written, with only
/// their paths moved to a scratch directory, and a password file with `accounts`.
pub(crate) struct RecommendedBroker {
    pub(crate) broker: Mosquitto,
    _files: tempfile::TempDir,
}

impl RecommendedBroker {
    pub(crate) fn start(accounts: &[Account<'_>]) -> RecommendedBroker {
        RecommendedBroker::start_with_acl(accounts, |acl| acl)
    }

    /// The setup with its ACL as `edit` changes it.
    pub(crate) fn start_with_acl(accounts: &[Account<'_>], edit: impl Fn(String) -> String) -> RecommendedBroker {
        let files = tempfile::tempdir().expect("a scratch directory");
        let passwd = files.path().join("nara.passwd");
        let acl = files.path().join("nara.acl");
        for (i, (user, password)) in accounts.iter().enumerate() {
            let mut command = Command::new("mosquitto_passwd");
            if i == 0 {
                command.arg("-c");
            }
            run_ok(command.arg("-b").arg(&passwd).args([user, password]));
        }
        std::fs::write(&acl, edit(fenced_block(CHAPTER, "text", "# /etc/mosquitto/nara.acl")))
            .expect("the ACL file is written");
        let conf = fenced_block(CHAPTER, "text", "# /etc/mosquitto/conf.d/nara.conf");
        assert!(
            !conf.lines().any(|l| l.trim_start().starts_with("log_dest")),
            "the recommended setup publishes no log on $SYS:\n{conf}"
        );
        let conf = conf
            .replace("/etc/mosquitto/nara.passwd", &passwd.display().to_string())
            .replace("/etc/mosquitto/nara.acl", &acl.display().to_string());
        RecommendedBroker {
            broker: Mosquitto::start_with("", &conf),
            _files: files,
        }
    }
}

/// A nara named `name`, logged in to the broker as the account of that name, at test
/// timings.
pub(crate) fn nara_as(broker: &Mosquitto, name: &str, password: &str, extra: &[&str]) -> Running {
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
        .args(["--mqtt-user", name])
        .args(["--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "1s"])
        .args(extra)
        .env("NARA_MQTT_PASSWORD", password);
    Running::start(command).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether `observer` sees `name` ONLINE.
async fn online(observer: &Running, name: &str) -> bool {
    observer.peer(name).await.is_some_and(|p| p["status"] == "ONLINE")
}

/// Every client ID an attacker can compute from what `nara` shows anyone (its name,
/// nara ID and boot ID, in `/api/status` and in every newspaper): the formats nara
/// used, the Go nara's (its bare name), and a few more guesses.
async fn computable_ids(nara: &Running) -> Vec<String> {
    let status = nara.get_json("/api/status").await;
    let name = status["name"].as_str().expect("a name");
    let id = status["id"].as_str().expect("a nara ID");
    let boot = status["plaza"]["boot_id"].as_str().expect("a boot ID");
    vec![
        format!("nara-{name}-{boot}"),
        name.to_string(),
        format!("nara-{name}"),
        format!("{name}-{boot}"),
        boot.to_string(),
        id.to_string(),
        format!("nara-{id}"),
    ]
}

/// Everything `heard` has brought so far.
fn drain(heard: &mut mpsc::UnboundedReceiver<(String, String)>) -> Vec<(String, String)> {
    std::iter::from_fn(|| heard.try_recv().ok()).collect()
}

/// Fails the test if any of `ids` is in what anyone may read of `nara`: its status, its
/// view, its metrics, or its log (at the default level, info).
async fn assert_secret(nara: &mut Running, ids: &[String]) {
    let mut shown = String::new();
    for path in ["/api/status", "/api/peers", "/metrics"] {
        shown.push_str(&nara.get_text(path).await);
    }
    shown.push_str(&nara.drain_log().join("\n"));
    for id in ids {
        assert!(!shown.contains(id.as_str()), "the client ID {id} is shown:\n{shown}");
    }
}

/// Fails the test unless `id` looks like a secret: 23 letters and digits, the length
/// every MQTT 5 broker must accept, and not the nara's name (a Go nara's client ID).
fn assert_random_form(id: &str, name: &str) {
    assert_eq!(id.len(), 23, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
    assert!(!id.contains(name), "{id} holds the name {name}");
}

#[tokio::test]
async fn the_recommended_broker_keeps_twins_on_the_plaza_against_every_client_id_another_account_can_compute() {
    let accounts = [
        ("twin", "twin-pass"),
        ("observer", "observer-pass"),
        ("mallory", "mallory-pass"),
        ("monitor", "monitor-pass"),
    ];
    let recommended = RecommendedBroker::start(&accounts);
    let broker = &recommended.broker;
    let dir = tempfile::tempdir().unwrap();
    let soul = dir.path().join("twin.soul");
    std::fs::write(&soul, crate::common::mint_soul("twin")).unwrap();
    let soul = soul.to_str().unwrap();

    // The naras here send a newspaper a second; four seconds of silence is MISSING.
    let mut observer = nara_as(broker, "observer", "observer-pass", &["--plaza-missing-after", "4s"]);
    let mut first = nara_as(broker, "twin", "twin-pass", &["--soul-file", soul]);
    let mut second = nara_as(broker, "twin", "twin-pass", &["--soul-file", soul]);
    wait_until(
        "one twin active, the other standby, the twin ONLINE at the observer",
        Duration::from_secs(15),
        || async {
            let roles = [
                first.get_json("/api/status").await,
                second.get_json("/api/status").await,
            ]
            .map(|s| s["plaza"]["role"]["role"].as_str().unwrap_or_default().to_string());
            let one_active = roles.contains(&"active".to_string()) && roles.contains(&"standby".to_string());
            (one_active && online(&observer, "twin").await).then_some(())
        },
    )
    .await;

    // The monitoring account reads $SYS; another account, listening everywhere it may,
    // hears only the plaza.
    let (_monitor, mut monitor_heard) =
        listener(broker.port, "monitor-1", Some(("monitor", "monitor-pass")), &["$SYS/#"]).await;
    let (mallory, mut heard) = listener(
        broker.port,
        "mallory-ears",
        Some(("mallory", "mallory-pass")),
        &["#", "$SYS/#"],
    )
    .await;
    wait_until("the monitor to hear $SYS", Duration::from_secs(10), || {
        let got = drain(&mut monitor_heard);
        async move {
            got.iter()
                .any(|(topic, _)| topic.starts_with("$SYS/broker/"))
                .then_some(())
        }
    })
    .await;
    // Boot IDs are also in every newspaper, for anyone who listens.
    // Whatever mallory hears is kept, to look for client IDs in it at the end.
    let mut learned = Vec::new();
    let newspaper = wait_until("a newspaper of the twin", Duration::from_secs(5), || {
        learned.extend(drain(&mut heard));
        let found = learned
            .iter()
            .find(|(topic, _)| topic == "nara/newspaper/twin")
            .cloned();
        async move { found }
    })
    .await;
    let status = go_wire::verify_newspaper(&newspaper.1).expect("a valid newspaper");
    let mut ids = vec![format!("nara-twin-{}", status["boot_id"].as_str().unwrap())];
    for nara in [&first, &second, &observer] {
        ids.extend(computable_ids(nara).await);
    }
    ids.sort();
    ids.dedup();
    let squatters: Vec<Squatter> = ids
        .iter()
        .map(|id| Squatter::start(broker.port, id, Some(("mallory", "mallory-pass"))))
        .collect();
    wait_until("every squatter connected", Duration::from_secs(10), || async {
        squatters.iter().all(|s| s.connections() >= 1).then_some(())
    })
    .await;

    // Long enough for any backoff to grow past the MISSING window: the attack kept the
    // twin off the plaza for good before nara's client ID was secret.
    holds_for("the twin ONLINE at the observer", Duration::from_secs(30), || {
        online(&observer, "twin")
    })
    .await;
    for nara in [&first, &second, &observer] {
        let lost = nara.metric("nara_plaza_reconnects_total").await;
        assert_eq!(lost, 0, "{} lost its connection {lost} times", nara.base);
    }

    // The naras' real client IDs, as only the broker's log knows them: one per process.
    let twins = broker.client_ids_of("twin");
    let observers = broker.client_ids_of("observer");
    assert_eq!(twins.len(), 2, "{twins:?}");
    assert_eq!(observers.len(), 1, "{observers:?}");
    for id in &twins {
        assert_random_form(id, "twin");
    }
    assert_random_form(&observers[0], "observer");
    let real: Vec<String> = twins.into_iter().chain(observers).collect();
    for squatter in &squatters {
        assert!(!real.contains(&squatter.id), "{} was computable", squatter.id);
        assert_eq!(squatter.connections(), 1, "{} was never taken back", squatter.id);
    }
    learned.extend(drain(&mut heard));
    assert!(
        !learned.iter().any(|(topic, _)| topic.starts_with('$')),
        "another account read $SYS: {learned:?}"
    );
    for (topic, payload) in &learned {
        for id in &real {
            assert!(
                !payload.contains(id.as_str()) && !topic.contains(id.as_str()),
                "{id} heard on {topic}"
            );
        }
    }
    for nara in [&mut first, &mut second, &mut observer] {
        assert_secret(nara, &real).await;
    }

    // Rights follow the account: mallory may write its own newspaper topic, not the
    // twin's (its message there never arrives, though the one after it does).
    for topic in ["nara/newspaper/twin", "nara/newspaper/mallory"] {
        mallory
            .publish(topic, QoS::AtMostOnce, false, "from mallory")
            .await
            .expect("the publish is queued");
    }
    let mut arrived = Vec::new();
    wait_until("mallory's own newspaper topic", Duration::from_secs(5), || {
        arrived.extend(drain(&mut heard));
        let mine = arrived.iter().any(|(topic, _)| topic == "nara/newspaper/mallory");
        async move { mine.then_some(()) }
    })
    .await;
    assert!(
        !arrived
            .iter()
            .any(|(topic, payload)| topic == "nara/newspaper/twin" && payload == "from mallory"),
        "mallory wrote the twin's newspaper topic"
    );
}

#[tokio::test]
async fn an_attacker_who_learned_a_client_id_takes_the_session_once_and_nara_stays_on_the_plaza_under_a_new_one() {
    let accounts = [
        ("kitchen", "kitchen-pass"),
        ("observer", "observer-pass"),
        ("mallory", "mallory-pass"),
    ];
    let recommended = RecommendedBroker::start(&accounts);
    let broker = &recommended.broker;
    // Each takeover keeps nara away for a second, then two, then four (each up to half
    // again): this observer's MISSING window is longer than that.
    let observer = nara_as(broker, "observer", "observer-pass", &["--plaza-missing-after", "10s"]);
    let mut kitchen = nara_as(broker, "kitchen", "kitchen-pass", &[]);
    observer.wait_peer("kitchen", "ONLINE", Duration::from_secs(10)).await;

    const LEAKS: usize = 3;
    let hold = Duration::from_secs(20);
    let began = Instant::now();
    let mut squatters = Vec::new();
    let mut attack_took = Duration::MAX;
    let attack = async {
        for leak in 1..=LEAKS {
            // The ID leaks; the broker's log stands for any way it could. Mallory takes
            // the session with it, and takes it back whenever it loses it.
            let ids = broker.client_ids_of("kitchen");
            assert_eq!(ids.len(), leak, "{ids:?}");
            let leaked = ids.last().expect("kitchen connected").clone();
            squatters.push(Squatter::start(broker.port, &leaked, Some(("mallory", "mallory-pass"))));
            let what = format!("kitchen to report takeover {leak} and come back under a new client ID");
            let kitchen = &kitchen;
            wait_until(&what, Duration::from_secs(15), || async move {
                let counted = kitchen
                    .metric(r#"nara_plaza_connect_failures_total{cause="taken_over"}"#)
                    .await;
                let moved = broker.client_ids_of("kitchen").len() == leak + 1;
                (counted == leak as u64 && moved && kitchen.plaza_connected().await).then_some(())
            })
            .await;
        }
        attack_took = began.elapsed();
    };
    let watch = holds_for("kitchen ONLINE at the observer", hold, || online(&observer, "kitchen"));
    tokio::join!(attack, watch);
    assert!(
        attack_took < hold,
        "the observer watched the whole attack ({attack_took:?})"
    );

    let status = kitchen.get_json("/api/status").await["plaza"].clone();
    assert_eq!(status["connected"], true, "{status:#}");
    let trouble = &status["broker_trouble"];
    assert_eq!(
        trouble["cause"], "taken_over",
        "shown until a connection lasts: {status:#}"
    );
    let message = trouble["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("probably connected with this process's client ID")
            && message.contains("a copy of this process"),
        "{message}"
    );
    assert_eq!(
        kitchen
            .metric(r#"nara_plaza_connect_failures_total{cause="taken_over"}"#)
            .await,
        LEAKS as u64,
        "one takeover per leak"
    );
    assert_eq!(
        kitchen
            .metric(r#"nara_plaza_connect_failures_total{cause="lost"}"#)
            .await,
        0
    );
    // No fight: each squatter was accepted once, then once more after nara's single
    // try under the old ID, and has held that ID since.
    for squatter in &squatters {
        assert_eq!(squatter.connections(), 2, "{}", squatter.id);
    }
    let ids = broker.client_ids_of("kitchen");
    assert_eq!(ids.len(), LEAKS + 1, "{ids:?}");
    for id in &ids {
        assert_random_form(id, "kitchen");
    }
    let log = kitchen.drain_log();
    let warned = log
        .iter()
        .filter(|line| line.contains("\"WARN\"") && line.contains("session taken over"))
        .count();
    assert_eq!(warned, 1, "one warning until a connection lasts:\n{}", log.join("\n"));
    for line in &log {
        for id in &ids {
            assert!(!line.contains(id.as_str()), "the client ID {id} is logged: {line}");
        }
    }
    assert_secret(&mut kitchen, &ids).await;
}

#[tokio::test]
async fn the_client_id_is_kept_across_reconnects_when_the_broker_restarts() {
    let mut broker = Mosquitto::start();
    let nara = crate::common::nara_on(&broker.url(), "steady", &[]);
    nara.wait_for_plaza(true, Duration::from_secs(10)).await;
    broker.stop();
    wait_until("the broker unreachable", Duration::from_secs(10), || async {
        let status = nara.get_json("/api/status").await;
        (status["plaza"]["broker_trouble"]["cause"] == "unreachable").then_some(())
    })
    .await;
    broker.restart();
    nara.wait_for_plaza(true, Duration::from_secs(20)).await;
    let ids: Vec<String> = broker.clients().into_iter().map(|(id, _)| id).collect();
    assert!(ids.len() >= 2, "connected before and after the restart: {ids:?}");
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_random_form(&ids[0], "steady");
    assert_eq!(
        nara.metric(r#"nara_plaza_connect_failures_total{cause="taken_over"}"#)
            .await,
        0
    );
    assert_eq!(
        nara.get_json("/api/status").await["plaza"]["broker_trouble"],
        Value::Null
    );
}
