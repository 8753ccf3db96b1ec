//! `/metrics/peers` answered by the assembled server, with naras put in its view the way
//! the broker would deliver them (signed Go newspapers and chaus handed to the plaza):
//! its contract, the bound and what it keeps, label values from the plaza escaped so
//! that promtool reads the page, and `/metrics` left with no series per nara.

use crate::common::{InProcess, TestNara, go_wire};
use nara::{Identity, Soul, SoulSource};
use std::io::Write;
use std::process::{Command, Stdio};

/// A nara named `name` sends its newspaper, saying it runs `version` (as JSON writes
/// it: escapes stay escaped here), to the nara served by `server`.
fn speaks(server: &InProcess, name: &str, version: &str) -> Identity {
    let identity = Identity::new(
        &Soul::mint(name).expect("the system has randomness"),
        name,
        SoulSource::Ephemeral,
    );
    let paper = go_wire::signed_newspaper(&identity, version, 3600);
    server
        .app
        .plaza
        .receive(&format!("nara/newspaper/{name}"), paper.as_bytes())
        .unwrap_or_else(|e| panic!("{name}'s newspaper was refused: {e}"));
    identity
}

/// `identity` says chau to the nara served by `server`.
fn leaves(server: &InProcess, identity: &Identity) {
    let chau = go_wire::chau(identity, go_wire::now_ns());
    server
        .app
        .plaza
        .receive("nara/plaza/chau", chau.as_bytes())
        .unwrap_or_else(|e| panic!("{}'s chau was refused: {e}", identity.name));
}

/// The names given series of their own on a page.
fn exported(page: &str) -> Vec<String> {
    page.lines()
        .filter_map(|l| l.strip_prefix("nara_online{name=\""))
        .filter_map(|l| l.split('"').next())
        .map(String::from)
        .collect()
}

/// The value of the page's line for `series` (name and labels), if there is one.
fn value(page: &str, series: &str) -> Option<u64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

fn promtool_check(text: &str) -> std::process::Output {
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian package prometheus; `make bootstrap` installs it)");
    promtool
        .stdin
        .take()
        .expect("stdin was piped")
        .write_all(text.as_bytes())
        .expect("promtool reads the page");
    promtool.wait_with_output().expect("promtool ends")
}

#[tokio::test]
async fn a_go_nara_on_the_fleet_page_has_its_version_uptime_and_last_seen() {
    let server = InProcess::start().await;
    speaks(&server, "kitchen", "0.2.0");
    let page = server.get_text("/metrics/peers").await;
    assert_eq!(
        value(
            &page,
            r#"nara_peer_info{name="kitchen",version="0.2.0",revision="",status="ONLINE"}"#
        ),
        Some(1),
        "a Go nara sends no revision:\n{page}"
    );
    assert_eq!(value(&page, r#"nara_online{name="kitchen"}"#), Some(1));
    assert_eq!(value(&page, r#"nara_uptime_seconds{name="kitchen"}"#), Some(3600));
    assert!(value(&page, r#"nara_last_seen{name="kitchen"}"#).is_some_and(|t| t > 1_700_000_000));
    assert_eq!(
        value(&page, r#"nara_peers_by_version{version="0.2.0",status="ONLINE"}"#),
        Some(1)
    );
    assert_eq!(value(&page, "nara_peers_left_out"), Some(0));
    assert_eq!(
        value(&page, "nara_peers_observer_connected"),
        Some(0),
        "no broker here: {page}"
    );
}

#[tokio::test]
async fn past_the_bound_an_offline_nara_keeps_its_series_and_the_others_are_counted() {
    let server = InProcess::start_args(&["--metrics-max-peers", "2"]).await;
    for name in ["alpha", "bravo", "charlie"] {
        speaks(&server, name, "1.0.0");
    }
    let zulu = speaks(&server, "zulu", "0.9.0");
    leaves(&server, &zulu);
    let page = server.get_text("/metrics/peers").await;
    // Five naras with this one: zulu (OFFLINE) first, then the first ONLINE by name.
    assert_eq!(exported(&page), ["alpha", "zulu"], "{page}");
    assert_eq!(value(&page, r#"nara_online{name="zulu"}"#), Some(0));
    assert_eq!(value(&page, "nara_peers_left_out"), Some(3), "{page}");
    assert_eq!(
        value(&page, r#"nara_peers_by_version{version="1.0.0",status="ONLINE"}"#),
        Some(3),
        "the counts cover every nara, exported or not:\n{page}"
    );
    assert_eq!(
        value(&page, r#"nara_peers_by_version{version="0.9.0",status="OFFLINE"}"#),
        Some(1)
    );

    let none = InProcess::start_args(&["--metrics-max-peers", "0"]).await;
    speaks(&none, "alpha", "1.0.0");
    let page = none.get_text("/metrics/peers").await;
    assert!(exported(&page).is_empty(), "{page}");
    assert_eq!(value(&page, "nara_peers_left_out"), Some(2));
}

#[tokio::test]
async fn a_version_from_the_plaza_is_escaped_and_promtool_reads_the_page() {
    let server = InProcess::start().await;
    // As JSON carries it; the nara's version is: 1.0 "odd" back\slash
    speaks(&server, "odd", r#"1.0 \"odd\" back\\slash"#);
    speaks(&server, "plain", "1.0.0");
    let page = server.get_text("/metrics/peers").await;
    assert!(
        page.contains(r#"nara_peer_info{name="odd",version="1.0 \"odd\" back\\slash",revision="",status="ONLINE"} 1"#),
        "{page}"
    );
    let output = promtool_check(&page);
    assert!(
        output.status.success(),
        "promtool rejected /metrics/peers:\n{}{}\n{page}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn metrics_carry_no_series_per_nara() {
    let server = InProcess::start().await;
    speaks(&server, "first", "1.0.0");
    // Every series that one nara and one scrape bring is there now.
    server.get_text("/metrics").await;
    let before = server.get_text("/metrics").await;
    let names: Vec<String> = (0..20).map(|i| format!("quiet-{i:02}")).collect();
    for name in &names {
        speaks(&server, name, "1.0.0");
    }
    let after = server.get_text("/metrics").await;
    for name in &names {
        assert!(!after.contains(name.as_str()), "/metrics names {name}:\n{after}");
    }
    assert!(!after.contains("name=\""), "/metrics has a series per nara:\n{after}");
    let series = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series.to_string()))
            .collect()
    };
    assert_eq!(
        series(&before),
        series(&after),
        "20 more naras change values on /metrics, not its series"
    );
}
