//! The book's deploy gates, run as written: the GitHub Actions job of the Fly chapter
//! (its `run:` steps, in order, with its `env:` and `$GITHUB_ENV` as the runner keeps
//! them), and the Kubernetes and NixOS chapters' console blocks (nixos-rebuild, then
//! colmena), each in bash against a fleet on mosquitto: an observer and two older
//! releases, which the deploy replaces with this binary under the same souls.
//!
//! The platforms' own commands are stood in for by one stub on `PATH`
//! (`flyctl`, `docker`, `kubectl`, `nix`, `nixos-rebuild`, `colmena`): a deploy
//! (`flyctl deploy`, `kubectl apply`, `nixos-rebuild switch`, `colmena apply`) starts
//! the rollout, a second later, as a platform would; `kubectl rollout status` returns;
//! and what runs nara elsewhere (`docker run IMAGE …`, `kubectl run … -- …`, `nix run
//! FLAKE -- …`) runs this binary with nara's arguments as written.
//!
//! What the test changes, and only that: the nara the gate asks (`NARA_URL` in the job,
//! `--url` in a console line) becomes the observer, and the version a console line
//! names becomes this binary's, the version the fleet is upgraded to (the Fly job reads
//! it from the image, here the binary itself). GitHub's `${{ … }}` expressions get
//! stand-in values; any other is a failure.

use crate::common::broker::Mosquitto;
use crate::common::old_release::OldRelease;
use crate::common::repo_files::{console_block, fenced_block};
use crate::common::{Running, TestNara, nara_bin, nara_on, wait_until};
use nara::{Soul, VERSION};
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

/// The version the older releases run.
const OLD: &str = "0.0.9";

/// How long the fleet, and the recipe, may take.
const LIMIT: Duration = Duration::from_secs(60);

/// How long after a deploy command the fleet starts to change, as a platform's rollout
/// takes a while: the gate must be seen waiting.
const ROLLOUT_DELAY: Duration = Duration::from_secs(1);

/// The stand-in for every platform command the recipes run.
const STUB: &str = r#"#!/bin/sh
# Stands in for a platform's command in the book's deploy gates (tests/repo/gates.rs).
set -eu
tool=$(basename "$0")
printf '%s %s\n' "$tool" "$*" >>"$STUB_LOG"
case "$tool ${1:-}" in
"flyctl deploy" | "kubectl apply" | "nixos-rebuild switch" | "colmena apply")
	touch "$STUB_DEPLOYED"
	;;
"kubectl rollout") ;;
"docker run")
	shift
	while [ "${1#-}" != "$1" ]; do shift; done # docker's own flags (--rm)
	shift                                      # the image
	exec "$NARA_BIN" "$@"
	;;
"kubectl run" | "nix run")
	while [ "$1" != "--" ]; do shift; done
	shift
	exec "$NARA_BIN" "$@"
	;;
*)
	echo "stub $tool: not a command the recipes run: $*" >&2
	exit 64
	;;
esac
"#;

/// The stub installed under each tool's name, and the files it writes.
struct Stubs {
    dir: tempfile::TempDir,
}

impl Stubs {
    fn install() -> Stubs {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("the stubs' folder");
        let stub = dir.path().join("stub");
        std::fs::write(&stub, STUB).expect("the stub is written");
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).expect("the stub runs");
        for tool in ["flyctl", "docker", "kubectl", "nix", "nixos-rebuild", "colmena"] {
            std::os::unix::fs::symlink(&stub, bin.join(tool)).expect("the stub is linked");
        }
        Stubs { dir }
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("calls")
    }

    fn deployed(&self) -> PathBuf {
        self.dir.path().join("deployed")
    }

    /// The environment a recipe runs in: the stubs first on `PATH`, then this binary's
    /// folder (where a reader's `nara` is), then the caller's.
    fn env(&self) -> BTreeMap<String, String> {
        let binary = Path::new(nara_bin()).parent().expect("the binary's folder");
        let path = format!(
            "{}:{}:{}",
            self.bin().display(),
            binary.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        BTreeMap::from([
            ("PATH".to_string(), path),
            ("NARA_BIN".to_string(), nara_bin().to_string()),
            ("STUB_LOG".to_string(), self.log().display().to_string()),
            ("STUB_DEPLOYED".to_string(), self.deployed().display().to_string()),
        ])
    }

    /// The platform commands the recipe ran, in order.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

/// An observer and two older releases on one broker; once the stub says a deploy ran,
/// and [`ROLLOUT_DELAY`] later, each older release is replaced by this binary under its
/// soul and name (the new processes live as long as the test's runtime).
struct Fleet {
    _broker: Arc<Mosquitto>,
    observer: Running,
    _upgrader: tokio::task::JoinHandle<Vec<Running>>,
}

impl Fleet {
    async fn start(deployed: PathBuf) -> Fleet {
        let broker = Arc::new(Mosquitto::start());
        let observer = nara_on(&broker.url(), "observer", &[]);
        let mut olds = Vec::new();
        for name in ["kitchen", "attic"] {
            let soul = Soul::mint(name).expect("randomness").to_base58();
            let release = OldRelease::start(broker.port, &soul, name, OLD).await;
            observer.wait_peer_version(name, OLD, LIMIT).await;
            olds.push((name, soul, release));
        }
        let fleet_broker = broker.clone();
        let upgrader = tokio::spawn(async move {
            wait_until("a deploy command of the recipe", LIMIT, || {
                let seen = deployed.exists();
                async move { seen.then_some(()) }
            })
            .await;
            tokio::time::sleep(ROLLOUT_DELAY).await;
            let mut new = Vec::new();
            for (name, soul, release) in olds {
                drop(release);
                new.push(nara_on(&fleet_broker.url(), name, &["--soul", &soul]));
            }
            new
        });
        Fleet {
            _broker: broker,
            observer,
            _upgrader: upgrader,
        }
    }
}

/// How long a recipe may run: its gate waits up to ten minutes as written, far past
/// what a fleet that converges needs here.
const RECIPE_LIMIT: Duration = Duration::from_secs(90);

/// `command` run to its end on a blocking thread, while the fleet carries on; a recipe
/// still running after [`RECIPE_LIMIT`] is killed, its whole process group with it,
/// and the test fails.
async fn run(mut command: Command) -> Output {
    use std::os::unix::process::CommandExt;
    command
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("bash runs");
    let group = i32::try_from(child.id()).expect("a pid");
    let killer = tokio::spawn(async move {
        tokio::time::sleep(RECIPE_LIMIT).await;
        #[expect(unsafe_code, reason = "killpg(2) has no safe wrapper in std")]
        // SAFETY: signals the process group this test created for the recipe.
        unsafe {
            libc::killpg(group, libc::SIGKILL);
        }
    });
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().expect("the recipe's output"))
        .await
        .expect("the recipe ran");
    killer.abort();
    assert!(
        output.status.code().is_some(),
        "the recipe was still running after {RECIPE_LIMIT:?}:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The console block's commands as a script: prompts dropped, continued lines joined,
/// and in each `nara … rollout wait` line, the `--url` and `--version` values replaced.
fn script(block: &str, url: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut continued = false;
    for line in block.lines() {
        let text = line.strip_prefix("$ ").unwrap_or(line);
        if continued {
            let last = lines.last_mut().expect("a line to continue");
            last.push(' ');
            last.push_str(text.trim());
        } else {
            lines.push(text.to_string());
        }
        continued = text.ends_with('\\');
        if continued {
            let last = lines.last_mut().expect("a line");
            last.truncate(last.trim_end_matches('\\').trim_end().len());
        }
    }
    let gates = lines.iter().filter(|l| l.contains("rollout wait")).count();
    assert_eq!(gates, 1, "one gate in:\n{block}");
    lines
        .iter()
        .map(|line| match line.contains("rollout wait") {
            true => with_value(&with_value(line, "--url", url), "--version", VERSION),
            false => line.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `line` with the word after `flag` replaced by `value`.
fn with_value(line: &str, flag: &str, value: &str) -> String {
    let (before, after) = line
        .split_once(&format!("{flag} "))
        .unwrap_or_else(|| panic!("{line} has no {flag}"));
    let rest = after.split_once(' ').map_or("", |(_, rest)| rest);
    format!("{before}{flag} {value} {rest}")
}

/// What a recipe must show: it ran the deploy before the gate, the gate saw the fleet
/// behind and waited, and it passed once the whole fleet ran the version.
fn check_gate_waited(output: &Output, stubs: &Stubs, runner: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the recipe failed:\n{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("1 of 3 naras run {VERSION}")),
        "the gate saw the fleet behind first:\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("3 of 3 naras run {VERSION} (100%;")),
        "the gate passed on the whole fleet:\n{stdout}\n{stderr}"
    );
    let calls = stubs.calls();
    let deploy = calls
        .iter()
        .position(|c| c.contains("deploy") || c.contains("apply") || c.contains("switch"));
    let gate = calls
        .iter()
        .rposition(|c| c.starts_with(runner) && c.contains("rollout wait"));
    assert!(
        matches!((deploy, gate), (Some(d), Some(g)) if d < g),
        "the deploy came before the gate: {calls:?}"
    );
}

/// Runs the console block of `chapter` holding `needle` against a fleet.
async fn console_recipe(chapter: &str, needle: &str, runner: &str) {
    let stubs = Stubs::install();
    let fleet = Fleet::start(stubs.deployed()).await;
    let script = script(&console_block(chapter, needle), &fleet.observer.base);
    let mut command = Command::new("bash");
    command
        .args(["--noprofile", "--norc", "-euo", "pipefail", "-c", &script])
        .env_clear()
        .envs(stubs.env());
    let output = run(command).await;
    check_gate_waited(&output, &stubs, runner);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kubernetes_gate_waits_for_the_fleet_after_kubectl_rollout_status() {
    console_recipe("docs/src/deploy/kubernetes.md", "kubectl rollout status", "kubectl run").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_nixos_gate_waits_for_the_fleet_after_nixos_rebuild() {
    console_recipe("docs/src/deploy/nixos.md", "nixos-rebuild switch --flake", "nix run").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_colmena_gate_waits_for_the_fleet_after_colmena_apply() {
    console_recipe("docs/src/deploy/nixos.md", "colmena apply", "nix run").await;
}

/// `${{ … }}` in a workflow, with stand-in values for what the job uses.
fn expressions(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some((before, after)) = rest.split_once("${{") {
        let (expression, tail) = after.split_once("}}").expect("an expression is closed");
        let value = match expression.trim() {
            "github.sha" => "3f2a9c1d0b7e3f2a9c1d0b7e3f2a9c1d0b7e3f2a",
            "secrets.FLY_API_TOKEN" => "fly-token-for-the-test",
            other => panic!("the workflow uses ${{{{ {other} }}}}, which the test has no value for"),
        };
        out.push_str(before);
        out.push_str(value);
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// The `KEY=VALUE` lines a step appended to `$GITHUB_ENV`.
fn github_env(file: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_github_actions_gate_waits_for_the_fleet_after_fly_deploy() {
    let workflow = fenced_block("docs/src/deploy/fly.md", "yaml", "rollout wait");
    let workflow: Value = serde_yaml_ng::from_str(&workflow).expect("the workflow is YAML");
    let jobs = workflow["jobs"].as_object().expect("the workflow has jobs");
    assert_eq!(jobs.len(), 1, "one job");
    let job = jobs.values().next().expect("a job");
    let stubs = Stubs::install();
    let fleet = Fleet::start(stubs.deployed()).await;

    let runner_env = tempfile::NamedTempFile::new().expect("a GITHUB_ENV file");
    let mut env = stubs.env();
    env.insert("GITHUB_ENV".into(), runner_env.path().display().to_string());
    env.insert("GITHUB_SHA".into(), expressions("${{ github.sha }}"));
    let strings = |value: &Value| -> BTreeMap<String, String> {
        value
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), expressions(v.as_str().expect("a string value"))))
            .collect()
    };
    env.extend(strings(&job["env"]));
    assert!(env.contains_key("NARA_URL"), "the job names the nara it asks");
    env.insert("NARA_URL".into(), fleet.observer.base.clone());

    let steps = job["steps"].as_array().expect("the job has steps");
    let mut ran = 0;
    let mut outputs = Vec::new();
    for step in steps {
        let Some(script) = step["run"].as_str() else {
            assert!(step["uses"].is_string(), "a step runs or uses: {step}");
            continue;
        };
        let mut step_env = env.clone();
        step_env.extend(github_env(runner_env.path()));
        step_env.extend(strings(&step["env"]));
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &expressions(script)])
            .env_clear()
            .envs(&step_env);
        let output = run(command).await;
        assert!(
            output.status.success(),
            "step {step} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        outputs.push(output);
        ran += 1;
    }
    assert!(ran >= 2, "the job deploys and then gates");
    let last = outputs.last().expect("a last step");
    check_gate_waited(last, &stubs, "docker run");
    assert!(
        stubs.calls().iter().any(|c| c.contains(&format!(
            "docker run --rm ghcr.io/OWNER/nara:{} --version",
            expressions("${{ github.sha }}")
        ))),
        "the version comes from the deployed image: {:?}",
        stubs.calls()
    );
}

#[test]
fn a_console_line_is_read_as_bash_reads_it() {
    let block = "$ kubectl run g --image=x -- \\\n    rollout wait --url http://nara --version 0.2.0 --min 100% --timeout 10m\n";
    assert_eq!(
        script(block, "http://127.0.0.1:9"),
        format!(
            "kubectl run g --image=x -- rollout wait --url http://127.0.0.1:9 --version {VERSION} --min 100% --timeout 10m"
        )
    );
    assert_eq!(
        expressions("a ${{ github.sha }} b"),
        format!("a {} b", expressions("${{github.sha}}"))
    );
}
