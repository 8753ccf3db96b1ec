//! First contact on a real broker: a nara that joins sees the naras already there
//! within a couple of seconds, because the broker holds each one's newspaper for
//! newcomers, instead of waiting for their next scheduled one (up to a whole interval).

use crate::common::broker::Mosquitto;
use crate::common::{Running, TestNara, nara_command, wait_until};
use std::time::Duration;

/// A nara with a newspaper interval far longer than the test waits.
fn slow_nara(broker: &Mosquitto, name: &str) -> Running {
    let mut command = nara_command();
    command.args([
        "--http-addr",
        "127.0.0.1:0",
        "--name",
        name,
        "--mqtt-url",
        &broker.url(),
    ]);
    command.args(["--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "120s"]);
    Running::start(command).unwrap_or_else(|e| panic!("{e}"))
}

async fn online_others(nara: &Running) -> usize {
    let peers = nara.peers().await;
    peers
        .iter()
        .filter(|p| p["self"] != true && p["status"] == "ONLINE" && p["version"] != "")
        .count()
}

#[tokio::test]
async fn a_newcomer_sees_every_nara_long_before_their_next_newspaper() {
    let broker = Mosquitto::start();
    let first = slow_nara(&broker, "first");
    let second = slow_nara(&broker, "second");
    let third = slow_nara(&broker, "third");
    // Each nara's own start newspaper went out before the later ones subscribed; only
    // the broker's retained copy tells them about the earlier ones within 120 s.
    for (nara, name) in [(&first, "first"), (&second, "second"), (&third, "third")] {
        let what = format!("{name} sees the two others ONLINE with their versions");
        wait_until(&what, Duration::from_secs(10), || async move {
            (online_others(nara).await == 2).then_some(())
        })
        .await;
    }
}
