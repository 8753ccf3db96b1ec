//! What the Operations chapter gives Prometheus, as promtool reads it: each scrape
//! configuration as written, and the rules loaded as the chapter says, with the rules
//! file nara ships; and the chapter's table of alerts naming every alert of that file.

use crate::common::repo_files::{fenced_block, repo_file};
use std::process::Command;

const CHAPTER: &str = "docs/src/operations.md";
const RULES: &str = "deploy/prometheus/nara-rules.yml";

/// `promtool check config` on `config`, written as prometheus.yml in a scratch folder
/// beside a copy of the shipped rules: promtool's words when it refuses it.
fn promtool_check(config: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("a scratch folder");
    std::fs::write(dir.path().join("prometheus.yml"), config).expect("the scratch folder takes a file");
    std::fs::write(dir.path().join("nara-rules.yml"), repo_file(RULES)).expect("the scratch folder takes a file");
    let output = Command::new("promtool")
        .args(["check", "config", "prometheus.yml"])
        .current_dir(dir.path())
        .output()
        .expect("promtool is installed (Debian package prometheus; `make bootstrap` installs it)");
    match output.status.success() {
        true => Ok(()),
        false => Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

fn promtool_accepts(what: &str, config: &str) {
    if let Err(words) = promtool_check(config) {
        panic!("promtool refuses {what}:\n{words}\n{config}");
    }
}

/// `jobs` with each job's Kubernetes discovery, a pod role in one namespace, put in
/// place by a static target: for a promtool built without that discovery (Debian's).
fn without_kubernetes_discovery(jobs: &str) -> String {
    let mut config: serde_yaml_ng::Value = serde_yaml_ng::from_str(jobs).expect("the jobs are YAML");
    for job in config["scrape_configs"].as_sequence_mut().into_iter().flatten() {
        let Some(job) = job.as_mapping_mut() else { continue };
        if let Some(discovery) = job.remove("kubernetes_sd_configs") {
            assert_eq!(discovery[0]["role"], "pod", "{discovery:?}");
            assert!(discovery[0]["namespaces"]["names"][0].is_string(), "{discovery:?}");
            let targets: serde_yaml_ng::Value =
                serde_yaml_ng::from_str("[{targets: ['pod.invalid:8080']}]").expect("a static target");
            job.insert("static_configs".into(), targets);
        }
    }
    serde_yaml_ng::to_string(&config).expect("the jobs serialize")
}

#[test]
fn the_chapters_scrape_jobs_are_valid_and_scrape_the_fleet_page() {
    for needle in ["kubernetes_sd_configs", "kitchen.lan:8080"] {
        let jobs = fenced_block(CHAPTER, "yaml", needle);
        assert!(jobs.contains("metrics_path: /metrics/peers"), "{jobs}");
        match promtool_check(&jobs) {
            Err(words) if words.contains("field kubernetes_sd_configs not found") => {
                eprintln!(
                    "promtool here has no Kubernetes discovery (Debian builds it without): the jobs are checked \
                     with static targets in its place; nixpkgs' promtool, in nix flake check, checks it too"
                );
                promtool_accepts(
                    &format!("the scrape jobs with {needle}, discovery aside"),
                    &without_kubernetes_discovery(&jobs),
                );
            }
            Err(words) => panic!("promtool refuses the scrape jobs with {needle}:\n{words}\n{jobs}"),
            Ok(()) => {}
        }
    }
}

#[test]
fn the_rules_load_as_the_chapter_says() {
    let config = fenced_block(CHAPTER, "yaml", "rule_files");
    assert!(config.contains("nara-rules.yml"), "{config}");
    promtool_accepts("the rules' loading", &config);
}

#[test]
fn the_chapter_names_every_alert_the_rules_file_holds() {
    let rules: serde_yaml_ng::Value = serde_yaml_ng::from_str(&repo_file(RULES)).expect("the rules are YAML");
    let alerts: Vec<&str> = rules["groups"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|group| group["rules"].as_sequence().into_iter().flatten())
        .filter_map(|rule| rule["alert"].as_str())
        .collect();
    assert_eq!(alerts.len(), 5, "{alerts:?}");
    let chapter = repo_file(CHAPTER);
    let tests = repo_file("deploy/prometheus/nara-rules.test.yml");
    for alert in alerts {
        assert!(chapter.contains(&format!("| `{alert}` |")), "{CHAPTER} lacks {alert}");
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "no unit test fires {alert}"
        );
    }
}

#[test]
fn the_http_chapters_tag_join_is_one_the_rules_tests_evaluate() {
    let chapter = repo_file("docs/src/http-api.md");
    let expr = chapter
        .split('`')
        .find(|part| part.contains("group_left") && part.contains("nara_peer_tag_info{"))
        .expect("the HTTP API chapter joins a tag");
    let tests = repo_file("deploy/prometheus/nara-rules.test.yml");
    assert!(
        tests.contains(&format!("- expr: {expr}\n")),
        "nara-rules.test.yml does not evaluate {expr}"
    );
}
