//! One run of one hook: a program started without a shell, in a process group of its
//! own, with the event on stdin and a clean environment (`PATH` and the event's
//! variables: nara's own environment may hold its broker password); or a POST of the
//! event to a webhook. Each ends in an [`Outcome`] within the timeout: a program still
//! running then is killed with its whole process group.

use super::config::Target;
use crate::http::client::{Client, Endpoint};
use bytes::Bytes;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

/// The `PATH` a program hook gets when nara has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// How much of a program's stderr is kept for the log line of its failure; the rest is
/// read and thrown away, so a chatty program never blocks on a full pipe.
const STDERR_KEPT: u64 = 512;

/// How much of a webhook's answer is read.
const ANSWER_LIMIT: usize = 4096;

/// What a webhook is told it talks to.
const USER_AGENT: &str = concat!("nara/", env!("CARGO_PKG_VERSION"), " (event hook)");

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    /// A program exited non-zero or was killed by a signal; what it said on stderr.
    Exit(String),
    /// Still running at the timeout: killed (a program) or abandoned (a webhook).
    Timeout,
    /// The program could not be started.
    Spawn(String),
    /// The webhook answered with this status, not 2xx.
    Status(u16),
    /// The webhook could not be reached or broke off.
    Request(String),
}

impl Outcome {
    /// The result, as the metrics label it: a fixed set.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Exit(_) => "exit",
            Outcome::Timeout => "timeout",
            Outcome::Spawn(_) => "spawn",
            Outcome::Status(_) => "status",
            Outcome::Request(_) => "request",
        }
    }
}

/// Runs `target` on the event `json` (with `variables`, for a program), within `timeout`.
pub(crate) async fn run(target: &Target, json: Bytes, variables: &[(&str, String)], timeout: Duration) -> Outcome {
    match target {
        Target::Program(path) => program(path, json, variables, timeout).await,
        Target::Webhook(endpoint) => webhook(endpoint, json, timeout).await,
    }
}

async fn program(path: &Path, json: Bytes, variables: &[(&str, String)], timeout: Duration) -> Outcome {
    let search_path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    let mut command = Command::new(path);
    command
        .env_clear()
        .env("PATH", search_path)
        .envs(variables.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // Its own group, so that the timeout kills whatever it started too.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Outcome::Spawn(e.to_string()),
    };
    let group = child.id();
    let stdin = child.stdin.take();
    let stderr = child.stderr.take();
    let said = tokio::spawn(async move {
        let mut kept = Vec::new();
        if let Some(mut stderr) = stderr {
            let _ = (&mut stderr).take(STDERR_KEPT).read_to_end(&mut kept).await;
            let _ = tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await;
        }
        String::from_utf8_lossy(&kept).trim().to_string()
    });
    let finished = tokio::time::timeout(timeout, async {
        if let Some(mut stdin) = stdin {
            // A program that does not read its stdin is fine: the pipe breaks.
            let _ = stdin.write_all(&json).await;
        }
        child.wait().await
    })
    .await;
    match finished {
        Ok(Ok(status)) if status.success() => {
            said.abort();
            Outcome::Ok
        }
        Ok(Ok(status)) => {
            // The pipe closes when the last process of the group holding it exits.
            let said = tokio::time::timeout(Duration::from_millis(200), said)
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            Outcome::Exit(if said.is_empty() {
                status.to_string()
            } else {
                format!("{status}: {said}")
            })
        }
        Ok(Err(e)) => Outcome::Spawn(e.to_string()),
        Err(_) => {
            if let Some(group) = group {
                kill_group(group);
            }
            // Reap it; SIGKILL cannot be ignored.
            let _ = child.wait().await;
            said.abort();
            Outcome::Timeout
        }
    }
}

/// Sends SIGKILL to the process group `group` leads.
fn kill_group(group: u32) {
    let Ok(group) = libc::pid_t::try_from(group) else {
        return;
    };
    #[expect(unsafe_code, reason = "kill(2) of a process group has no safe wrapper in std")]
    // SAFETY: kill takes plain integers; a negative pid names the group, which is the
    // child's own (process_group(0)) and not yet reaped, so its ID is not reused.
    let _ = unsafe { libc::kill(-group, libc::SIGKILL) };
}

async fn webhook(endpoint: &Endpoint, json: Bytes, timeout: Duration) -> Outcome {
    let mut client = match Client::new(endpoint.clone(), USER_AGENT) {
        Ok(client) => client,
        Err(e) => return Outcome::Request(e),
    };
    match tokio::time::timeout(timeout, client.post_json(json, ANSWER_LIMIT)).await {
        Err(_) => Outcome::Timeout,
        Ok(Err(e)) => Outcome::Request(e),
        Ok(Ok(status)) if status.is_success() => Outcome::Ok,
        Ok(Ok(status)) => Outcome::Status(status.as_u16()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) -> Target {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Target::Program(path)
    }

    #[tokio::test]
    async fn a_program_reads_the_event_and_its_variables_and_nothing_else_of_naras_environment() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let hook = script(
            dir.path(),
            "hook",
            &format!(
                "cat > {out}; echo \"$NARA_EVENT $NARA_PEER ${{NARA_MQTT_PASSWORD:-none}}\" >> {out}",
                out = out.display()
            ),
        );
        let variables = [
            ("NARA_EVENT", "missing".to_string()),
            ("NARA_PEER", "kitchen".to_string()),
        ];
        let outcome = run(&hook, Bytes::from_static(b"{}\n"), &variables, Duration::from_secs(5)).await;
        assert_eq!(outcome, Outcome::Ok);
        assert_eq!(std::fs::read_to_string(out).unwrap(), "{}\nmissing kitchen none\n");
    }

    #[tokio::test]
    async fn failures_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let failing = script(dir.path(), "fail", "echo broken >&2; exit 3");
        let outcome = run(&failing, Bytes::new(), &[], Duration::from_secs(5)).await;
        assert!(
            matches!(&outcome, Outcome::Exit(said) if said.contains("3") && said.contains("broken")),
            "{outcome:?}"
        );
        let missing = Target::Program(dir.path().join("absent"));
        let outcome = run(&missing, Bytes::new(), &[], Duration::from_secs(5)).await;
        assert_eq!(outcome.label(), "spawn");
    }

    #[tokio::test]
    async fn a_hung_program_and_what_it_started_are_killed_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("child.pid");
        let hung = script(
            dir.path(),
            "hang",
            &format!("sleep 300 & echo $! > {}; wait", pid_file.display()),
        );
        let outcome = run(&hung, Bytes::new(), &[], Duration::from_millis(500)).await;
        assert_eq!(outcome, Outcome::Timeout);
        let child = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
        // The background sleep was in the hook's group: gone, or dead and not yet reaped
        // by whoever inherited it.
        let dead = || crate::testing::process_gone(&child);
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while !dead() {
            assert!(
                std::time::Instant::now() < until,
                "the hook's background sleep survived"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
