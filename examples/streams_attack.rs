//! The event-stream attack, for `make bench`'s "Streams" section: NARAS naras join the
//! plaza through BROKER, CLIENTS connections send `GET /api/events` and never read (a
//! small receive buffer, as a stalled client has), each from a loopback address of its
//! own (127.1.0.1, 127.1.0.2, …) as CLIENTS hosts would, so nara's cap per client does
//! not refuse them; then every nara says chau and hey_there again, ROUNDS times. Meanwhile `/healthz` is timed and the resident
//! memory of PID sampled every 50 ms. Then the clients leave. Prints one JSON object:
//! resident KiB idle, with the streams open, at the peak and after; the slowest
//! `/healthz`; and how the clients were answered (streams, 503s).
//!
//! Run: cargo run --release --example streams_attack -- mqtt://127.0.0.1:1883 127.0.0.1:8080 PID 10000 300 2

#[path = "support/crowd.rs"]
mod crowd;
#[path = "support/mqtt.rs"]
mod mqtt;

use nara::{Identity, Kind, event};
use rumqttc::{AsyncClient, QoS};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the clients are gone before the memory "after" is read.
const SETTLE: Duration = Duration::from_secs(5);

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos() as i64
}

fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmRSS:")).map(str::to_owned))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// One plain HTTP/1.1 request on a fresh connection; the whole answer as text.
fn get(addr: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    Ok(text)
}

/// The value of one series in `/metrics`, 0 when absent.
fn metric(addr: &str, series: &str) -> f64 {
    get(addr, "/metrics")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

/// Samples `/healthz` latency and resident memory every 50 ms until told to stop.
struct Sampler {
    stop: Arc<AtomicBool>,
    peak_kib: Arc<AtomicU64>,
    slowest_us: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Sampler {
    fn start(addr: String, pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_kib = Arc::new(AtomicU64::new(0));
        let slowest_us = Arc::new(AtomicU64::new(0));
        let (s, p, w) = (stop.clone(), peak_kib.clone(), slowest_us.clone());
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            while !s.load(Ordering::SeqCst) {
                p.fetch_max(resident_kib(pid), Ordering::SeqCst);
                let began = Instant::now();
                let answered = get(&addr, "/healthz").is_ok_and(|t| t.starts_with("HTTP/1.1 200"));
                let us = if answered {
                    began.elapsed().as_micros() as u64
                } else {
                    u64::MAX
                };
                w.fetch_max(us, Ordering::SeqCst);
                if us > 50_000 {
                    eprintln!(
                        "{:.1} s: /healthz took {} ms",
                        started.elapsed().as_secs_f64(),
                        us / 1000
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Sampler {
            stop,
            peak_kib,
            slowest_us,
            thread,
        }
    }

    fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
        (
            self.peak_kib.load(Ordering::SeqCst),
            self.slowest_us.load(Ordering::SeqCst),
        )
    }
}

async fn publish_all(client: &AsyncClient, naras: &[Identity], kind: Kind) {
    for identity in naras {
        let payload = event::encode(identity, kind, now_ns(), "");
        client
            .publish(kind.topic(&identity.name), QoS::AtLeastOnce, false, payload)
            .await
            .expect("queued");
    }
}

/// Waits until `/metrics` shows `online` naras ONLINE (at most two minutes), letting
/// the MQTT client send meanwhile.
async fn wait_online(addr: &str, online: f64) {
    let give_up = Instant::now() + Duration::from_secs(120);
    while metric(addr, "nara_plaza_peers{status=\"ONLINE\"}") != online {
        assert!(Instant::now() < give_up, "nara never saw {online} naras ONLINE");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, broker, addr, pid, naras, clients, rounds] = args.as_slice() else {
        panic!("usage: streams_attack BROKER_URL NARA_HOST:PORT NARA_PID NARAS CLIENTS ROUNDS");
    };
    let pid: u32 = pid.parse().expect("PID is a number");
    let naras: usize = naras.parse().expect("NARAS is a number");
    let clients: usize = clients.parse().expect("CLIENTS is a number");
    let rounds: usize = rounds.parse().expect("ROUNDS is a number");
    let _ = rlimit::increase_nofile_limit(u64::MAX);

    let plaza: Vec<Identity> = crowd::native("streams", naras, |i| format!("stream-{i:05}"));
    let (mqtt, mut eventloop) = mqtt::connect(broker, format!("streams-{}", std::process::id()), 1024);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });

    publish_all(&mqtt, &plaza, Kind::HeyThere).await;
    let everyone = (naras + 1) as f64;
    wait_online(addr, everyone).await;
    let idle_kib = resident_kib(pid);

    let sampler = Sampler::start(addr.clone(), pid);
    let phases = Instant::now();
    let mark = |what: &str| eprintln!("{:.1} s: {what}", phases.elapsed().as_secs_f64());
    let mut open = Vec::with_capacity(clients);
    let (mut streams, mut refused) = (0, 0);
    for i in 0..clients {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        // A client that stops reading: the kernel holds little for it.
        let _ = socket.set_recv_buffer_size(4096);
        // Every 127.x.y.z is loopback: one host of the attack's own per client.
        let host = std::net::Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8);
        socket
            .bind(std::net::SocketAddr::from((host, 0)))
            .expect("a loopback address");
        let mut stream = socket
            .connect(addr.parse().expect("HOST:PORT"))
            .await
            .expect("connected");
        stream
            .write_all(b"GET /api/events HTTP/1.1\r\nHost: bench\r\n\r\n")
            .await
            .expect("sent");
        // Only the status line is read, to count streams and refusals; then never again.
        let mut head = [0u8; 12];
        match tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut head)).await {
            Ok(Ok(_)) if head.ends_with(b"200") => streams += 1,
            Ok(Ok(_)) if head.ends_with(b"503") => refused += 1,
            _ => {}
        }
        open.push(stream);
    }
    mark("clients connected");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let streams_kib = resident_kib(pid);

    mark("churn begins");
    let churn_started = Instant::now();
    for _ in 0..rounds {
        publish_all(&mqtt, &plaza, Kind::Chau).await;
        wait_online(addr, 1.0).await;
        publish_all(&mqtt, &plaza, Kind::HeyThere).await;
        wait_online(addr, everyone).await;
    }
    let churn_s = churn_started.elapsed().as_secs_f64();
    let closed_by_nara = ["budget", "stalled", "age"]
        .iter()
        .map(|reason| {
            metric(
                addr,
                &format!("nara_http_event_streams_closed_total{{reason=\"{reason}\"}}"),
            )
        })
        .sum::<f64>();

    mark("churn over; the clients leave");
    drop(open);
    tokio::time::sleep(SETTLE).await;
    let (peak_kib, slowest_us) = sampler.finish();
    let after_kib = resident_kib(pid);
    println!(
        "{{\"naras\":{naras},\"clients\":{clients},\"rounds\":{rounds},\"streams\":{streams},\"refused\":{refused},\
\"closed_by_nara\":{closed_by_nara},\"idle_kib\":{idle_kib},\"streams_kib\":{streams_kib},\"peak_kib\":{peak_kib},\
\"after_kib\":{after_kib},\"slowest_healthz_ms\":{:.1},\"churn_s\":{churn_s:.1}}}",
        slowest_us as f64 / 1000.0
    );
}
