//! Event hooks on a real broker, with real nara processes: a program the test writes
//! (a shell script that appends its stdin to a file) and a webhook receiver on loopback.
//! A killed nara's confirmed MISSING runs the hook, and its suspicion runs nothing; a
//! crashed nara started again is a join and a restart, a rollout a version change; a
//! hung hook is killed with what it started, and counted; a flood of joins is held to
//! the rate, and a flood behind hung hooks fills the queue, each drop counted; a
//! webhook gets the event by POST, over verified TLS too, and its secrets stay out of
//! the log; of twins sharing a soul, only the one that speaks runs the hooks, and a
//! read-only watcher runs its own; an observer off its broker pages nobody for the
//! naras it stops hearing; a nara tagged ephemeral=true pages nobody when it goes; under MemoryDenyWriteExecute a shell hook runs and a JIT
//! cannot; and the Operations chapter's program hook runs as written.

use crate::common::broker::Mosquitto;
use crate::common::go_wire::{self, raw_client};
use crate::common::old_release::OldRelease;
use crate::common::repo_files::{console_block, fenced_block};
use crate::common::tls::{TlsFront, make_certificates};
use crate::common::{Running, TestNara, holds_for, nara_command, nara_on, wait_until};
use nara::{Identity, Soul, SoulSource};
use rumqttc::v5::mqttbytes::QoS;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Writes an executable shell script `name` into `dir` and returns its path.
fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("the script is written");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("the script is executable");
    path.to_str().expect("a UTF-8 path").to_string()
}

/// A hook that appends the event on its stdin to `events`.
fn recorder(dir: &Path, events: &Path) -> String {
    script(dir, "record", &format!("cat >> '{}'", events.display()))
}

/// The events a recorder has written so far, one JSON object a line.
fn recorded(events: &Path) -> Vec<Value> {
    std::fs::read_to_string(events)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each event is one line of JSON"))
        .collect()
}

/// The events recorded about `name`, as (event, status).
fn about(events: &Path, name: &str) -> Vec<(String, String)> {
    recorded(events)
        .iter()
        .filter(|e| e["nara"] == name)
        .map(|e| {
            (
                e["event"].as_str().expect("an event name").into(),
                e["status"].as_str().expect("a status").into(),
            )
        })
        .collect()
}

fn nara_named(name: &str) -> Identity {
    Identity::new(&Soul::mint(name).expect("randomness"), name, SoulSource::Ephemeral)
}

/// Publishes a hey_there from `count` fresh naras, each a join at `observer`, and
/// waits until the observer has taken them all in.
async fn flood_of_joins(broker: &Mosquitto, observer: &Running, count: usize) {
    let (client, _) = raw_client(broker.port, "flooder", &[]).await;
    for i in 0..count {
        let flood = nara_named(&format!("flood{i}"));
        client
            .publish(
                "nara/plaza/hey_there",
                QoS::AtLeastOnce,
                false,
                go_wire::hey_there(&flood, go_wire::now_ns()),
            )
            .await
            .expect("queued");
    }
    let accepted = "nara_plaza_messages_total{kind=\"hey-there\",result=\"accepted\"}";
    wait_until("the flood taken in", Duration::from_secs(20), || async move {
        // Its own hey_there, echoed, is one more.
        (observer.metric(accepted).await > count as u64).then_some(())
    })
    .await;
}

async fn events_counted(nara: &Running, result: &str) -> u64 {
    nara.metric(&format!("nara_hook_events_total{{result=\"{result}\"}}"))
        .await
}

async fn runs_counted(nara: &Running, hook: &str, result: &str) -> u64 {
    nara.metric(&format!("nara_hook_runs_total{{hook=\"{hook}\",result=\"{result}\"}}"))
        .await
}

#[tokio::test]
async fn a_killed_naras_confirmed_missing_runs_the_hook_and_its_suspicion_runs_nothing() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let hook = recorder(dir.path(), &events);
    let observer = nara_on(&broker.url(), "observer", &["--on-event", &hook]);
    let doomed = nara_on(&broker.url(), "doomed", &[]);
    let events_ref = &events;
    wait_until(
        "the hook told of doomed's join",
        Duration::from_secs(10),
        || async move { (about(events_ref, "doomed") == [("join".into(), "ONLINE".into())]).then_some(()) },
    )
    .await;
    doomed.signal("KILL");
    // Its will makes it SUSPECT first, then MISSING once unanswered.
    observer.wait_peer("doomed", "MISSING", Duration::from_secs(15)).await;
    let confirmed = Instant::now();
    wait_until(
        "the hook told of doomed's MISSING",
        Duration::from_secs(5),
        || async move { (about(events_ref, "doomed").len() == 2).then_some(()) },
    )
    .await;
    // For the record, not a timing test: the figure is the bench's to hold.
    eprintln!(
        "MISSING seen over HTTP -> hook's file written: {:?}",
        confirmed.elapsed()
    );
    holds_for("no other event of doomed", Duration::from_secs(2), || async move {
        about(events_ref, "doomed").len() == 2
    })
    .await;
    assert_eq!(
        about(&events, "doomed"),
        [("join".into(), "ONLINE".into()), ("missing".into(), "MISSING".into())],
        "exactly its join and its confirmed MISSING, nothing for SUSPECT"
    );
    let missing = recorded(&events).into_iter().find(|e| e["event"] == "missing").unwrap();
    assert_eq!(missing["observer"], "observer");
    assert_eq!(missing["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(missing["peer"]["status"], "MISSING");
    assert_eq!(missing["text"], "observer: doomed is MISSING");
    assert_eq!(runs_counted(&observer, "program", "ok").await, 2);
    assert_eq!(events_counted(&observer, "run").await, 2);
}

#[tokio::test]
async fn an_ephemeral_naras_departures_page_nobody_and_its_arrival_is_still_told() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let hook = recorder(dir.path(), &events);
    let observer = nara_on(&broker.url(), "observer", &["--on-event", &hook]);
    let ephemeral = ["--tag", "ephemeral=true"];
    let mut canary = nara_on(&broker.url(), "canary", &ephemeral);
    let laptop = nara_on(&broker.url(), "laptop", &ephemeral);
    let mut regular = nara_on(&broker.url(), "regular", &[]);
    let events_ref = &events;
    wait_until("the three joins told", Duration::from_secs(10), || async move {
        ["canary", "laptop", "regular"]
            .iter()
            .all(|name| about(events_ref, name) == [("join".into(), "ONLINE".into())])
            .then_some(())
    })
    .await;
    canary.signal("TERM");
    assert_eq!(canary.wait_exit(Duration::from_secs(5)).code(), Some(0));
    laptop.signal("KILL");
    regular.signal("TERM");
    assert_eq!(regular.wait_exit(Duration::from_secs(5)).code(), Some(0));
    observer.wait_peer("canary", "OFFLINE", Duration::from_secs(10)).await;
    observer.wait_peer("laptop", "MISSING", Duration::from_secs(15)).await;
    // The untagged one's leave is told, so the hook was there to run.
    wait_until("regular's leave told", Duration::from_secs(5), || async move {
        (about(events_ref, "regular").len() == 2).then_some(())
    })
    .await;
    holds_for(
        "no departure of the ephemeral ones",
        Duration::from_secs(2),
        || async move { about(events_ref, "canary").len() == 1 && about(events_ref, "laptop").len() == 1 },
    )
    .await;
}

#[tokio::test]
async fn a_hook_that_hangs_is_killed_with_what_it_started_and_counted() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let hang = script(
        dir.path(),
        "hang",
        &format!("sleep 300 & echo $$ $! >> '{}'; wait", pids.display()),
    );
    let mut observer = nara_on(
        &broker.url(),
        "observer",
        &["--on-event", &format!("join={hang}"), "--on-event-timeout", "1s"],
    );
    let _joiner = nara_on(&broker.url(), "joiner", &[]);
    let observer_ref = &observer;
    wait_until(
        "the hung hook counted as a timeout",
        Duration::from_secs(15),
        || async move { (runs_counted(observer_ref, "program", "timeout").await == 1).then_some(()) },
    )
    .await;
    assert_eq!(observer.metric("nara_hooks_running").await, 0);
    let line = observer.wait_for_log("the timeout logged", Duration::from_secs(5), |line| {
        line["level"] == "WARN"
            && line["message"]
                .as_str()
                .is_some_and(|m| m.contains("failed on join of joiner") && m.contains("killed"))
    });
    assert!(line["message"].as_str().unwrap().contains(&hang), "{line}");
    // The script and the sleep it started, both in the hook's process group: gone.
    let written = std::fs::read_to_string(&pids).expect("the hook wrote its pids");
    for pid in written.split_whitespace() {
        let pid = pid.to_string();
        wait_until(&format!("process {pid} gone"), Duration::from_secs(5), || {
            let pid = pid.clone();
            async move { nara::testing::process_gone(&pid).then_some(()) }
        })
        .await;
    }
    // The plaza went on meanwhile.
    assert_eq!(observer.peer("joiner").await.unwrap()["status"], "ONLINE");
}

#[tokio::test]
async fn a_flood_of_events_is_held_to_the_rate_and_the_rest_counted() {
    const FLOOD: usize = 60;
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let hook = recorder(dir.path(), &events);
    let observer = nara_on(
        &broker.url(),
        "observer",
        &["--on-event", &hook, "--on-event-rate", "10"],
    );
    observer.wait_until_hearing(Duration::from_secs(10)).await;
    let began = Instant::now();
    flood_of_joins(&broker, &observer, FLOOD).await;
    let observer_ref = &observer;
    let (run, limited) = wait_until(
        "every event of the flood counted",
        Duration::from_secs(10),
        || async move {
            let run = events_counted(observer_ref, "run").await;
            let limited = events_counted(observer_ref, "rate_limited").await;
            (run + limited == FLOOD as u64).then_some((run, limited))
        },
    )
    .await;
    // 10 at once, then one every 6 s.
    let allowed = 10 + began.elapsed().as_secs() / 6 + 1;
    assert!(run >= 10 && run <= allowed, "{run} run, {allowed} allowed");
    assert!(limited >= FLOOD as u64 - allowed, "{limited} dropped");
    assert_eq!(events_counted(&observer, "queue_full").await, 0);
    let events_ref = &events;
    wait_until(
        "the hook ran once per event run",
        Duration::from_secs(10),
        || async move { (recorded(events_ref).len() as u64 == run).then_some(()) },
    )
    .await;
    assert!(recorded(&events).iter().all(|e| e["event"] == "join"));
}

#[tokio::test]
async fn a_flood_behind_hung_hooks_fills_the_queue_and_the_rest_is_counted() {
    const FLOOD: usize = 100;
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let hang = script(dir.path(), "hang", "exec sleep 300");
    let mut observer = nara_on(
        &broker.url(),
        "observer",
        &[
            "--on-event",
            &hang,
            "--on-event-rate",
            "10000",
            "--on-event-timeout",
            "5s",
        ],
    );
    observer.wait_until_hearing(Duration::from_secs(10)).await;
    flood_of_joins(&broker, &observer, FLOOD).await;
    // 4 hang, the task holds a fifth waiting for a slot, 64 wait in the queue.
    let dropped = events_counted(&observer, "queue_full").await;
    assert!(dropped >= (FLOOD - 4 - 1 - 64) as u64, "{dropped} dropped");
    let observer_ref = &observer;
    wait_until("every run slot taken", Duration::from_secs(5), || async move {
        (observer_ref.metric("nara_hooks_running").await == 4).then_some(())
    })
    .await;
    assert_eq!(events_counted(&observer, "rate_limited").await, 0);
    // The plaza is not slowed: the view holds every nara of the flood.
    let peers = observer.get_json("/api/peers").await;
    assert_eq!(peers["peers"].as_array().unwrap().len(), FLOOD + 1);
    observer.wait_for_log("the full queue logged", Duration::from_secs(5), |line| {
        line["level"] == "WARN"
            && line["message"]
                .as_str()
                .is_some_and(|m| m.contains("64 events wait already"))
    });
    let observer_ref = &observer;
    wait_until(
        "the hung hooks killed at their timeout",
        Duration::from_secs(15),
        || async move { (runs_counted(observer_ref, "program", "timeout").await >= 4).then_some(()) },
    )
    .await;
}

/// What the webhook receiver got: each request's head and body.
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// An HTTP/1 receiver on loopback that answers every request with `status`.
async fn receiver(status: u16) -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("an address").port();
    let received: Received = Arc::default();
    let kept = received.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut bytes = Vec::new();
                let mut buf = [0; 4096];
                let (head, body) = loop {
                    let Ok(n) = socket.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    bytes.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().to_string())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if body.len() >= length {
                            break (head.to_string(), body.to_string());
                        }
                    }
                };
                kept.lock().expect("the receiver's list").push((head, body));
                let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (port, received)
}

fn bodies(received: &Received) -> Vec<Value> {
    received
        .lock()
        .expect("the receiver's list")
        .iter()
        .map(|(_, body)| serde_json::from_str(body).expect("a JSON body"))
        .collect()
}

#[tokio::test]
async fn a_webhook_is_posted_the_event_and_its_secrets_stay_out_of_the_log() {
    let broker = Mosquitto::start();
    let (port, received) = receiver(200).await;
    let (failing_port, _) = receiver(500).await;
    let url = format!("join=http://hook:pa%24%24@127.0.0.1:{port}/services/T0/SECRETPATH?token=SECRETQUERY");
    let failing = format!("join=http://127.0.0.1:{failing_port}/SECRETPATH");
    let mut command = nara_command();
    command
        .args([
            "--http-addr",
            "127.0.0.1:0",
            "--name",
            "observer",
            "--mqtt-url",
            &broker.url(),
        ])
        .args(["--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "1s"])
        .env("NARA_ON_EVENT_URL", format!("{url} {failing}"));
    let mut observer = Running::start(command).unwrap();
    let _joiner = nara_on(&broker.url(), "joiner", &[]);
    let received_ref = &received;
    wait_until("the webhook posted the join", Duration::from_secs(10), || async move {
        (!received_ref.lock().unwrap().is_empty()).then_some(())
    })
    .await;
    let (head, _) = received.lock().unwrap()[0].clone();
    assert!(
        head.starts_with("POST /services/T0/SECRETPATH?token=SECRETQUERY HTTP/1.1"),
        "{head}"
    );
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: application/json"), "{head}");
    // hook:pa$$, Basic.
    assert!(head.contains("authorization: basic ag9vazpwysqk"), "{head}");
    let event = &bodies(&received)[0];
    assert_eq!(
        (event["event"].as_str(), event["nara"].as_str()),
        (Some("join"), Some("joiner"))
    );
    assert_eq!(event["text"], "observer: joiner joined the plaza");
    let observer_ref = &observer;
    wait_until("the failing webhook counted", Duration::from_secs(10), || async move {
        (runs_counted(observer_ref, "webhook", "status").await == 1).then_some(())
    })
    .await;
    assert_eq!(runs_counted(&observer, "webhook", "ok").await, 1);
    observer.wait_for_log("the failure logged", Duration::from_secs(5), |line| {
        line["message"].as_str().is_some_and(|m| m.contains("answered 500"))
    });
    let settings = nara_command()
        .args(["check-config"])
        .env("NARA_ON_EVENT_URL", &url)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&settings.stdout).into_owned() + &String::from_utf8_lossy(&settings.stderr);
    for line in observer.drain_log().iter().map(String::as_str).chain([report.as_str()]) {
        for secret in ["SECRETPATH", "SECRETQUERY", "pa%24%24", "services"] {
            assert!(!line.contains(secret), "{secret} shown: {line}");
        }
    }
    assert!(report.contains("<redacted>"), "{report}");
}

#[tokio::test]
async fn an_https_webhook_is_posted_only_to_a_certificate_it_can_check() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let (port, received) = receiver(204).await;
    let front = TlsFront::start(dir.path(), ([127, 0, 0, 1], port).into()).await;
    let url = format!("join=https://127.0.0.1:{}/hook", front.port);
    let start = |ca: Option<PathBuf>| {
        let mut command = nara_command();
        command
            .args([
                "--http-addr",
                "127.0.0.1:0",
                "--name",
                "observer",
                "--mqtt-url",
                &broker.url(),
            ])
            .args(["--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "1s"])
            .env("NARA_ON_EVENT_URL", &url);
        if let Some(ca) = ca {
            command.env("SSL_CERT_FILE", ca);
        }
        Running::start(command).unwrap()
    };
    // Without the test's CA the certificate cannot be checked: nothing is sent.
    let untrusting = start(None);
    let _joiner = nara_on(&broker.url(), "joiner", &[]);
    let untrusting_ref = &untrusting;
    wait_until(
        "the unverifiable webhook counted",
        Duration::from_secs(10),
        || async move { (runs_counted(untrusting_ref, "webhook", "request").await == 1).then_some(()) },
    )
    .await;
    assert!(received.lock().unwrap().is_empty());
    drop(untrusting);
    let trusting = start(Some(dir.path().join("ca.crt")));
    let trusting_ref = &trusting;
    wait_until("the verified webhook posted", Duration::from_secs(10), || async move {
        (runs_counted(trusting_ref, "webhook", "ok").await == 1).then_some(())
    })
    .await;
    assert_eq!(bodies(&received)[0]["nara"], "joiner");
}

#[tokio::test]
async fn of_twins_sharing_a_soul_only_the_one_that_speaks_runs_the_hooks() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let soul = Soul::mint("hall").expect("a soul is minted");
    let soul_path = dir.path().join("hall.soul");
    std::fs::write(&soul_path, soul.to_base58()).unwrap();
    let soul_path = soul_path.to_str().unwrap();
    let (old_events, new_events) = (dir.path().join("old.jsonl"), dir.path().join("new.jsonl"));
    let old_hook = script(dir.path(), "old", &format!("cat >> '{}'", old_events.display()));
    let new_hook = script(dir.path(), "new", &format!("cat >> '{}'", new_events.display()));
    let old = nara_on(
        &broker.url(),
        "hall",
        &["--soul-file", soul_path, "--on-event", &old_hook],
    );
    let old_ref = &old;
    wait_until("the first twin active", Duration::from_secs(10), || async move {
        (old_ref.get_json("/api/status").await["plaza"]["role"]["role"] == "active").then_some(())
    })
    .await;
    let new = nara_on(
        &broker.url(),
        "hall",
        &["--soul-file", soul_path, "--on-event", &new_hook],
    );
    // The newest start speaks; the old process stands by.
    wait_until("the old twin standing by", Duration::from_secs(10), || async move {
        (old_ref.get_json("/api/status").await["plaza"]["role"]["role"] == "standby").then_some(())
    })
    .await;
    let _joiner = nara_on(&broker.url(), "joiner", &[]);
    let new_events_ref = &new_events;
    wait_until(
        "the speaking twin's hook told of the join",
        Duration::from_secs(10),
        || async move { (about(new_events_ref, "joiner") == [("join".into(), "ONLINE".into())]).then_some(()) },
    )
    .await;
    wait_until(
        "the standby counted the join as left to its twin",
        Duration::from_secs(10),
        || async move { (events_counted(old_ref, "standby").await >= 1).then_some(()) },
    )
    .await;
    assert!(about(&old_events, "joiner").is_empty(), "the standby ran its hook");
    assert_eq!(events_counted(&new, "standby").await, 0);
}

#[tokio::test]
async fn the_operations_chapters_program_hook_runs_as_written() {
    // The chapter's script and command line; what the test changes, and only that: the
    // script's place (a scratch directory), the URL it posts to (a receiver on
    // loopback) and the broker.
    const CHAPTER: &str = "docs/src/operations.md";
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let (port, received) = receiver(200).await;
    let body = fenced_block(CHAPTER, "sh", "nara-page");
    let body = body.replace(
        "https://ntfy.example.org/nara",
        &format!("http://127.0.0.1:{port}/nara"),
    );
    let page = dir.path().join("nara-page");
    std::fs::write(&page, body).unwrap();
    std::fs::set_permissions(&page, std::fs::Permissions::from_mode(0o755)).unwrap();
    let line = console_block(CHAPTER, "--on-event");
    let hook = line
        .split_whitespace()
        .skip_while(|word| *word != "--on-event")
        .nth(1)
        .expect("the command line gives --on-event a value")
        .replace("/usr/local/bin/nara-page", page.to_str().unwrap());
    let observer = nara_on(&broker.url(), "observer", &["--on-event", &hook]);
    let garage = nara_on(&broker.url(), "garage", &[]);
    let canary = nara_on(&broker.url(), "canary-1", &[]);
    for name in ["garage", "canary-1"] {
        observer.wait_peer(name, "ONLINE", Duration::from_secs(10)).await;
    }
    garage.signal("KILL");
    canary.signal("KILL");
    for name in ["garage", "canary-1"] {
        observer.wait_peer(name, "MISSING", Duration::from_secs(15)).await;
    }
    let observer_ref = &observer;
    wait_until("both departures run the hook", Duration::from_secs(10), || async move {
        (runs_counted(observer_ref, "program", "ok").await == 2).then_some(())
    })
    .await;
    let posted = bodies(&received);
    assert_eq!(posted.len(), 1, "only garage pages: {posted:?}");
    assert_eq!(
        (posted[0]["event"].as_str(), posted[0]["nara"].as_str()),
        (Some("missing"), Some("garage"))
    );
}

#[tokio::test]
async fn an_observer_off_its_broker_pages_nobody_for_the_naras_it_stops_hearing() {
    let mut broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let hook = recorder(dir.path(), &events);
    let observer = nara_on(
        &broker.url(),
        "observer",
        &["--on-event", &hook, "--plaza-missing-after", "3s"],
    );
    let _garage = nara_on(&broker.url(), "garage", &[]);
    let events_ref = &events;
    wait_until(
        "the hook told of garage's join",
        Duration::from_secs(10),
        || async move { (about(events_ref, "garage").len() == 1).then_some(()) },
    )
    .await;
    // The broker goes away: in the observer's view garage falls silent, then MISSING.
    broker.stop();
    observer.wait_peer("garage", "MISSING", Duration::from_secs(15)).await;
    broker.restart();
    observer.wait_peer("garage", "ONLINE", Duration::from_secs(30)).await;
    holds_for(
        "no event of garage but its join",
        Duration::from_secs(2),
        || async move { about(events_ref, "garage") == [("join".into(), "ONLINE".into())] },
    )
    .await;
}

#[tokio::test]
async fn under_memory_deny_write_execute_a_shell_hook_runs_and_a_jit_cannot() {
    // The hardened unit's MemoryDenyWriteExecute, set as the kernel offers it
    // (PR_SET_MDWE, Linux 6.3 and later), on nara and so on every hook it starts: no
    // systemd runs here, and this is the one setting of the unit a hook meets first.
    let probe = std::process::Command::new("python3").args(["-c", "pass"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: no python3 here to stand in for a JIT runtime");
        return;
    }
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let shell = recorder(dir.path(), &events);
    // What a JIT does first: map memory both writable and executable.
    let jit = script(
        dir.path(),
        "jit",
        "exec python3 -c 'import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)'",
    );
    let mut command = nara_command();
    command
        .args([
            "--http-addr",
            "127.0.0.1:0",
            "--name",
            "observer",
            "--mqtt-url",
            &broker.url(),
        ])
        .args(["--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "1s"])
        .args([
            "--on-event",
            &format!("join={shell}"),
            "--on-event",
            &format!("join={jit}"),
        ]);
    let supported = libc::EINVAL;
    {
        use std::os::unix::process::CommandExt;
        #[expect(unsafe_code, reason = "prctl(2) before exec has no safe wrapper in std")]
        // SAFETY: between fork and exec the closure only calls prctl, which is
        // async-signal-safe, and reads errno.
        unsafe {
            command.pre_exec(move || {
                let refuse = libc::c_ulong::from(libc::PR_MDWE_REFUSE_EXEC_GAIN);
                if libc::prctl(libc::PR_SET_MDWE, refuse, 0, 0, 0) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    let mut observer = match Running::start(command) {
        Ok(observer) => observer,
        Err(e) if e.contains(&std::io::Error::from_raw_os_error(supported).to_string()) => {
            eprintln!("skipped: this kernel has no PR_SET_MDWE ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let _joiner = nara_on(&broker.url(), "joiner", &[]);
    let events_ref = &events;
    wait_until(
        "the shell hook told of the join",
        Duration::from_secs(10),
        || async move { (about(events_ref, "joiner").len() == 1).then_some(()) },
    )
    .await;
    let observer_ref = &observer;
    wait_until("the JIT's failure counted", Duration::from_secs(10), || async move {
        (runs_counted(observer_ref, "program", "exit").await == 1).then_some(())
    })
    .await;
    assert_eq!(runs_counted(&observer, "program", "ok").await, 1);
    observer.wait_for_log("the JIT's refusal logged", Duration::from_secs(5), |line| {
        line["message"]
            .as_str()
            .is_some_and(|m| m.contains("jit") && m.contains("Permission denied"))
    });
}

#[tokio::test]
async fn a_read_only_watcher_runs_its_hooks() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let hook = recorder(dir.path(), &events);
    let _watcher = nara_on(&broker.url(), "watcher", &["--read-only", "--on-event", &hook]);
    let _joiner = nara_on(&broker.url(), "joiner", &[]);
    let events_ref = &events;
    wait_until(
        "the watcher's hook told of the join",
        Duration::from_secs(15),
        || async move { (about(events_ref, "joiner") == [("join".into(), "ONLINE".into())]).then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn a_crashed_nara_started_again_is_a_join_and_a_restart() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let hook = recorder(dir.path(), &events);
    let soul = Soul::mint("phoenix").expect("a soul is minted");
    let soul_path = dir.path().join("phoenix.soul");
    std::fs::write(&soul_path, soul.to_base58()).unwrap();
    let soul_path = soul_path.to_str().unwrap();
    let observer = nara_on(&broker.url(), "observer", &["--on-event", &hook]);
    let first = nara_on(&broker.url(), "phoenix", &["--soul-file", soul_path]);
    observer.wait_peer("phoenix", "ONLINE", Duration::from_secs(10)).await;
    first.signal("KILL");
    observer.wait_peer("phoenix", "MISSING", Duration::from_secs(15)).await;
    let _second = nara_on(&broker.url(), "phoenix", &["--soul-file", soul_path]);
    let events_ref = &events;
    wait_until("the hook told of the restart", Duration::from_secs(15), || async move {
        (about(events_ref, "phoenix").len() >= 4).then_some(())
    })
    .await;
    holds_for("no other event of phoenix", Duration::from_secs(2), || async move {
        about(events_ref, "phoenix").len() == 4
    })
    .await;
    let kinds: Vec<String> = about(&events, "phoenix").into_iter().map(|(event, _)| event).collect();
    assert_eq!(kinds, ["join", "missing", "join", "restart"]);
    let restart = recorded(&events).into_iter().find(|e| e["event"] == "restart").unwrap();
    assert_eq!(restart["peer"]["restarts"], 1, "{restart}");
    assert_eq!(restart["text"], "observer: phoenix restarted (1 restarts seen)");
}

#[tokio::test]
async fn a_rollout_is_a_version_change_naming_the_version_before() {
    const OLD: &str = "0.0.9";
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let hook = recorder(dir.path(), &events);
    let observer = nara_on(&broker.url(), "observer", &["--on-event", &hook]);
    let soul = Soul::mint("lagging").expect("randomness").to_base58();
    let release = OldRelease::start(broker.port, &soul, "lagging", OLD).await;
    let observer_ref = &observer;
    wait_until("the old release seen", Duration::from_secs(10), || async move {
        observer_ref
            .peer("lagging")
            .await
            .is_some_and(|p| p["version"] == OLD)
            .then_some(())
    })
    .await;
    // The new release takes the soul over as it starts, and the old one falls silent.
    let _new = nara_on(&broker.url(), "lagging", &["--soul", &soul]);
    drop(release);
    let events_ref = &events;
    let changed = wait_until(
        "the hook told of the new version",
        Duration::from_secs(15),
        || async move {
            recorded(events_ref)
                .into_iter()
                .find(|e| e["event"] == "version-change" && e["nara"] == "lagging")
        },
    )
    .await;
    assert_eq!(changed["previous_version"], OLD);
    assert_eq!(changed["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        changed["text"],
        format!("observer: lagging now runs {} (was {OLD})", env!("CARGO_PKG_VERSION"))
    );
    let kinds: Vec<String> = about(&events, "lagging").into_iter().map(|(event, _)| event).collect();
    assert!(
        !kinds.contains(&"restart".to_string()),
        "a rollout is no restart: {kinds:?}"
    );
}
