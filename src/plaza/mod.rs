//! The plaza: where naras meet over MQTT and see each other.
//!
//! [`Plaza`] is the shared state the HTTP side reads (peers, counts, the change stream)
//! and the transport writes (received messages, connection state). A nara without a
//! broker still has a plaza of one: itself.

pub mod event;
pub mod identity;
pub mod message;
pub mod newspaper;
pub mod projection;
pub mod settings;
pub mod transport;
pub mod wire;

use crate::build_info;
use crate::metrics::Metrics;
use identity::Identity;
use message::{Kind, Rejection};
use newspaper::OwnStatus;
use projection::{Change, Counts, Limits, Peer, Projection, Status};
use serde::Serialize;
use settings::PlazaConfig;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast;

/// How many changes a slow `/api/events` client may fall behind before it is resent
/// a snapshot instead.
const CHANGE_BACKLOG: usize = 256;
/// The plaza as this nara sees it: its identity, the peer view, the change stream.
pub struct Plaza {
    /// This nara's identity, which signs what it sends.
    pub identity: Identity,
    /// The plaza's settings.
    pub config: PlazaConfig,
    projection: Mutex<Projection>,
    changes: broadcast::Sender<Change>,
    connected: AtomicBool,
    metrics: Arc<Metrics>,
    started: Instant,
    last_rejection_log: AtomicU64,
}

/// The plaza part of `/api/status`.
#[derive(Debug, Serialize)]
pub struct PlazaStatus {
    /// Whether a broker is configured.
    pub configured: bool,
    /// Whether the broker connection is up.
    pub connected: bool,
    /// The broker address without credentials.
    pub broker: Option<String>,
    /// Whether readiness waits for the broker.
    pub required: bool,
    /// Whether this nara only watches (`--read-only`).
    pub read_only: bool,
    /// Where people reach this nara from outside (`--public-url`), if set.
    pub public_url: Option<String>,
    /// Known naras by status.
    pub peers: Counts,
}

/// Now in Unix nanoseconds, as events carry it (signed, as the Go nara writes it).
fn unix_now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Plaza {
    /// A plaza holding only this nara, ONLINE.
    pub fn new(identity: Identity, config: PlazaConfig, metrics: Arc<Metrics>) -> Arc<Plaza> {
        let now = SystemTime::now();
        let own = Peer {
            name: identity.name.clone(),
            id: identity.id.clone(),
            public_key: identity.public_key.clone(),
            status: Status::Online,
            version: build_info::VERSION.to_string(),
            revision: build_info::REVISION.to_string(),
            public_url: config.public_url.clone(),
            uptime_s: 0,
            first_seen: now,
            last_seen: now,
            is_self: true,
        };
        let plaza = Plaza {
            projection: Mutex::new(Projection::new(
                own,
                Limits {
                    missing_after: config.missing_after,
                    forget_after: config.forget_after,
                    max_peers: config.max_peers,
                    max_skew: config.policy.max_skew,
                },
            )),
            changes: broadcast::channel(CHANGE_BACKLOG).0,
            connected: AtomicBool::new(false),
            identity,
            config,
            metrics,
            started: Instant::now(),
            last_rejection_log: AtomicU64::new(0),
        };
        plaza.update_peer_gauges(&plaza.view());
        Arc::new(plaza)
    }

    fn view(&self) -> MutexGuard<'_, Projection> {
        // A panic while holding the lock cannot leave the map half-written in a way
        // that matters more than losing the whole view, so keep serving.
        self.projection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every known nara, this one included.
    pub fn peers(&self) -> Vec<Peer> {
        self.view().snapshot()
    }

    /// A snapshot and a receiver for every change after it, taken together so that
    /// nothing falls between them.
    pub fn subscribe(&self) -> (Vec<Peer>, broadcast::Receiver<Change>) {
        let view = self.view();
        (view.snapshot(), self.changes.subscribe())
    }

    /// Whether the broker connection is up.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// Records the connection state; returns the previous one.
    pub fn set_connected(&self, connected: bool) -> bool {
        self.metrics.plaza_connected.set(i64::from(connected));
        self.connected.swap(connected, Ordering::SeqCst)
    }

    /// Counts a reconnection to the broker.
    pub fn record_reconnect(&self) {
        self.metrics.plaza_reconnects.inc();
    }

    /// Seconds since this plaza began.
    pub fn uptime_s(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// The plaza part of `/api/status`.
    pub fn status(&self) -> PlazaStatus {
        PlazaStatus {
            configured: self.config.broker.is_some(),
            connected: self.is_connected(),
            broker: self.config.broker.as_ref().map(|b| b.address()),
            required: self.config.require,
            read_only: self.config.read_only,
            public_url: self.config.public_url.clone(),
            peers: self.view().counts(),
        }
    }

    /// A signed message of `kind` from this nara, ready to publish: (topic, payload).
    pub fn outgoing(&self, kind: Kind) -> (String, Vec<u8>) {
        let process_uptime_s = self.uptime_s();
        let host_uptime_s = newspaper::host_uptime_s(process_uptime_s);
        let payload = match kind {
            Kind::Newspaper => newspaper::encode(
                &self.identity,
                &OwnStatus {
                    version: build_info::VERSION,
                    revision: build_info::REVISION,
                    profile: build_info::PROFILE,
                    public_url: self.config.public_url.as_deref(),
                    host_uptime_s,
                    process_uptime_s,
                },
            ),
            // nara has no mesh network: its MeshIP is empty.
            event_kind => event::encode(&self.identity, event_kind, unix_now_ns(), ""),
        };
        self.view()
            .touch_self(&self.identity.name, host_uptime_s, SystemTime::now());
        (kind.topic(&self.identity.name), payload)
    }

    /// Handles one message from the broker: verify, apply, count, announce changes.
    /// Bad input is dropped and counted; nothing here can fail the caller.
    pub fn receive(&self, topic: &str, payload: &[u8]) -> Result<(), Rejection> {
        let kind = kind_of_topic(topic);
        let outcome = wire::decode(topic, payload, SystemTime::now(), self.config.policy).and_then(|message| {
            // Whatever is logged about this message says which nara it is from.
            let _peer = tracing::debug_span!("plaza_peer", peer = %message.name).entered();
            let mut view = self.view();
            let change = view.apply(&message, SystemTime::now())?;
            let forgotten = view.take_forgotten();
            if change.is_some() || !forgotten.is_empty() {
                self.update_peer_gauges(&view);
            }
            for forgot in forgotten {
                tracing::debug!(forgotten = %forgot.peer.name, "the view was full: forgot the longest silent nara");
                let _ = self.changes.send(forgot);
            }
            if let Some(change) = change {
                tracing::debug!(change = change.kind.as_str(), status = ?change.peer.status, "a nara changed");
                // No receivers (no /api/events client) is fine.
                let _ = self.changes.send(change);
            }
            Ok(())
        });
        let result = match outcome {
            Ok(()) => "accepted",
            Err(rejection) => rejection.as_str(),
        };
        self.metrics.plaza_messages.with_label_values(&[kind, result]).inc();
        if let Err(rejection) = outcome {
            self.log_rejection(topic, rejection);
        }
        outcome
    }

    /// Marks silent naras MISSING and announces it.
    pub fn sweep(&self) {
        let mut view = self.view();
        let changes = view.sweep(SystemTime::now());
        if !changes.is_empty() {
            self.update_peer_gauges(&view);
        }
        for change in changes {
            let _ = self.changes.send(change);
        }
    }

    fn update_peer_gauges(&self, view: &Projection) {
        let counts = view.counts();
        for (status, count) in [
            ("ONLINE", counts.online),
            ("OFFLINE", counts.offline),
            ("MISSING", counts.missing),
        ] {
            self.metrics.plaza_peers.with_label_values(&[status]).set(count as i64);
        }
    }

    /// At most one debug line a second, so a flood of garbage cannot flood the log.
    fn log_rejection(&self, topic: &str, rejection: Rejection) {
        let now = unix_now();
        if self.last_rejection_log.swap(now, Ordering::Relaxed) != now {
            tracing::debug!(topic, reason = %rejection, "dropped a plaza message (counted in nara_plaza_messages_total)");
        }
    }
}

/// The `kind` label for a topic, from a fixed set so metrics stay bounded.
fn kind_of_topic(topic: &str) -> &'static str {
    Kind::of_topic(topic).map_or("other", Kind::as_str)
}
