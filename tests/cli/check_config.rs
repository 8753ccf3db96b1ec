//! `nara check-config`, as an operator and the NixOS module run it: every setting with
//! its value and source, the same error a start would print (exit 2), and no secret
//! opened or printed.

use crate::common::nara_command;
use std::path::Path;

/// Exit status, stdout and stderr of `nara` with `args` and the variables `env`.
fn check(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let output = nara_command()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("nara runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The line check-config printed for `key`.
fn line<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no line for {key} in:\n{stdout}"))
}

#[test]
fn each_setting_is_printed_with_its_value_and_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nara.toml");
    std::fs::write(&file, "name = \"hall\"\nplaza_missing_after = \"10m\"\n").unwrap();
    let (code, stdout, stderr) = check(
        &[
            "--config",
            file.to_str().unwrap(),
            "check-config",
            "--log-level",
            "debug",
        ],
        &[("NARA_SHUTDOWN_GRACE", "3s")],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(line(&stdout, "name").contains("\"hall\"") && line(&stdout, "name").contains("name in "));
    assert!(line(&stdout, "log_level").contains("(--log-level)"), "{stdout}");
    assert!(
        line(&stdout, "shutdown_grace").contains("(NARA_SHUTDOWN_GRACE)"),
        "{stdout}"
    );
    assert!(
        line(&stdout, "http_addr").contains("the default of --http-addr"),
        "{stdout}"
    );
    assert!(line(&stdout, "plaza_missing_after").contains("\"10m\""), "{stdout}");
}

#[test]
fn a_bad_flag_a_bad_variable_and_a_bad_file_key_fail_as_a_start_would() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nara.toml");
    std::fs::write(&file, "plaza_max_skew = \"forever\"\n").unwrap();
    let file = file.to_str().unwrap();
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 3] = [
        (&["check-config", "--http-addr", "nowhere"], &[], "for --http-addr"),
        (&["check-config"], &[("NARA_LOG_FORMAT", "xml")], "for NARA_LOG_FORMAT"),
        (&["check-config", "--config", file], &[], "for plaza_max_skew in "),
    ];
    for (args, env, names) in cases {
        let (code, stdout, stderr) = check(args, env);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(names), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        // A start with the same input prints the same line.
        let start_args: Vec<&str> = args.iter().copied().filter(|a| *a != "check-config").collect();
        let (start_code, _, start_stderr) = check(&start_args, env);
        assert_eq!((start_code, start_stderr.as_str()), (2, stderr.as_str()));
    }
}

#[test]
fn secrets_are_neither_printed_nor_opened() {
    let soul = nara::Soul::mint("hall").unwrap().to_base58();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-soul");
    // A soul given whole is checked and redacted.
    let (code, stdout, stderr) = check(
        &["check-config", "--mqtt-url", "mqtt://b"],
        &[("NARA_SOUL", &soul), ("NARA_MQTT_PASSWORD", "hunter2")],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains(&soul) && !stdout.contains("hunter2"), "{stdout}");
    assert!(line(&stdout, "soul").contains("<redacted>"), "{stdout}");
    assert!(line(&stdout, "mqtt_password").contains("<redacted>"), "{stdout}");
    // Files of secrets that do not exist (yet) on this machine are not opened.
    let credentials = dir.path().join("credentials");
    let (code, stdout, stderr) = check(
        &[
            "check-config",
            "--soul-file",
            missing.to_str().unwrap(),
            "--mqtt-url",
            "mqtt://b",
            "--mqtt-password-file",
            missing.to_str().unwrap(),
        ],
        &[("CREDENTIALS_DIRECTORY", credentials.to_str().unwrap())],
    );
    assert_eq!(code, 0, "check-config opened a secret: {stderr}");
    assert!(line(&stdout, "soul_file").contains("no-such-soul"), "{stdout}");
    // A start does open them, and says which.
    let (code, _, stderr) = check(&["--soul-file", missing.to_str().unwrap()], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no-such-soul"), "{stderr}");
    // A bad soul is refused without being echoed.
    let (code, _, stderr) = check(&["check-config"], &[("NARA_SOUL", "not-a-soul-at-all")]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("NARA_SOUL") && !stderr.contains("not-a-soul-at-all"),
        "{stderr}"
    );
}

/// The module's sample (checks/sample-settings.json) as the NixOS module renders it: its
/// defaults under the settings, as TOML.
fn sample_as_the_module_renders_it() -> (toml::Table, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("checks/sample-settings.json");
    let text = std::fs::read_to_string(path).expect("checks/sample-settings.json is readable");
    let sample: serde_json::Value = serde_json::from_str(&text).expect("the sample is JSON");
    let mut table = toml::Table::new();
    table.insert("http_addr".into(), ":8080".into());
    table.insert("log_format".into(), "json".into());
    for (key, value) in sample["settings"].as_object().expect("the sample has settings") {
        table.insert(
            key.clone(),
            value.as_str().expect("the sample's settings are strings").into(),
        );
    }
    let args = sample["extraArgs"]
        .as_array()
        .expect("the sample has extraArgs")
        .iter()
        .map(|a| a.as_str().expect("arguments are strings").to_string())
        .collect();
    (table, args)
}

#[test]
fn the_module_sample_passes_and_a_broken_one_fails_naming_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let (table, args) = sample_as_the_module_renders_it();
    let good = dir.path().join("nara-checked.toml");
    std::fs::write(&good, toml::to_string(&table).unwrap()).unwrap();
    let mut argv = vec!["check-config", "--config", good.to_str().unwrap()];
    argv.extend(args.iter().map(String::as_str));
    let (code, stdout, stderr) = check(&argv, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        line(&stdout, "plaza_newspaper_interval").contains("\"10s\""),
        "{stdout}"
    );

    let mut broken = table.clone();
    broken.insert("plaza_missing_after".into(), "ten minutes".into());
    let bad = dir.path().join("broken.toml");
    std::fs::write(&bad, toml::to_string(&broken).unwrap()).unwrap();
    argv[2] = bad.to_str().unwrap();
    let (code, _, stderr) = check(&argv, &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("plaza_missing_after in ") && stderr.contains("broken.toml"),
        "{stderr}"
    );
}

/// What the NixOS module renders for checks/nixos-go-sample.nix's instance `lily`, a
/// configuration written for the Go nara's module, and the Go flags it passes: the
/// build-time check must pass it, as a Go nara started with them.
#[test]
fn the_go_module_samples_settings_and_flags_pass_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nara-lily.toml");
    let rendered = "http_addr = \":8080\"\nlog_format = \"json\"\nmqtt_url = \"tcp://broker.lan:1883\"\n\
                    name = \"lily\"\npublic_url = \"https://lily.example.org\"\n";
    std::fs::write(&file, rendered).unwrap();
    let file = file.to_str().unwrap();
    let (code, stdout, stderr) = check(
        &["check-config", "--config", file, "-serve-ui", "-verbose", "-read-only"],
        &[("MQTT_USER", "lily"), ("MQTT_PASS", "secret")],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(line(&stdout, "mqtt_url").contains("tcp://broker.lan:1883"), "{stdout}");
    assert!(line(&stdout, "read_only").contains("true"), "{stdout}");
    assert!(line(&stdout, "mqtt_user").contains("lily"), "{stdout}");
    assert!(!stdout.contains("secret"), "{stdout}");
}
