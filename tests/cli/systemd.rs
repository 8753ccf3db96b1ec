//! systemd integration with the real binary: `READY=1`/`STOPPING=1` over
//! `NOTIFY_SOCKET`, and serving a socket passed by socket activation (`LISTEN_FDS`).
#![cfg(target_os = "linux")]

use crate::common::{Running, client, free_port, nara_command, wait_until};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process killed when the test ends, pass or fail.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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
    assert_eq!(nara.wait_exit(Duration::from_secs(5)).code(), Some(0));
}

#[tokio::test]
async fn serves_the_socket_systemd_passes_instead_of_binding() {
    let port = free_port();
    // systemd-socket-activate listens, and on the first connection starts nara with
    // the listening socket as fd 3 (LISTEN_FDS=1). --http-addr names a port that is
    // taken, so nara can only answer if it really uses the passed socket.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let _activator = Command::new("systemd-socket-activate")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--setenv", "NARA_LOG_FORMAT=json"])
        .arg(crate::common::nara_bin())
        .args(["--http-addr", &taken.local_addr().unwrap().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(KillOnDrop)
        .expect("systemd-socket-activate runs (Debian package systemd)");

    let url = format!("http://127.0.0.1:{port}/healthz");
    let url = url.as_str();
    let answered = wait_until(
        "an answer on the activated socket",
        Duration::from_secs(10),
        || async move { client().get(url).send().await.ok().map(|response| response.status()) },
    )
    .await;
    assert_eq!(answered, reqwest::StatusCode::OK);
}
