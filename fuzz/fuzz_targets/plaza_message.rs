//! Anything a broker can deliver, on any topic: decoding and verifying never panics,
//! and whatever verifies is applied to a view without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nara::view::{Limits, Peer, Status, View};
use nara::wire;
use std::time::{Duration, SystemTime};

fuzz_target!(|data: &[u8]| {
    // The first line is the topic, the rest the payload.
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let topic = String::from_utf8_lossy(&data[..split]);
    let payload = data.get(split + 1..).unwrap_or(&[]);
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let policy = nara::testing::policy();
    if let Ok(message) = wire::decode(&topic, payload, at, policy) {
        let own = Peer {
            name: "self".into(),
            id: "id".into(),
            public_key: "key".into(),
            status: Status::Online,
            version: "0".into(),
            revision: "r".into(),
            public_url: None,
            version_history: Vec::new(),
            uptime_s: 0,
            first_seen: SystemTime::UNIX_EPOCH,
            last_seen: SystemTime::UNIX_EPOCH,
            is_self: true,
            restarts: Default::default(),
        };
        let limits = Limits {
            missing_after: Duration::from_secs(1),
            forget_after: Duration::from_secs(5),
            max_peers: 2,
            max_skew: policy.max_skew,
        };
        let mut view = View::new(own, limits);
        let _ = view.apply(&message, at);
        let _ = view.take_forgotten();
        let _ = view.sweep(at + Duration::from_secs(10));
    }
});
