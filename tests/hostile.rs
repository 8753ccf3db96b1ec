//! Hostile and odd HTTP against the real binary, byte for byte over raw TCP (HTTP
//! clients would tidy these requests up): traversal attempts, oversized heads, a
//! slowloris trickle, thousands of idle connections, absurd methods, HTTP/1.0 and
//! pipelining. Every answer is a 4xx or the right 200, never a 5xx, and the server
//! keeps answering.

mod common;

use common::{Running, nara_command};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn start() -> Running {
    let mut command = nara_command();
    command.args(["--http-addr", "127.0.0.1:0"]);
    Running::start(command).unwrap()
}

/// Sends `request` as is and reads until the server closes or a second passes quietly.
fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&response).into_owned()
}

fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn get(addr: SocketAddr, target: &str) -> String {
    exchange(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

#[test]
fn path_traversal_never_reaches_the_filesystem() {
    let nara = start();
    for target in [
        "/docs/../../etc/passwd",
        "/../../../../etc/passwd",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/docs/%2e%2e/%2e%2e/etc/passwd",
        "/..%252f..%252fetc%252fpasswd",
        "/docs/..\\..\\etc\\passwd",
        "/index.html%00.js",
        "/docs/%00",
        "/assets/../../Cargo.toml",
    ] {
        let response = get(nara.addr, target);
        let status = status_of(&response);
        assert!((400..500).contains(&status), "{target} answered {status}");
        assert!(!response.contains("root:"), "{target} leaked a file");
    }
}

#[test]
fn a_request_head_over_the_limit_gets_431() {
    let nara = start();
    let huge = "x".repeat(64 * 1024);
    let response = exchange(
        nara.addr,
        format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n").as_bytes(),
    );
    assert_eq!(status_of(&response), 431, "{}", &response[..response.len().min(200)]);
    assert_eq!(status_of(&get(nara.addr, "/healthz")), 200, "still serving");
}

#[test]
fn absurd_methods_and_uris_get_4xx_not_5xx() {
    let nara = start();
    let long_uri = format!("/{}", "a".repeat(20_000));
    let cases: Vec<Vec<u8>> = vec![
        b"FOOBAR / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /has space HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET noslash HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"\x00\x01\x02\r\n\r\n".to_vec(),
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
        format!("GET {long_uri} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes(),
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
    ];
    for request in cases {
        let response = exchange(nara.addr, &request);
        let status = status_of(&response);
        let shown = String::from_utf8_lossy(&request[..request.len().min(40)]).into_owned();
        assert!(
            (400..500).contains(&status),
            "{shown:?} answered {status}: {:?}",
            &response[..response.len().min(120)]
        );
    }
    assert_eq!(status_of(&get(nara.addr, "/healthz")), 200, "still serving");
}

#[test]
fn http_1_0_and_pipelined_requests_are_answered_in_order() {
    let nara = start();
    let old = exchange(nara.addr, b"GET /healthz HTTP/1.0\r\n\r\n");
    assert_eq!(status_of(&old), 200);
    assert!(old.ends_with("ok\n"), "{old}");

    let pipelined = exchange(
        nara.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let statuses: Vec<u16> = pipelined
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| pipelined[i + 9..i + 12].parse().unwrap())
        .collect();
    assert_eq!(statuses, [200, 404, 200], "{pipelined}");
}

#[test]
fn a_slowloris_trickle_is_cut_off_after_the_header_timeout() {
    let nara = start();
    let mut stream = TcpStream::connect(nara.addr).unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let began = Instant::now();
    let limit = nara::server::HEADER_READ_TIMEOUT + Duration::from_secs(5);
    // One header byte a second, never finishing the head.
    let closed = loop {
        std::thread::sleep(Duration::from_secs(1));
        if stream.write_all(b"X").is_err() {
            break true;
        }
        stream.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        let mut buf = [0u8; 1024];
        if let Ok(n) = stream.read(&mut buf) {
            // A 408 or a plain close both end it.
            if n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408") {
                break true;
            }
        }
        if began.elapsed() > limit {
            break false;
        }
    };
    assert!(
        closed,
        "the trickling connection was still open after {:?}",
        began.elapsed()
    );
    assert_eq!(status_of(&get(nara.addr, "/healthz")), 200, "still serving");
}

/// Linux only: macOS has no `/proc`.
#[cfg(target_os = "linux")]
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap()
}

#[test]
#[cfg(target_os = "linux")]
fn five_thousand_idle_connections_leave_it_answering_with_bounded_memory() {
    // The connections need file descriptors on both sides; raise the soft limit to
    // the hard one (nara, started after, inherits it).
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain get/setrlimit on this process with a valid struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    assert!(
        limit.rlim_cur >= 11_000,
        "needs 11,000 file descriptors, the hard limit is {}",
        limit.rlim_max
    );

    let nara = start();
    let before = resident_kib(nara.child.id());
    let idle: Vec<TcpStream> = (0..5000).map(|_| TcpStream::connect(nara.addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        status_of(&get(nara.addr, "/healthz")),
        200,
        "answers with 5,000 idle connections open"
    );
    let during = resident_kib(nara.child.id());
    // A leak or a per-connection buffer of any size would show here; the benchmark
    // measures the real figure.
    assert!(
        during - before < 128 * 1024,
        "memory grew from {before} KiB to {during} KiB"
    );
    drop(idle);
}
