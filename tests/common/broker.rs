//! A real MQTT broker for tests: Debian's mosquitto on a free loopback port, with its
//! own config file, stopped (and restartable on the same port) by the test.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Mosquitto {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// Lines for the listener (TLS files) and for the whole broker (authentication).
    listener_options: String,
    global_options: String,
}

impl Mosquitto {
    /// An open broker: anonymous clients welcome.
    pub fn start() -> Mosquitto {
        Mosquitto::start_with("", "allow_anonymous true")
    }

    pub fn start_with(listener_options: &str, global_options: &str) -> Mosquitto {
        let mut broker = Mosquitto {
            port: super::free_port(),
            dir: tempfile::tempdir().expect("a scratch directory for mosquitto"),
            child: None,
            listener_options: listener_options.to_string(),
            global_options: global_options.to_string(),
        };
        broker.restart();
        broker
    }

    /// A scratch directory that lives as long as the broker, for its files.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
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
                "persistence false\nuser root\n{}\nlistener {} 127.0.0.1\n{}\n",
                self.global_options, self.port, self.listener_options
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

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}
