//! Test harness: nara in-process on an ephemeral port, or the real binary as a child
//! process whose listening address is read from its JSON start-up log line.
#![allow(dead_code)]

pub mod broker;
pub mod raw;

use nara::http::health::Health;
use nara::http::routes::App;
use nara::http::server::{self, Ended};
use nara::layering::Environment;
use nara::plaza::identity::Soul;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A client that sends exactly the headers a test sets: no decompression, no proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}

/// nara's real service, served in-process until `stop` is called.
pub struct InProcess {
    pub base: String,
    pub addr: SocketAddr,
    pub app: Arc<App>,
    pub health: Arc<Health>,
    stop: Option<oneshot::Sender<()>>,
    pub ended: JoinHandle<Ended>,
}

impl InProcess {
    /// The assembled server (as the binary runs it), alone, named `test-nara`.
    pub async fn start() -> Self {
        Self::start_args(&[]).await
    }

    /// The assembled server with these extra flags, on an ephemeral loopback port, with
    /// an empty environment and a soul of its own.
    pub async fn start_args(extra: &[&str]) -> Self {
        let soul = Soul::mint("test-nara").expect("the system has randomness").to_base58();
        let mut args = vec!["nara", "--name", "test-nara", "--soul", &soul, "--shutdown-grace", "5s"];
        args.extend_from_slice(extra);
        let config = nara::config::from_args(args, &Environment::default()).expect("the test's flags are valid");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let server = nara::Server::new(config);
        let app = server.app().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let ended = tokio::spawn(server.run(listener, shutdown));
        InProcess {
            base: format!("http://{addr}"),
            addr,
            health: app.health.clone(),
            app,
            stop: Some(stop),
            ended,
        }
    }

    /// Only the server loop ([`nara::http::server::serve`]), serving `service` (which
    /// may wrap `app`'s) with the given grace period: for tests that add a route.
    pub async fn start_with<S>(app: Arc<App>, health: Arc<Health>, service: S, grace: Duration) -> Self
    where
        S: hyper::service::Service<
                http::Request<hyper::body::Incoming>,
                Response = http::Response<nara::http::routes::Body>,
                Error = std::convert::Infallible,
            > + Clone
            + Send
            + 'static,
        S::Future: Send,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        health.mark_started();
        let (stop, stopped) = oneshot::channel::<()>();
        let drain = health.clone();
        let shutdown = async move {
            let _ = stopped.await;
            drain.begin_draining();
        };
        let accept_errors = app.metrics().http_accept_errors.clone();
        let ended = tokio::spawn(server::serve(listener, service, shutdown, grace, accept_errors));
        InProcess {
            base: format!("http://{addr}"),
            addr,
            app,
            health,
            stop: Some(stop),
            ended,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Begins shutdown as SIGTERM does.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The built `nara` binary.
pub fn nara_bin() -> &'static str {
    env!("CARGO_BIN_EXE_nara")
}

/// A `nara` command with an empty environment, so the developer's NARA_* or PORT
/// cannot leak into a test.
pub fn nara_command() -> Command {
    let mut command = Command::new(nara_bin());
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

/// A running `nara` child process, killed when dropped.
pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    pub base: String,
    pub log: mpsc::Receiver<String>,
    /// Lines logged before "nara listening".
    early: Vec<String>,
}

impl Running {
    /// Starts `command` (JSON logs forced) and waits for its "nara listening" line.
    pub fn start(mut command: Command) -> Result<Running, String> {
        command
            .env("NARA_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| format!("spawn nara: {e}"))?;
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(line) => {
                    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line)
                        && json["message"] == "nara listening"
                    {
                        let addr: SocketAddr = json["addr"].as_str().unwrap().parse().unwrap();
                        let target = nara::http::listen_addr::local_target(addr);
                        seen.push(line);
                        return Ok(Running {
                            child,
                            addr: target,
                            base: format!("http://{target}"),
                            log: rx,
                            early: seen,
                        });
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    return Err(format!(
                        "nara did not start (exit {status:?}); stderr:\n{}",
                        seen.join("\n")
                    ));
                }
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET `path` and parse the JSON it answers.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        client().get(self.url(path)).send().await.unwrap().json().await.unwrap()
    }

    /// GET `path` and return the body as text.
    pub async fn get_text(&self, path: &str) -> String {
        client().get(self.url(path)).send().await.unwrap().text().await.unwrap()
    }

    /// GET `path` and return the status code.
    pub async fn status_code(&self, path: &str) -> u16 {
        client().get(self.url(path)).send().await.unwrap().status().as_u16()
    }

    /// Sends `SIGTERM` ("TERM"), `SIGINT` ("INT") or `SIGKILL` ("KILL") to the process.
    pub fn signal(&self, name: &str) {
        let signal = match name {
            "TERM" => libc::SIGTERM,
            "INT" => libc::SIGINT,
            "KILL" => libc::SIGKILL,
            other => panic!("no signal {other} in this harness"),
        };
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) only sends a signal to our own child process.
        let result = unsafe { libc::kill(pid, signal) };
        assert_eq!(result, 0, "kill -{name} failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Log lines received so far and not yet drained, from the first.
    pub fn drain_log(&mut self) -> Vec<String> {
        let mut lines = std::mem::take(&mut self.early);
        lines.extend(self.log.try_iter());
        lines
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
