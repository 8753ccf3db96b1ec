//! `nara rollout wait` and `nara peers` against a fleet on a real broker: the binary
//! as observer and as the new release, older releases played by
//! [`OldRelease`](crate::common::old_release::OldRelease) under their own souls. The
//! gate exits 0 once the fleet runs the version and no sooner, 1 at its timeout naming
//! who is behind (naras that crashed on the version among them: MISSING, they still
//! count), 2 for a bad argument and 3 when it never reached the nara; over HTTPS too.

use crate::common::broker::Mosquitto;
use crate::common::old_release::OldRelease;
use crate::common::tls::{TlsFront, make_certificates};
use crate::common::{Running, TestNara, free_port, nara_command, nara_on, wait_until};
use nara::{Soul, VERSION};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The version the older releases run.
const OLD: &str = "0.0.9";

/// How long a test gives the plaza or a gate to do what it should.
const LIMIT: Duration = Duration::from_secs(20);

/// A `nara` subcommand running as a child, its stderr read line by line as it comes.
struct Subcommand {
    child: Child,
    stderr: mpsc::Receiver<String>,
    said: Vec<String>,
}

/// How a subcommand ended.
struct Ended {
    code: i32,
    stdout: String,
    stderr: Vec<String>,
}

impl Subcommand {
    fn start(args: &[&str]) -> Subcommand {
        let mut child = nara_command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nara runs");
        let stderr = child.stderr.take().expect("stderr was piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Subcommand {
            child,
            stderr: rx,
            said: Vec::new(),
        }
    }

    /// Waits until a line on stderr contains `text`.
    async fn wait_for_line(&mut self, text: &str) {
        let what = format!("a line with {text:?} on the gate's stderr");
        let said = &mut self.said;
        let stderr = &self.stderr;
        wait_until(&what, LIMIT, || {
            said.extend(stderr.try_iter());
            let found = said.iter().any(|line| line.contains(text));
            async move { found.then_some(()) }
        })
        .await;
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().expect("the child's status").is_none()
    }

    /// Waits for it to exit, and what it printed.
    async fn ended(mut self) -> Ended {
        let child = &mut self.child;
        let status = wait_until("the subcommand to exit", LIMIT, || {
            let status = child.try_wait().expect("the child's status");
            async move { status }
        })
        .await;
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .expect("stdout was piped")
            .read_to_string(&mut stdout)
            .expect("stdout is text");
        // The reader thread ends with the process.
        let mut stderr = self.said;
        stderr.extend(self.stderr.iter());
        Ended {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }
}

/// A nara with no broker: a fleet of one.
fn alone(name: &str) -> Running {
    let mut command = nara_command();
    command.args(["--http-addr", "127.0.0.1:0", "--name", name]);
    Running::start(command).unwrap_or_else(|e| panic!("{e}"))
}

fn gate(url: &str, version: &str, min: &str, timeout: &str, extra: &[&str]) -> Subcommand {
    let mut args = vec![
        "rollout",
        "wait",
        "--url",
        url,
        "--version",
        version,
        "--min",
        min,
        "--timeout",
        timeout,
    ];
    args.extend_from_slice(extra);
    Subcommand::start(&args)
}

/// An older release of `name` under a soul of its own, seen by `observer` at [`OLD`].
struct Old {
    name: String,
    soul: String,
    release: OldRelease,
}

async fn old_release(broker: &Mosquitto, observer: &Running, name: &str) -> Old {
    let soul = Soul::mint(name).expect("randomness").to_base58();
    let release = OldRelease::start(broker.port, &soul, name, OLD).await;
    observer.wait_peer_version(name, OLD, LIMIT).await;
    Old {
        name: name.to_string(),
        soul,
        release,
    }
}

/// Replaces the older release with this binary under the same soul and name, and
/// waits until `observer` sees it on this version.
async fn upgrade(broker: &Mosquitto, observer: &Running, old: Old) -> Running {
    let Old { name, soul, release } = old;
    drop(release);
    let new = nara_on(&broker.url(), &name, &["--soul", &soul]);
    observer.wait_peer_version(&name, VERSION, LIMIT).await;
    new
}

#[tokio::test]
async fn the_gate_exits_0_as_soon_as_enough_of_the_fleet_runs_the_version() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &[]);
    let first = old_release(&broker, &observer, "first").await;
    let second = old_release(&broker, &observer, "second").await;

    let mut two_thirds = gate(&observer.base, VERSION, "66%", "60s", &[]);
    let mut all = gate(&observer.base, VERSION, "100%", "60s", &[]);
    two_thirds
        .wait_for_line(&format!("1 of 3 naras run {VERSION} (33.3%; 66% needed)"))
        .await;
    all.wait_for_line(&format!("1 of 3 naras run {VERSION} (33.3%; 100% needed)"))
        .await;
    assert!(
        two_thirds.running() && all.running(),
        "neither gate passes a fleet behind"
    );

    let _first = upgrade(&broker, &observer, first).await;
    let two_thirds = two_thirds.ended().await;
    assert_eq!(two_thirds.code, 0, "{:?}", two_thirds.stderr);
    assert_eq!(
        two_thirds.stdout.trim(),
        format!("2 of 3 naras run {VERSION} (66.7%; 66% needed)")
    );
    all.wait_for_line(&format!("2 of 3 naras run {VERSION}")).await;
    assert!(all.running(), "2 of 3 is not all");

    let _second = upgrade(&broker, &observer, second).await;
    let all = all.ended().await;
    assert_eq!(all.code, 0, "{:?}", all.stderr);
    assert_eq!(
        all.stdout.trim(),
        format!("3 of 3 naras run {VERSION} (100%; 100% needed)")
    );
}

#[tokio::test]
async fn at_its_timeout_the_gate_exits_1_naming_who_is_behind() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &[]);
    let _old = old_release(&broker, &observer, "attic").await;
    // A nara heard only by its hey_there: its version is not yet known.
    let newcomer = Soul::mint("newcomer").expect("randomness");
    let newcomer = nara::Identity::new(&newcomer, "newcomer", nara::SoulSource::File);
    let (go, _) = crate::common::go_wire::raw_client(broker.port, "newcomer", &[]).await;
    go.publish(
        nara::Kind::HeyThere.topic("newcomer"),
        rumqttc::v5::mqttbytes::QoS::AtMostOnce,
        false,
        crate::common::go_wire::hey_there(&newcomer, crate::common::go_wire::now_ns()),
    )
    .await
    .expect("queued");
    observer.wait_peer("newcomer", "ONLINE", LIMIT).await;

    let ended = gate(&observer.base, VERSION, "100%", "2s", &[]).ended().await;
    assert_eq!(ended.code, 1, "{:?}", ended.stderr);
    let last = ended.stderr.last().expect("a last line");
    assert!(
        last.starts_with(&format!(
            "nara rollout wait: timed out after 2s: 1 of 3 naras run {VERSION} (33.3%; 100% needed); behind: "
        )),
        "{last}"
    );
    assert!(last.contains(&format!("attic ({OLD})")), "{last}");
    assert!(last.contains("newcomer (version not yet known)"), "{last}");
    assert!(ended.stdout.is_empty(), "{}", ended.stdout);
}

#[tokio::test]
async fn naras_that_crash_on_the_version_go_missing_and_count_against_it() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &["--plaza-missing-after", "2s"]);
    let crashing: Vec<Running> = ["crash-a", "crash-b"]
        .iter()
        .map(|name| nara_on(&broker.url(), name, &[]))
        .collect();
    for name in ["crash-a", "crash-b"] {
        observer.wait_peer_version(name, VERSION, LIMIT).await;
    }
    let before = gate(&observer.base, VERSION, "100%", "10s", &[]).ended().await;
    assert_eq!(before.code, 0, "the whole fleet runs it: {:?}", before.stderr);

    for nara in &crashing {
        nara.signal("KILL");
    }
    for name in ["crash-a", "crash-b"] {
        observer.wait_peer(name, "MISSING", LIMIT).await;
    }
    let after = gate(&observer.base, VERSION, "50%", "2s", &[]).ended().await;
    assert_eq!(after.code, 1, "{:?}", after.stderr);
    let last = after.stderr.last().expect("a last line");
    assert!(
        last.contains(&format!("1 of 3 naras run {VERSION} (33.3%; 50% needed)")),
        "{last}"
    );
    assert!(
        last.contains(&format!("crash-a (MISSING, {VERSION})"))
            && last.contains(&format!("crash-b (MISSING, {VERSION})")),
        "{last}"
    );
    let rollout = observer.get_json("/api/rollout").await;
    assert_eq!(rollout["fleet"]["missing"], 2, "{rollout:#}");
    assert_eq!(rollout["fleet"]["behind"], 2, "{rollout:#}");
}

#[tokio::test]
async fn min_count_keeps_a_fleet_that_shrank_from_passing_by_its_share() {
    let lone = alone("lone");
    let share = gate(&lone.base, VERSION, "100%", "5s", &[]).ended().await;
    assert_eq!(share.code, 0, "{:?}", share.stderr);
    let count = gate(&lone.base, VERSION, "100%", "1s", &["--min-count", "2"])
        .ended()
        .await;
    assert_eq!(count.code, 1, "{:?}", count.stderr);
    let last = count.stderr.last().expect("a last line");
    assert!(
        last.contains(&format!(
            "1 of 1 nara runs {VERSION} (100%; 100% and at least 2 naras needed)"
        )),
        "{last}"
    );
    assert!(last.ends_with("no one is behind, but the fleet is too small"), "{last}");
}

#[tokio::test]
async fn a_nara_never_reached_is_3_and_a_bad_argument_2() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let unreachable = gate(&closed, "0.2.0", "90%", "1s", &[]).ended().await;
    assert_eq!(unreachable.code, 3, "{:?}", unreachable.stderr);
    let last = unreachable.stderr.last().expect("a last line");
    assert!(
        last.starts_with("nara rollout wait: timed out after 1s without an answer to count: cannot connect"),
        "{last}"
    );
    for (args, named) in [
        (["--version", "v0.2.0", "--min", "90%"], "--version"),
        (["--version", "0.2.0", "--min", "0%"], "--min"),
        (["--version", "0.2.0", "--min", "101"], "--min"),
    ] {
        let mut command = vec!["rollout", "wait", "--url", closed.as_str(), "--timeout", "1s"];
        command.extend_from_slice(&args);
        let ended = Subcommand::start(&command).ended().await;
        assert_eq!(ended.code, 2, "{args:?}: {:?}", ended.stderr);
        assert_eq!(ended.stderr.len(), 1, "{:?}", ended.stderr);
        assert!(ended.stderr[0].contains(named), "{:?}", ended.stderr);
    }
    let ended = gate("broker.lan:8080", "0.2.0", "90%", "1s", &[]).ended().await;
    assert_eq!(ended.code, 2, "{:?}", ended.stderr);
    assert!(
        ended.stderr[0].contains("invalid value for --url") && ended.stderr[0].contains("http://"),
        "{:?}",
        ended.stderr
    );
}

#[tokio::test]
async fn the_gate_and_the_table_reach_a_nara_behind_https() {
    let certs = tempfile::tempdir().expect("a scratch directory");
    make_certificates(certs.path());
    let nara = alone("secure");
    let front = TlsFront::start(certs.path(), nara.addr).await;
    let url = format!("https://127.0.0.1:{}", front.port);
    let trusted = |args: &[&str]| {
        let mut command = nara_command();
        command
            .args(args)
            .env("SSL_CERT_FILE", certs.path().join("ca.crt"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };
    let run = |mut command: std::process::Command| async move {
        tokio::task::spawn_blocking(move || command.output().expect("nara runs"))
            .await
            .expect("the command ran")
    };
    let output = run(trusted(&[
        "rollout",
        "wait",
        "--url",
        &url,
        "--version",
        VERSION,
        "--min",
        "100%",
        "--timeout",
        "10s",
    ]))
    .await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = run(trusted(&["peers", "--url", &url])).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("secure"));

    // Trusting only another CA, the certificate is refused.
    let other = tempfile::tempdir().expect("a scratch directory");
    make_certificates(other.path());
    let mut untrusted = nara_command();
    untrusted
        .args(["peers", "--url", &url])
        .env("SSL_CERT_FILE", other.path().join("ca.crt"));
    let output = run(untrusted).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("TLS with 127.0.0.1"), "{stderr}");
}

#[tokio::test]
async fn nara_peers_lists_the_view_as_a_table_or_json_and_filters_by_status() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &["--plaza-missing-after", "2s"]);
    let _old = old_release(&broker, &observer, "attic").await;
    let gone = nara_on(&broker.url(), "gone", &[]);
    observer.wait_peer_version("gone", VERSION, LIMIT).await;
    gone.signal("KILL");
    observer.wait_peer("gone", "MISSING", LIMIT).await;

    let table = Subcommand::start(&["peers", "--url", &observer.base]).ended().await;
    assert_eq!(table.code, 0, "{:?}", table.stderr);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", table.stdout);
    let columns = |line: &str| line.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        columns(lines[0]),
        ["NAME", "STATUS", "VERSION", "LAST", "SEEN", "RESTARTS"]
    );
    assert_eq!(columns(lines[1])[..3], ["attic", "ONLINE", OLD]);
    assert_eq!(columns(lines[2])[..3], ["gone", "MISSING", VERSION]);
    assert_eq!(columns(lines[3])[..3], ["observer", "ONLINE", VERSION]);
    assert!(lines[2].contains("s ago"), "{}", lines[2]);
    assert!(lines[2].ends_with(" 0"), "gone was never seen restarting: {}", lines[2]);
    assert_eq!(
        lines[0].find("STATUS"),
        lines[3].find("ONLINE"),
        "the columns line up:\n{}",
        table.stdout
    );

    let missing = Subcommand::start(&["peers", "--url", &observer.base, "--status", "missing", "--json"])
        .ended()
        .await;
    assert_eq!(missing.code, 0, "{:?}", missing.stderr);
    let json: serde_json::Value = serde_json::from_str(&missing.stdout).expect("JSON");
    let names: Vec<&str> = json["peers"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["gone"]);
    assert_eq!(json["peers"][0]["status"], "MISSING");

    let unknown = Subcommand::start(&["peers", "--url", &observer.base, "--status", "away"])
        .ended()
        .await;
    assert_eq!(unknown.code, 2, "{:?}", unknown.stderr);
    assert!(unknown.stderr[0].contains("--status"), "{:?}", unknown.stderr);

    let closed = format!("http://127.0.0.1:{}", free_port());
    let unreachable = Subcommand::start(&["peers", "--url", &closed]).ended().await;
    assert_eq!(unreachable.code, 3, "{:?}", unreachable.stderr);
}
