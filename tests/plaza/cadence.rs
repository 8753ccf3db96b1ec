//! The plaza's newspapers spread out in time, on a real broker: naras started in the
//! same second (a mass start, no announce jitter) send their newspapers at phases of
//! their own, so that no few seconds carry a large share of a minute's newspapers, and
//! a newcomer's hello resets nobody's interval.

use crate::common::broker::Mosquitto;
use crate::common::go_wire::raw_client;
use crate::common::{Running, nara_command};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Naras started together; and their base interval, which the plaza's size does not
/// stretch (12 naras at 10 a second).
const FLEET: usize = 12;
const INTERVAL_S: u64 = 20;
/// The window the issue measures in, and the most of a minute's newspapers it may hold.
const WINDOW: Duration = Duration::from_secs(3);
const MOST_IN_A_WINDOW: f64 = 0.2;

fn nara(broker: &Mosquitto, name: &str) -> Running {
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
        .args(["--plaza-announce-jitter", "0s"])
        .args(["--plaza-newspaper-interval", &format!("{INTERVAL_S}s")]);
    Running::start(command).unwrap_or_else(|e| panic!("{e}"))
}

/// The most of `times` (sorted) that fall in any one `window`.
fn most_in_a_window(times: &[Instant], window: Duration) -> usize {
    let mut most = 0;
    let mut first = 0;
    for (last, at) in times.iter().enumerate() {
        while *at - times[first] >= window {
            first += 1;
        }
        most = most.max(last + 1 - first);
    }
    most
}

#[tokio::test]
async fn after_a_mass_start_the_newspapers_spread_out() {
    let broker = Mosquitto::start();
    let (_ears, mut heard) = raw_client(broker.port, "ears", &["nara/newspaper/+"]).await;
    let names: Vec<String> = (0..FLEET).map(|i| format!("n{i:02}")).collect();
    let _fleet: Vec<Running> = names.iter().map(|name| nara(&broker, name)).collect();

    // Each says hello with a newspaper at once: the start itself is in step.
    let mut announced = BTreeSet::new();
    while announced.len() < FLEET {
        let (topic, _) = tokio::time::timeout(Duration::from_secs(20), heard.recv())
            .await
            .expect("every nara announces")
            .expect("the listener listens");
        announced.insert(topic);
    }
    // The minute after it.
    let until = Instant::now() + Duration::from_secs(60);
    let mut times = Vec::new();
    let mut by_nara: BTreeMap<String, usize> = BTreeMap::new();
    while let Ok(Some((topic, _))) = tokio::time::timeout_at(until.into(), heard.recv()).await {
        times.push(Instant::now());
        *by_nara.entry(topic).or_default() += 1;
    }
    // Every nara spoke in the minute, about once an interval (20 s, ±10 %).
    assert_eq!(by_nara.len(), FLEET, "{by_nara:?}");
    assert!(by_nara.values().all(|n| (2..=4).contains(n)), "{by_nara:?}");
    let most = most_in_a_window(&times, WINDOW);
    let share = most as f64 / times.len() as f64;
    assert!(
        share <= MOST_IN_A_WINDOW,
        "{most} of the minute's {} newspapers in one 3 s window",
        times.len()
    );
}

#[test]
fn the_window_count_is_the_most_in_any_window() {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let times = [at(0), at(1000), at(2999), at(3000), at(3100), at(9000)];
    assert_eq!(most_in_a_window(&times, WINDOW), 4, "1000, 2999, 3000 and 3100");
    assert_eq!(most_in_a_window(&[], WINDOW), 0);
}
