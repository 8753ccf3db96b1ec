//! The plaza: where naras meet over MQTT and see each other.
//!
//! [`Plaza`] is the shared state the HTTP side reads (peers, counts, the change stream)
//! and the transport writes (received messages, connection state). A nara without a
//! broker still has a plaza of one: itself.

mod broker_backoff;
pub(crate) mod broker_trouble;
mod cadence;
mod client_id;
pub(crate) mod config;
mod connection;
mod echo;
pub mod event;
mod freshness;
pub mod host_health;
pub(crate) mod identity;
mod journal;
mod liveness;
pub(crate) mod message;
pub mod newspaper;
mod poller;
mod presence;
pub(crate) mod restarts;
pub mod retained;
pub(crate) mod role;
pub(crate) mod rollout;
pub(crate) mod serialized;
pub(crate) mod state_dir;
pub mod tags;
pub(crate) mod transport;
pub(crate) mod version;
pub mod view;
mod view_feed;
pub mod will;
pub mod wire;

use crate::build_info;
use crate::metrics::Metrics;
use bytes::Bytes;
use config::PlazaConfig;
use echo::EchoWatch;
use identity::Identity;
use journal::Journal;
use message::{Body, Kind, Rejection, Story};
use newspaper::OwnStatus;
use presence::Presence;
use role::{Act, RoleStatus};
use serde::Serialize;
use serialized::ChangeJson;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use tokio::sync::broadcast;
use view::{ChangeKind, Counts, Limits, Peer, Status, View};
use view_feed::{LockedView, ViewFeed};
use wire::Delivery;

/// A nara answers a will of its own live connection at most this often: each answer
/// is a newspaper to every nara, and moves it to a new connection.
const REFUTE_EVERY: Duration = Duration::from_secs(1);

/// For this long after the broker accepts this nara again (any connection after its
/// first), a will heard live holds its nara SUSPECT without confirming it, as one from
/// the broker's store does. Wills then say nothing of who crashed: a broker that stops
/// publishes every will it holds (and the MQTT client hands over what it read last
/// only after the next connection), and a broker back with its store publishes the
/// will of each nara not yet back within the will delay. Every live nara is back within
/// its longest wait, so this is that wait; a nara that really crashed in it goes
/// MISSING by silence.
const WILLS_UNCONFIRMED_AFTER_CONNECT: Duration = broker_backoff::LONGEST_WAIT;

/// The plaza as this nara sees it. Its jobs: the peer view and the change stream
/// readers follow; the broker connection as the transport reports it; and this
/// process's part in its soul's presence among twins.
pub struct Plaza {
    /// This nara's identity, which signs what it sends.
    pub identity: Identity,
    pub(crate) config: PlazaConfig,
    /// Also where the process's start is kept, which the newspapers' uptime reads.
    metrics: Arc<Metrics>,

    // The peer view, and what its readers follow: the changes and the shared list.
    view: ViewFeed,
    /// When a refused message was last logged, Unix seconds: one line a second at most.
    last_rejection_log: AtomicU64,
    /// Who comes and goes, and who speaks under this nara's name, as the log says it.
    journal: Journal,

    // The broker connection, and what the transport should send next.
    connected: AtomicBool,
    /// Whether the broker is still forwarding, which confirming a will needs.
    liveness: liveness::Liveness,
    /// Whether the broker has ever accepted this process.
    ever_connected: AtomicBool,
    /// When the broker last accepted this nara again, after its first connection (see
    /// [`WILLS_UNCONFIRMED_AFTER_CONNECT`]).
    reconnected_at: Mutex<Option<Instant>>,
    /// Which of this process's connections is the current one (or the next, between
    /// two): 1, 2, …, as its newspapers and its will say. 0 before the first.
    conn: AtomicU32,
    /// Why the broker last failed us, until it accepts us again.
    broker_trouble: Mutex<Option<BrokerTrouble>>,
    /// Set when the role logic wants a newspaper out now; the transport waits on it.
    pub(crate) publish_now: Notify,
    /// Set when this process heard the will of its own live connection: the transport
    /// answers with a newspaper at once, and moves to a new connection, whose will is
    /// another (see [`Plaza::receive`]).
    pub(crate) refute_now: Notify,
    /// When this process last answered its own will.
    last_refutation: Mutex<Option<Instant>>,
    /// Whether the broker hands this process's newspapers back, as its hey_there.
    echo: EchoWatch,
    /// When newspapers go out (see [`cadence`]).
    cadence: cadence::Cadence,
    /// Measures this nara's host health for its newspapers (see [`host_health`]).
    health: host_health::Sampler,
    /// Whether the broker keeps retained messages (its CONNACK may say it does not: a
    /// retained publish would then end the connection).
    retain_available: AtomicBool,
    /// The interval the last newspaper was scheduled by, in milliseconds.
    scheduled_interval_ms: AtomicU64,

    // Twins.
    /// This process among the processes that share its soul (see [`role`]).
    presence: Presence,
}

/// Why the last attempt to reach the broker failed, in `/api/status`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct BrokerTrouble {
    /// In a word: credentials, protocol, closed, tls, refused, unreachable, lost or
    /// taken_over.
    pub(crate) cause: broker_trouble::Cause,
    /// What happened and what to check, without credentials.
    message: String,
    /// When it first failed this way, RFC 3339.
    pub(crate) since: String,
}

/// The plaza part of `/api/status`.
#[derive(Debug, Serialize)]
pub(crate) struct PlazaStatus {
    /// Whether a broker is configured.
    pub(crate) configured: bool,
    /// Whether the broker connection is up.
    pub(crate) connected: bool,
    /// The broker address without credentials.
    pub(crate) broker: Option<String>,
    /// Whether readiness waits for the broker.
    pub(crate) required: bool,
    /// Whether this nara only watches (`--read-only`).
    pub(crate) read_only: bool,
    /// Where people reach this nara from outside (`--public-url`), if set.
    pub(crate) public_url: Option<String>,
    /// Known naras by status.
    pub(crate) peers: Counts,
    /// Whether this process speaks for its soul (`active`) or only watches (`standby`),
    /// since when and why.
    pub(crate) role: RoleStatus,
    /// This process's random ID, in its newspapers: which of the soul's processes it is.
    pub(crate) boot_id: String,
    /// Why the broker last failed us; `null` once it accepts us.
    pub(crate) broker_trouble: Option<BrokerTrouble>,
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
        let presence = Presence::new(&config, metrics.started().wall(), metrics.clone());
        let own = Peer {
            name: identity.name.clone(),
            id: identity.id.clone(),
            public_key: identity.public_key.clone(),
            status: Status::Online,
            version: build_info::VERSION.to_string(),
            revision: build_info::REVISION.to_string(),
            public_url: config.public_url.clone(),
            version_history: Vec::new(),
            tags: config.tags.clone(),
            uptime_s: 0,
            host: Default::default(),
            first_seen: now,
            last_seen: now,
            is_self: true,
            restarts: Default::default(),
        };
        let plaza = Plaza {
            view: ViewFeed::new(View::new(
                own,
                Limits {
                    missing_after: config.missing_after,
                    forget_after: config.forget_after,
                    max_peers: config.max_peers,
                    max_skew: config.policy.max_skew,
                },
            )),
            connected: AtomicBool::new(false),
            ever_connected: AtomicBool::new(false),
            liveness: liveness::Liveness::default(),
            reconnected_at: Mutex::new(None),
            conn: AtomicU32::new(0),
            cadence: cadence::Cadence::new(config.newspaper_interval, config.fleet_rate, config.missing_after),
            health: host_health::Sampler::new(),
            identity,
            config,
            metrics,
            last_rejection_log: AtomicU64::new(0),
            journal: Journal::new(),
            echo: EchoWatch::default(),
            presence,
            publish_now: Notify::new(),
            refute_now: Notify::new(),
            last_refutation: Mutex::new(None),
            retain_available: AtomicBool::new(true),
            scheduled_interval_ms: AtomicU64::new(0),
            broker_trouble: Mutex::new(None),
        };
        // Every labelled counter's series exists from the start, at 0, as Prometheus asks
        // (`Presence::new` makes the role changes' series).
        for cause in broker_trouble::Cause::ALL {
            plaza
                .metrics
                .plaza_connect_failures
                .with_label_values(&[cause.as_str()]);
        }
        plaza.update_peer_gauges(&plaza.view());
        Arc::new(plaza)
    }

    /// Hands every change of the view from now on to `listener`, called under the
    /// view's lock, so it must not wait (the event hooks queue and return); a second
    /// listener is refused.
    pub(crate) fn on_change(&self, listener: view_feed::Listener) -> Result<(), view_feed::Listener> {
        self.view.listen(listener)
    }

    /// The most naras the view holds (`--plaza-max-peers`).
    pub(crate) fn max_peers(&self) -> usize {
        self.config.max_peers
    }

    /// The transport sends a newspaper now if the role logic asked for one.
    fn act(&self, act: Act) {
        if act == Act::PublishNow {
            self.publish_now.notify_one();
        }
    }

    /// Whether this process speaks for its soul on the plaza (see [`role`]).
    pub(crate) fn is_active(&self) -> bool {
        self.presence.is_active()
    }

    /// Whether a twin spoke since this process handed over.
    pub(crate) fn twin_took_over(&self) -> bool {
        self.presence.twin_took_over()
    }

    /// Called every second by the transport: a standby may take over, once its active
    /// twin was silent for two of the newspaper intervals this plaza makes.
    pub(crate) fn role_tick(&self) {
        let takeover_after = self
            .cadence
            .takeover_after(self.naras_around(), self.presence.base_takeover());
        self.act(self.presence.tick(takeover_after));
    }

    /// The naras ONLINE or SUSPECT, this one included: N in the cadence's law.
    fn naras_around(&self) -> usize {
        let counts = self.view().counts();
        counts.online + counts.suspect
    }

    /// How long until the next newspaper, as the law makes the interval for this view
    /// (see [`cadence`]), spread by ±10 %.
    /// A new phase instead when the interval grew past the spread since the last one
    /// (see [`cadence::next_wait`]).
    pub(crate) fn next_newspaper_in(&self) -> Duration {
        let interval = self.newspaper_interval();
        let previous = Duration::from_millis(self.scheduled_interval_ms.swap(millis(interval), Ordering::Relaxed));
        cadence::next_wait(previous, interval)
    }

    /// How long until the first newspaper after an announce: a random point of the
    /// interval, so this nara's phase is its own.
    pub(crate) fn first_newspaper_in(&self) -> Duration {
        let interval = self.newspaper_interval();
        self.scheduled_interval_ms.store(millis(interval), Ordering::Relaxed);
        cadence::phase(interval)
    }

    /// Whether a Go nara is ONLINE or SUSPECT in the view (one pass over it).
    pub(crate) fn go_around(&self) -> bool {
        self.view().go_around()
    }

    /// The interval the law gives this view.
    fn newspaper_interval(&self) -> Duration {
        let (naras, go_around) = {
            let view = self.view();
            let counts = view.counts();
            (counts.online + counts.suspect, view.go_around())
        };
        let interval = self.cadence.interval(naras, go_around);
        self.metrics.plaza_newspaper_interval.set(interval.as_secs_f64());
        interval
    }

    fn view(&self) -> LockedView<'_> {
        self.view.lock()
    }

    /// Every known nara as `{"peers":[…]}`: one buffer shared by every reader until the
    /// view changes, or for `serialized::CHURN_SHARE` even if it did.
    pub fn peers_json(&self) -> Bytes {
        self.view.peers_json()
    }

    /// The nara named `name`, if this one knows it.
    pub(crate) fn peer(&self, name: &str) -> Option<Peer> {
        self.view().peer(name).cloned()
    }

    /// The naras `keep` keeps, by name; only those are copied out of the view.
    pub(crate) fn peers_where(&self, keep: impl Fn(&Peer) -> bool) -> Vec<Peer> {
        let mut peers: Vec<Peer> = self.view().peers().filter(|p| keep(p)).cloned().collect();
        peers.sort_by(|a, b| a.name.cmp(&b.name));
        peers
    }

    /// Every known nara as `{"peers":[…]}` and a receiver for every change after it,
    /// taken together so that nothing falls between them. The JSON is the shared
    /// buffer when no change was announced since it was taken. A fresh one is
    /// serialized in turns, one stream at a time (the others wait to share it).
    pub async fn subscribe_json(&self) -> (Bytes, broadcast::Receiver<ChangeJson>) {
        self.view.subscribe_json().await
    }

    /// Every known nara, by name, and how many changes had been announced when the
    /// list was taken: for readers that keep what they make of it until the view
    /// changes (`/metrics/peers`).
    pub(crate) fn snapshot(&self) -> (u64, Vec<Peer>) {
        self.view.snapshot()
    }

    /// How many changes the view has announced so far: what was made of a
    /// [`Plaza::snapshot`] taken at a lower count is out of date.
    pub(crate) fn changes_announced(&self) -> u64 {
        self.view.announced()
    }

    /// Whether the broker connection is up.
    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// Records the connection state; returns the previous one.
    pub(crate) fn set_connected(&self, connected: bool) -> bool {
        self.metrics.plaza_connected.set(i64::from(connected));
        let was = self.connected.swap(connected, Ordering::SeqCst);
        if connected && !was && self.ever_connected.swap(true, Ordering::SeqCst) {
            self.reconnected_since(Instant::now());
        }
        was
    }

    /// Records when the broker accepted this nara again.
    fn reconnected_since(&self, at: Instant) {
        *self.reconnected_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
    }

    /// Whether a will heard live now may be confirmed: this is the first connection, or
    /// the one after has lasted [`WILLS_UNCONFIRMED_AFTER_CONNECT`].
    fn wills_confirmable(&self) -> bool {
        self.reconnected_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none_or(|at| at.elapsed() >= WILLS_UNCONFIRMED_AFTER_CONNECT)
    }

    /// Counts a failed attempt or a lost connection, and keeps why for `/api/status`.
    /// Returns whether this is a new kind of trouble: none since the broker last
    /// accepted us, or another cause than the last.
    pub(crate) fn record_broker_trouble(&self, cause: broker_trouble::Cause, message: &str) -> bool {
        self.metrics.plaza_reconnects.inc();
        self.metrics
            .plaza_connect_failures
            .with_label_values(&[cause.as_str()])
            .inc();
        let mut trouble = self.broker_trouble.lock().unwrap_or_else(|p| p.into_inner());
        let new = trouble.as_ref().is_none_or(|t| t.cause != cause);
        if new {
            *trouble = Some(BrokerTrouble {
                cause,
                message: message.to_string(),
                since: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            });
        }
        new
    }

    /// The broker accepted us: no trouble to show.
    pub(crate) fn clear_broker_trouble(&self) {
        *self.broker_trouble.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Seconds since this process started, by the clock `/api/status` and the
    /// process metrics read.
    pub(crate) fn uptime_s(&self) -> u64 {
        self.metrics.started().uptime_s()
    }

    /// The plaza part of `/api/status`.
    pub(crate) fn status(&self) -> PlazaStatus {
        PlazaStatus {
            configured: self.config.broker.is_some(),
            connected: self.is_connected(),
            broker: self.config.broker.as_ref().map(|b| b.address()),
            required: self.config.require,
            read_only: self.config.read_only,
            public_url: self.config.public_url.clone(),
            peers: self.view().counts(),
            role: {
                let mut role = self.presence.status();
                if self.config.read_only {
                    role.role = role::Role::Standby;
                    role.reason = "read-only (--read-only): watches, never publishes".into();
                }
                role
            },
            boot_id: self.presence.boot_id().to_string(),
            broker_trouble: self.broker_trouble.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    /// A signed message of `kind` from this nara, ready to publish: (topic, payload). A
    /// will is never published by nara itself; the one asked for is the current
    /// connection's.
    pub(crate) fn outgoing(&self, kind: Kind) -> (String, Vec<u8>) {
        self.signed(kind, false)
    }

    /// The will for this process's next connection, which the transport leaves with
    /// the broker as it connects: from now on this process's messages say they come
    /// from that connection.
    pub(crate) fn next_will(&self) -> rumqttc::v5::mqttbytes::v5::LastWill {
        let conn = self.conn.fetch_add(1, Ordering::SeqCst).saturating_add(1);
        if self.retains() {
            will::retained_last_will(&self.identity, &self.own_will(conn), self.retained_expiry())
        } else {
            will::last_will(&self.identity, &self.own_will(conn))
        }
    }

    /// Which of this process's connections is the current one (0 before the first).
    pub(crate) fn conn(&self) -> u32 {
        self.conn.load(Ordering::SeqCst)
    }

    /// The will of this process's connection `conn`, signed now.
    fn own_will(&self, conn: u32) -> will::OwnWill<'_> {
        will::OwnWill {
            boot_id: self.presence.boot_id(),
            conn,
            signed_ns: unix_now_ns().unsigned_abs(),
        }
    }

    /// This process's last newspaper before it stops, saying that a twin may take over
    /// at once.
    pub(crate) fn outgoing_handover(&self) -> (String, Vec<u8>) {
        self.presence.handing_over();
        self.signed(Kind::Newspaper, true)
    }

    fn signed(&self, kind: Kind, handover: bool) -> (String, Vec<u8>) {
        let process_uptime_s = self.uptime_s();
        let host_uptime_s = newspaper::host_uptime_s(process_uptime_s);
        let now_ns = unix_now_ns().unsigned_abs();
        if kind == Kind::Newspaper && self.echo.sent_newspaper() {
            self.warn_newspapers_dropped();
        }
        let health = (kind == Kind::Newspaper).then(|| self.health.measure());
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
                    sent_ns: self.presence.sign_newspaper(now_ns),
                    boot_id: self.presence.boot_id(),
                    conn: self.conn(),
                    started_ns: self.presence.started_ns(),
                    role_pin: self.config.role_pin.as_str(),
                    handover,
                    tags: &self.config.tags,
                    health: health.unwrap_or_default(),
                },
            ),
            Kind::Will => will::encode(&self.identity, &self.own_will(self.conn())),
            event_kind @ (Kind::HeyThere | Kind::Chau) => {
                let sent_ns = i64::try_from(self.presence.sign_event(now_ns)).unwrap_or(i64::MAX);
                // nara has no mesh network: its MeshIP is empty.
                event::encode(&self.identity, event_kind, sent_ns, "")
            }
        };
        let mut view = self.view();
        view.touch_self(&self.identity.name, host_uptime_s, SystemTime::now());
        if let Some(health) = health {
            view.own_health(&self.identity.name, health.health());
        }
        drop(view);
        (kind.topic(&self.identity.name), payload)
    }

    /// Handles one message from the broker, delivered as it was published: verify,
    /// apply, count, announce changes. Bad input is dropped and counted; nothing here
    /// can fail the caller.
    pub fn receive(&self, topic: &str, payload: &[u8]) -> Result<(), Rejection> {
        self.receive_delivered(topic, payload, Delivery::Live)
    }

    /// [`Plaza::receive`] for a message the broker retained and sends on subscribing: a
    /// newspaper may be as old as the retained newspapers' expiry, and says the nara was
    /// seen when it was signed.
    pub fn receive_retained(&self, topic: &str, payload: &[u8]) -> Result<(), Rejection> {
        let max_age = retained::expiry(self.config.missing_after);
        self.receive_delivered(topic, payload, Delivery::Retained { max_age })
    }

    fn receive_delivered(&self, topic: &str, payload: &[u8], delivery: Delivery) -> Result<(), Rejection> {
        let kind = kind_of_topic(topic);
        let now = SystemTime::now();
        let outcome = wire::decode_delivered(topic, payload, now, self.config.policy, delivery).and_then(|message| {
            // Whatever is logged about this message says which nara it is from.
            let _peer = tracing::debug_span!("plaza_peer", peer = %message.name).entered();
            if matches!(message.body, Body::Will(_)) && !self.is_connected() {
                // It came on a connection that has ended (the MQTT client hands over
                // what it read last only once it connects again): as the broker went
                // away, which publishes every will it holds as it stops.
                return Err(Rejection::Stale);
            }
            if message.name == self.identity.name && message.public_key == self.identity.public_key {
                return self.heard_own_soul(&message, delivery);
            }
            if message.name == self.identity.name {
                // The view refuses it (its key is pinned to this nara's); the operator
                // hears of it.
                self.journal
                    .impostor(&message.name, &message.public_key, kind, Instant::now());
            }
            // A retained newspaper says the nara was seen when it signed it, not now.
            let at = match (delivery, &message.body) {
                (
                    Delivery::Retained { .. },
                    Body::Newspaper(Story {
                        sent_ns: Some(sent_ns), ..
                    }),
                ) => (UNIX_EPOCH + Duration::from_nanos(*sent_ns)).min(now),
                _ => now,
            };
            let mut view = self.view();
            let was = view.status_of(&message.name);
            let confirmable = match delivery {
                Delivery::Live => !matches!(message.body, Body::Will(_)) || self.wills_confirmable(),
                // A will from the store holds its nara SUSPECT, never confirmed: it may
                // be minutes old, and only a newer word from the nara says otherwise.
                Delivery::Retained { .. } => false,
            };
            let change = if confirmable {
                view.apply(&message, at)?
            } else {
                view.apply_stored(&message, at)?
            };
            let forgotten = view.take_forgotten();
            if change.is_some() || !forgotten.is_empty() {
                self.update_peer_gauges(&view);
            }
            for forgot in forgotten {
                tracing::debug!(forgotten = %forgot.peer.name, "the view was full: forgot the longest silent OFFLINE or MISSING nara (its key stays pinned)");
                view.announce(&forgot);
            }
            if let Some(change) = change {
                tracing::debug!(change = change.kind.as_str(), status = ?change.peer.status, "a nara changed");
                self.journal.change(&change, was, Instant::now());
                if change.kind == ChangeKind::VersionChanged {
                    self.metrics.plaza_version_changes.inc();
                }
                view.announce(&change);
            }
            Ok(())
        });
        self.count(topic, outcome);
        if outcome == Err(Rejection::Stale) {
            self.presence
                .check_twin_ahead(&self.identity, self.config.policy, topic, payload);
        }
        outcome
    }

    /// Counts a message on `topic` under what became of it, and logs a refusal (at
    /// most one line a second).
    pub(crate) fn count(&self, topic: &str, outcome: Result<(), Rejection>) {
        let result = match outcome {
            Ok(()) => "accepted",
            Err(rejection) => rejection.as_str(),
        };
        self.metrics
            .plaza_messages
            .with_label_values(&[kind_of_topic(topic), result])
            .inc();
        if let Err(rejection) = outcome {
            self.log_rejection(topic, rejection);
        }
    }

    /// A verified message under this nara's own name and key: its own echo, a twin's,
    /// or a will.
    fn heard_own_soul(&self, message: &message::Message, delivery: Delivery) -> Result<(), Rejection> {
        match &message.body {
            Body::Will(will) if will.boot_id == self.presence.boot_id() => return self.heard_own_will(will),
            // The echo is of what the broker passes on live, not of what it retained.
            Body::HeyThere { .. } if delivery == Delivery::Live => self.echo.heard_hello(),
            Body::Newspaper(story)
                if delivery == Delivery::Live && story.boot_id.as_deref() == Some(self.presence.boot_id()) =>
            {
                self.echo.heard_newspaper();
            }
            _ => {}
        }
        if delivery != Delivery::Live {
            // What a twin (or this soul's last process) left with the broker: it orders
            // this process's newspapers after it, and says nothing of who is alive.
            return self.presence.heard_own_retained(message);
        }
        let act = self.presence.heard_own_soul(message)?;
        self.act(act);
        Ok(())
    }

    /// The broker published a will of this very process. A will of a connection before
    /// this one is old news (the broker publishes it once that connection has ended,
    /// often after this one began). One of this connection, which is alive, was
    /// published again by someone, or by a broker that sends wills of live connections:
    /// observers now hold this nara SUSPECT, and the active process answers at once with
    /// a newspaper, which ends that, and moves to a new connection, whose will is
    /// another, so the one heard can do no more. At most once per [`REFUTE_EVERY`].
    fn heard_own_will(&self, will: &message::Will) -> Result<(), Rejection> {
        if will.conn < self.conn() {
            return Err(Rejection::Stale);
        }
        if self.config.read_only || !self.is_active() || !self.is_connected() {
            return Ok(());
        }
        let mut last = self.last_refutation.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| at.elapsed() < REFUTE_EVERY) {
            return Ok(());
        }
        *last = Some(Instant::now());
        self.metrics.plaza_refutations.inc();
        tracing::info!(
            conn = will.conn,
            "heard the will of this live connection (published again by someone): answering at once, and moving to a new connection"
        );
        self.refute_now.notify_one();
        Ok(())
    }

    /// This nara lost the broker: it takes back every suspicion (a broker that stops
    /// publishes every will it holds, just before the connections close). Returns
    /// whether it was connected.
    pub(crate) fn lost_broker(&self) -> bool {
        let was_connected = self.set_connected(false);
        self.liveness.connection_lost();
        let mut view = self.view();
        let changes = view.clear_suspicions();
        if !changes.is_empty() {
            self.update_peer_gauges(&view);
            tracing::info!(
                naras = changes.len(),
                "lost the broker: the naras SUSPECT on a will heard before are ONLINE again"
            );
        }
        for change in &changes {
            view.announce(change);
        }
        was_connected
    }

    /// Each nara SUSPECT for longer than the confirmation time is MISSING, and is
    /// announced. Cheap while none is SUSPECT.
    pub(crate) fn confirm_suspects(&self) {
        let mut view = self.view();
        let alive_at = self.liveness.alive_at().unwrap_or(UNIX_EPOCH);
        let changes = view.confirm_proven(SystemTime::now(), alive_at);
        if !changes.is_empty() {
            self.update_peer_gauges(&view);
        }
        for change in &changes {
            tracing::debug!(peer = %change.peer.name, "no answer to its will: MISSING");
            view.announce(change);
        }
    }

    /// Whether a nara is SUSPECT: the transport looks at suspicions only then.
    pub(crate) fn has_suspects(&self) -> bool {
        self.view().has_suspects()
    }

    /// The topic of a liveness probe to send now, if a suspicion waits for one and none
    /// is in flight (see [`liveness`]); it is taken as sent.
    pub(crate) fn probe_due(&self) -> Option<String> {
        let wanted = self.is_connected() && self.view().needs_proof_after(self.liveness.alive_at());
        (wanted && self.liveness.send(SystemTime::now())).then(|| liveness::probe_topic(&self.identity.name))
    }

    /// The probe could not be sent after all.
    pub(crate) fn probe_not_sent(&self) {
        self.liveness.connection_lost();
    }

    /// The broker acknowledged a QoS 1 publish: the probe in flight.
    pub(crate) fn probe_acknowledged(&self) {
        self.liveness.acknowledged();
    }

    /// Whether newspapers are published retained (the broker said nothing against it).
    pub(crate) fn retains(&self) -> bool {
        self.retain_available.load(Ordering::SeqCst)
    }

    /// What the broker's CONNACK said of retained messages.
    pub(crate) fn set_retain_available(&self, available: bool) {
        self.retain_available.store(available, Ordering::SeqCst);
    }

    /// How long the broker keeps a retained newspaper.
    pub(crate) fn retained_expiry(&self) -> Duration {
        retained::expiry(self.config.missing_after)
    }

    /// Marks silent naras MISSING and announces it; the journal's bounds move on.
    fn sweep(&self) {
        let mut view = self.view();
        let changes = view.sweep(SystemTime::now());
        if !changes.is_empty() {
            self.update_peer_gauges(&view);
        }
        let now = Instant::now();
        for change in &changes {
            self.journal.change(change, Some(Status::Online), now);
            view.announce(change);
        }
        self.journal.tick(now);
    }

    /// The broker hands back this nara's hey_there and none of its newspapers: it drops
    /// them (see [`echo`]), most likely under an ACL that ties the newspaper topic to
    /// the MQTT user, which this nara's name is not.
    fn warn_newspapers_dropped(&self) {
        let name = &self.identity.name;
        let user = self.config.broker.as_ref().and_then(|b| b.user.as_deref());
        let account = match user {
            Some(user) => format!("the user {user:?}"),
            None => "this anonymous client".to_string(),
        };
        let fix = match user {
            Some(user) if user != name => format!(
                "run this nara as --name {user}, or give the user {user:?} the line `topic write nara/newspaper/{name}`"
            ),
            _ => format!("let this account write nara/newspaper/{name}"),
        };
        tracing::warn!(
            "the broker hands back this nara's hey_there but none of its newspapers: it drops them without a word, \
             most likely because its ACL does not let {account} write nara/newspaper/{name} (the plaza chapter's \
             `pattern write nara/newspaper/%u` lets each user write only the topic of its own name). Other naras see \
             {name:?} ONLINE with no version, then MISSING; {fix}"
        );
    }

    fn update_peer_gauges(&self, view: &View) {
        let counts = view.counts();
        for (status, count) in [
            ("ONLINE", counts.online),
            ("SUSPECT", counts.suspect),
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
/// `duration` in whole milliseconds, saturating.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn kind_of_topic(topic: &str) -> &'static str {
    Kind::of_topic(topic).map_or("other", Kind::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use identity::{Soul, SoulSource};

    #[test]
    fn labelled_counters_are_there_from_the_start_at_zero() {
        let identity = Identity::new(&Soul::mint("me").unwrap(), "me", SoulSource::Ephemeral);
        let metrics = Arc::new(Metrics::new());
        let _plaza = Plaza::new(identity, crate::testing::plaza_config(), metrics.clone());
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

    /// An observer that has heard `peer`'s newspaper on its first connection (1), and
    /// the will `peer` left for its own connection 1.
    fn observer_and_will(name: &str) -> (Arc<Plaza>, String, Vec<u8>) {
        let plaza_of = |name: &str| {
            let identity = Identity::new(&Soul::mint(name).unwrap(), name, SoulSource::Ephemeral);
            Plaza::new(identity, crate::testing::plaza_config(), Arc::new(Metrics::new()))
        };
        let (observer, peer) = (plaza_of("me"), plaza_of(name));
        observer.next_will();
        let will = peer.next_will();
        let (topic, paper) = peer.outgoing(Kind::Newspaper);
        observer.receive(&topic, &paper).unwrap();
        let topic = String::from_utf8(will.topic.to_vec()).unwrap();
        (observer, topic, will.message.to_vec())
    }

    fn status_after_confirming(observer: &Plaza, name: &str) -> Status {
        let mut view = observer.view();
        view.confirm(SystemTime::now() + 2 * view::CONFIRM_AFTER);
        view.peer(name).unwrap().status
    }

    #[test]
    fn a_will_heard_on_the_first_connection_is_confirmed() {
        let (observer, topic, will) = observer_and_will("kit");
        observer.set_connected(true);
        observer.receive(&topic, &will).unwrap();
        assert_eq!(observer.view().peer("kit").unwrap().status, Status::Suspect);
        assert_eq!(status_after_confirming(&observer, "kit"), Status::Missing);
    }

    #[test]
    fn a_will_heard_just_after_connecting_again_holds_its_nara_suspect_unconfirmed() {
        // As after a broker restart: the wills it published as it stopped, or restored
        // from its store for naras not back yet, say nothing of who crashed.
        let (observer, topic, will) = observer_and_will("kit");
        observer.set_connected(true);
        observer.set_connected(false);
        observer.set_connected(true);
        observer.receive(&topic, &will).unwrap();
        assert_eq!(observer.view().peer("kit").unwrap().status, Status::Suspect);
        assert_eq!(status_after_confirming(&observer, "kit"), Status::Suspect);
    }

    #[test]
    fn a_will_heard_once_the_connection_again_has_lasted_is_confirmed() {
        let (observer, topic, will) = observer_and_will("kit");
        observer.set_connected(true);
        observer.set_connected(false);
        observer.set_connected(true);
        observer.reconnected_since(Instant::now() - WILLS_UNCONFIRMED_AFTER_CONNECT);
        observer.receive(&topic, &will).unwrap();
        assert_eq!(status_after_confirming(&observer, "kit"), Status::Missing);
    }

    #[test]
    fn a_newspaper_tells_of_the_start_the_metrics_report() {
        let identity = Identity::new(&Soul::mint("me").unwrap(), "me", SoulSource::Ephemeral);
        let metrics = Arc::new(Metrics::new());
        let plaza = Plaza::new(identity, crate::testing::plaza_config(), metrics.clone());
        let (topic, payload) = plaza.outgoing(Kind::Newspaper);
        let message = wire::decode(&topic, &payload, SystemTime::now(), plaza.config.policy).unwrap();
        let Body::Newspaper(story) = message.body else {
            panic!("not a newspaper: {message:?}");
        };
        let started = metrics.started().wall().duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(story.started_ns, Some(started.as_nanos() as u64));
        assert!(
            story
                .process_uptime_s
                .is_some_and(|up| up <= metrics.started().uptime_s())
        );
    }
}
