//! `/metrics/peers` of naras on a real broker: a nara's series appear when it joins,
//! follow it OFFLINE, and are gone once it is forgotten; past `--metrics-max-peers`, a
//! nara gone MISSING is the one that keeps its series.

use crate::common::broker::Mosquitto;
use crate::common::{Running, TestNara, nara_on, wait_until};
use std::time::Duration;

/// The value of the page's line for `series` (name and labels), if there is one.
fn value(page: &str, series: &str) -> Option<u64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

/// The names given series of their own on a page.
fn exported(page: &str) -> Vec<String> {
    page.lines()
        .filter_map(|l| l.strip_prefix("nara_online{name=\""))
        .filter_map(|l| l.split('"').next())
        .map(String::from)
        .collect()
}

/// `nara_peer_info` of a nara running this build, as `status`.
fn info(name: &str, status: &str) -> String {
    format!(
        r#"nara_peer_info{{name="{name}",version="{}",revision="{}",status="{status}"}}"#,
        nara::VERSION,
        nara::REVISION
    )
}

/// Waits until `observer`'s page answers `Some` to `look`, and returns what it answered.
async fn wait_for_page<T>(observer: &Running, what: &str, look: impl Fn(&str) -> Option<T>) -> T {
    wait_until(what, Duration::from_secs(10), || async {
        look(&observer.get_text("/metrics/peers").await)
    })
    .await
}

#[tokio::test]
async fn a_naras_series_appear_when_it_joins_and_are_gone_once_it_is_forgotten() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &["--plaza-forget-after", "2s"]);
    let mut visitor = nara_on(&broker.url(), "visitor", &[]);
    let joined = wait_for_page(&observer, "the visitor's series, ONLINE", |page| {
        (value(page, &info("visitor", "ONLINE")) == Some(1)).then(|| page.to_string())
    })
    .await;
    assert_eq!(value(&joined, r#"nara_online{name="visitor"}"#), Some(1), "{joined}");
    assert!(value(&joined, r#"nara_uptime_seconds{name="visitor"}"#).is_some_and(|s| s > 0));
    assert_eq!(
        value(
            &joined,
            &format!(
                r#"nara_peers_by_version{{version="{}",status="ONLINE"}}"#,
                nara::VERSION
            )
        ),
        Some(2),
        "{joined}"
    );
    assert_eq!(value(&joined, "nara_peers_observer_connected"), Some(1));
    assert_eq!(
        value(&joined, r#"nara_restarts_total{name="visitor"}"#),
        Some(0),
        "a counter from 0, so the first restart is an increase:\n{joined}"
    );
    assert_eq!(value(&joined, r#"nara_last_restart{name="visitor"}"#), None);

    visitor.signal("TERM");
    assert_eq!(visitor.wait_exit(Duration::from_secs(5)).code(), Some(0));
    let left = wait_for_page(&observer, "the visitor's series, OFFLINE", |page| {
        (value(page, &info("visitor", "OFFLINE")) == Some(1)).then(|| page.to_string())
    })
    .await;
    assert_eq!(value(&left, r#"nara_online{name="visitor"}"#), Some(0), "{left}");
    assert_eq!(
        value(&left, &info("visitor", "ONLINE")),
        None,
        "the ONLINE series ended with the change:\n{left}"
    );

    let forgotten = wait_for_page(&observer, "no series naming the visitor", |page| {
        (!page.contains(r#"name="visitor""#)).then(|| page.to_string())
    })
    .await;
    assert_eq!(exported(&forgotten), ["observer"], "{forgotten}");
    assert_eq!(
        value(
            &forgotten,
            &format!(
                r#"nara_peers_by_version{{version="{}",status="OFFLINE"}}"#,
                nara::VERSION
            )
        ),
        None,
        "no count is left for a status no nara has:\n{forgotten}"
    );
}

#[tokio::test]
async fn past_the_bound_a_missing_nara_is_the_one_that_keeps_its_series() {
    let broker = Mosquitto::start();
    let observer = nara_on(
        &broker.url(),
        "observer",
        &["--metrics-max-peers", "1", "--plaza-missing-after", "2s"],
    );
    let _alpha = nara_on(&broker.url(), "alpha", &[]);
    let doomed = nara_on(&broker.url(), "doomed", &[]);
    observer.wait_peer("alpha", "ONLINE", Duration::from_secs(10)).await;
    observer.wait_peer("doomed", "ONLINE", Duration::from_secs(10)).await;
    let page = observer.get_text("/metrics/peers").await;
    assert_eq!(
        exported(&page),
        ["alpha"],
        "the first by name while all are ONLINE:\n{page}"
    );
    assert_eq!(value(&page, "nara_peers_left_out"), Some(2), "{page}");

    doomed.signal("KILL");
    let page = wait_for_page(&observer, "doomed's series, MISSING", |page| {
        (value(page, &info("doomed", "MISSING")) == Some(1)).then(|| page.to_string())
    })
    .await;
    assert_eq!(exported(&page), ["doomed"], "{page}");
    assert_eq!(value(&page, "nara_peers_left_out"), Some(2), "{page}");
}
