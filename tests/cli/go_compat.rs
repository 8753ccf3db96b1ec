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
    assert!(
        log.contains("`nara peers --url http://HOST:PORT` prints the neighbours"),
        "the warning says what took -show-neighbours' place:\n{log}"
    );
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
    // Named as typed: the Go unit's single-dash flag.
    assert!(
        log.contains("-mqtt-pass puts the broker password on the command line, where `ps` shows it")
            && !log.contains("--mqtt-pass puts"),
        "{log}"
    );
    assert!(!log.contains("hunter2"), "{log}");
}

/// `nara check-config` with `args`: its exit status, stdout and stderr.
fn check_config(args: &[&str]) -> (i32, String, String) {
    let output = nara_command()
        .arg("check-config")
        .args(args)
        .output()
        .expect("nara runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The line `nara check-config` printed for `key`.
fn line<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no line for {key} in:\n{stdout}"))
}

#[test]
fn check_config_names_each_go_flag_as_it_was_typed() {
    let (code, stdout, stderr) = check_config(&[
        "-nara-id",
        "kitchen",
        "-mqtt-host=mqtt://broker",
        "-mqtt-pass",
        "hunter2",
        "-http-addr",
        ":9000",
        "-verbose",
        "--mqtt-user",
        "kitchen",
    ]);
    assert_eq!(code, 0, "{stderr}");
    for (key, source) in [
        ("name", "(-nara-id)"),
        ("mqtt_url", "(-mqtt-host)"),
        ("mqtt_password", "(-mqtt-pass)"),
        ("http_addr", "(-http-addr)"),
        ("log_level", "(-verbose)"),
        ("mqtt_user", "(--mqtt-user)"),
    ] {
        assert!(
            line(&stdout, key).ends_with(source),
            "{key} not from {source}:\n{stdout}"
        );
    }
    assert!(!stdout.contains("hunter2"), "{stdout}");
    // A bad value names the flag as typed too.
    let (code, _, stderr) = check_config(&["-nara-id", "no spaces"]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("nara: invalid value \"no spaces\" for -nara-id: "),
        "{stderr}"
    );
}

#[test]
fn switches_take_the_go_flag_packages_boolean_values() {
    for (value, read_only) in [
        ("true", "true"),
        ("TRUE", "true"),
        ("True", "true"),
        ("t", "true"),
        ("T", "true"),
        ("1", "true"),
        ("false", "false"),
        ("FALSE", "false"),
        ("False", "false"),
        ("f", "false"),
        ("F", "false"),
        ("0", "false"),
    ] {
        for flag in ["-read-only", "--read-only"] {
            let (code, stdout, stderr) = check_config(&[&format!("{flag}={value}")]);
            assert_eq!(code, 0, "{flag}={value}: {stderr}");
            let line = line(&stdout, "read_only");
            assert!(
                line.contains(&format!("\"{read_only}\"")) && line.ends_with(&format!("({flag})")),
                "{flag}={value}: {line}"
            );
        }
    }
    let (code, stdout, stderr) = check_config(&["-verbose=false", "-vv=0"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        line(&stdout, "log_level").contains("\"info\""),
        "switched off: {stdout}"
    );
}

#[test]
fn a_switch_with_a_value_go_would_refuse_exits_2_naming_the_flag_as_typed() {
    for (arg, typed, value) in [
        ("-read-only=maybe", "-read-only", "maybe"),
        ("--serve-ui=yes", "--serve-ui", "yes"),
        ("-verbose=", "-verbose", ""),
    ] {
        let output = nara_command().arg(arg).output().expect("nara runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{arg}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "nara: invalid value {value:?} for {typed}: expected true or false (or 1/0, t/f, as the Go nara's \
                 flags take them)"
            ),
            "{arg}"
        );
    }
}

#[tokio::test]
async fn a_go_command_line_with_boolean_values_starts_and_still_serves_the_ui() {
    let broker = Mosquitto::start();
    let mut command = nara_command();
    command
        .args(["-nara-id", "go-bools", "-http-addr", "127.0.0.1:0"])
        .arg(format!("-mqtt-host=tcp://127.0.0.1:{}", broker.port))
        .args(["-serve-ui=false", "-read-only=true", "-verbose=true"]);
    let mut nara = Running::start(command).unwrap_or_else(|e| panic!("{e}"));
    let ui = crate::common::client()
        .get(nara.url("/"))
        .send()
        .await
        .expect("the UI answers");
    assert_eq!(ui.status(), 200, "-serve-ui=false is accepted and the UI still served");
    assert!(ui.text().await.expect("a page").contains("<html"), "the UI's page");
    let status = nara.get_json("/api/status").await;
    assert_eq!(status["name"], "go-bools");
    assert_eq!(status["plaza"]["read_only"], true, "{status}");
    nara.wait_for_log("a debug line (-verbose=true)", Duration::from_secs(10), |line| {
        line["level"] == "DEBUG"
    });
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
        stderr.contains("invalid soul in -soul:") && !stderr.contains("not-a-soul-0OIl"),
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
