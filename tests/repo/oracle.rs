//! The oracle itself must be able to fail: run against a binary that claims to be nara
//! but serves nothing, it exits non-zero with one line saying what failed. With a
//! broker (`ORACLE_MQTT_PORT`, as checks.oracle-static runs it) it finds a free port
//! itself, and says so when the port it is given is taken.

use std::process::Command;

fn run_oracle(bin: &std::path::Path) -> (i32, String) {
    run_oracle_with(bin, &[])
}

fn run_oracle_with(bin: &std::path::Path, env: &[(&str, &str)]) -> (i32, String) {
    let output = Command::new("sh")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/checks/oracle.sh"))
        .arg(bin)
        .envs(env.iter().copied())
        .output()
        .expect("sh runs the oracle");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn oracle_passes_against_this_build() {
    let (code, stderr) = run_oracle(env!("CARGO_BIN_EXE_nara").as_ref());
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("all checks passed"), "{stderr}");
}

#[test]
fn oracle_fails_on_a_binary_that_serves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let impostor = dir.path().join("nara");
    std::fs::write(&impostor, "#!/bin/sh\necho 'nara 0.0.0 (none, debug)'\nexit 0\n").unwrap();
    std::fs::set_permissions(&impostor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (code, stderr) = run_oracle(&impostor);
    assert_eq!(code, 1, "{stderr}");
    let last = stderr.lines().last().unwrap_or("");
    assert!(last.starts_with("oracle: FAIL: start:"), "{stderr}");
}

#[test]
fn oracle_fails_on_a_missing_binary() {
    let (code, stderr) = run_oracle("/nonexistent/nara".as_ref());
    assert_eq!(code, 1);
    assert!(stderr.contains("does not exist"), "{stderr}");
}

#[test]
fn oracle_joins_a_broker_on_a_free_port_it_picks() {
    let (code, stderr) = run_oracle_with(env!("CARGO_BIN_EXE_nara").as_ref(), &[("ORACLE_MQTT_PORT", "free")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("ok: joined the plaza at mqtt://localhost:"), "{stderr}");
}

#[test]
fn oracle_fails_naming_a_broker_port_that_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = taken.local_addr().expect("its address").port().to_string();
    let (code, stderr) = run_oracle_with(env!("CARGO_BIN_EXE_nara").as_ref(), &[("ORACLE_MQTT_PORT", &port)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("mosquitto could not listen on {port}")),
        "{stderr}"
    );
    assert!(stderr.contains("FAIL: broker:"), "{stderr}");
}
