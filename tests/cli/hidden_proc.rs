//! nara under the shipped unit's `ProcSubset=pid` and `ProtectProc=invisible`, which
//! hide `/proc/loadavg`, `/proc/meminfo` and `/proc/stat`: its host health is still
//! measured. systemd is not PID 1 where the tests run, so the test makes the same
//! `/proc` itself: a mount and PID namespace of its own (`unshare`), and a private
//! `proc` mounted with `subset=pid,hidepid=invisible`, which is what systemd mounts
//! for those two settings. That takes root, or a user namespace that maps the caller
//! to root. As root (CI) a refusal fails the test; elsewhere (a build sandbox or a host
//! that forbids unprivileged user namespaces, where `nix flake check` may run) the test
//! says on stderr that it was skipped and why, as the boot clock's test does.
#![cfg(target_os = "linux")]

use crate::common::broker::Mosquitto;
use crate::common::{Running, TestNara, nara_bin};
use std::process::Command;
use std::time::Duration;

/// Mounts the hardened `/proc`, checks that it hides what the unit hides, and then
/// becomes the command it is given.
const HARDENED_PROC: &str = r#"
set -eu
mount -t proc -o subset=pid,hidepid=invisible proc /proc
for hidden in /proc/loadavg /proc/meminfo /proc/stat /proc/uptime; do
    if [ -e "$hidden" ]; then echo "$hidden is not hidden" >&2; exit 97; fi
done
exec "$@"
"#;

/// The `unshare` flags that make a mount and PID namespace here: as root directly,
/// otherwise through a user namespace that maps the caller to root. The first that can
/// mount the hardened `/proc`; `None`, said on stderr, where neither can and the test
/// does not run as root; as root, a failure that says what the test needs.
fn namespace_flags() -> Option<&'static [&'static str]> {
    const FLAGS: [&[&str]; 2] = [
        &["--mount", "--pid", "--fork", "--kill-child", "--propagation", "private"],
        &[
            "--user",
            "--map-root-user",
            "--mount",
            "--pid",
            "--fork",
            "--kill-child",
            "--propagation",
            "private",
        ],
    ];
    let mut said = Vec::new();
    for flags in FLAGS {
        let probe = Command::new("unshare")
            .args(flags)
            .args(["sh", "-c", HARDENED_PROC, "hardened", "true"])
            .output();
        match probe {
            Ok(output) if output.status.success() => return Some(flags),
            Ok(output) => said.push(format!(
                "unshare {}: {}",
                flags.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(err) => said.push(format!("unshare: {err}")),
        }
    }
    if !running_as_root() {
        eprintln!(
            "SKIPPED: no namespace here can mount a /proc with subset=pid,hidepid=invisible:\n{}",
            said.join("\n")
        );
        return None;
    }
    panic!(
        "this test needs to mount a /proc with subset=pid,hidepid=invisible in a namespace of \
         its own: root, or unprivileged user namespaces (kernel.unprivileged_userns_clone=1), \
         `unshare` and `mount` (util-linux) and a kernel of 5.8 or later; here:\n{}",
        said.join("\n")
    );
}

#[tokio::test]
async fn host_health_is_measured_under_a_proc_that_shows_only_the_process() {
    let broker = Mosquitto::start();
    let Some(flags) = namespace_flags() else {
        return;
    };
    let mut command = Command::new("unshare");
    command
        .args(flags)
        .args(["sh", "-c", HARDENED_PROC, "hardened"])
        .arg(nara_bin())
        .args(["--http-addr", "127.0.0.1:0", "--name", "hardened"])
        .args(["--mqtt-url", &broker.url(), "--plaza-newspaper-interval", "1s"])
        .args(["--plaza-announce-jitter", "0s"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    let nara = Running::start(command).unwrap_or_else(|e| panic!("nara did not start under the hardened /proc: {e}"));
    let own = nara
        .wait_peer_where("hardened", "showing its own health", Duration::from_secs(10), |p| {
            p["host"]["rss_bytes"].as_u64().is_some_and(|b| b > 1024 * 1024)
                && p["host"]["open_fds"].as_u64().is_some_and(|n| n > 2)
                && p["host"]["load_per_core"].as_f64().is_some()
                && p["host"]["cpu_pct"].as_f64().is_some()
        })
        .await;
    assert!(own["uptime_s"].as_u64().is_some_and(|s| s > 0), "{own}");
}

/// Whether this process runs as root, who may always make the namespaces.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}
