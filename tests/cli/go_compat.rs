//! A Go nara's command line and environment start this nara as the same nara: its
//! flags and variables are read, its soul gives its ID and key, and its flags for parts
//! this nara lacks are named in a warning instead of stopping it.

use crate::common::broker::Mosquitto;
use crate::common::{Running, TestNara, go_wire, holds_for, nara_command, nara_on, wait_until};
use std::time::Duration;

/// The Go test fixture's soul for `test-nara`, with its ID and public key.
const GO_SOUL: &str = "C8GnyXApZYSStetZTdEqvb4ZqBvqG9Ez1QF5jtb2PmpFMxkLrWQXJf2";
const GO_ID: &str = "GZfbdZZsjKdUsG5adTRA48FSUCGgTDPZBefXHJtB7hKz";
const GO_PUBLIC_KEY: &str = "2YN8QzQNg4J7fTmwD0okZcw2GaOkiPfSCrvAMTnVsDA=";

#[tokio::test]
async fn a_go_naras_command_line_starts_the_same_nara_on_the_same_broker() {
    let broker = Mosquitto::start();
    // A Go nara on the same broker would hear these.
    let (_go, mut heard) = go_wire::raw_client(
        broker.port,
        "go-nara",
        &["nara/plaza/hey_there", "nara/newspaper/test-nara"],
    )
    .await;
    let mut command = nara_command();
    command
        .args(["-nara-id", "test-nara", "-soul", GO_SOUL])
        .arg(format!("-mqtt-host=tcp://127.0.0.1:{}", broker.port))
        .args([
            "-http-addr",
            "127.0.0.1:0",
            "-serve-ui",
            "-no-mesh",
            "-show-neighbours=false",
        ])
        .args([
            "-refresh-rate",
            "600",
            "-force-chattiness",
            "-1",
            "-transport",
            "hybrid",
        ])
        .args(["-public-url", "https://kitchen.example.org/"])
        .env("MQTT_USER", "kitchen");
    let mut nara = Running::start(command).unwrap_or_else(|e| panic!("{e}"));
    let status = nara.get_json("/api/status").await;
    assert_eq!(status["name"], "test-nara");
    assert_eq!(status["id"], GO_ID, "{status}");
    assert_eq!(status["public_key"], GO_PUBLIC_KEY);
    assert_eq!(status["bonded"], true);
    assert_eq!(status["plaza"]["public_url"], "https://kitchen.example.org/");
    let log = nara.drain_log().join("\n");
    // Named as the Go unit's command line spells them, with one dash.
    for ignored in [
        "-no-mesh",
        "-show-neighbours",
        "-refresh-rate",
        "-force-chattiness",
        "-transport",
    ] {
        assert!(log.contains(ignored), "the warning does not name {ignored}:\n{log}");
        assert!(!log.contains(&format!("-{ignored}")), "{ignored} is respelled:\n{log}");
    }
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(10), heard.recv())
            .await
            .expect("the Go command line's nara speaks on the broker within 10 s")
            .expect("the listener runs")
    };
    let (topic, hello) = next().await;
    assert_eq!(topic, "nara/plaza/hey_there");
    let hello = go_wire::verify_event(&hello).unwrap_or_else(|e| panic!("{e}: {hello}"));
    assert_eq!(hello["hey_there"]["From"], "test-nara");
    assert_eq!(hello["hey_there"]["PublicKey"], GO_PUBLIC_KEY);
    let (topic, paper) = next().await;
    assert_eq!(topic, "nara/newspaper/test-nara");
    let status = go_wire::verify_newspaper(&paper).unwrap_or_else(|e| panic!("{e}: {paper}"));
    assert_eq!(status["ID"], GO_ID);
    assert_eq!(status["PublicUrl"], "https://kitchen.example.org/");
    assert_eq!(nara.get_json("/api/status").await["plaza"]["connected"], true);
}

#[tokio::test]
async fn the_go_naras_variables_are_read_and_ours_win_when_both_are_set() {
    let broker = Mosquitto::start();
    let mut command = nara_command();
    command
        .env("HTTP_ADDR", "127.0.0.1:0")
        .env("NARA_ID", "go-name")
        .env("NARA_NAME", "our-name")
        .env("MQTT_HOST", format!("tcp://127.0.0.1:{}", broker.port))
        .env("NARA_SOUL", GO_SOUL);
    let nara = Running::start(command).unwrap_or_else(|e| panic!("{e}"));
    let status = nara.get_json("/api/status").await;
    assert_eq!(status["name"], "our-name");
    assert_eq!(status["bonded"], false, "the soul was minted for test-nara");
    assert_eq!(status["public_key"], GO_PUBLIC_KEY, "the key comes from the soul alone");
    assert_eq!(status["plaza"]["broker"], format!("mqtt://127.0.0.1:{}", broker.port));
}

#[test]
fn a_password_on_the_command_line_works_but_warns() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = nara_command()
        .args(["check-config", "--mqtt-url", "mqtt://b", "-mqtt-pass", "hunter2"])
        .current_dir(dir.path())
        .output()
        .expect("nara runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("mqtt_password") && !stdout.contains("hunter2"),
        "{stdout}"
    );
    let start = Running::start({
        let mut command = nara_command();
        command.args([
            "--http-addr",
            "127.0.0.1:0",
            "--mqtt-url",
            "mqtt://127.0.0.1:1",
            "-mqtt-pass",
            "hunter2",
        ]);
        command
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let mut start = start;
    let log = start.drain_log().join("\n");
    assert!(log.contains("--mqtt-pass") && log.contains("ps"), "{log}");
    assert!(!log.contains("hunter2"), "{log}");
}

#[test]
fn an_unparsable_soul_stops_nara_naming_its_source_never_the_soul() {
    let output = nara_command()
        .args(["-soul", "not-a-soul-0OIl"])
        .output()
        .expect("nara runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--soul") && !stderr.contains("not-a-soul-0OIl"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_read_only_nara_sees_the_plaza_and_is_never_seen() {
    let broker = Mosquitto::start();
    let speaker = nara_on(&broker.url(), "speaker", &[]);
    let watcher = nara_on(&broker.url(), "watcher", &["-read-only"]);
    wait_until("the watcher sees the speaker", Duration::from_secs(10), || async {
        watcher
            .peer_names()
            .await
            .contains(&"speaker".to_string())
            .then_some(())
    })
    .await;
    // Three of the speaker's newspaper intervals: the watcher would have announced
    // itself by now were it not read-only.
    holds_for("the speaker sees itself alone", Duration::from_secs(3), || async {
        speaker.peer_names().await == ["speaker"]
    })
    .await;
    let status = watcher.get_json("/api/status").await;
    assert_eq!(status["plaza"]["read_only"], true);
    assert_eq!(
        status["plaza"]["role"]["role"], "standby",
        "a watcher speaks for nobody"
    );
}
