//! Anything a broker can deliver, on any topic, live or from its store: decoding and
//! verifying never panics, and whatever verifies is applied to a view (wills, their
//! confirmation and their withdrawal included) without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nara::view::{Limits, Peer, Status, View};
use nara::wire::{self, Delivery};
use std::time::{Duration, SystemTime};

fuzz_target!(|data: &[u8]| {
    // The first line is the topic, the rest the payload.
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let topic = String::from_utf8_lossy(&data[..split]);
    let payload = data.get(split + 1..).unwrap_or(&[]);
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let policy = nara::testing::policy();
    // The first byte of the payload picks how it was delivered.
    let delivery = if payload.first().is_some_and(|b| b % 2 == 1) {
        Delivery::Retained {
            max_age: Duration::from_secs(360),
        }
    } else {
        Delivery::Live
    };
    if let Ok(message) = wire::decode_delivered(&topic, payload, at, policy, delivery) {
        let own = Peer {
            name: "self".into(),
            id: "id".into(),
            public_key: "key".into(),
            status: Status::Online,
            version: "0".into(),
            revision: "r".into(),
            public_url: None,
            version_history: Vec::new(),
            tags: nara::tags::Tags::default(),
            host: Default::default(),
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
        if matches!(delivery, Delivery::Retained { .. }) {
            let _ = view.apply_stored(&message, at);
        } else {
            let _ = view.apply(&message, at);
        }
        let _ = view.apply(&message, at + Duration::from_secs(1));
        let _ = view.take_forgotten();
        let _ = view.confirm(at + Duration::from_secs(2));
        let _ = view.clear_suspicions();
        let _ = view.sweep(at + Duration::from_secs(10));
    }
});
