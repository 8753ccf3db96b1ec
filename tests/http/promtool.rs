//! `/metrics` must be accepted by Prometheus' own checker, `promtool check metrics`.

use crate::common::{InProcess, TestNara, client};
use std::io::Write;
use std::process::{Command, Stdio};

#[tokio::test]
async fn promtool_accepts_the_metrics_endpoint() {
    let server = InProcess::start().await;
    for path in ["/healthz", "/", "/nope"] {
        client().get(server.url(path)).send().await.unwrap();
    }
    let metrics = server.get_text("/metrics").await;

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian package prometheus; `make bootstrap` installs it)");
    promtool.stdin.take().unwrap().write_all(metrics.as_bytes()).unwrap();
    let output = promtool.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool rejected /metrics:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
