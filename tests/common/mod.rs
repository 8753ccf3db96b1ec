//! Test harness: nara in-process on an ephemeral port, or the real binary as a child
//! process whose listening address is read from its JSON start-up log line, both read
//! through [`TestNara`]; [`wait_until`], the one way a test waits for something to
//! become true, and [`holds_for`], the one way it checks that nothing happens.
//!
//! Each of the four test binaries (`tests/http`, `cli`, `plaza`, `repo`) compiles this
//! module and uses a part of it. It stays a module rather than a library crate of its
//! own because it needs `CARGO_BIN_EXE_nara`, which cargo gives only to the package's
//! own test targets.
#![allow(dead_code, reason = "each test binary uses a different part of the harness")]

pub mod broker;
pub mod go_wire;
pub mod mqtt;
pub mod old_release;
pub mod raw;
pub mod repo_files;
pub mod tls;

use nara::{App, Ended, Environment, Health, Soul};
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long [`wait_until`] and [`wait_until_blocking`] leave between two looks.
const POLL_EVERY: Duration = Duration::from_millis(25);

/// Polls `condition` until it answers `Some`, and returns what it answered; panics
/// naming `what` once `deadline` has passed without.
///
/// `what` says what is awaited ("beta ONLINE in alpha's view"), so a failure reads as
/// the sentence it was waiting for. A closure that needs borrowed values in its future
/// copies the references in: `|| async move { nara.peer(name).await }`.
pub async fn wait_until<T, F, Fut>(what: &str, deadline: Duration, mut condition: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let give_up = Instant::now() + deadline;
    loop {
        if let Some(value) = condition().await {
            return value;
        }
        assert!(Instant::now() < give_up, "waited {deadline:?} for {what}, in vain");
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// [`wait_until`] for a test without an async runtime: the thread sleeps between looks.
pub fn wait_until_blocking<T>(what: &str, deadline: Duration, mut condition: impl FnMut() -> Option<T>) -> T {
    let give_up = Instant::now() + deadline;
    loop {
        if let Some(value) = condition() {
            return value;
        }
        assert!(Instant::now() < give_up, "waited {deadline:?} for {what}, in vain");
        std::thread::sleep(POLL_EVERY);
    }
}

/// How long [`holds_for`] leaves between two looks: each look may be a few requests.
const HOLD_LOOK_EVERY: Duration = Duration::from_millis(100);

/// Checks `condition` until `duration` has passed, and panics naming `what` the first
/// time it is false: for "nothing happens for N seconds" (no reconnect, no takeover, no
/// retry), where a single look after a sleep would miss a change that came and went.
/// The last look is made after `duration`.
pub async fn holds_for<F, Fut>(what: &str, duration: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let began = Instant::now();
    loop {
        let done = began.elapsed() >= duration;
        assert!(
            condition().await,
            "{what} held for {:?} of {duration:?} only",
            began.elapsed()
        );
        if done {
            return;
        }
        tokio::time::sleep(HOLD_LOOK_EVERY.min(duration.saturating_sub(began.elapsed()))).await;
    }
}

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
        let config =
            nara::testing::config_from_args(args, &Environment::default()).expect("the test's flags are valid");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("a bound listener has an address");
        let nara = nara::Nara::new(config);
        let app = nara.app().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let ended = tokio::spawn(nara.run(listener, shutdown));
        InProcess {
            base: format!("http://{addr}"),
            addr,
            health: app.health.clone(),
            app,
            stop: Some(stop),
            ended,
        }
    }

    /// Only the server loop ([`nara::serve`]), serving `service` (which
    /// may wrap `app`'s) with the given grace period: for tests that add a route.
    pub async fn start_with<S>(app: Arc<App>, health: Arc<Health>, service: S, grace: Duration) -> Self
    where
        S: hyper::service::Service<
                http::Request<hyper::body::Incoming>,
                Response = http::Response<nara::Body>,
                Error = std::convert::Infallible,
            > + Clone
            + Send
            + 'static,
        S::Future: Send,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("a bound listener has an address");
        health.mark_started();
        let (stop, stopped) = oneshot::channel::<()>();
        let drain = health.clone();
        let shutdown = async move {
            let _ = stopped.await;
            drain.begin_draining();
        };
        let accept_errors = app.metrics.http_accept_errors.clone();
        let ended = tokio::spawn(nara::serve(listener, service, shutdown, grace, accept_errors));
        InProcess {
            base: format!("http://{addr}"),
            addr,
            app,
            health,
            stop: Some(stop),
            ended,
        }
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

/// A nara on the broker at `broker` with test timings: no announce jitter, a newspaper
/// a second.
pub fn nara_on(broker: &str, name: &str, extra: &[&str]) -> Running {
    let mut command = nara_command();
    command
        .args(["--http-addr", "127.0.0.1:0", "--name", name, "--mqtt-url", broker])
        .args(["--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "1s"])
        .args(extra);
    Running::start(command).unwrap_or_else(|e| panic!("{e}"))
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

/// A new soul for `name`, minted by the real binary as the chapters say
/// (`nara soul new`), which prints the soul and nothing else.
pub fn mint_soul(name: &str) -> String {
    let output = nara_command()
        .args(["soul", "new", "--name", name])
        .output()
        .expect("nara runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).expect("the soul is UTF-8");
    assert_eq!(stdout.lines().count(), 1, "only the soul goes to stdout");
    stdout.trim().to_string()
}

/// Runs a tool a test needs (openssl, tar, mosquitto_passwd) and fails the test, with
/// the tool's stderr, if it fails.
pub fn run_ok(command: &mut Command) {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
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
        let stderr = child.stderr.take().expect("stderr was piped");
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
                        let addr: SocketAddr = json["addr"]
                            .as_str()
                            .and_then(|addr| addr.parse().ok())
                            .ok_or_else(|| format!("no address in the start-up line: {line}"))?;
                        let target = nara::healthcheck::local_target(addr);
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
        #[expect(unsafe_code, reason = "kill(2) has no safe wrapper in std")]
        let result = unsafe { libc::kill(pid, signal) };
        assert_eq!(result, 0, "kill -{name} failed");
    }

    /// Waits up to `limit` for the process to exit, and fails the test if it does not.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let child = &mut self.child;
        wait_until_blocking("nara to exit", limit, || {
            child.try_wait().expect("the child's status can be read")
        })
    }

    /// Waits up to `deadline` for a JSON log line that `matches`, and returns it; fails
    /// the test with the log so far if none comes. Lines read on the way stay for
    /// [`Running::drain_log`].
    pub fn wait_for_log(
        &mut self,
        what: &str,
        deadline: Duration,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let give_up = Instant::now() + deadline;
        let mut looked_at = 0;
        loop {
            for line in &self.early[looked_at..] {
                if let Ok(json) = serde_json::from_str::<serde_json::Value>(line)
                    && matches(&json)
                {
                    return json;
                }
            }
            looked_at = self.early.len();
            // Blocks on the log itself: each line is looked at as it arrives.
            match self.log.recv_timeout(give_up.saturating_duration_since(Instant::now())) {
                Ok(line) => self.early.push(line),
                Err(_) => panic!(
                    "waited {deadline:?} for {what}, in vain; the log:\n{}",
                    self.early.join("\n")
                ),
            }
        }
    }

    /// Log lines received so far and not yet drained, from the first (with those a
    /// [`Running::wait_for_log`] looked at).
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

/// A nara a test reads over HTTP, whether a child process ([`Running`]) or served in
/// this process ([`InProcess`]): its answers, its metrics and its view of the plaza.
pub trait TestNara {
    /// `http://` and the address it serves on, without a trailing slash.
    fn base(&self) -> &str;

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// GET `path` and parse the JSON it answers.
    async fn get_json(&self, path: &str) -> serde_json::Value {
        get(&self.url(path))
            .await
            .json()
            .await
            .unwrap_or_else(|e| panic!("{path} answered no JSON: {e}"))
    }

    /// GET `path` and return the body as text.
    async fn get_text(&self, path: &str) -> String {
        get(&self.url(path))
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("{path} answered no text: {e}"))
    }

    /// GET `path` and return the status code.
    async fn status_code(&self, path: &str) -> u16 {
        get(&self.url(path)).await.status().as_u16()
    }

    /// The value of the `/metrics` line that starts with `series` (name and labels), 0
    /// when there is none.
    async fn metric(&self, series: &str) -> u64 {
        let text = self.get_text("/metrics").await;
        text.lines()
            .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
            .unwrap_or(0)
    }

    /// Waits until `/metrics` counts at least one plaza message of `kind` with `result`
    /// (`accepted`, or the reason it was dropped).
    async fn wait_counted(&self, kind: &str, result: &str) {
        let series = format!("nara_plaza_messages_total{{kind=\"{kind}\",result=\"{result}\"}}");
        let series = series.as_str();
        wait_until(
            &format!("{series} to be counted"),
            Duration::from_secs(10),
            || async move { (self.metric(series).await >= 1).then_some(()) },
        )
        .await;
    }

    /// Whether `/api/status` says the plaza is connected.
    async fn plaza_connected(&self) -> bool {
        self.get_json("/api/status").await["plaza"]["connected"] == true
    }

    /// Waits until `/api/status` says the plaza is `connected` (or not).
    async fn wait_for_plaza(&self, connected: bool, limit: Duration) {
        let what = format!("plaza connected to become {connected} at {}", self.base());
        wait_until(&what, limit, || async move {
            (self.plaza_connected().await == connected).then_some(())
        })
        .await;
    }

    /// Waits until this nara hears the plaza: its own hey_there has come back, so its
    /// subscriptions are in place and nothing said from now on passes it by (being
    /// connected says less: it subscribes after the broker accepts it).
    async fn wait_until_hearing(&self, limit: Duration) {
        let series = "nara_plaza_messages_total{kind=\"hey-there\",result=\"accepted\"}";
        let what = format!("its own hey_there back at {}", self.base());
        wait_until(&what, limit, || async move {
            (self.metric(series).await >= 1).then_some(())
        })
        .await;
    }

    /// Every nara in this one's view (`/api/peers`), itself included.
    async fn peers(&self) -> Vec<serde_json::Value> {
        match self.get_json("/api/peers").await["peers"].take() {
            serde_json::Value::Array(peers) => peers,
            _ => Vec::new(),
        }
    }

    /// The names in this nara's view, itself included.
    async fn peer_names(&self) -> Vec<String> {
        let peers = self.peers().await;
        peers
            .iter()
            .filter_map(|p| p["name"].as_str().map(String::from))
            .collect()
    }

    /// `name` as this nara sees it, if it does.
    async fn peer(&self, name: &str) -> Option<serde_json::Value> {
        self.peers().await.into_iter().find(|p| p["name"] == name)
    }

    /// Waits up to `limit` until `name` has `status` (ONLINE, MISSING, OFFLINE) in this
    /// nara's view, and returns how it sees `name` then.
    async fn wait_peer(&self, name: &str, status: &str, limit: Duration) -> serde_json::Value {
        self.wait_peer_where(name, status, limit, |p| p["status"] == status)
            .await
    }

    /// Waits up to `limit` until `name` is at `version` in this nara's view, and
    /// returns how it sees `name` then.
    async fn wait_peer_version(&self, name: &str, version: &str, limit: Duration) -> serde_json::Value {
        self.wait_peer_where(name, &format!("at {version}"), limit, |p| p["version"] == version)
            .await
    }

    /// Waits up to `limit` until this nara sees `name` as `check` wants (`what` says
    /// how, for the failure), and returns how it sees `name` then.
    async fn wait_peer_where(
        &self,
        name: &str,
        what: &str,
        limit: Duration,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let what = format!("{name} {what} in the view of {}", self.base());
        let check = &check;
        wait_until(
            &what,
            limit,
            || async move { self.peer(name).await.filter(|p| check(p)) },
        )
        .await
    }
}

impl TestNara for InProcess {
    fn base(&self) -> &str {
        &self.base
    }
}

impl TestNara for Running {
    fn base(&self) -> &str {
        &self.base
    }
}

/// GET `url` with [`client`], failing the test if no response comes.
async fn get(url: &str) -> reqwest::Response {
    client()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}
