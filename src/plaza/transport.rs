//! The plaza's MQTT side: connect (leaving a will with the broker for each connection,
//! see [`super::will`]), subscribe, announce (hey_there and a newspaper after a jitter),
//! a newspaper every interval, retained for newcomers, chau on the way out; feed received messages to the [`Plaza`]; answer a
//! will of its own live connection; and reconnect with capped exponential backoff and
//! jitter when the broker goes away, or under a new client ID when another client took
//! its session (see [`super::client_id`]). HTTP is unaffected by any of it.
//!
//! nara speaks MQTT 5 so that a shared broker, where anyone may publish and retain,
//! cannot knock it off the plaza: CONNECT states a Maximum Packet Size, so the broker
//! drops larger messages for nara instead of sending them (an MQTT client must close a
//! connection that brings an oversized packet, and a retained one would come back on
//! every reconnect), and what a subscription brings from the broker's store is bounded
//! (see [`super::retained`]).

use super::Plaza;
use super::broker_backoff::BrokerBackoff;
use super::broker_trouble::{self, Cause};
use super::cadence::GoHello;
use super::client_id::{ClientId, SessionWatch};
use super::config::Broker;
use super::connection::{self, Connections};
use super::message::{Kind, Rejection};
use super::poller::Poller;
use super::will::{self, SESSION_EXPIRY};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{ConnAck, ConnectReturnCode, Packet, PublishProperties};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions};
use rumqttc::{Outgoing, TlsConfiguration, Transport};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::Instrument;

/// The largest packet nara accepts, stated to the broker in CONNECT. Far above any
/// plaza message (the plaza's own cap, checked and counted per message, is smaller),
/// far below what would hurt: larger messages never reach nara, and are not counted.
pub(crate) const MAX_PACKET: u32 = 256 * 1024;
/// The broker's keepalive: a frozen nara, or one cut off, is noticed by the broker
/// within 1.5 times this, and its will follows (see the plaza chapter's figure).
const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// The MQTT client's slots for outgoing publishes awaiting an acknowledgement. nara
/// publishes at QoS 0 only, which takes none, and subscribes once per connection, which
/// takes one. rumqttc allocates one slot per packet ID it may use, 65,536 unless told
/// otherwise: about 14 MiB per process for nothing.
const OUTGOING_INFLIGHT: u16 = 8;
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// How often a suspicion is looked at: it is confirmed within this of its time. The
/// timer runs only while a nara is SUSPECT: ten wake-ups a second for nothing were
/// most of an idle nara's CPU time.
const CONFIRM_EVERY: Duration = Duration::from_millis(100);
/// How long a stopping active nara waits for a standby twin to take over before it
/// says chau instead.
const HANDOVER_WAIT: Duration = Duration::from_secs(1);
/// How long the receive loop works through a burst before it lets the other tasks run
/// and the runtime poll for I/O. On one thread a request waits a slice for each step
/// (accept, read, answer), so the slice is what a burst adds to it. tokio's cooperative
/// budget (128 polls, some 6 to 15 ms of verifying) was too coarse: `/healthz` took up
/// to 56 ms while the plaza churned.
const BURST_SLICE: Duration = Duration::from_millis(1);

fn options(broker: &Broker, client_id: &ClientId) -> Result<MqttOptions, String> {
    // Per process, not per soul: twins sharing a soul would otherwise take each
    // other's session at the broker, each connection dropping the other's.
    let mut options = MqttOptions::new(client_id.expose(), &broker.host, broker.port);
    options
        .set_keep_alive(KEEP_ALIVE)
        .set_clean_start(true)
        // At least the will delay: a broker may publish the will as soon as the session
        // ends, and a session without expiry ends with its connection.
        .set_session_expiry_interval(Some(will::seconds(SESSION_EXPIRY)))
        .set_max_packet_size(Some(MAX_PACKET))
        .set_outgoing_inflight_upper_limit(OUTGOING_INFLIGHT);
    if let Some(user) = &broker.user {
        let password = broker
            .password
            .as_ref()
            .map(|p| p.expose().to_string())
            .unwrap_or_default();
        options.set_credentials(user, password);
    }
    if broker.tls {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            return Err("mqtts:// needs CA certificates, and none were found (set SSL_CERT_FILE)".into());
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up failed: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(config))));
    }
    Ok(options)
}

/// Runs until `draining` turns true, then says chau and disconnects (bounded in time).
/// Everything it logs is under a `plaza` span that names the broker.
pub(crate) async fn run(plaza: Arc<Plaza>, broker: Broker, draining: watch::Receiver<bool>) {
    let span = tracing::info_span!("plaza", broker = %broker.address());
    attend(plaza, broker, draining).instrument(span).await;
}

/// [`run`] inside its span.
async fn attend(plaza: Arc<Plaza>, broker: Broker, mut draining: watch::Receiver<bool>) {
    let options = match ClientId::mint().and_then(|id| {
        log_client_id(&id);
        options(&broker, &id)
    }) {
        Ok(options) => options,
        Err(reason) => {
            tracing::error!("cannot join the plaza: {reason}");
            return;
        }
    };
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    Connections::prepare(&plaza, &mut eventloop.options);
    let mut poller = Poller::new(eventloop);
    let publish = |kind: Kind| {
        // A read-only nara watches: it never says hello, presence or goodbye. Nor does
        // a standby twin: another process speaks for the soul.
        if plaza.config.read_only || !plaza.is_active() {
            return;
        }
        let (topic, payload) = plaza.outgoing(kind);
        // Never await the request queue here: the event loop that drains it is ours.
        let queued = if kind == Kind::Newspaper && plaza.retains() {
            // Retained, for whoever joins next, until this nara would be MISSING.
            let properties = PublishProperties {
                message_expiry_interval: Some(will::seconds(plaza.retained_expiry())),
                ..PublishProperties::default()
            };
            client.try_publish_with_properties(topic, QoS::AtMostOnce, true, payload, properties)
        } else {
            client.try_publish(topic, QoS::AtMostOnce, false, payload)
        };
        if let Err(err) = queued {
            tracing::debug!(error = %err, kind = kind.as_str(), "could not queue a plaza message");
        }
    };
    // A newspaper out of turn restarts the interval, so the next one is a whole
    // interval away (spread, see `cadence`).
    let newspaper_now = |next: &mut Alarm| {
        publish(Kind::Newspaper);
        next.set(Instant::now() + plaza.next_newspaper_in());
    };

    let mut backoff = BrokerBackoff::new();
    let mut session = SessionWatch::default();
    let mut connections = Connections::new();
    // Unset until the first announce: the first newspaper follows the hey_there (a
    // newspaper before it would reach others ahead of the hello that lets a rebooted
    // host's boot time move).
    let mut newspaper = Alarm::new();
    // While a Go nara is in view, a hey_there now and then (see `cadence::GoHello`).
    let mut go_hello = GoHello::new(Instant::now());
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    let mut confirm = tokio::time::interval(CONFIRM_EVERY);
    confirm.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut announce = Alarm::new();
    let mut slice_began = Instant::now();

    loop {
        let mut pause = None;
        let mut received = false;
        // A suspicion arises only from a message this loop handles, so it is looked at
        // again before the next wait.
        let suspects = plaza.has_suspects();
        tokio::select! {
            (polled, eventloop) = poller.next() => match polled {
                Ok(Event::Incoming(Packet::ConnAck(connack))) => {
                    if session.take_probe() {
                        pause = leave_the_taken_id(&plaza, &mut backoff, &mut session, &client, eventloop);
                    } else {
                        let announce_in = connections.accepted(&plaza);
                        joined_plaza(&plaza, &client, &session, &connack);
                        backoff.accepted(Instant::now());
                        announce.set(Instant::now() + announce_in);
                    }
                }
                Ok(Event::Outgoing(Outgoing::Disconnect)) if session.is_rotating() => {
                    // The DISCONNECT is on the wire (the broker drops the old
                    // connection's will with it): the next connection has its own.
                    eventloop.clean();
                    Connections::prepare(&plaza, &mut eventloop.options);
                    pause = Some(session.rotated());
                }
                Ok(Event::Incoming(Packet::PubAck(_))) => plaza.probe_acknowledged(),
                Ok(Event::Incoming(Packet::Publish(message))) => {
                    let topic = String::from_utf8_lossy(&message.topic);
                    let outcome = if !message.retain {
                        plaza.receive(&topic, &message.payload)
                    } else if message.payload.len() <= plaza.config.policy.max_bytes
                        && !connections.read_retained(message.payload.len())
                    {
                        // Retained beyond what a connection reads of those: dropped
                        // unread, and counted.
                        plaza.count(&topic, Err(Rejection::RetainedOverBudget));
                        Err(Rejection::RetainedOverBudget)
                    } else {
                        plaza.receive_retained(&topic, &message.payload)
                    };
                    drop(message);
                    if outcome.is_ok() {
                        // A valid plaza message: this connection works.
                        backoff.message_arrived();
                    }
                    received = true;
                }
                Ok(_) => {}
                // The connection left on purpose ended before our DISCONNECT went out.
                Err(_) if session.is_rotating() => {
                    Connections::prepare(&plaza, &mut eventloop.options);
                    pause = Some(session.rotated());
                }
                Err(err) => {
                    announce.unset();
                    pause = broker_failed(&plaza, &broker, &mut backoff, &mut session, &mut eventloop.options, &err);
                    Connections::prepare(&plaza, &mut eventloop.options);
                }
            },
            () = announce.rings() => {
                // As the Go nara starts: hello, then at once what it runs, so that
                // others need not wait a newspaper interval to learn its version. The
                // next one comes at a random point of the interval: this nara's phase
                // is its own, however many naras connected in the same second.
                publish(Kind::HeyThere);
                go_hello.said_hello(Instant::now());
                publish(Kind::Newspaper);
                newspaper.set(Instant::now() + plaza.first_newspaper_in());
            }
            () = newspaper.rings() => {
                if plaza.is_connected() {
                    publish(Kind::Newspaper);
                }
                newspaper.set(Instant::now() + plaza.next_newspaper_in());
            }
            // The role logic wants a newspaper out: this process took over its soul, or
            // a lower twin must hear it and yield.
            () = plaza.publish_now.notified() => if plaza.is_connected() {
                newspaper_now(&mut newspaper);
            },
            // Someone published the will of this live connection: say otherwise at
            // once, then leave the connection for one whose will is another.
            () = plaza.refute_now.notified() => if plaza.is_connected() && !session.is_rotating() {
                newspaper_now(&mut newspaper);
                connections.move_on();
                session.rotate(Duration::ZERO);
                if client.try_disconnect().is_err() {
                    session.rotated();
                }
            },
            _ = sweep.tick() => {
                plaza.sweep();
                plaza.role_tick();
                if plaza.is_connected() && go_hello.due(Instant::now(), || plaza.go_around()) {
                    publish(Kind::HeyThere);
                }
                // A takeover stays shown until a connection lasts.
                if backoff.settled(Instant::now()) && session.takeover_cleared() {
                    plaza.clear_broker_trouble();
                }
            }
            _ = confirm.tick(), if suspects => {
                plaza.confirm_suspects();
                if let Some(topic) = plaza.probe_due()
                    && client.try_publish(topic, QoS::AtLeastOnce, false, Vec::new()).is_err()
                {
                    plaza.probe_not_sent();
                }
            }
            _ = draining.wait_for(|d| *d) => break,
        }
        if received && slice_began.elapsed() >= BURST_SLICE {
            // A burst arrives already buffered, so polling never waits: yield now and
            // then, or a one-core nara (one thread) answers no request meanwhile.
            tokio::task::yield_now().await;
            slice_began = Instant::now();
        }
        if let Some(wait) = pause {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = draining.wait_for(|d| *d) => break,
            }
        }
    }

    leave(&plaza, &client, &mut poller, publish).await;
}

/// The broker accepted us: the plaza hears it (and whether the broker keeps retained
/// messages), and the transport subscribes. A takeover stays shown: until a connection
/// lasts, it is not over.
fn joined_plaza(plaza: &Plaza, client: &AsyncClient, session: &SessionWatch, connack: &ConnAck) {
    plaza.set_connected(true);
    if !session.takeover_shown() {
        plaza.clear_broker_trouble();
    }
    let retain_available = connack
        .properties
        .as_ref()
        .and_then(|p| p.retain_available)
        .is_none_or(|available| available != 0);
    if !retain_available && plaza.retains() {
        tracing::warn!(
            "the broker keeps no retained messages: newcomers learn of this nara at its next newspaper, not at once"
        );
    }
    plaza.set_retain_available(retain_available);
    tracing::info!(conn = plaza.conn(), "joined the plaza");
    if let Err(err) = client.try_subscribe_many(connection::subscriptions()) {
        tracing::warn!(error = %err, "could not subscribe to the plaza");
    }
}

/// The connection, or an attempt at one, failed with `err`: the plaza records why, and
/// an operator hears it. Returns how long to wait before trying again: none when the
/// broker closed an accepted connection without a reason, since only asking again at
/// once tells a takeover from a broker going away.
fn broker_failed(
    plaza: &Plaza,
    broker: &Broker,
    backoff: &mut BrokerBackoff,
    session: &mut SessionWatch,
    options: &mut MqttOptions,
    err: &ConnectionError,
) -> Option<Duration> {
    if matches!(
        err,
        ConnectionError::ConnectionRefused(ConnectReturnCode::RetainNotSupported)
    ) && plaza.retains()
    {
        // A broker that keeps no retained messages refuses a CONNECT whose will would be
        // retained (mosquitto's retain_available false): ask again at once, with a will
        // and newspapers it need not keep.
        tracing::warn!(
            "the broker keeps no retained messages: newcomers learn of this nara at its next newspaper, not at once, nor of its crash"
        );
        plaza.set_retain_available(false);
        return Some(Duration::ZERO);
    }
    let was_accepted = backoff.ended(Instant::now());
    let was_connected = plaza.lost_broker();
    if was_accepted && broker_trouble::closed_by_broker(err) {
        session.probe();
        return None;
    }
    if session.take_probe() {
        // The broker did not take us back at once: it went away, and this attempt's
        // failure says more.
        let lost = broker_trouble::lost_after_close();
        session.takeover_cleared();
        plaza.record_broker_trouble(Cause::Lost, &lost);
        tracing::warn!("{lost}");
    }
    let (cause, explained) = broker_trouble::explain(err, was_accepted, &broker.password_sources);
    if cause == Cause::TakenOver {
        return Some(taken_over(plaza, backoff, session, options, &explained));
    }
    Some(trouble(plaza, backoff, session, cause, &explained, was_connected))
}

/// The broker closed our connection and took us back at once: it stayed up, so another
/// client had our ID. Leaves this connection, under the ID that client knows, to come
/// back under a new one; returns the wait before that if the connection is gone already.
fn leave_the_taken_id(
    plaza: &Plaza,
    backoff: &mut BrokerBackoff,
    session: &mut SessionWatch,
    client: &AsyncClient,
    eventloop: &mut EventLoop,
) -> Option<Duration> {
    let explained = broker_trouble::taken_over_probably();
    let wait = taken_over(plaza, backoff, session, &mut eventloop.options, &explained);
    session.rotate(wait);
    if client.try_disconnect().is_ok() {
        return None;
    }
    eventloop.clean();
    Some(session.rotated())
}

/// Records `cause` in the plaza and tells an operator: once per kind of trouble, or
/// when a connection was lost; then quietly, so that a broker that stays away does not
/// fill the journal. Returns how long to wait before trying again.
fn trouble(
    plaza: &Plaza,
    backoff: &mut BrokerBackoff,
    session: &mut SessionWatch,
    cause: Cause,
    explained: &str,
    was_connected: bool,
) -> Duration {
    session.takeover_cleared();
    let new_trouble = plaza.record_broker_trouble(cause, explained);
    let wait = backoff.failed(cause);
    if was_connected || new_trouble {
        tracing::warn!(retry_in_s = wait.as_secs(), "{explained}");
    } else {
        tracing::debug!(attempt = backoff.failures(), retry_in_s = wait.as_secs(), "{explained}");
    }
    wait
}

/// Another client took this process's session: the plaza records it, an operator hears
/// it (once, until a connection lasts), and the next connection is under a new client
/// ID, so whoever had the old one has nothing. Returns how long to wait before it.
fn taken_over(
    plaza: &Plaza,
    backoff: &mut BrokerBackoff,
    session: &mut SessionWatch,
    options: &mut MqttOptions,
    explained: &str,
) -> Duration {
    let wait = backoff.taken_over();
    match ClientId::mint() {
        Ok(id) => {
            log_client_id(&id);
            options.set_client_id(id.expose().to_string());
        }
        Err(reason) => tracing::warn!("{reason}: this process keeps its client ID"),
    }
    let new_trouble = plaza.record_broker_trouble(Cause::TakenOver, explained);
    if !session.show_takeover() || new_trouble {
        tracing::warn!(retry_in_s = wait.as_secs(), "{explained}");
    } else {
        tracing::debug!(attempt = backoff.failures(), retry_in_s = wait.as_secs(), "{explained}");
    }
    wait
}

/// The client ID at debug level only: an operator who needs to find this process in
/// the broker's log can, and an info log, which more people read, never holds it.
fn log_client_id(id: &ClientId) {
    tracing::debug!(client_id = id.expose(), "this process's MQTT client ID (secret)");
}

/// A moment the transport waits for, or none: the announce after a CONNACK, the next
/// newspaper. Unlike a bare `Sleep`, it knows whether it is set, and rings once.
struct Alarm {
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// When it rings, if it is set.
    at: Option<Instant>,
}

impl Alarm {
    /// An alarm not set.
    fn new() -> Alarm {
        Alarm {
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            at: None,
        }
    }

    /// Rings at `at` (at once if it has passed), instead of whenever it was set for.
    /// Set again for the same moment, it stays as it is.
    fn set(&mut self, at: Instant) {
        if self.at != Some(at) {
            self.sleep.as_mut().reset(tokio::time::Instant::from_std(at));
            self.at = Some(at);
        }
    }

    fn unset(&mut self) {
        self.at = None;
    }

    #[cfg(test)]
    fn is_set(&self) -> bool {
        self.at.is_some()
    }

    /// Completes when the moment it is set for comes, and unsets it; never while it is
    /// not set. Dropped before it completes, it stays as it was.
    async fn rings(&mut self) {
        if self.at.is_none() {
            return std::future::pending().await;
        }
        self.sleep.as_mut().await;
        self.at = None;
    }
}

/// The way out, once draining began: an active nara hands the plaza over to a standby
/// twin if one answers in time, or else says chau; then it disconnects, and drives the
/// event loop until the last words are on the wire (each step bounded in time).
async fn leave(plaza: &Plaza, client: &AsyncClient, poller: &mut Poller, publish: impl Fn(Kind)) {
    if plaza.is_connected() {
        if plaza.is_active() && !plaza.config.read_only {
            // A standby twin, if there is one, takes over on this; it answers within
            // a round trip, and then no chau is due: the nara did not leave.
            let (topic, payload) = plaza.outgoing_handover();
            let _ = client.try_publish(topic, QoS::AtMostOnce, false, payload);
            let _ = tokio::time::timeout(HANDOVER_WAIT, async {
                while !plaza.twin_took_over() {
                    match poller.next().await.0 {
                        Ok(Event::Incoming(Packet::Publish(message))) => {
                            let _ = plaza.receive(&String::from_utf8_lossy(&message.topic), &message.payload);
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            })
            .await;
            if plaza.twin_took_over() {
                tracing::info!("handed the plaza over to a twin with this soul");
            } else {
                publish(Kind::Chau);
                if plaza.retains() {
                    // Gone: a newcomer must not find it in the broker's store.
                    let topic = Kind::Newspaper.topic(&plaza.identity.name);
                    let _ = client.try_publish(topic, QoS::AtMostOnce, true, Vec::new());
                }
            }
        } else if plaza.config.read_only {
            tracing::debug!("read-only: leaving the plaza without a chau");
        } else {
            tracing::debug!("standby: leaving the plaza without a word");
        }
        let _ = client.try_disconnect();
        // Drive the event loop until the last words and the disconnect are on the wire.
        let flushed = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                match poller.next().await.0 {
                    Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        if flushed.is_err() {
            tracing::warn!("the plaza broker did not take our last words within 2 s");
        } else {
            tracing::info!("left the plaza");
        }
    }
    plaza.set_connected(false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::task::{Context, Waker};

    /// Whether `alarm` rings when asked once, without waiting.
    fn rings_now(alarm: &mut Alarm) -> bool {
        let mut rings = std::pin::pin!(alarm.rings());
        rings.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_ready()
    }

    #[test]
    fn the_client_keeps_a_few_slots_for_unacknowledged_publishes_not_65536() {
        let broker = Broker {
            tls: false,
            host: "127.0.0.1".into(),
            port: 1883,
            user: None,
            password: None,
            password_sources: String::new(),
        };
        let options = options(&broker, &ClientId::mint().unwrap()).unwrap();
        assert_eq!(options.get_outgoing_inflight_upper_limit(), Some(OUTGOING_INFLIGHT));
    }

    #[tokio::test]
    async fn an_alarm_rings_once_when_set_and_never_when_not() {
        let mut alarm = Alarm::new();
        assert!(!rings_now(&mut alarm), "not set: it never rings");
        alarm.set(Instant::now());
        alarm.rings().await;
        assert!(!alarm.is_set(), "ringing unsets it");
        assert!(!rings_now(&mut alarm), "it rings once");
        alarm.set(Instant::now() - Duration::from_secs(1));
        assert!(rings_now(&mut alarm), "set for a moment past: at once");
    }

    #[tokio::test]
    async fn an_alarm_unset_or_not_yet_due_stays_as_it_was() {
        let mut alarm = Alarm::new();
        alarm.set(Instant::now() + Duration::from_secs(3600));
        assert!(!rings_now(&mut alarm), "an hour away");
        assert!(alarm.is_set(), "asking did not unset it");
        alarm.set(Instant::now() - Duration::from_secs(1));
        alarm.unset();
        assert!(!rings_now(&mut alarm), "unset, a moment past does not ring");
    }
}
