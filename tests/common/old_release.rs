//! An older release of a nara, for rollout tests: a task that speaks for a soul on the
//! plaza as a nara of another version (a hey_there, then a newspaper every 500 ms,
//! carrying a build revision as this nara's kind does) until it is dropped, when it
//! falls silent as a stopped process would. A rollout replaces it with the real binary
//! under the same soul and name.

use crate::common::go_wire::raw_client;
use nara::newspaper::{self, OwnStatus};
use nara::{Identity, Kind, Soul, SoulSource, event};
use rumqttc::v5::mqttbytes::QoS;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;

/// How often it sends its newspaper.
const EVERY: Duration = Duration::from_millis(500);

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The nara `name` at `version`, on the broker at `port`, speaking until dropped.
pub struct OldRelease {
    task: JoinHandle<()>,
}

impl OldRelease {
    /// Starts speaking for `soul` (Base58, as `nara soul new` prints it) as `name` at
    /// `version`, with its first newspaper sent before this returns.
    pub async fn start(port: u16, soul: &str, name: &str, version: &str) -> OldRelease {
        let soul = Soul::parse(soul).expect("a soul minted by the test");
        let identity = Identity::new(&soul, name, SoulSource::File);
        let boot_id = format!("old-release-{name}-{}", now_ns());
        let (client, _) = raw_client(port, &boot_id, &[]).await;
        let hello = event::encode(&identity, Kind::HeyThere, now_ns() as i64, "");
        client
            .publish(Kind::HeyThere.topic(name), QoS::AtMostOnce, false, hello)
            .await
            .expect("the hey_there is queued");
        let started_ns = now_ns() - 3_600_000_000_000;
        let (name, version) = (name.to_string(), version.to_string());
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(EVERY);
            loop {
                every.tick().await;
                let status = OwnStatus {
                    version: &version,
                    revision: "old-release",
                    profile: "release",
                    public_url: None,
                    host_uptime_s: 3600,
                    process_uptime_s: 3600,
                    sent_ns: now_ns(),
                    boot_id: &boot_id,
                    conn: 1,
                    started_ns,
                    role_pin: "auto",
                    handover: false,
                    tags: &nara::tags::NO_TAGS,
                    health: Default::default(),
                };
                let paper = newspaper::encode(&identity, &status);
                if client
                    .publish(Kind::Newspaper.topic(&name), QoS::AtMostOnce, false, paper)
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        OldRelease { task }
    }
}

impl Drop for OldRelease {
    fn drop(&mut self) {
        // The client goes with the task: the broker sees the connection close, and
        // the plaza hears nothing more from this process.
        self.task.abort();
    }
}
