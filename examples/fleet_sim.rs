//! A fleet of naras in one process, for the Fleet bench at N = 1,000 (`bench/fleet.py
//! --sim`): one real nara per process would measure two cores starving, not the design.
//!
//! Each member has its own soul, its own secret client ID and its own MQTT 5 connection
//! to the broker, made as the nara's transport makes it: keepalive 30 s, clean start,
//! the session kept [`will::SESSION_EXPIRY`], packets up to 256 KiB, a signed will for
//! each connection ([`will::retained_last_will`]: delay 2 s, QoS 0, retained as long as
//! the newspapers), the nara's subscriptions (the newspapers and the wills with what the
//! broker retained, the events without). It announces as the nara does (hey_there and a newspaper, after a random
//! wait up to 5 s on its first connection and 0.5 s on a later one), then sends a
//! newspaper, retained with a Message Expiry of `--plaza-missing-after`, at a random
//! phase of its interval and then every interval ± 10 %, the interval stretching with
//! the plaza as the cadence law says: clamp(N / R, base, C). It answers a will of its
//! own live connection as the nara does (a newspaper at once, then a new connection),
//! and reconnects with the nara's backoff (250 ms, doubling to 30 s, each with up to half
//! again at random). It answers no hey_there: the design has no welcome.
//!
//! What a member does not do: keep a view. It counts what it receives and verifies
//! nothing, so the observers of the bench stay real naras.
//!
//! Commanded by lines on stdin, each answered by one line on stdout:
//!
//! ```text
//! kill NAME     drop NAME's connection without DISCONNECT (a crash: the broker sends its will)
//! freeze NAME   NAME stops reading, writing and sending (a SIGSTOP: its keepalive lapses)
//! thaw NAME     NAME goes on where it stopped
//! join NAME     a new member NAME connects and announces itself
//! stats         one line of JSON: members, connections, what they published and received
//! ```
//!
//! Run: cargo run --release --example fleet_sim -- mqtt://127.0.0.1:1883 1000 \
//!     [--prefix sim-] [--others 16] [--via NAME=PORT]... [--fleet-rate 10] \
//!     [--newspaper-interval 30] [--missing-after 360]
//!
//! `--others` is the naras outside this process that every view holds (the bench's
//! real ones), counted in N; `--via NAME=PORT` sends NAME's connections to
//! 127.0.0.1:PORT instead (a link of the bench's proxy, for cuts).

#[path = "support/crowd.rs"]
mod crowd;

use nara::newspaper::{self, OwnStatus};
use nara::will::{self, OwnWill};
use nara::{Identity, Kind, event};
use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, PublishProperties, RetainForwardRule};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions};
use std::collections::HashMap;
use std::future::Future;
use std::io::{BufRead, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The nara transport's keepalive.
const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// The largest packet a nara accepts.
const MAX_PACKET: u32 = 256 * 1024;
/// The MQTT client's slots for unacknowledged publishes: QoS 0 takes none.
const INFLIGHT: u16 = 8;
/// Requests a member may queue.
const QUEUE: usize = 16;
/// The nara's announce jitter on a first connection, and on a later one.
const ANNOUNCE_JITTER: Duration = Duration::from_secs(5);
const COMEBACK_JITTER: Duration = Duration::from_millis(500);
/// The nara's reconnect backoff.
const FIRST_WAIT: Duration = Duration::from_millis(250);
const MAX_WAIT: Duration = Duration::from_secs(30);
/// A nara answers its own will at most this often.
const REFUTE_EVERY: Duration = Duration::from_secs(1);
/// Each interval is the law's, spread this much either way.
const SPREAD: f64 = 0.1;
/// The longest interval fits this many times, each late by the spread, in the silence
/// after which a nara is MISSING.
const INTERVALS_TO_MISSING: f64 = 2.0 * (1.0 + SPREAD);

/// The cadence law and the counters every member shares.
struct Fleet {
    base: Duration,
    rate: f64,
    missing_after: Duration,
    /// Naras outside this process in every view.
    others: usize,
    /// Members whose process "runs" (killed ones are gone).
    alive: AtomicUsize,
    connected: AtomicUsize,
    connects: AtomicU64,
    failures: AtomicU64,
    newspapers: AtomicU64,
    hey_theres: AtomicU64,
    refutations: AtomicU64,
    received: AtomicU64,
    received_bytes: AtomicU64,
    received_retained: AtomicU64,
    received_wills: AtomicU64,
    received_hey_theres: AtomicU64,
}

impl Fleet {
    /// C: the longest interval (no Go nara in this plaza).
    fn longest(&self) -> Duration {
        let longest_s = (self.missing_after.as_secs_f64() / INTERVALS_TO_MISSING).floor();
        Duration::from_secs(longest_s as u64).max(self.base)
    }

    /// The law's interval for the plaza as it is now.
    fn interval(&self) -> Duration {
        let naras = self.alive.load(Ordering::Relaxed) + self.others;
        let longest = self.longest();
        Duration::from_secs_f64((naras as f64 / self.rate).min(longest.as_secs_f64())).clamp(self.base, longest)
    }

    fn stats(&self, started: Instant) -> String {
        let n = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        serde_json::json!({
            "seconds": started.elapsed().as_secs_f64(),
            "alive": self.alive.load(Ordering::Relaxed),
            "connected": self.connected.load(Ordering::Relaxed),
            "interval_s": self.interval().as_secs_f64(),
            "connects": n(&self.connects),
            "failures": n(&self.failures),
            "published": {"newspaper": n(&self.newspapers), "hey_there": n(&self.hey_theres),
                          "refutation": n(&self.refutations)},
            "received": {"messages": n(&self.received), "bytes": n(&self.received_bytes),
                         "retained": n(&self.received_retained), "will": n(&self.received_wills),
                         "hey_there": n(&self.received_hey_theres)},
            "rss_kib": rss_kib(),
        })
        .to_string()
    }
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A random number in [0, 1).
fn unit() -> f64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

fn jitter(max: Duration) -> Duration {
    max.mul_f64(unit())
}

/// A secret client ID as the nara makes one: 23 letters and digits.
fn client_id() -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..23)
        .map(|_| char::from(ALPHABET[(unit() * 62.0) as usize % 62]))
        .collect()
}

/// What the harness tells a member.
#[derive(Debug)]
enum Command {
    Freeze,
    Thaw,
}

/// The event loop, polled through a future that outlives the member's `select!` (a
/// poll dropped halfway drops the connection it was making), as the nara's transport does.
struct Poller {
    idle: Option<EventLoop>,
    polling: Option<Polling>,
}

/// A poll under way: it owns the event loop, and gives it back with what it polled.
type Polling = Pin<Box<dyn Future<Output = (EventLoop, Result<Event, ConnectionError>)> + Send>>;

impl Poller {
    async fn next(&mut self) -> (Result<Event, ConnectionError>, &mut EventLoop) {
        if let Some(mut eventloop) = self.idle.take() {
            self.polling = Some(Box::pin(async move {
                let polled = eventloop.poll().await;
                (eventloop, polled)
            }));
        }
        let Some(polling) = self.polling.as_mut() else {
            unreachable!("the event loop is idle or in a poll")
        };
        let (eventloop, polled) = polling.await;
        self.polling = None;
        (polled, self.idle.insert(eventloop))
    }
}

/// One member: a soul, a process (boot_id), its connections.
struct Member {
    identity: Identity,
    boot_id: String,
    started_ns: u64,
    /// The current connection (1, 2, …), as its will and newspapers say.
    conn: u32,
    last_signed_ns: u64,
    will_topic: String,
    fleet: Arc<Fleet>,
}

impl Member {
    /// A signing time later than every earlier one of this process.
    fn sign_ns(&mut self) -> u64 {
        self.last_signed_ns = now_ns().max(self.last_signed_ns + 1);
        self.last_signed_ns
    }

    /// The will of the next connection, left in `options`.
    fn next_will(&mut self, options: &mut MqttOptions) {
        self.conn += 1;
        let signed_ns = self.sign_ns();
        let own = OwnWill {
            boot_id: &self.boot_id,
            conn: self.conn,
            signed_ns,
        };
        // Retained as the newspapers are, so that whoever subscribes after a crash
        // learns of it too.
        let keep_for = nara::retained::expiry(self.fleet.missing_after);
        options.set_last_will(will::retained_last_will(&self.identity, &own, keep_for));
    }

    fn newspaper(&mut self, client: &AsyncClient) {
        let sent_ns = self.sign_ns();
        let process_uptime_s = (sent_ns.saturating_sub(self.started_ns)) / 1_000_000_000;
        let payload = newspaper::encode(
            &self.identity,
            &OwnStatus {
                version: nara::VERSION,
                revision: nara::REVISION,
                profile: "release",
                public_url: None,
                host_uptime_s: 86_400 + process_uptime_s,
                process_uptime_s,
                sent_ns,
                boot_id: &self.boot_id,
                conn: self.conn,
                started_ns: self.started_ns,
                role_pin: "auto",
                handover: false,
                tags: &nara::tags::NO_TAGS,
                // As many bytes as a real nara's: its health, at typical values.
                health: nara::testing::typical_host_health(),
            },
        );
        // Retained, for whoever joins next, until this nara would be MISSING.
        let properties = PublishProperties {
            message_expiry_interval: Some(nara::retained::expiry(self.fleet.missing_after).as_secs() as u32),
            ..PublishProperties::default()
        };
        let topic = Kind::Newspaper.topic(&self.identity.name);
        if client
            .try_publish_with_properties(topic, QoS::AtMostOnce, true, payload, properties)
            .is_ok()
        {
            self.fleet.newspapers.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn hey_there(&mut self, client: &AsyncClient) {
        let sent_ns = i64::try_from(self.sign_ns()).unwrap_or(i64::MAX);
        let payload = event::encode(&self.identity, Kind::HeyThere, sent_ns, "");
        let topic = Kind::HeyThere.topic(&self.identity.name);
        if client.try_publish(topic, QoS::AtMostOnce, false, payload).is_ok() {
            self.fleet.hey_theres.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether `payload` is this member's will for the connection now open.
    fn names_this_connection(&self, payload: &[u8]) -> bool {
        let Ok(will) = serde_json::from_slice::<serde_json::Value>(payload) else {
            return false;
        };
        will["Will"]["boot_id"] == self.boot_id.as_str() && will["Will"]["conn"] == self.conn
    }
}

fn subscriptions() -> [Filter; 4] {
    let filter = |topic: &str, rule| Filter {
        retain_forward_rule: rule,
        ..Filter::new(topic, QoS::AtMostOnce)
    };
    [
        filter("nara/newspaper/+", RetainForwardRule::OnEverySubscribe),
        filter("nara/plaza/hey_there", RetainForwardRule::Never),
        filter("nara/plaza/chau", RetainForwardRule::Never),
        filter("nara/will/+", RetainForwardRule::OnEverySubscribe),
    ]
}

fn options(host: &str, port: u16) -> MqttOptions {
    let mut options = MqttOptions::new(client_id(), host, port);
    options
        .set_keep_alive(KEEP_ALIVE)
        .set_clean_start(true)
        .set_session_expiry_interval(Some(will::SESSION_EXPIRY.as_secs() as u32))
        .set_max_packet_size(Some(MAX_PACKET))
        .set_outgoing_inflight_upper_limit(INFLIGHT);
    options
}

/// The earliest of the moments that are set.
fn earliest(moments: &[Option<Instant>]) -> Option<Instant> {
    moments.iter().flatten().min().copied()
}

/// Runs one member until its command channel closes (a kill: the event loop is dropped
/// with its socket, no DISCONNECT).
async fn run(mut member: Member, host: String, port: u16, mut commands: mpsc::UnboundedReceiver<Command>) {
    let fleet = member.fleet.clone();
    let (client, mut eventloop) = AsyncClient::new(options(&host, port), QUEUE);
    member.next_will(&mut eventloop.options);
    let mut poller = Poller {
        idle: Some(eventloop),
        polling: None,
    };
    let mut frozen = false;
    let mut connected = false;
    let mut ever_connected = false;
    let mut rotating = false;
    let mut announce_now = false;
    let mut wait = FIRST_WAIT;
    let mut announce: Option<Instant> = None;
    let mut next_newspaper: Option<Instant> = None;
    let mut retry_at: Option<Instant> = None;
    let mut refuted_at: Option<Instant> = None;
    loop {
        let wake = if frozen {
            None
        } else {
            earliest(&[announce, next_newspaper, retry_at])
        };
        tokio::select! {
            (polled, eventloop) = poller.next(), if !frozen && retry_at.is_none() => match polled {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    connected = true;
                    fleet.connected.fetch_add(1, Ordering::Relaxed);
                    fleet.connects.fetch_add(1, Ordering::Relaxed);
                    wait = FIRST_WAIT;
                    let _ = client.try_subscribe_many(subscriptions());
                    let after = if std::mem::take(&mut announce_now) {
                        Duration::ZERO
                    } else if ever_connected {
                        jitter(COMEBACK_JITTER)
                    } else {
                        jitter(ANNOUNCE_JITTER)
                    };
                    ever_connected = true;
                    announce = Some(Instant::now() + after);
                }
                Ok(Event::Incoming(Packet::Publish(message))) => {
                    fleet.received.fetch_add(1, Ordering::Relaxed);
                    fleet.received_bytes.fetch_add(message.payload.len() as u64, Ordering::Relaxed);
                    if message.retain {
                        fleet.received_retained.fetch_add(1, Ordering::Relaxed);
                    }
                    if message.topic.starts_with(b"nara/will/") {
                        fleet.received_wills.fetch_add(1, Ordering::Relaxed);
                    } else if message.topic.as_ref() == b"nara/plaza/hey_there" {
                        fleet.received_hey_theres.fetch_add(1, Ordering::Relaxed);
                    }
                    // Someone published the will of this live connection: say otherwise
                    // at once, then leave it for one whose will is another.
                    if connected
                        && !rotating
                        && message.topic.as_ref() == member.will_topic.as_bytes()
                        && member.names_this_connection(&message.payload)
                        && refuted_at.is_none_or(|at| at.elapsed() >= REFUTE_EVERY)
                    {
                        refuted_at = Some(Instant::now());
                        fleet.refutations.fetch_add(1, Ordering::Relaxed);
                        member.newspaper(&client);
                        next_newspaper = Some(Instant::now() + fleet.interval().mul_f64(1.0 - SPREAD + 2.0 * SPREAD * unit()));
                        rotating = true;
                        announce_now = true;
                        let _ = client.try_disconnect();
                    }
                }
                Ok(Event::Outgoing(Outgoing::Disconnect)) if rotating => {
                    // The DISCONNECT is on the wire: the next connection has its own will.
                    rotating = false;
                    connected = false;
                    fleet.connected.fetch_sub(1, Ordering::Relaxed);
                    eventloop.clean();
                    member.next_will(&mut eventloop.options);
                }
                Ok(_) => {}
                Err(_) => {
                    fleet.failures.fetch_add(1, Ordering::Relaxed);
                    if std::mem::take(&mut connected) {
                        fleet.connected.fetch_sub(1, Ordering::Relaxed);
                    }
                    rotating = false;
                    announce = None;
                    member.next_will(&mut eventloop.options);
                    retry_at = Some(Instant::now() + wait + jitter(wait / 2));
                    wait = (wait * 2).min(MAX_WAIT);
                }
            },
            () = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                let now = Instant::now();
                if retry_at.is_some_and(|at| at <= now) {
                    retry_at = None;
                }
                if announce.is_some_and(|at| at <= now) {
                    announce = None;
                    if connected {
                        // As the nara starts: hello, then what it runs; the next
                        // newspaper at a random point of the interval.
                        member.hey_there(&client);
                        member.newspaper(&client);
                        next_newspaper = Some(now + fleet.interval().mul_f64(unit()));
                    }
                }
                if next_newspaper.is_some_and(|at| at <= now) {
                    if connected {
                        member.newspaper(&client);
                    }
                    next_newspaper = Some(now + fleet.interval().mul_f64(1.0 - SPREAD + 2.0 * SPREAD * unit()));
                }
            }
            command = commands.recv() => match command {
                Some(Command::Freeze) => frozen = true,
                Some(Command::Thaw) => frozen = false,
                None => break,
            },
        }
    }
    if connected {
        fleet.connected.fetch_sub(1, Ordering::Relaxed);
    }
    fleet.alive.fetch_sub(1, Ordering::Relaxed);
}

/// Where each member connects, and how members are made.
struct Spawner {
    host: String,
    port: u16,
    via: HashMap<String, u16>,
    fleet: Arc<Fleet>,
    members: HashMap<String, mpsc::UnboundedSender<Command>>,
}

impl Spawner {
    fn spawn(&mut self, identity: Identity) {
        let name = identity.name.clone();
        let port = self.via.get(&name).copied().unwrap_or(self.port);
        let host = if self.via.contains_key(&name) {
            "127.0.0.1".to_string()
        } else {
            self.host.clone()
        };
        let mut boot = [0u8; 8];
        let _ = getrandom::fill(&mut boot);
        let member = Member {
            will_topic: will::topic(&name),
            boot_id: boot.iter().map(|b| format!("{b:02x}")).collect(),
            started_ns: now_ns(),
            conn: 0,
            last_signed_ns: 0,
            identity,
            fleet: self.fleet.clone(),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        self.fleet.alive.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(run(member, host, port, rx));
        self.members.insert(name, tx);
    }

    /// One command line, answered with one line.
    fn command(&mut self, line: &str, started: Instant) -> String {
        let mut words = line.split_whitespace();
        let (Some(verb), name) = (words.next(), words.next()) else {
            return "error: empty command".into();
        };
        match (verb, name) {
            ("stats", None) => self.fleet.stats(started),
            ("join", Some(name)) if !self.members.contains_key(name) => match nara::validate_name(name) {
                Ok(_) => {
                    self.spawn(crowd::native("fleet-sim", 1, |_| name.to_string()).remove(0));
                    "ok".into()
                }
                Err(e) => format!("error: {e}"),
            },
            ("kill", Some(name)) => match self.members.remove(name) {
                Some(_) => "ok".into(), // dropping the sender ends the member
                None => format!("error: no member {name:?}"),
            },
            ("freeze" | "thaw", Some(name)) => {
                let command = if verb == "freeze" {
                    Command::Freeze
                } else {
                    Command::Thaw
                };
                match self.members.get(name).map(|tx| tx.send(command)) {
                    Some(Ok(())) => "ok".into(),
                    _ => format!("error: no member {name:?}"),
                }
            }
            _ => format!("error: unknown command {line:?}"),
        }
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: fleet_sim mqtt://HOST:PORT COUNT [--prefix P] [--others N] [--via NAME=PORT]... \
         [--fleet-rate R] [--newspaper-interval S] [--missing-after S]"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [broker, count, rest @ ..] = args.as_slice() else {
        usage()
    };
    let Some((host, port)) = broker.trim_start_matches("mqtt://").rsplit_once(':') else {
        usage()
    };
    let (Ok(port), Ok(count)) = (port.parse::<u16>(), count.parse::<usize>()) else {
        usage()
    };
    let (mut prefix, mut others, mut rate, mut base, mut missing_after) =
        ("sim-".to_string(), 0usize, 10.0, 30.0, 360.0);
    let mut via = HashMap::new();
    let mut rest = rest.iter();
    while let (Some(flag), Some(value)) = (rest.next(), rest.next()) {
        let number = || {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .unwrap_or_else(|| usage())
        };
        match flag.as_str() {
            "--prefix" => prefix = value.clone(),
            "--others" => others = number() as usize,
            "--fleet-rate" => rate = number(),
            "--newspaper-interval" => base = number(),
            "--missing-after" => missing_after = number(),
            "--via" => {
                let Some((name, port)) = value.split_once('=') else {
                    usage()
                };
                let Ok(port) = port.parse::<u16>() else { usage() };
                via.insert(name.to_string(), port);
            }
            _ => usage(),
        }
    }
    if rate <= 0.0 || base <= 0.0 || missing_after <= 0.0 {
        usage();
    }
    let fleet = Arc::new(Fleet {
        base: Duration::from_secs_f64(base),
        rate,
        missing_after: Duration::from_secs_f64(missing_after),
        others,
        alive: AtomicUsize::new(0),
        connected: AtomicUsize::new(0),
        connects: AtomicU64::new(0),
        failures: AtomicU64::new(0),
        newspapers: AtomicU64::new(0),
        hey_theres: AtomicU64::new(0),
        refutations: AtomicU64::new(0),
        received: AtomicU64::new(0),
        received_bytes: AtomicU64::new(0),
        received_retained: AtomicU64::new(0),
        received_wills: AtomicU64::new(0),
        received_hey_theres: AtomicU64::new(0),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let started = Instant::now();
        let mut spawner = Spawner {
            host: host.to_string(),
            port,
            via,
            fleet,
            members: HashMap::new(),
        };
        for identity in crowd::native("fleet-sim", count, |i| format!("{prefix}{i:04}")) {
            spawner.spawn(identity);
        }
        // stdin is read on a thread of its own (tokio's reads it on its blocking pool
        // anyway); each line comes here and is answered on stdout.
        let (lines_tx, mut lines) = mpsc::unbounded_channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let say = |text: &str| {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{text}").and_then(|()| stdout.flush()).is_ok()
        };
        if !say(&format!("started {count}")) {
            return;
        }
        // Until stdin closes: the harness is gone, and so is the fleet.
        while let Some(line) = lines.recv().await {
            if !say(&spawner.command(&line, started)) {
                break;
            }
        }
    });
}
