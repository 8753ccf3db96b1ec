//! systemd integration with the real binary: `READY=1`/`STOPPING=1` over
//! `NOTIFY_SOCKET`, and serving a socket passed by socket activation (`LISTEN_FDS`).
#![cfg(target_os = "linux")]

mod common;

use common::{Running, client, free_port, nara_command};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

fn recv_state(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf).expect("a notification within the timeout");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn notifies_ready_once_serving_and_stopping_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();

    let mut command = nara_command();
    command.args(["--http-addr", "127.0.0.1:0"]).env("NOTIFY_SOCKET", &path);
    let mut nara = Running::start(command).unwrap();
    assert_eq!(recv_state(&socket).trim(), "READY=1");

    nara.signal("TERM");
    assert_eq!(recv_state(&socket).trim(), "STOPPING=1");
    assert_eq!(nara.wait_exit(Duration::from_secs(5)).and_then(|s| s.code()), Some(0));
}

#[tokio::test]
async fn serves_the_socket_systemd_passes_instead_of_binding() {
    let port = free_port();
    // systemd-socket-activate listens, and on the first connection starts nara with
    // the listening socket as fd 3 (LISTEN_FDS=1). --http-addr names a port that is
    // taken, so nara can only answer if it really uses the passed socket.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut activator = Command::new("systemd-socket-activate")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--setenv", "NARA_LOG_FORMAT=json"])
        .arg(common::nara_bin())
        .args(["--http-addr", &taken.local_addr().unwrap().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("systemd-socket-activate runs (Debian package systemd)");

    let mut answered = None;
    for _ in 0..100 {
        if let Ok(response) = client().get(format!("http://127.0.0.1:{port}/healthz")).send().await {
            answered = Some(response.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = activator.kill();
    let _ = activator.wait();
    assert_eq!(answered, Some(reqwest::StatusCode::OK));
}
