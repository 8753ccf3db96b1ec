//! A real MQTT broker for tests: Debian's mosquitto on a free loopback port, with its
//! own config file and log file, stopped (killed, or shut down as `systemctl stop` does)
//! and restartable on the same port by the test, with or without its persistence.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Mosquitto {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// Lines for the listener (TLS files) and for the whole broker (authentication).
    listener_options: String,
    global_options: String,
    /// Whether it saves its state (retained messages, sessions) across a restart.
    persistent: bool,
}

impl Mosquitto {
    /// An open broker: anonymous clients welcome.
    pub fn start() -> Mosquitto {
        Mosquitto::start_with("", "allow_anonymous true")
    }

    pub fn start_with(listener_options: &str, global_options: &str) -> Mosquitto {
        Mosquitto::start_configured(listener_options, global_options, false)
    }

    /// An open broker that saves its state in its scratch directory when it shuts down
    /// and reads it back when it starts again (`persistence true`).
    pub fn start_persistent() -> Mosquitto {
        Mosquitto::start_configured("", "allow_anonymous true", true)
    }

    fn start_configured(listener_options: &str, global_options: &str, persistent: bool) -> Mosquitto {
        let mut broker = Mosquitto {
            port: super::free_port(),
            dir: tempfile::tempdir().expect("a scratch directory for mosquitto"),
            child: None,
            listener_options: listener_options.to_string(),
            global_options: global_options.to_string(),
            persistent,
        };
        broker.restart();
        broker
    }

    /// A scratch directory that lives as long as the broker, for its files.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Where the broker logs, as Debian's mosquitto logs to /var/log/mosquitto.
    pub fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("mosquitto.log")
    }

    /// Every client that connected so far, from the broker's log, in order: its client
    /// ID and its user name (`None` when anonymous). The log is the broker's, and only
    /// an operator (or a leak) reads it.
    pub fn clients(&self) -> Vec<(String, Option<String>)> {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        log.lines().filter_map(connected_client).collect()
    }

    /// The client IDs that `user` connected with so far, in order, each once.
    pub fn client_ids_of(&self, user: &str) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for (id, by) in self.clients() {
            if by.as_deref() == Some(user) && !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port and waits until it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let conf = self.dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                // As root, mosquitto would drop to its own user before reading the test's
                // files in a root-only temporary directory; `user root` keeps it (and is
                // ignored when the tests do not run as root).
                "{}\nuser root\nlog_dest file {}\n{}\nlistener {} 127.0.0.1\n{}\n",
                if self.persistent {
                    format!("persistence true\npersistence_location {}/", self.dir.path().display())
                } else {
                    "persistence false".to_string()
                },
                self.log_path().display(),
                self.global_options,
                self.port,
                self.listener_options
            ),
        )
        .expect("mosquitto's config file is written");
        // Debian installs it in /usr/sbin, which not every PATH holds.
        let program = if Command::new("mosquitto").arg("-h").output().is_ok() {
            "mosquitto"
        } else {
            "/usr/sbin/mosquitto"
        };
        let child = Command::new(program)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is installed (Debian package mosquitto; `make bootstrap` installs it)");
        self.child = Some(child);
        let port = self.port;
        super::wait_until_blocking(
            &format!("mosquitto to listen on {port}"),
            Duration::from_secs(10),
            || std::net::TcpStream::connect(("127.0.0.1", port)).ok(),
        );
    }

    /// Kills it (SIGKILL): it publishes nothing and saves nothing.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Shuts it down as `systemctl stop` does (SIGTERM), and waits until it has: it
    /// publishes the will of every client still connected, then saves its state if it
    /// is persistent.
    pub fn shut_down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
            // SAFETY: kill(2) only sends a signal to our own child process.
            #[expect(unsafe_code, reason = "kill(2) has no safe wrapper in std")]
            let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
            assert_eq!(sent, 0, "SIGTERM to mosquitto");
            let _ = child.wait();
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The client ID and user of a mosquitto log line `New client connected from ADDR as ID
/// (p5, c1, k30, u'USER').`
fn connected_client(line: &str) -> Option<(String, Option<String>)> {
    let rest = line.split_once("New client connected from ")?.1;
    let (_, rest) = rest.split_once(" as ")?;
    let (id, details) = rest.rsplit_once(" (")?;
    let user = details
        .split_once("u'")
        .and_then(|(_, user)| user.split_once("')"))
        .map(|(user, _)| user.to_string());
    Some((id.to_string(), user))
}
