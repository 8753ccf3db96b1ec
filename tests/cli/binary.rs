//! The real `nara` binary: flags, environment, config file, exit codes, signals,
//! logs and the healthcheck subcommand, as an operator meets them.

use crate::common::{Running, TestNara, client, free_port, nara_command};
use std::io::{Read, Write};
use std::time::Duration;

fn run_to_exit(command: &mut std::process::Command) -> (i32, String, String) {
    let output = command.output().expect("nara runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn status_name(nara: &Running) -> String {
    nara.get_json("/api/status").await["name"]
        .as_str()
        .expect("/api/status has a name")
        .to_string()
}

#[test]
fn version_prints_version_revision_and_profile() {
    let (code, stdout, _) = run_to_exit(nara_command().arg("--version"));
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with(&format!("nara {} (", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
    assert!(stdout.contains(nara::REVISION), "{stdout}");
}

#[test]
fn help_names_flags_env_vars_and_defaults() {
    let (code, stdout, _) = run_to_exit(nara_command().arg("--help"));
    assert_eq!(code, 0);
    for expected in [
        "--http-addr",
        "NARA_HTTP_ADDR",
        "[default: :8080]",
        "--shutdown-grace",
        "[default: 10s]",
        "healthcheck",
    ] {
        assert!(stdout.contains(expected), "--help lacks {expected}:\n{stdout}");
    }
}

#[test]
fn bad_flag_value_exits_2_with_one_line_naming_the_flag() {
    let (code, _, stderr) = run_to_exit(nara_command().args(["--shutdown-grace", "soon"]));
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--shutdown-grace") && stderr.contains("10s"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_newspaper_interval_or_skew_below_its_minimum_exits_2_naming_the_flag() {
    // Refused, not raised silently: 50ms would have run as 100ms, 500ms as 1s.
    for (flag, value, minimum) in [
        ("--plaza-newspaper-interval", "50ms", "100ms"),
        ("--plaza-max-skew", "500ms", "1s"),
    ] {
        let (code, _, stderr) = run_to_exit(nara_command().args([flag, value]));
        assert_eq!(code, 2, "{flag} {value}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!("nara: invalid value {value:?} for {flag}: expected a duration of at least {minimum}")
        );
        let (code, _, _) = run_to_exit(nara_command().args(["check-config", flag, minimum]));
        assert_eq!(code, 0, "{flag} {minimum} is allowed");
    }
}

#[test]
fn bad_environment_value_names_the_variable() {
    let (code, _, stderr) = run_to_exit(nara_command().env("NARA_HTTP_ADDR", "nowhere"));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("NARA_HTTP_ADDR") && stderr.contains(":PORT"),
        "{stderr}"
    );
    let (code, _, stderr) = run_to_exit(nara_command().env("NARA_LOG_FORMAT", "xml"));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("NARA_LOG_FORMAT") && stderr.contains("auto, json or pretty"),
        "{stderr}"
    );
}

#[test]
fn bad_port_variable_is_named() {
    let (code, _, stderr) = run_to_exit(nara_command().env("PORT", "eighty"));
    assert_eq!(code, 2);
    assert!(stderr.contains("PORT"), "{stderr}");
}

#[test]
fn unknown_flag_exits_2_with_one_line() {
    let (code, _, stderr) = run_to_exit(nara_command().arg("--htp-addr=:1"));
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--htp-addr"), "{stderr}");
}

#[test]
fn bad_config_file_names_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nara.toml");
    std::fs::write(&path, "shutdown_grace = \"forever\"\n").unwrap();
    let (code, _, stderr) = run_to_exit(nara_command().arg("--config").arg(&path));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("shutdown_grace in ") && stderr.contains("nara.toml"),
        "{stderr}"
    );
}

#[test]
fn address_in_use_names_the_setting_that_gave_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let port = addr.port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nara.toml");
    std::fs::write(&file, format!("http_addr = \"{addr}\"\n")).unwrap();
    let file_source = format!("http_addr in {}", file.display());
    let addr = addr.to_string();
    // Each source of the address: nara tries the address, and the error names it and
    // where it came from, as `nara check-config` names it.
    let in_use = |args: &[&str], env: &[(&str, &str)], tried: &str, source: &str| {
        let (code, _, stderr) = run_to_exit(nara_command().args(args).envs(env.iter().copied()));
        assert_eq!(code, 1, "{args:?} {env:?}: {stderr}");
        let expected = format!("cannot listen on {tried} (from {source}): Address already in use");
        assert!(
            stderr.contains(&expected),
            "{args:?} {env:?}: expected {expected:?} in\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    in_use(&["--http-addr", &addr], &[], &addr, "--http-addr");
    in_use(&["-http-addr", &addr], &[], &addr, "-http-addr");
    in_use(&[], &[("NARA_HTTP_ADDR", &addr)], &addr, "NARA_HTTP_ADDR");
    in_use(&[], &[("HTTP_ADDR", &addr)], &addr, "HTTP_ADDR");
    // PORT listens on all interfaces, which the loopback listener blocks too.
    in_use(&[], &[("PORT", &port)], &format!("0.0.0.0:{port}"), "PORT");
    in_use(&["--config", file.to_str().unwrap()], &[], &addr, &file_source);
}

#[tokio::test]
async fn flag_beats_environment_beats_file_beats_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nara.toml");
    std::fs::write(&path, "name = \"from-file\"\nhttp_addr = \"127.0.0.1:0\"\n").unwrap();

    let mut all = nara_command();
    all.arg("--config")
        .arg(&path)
        .args(["--name", "from-flag"])
        .env("NARA_NAME", "from-env");
    assert_eq!(status_name(&Running::start(all).unwrap()).await, "from-flag");

    let mut env_and_file = nara_command();
    env_and_file.arg("--config").arg(&path).env("NARA_NAME", "from-env");
    assert_eq!(status_name(&Running::start(env_and_file).unwrap()).await, "from-env");

    let mut file_only = nara_command();
    file_only.env("NARA_CONFIG", &path);
    assert_eq!(status_name(&Running::start(file_only).unwrap()).await, "from-file");
}

#[tokio::test]
async fn go_style_single_dash_flags_still_work() {
    let mut command = nara_command();
    command.args(["-http-addr", "127.0.0.1:0", "-name=legacy"]);
    let nara = Running::start(command).unwrap();
    assert_eq!(status_name(&nara).await, "legacy");
}

#[tokio::test]
async fn go_style_port_only_address_listens_on_all_interfaces() {
    let port = free_port();
    let mut command = nara_command();
    command.args(["--http-addr", &format!(":{port}")]);
    let nara = Running::start(command).unwrap();
    assert_eq!(nara.addr.port(), port);
    let response = client()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

#[tokio::test]
async fn port_variable_is_used_when_no_address_is_configured() {
    let port = free_port();
    let mut command = nara_command();
    command.env("PORT", port.to_string());
    let nara = Running::start(command).unwrap();
    assert_eq!(nara.addr.port(), port);
    assert_eq!(nara.status_code("/healthz").await, 200);
}

#[tokio::test]
async fn an_explicit_address_wins_over_port() {
    let mut command = nara_command();
    command
        .env("PORT", free_port().to_string())
        .env("NARA_HTTP_ADDR", "127.0.0.1:0");
    let nara = Running::start(command).unwrap();
    assert_ne!(nara.addr.port(), 0);
    assert_eq!(nara.status_code("/healthz").await, 200);
}

#[tokio::test]
async fn json_logs_carry_the_start_up_line_and_sigterm_exits_0() {
    let mut command = nara_command();
    command.args(["--http-addr", "127.0.0.1:0", "--log-level", "debug"]);
    let mut nara = Running::start(command).unwrap();
    client().get(nara.url("/healthz")).send().await.unwrap();
    nara.signal("TERM");
    assert_eq!(nara.wait_exit(Duration::from_secs(5)).code(), Some(0));
    let log = nara.drain_log();
    let lines: Vec<serde_json::Value> = log
        .iter()
        .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "request" && l["path"] == "/healthz" && l["status"] == 200),
        "{log:?}"
    );
    assert!(lines.iter().any(|l| l["message"] == "stopped cleanly"), "{log:?}");
}

#[test]
fn a_request_log_line_names_the_connection_it_came_on() {
    let mut command = nara_command();
    command.args(["--http-addr", "127.0.0.1:0", "--log-level", "nara=debug"]);
    let mut nara = Running::start(command).unwrap();
    // A connection of the test's own, so its address is known: nara's peer.
    let mut stream = std::net::TcpStream::connect(nara.addr).unwrap();
    let client_addr = stream.local_addr().unwrap().to_string();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let line = nara.wait_for_log("the debug line for GET /healthz", Duration::from_secs(5), |line| {
        line["message"] == "request" && line["path"] == "/healthz"
    });
    assert_eq!(line["span"]["name"], "connection", "{line}");
    assert!(client_addr.starts_with("127.0.0.1:"), "{client_addr}");
    assert_eq!(line["span"]["peer"], client_addr.as_str(), "{line}");
}

#[test]
fn assembly_and_broker_lines_carry_the_nara_and_the_broker_in_their_spans() {
    // Nothing listens there: the transport's first line says why it cannot connect.
    let broker = format!("mqtt://127.0.0.1:{}", free_port());
    let mut command = nara_command();
    command.args(["--http-addr", "127.0.0.1:0", "--name", "spanned", "--mqtt-url", &broker]);
    let mut nara = Running::start(command).unwrap();

    let listening = nara.wait_for_log("the start-up line", Duration::from_secs(5), |line| {
        line["message"] == "nara listening"
    });
    assert_eq!(listening["span"]["name"], "nara", "{listening}");
    assert_eq!(listening["span"]["nara"], "spanned", "{listening}");
    let trouble = nara.wait_for_log("a line from the transport", Duration::from_secs(10), |line| {
        line["target"] == "nara::plaza::transport"
    });
    assert_eq!(trouble["span"]["name"], "plaza", "{trouble}");
    assert_eq!(trouble["span"]["broker"], broker.as_str(), "{trouble}");
}

#[test]
fn sigint_exits_0_too() {
    let mut command = nara_command();
    command.args(["--http-addr", "127.0.0.1:0"]);
    let mut nara = Running::start(command).unwrap();
    nara.signal("INT");
    assert_eq!(nara.wait_exit(Duration::from_secs(5)).code(), Some(0));
}

#[test]
fn healthcheck_exits_0_against_a_healthy_nara_and_1_against_nothing() {
    let mut command = nara_command();
    command.args(["--http-addr", "127.0.0.1:0"]);
    let nara = Running::start(command).unwrap();
    let (code, _, stderr) = run_to_exit(nara_command().args(["healthcheck", "--url", &nara.url("/healthz")]));
    assert_eq!(code, 0, "{stderr}");

    let (code, _, stderr) = run_to_exit(
        nara_command()
            .env("NARA_HTTP_ADDR", nara.addr.to_string())
            .arg("healthcheck"),
    );
    assert_eq!(code, 0, "the default URL follows the configured address: {stderr}");

    let closed = format!("http://127.0.0.1:{}/healthz", free_port());
    let (code, _, stderr) = run_to_exit(nara_command().args(["healthcheck", "--url", &closed, "--timeout", "1s"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot connect"), "{stderr}");

    let (code, _, stderr) = run_to_exit(nara_command().args(["healthcheck", "--url", &nara.url("/nope")]));
    assert_eq!(code, 1);
    assert!(stderr.contains("404"), "{stderr}");
}

#[test]
fn help_opens_with_what_nara_is_and_where_its_docs_are() {
    let (code, stdout, _) = run_to_exit(nara_command().arg("--help"));
    assert_eq!(code, 0);
    let first = stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with("nara: one small service"), "{first}");
    assert!(stdout.contains("/docs/"), "{stdout}");
    assert!(!stdout.contains("What to do instead of serving"), "{stdout}");
}

#[test]
fn a_missing_argument_is_named_with_the_subcommands_help() {
    let (code, _, stderr) = run_to_exit(nara_command().args(["soul", "new"]));
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--name <NAME>"), "{stderr}");
    assert!(stderr.contains("nara soul new --help"), "{stderr}");
}

#[test]
fn a_missing_subcommand_shows_the_help_and_exits_2() {
    let (code, stdout, stderr) = run_to_exit(nara_command().arg("soul"));
    assert_eq!(code, 2, "stdout: {stdout}");
    assert!(stderr.contains("new"), "{stderr}");
}

#[test]
fn go_style_dash_version_prints_the_version() {
    let (code, stdout, stderr) = run_to_exit(nara_command().arg("-version"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("nara "), "{stdout}");
}

#[test]
fn config_file_mistakes_say_what_to_write_instead() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nara.toml");
    std::fs::write(&path, "shutdown_grace = 15\n").unwrap();
    let (code, _, stderr) = run_to_exit(nara_command().arg("check-config").arg("--config").arg(&path));
    assert_eq!(code, 2);
    assert!(stderr.contains(r#"such as "15s""#), "{stderr}");

    std::fs::write(&path, "plaza_max_peers = 500\n").unwrap();
    let (code, stdout, stderr) = run_to_exit(nara_command().arg("check-config").arg("--config").arg(&path));
    assert_eq!(code, 0, "a count may be a TOML number: {stderr}");
    assert!(
        stdout.contains(r#"plaza_max_peers"#) && stdout.contains(r#""500""#),
        "{stdout}"
    );

    std::fs::write(&path, "require_plaza = \"yes\"\n").unwrap();
    let (code, _, stderr) = run_to_exit(nara_command().arg("--config").arg(&path));
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim_end(),
        format!(
            "nara: invalid value \"yes\" for require_plaza in {}: expected true or false, unquoted: require_plaza = true",
            path.display()
        ),
        "the value as written, and what to write"
    );

    std::fs::write(&path, "soul = \"not-shown\"\n").unwrap();
    let (code, _, stderr) = run_to_exit(nara_command().arg("check-config").arg("--config").arg(&path));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("`soul_file`") && !stderr.contains("not-shown"),
        "{stderr}"
    );
}

#[test]
fn a_bad_switch_variable_lists_every_accepted_form() {
    let (code, _, stderr) = run_to_exit(nara_command().arg("check-config").env("NARA_REQUIRE_PLAZA", "sure"));
    assert_eq!(code, 2);
    for form in ["true", "false", "1/0", "yes/no", "on/off"] {
        assert!(stderr.contains(form), "{form}: {stderr}");
    }
}

#[test]
fn ignored_go_flags_are_named_as_they_were_typed() {
    let mut nara = Running::start({
        let mut command = nara_command();
        command.args([
            "--http-addr",
            "127.0.0.1:0",
            "--name",
            "go",
            "-no-mesh",
            "-refresh-rate",
            "3",
        ]);
        command
    })
    .unwrap();
    let log = nara.drain_log().join("\n");
    assert!(
        log.contains("-no-mesh, -refresh-rate") && !log.contains("--no-mesh"),
        "{log}"
    );
}

#[test]
fn healthcheck_takes_the_address_as_a_flag_after_it() {
    let nara = Running::start({
        let mut command = nara_command();
        command.args(["--http-addr", "127.0.0.1:0", "--name", "probed"]);
        command
    })
    .unwrap();
    let addr = nara.addr.to_string();
    let (code, _, stderr) = run_to_exit(nara_command().args(["healthcheck", "--http-addr", &addr]));
    assert_eq!(code, 0, "{stderr}");
}

/// Every way a secret can be given wrongly, with a marker in the secret: none of them
/// may put the marker on stderr (or in the log, which is stderr).
#[test]
fn no_secret_from_any_input_reaches_stderr() {
    const MARK: &str = "s3cr3t-marker";
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("nara.toml");
    std::fs::write(&toml, format!("mqtt_url = \"mqtt://u:{MARK}@broker\"\n")).unwrap();
    let soul_file = dir.path().join("soul");
    std::fs::write(&soul_file, format!("{MARK}\n")).unwrap();
    // What is wrong, the flags, the variables.
    type Case = (&'static str, Vec<String>, Vec<(&'static str, String)>);
    let cases: Vec<Case> = vec![
        (
            "URL flag",
            vec!["--mqtt-url".into(), format!("mqtt://u:{MARK}@broker")],
            vec![],
        ),
        (
            "URL variable",
            vec![],
            vec![("NARA_MQTT_URL", format!("mqtts://{MARK}@broker:8883"))],
        ),
        (
            "URL in the file",
            vec!["--config".into(), toml.display().to_string()],
            vec![],
        ),
        (
            "public URL",
            vec!["--public-url".into(), format!("https://u:{MARK}@nara.example")],
            vec![],
        ),
        ("soul flag", vec!["--soul".into(), MARK.into()], vec![]),
        (
            "a password with a slash",
            vec!["--mqtt-url".into(), format!("mqtt://u:x/{MARK}@broker")],
            vec![],
        ),
        (
            "a password with a hash",
            vec![],
            vec![("NARA_MQTT_URL", format!("mqtt://u:x#{MARK}@broker"))],
        ),
        (
            "a password flag that starts with a dash",
            vec!["--mqtt-pass".into(), format!("-{MARK}"), "--bogus".into()],
            vec![],
        ),
        ("soul variable", vec![], vec![("NARA_SOUL", MARK.to_string())]),
        (
            "soul file",
            vec!["--soul-file".into(), soul_file.display().to_string()],
            vec![],
        ),
    ];
    for (what, args, env) in cases {
        for subcommand in [None, Some("check-config")] {
            let mut command = nara_command();
            command
                .args(subcommand)
                .args(&args)
                .envs(env.iter().map(|(k, v)| (k, v)));
            let (code, stdout, stderr) = run_to_exit(&mut command);
            // check-config opens no soul file, so only a start refuses that one.
            if subcommand.is_none() {
                assert_ne!(code, 0, "{what} is refused");
            }
            assert!(
                !stderr.contains(MARK) && !stdout.contains(MARK),
                "{what}: {stderr}{stdout}"
            );
        }
    }
    let (code, stdout, stderr) = run_to_exit(
        nara_command()
            .arg("check-config")
            .args(["--mqtt-url", "mqtt://broker", "--mqtt-user", "u"])
            .env("NARA_MQTT_PASSWORD", MARK),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("<redacted>") && !stdout.contains(MARK), "{stdout}");
}
