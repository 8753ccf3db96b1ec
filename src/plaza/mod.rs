//! The plaza: where naras meet over MQTT and see each other.
//!
//! [`Plaza`] is the shared state the HTTP side reads (peers, counts, the change stream)
//! and the transport writes (received messages, connection state). A nara without a
//! broker still has a plaza of one: itself.

pub mod broker_trouble;
pub mod event;
mod freshness;
pub mod identity;
pub mod message;
pub mod newspaper;
pub mod projection;
pub mod role;
pub mod serialized;
pub mod settings;
pub mod transport;
pub mod welcome;
pub mod wire;

use crate::build_info;
use crate::metrics::Metrics;
use bytes::Bytes;
use freshness::Freshness;
use identity::Identity;
use message::{Body, Kind, Message, Rejection};
use newspaper::OwnStatus;
use projection::{Change, ChangeKind, Counts, Limits, Peer, Projection, Status};
use role::{Act, Rank, RoleStatus, Roles, Windows};
use serde::Serialize;
use serialized::{ChangeJson, SharedList};
use settings::PlazaConfig;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use tokio::sync::broadcast;

/// How many changes a slow `/api/events` client may fall behind before it is resent
/// a snapshot instead.
const CHANGE_BACKLOG: usize = 256;
/// How many of its own events a nara remembers, to tell their echo from a twin's.
const OWN_EVENTS: usize = 16;
/// The plaza as this nara sees it: its identity, the peer view, the change stream.
pub struct Plaza {
    /// This nara's identity, which signs what it sends.
    pub identity: Identity,
    /// The plaza's settings.
    pub config: PlazaConfig,
    projection: Mutex<Projection>,
    changes: broadcast::Sender<ChangeJson>,
    /// Changes announced so far; written under the view's lock.
    announced: AtomicU64,
    /// The view as JSON, shared by every reader until it goes stale.
    list: SharedList,
    /// Held by the stream that serializes a fresh list, while others wait to share it.
    serializing: tokio::sync::Mutex<()>,
    connected: AtomicBool,
    metrics: Arc<Metrics>,
    started: Instant,
    last_rejection_log: AtomicU64,
    /// This process's random ID, which tells it from twins (other processes with its soul).
    pub boot_id: String,
    started_ns: u64,
    roles: Mutex<Roles>,
    own_events: Mutex<VecDeque<u64>>,
    /// What was accepted under this soul from other processes (and the events this one
    /// sent): own-soul messages pass the same freshness rules as any other.
    own_freshness: Mutex<Freshness>,
    /// Set when the role logic wants a newspaper out now; the transport waits on it.
    pub publish_now: Notify,
    /// Set when another nara said hey_there: the transport may welcome it with a
    /// newspaper, so it need not wait a whole interval to see this one.
    pub welcome_due: Notify,
    /// A twin spoke after this process handed over: it can leave without a chau.
    twin_took_over: AtomicBool,
    /// Why the broker last failed us, until it accepts us again.
    broker_trouble: Mutex<Option<BrokerTrouble>>,
}

/// Why the last attempt to reach the broker failed, in `/api/status`.
#[derive(Clone, Debug, Serialize)]
pub struct BrokerTrouble {
    /// In a word: credentials, protocol, tls, refused, unreachable or lost.
    pub cause: broker_trouble::Cause,
    /// What happened and what to check, without credentials.
    pub message: String,
    /// When it first failed this way, RFC 3339.
    pub since: String,
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
    /// Whether this process speaks for its soul (`active`) or only watches (`standby`),
    /// since when and why.
    pub role: RoleStatus,
    /// This process's random ID, in its newspapers: which of the soul's processes it is.
    pub boot_id: String,
    /// Why the broker last failed us; `null` once it accepts us.
    pub broker_trouble: Option<BrokerTrouble>,
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

/// A random ID for this process: 16 hex digits.
fn new_boot_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Plaza {
    /// A plaza holding only this nara, ONLINE.
    pub fn new(identity: Identity, config: PlazaConfig, metrics: Arc<Metrics>) -> Arc<Plaza> {
        let now = SystemTime::now();
        let boot_id = new_boot_id();
        let started_ns = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        // A standby takes over well before observers would call the nara MISSING, and
        // only after the active twin missed two newspapers.
        let takeover_after = (config.newspaper_interval * 2)
            .min(config.missing_after / 2)
            .max(Duration::from_secs(1));
        let roles = Roles::new(
            Rank::new(config.role_pin, started_ns, &boot_id),
            config.role_pin,
            Windows {
                takeover_after,
                go_twin_after: config.missing_after,
                max_skew: config.policy.max_skew,
            },
        );
        let own = Peer {
            name: identity.name.clone(),
            id: identity.id.clone(),
            public_key: identity.public_key.clone(),
            status: Status::Online,
            version: build_info::VERSION.to_string(),
            revision: build_info::REVISION.to_string(),
            public_url: config.public_url.clone(),
            version_history: Vec::new(),
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
            announced: AtomicU64::new(0),
            list: SharedList::default(),
            serializing: tokio::sync::Mutex::new(()),
            connected: AtomicBool::new(false),
            identity,
            config,
            metrics,
            started: Instant::now(),
            last_rejection_log: AtomicU64::new(0),
            boot_id,
            started_ns,
            roles: Mutex::new(roles),
            own_events: Mutex::new(VecDeque::with_capacity(OWN_EVENTS)),
            own_freshness: Mutex::new(Freshness::default()),
            publish_now: Notify::new(),
            welcome_due: Notify::new(),
            twin_took_over: AtomicBool::new(false),
            broker_trouble: Mutex::new(None),
        };
        // Every labelled counter's series exists from the start, at 0, as Prometheus asks:
        // a rate over a series that appears only at its first increment misses it.
        for (role, cause) in role::Cause::TRANSITIONS {
            plaza
                .metrics
                .plaza_role_changes
                .with_label_values(&[role.as_str(), cause.as_str()]);
        }
        for cause in broker_trouble::Cause::ALL {
            plaza
                .metrics
                .plaza_connect_failures
                .with_label_values(&[cause.as_str()]);
        }
        plaza.update_role_gauges(&plaza.roles());
        plaza.update_peer_gauges(&plaza.view());
        Arc::new(plaza)
    }

    fn roles(&self) -> MutexGuard<'_, Roles> {
        self.roles.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update_role_gauges(&self, roles: &Roles) {
        let since = roles.since().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.metrics
            .plaza_role_since
            .set(i64::try_from(since).unwrap_or(i64::MAX));
        let active = i64::from(roles.is_active());
        self.metrics.plaza_role.with_label_values(&["active"]).set(active);
        self.metrics.plaza_role.with_label_values(&["standby"]).set(1 - active);
        self.update_two_speakers(roles);
    }

    fn update_two_speakers(&self, roles: &Roles) {
        let two = roles.two_speakers(Instant::now()).is_some();
        self.metrics.plaza_two_speakers.set(i64::from(two));
    }

    /// Acts on what the role logic decided: a newspaper now, and the role metrics.
    fn after_role_change(&self, roles: &mut Roles, act: Act) {
        let changes = roles.take_changes();
        for (role, cause) in &changes {
            self.metrics
                .plaza_role_changes
                .with_label_values(&[role.as_str(), cause.as_str()])
                .inc();
        }
        if !changes.is_empty() {
            self.update_role_gauges(roles);
        }
        if act == Act::PublishNow {
            self.publish_now.notify_one();
        }
    }

    /// Whether this process speaks for its soul on the plaza (see [`role`]).
    pub fn is_active(&self) -> bool {
        self.roles().is_active()
    }

    /// Whether a twin spoke since this process handed over.
    pub fn twin_took_over(&self) -> bool {
        self.twin_took_over.load(Ordering::SeqCst)
    }

    /// Called every second by the transport: a standby may take over.
    pub fn role_tick(&self) {
        let mut roles = self.roles();
        let act = roles.tick(Instant::now());
        self.after_role_change(&mut roles, act);
        self.update_two_speakers(&roles);
    }

    /// A verified message under this nara's own name and key: its own echo, or a twin's.
    /// A twin's passes the freshness rules as any message does, so that a recording
    /// can neither silence this process nor keep a dead twin alive; a refused one is
    /// counted under its reason.
    fn heard_own_soul(&self, message: &Message) -> Result<(), Rejection> {
        let now = Instant::now();
        let mut roles = self.roles();
        let act = match &message.body {
            Body::Newspaper(story) => {
                if story.boot_id.as_deref() == Some(self.boot_id.as_str()) {
                    return Ok(());
                }
                // A Go nara's newspaper passes the boot rules, as any Go nara's does
                // (judged on a copy, kept only if the twin is believed).
                // (Locks: roles, then own freshness, as everywhere.)
                let mut kept = self.own_freshness();
                let mut freshness = *kept;
                if story.sent_ns.is_none() {
                    freshness.admit(&message.body, SystemTime::now(), self.config.policy.max_skew)?;
                }
                let act = roles.heard(story, now, unix_now_ns().unsigned_abs())?;
                *kept = freshness;
                drop(kept);
                self.twin_took_over.store(true, Ordering::SeqCst);
                act
            }
            Body::HeyThere { sent_ns } | Body::Chau { sent_ns } => {
                if self.sent_event(*sent_ns) {
                    return Ok(());
                }
                self.own_freshness()
                    .admit(&message.body, SystemTime::now(), self.config.policy.max_skew)?;
                if matches!(message.body, Body::Chau { .. }) {
                    roles.twin_left(now)
                } else {
                    roles.heard_hello(now);
                    Act::Nothing
                }
            }
        };
        self.after_role_change(&mut roles, act);
        Ok(())
    }

    /// A newspaper on this nara's topic was refused as stale: if it is this soul's,
    /// from another process, signed ahead of this clock beyond the skew, a twin whose
    /// clock is ahead speaks, and neither can hear the other.
    fn check_twin_ahead(&self, topic: &str, payload: &[u8]) {
        let Some(name) = topic.strip_prefix(message::NEWSPAPER_PREFIX) else {
            return;
        };
        if name != self.identity.name {
            return;
        }
        let Ok(text) = std::str::from_utf8(payload) else {
            return;
        };
        let now = SystemTime::now();
        let any_time = message::Policy {
            max_skew: Duration::MAX,
            ..self.config.policy
        };
        let Ok(message) = newspaper::decode(name, text, now, any_time) else {
            return;
        };
        let Body::Newspaper(story) = &message.body else {
            return;
        };
        let (Some(boot_id), Some(sent_ns)) = (&story.boot_id, story.sent_ns) else {
            return;
        };
        let sent = UNIX_EPOCH + Duration::from_nanos(sent_ns);
        if message.public_key != self.identity.public_key || *boot_id == self.boot_id {
            return;
        }
        // Behind could be a recording; ahead cannot.
        if let Ok(ahead) = sent.duration_since(now)
            && ahead > self.config.policy.max_skew
        {
            let mut roles = self.roles();
            roles.heard_ahead(boot_id, ahead, Instant::now());
            self.update_two_speakers(&roles);
        }
    }

    fn own_freshness(&self) -> MutexGuard<'_, Freshness> {
        self.own_freshness
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn own_events(&self) -> MutexGuard<'_, VecDeque<u64>> {
        self.own_events.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether this process sent the event signed at `sent_ns` (one of its last
    /// [`OWN_EVENTS`]).
    fn sent_event(&self, sent_ns: u64) -> bool {
        self.own_events().contains(&sent_ns)
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

    /// Every known nara as `{"peers":[…]}`: one buffer shared by every reader until the
    /// view changes, or for [`serialized::CHURN_SHARE`] even if it did.
    pub fn peers_json(&self) -> Bytes {
        let mut list = self.list.lock();
        if let Some(json) = list.recent(self.announced.load(Ordering::SeqCst)) {
            return json;
        }
        let (after_change, peers) = {
            let view = self.view();
            (self.announced.load(Ordering::SeqCst), view.snapshot())
        };
        list.refresh(after_change, &peers)
    }

    /// Every known nara as `{"peers":[…]}` and a receiver for every change after it,
    /// taken together so that nothing falls between them. The JSON is the shared
    /// buffer when no change was announced since it was taken. A fresh one is
    /// serialized in turns, one stream at a time (the others wait to share it).
    pub async fn subscribe_json(&self) -> (Bytes, broadcast::Receiver<ChangeJson>) {
        let _serializing = self.serializing.lock().await;
        let (after_change, taken, peers, changes, capacity) = {
            let list = self.list.lock();
            let view = self.view();
            let after_change = self.announced.load(Ordering::SeqCst);
            let changes = self.changes.subscribe();
            if let Some(json) = list.current(after_change) {
                return (json, changes);
            }
            (after_change, Instant::now(), view.snapshot(), changes, list.last_len())
        };
        let json = serialized::peers_json_yielding(&peers, capacity + capacity / 8).await;
        self.list.lock().offer(after_change, taken, json.clone());
        (json, changes)
    }

    /// Sends a change to every stream, serialized once; called with the view locked, so
    /// [`Plaza::subscribe_json`] sees either the change in its list or in its receiver.
    fn announce(&self, change: &Change) {
        self.announced.fetch_add(1, Ordering::SeqCst);
        // No receivers (no /api/events client) is fine.
        let _ = self.changes.send(ChangeJson::new(change));
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

    /// Counts a failed attempt or a lost connection, and keeps why for `/api/status`.
    pub fn record_broker_trouble(&self, cause: broker_trouble::Cause, message: &str) {
        self.metrics.plaza_reconnects.inc();
        self.metrics
            .plaza_connect_failures
            .with_label_values(&[cause.as_str()])
            .inc();
        let mut trouble = self.broker_trouble.lock().unwrap_or_else(|p| p.into_inner());
        if trouble.as_ref().is_none_or(|t| t.cause != cause) {
            *trouble = Some(BrokerTrouble {
                cause,
                message: message.to_string(),
                since: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            });
        }
    }

    /// The broker accepted us: no trouble to show.
    pub fn clear_broker_trouble(&self) {
        *self.broker_trouble.lock().unwrap_or_else(|p| p.into_inner()) = None;
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
            role: {
                let mut role = self.roles().status(Instant::now());
                if self.config.read_only {
                    role.role = role::Role::Standby;
                    role.reason = "read-only (--read-only): watches, never publishes".into();
                }
                role
            },
            boot_id: self.boot_id.clone(),
            broker_trouble: self.broker_trouble.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    /// A signed message of `kind` from this nara, ready to publish: (topic, payload).
    pub fn outgoing(&self, kind: Kind) -> (String, Vec<u8>) {
        self.signed(kind, false)
    }

    /// This process's last newspaper before it stops, saying that a twin may take over
    /// at once.
    pub fn outgoing_handover(&self) -> (String, Vec<u8>) {
        // Only a twin that speaks from now on took over.
        self.twin_took_over.store(false, Ordering::SeqCst);
        self.signed(Kind::Newspaper, true)
    }

    fn signed(&self, kind: Kind, handover: bool) -> (String, Vec<u8>) {
        let process_uptime_s = self.uptime_s();
        let host_uptime_s = newspaper::host_uptime_s(process_uptime_s);
        let now_ns = unix_now_ns();
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
                    sent_ns: now_ns.unsigned_abs(),
                    boot_id: &self.boot_id,
                    started_ns: self.started_ns,
                    role_pin: self.config.role_pin.as_str(),
                    handover,
                },
            ),
            event_kind => {
                let mut own = self.own_events();
                if own.len() == OWN_EVENTS {
                    own.pop_front();
                }
                own.push_back(now_ns.unsigned_abs());
                self.own_freshness().sent_event(now_ns.unsigned_abs());
                // nara has no mesh network: its MeshIP is empty.
                event::encode(&self.identity, event_kind, now_ns, "")
            }
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
            if message.name == self.identity.name && message.public_key == self.identity.public_key {
                return self.heard_own_soul(&message);
            }
            let mut view = self.view();
            let change = view.apply(&message, SystemTime::now())?;
            if matches!(message.body, Body::HeyThere { .. }) {
                self.welcome_due.notify_one();
            }
            let forgotten = view.take_forgotten();
            if change.is_some() || !forgotten.is_empty() {
                self.update_peer_gauges(&view);
            }
            for forgot in forgotten {
                tracing::debug!(forgotten = %forgot.peer.name, "the view was full: forgot the longest silent OFFLINE or MISSING nara (its key stays pinned)");
                self.announce(&forgot);
            }
            if let Some(change) = change {
                tracing::debug!(change = change.kind.as_str(), status = ?change.peer.status, "a nara changed");
                if change.kind == ChangeKind::VersionChanged {
                    self.metrics.plaza_version_changes.inc();
                }
                self.announce(&change);
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
            if rejection == Rejection::Stale {
                self.check_twin_ahead(topic, payload);
            }
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
        for change in &changes {
            self.announce(change);
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

#[cfg(test)]
mod tests {
    use super::*;
    use identity::{Soul, SoulSource};

    #[test]
    fn a_nara_remembers_only_its_last_own_events() {
        let identity = Identity::new(&Soul::mint("me").unwrap(), "me", SoulSource::Ephemeral);
        let plaza = Plaza::new(identity, PlazaConfig::default(), Arc::new(Metrics::new()));
        plaza.outgoing(Kind::HeyThere);
        let first = *plaza.own_events().front().unwrap();
        assert!(plaza.sent_event(first));
        for _ in 0..OWN_EVENTS * 2 {
            plaza.outgoing(Kind::Chau);
        }
        assert_eq!(plaza.own_events().len(), OWN_EVENTS);
        assert!(!plaza.sent_event(first), "the oldest was let go");
        let last = *plaza.own_events().back().unwrap();
        assert!(plaza.sent_event(last));
    }

    #[test]
    fn labelled_counters_are_there_from_the_start_at_zero() {
        let identity = Identity::new(&Soul::mint("me").unwrap(), "me", SoulSource::Ephemeral);
        let metrics = Arc::new(Metrics::new());
        let _plaza = Plaza::new(identity, PlazaConfig::default(), metrics.clone());
        let text = String::from_utf8(metrics.render()).unwrap();
        for series in [
            r#"nara_plaza_role_changes_total{cause="yielded",to="standby"} 0"#,
            r#"nara_plaza_role_changes_total{cause="silence",to="active"} 0"#,
            r#"nara_plaza_connect_failures_total{cause="credentials"} 0"#,
            r#"nara_plaza_connect_failures_total{cause="protocol"} 0"#,
        ] {
            assert!(text.contains(series), "{series} is missing:\n{text}");
        }
    }
}
