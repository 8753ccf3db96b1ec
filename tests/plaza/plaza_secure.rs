//! The plaza over an authenticated broker and over TLS (mqtts://), with mosquitto
//! configured as an operator would: a password file, a certificate from a private CA.

use crate::common::broker::Mosquitto;
use crate::common::tls::make_certificates;
use crate::common::{Running, TestNara, holds_for, nara_command, run_ok};
use std::process::Command;
use std::time::Duration;

/// Fails the test if `nara` gets on the plaza within two seconds: the time a refused
/// client is given to prove it stays off (the good clients connect well within it).
async fn stays_off_the_plaza(nara: &Running, why: &str) {
    let what = format!("{} off the plaza ({why})", nara.base);
    holds_for(&what, Duration::from_secs(2), || async {
        !nara.plaza_connected().await
    })
    .await;
}

#[tokio::test]
async fn credentials_from_a_password_file_open_an_authenticated_broker() {
    let scratch = tempfile::tempdir().unwrap();
    let passwd = scratch.path().join("passwd");
    run_ok(
        Command::new("mosquitto_passwd")
            .args(["-c", "-b"])
            .arg(&passwd)
            .args(["kitchen", "s3cret-pass"]),
    );
    let broker = Mosquitto::start_with(
        "",
        &format!("allow_anonymous false\npassword_file {}", passwd.display()),
    );
    let password_file = scratch.path().join("mqtt-password");
    std::fs::write(&password_file, "s3cret-pass\n").unwrap();

    let mut good = nara_command();
    good.args([
        "--http-addr",
        "127.0.0.1:0",
        "--name",
        "kitchen",
        "--mqtt-url",
        &broker.url(),
    ])
    .args(["--mqtt-user", "kitchen", "--mqtt-password-file"])
    .arg(&password_file);
    let mut good = Running::start(good).unwrap();
    // The right password connects.
    good.wait_for_plaza(true, Duration::from_secs(10)).await;

    let credentials = tempfile::tempdir().unwrap();
    std::fs::write(credentials.path().join("mqtt-password"), "s3cret-pass").unwrap();
    let mut by_credential = nara_command();
    by_credential
        .args([
            "--http-addr",
            "127.0.0.1:0",
            "--name",
            "credentialed",
            "--mqtt-url",
            &broker.url(),
        ])
        .args(["--mqtt-user", "kitchen"])
        .env("CREDENTIALS_DIRECTORY", credentials.path());
    let by_credential = Running::start(by_credential).unwrap();
    // The systemd credential mqtt-password is the password.
    by_credential.wait_for_plaza(true, Duration::from_secs(10)).await;

    let mut wrong = nara_command();
    wrong
        .args([
            "--http-addr",
            "127.0.0.1:0",
            "--name",
            "intruder",
            "--mqtt-url",
            &broker.url(),
        ])
        .args(["--mqtt-user", "kitchen"])
        .env("NARA_MQTT_PASSWORD", "guess");
    let mut wrong = Running::start(wrong).unwrap();
    stays_off_the_plaza(&wrong, "a wrong password does not connect").await;
    assert_eq!(wrong.status_code("/healthz").await, 200);

    for nara in [&mut good, &mut wrong] {
        let log = nara.drain_log().join("\n");
        assert!(
            !log.contains("s3cret-pass") && !log.contains("guess"),
            "a password reached the log"
        );
    }
}

#[tokio::test]
async fn mqtts_checks_the_broker_certificate_against_the_trusted_cas() {
    let certs = tempfile::tempdir().unwrap();
    make_certificates(certs.path());
    let d = certs.path().display();
    let broker = Mosquitto::start_with(
        &format!("cafile {d}/ca.crt\ncertfile {d}/server.crt\nkeyfile {d}/server.key"),
        "allow_anonymous true",
    );
    let url = format!("mqtts://127.0.0.1:{}", broker.port);

    let mut trusting = nara_command();
    trusting
        .args(["--http-addr", "127.0.0.1:0", "--name", "tls-ok", "--mqtt-url", &url])
        .env("SSL_CERT_FILE", certs.path().join("ca.crt"));
    let trusting = Running::start(trusting).unwrap();
    // A broker signed by a trusted CA is accepted.
    trusting.wait_for_plaza(true, Duration::from_secs(10)).await;
    let status = trusting.get_json("/api/status").await;
    assert_eq!(status["plaza"]["broker"], url);

    // Trusting only an unrelated CA, the same broker is refused.
    let other = tempfile::tempdir().unwrap();
    make_certificates(other.path());
    let mut doubting = nara_command();
    doubting
        .args(["--http-addr", "127.0.0.1:0", "--name", "tls-no", "--mqtt-url", &url])
        .env("SSL_CERT_FILE", other.path().join("ca.crt"));
    let doubting = Running::start(doubting).unwrap();
    stays_off_the_plaza(&doubting, "an untrusted certificate is refused").await;
}
