//! A nara whose name is not its MQTT user, under the broker ACL the Plaza chapter
//! recommends (`pattern write nara/newspaper/%u`): the broker drops its newspapers
//! without a word, so the plaza sees it ONLINE with no version. nara says why where it
//! can tell: at start (its user is not its name) and once its hey_theres come back and
//! its newspapers do not.

use crate::common::broker::Mosquitto;
use crate::common::mqtt::{Account, listener};
use crate::common::repo_files::fenced_block;
use crate::common::{Running, TestNara, nara_command, run_ok};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

/// mosquitto with the Plaza chapter's ACL as written, anonymous clients refused, and
/// its password and ACL files, which live as long as it does.
struct AclBroker {
    broker: Mosquitto,
    _files: tempfile::TempDir,
}

/// [`AclBroker`] with these accounts.
fn acl_broker(accounts: &[Account<'_>]) -> AclBroker {
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
    std::fs::write(
        &acl,
        fenced_block("docs/src/plaza.md", "text", "# /etc/mosquitto/nara.acl"),
    )
    .expect("the ACL file is written");
    let broker = Mosquitto::start_with(
        "",
        &format!(
            "allow_anonymous false\npassword_file {}\nacl_file {}",
            passwd.display(),
            acl.display()
        ),
    );
    AclBroker { broker, _files: files }
}

/// A nara named `name`, logged in as `user`, with a newspaper a second.
fn nara_as(broker: &Mosquitto, name: &str, (user, password): Account<'_>) -> Running {
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
        .args(["--mqtt-user", user])
        .args(["--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "1s"])
        .env("NARA_MQTT_PASSWORD", password);
    Running::start(command).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether `line` is a warning that contains every one of `parts`.
fn warns(line: &Value, parts: &[&str]) -> bool {
    line["level"] == "WARN"
        && line["message"]
            .as_str()
            .is_some_and(|m| parts.iter().all(|p| m.contains(p)))
}

const NOT_THE_USER: &str = "this nara runs as";
const DROPPED: &str = "the broker hands back this nara's hey_there but none of its newspapers";

#[tokio::test]
async fn a_nara_named_otherwise_than_its_user_is_told_why_its_newspapers_vanish() {
    let kitchen = ("kitchen", "kitchen-pass");
    let observer = ("observer", "observer-pass");
    let acl = acl_broker(&[kitchen, observer]);
    let broker = &acl.broker;
    let watcher = nara_as(broker, "observer", observer);
    // hall says hey_there once, and nothing else gets through: the watcher must hear it.
    watcher.wait_until_hearing(Duration::from_secs(10)).await;
    let mut hall = nara_as(broker, "hall", kitchen);
    let wait = Duration::from_secs(10);
    hall.wait_for_log("the warning at start", wait, |l| {
        warns(
            l,
            &[
                "runs as \"hall\" but logs in to the broker as \"kitchen\"",
                "pattern write nara/newspaper/%u",
                "--name kitchen",
            ],
        )
    });
    // Its hey_there gets through, its newspapers do not: the plaza sees it with no
    // version. (Awaited before the log, whose wait blocks this thread.)
    let seen = watcher.wait_peer("hall", "ONLINE", wait).await;
    assert_eq!(seen["version"], "", "{seen}");
    hall.wait_for_log("the warning that newspapers are dropped", wait, |l| {
        warns(
            l,
            &[
                DROPPED,
                "the user \"kitchen\" write nara/newspaper/hall",
                "--name kitchen",
                "topic write nara/newspaper/hall",
            ],
        )
    });
    assert_eq!(
        watcher.peer("hall").await.expect("still seen")["version"],
        "",
        "nothing else got through"
    );
}

#[tokio::test]
async fn a_nara_named_as_its_user_hears_its_newspapers_and_is_not_warned() {
    let kitchen = ("kitchen", "kitchen-pass");
    let observer = ("observer", "observer-pass");
    let acl = acl_broker(&[kitchen, observer]);
    let broker = &acl.broker;
    let mut nara = nara_as(broker, "kitchen", kitchen);
    // Five of its newspapers, as another account hears them: past the point where
    // missing echoes would have been warned of.
    let (_client, mut heard) = listener(broker.port, "counter", Some(observer), &["nara/newspaper/kitchen"]).await;
    for n in 0..5 {
        tokio::time::timeout(Duration::from_secs(10), heard.recv())
            .await
            .unwrap_or_else(|_| panic!("newspaper {n} of kitchen within 10 s"))
            .expect("the listener runs");
    }
    let log = nara.drain_log();
    let warned: Vec<&String> = log
        .iter()
        .filter(|l| l.contains(DROPPED) || l.contains(NOT_THE_USER))
        .collect();
    assert!(warned.is_empty(), "{warned:?}");
}
