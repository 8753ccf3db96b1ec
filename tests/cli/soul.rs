//! Souls as an operator handles them: minted by `nara soul new`, given by file, env or
//! systemd credential, reported as bonded or not, and never shown anywhere.

use crate::common::{Running, TestNara, client, mint_soul, nara_command};
use nara::Soul;
use serde_json::Value;
use std::time::Duration;

async fn status(nara: &Running) -> Value {
    nara.get_json("/api/status").await
}

#[test]
fn soul_new_mints_a_soul_bonded_to_the_name() {
    let soul = Soul::parse(&mint_soul("kitchen")).expect("the printed soul parses");
    assert!(soul.is_bonded_to("kitchen"));
    assert!(!soul.is_bonded_to("garage"));
    assert_ne!(mint_soul("kitchen"), mint_soul("kitchen"), "each soul is new");
}

#[tokio::test]
async fn the_soul_never_appears_in_logs_api_metrics_events_or_help() {
    let soul = mint_soul("secretive");
    let dir = tempfile::tempdir().unwrap();
    let soul_file = dir.path().join("soul");
    std::fs::write(&soul_file, format!("{soul}\n")).unwrap();

    for by_env in [false, true] {
        let mut command = nara_command();
        command.args([
            "--http-addr",
            "127.0.0.1:0",
            "--name",
            "secretive",
            "--log-level",
            "trace",
        ]);
        if by_env {
            command.env("NARA_SOUL", &soul);
        } else {
            command.arg("--soul-file").arg(&soul_file);
        }
        let mut nara = Running::start(command).unwrap();
        let mut seen = String::new();
        for path in ["/api/status", "/api/peers", "/metrics", "/readyz", "/"] {
            seen.push_str(&nara.get_text(path).await);
        }
        let mut events = client().get(nara.url("/api/events")).send().await.unwrap();
        let first = tokio::time::timeout(Duration::from_secs(5), events.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&first));
        let report = status(&nara).await;
        assert_eq!(report["soul_source"], if by_env { "environment" } else { "file" });
        assert_eq!(report["bonded"], true);

        nara.signal("TERM");
        nara.wait_exit(Duration::from_secs(5));
        let log = nara.drain_log().join("\n");
        assert!(!log.is_empty());
        assert!(!seen.contains(&soul), "the soul leaked into an HTTP response");
        assert!(!log.contains(&soul), "the soul leaked into the log");
    }

    let help = nara_command().arg("--help").env("NARA_SOUL", &soul).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&help.stdout).contains(&soul),
        "--help shows the soul"
    );
}

#[test]
fn an_invalid_soul_is_refused_without_echoing_it() {
    let mut almost = mint_soul("x");
    almost.truncate(almost.len() - 3);
    let output = nara_command().env("NARA_SOUL", &almost).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("NARA_SOUL"), "{stderr}");
    assert!(!stderr.contains(&almost), "{stderr}");
}

#[tokio::test]
async fn a_soul_minted_for_another_name_is_unbonded_and_warned_about() {
    let soul = mint_soul("kitchen");
    let mut command = nara_command();
    command.args(["--http-addr", "127.0.0.1:0", "--name", "garage", "--soul", &soul]);
    let mut nara = Running::start(command).unwrap();
    let shown = status(&nara).await;
    assert_eq!(shown["bonded"], false);
    let advice = shown["bond_advice"].as_str().unwrap_or_default().to_string();
    assert!(
        advice.contains(r#"not minted for the name "garage" (from --name)"#),
        "{advice}"
    );
    let log = nara.drain_log();
    let warned = log.iter().any(|line| {
        serde_json::from_str::<serde_json::Value>(line)
            .is_ok_and(|json| json["message"].as_str().is_some_and(|m| m.contains(&advice)))
    });
    assert!(warned, "the log says what /api/status says: {log:#?}");
}

#[tokio::test]
async fn a_systemd_credential_named_soul_is_used() {
    let soul = mint_soul("credentialed");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("soul"), &soul).unwrap();
    let mut command = nara_command();
    command
        .args(["--http-addr", "127.0.0.1:0", "--name", "credentialed"])
        .env("CREDENTIALS_DIRECTORY", dir.path());
    let nara = Running::start(command).unwrap();
    let report = status(&nara).await;
    assert_eq!(report["soul_source"], "credential");
    assert_eq!(report["bonded"], true);
}

#[tokio::test]
async fn the_same_soul_and_name_give_the_same_identity_across_restarts() {
    let soul = mint_soul("steady");
    let start = || {
        let mut command = nara_command();
        command
            .args(["--http-addr", "127.0.0.1:0", "--name", "steady"])
            .env("NARA_SOUL", &soul);
        Running::start(command).unwrap()
    };
    let first = status(&start()).await;
    let second = status(&start()).await;
    assert_eq!(first["id"], second["id"]);
    assert_eq!(first["public_key"], second["public_key"]);
}
