//! The state directory with real nara processes on a real broker (mosquitto on
//! loopback): an observer stopped (SIGTERM) or killed (SIGKILL) and started again on
//! the same `--state-dir` keeps what it knew (first seen, the rollout timeline, key
//! pins, the replay anchors that keep a recording out); an unusable file costs a
//! warning and a fresh view; two processes on one directory never both write; a file
//! past the byte bound is not read.

use crate::common::broker::Mosquitto;
use crate::common::go_wire::{self, now_ns, raw_client};
use crate::common::{Running, TestNara, holds_for, nara_command, nara_on, wait_until};
use nara::{Fingerprint, Identity, Soul, SoulSource};
use rumqttc::v5::AsyncClient;
use rumqttc::v5::mqttbytes::QoS;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A Go nara's identity for `name`, from the hardware `hardware`.
fn go_identity(name: &str, hardware: &str) -> Identity {
    let fingerprint = Fingerprint(Sha256::digest(format!("test-hardware-{hardware}")).into());
    Identity::new(&Soul::native(&fingerprint, name), name, SoulSource::Native)
}

async fn send(client: &AsyncClient, topic: &str, payload: String) {
    client
        .publish(topic, QoS::AtLeastOnce, false, payload)
        .await
        .expect("the publish is queued");
}

fn now_s() -> u64 {
    u64::try_from(now_ns()).expect("after 1970") / 1_000_000_000
}

/// The observer's soul in a file, as an operator keeps one across restarts.
fn soul_file(dir: &Path) -> PathBuf {
    let path = dir.join("observer.soul");
    let soul = Soul::mint("observer").expect("a soul is minted");
    std::fs::write(&path, soul.to_base58()).expect("the soul file is written");
    path
}

/// The observer on `broker`, keeping its view in `state`.
fn observer(broker: &Mosquitto, soul: &Path, state: &Path, extra: &[&str]) -> Running {
    let mut args = vec![
        "--soul-file",
        soul.to_str().expect("a UTF-8 path"),
        "--state-dir",
        state.to_str().expect("a UTF-8 path"),
    ];
    args.extend_from_slice(extra);
    nara_on(&broker.url(), "observer", &args)
}

/// What a restart must not change of a peer.
fn remembered(peer: &Value) -> Value {
    serde_json::json!({
        "public_key": peer["public_key"],
        "version": peer["version"],
        "version_history": peer["version_history"],
        "first_seen": peer["first_seen"],
    })
}

#[tokio::test]
async fn an_observer_restarted_mid_rollout_keeps_the_timeline_and_a_pinned_name_stays_pinned() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let soul = soul_file(dir.path());
    let state = dir.path().join("state");
    let mut first = observer(&broker, &soul, &state, &[]);
    first.wait_for_plaza(true, Duration::from_secs(10)).await;
    // A rollout of two Go naras from 0.1.0 to 0.2.0, half done: dave is upgraded,
    // erin is not.
    let dave = go_identity("dave", "dave");
    let erin = go_identity("erin", "erin");
    let (go, _) = raw_client(broker.port, "go", &[]).await;
    let booted = now_s() - 5_000;
    send(
        &go,
        "nara/newspaper/dave",
        go_wire::signed_newspaper(&dave, "0.1.0", now_s() - booted),
    )
    .await;
    send(
        &go,
        "nara/newspaper/erin",
        go_wire::signed_newspaper(&erin, "0.1.0", now_s() - booted),
    )
    .await;
    first.wait_peer_version("erin", "0.1.0", Duration::from_secs(10)).await;
    first.wait_peer_version("dave", "0.1.0", Duration::from_secs(10)).await;
    // Its uptime grew, as a later newspaper's does even within the second.
    send(
        &go,
        "nara/newspaper/dave",
        go_wire::signed_newspaper(&dave, "0.2.0", now_s() - booted + 1),
    )
    .await;
    let dave_before = first.wait_peer_version("dave", "0.2.0", Duration::from_secs(10)).await;
    assert_eq!(
        dave_before["version_history"].as_array().map(Vec::len),
        Some(1),
        "{dave_before}"
    );
    let erin_before = first.peer("erin").await.unwrap();
    let rollout_before = first.get_json("/api/rollout?target=0.2.0").await;

    // The observer is upgraded by the rollout: stopped, started again.
    first.signal("TERM");
    assert_eq!(first.wait_exit(Duration::from_secs(10)).code(), Some(0));
    let mut second = observer(&broker, &soul, &state, &[]);
    second.wait_for_log("the view restored", Duration::from_secs(5), |line| {
        line["message"] == "restored the view saved in the state directory" && line["naras"] == 2
    });
    let dave_after = second.peer("dave").await.expect("dave is still known");
    let erin_after = second.peer("erin").await.expect("erin is still known");
    assert_eq!(remembered(&dave_after), remembered(&dave_before));
    assert_eq!(remembered(&erin_after), remembered(&erin_before));
    let rollout_after = second.get_json("/api/rollout?target=0.2.0").await;
    assert_eq!(rollout_after["behind"], rollout_before["behind"], "{rollout_after}");

    // Another key speaking first as dave after the restart is refused: the pin held.
    let impostor = go_identity("dave", "impostor");
    send(
        &go,
        "nara/newspaper/dave",
        go_wire::signed_newspaper(&impostor, "6.6.6", 1),
    )
    .await;
    second.wait_counted("newspaper", "key_mismatch").await;
    assert_eq!(
        second.peer("dave").await.unwrap()["public_key"],
        dave_before["public_key"]
    );
}

#[tokio::test]
async fn a_recording_that_locks_out_a_go_nara_after_a_restart_without_state_is_refused_with_it() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let soul = soul_file(dir.path());
    let state = dir.path().join("state");
    let mut first = observer(&broker, &soul, &state, &["--plaza-missing-after", "60s"]);
    first.wait_for_plaza(true, Duration::from_secs(10)).await;
    let vera = go_identity("vera", "vera");
    let (go, _) = raw_client(broker.port, "go-vera", &[]).await;
    // vera's host has been up 12,000 s; this newspaper is what an attacker records.
    let recording = go_wire::signed_newspaper(&vera, "0.1.0", 12_000);
    send(&go, "nara/newspaper/vera", recording.clone()).await;
    first.wait_peer_version("vera", "0.1.0", Duration::from_secs(10)).await;
    // Her host reboots (after the recording) and her nara says hello again.
    let rebooted = now_s() + 2;
    send(&go, "nara/plaza/hey_there", go_wire::hey_there(&vera, now_ns())).await;
    let genuine =
        move || go_wire::signed_newspaper(&go_identity("vera", "vera"), "0.2.0", now_s().saturating_sub(rebooted));
    let speaking = {
        let go = go.clone();
        tokio::spawn(async move {
            loop {
                send(&go, "nara/newspaper/vera", genuine()).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    first.wait_peer_version("vera", "0.2.0", Duration::from_secs(15)).await;
    speaking.abort();

    first.signal("TERM");
    assert_eq!(first.wait_exit(Duration::from_secs(10)).code(), Some(0));
    let second = observer(&broker, &soul, &state, &["--plaza-missing-after", "60s"]);
    // Beside it, an observer restarted without state: what the recording does to it.
    let forgetful = nara_on(&broker.url(), "forgetful", &["--plaza-missing-after", "60s"]);
    second.wait_for_plaza(true, Duration::from_secs(10)).await;
    forgetful.wait_for_plaza(true, Duration::from_secs(10)).await;
    let (attacker, _) = raw_client(broker.port, "attacker", &[]).await;
    send(&attacker, "nara/newspaper/vera", recording).await;
    second.wait_counted("newspaper", "replayed").await;
    forgetful
        .wait_peer_version("vera", "0.1.0", Duration::from_secs(10))
        .await;
    // vera speaks on: the observer with state believes her, the other is locked out.
    let speaking = tokio::spawn(async move {
        loop {
            send(&go, "nara/newspaper/vera", genuine()).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    second.wait_peer_version("vera", "0.2.0", Duration::from_secs(10)).await;
    holds_for(
        "the recording to keep vera out without state",
        Duration::from_secs(3),
        || async {
            forgetful.peer("vera").await.is_some_and(|p| p["version"] == "0.1.0")
                && second.peer("vera").await.is_some_and(|p| p["version"] == "0.2.0")
        },
    )
    .await;
    speaking.abort();
}

#[tokio::test]
async fn after_a_sigkill_the_observer_keeps_what_it_saved_before() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let soul = soul_file(dir.path());
    let state = dir.path().join("state");
    let mut first = observer(&broker, &soul, &state, &["--state-save-interval", "1s"]);
    first.wait_for_plaza(true, Duration::from_secs(10)).await;
    let dave = go_identity("dave", "dave");
    let (go, _) = raw_client(broker.port, "go", &[]).await;
    send(
        &go,
        "nara/newspaper/dave",
        go_wire::signed_newspaper(&dave, "0.1.0", 100),
    )
    .await;
    let before = first.wait_peer_version("dave", "0.1.0", Duration::from_secs(10)).await;
    // One save period later, dave is on disk.
    let file = state.join("view.json");
    wait_until("dave to be saved", Duration::from_secs(10), || async {
        std::fs::read_to_string(&file)
            .ok()
            .filter(|text| text.contains("\"dave\""))
    })
    .await;
    assert!(first.metric("nara_state_saves_total{result=\"written\"}").await >= 1);
    first.signal("KILL");
    first.wait_exit(Duration::from_secs(5));
    let second = observer(&broker, &soul, &state, &[]);
    let after = second.peer("dave").await.expect("dave is still known");
    assert_eq!(remembered(&after), remembered(&before));
}

/// A nara without a broker, keeping its view in `state`.
fn alone(soul: &Path, state: &Path, extra: &[&str]) -> Running {
    let mut command = nara_command();
    command
        .args(["--http-addr", "127.0.0.1:0", "--name", "observer", "--soul-file"])
        .arg(soul)
        .arg("--state-dir")
        .arg(state)
        .args(extra);
    Running::start(command).unwrap_or_else(|e| panic!("{e}"))
}

/// Starts a nara on a state directory holding `text`, and returns the warning it logs
/// and what the file was set aside as.
fn start_on_file(text: &str, extra: &[&str]) -> (Value, Vec<String>) {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let soul = soul_file(dir.path());
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("the state directory is made");
    std::fs::write(state.join("view.json"), text).expect("the file is written");
    let mut nara = alone(&soul, &state, extra);
    let warning = nara.wait_for_log("the warning", Duration::from_secs(5), |line| {
        line["level"] == "WARN" && line["message"].as_str().is_some_and(|m| m.contains("cannot be used"))
    });
    assert_eq!(warning["file"], state.join("view.json").to_str().expect("a UTF-8 path"));
    nara.signal("TERM");
    assert_eq!(nara.wait_exit(Duration::from_secs(10)).code(), Some(0));
    let mut files: Vec<String> = std::fs::read_dir(&state)
        .expect("the state directory lists")
        .map(|e| {
            e.expect("the state directory lists")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    // The fresh view was saved at shutdown beside the file set aside.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("view.json")).expect("a file was saved"))
            .expect("the saved file is JSON");
    assert_eq!(saved["name"], "observer");
    (warning, files)
}

#[test]
fn a_corrupt_foreign_or_newer_file_costs_a_warning_and_a_fresh_view_and_is_set_aside() {
    let (warning, files) = start_on_file("{\"format\":1,\"peers\":[", &[]);
    assert!(
        warning["message"].as_str().unwrap().contains("not a saved view"),
        "{warning}"
    );
    assert_eq!(files, ["lock", "view.json", "view.json.corrupt"]);
    let foreign = r#"{"format":1,"id":"0123","name":"kitchen","peers":[],"departed":[]}"#;
    let (warning, files) = start_on_file(foreign, &[]);
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("another nara (\"kitchen\""),
        "{warning}"
    );
    assert_eq!(files, ["lock", "view.json", "view.json.foreign"]);
    let (warning, files) = start_on_file(r#"{"format":99,"everything":"else"}"#, &[]);
    assert!(
        warning["message"].as_str().unwrap().contains("format 99, newer"),
        "{warning}"
    );
    assert_eq!(files, ["lock", "view.json", "view.json.newer"]);
}

#[test]
fn a_file_past_the_byte_bound_is_not_read() {
    // At 10 naras the bound is 4,096 + 20 × 2,049 = 45,076 bytes.
    let padded = format!("{{\"format\":1,\"pad\":\"{}\"}}", "x".repeat(45_076));
    let (warning, files) = start_on_file(&padded, &["--plaza-max-peers", "10"]);
    let message = warning["message"].as_str().unwrap();
    assert!(message.contains("more than the 45076 bytes"), "{message}");
    assert_eq!(files, ["lock", "view.json", "view.json.too-large"]);
}

#[test]
fn a_second_process_on_the_same_directory_reads_but_never_writes() {
    let dir = tempfile::tempdir().unwrap();
    let soul = soul_file(dir.path());
    let state = dir.path().join("state");
    let mut writer = alone(&soul, &state, &[]);
    let mut canary = alone(&soul, &state, &[]);
    canary.wait_for_log("the canary's warning", Duration::from_secs(5), |line| {
        line["level"] == "WARN"
            && line["message"]
                .as_str()
                .is_some_and(|m| m.contains("another process holds the state directory's lock"))
    });
    canary.signal("TERM");
    assert_eq!(canary.wait_exit(Duration::from_secs(10)).code(), Some(0));
    assert!(
        !canary.drain_log().iter().any(|l| l.contains("saved the view")),
        "the canary saved"
    );
    assert!(!state.join("view.json").exists(), "nothing written yet");
    writer.signal("TERM");
    assert_eq!(writer.wait_exit(Duration::from_secs(10)).code(), Some(0));
    assert!(writer.drain_log().iter().any(|l| l.contains("saved the view")));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(state.join("view.json")).unwrap()).unwrap();
    assert_eq!(saved["format"], 1);
}
