//! `cargo xtask deploy-check BIN`: one source of truth for every way nara is deployed.
//!
//! modules/defaults.nix names the port, the health and metrics paths and the shutdown
//! grace. This checks that nara itself (its `--help` defaults, and the paths it really
//! serves), fly.toml, the nixpacks plan, the Kubernetes manifests and the OCI image
//! config all say the same, and fails naming each disagreement.

use crate::nix_instantiate::{evaluate, evaluate_file};
use crate::process::output;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// What modules/defaults.nix names (it may name more).
#[derive(serde::Deserialize)]
struct Defaults {
    port: u64,
    #[serde(rename = "livenessPath")]
    liveness: String,
    #[serde(rename = "readinessPath")]
    readiness: String,
    #[serde(rename = "metricsPath")]
    metrics: String,
    #[serde(rename = "shutdownGraceSeconds")]
    grace_s: u64,
    #[serde(rename = "stopTimeoutSeconds")]
    stop_timeout_s: u64,
}

pub fn run(root: &Path, bin: &Path) -> Result<(), String> {
    let d: Defaults = serde_json::from_value(evaluate_file(root, "modules/defaults.nix")?)
        .map_err(|e| format!("modules/defaults.nix: {e}"))?;
    let mut problems = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            problems.push(what);
        }
    };
    expect(
        d.stop_timeout_s > d.grace_s,
        format!("defaults.nix: stopTimeoutSeconds must exceed the grace {}", d.grace_s),
    );

    // nara itself.
    let help = output(Command::new(bin).arg("--help"))?;
    expect(
        help.contains(&format!("[default: :{}]", d.port)),
        format!("nara --help: the default port is not {}", d.port),
    );
    expect(
        help.contains(&format!("[default: {}s]", d.grace_s)),
        format!("nara --help: the default grace is not {}s", d.grace_s),
    );
    for (path, status) in served_statuses(bin, &[&d.liveness, &d.readiness, &d.metrics])? {
        expect(status == 200, format!("nara answers {path} with {status}, not 200"));
    }

    // Fly.io.
    let fly: toml::Value = toml::from_str(&read(root, "fly.toml")?).map_err(|e| format!("fly.toml: {e}"))?;
    let fly = serde_json::to_value(fly).map_err(|e| e.to_string())?;
    let service = &fly["http_service"];
    expect(
        service["internal_port"] == d.port,
        format!("fly.toml: internal_port is not {}", d.port),
    );
    expect(
        service["checks"][0]["path"] == d.readiness.as_str(),
        format!("fly.toml: the check path is not {}", d.readiness),
    );
    expect(
        fly["kill_signal"] == "SIGTERM",
        "fly.toml: kill_signal is not SIGTERM".into(),
    );
    expect(
        fly["kill_timeout"] == d.stop_timeout_s,
        format!("fly.toml: kill_timeout is not {}", d.stop_timeout_s),
    );
    expect(
        fly["metrics"]["port"] == d.port,
        format!("fly.toml: metrics.port is not {}", d.port),
    );
    expect(
        fly["metrics"]["path"] == d.metrics.as_str(),
        format!("fly.toml: metrics.path is not {}", d.metrics),
    );
    expect(
        fly["env"]["NARA_HTTP_ADDR"] == format!(":{}", d.port),
        "fly.toml: NARA_HTTP_ADDR disagrees".into(),
    );
    expect(
        fly["deploy"]["strategy"].is_string(),
        "fly.toml: no deploy strategy".into(),
    );

    // nixpacks: the plan must build with the flake and start what it built.
    let plan: Value = serde_json::from_str(&output(Command::new("nixpacks").args(["plan", "."]).current_dir(root))?)
        .map_err(|e| format!("nixpacks plan printed no JSON: {e}"))?;
    let build = plan["phases"]["build"]["cmds"].to_string();
    expect(
        build.contains("build .#nara"),
        "nixpacks plan: the build does not run nix build .#nara".into(),
    );
    expect(
        build.contains("build .#nara --out-link /app/result") && build.contains("&& nix-collect-garbage"),
        "nixpacks plan: the build step must collect the build store's garbage in the same step, keeping the out-link"
            .into(),
    );
    expect(
        plan["start"]["cmd"]
            .as_str()
            .is_some_and(|c| c.ends_with("result/bin/nara")),
        "nixpacks plan: the start command is not the built nara".into(),
    );
    expect(
        plan["providers"] == json!([]),
        "nixpacks plan: a language provider would second-guess the build".into(),
    );

    // Kubernetes.
    let deployment = yaml(root, "deploy/kubernetes/deployment.yaml")?;
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let probe_path = |probe: &str| container[probe]["httpGet"]["path"].clone();
    expect(
        container["ports"][0]["containerPort"] == d.port,
        format!("deployment: containerPort is not {}", d.port),
    );
    expect(
        probe_path("livenessProbe") == d.liveness.as_str(),
        format!("deployment: liveness is not {}", d.liveness),
    );
    expect(
        probe_path("startupProbe") == d.liveness.as_str(),
        format!("deployment: startup is not {}", d.liveness),
    );
    expect(
        probe_path("readinessProbe") == d.readiness.as_str(),
        format!("deployment: readiness is not {}", d.readiness),
    );
    let pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(0);
    expect(
        grace > pre_stop + d.grace_s,
        format!(
            "deployment: terminationGracePeriodSeconds {grace} must exceed the preStop {pre_stop} s plus the grace {} s",
            d.grace_s
        ),
    );
    let annotations = &deployment["spec"]["template"]["metadata"]["annotations"];
    expect(
        annotations["prometheus.io/path"] == d.metrics.as_str(),
        "deployment: prometheus.io/path disagrees".into(),
    );
    expect(
        annotations["prometheus.io/port"]
            .as_str()
            .and_then(|p| p.parse::<u64>().ok())
            == Some(d.port),
        "deployment: prometheus.io/port disagrees".into(),
    );
    let env_addr = container["env"]
        .as_array()
        .and_then(|env| env.iter().find(|e| e["name"] == "NARA_HTTP_ADDR"))
        .map(|e| e["value"].clone());
    expect(
        env_addr == Some(json!(format!(":{}", d.port))),
        "deployment: NARA_HTTP_ADDR disagrees".into(),
    );
    let kustomization = yaml(root, "deploy/kubernetes/kustomization.yaml")?;
    for resource in kustomization["resources"].as_array().cloned().unwrap_or_default() {
        let file = resource.as_str().unwrap_or("");
        expect(
            root.join("deploy/kubernetes").join(file).is_file(),
            format!("kustomization: {file} does not exist"),
        );
    }

    // The OCI image, from nix/oci.nix with stand-ins for nixpkgs.
    let oci = evaluate(root, OCI_EXPRESSION)?;
    let config = &oci["config"];
    expect(
        config["ExposedPorts"].get(format!("{}/tcp", d.port)).is_some(),
        format!("oci: {} is not exposed", d.port),
    );
    expect(
        config["Env"]
            .as_array()
            .is_some_and(|env| env.contains(&json!(format!("NARA_HTTP_ADDR=:{}", d.port)))),
        "oci: NARA_HTTP_ADDR disagrees".into(),
    );
    expect(
        config["StopSignal"] == "SIGTERM",
        "oci: StopSignal is not SIGTERM".into(),
    );
    expect(
        config["Healthcheck"]["Test"][2] == "healthcheck",
        "oci: the healthcheck is not `nara healthcheck`".into(),
    );
    // The static nara, the CA bundle and nsswitch.conf (files before DNS), nothing
    // else: no loader, no glibc, no shell.
    expect(
        config["Entrypoint"][0] == "/nix/store/00000000000000000000000000000000-nara-static/bin/nara",
        format!(
            "oci: the entrypoint is not the static nara, got {}",
            config["Entrypoint"]
        ),
    );
    expect(
        oci["contents"] == json!(["ca-certificates", {"etc/nsswitch.conf": "hosts: files dns\n"}]),
        format!(
            "oci: the image holds more than the CA bundle and nsswitch.conf (hosts: files dns) beside nara: {}",
            oci["contents"]
        ),
    );

    // CI: the deploy ships the image CI pushed, and the binary cache is a setting.
    for problem in ci_problems(&yaml(root, ".github/workflows/ci.yml")?) {
        expect(false, format!(".github/workflows/ci.yml: {problem}"));
    }

    // The modules read the same file (their evaluation is `cargo xtask nix-eval`).
    for module in ["modules/nixos.nix", "modules/home-manager.nix", "nix/oci.nix"] {
        expect(
            read(root, module)?.contains("defaults.nix"),
            format!("{module} does not import modules/defaults.nix"),
        );
    }

    if problems.is_empty() {
        eprintln!(
            "deploy-check: nara, fly.toml, nixpacks, Kubernetes, the OCI image and the modules agree: port {}, {} / {}, {}, grace {} s",
            d.port, d.liveness, d.readiness, d.metrics, d.grace_s
        );
        Ok(())
    } else {
        Err(format!(
            "deployments disagree with modules/defaults.nix:\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// What the workflow must do beyond what actionlint checks: Fly runs the image the
/// image jobs built and the manifest job published (not a rebuild on Fly's builder), and
/// every cachix step names the cache from the repository variable CACHIX_CACHE and is
/// skipped when it is unset, so a fork's CI runs without a cache it cannot vouch for.
fn ci_problems(workflow: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let deploy = &workflow["jobs"]["deploy"];
    if deploy["needs"] != "manifest" {
        problems.push(format!(
            "the deploy job must need the manifest job, got {}",
            deploy["needs"]
        ));
    }
    let runs: Vec<&str> = deploy["steps"]
        .as_array()
        .map(|steps| steps.iter().filter_map(|s| s["run"].as_str()).collect())
        .unwrap_or_default();
    if !runs
        .iter()
        .any(|r| r.contains("flyctl deploy --image \"$IMAGE:${{ github.sha }}\""))
    {
        problems.push(format!(
            "the deploy job must run `flyctl deploy --image \"$IMAGE:${{{{ github.sha }}}}\"`, got {runs:?}"
        ));
    }
    let jobs = workflow["jobs"].as_object().cloned().unwrap_or_default();
    for (job, definition) in &jobs {
        for step in definition["steps"].as_array().cloned().unwrap_or_default() {
            let uses = step["uses"].as_str().unwrap_or("");
            if !uses.starts_with("cachix/cachix-action@") {
                continue;
            }
            if step["if"] != "vars.CACHIX_CACHE != ''" {
                problems.push(format!(
                    "job {job}: the cachix step must be skipped when vars.CACHIX_CACHE is unset"
                ));
            }
            if step["with"]["name"] != "${{ vars.CACHIX_CACHE }}" {
                problems.push(format!(
                    "job {job}: the cachix step must take the cache's name from vars.CACHIX_CACHE, got {}",
                    step["with"]["name"]
                ));
            }
        }
    }
    problems
}

const OCI_EXPRESSION: &str = r#"import ./nix/oci.nix {
  lib.getExe = p: "${p.outPath}/bin/${p.meta.mainProgram}";
  dockerTools = { buildLayeredImage = args: args; caCertificates = "ca-certificates"; };
  writeTextDir = path: text: { ${path} = text; };
  nara-static = { version = "0.0.0"; outPath = "/nix/store/00000000000000000000000000000000-nara-static"; meta = { mainProgram = "nara"; description = "nara"; }; };
  revision = "0000000";
}"#;

fn read(root: &Path, file: &str) -> Result<String, String> {
    std::fs::read_to_string(root.join(file)).map_err(|e| format!("cannot read {file}: {e}"))
}

fn yaml(root: &Path, file: &str) -> Result<Value, String> {
    serde_yaml_ng::from_str(&read(root, file)?).map_err(|e| format!("{file}: {e}"))
}

/// Starts BIN on a free loopback port and asks it for each path (plain HTTP/1.0).
fn served_statuses(bin: &Path, paths: &[&str]) -> Result<Vec<(String, u16)>, String> {
    let mut child = Command::new(bin)
        .args([
            "--http-addr",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--name",
            "deploy-check",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let addr = BufReader::new(stderr).lines().map_while(Result::ok).find_map(|line| {
        let json: Value = serde_json::from_str(&line).ok()?;
        (json["message"] == "nara listening").then(|| json["addr"].as_str().map(String::from))?
    });
    let result = match addr {
        None => Err(format!("{} did not start", bin.display())),
        Some(addr) => paths
            .iter()
            .map(|path| status_of(&addr, path).map(|s| (path.to_string(), s)))
            .collect(),
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// The status nara answers `path` with, as curl reads it.
fn status_of(addr: &str, path: &str) -> Result<u16, String> {
    let status = output(
        Command::new("curl")
            .args(["--silent", "--max-time", "5", "--output", "/dev/null"])
            .args(["--write-out", "%{http_code}", &format!("http://{addr}{path}")]),
    )?;
    status
        .parse()
        .map_err(|_| format!("no HTTP status for {path}: {status:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow(text: &str) -> Value {
        serde_yaml_ng::from_str(text).expect("the workflow is YAML")
    }

    fn ours() -> String {
        read(&crate::repo_root(), ".github/workflows/ci.yml").expect("ci.yml")
    }

    #[test]
    fn the_workflow_deploys_the_built_image_and_takes_the_cache_from_a_variable() {
        assert_eq!(ci_problems(&workflow(&ours())), Vec::<String>::new());
    }

    #[test]
    fn a_rebuild_on_fly_or_a_hard_coded_cache_is_refused() {
        let rebuilt = ours().replace("needs: manifest", "needs: check").replace(
            "flyctl deploy --image \"$IMAGE:${{ github.sha }}\"",
            "flyctl deploy --nixpacks --remote-only",
        );
        let problems = ci_problems(&workflow(&rebuilt));
        assert!(problems.iter().any(|p| p.contains("need the manifest")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("--image")), "{problems:?}");
        let hard_coded = ours()
            .replace("        if: vars.CACHIX_CACHE != ''\n", "")
            .replace("${{ vars.CACHIX_CACHE }}", "nara");
        let problems = ci_problems(&workflow(&hard_coded));
        assert!(problems.iter().any(|p| p.contains("skipped when")), "{problems:?}");
        assert!(
            problems.iter().any(|p| p.contains("name from vars.CACHIX_CACHE")),
            "{problems:?}"
        );
    }
}
