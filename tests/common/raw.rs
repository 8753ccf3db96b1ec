//! Raw HTTP/1.1 over TCP against the real binary, byte for byte (an HTTP client would
//! tidy requests up): for the hostile-input and crowd tests.

use super::{Running, nara_command};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// nara on a free loopback port.
pub fn start() -> Running {
    let mut command = nara_command();
    command.args(["--http-addr", "127.0.0.1:0"]);
    Running::start(command).unwrap_or_else(|e| panic!("{e}"))
}

/// Sends `request` as is and reads until the server closes or a second passes quietly.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("a read timeout can be set");
    stream
        .write_all(request)
        .unwrap_or_else(|e| panic!("send the request: {e}"));
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

/// The status code of a raw response, 0 when there is none.
pub fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// GET `target` on a connection of its own.
pub fn get(addr: SocketAddr, target: &str) -> String {
    exchange(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}
