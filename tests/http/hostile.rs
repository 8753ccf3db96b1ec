//! Hostile and odd HTTP against the real binary, byte for byte over raw TCP (HTTP
//! clients would tidy these requests up): traversal attempts, oversized heads, a
//! slowloris trickle, bodies nara never reads, absurd methods, HTTP/1.0 and
//! pipelining. Every answer is a 4xx or the right 200, never a 5xx, and the server
//! keeps answering. (Crowds and descriptor limits: crowds.rs.)

use crate::common::raw::{exchange, get, start, status_of};
use crate::common::wait_until_blocking;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

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
    let limit = nara::HEADER_READ_TIMEOUT + Duration::from_secs(5);
    // One header byte a second, never finishing the head.
    let closed = loop {
        // A sleep, not a wait: it is the slow client, a byte a second.
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

#[test]
fn a_get_with_a_ten_megabyte_body_still_gets_its_status_line() {
    let nara = start();
    let mut stream = TcpStream::connect(nara.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let body_len = 10 * 1024 * 1024;
    let head = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: {body_len}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The whole body goes out while nara answers without reading it; a reset from nara
    // would fail this write or the read below.
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < body_len {
        if let Err(err) = stream.write_all(&chunk) {
            panic!("the upload broke after {sent} bytes: {err}");
        }
        sent += chunk.len();
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    assert_eq!(status_of(&response), 200, "got {response:?}");
    assert_eq!(status_of(&get(nara.addr, "/healthz")), 200, "still serving");
}

#[test]
fn a_body_past_the_linger_limit_is_cut_off() {
    let nara = start();
    let mut stream = TcpStream::connect(nara.addr).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(15))).unwrap();
    let body_len: usize = 256 * 1024 * 1024;
    let head = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: {body_len}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < body_len && stream.write_all(&chunk).is_ok() {
        sent += chunk.len();
    }
    // nara reads and discards 16 MiB at most, then closes; kernel buffers on both
    // sides take a few MiB more.
    assert!(
        sent < 64 * 1024 * 1024,
        "nara kept reading the unread body: {sent} bytes went through"
    );
    assert_eq!(status_of(&get(nara.addr, "/healthz")), 200, "still serving");
}

#[test]
fn a_trickling_unread_body_is_cut_off_after_the_linger_time() {
    let nara = start();
    let mut stream = TcpStream::connect(nara.addr).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        .unwrap();
    let began = Instant::now();
    // The answer arrives and nara shuts its side (the client reads to the end) while
    // it keeps reading the body, which comes a byte every few tens of milliseconds
    // (each look of the wait sends one), far slower than nara lingers for: once nara
    // closes, the next byte is refused.
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    assert_eq!(status_of(&String::from_utf8_lossy(&response)), 200);
    let refused_after = wait_until_blocking("nara to stop reading the body", Duration::from_secs(30), || {
        stream.write_all(b"x").is_err().then(|| began.elapsed())
    });
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(15)).contains(&refused_after),
        "nara stopped reading the body after {refused_after:?}, not after about 10 s"
    );
}
