//! A broker that will not have us, as an operator meets it: refused credentials, a
//! broker that speaks only MQTT 3.1.1 and a session taken over are each named for what
//! they are, in the log, `/api/status` and `/metrics`, and a refusal no retry can fix
//! is retried slowly.

use crate::common::broker::Mosquitto;
use crate::common::{Running, TestNara, holds_for, nara_command, wait_until};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn nara_against(url: &str, extra: &[&str], env: &[(&str, &str)]) -> Running {
    let mut command = nara_command();
    command
        .args(["--http-addr", "127.0.0.1:0", "--name", "visitor", "--mqtt-url", url])
        .args(extra)
        .envs(env.iter().copied());
    Running::start(command).unwrap_or_else(|e| panic!("{e}"))
}

async fn trouble(nara: &Running, cause: &str) -> Value {
    let what = format!("/api/status to show broker trouble {cause:?}");
    wait_until(&what, Duration::from_secs(10), || async move {
        let status = nara.get_json("/api/status").await;
        let trouble = status["plaza"]["broker_trouble"].clone();
        (trouble["cause"] == cause).then_some(trouble)
    })
    .await
}

#[tokio::test]
async fn refused_credentials_are_named_shown_counted_and_retried_slowly() {
    let scratch = tempfile::tempdir().unwrap();
    let passwd = scratch.path().join("passwd");
    let made = Command::new("mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(&passwd)
        .args(["kitchen", "right-pass"])
        .status()
        .expect("mosquitto_passwd runs");
    assert!(made.success());
    let broker = Mosquitto::start_with(
        "",
        &format!("allow_anonymous false\npassword_file {}", passwd.display()),
    );
    let mut nara = nara_against(
        &broker.url(),
        &["--mqtt-user", "kitchen"],
        &[("NARA_MQTT_PASSWORD", "wrong-pass")],
    );
    let shown = trouble(&nara, "credentials").await;
    assert!(
        shown["message"]
            .as_str()
            .unwrap_or_default()
            .contains("refused these credentials"),
        "{shown:#}"
    );
    let series = r#"nara_plaza_connect_failures_total{cause="credentials"}"#;
    assert_eq!(nara.metric(series).await, 1);
    // A normal backoff would have tried again four or five times in three seconds;
    // a refused password is retried after a minute at the soonest.
    holds_for(
        "one refused attempt, not retried at once",
        Duration::from_secs(3),
        || async { nara.metric(series).await == 1 },
    )
    .await;
    let log = nara.drain_log().join("\n");
    assert!(
        log.contains("refused these credentials (NotAuthorized)") || log.contains("(BadUserNamePassword)"),
        "{log}"
    );
    assert!(!log.contains("wrong-pass"), "the password reached the log");
    assert_eq!(nara.status_code("/healthz").await, 200);
}

/// A broker that knows only MQTT 3.1.1, as some do: it reads CONNECT and hangs up when
/// the protocol level is 5.
fn mqtt311_only_broker() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            // Fixed header (type, remaining length ≤ 127 here), then the protocol name
            // "MQTT" with its length, then the level.
            let mut head = [0u8; 9];
            if stream.read_exact(&mut head).is_ok() && head[0] >> 4 == 1 && &head[4..8] == b"MQTT" && head[8] == 5 {
                drop(stream);
            }
        }
    });
    port
}

#[tokio::test]
async fn a_broker_without_mqtt_5_is_named_as_such() {
    let port = mqtt311_only_broker();
    let mut nara = nara_against(&format!("mqtt://127.0.0.1:{port}"), &[], &[]);
    let shown = trouble(&nara, "closed").await;
    assert!(
        shown["message"].as_str().unwrap_or_default().contains("MQTT 5"),
        "{shown:#}"
    );
    let log = nara.drain_log().join("\n");
    assert!(log.contains("may not speak MQTT 5"), "{log}");
    assert!(!log.contains("unreachable"), "{log}");
}

#[tokio::test]
async fn broker_trouble_clears_once_the_broker_accepts() {
    let mut broker = Mosquitto::start();
    broker.stop();
    let nara = nara_against(&broker.url(), &[], &[]);
    trouble(&nara, "unreachable").await;
    broker.restart();
    nara.wait_for_plaza(true, Duration::from_secs(20)).await;
    assert_eq!(
        nara.get_json("/api/status").await["plaza"]["broker_trouble"],
        Value::Null
    );
}

#[tokio::test]
async fn a_self_signed_ca_as_the_brokers_own_certificate_is_a_tls_failure_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(dir.path().join("broker.key"))
        .arg("-out")
        .arg(dir.path().join("broker.crt"))
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let d = dir.path().display();
    let broker = Mosquitto::start_with(
        &format!("certfile {d}/broker.crt\nkeyfile {d}/broker.key"),
        "allow_anonymous true",
    );
    let cert = format!("{d}/broker.crt");
    let nara = nara_against(
        &format!("mqtts://127.0.0.1:{}", broker.port),
        &[],
        &[("SSL_CERT_FILE", &cert)],
    );
    let shown = trouble(&nara, "tls").await;
    assert!(
        shown["message"]
            .as_str()
            .unwrap_or_default()
            .contains("CaUsedAsEndEntity"),
        "{shown:#}"
    );
}

/// One MQTT packet from `stream`: its first byte and the rest after the length.
fn read_packet(stream: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut first = [0u8; 1];
    stream.read_exact(&mut first).ok()?;
    let (mut length, mut shift) = (0usize, 0);
    loop {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).ok()?;
        length |= usize::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let mut rest = vec![0u8; length];
    stream.read_exact(&mut rest).ok()?;
    Some((first[0], rest))
}

/// The client ID of an MQTT 5 CONNECT's variable header and payload.
fn client_id_of(connect: &[u8]) -> String {
    // Protocol name (2 + 4 bytes), level, flags, keep alive: 10 bytes; then the
    // properties, their length a variable byte integer.
    let (mut length, mut at, mut shift) = (0usize, 10, 0);
    loop {
        let byte = connect[at];
        at += 1;
        length |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    at += length;
    let id_length = usize::from(u16::from_be_bytes([connect[at], connect[at + 1]]));
    String::from_utf8_lossy(&connect[at + 2..at + 2 + id_length]).into_owned()
}

/// A broker that accepts every CONNECT and, the first time only, says right after that
/// the session was taken over (a DISCONNECT with reason 0x8E and its property length,
/// as a client can read it; mosquitto 2.0.11 says nothing, later ones leave the length
/// out). Returns its port and the client ID of every CONNECT, in order.
fn broker_that_says_taken_over() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("an address").port();
    let ids = Arc::new(Mutex::new(Vec::new()));
    let seen = ids.clone();
    std::thread::spawn(move || {
        // The first connection that brings a CONNECT: a client may open one and drop it
        // unused.
        let said = Arc::new(AtomicBool::new(false));
        for stream in listener.incoming().flatten() {
            let (seen, said) = (seen.clone(), said.clone());
            std::thread::spawn(move || {
                let mut stream = stream;
                let Some((0x10, connect)) = read_packet(&mut stream) else {
                    return;
                };
                seen.lock()
                    .expect("no thread panicked holding it")
                    .push(client_id_of(&connect));
                // CONNACK: no session, success, no properties.
                let _ = stream.write_all(&[0x20, 0x03, 0x00, 0x00, 0x00]);
                if !said.swap(true, Ordering::SeqCst) {
                    let _ = stream.write_all(&[0xe0, 0x02, 0x8e, 0x00]);
                }
                // Whatever the client sends is read and dropped until it hangs up (after
                // the DISCONNECT, at once), so no reset can overtake the DISCONNECT.
                while read_packet(&mut stream).is_some() {}
            });
        }
    });
    (port, ids)
}

#[tokio::test]
async fn a_session_the_broker_says_was_taken_over_is_named_and_nara_comes_back_under_a_new_client_id() {
    let (port, ids) = broker_that_says_taken_over();
    let mut nara = nara_against(&format!("mqtt://127.0.0.1:{port}"), &[], &[]);
    let shown = trouble(&nara, "taken_over").await;
    assert!(
        shown["message"].as_str().unwrap_or_default().contains("0x8E"),
        "{shown:#}"
    );
    nara.wait_for_plaza(true, Duration::from_secs(10)).await;
    let ids = ids.lock().unwrap().clone();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1], "the same client ID after a takeover");
    let status = nara.get_json("/api/status").await;
    assert_eq!(
        status["plaza"]["broker_trouble"]["cause"], "taken_over",
        "shown until a connection lasts: {status:#}"
    );
    assert_eq!(
        nara.metric(r#"nara_plaza_connect_failures_total{cause="taken_over"}"#)
            .await,
        1
    );
    let log = nara.drain_log().join("\n");
    assert!(log.contains("session taken over"), "{log}");
    assert!(
        !ids.iter().any(|id| log.contains(id.as_str())),
        "a client ID reached the log"
    );
}

/// A broker that answers CONNECT only after `delay`, as one far away or under load does,
/// and then keeps the connection. Returns its port.
fn slow_broker(delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                if read_packet(&mut stream).is_none() {
                    return;
                }
                std::thread::sleep(delay);
                let _ = stream.write_all(&[0x20, 0x03, 0x00, 0x00, 0x00]);
                while read_packet(&mut stream).is_some() {}
            });
        }
    });
    port
}

#[tokio::test]
async fn a_broker_slower_to_accept_than_the_transports_timers_is_joined() {
    // Longer than the once-a-second sweep: each attempt must outlive a tick.
    let port = slow_broker(Duration::from_millis(2500));
    let nara = nara_against(&format!("mqtt://127.0.0.1:{port}"), &[], &[]);
    nara.wait_for_plaza(true, Duration::from_secs(10)).await;
}
