//! The deploy recipes, run as written: the variables of the Kubernetes manifest, of
//! `fly.toml` and the Fly chapter's `fly secrets set`, and of the OCI chapter's `docker
//! run`, each with a soul minted as its chapter says, on a host named as that platform
//! names it (a pod, a Fly Machine, a container). Each must come up bonded under the
//! minted name, and two replicas must become twins, one speaking for the soul.
//!
//! What the test changes, and only that: the listen address (loopback, a free port),
//! the soul file's path (the secret's mount point becomes a scratch file), and the
//! broker, which each recipe names for its own network and the test puts on loopback,
//! with no announce jitter.

use crate::common::broker::Mosquitto;
use crate::common::repo_files::{console_block, repo_file};
use crate::common::{Running, TestNara, mint_soul, nara_bin, wait_until};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A recipe: the variables it gives nara, the name its soul is minted for, where it
/// mounts the soul file (if it uses one), and a hostname as its platform sets it.
struct Recipe {
    platform: &'static str,
    env: BTreeMap<String, String>,
    minted_for: String,
    soul_mount: Option<String>,
    hostname: &'static str,
}

/// The name in the first `nara soul new --name NAME` of `text`.
fn minted_name(text: &str, source: &str) -> String {
    let after = text
        .split("nara soul new --name ")
        .nth(1)
        .unwrap_or_else(|| panic!("{source} mints no soul"));
    after
        .split(|c: char| c.is_whitespace() || c == ')' || c == '"')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn kubernetes() -> Recipe {
    let manifest: Value =
        serde_yaml_ng::from_str(&repo_file("deploy/kubernetes/deployment.yaml")).expect("the Deployment is YAML");
    let container = &manifest["spec"]["template"]["spec"]["containers"][0];
    let env = container["env"]
        .as_array()
        .expect("the container has env")
        .iter()
        .map(|var| {
            let name = var["name"].as_str().expect("a variable has a name");
            let value = var["value"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} has a literal value"));
            (name.to_string(), value.to_string())
        })
        .collect();
    Recipe {
        platform: "Kubernetes",
        env,
        minted_for: minted_name(
            &console_block("docs/src/deploy/kubernetes.md", "kubectl"),
            "the Kubernetes chapter",
        ),
        soul_mount: Some(
            container["env"]
                .as_array()
                .and_then(|vars| vars.iter().find(|v| v["name"] == "NARA_SOUL_FILE"))
                .and_then(|v| v["value"].as_str())
                .expect("the Deployment names its soul file")
                .to_string(),
        ),
        hostname: "nara-6b7c9d8f5-abcde",
    }
}

fn fly() -> Recipe {
    let file: toml::Table = toml::from_str(&repo_file("fly.toml")).expect("fly.toml is TOML");
    let mut env: BTreeMap<String, String> = file["env"]
        .as_table()
        .expect("fly.toml has [env]")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a string").to_string()))
        .collect();
    // The chapter's `fly secrets set` lines without --app: the app fly.toml deploys.
    let install = console_block("docs/src/deploy/fly.md", "fly secrets set");
    let mut minted_for = None;
    for line in install
        .lines()
        .filter(|l| l.contains("fly secrets set") && !l.contains("--app"))
    {
        let words = line.split("fly secrets set").nth(1).expect("a secrets line");
        for assignment in shell_words(words) {
            let (key, value) = assignment.split_once('=').expect("KEY=VALUE");
            let value = if value.contains("nara soul new") {
                let name = minted_name(value, "fly secrets set");
                minted_for = Some(name.clone());
                format!("$(nara soul new --name {name})")
            } else {
                value.to_string()
            };
            env.insert(key.to_string(), value);
        }
    }
    // Fly sets these on every Machine.
    env.insert("FLY_APP_NAME".into(), "nara".into());
    env.insert("FLY_MACHINE_ID".into(), "3d8d9e1b2c4e58".into());
    Recipe {
        platform: "Fly.io",
        env,
        minted_for: minted_for.expect("the Fly chapter mints the soul in `fly secrets set`"),
        soul_mount: None,
        hostname: "3d8d9e1b2c4e58",
    }
}

fn docker() -> Recipe {
    let block = console_block("docs/src/deploy/oci.md", "docker run");
    let command: String = block
        .lines()
        .skip_while(|l| !l.contains("docker run"))
        .map(|l| l.trim_end_matches('\\'))
        .collect::<Vec<_>>()
        .join(" ");
    let words = shell_words(&command);
    let mut env = BTreeMap::new();
    let mut soul_mount = None;
    for pair in words.windows(2) {
        match pair[0].as_str() {
            "-e" | "--env" => {
                let (key, value) = pair[1].split_once('=').expect("-e KEY=VALUE");
                env.insert(key.to_string(), value.to_string());
            }
            "-v" | "--volume" => {
                let target = pair[1].split(':').nth(1).expect("-v HOST:TARGET");
                soul_mount = Some(target.to_string());
            }
            _ => {}
        }
    }
    // The image's own variables (nix/oci.nix) come before the command's.
    env.entry("NARA_HTTP_ADDR".into()).or_insert_with(|| ":8080".into());
    Recipe {
        platform: "docker run",
        env,
        minted_for: minted_name(&block, "the OCI chapter"),
        soul_mount,
        hostname: "3f2a9c1d0b7e",
    }
}

/// Splits `text` into words as a shell would for these recipes: spaces separate, and
/// double quotes group (and are removed).
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' => {
                depth += 1;
                word.push(c);
            }
            ')' => {
                depth -= 1;
                word.push(c);
            }
            c if c.is_whitespace() && !quoted && depth == 0 => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Makes `command` run under `hostname`, in a UTS namespace of its own: as root
/// directly, otherwise inside a user namespace that maps the caller to root.
fn under_hostname(command: &mut Command, hostname: &'static str) {
    use std::os::unix::process::CommandExt;
    let uid_map = format!("0 {} 1", own_ids().0);
    let gid_map = format!("0 {} 1", own_ids().1);
    #[expect(
        unsafe_code,
        reason = "unshare(2) and sethostname(2) between fork and exec have no safe wrapper"
    )]
    // SAFETY: the closure runs in the forked child before exec; it only makes system
    // calls on buffers prepared before the fork, and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            let set_name = || {
                if libc::sethostname(hostname.as_ptr().cast(), hostname.len()) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            };
            if libc::unshare(libc::CLONE_NEWUTS) == 0 {
                return set_name();
            }
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWUTS) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            for (file, text) in [
                (c"/proc/self/setgroups", "deny"),
                (c"/proc/self/uid_map", uid_map.as_str()),
                (c"/proc/self/gid_map", gid_map.as_str()),
            ] {
                let fd = libc::open(file.as_ptr(), libc::O_WRONLY);
                if fd < 0 || libc::write(fd, text.as_ptr().cast(), text.len()) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(fd);
            }
            set_name()
        });
    }
}

/// This process's user and group IDs.
fn own_ids() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let me = std::fs::metadata("/proc/self").expect("/proc/self exists");
    (me.uid(), me.gid())
}

/// Whether [`under_hostname`] works here: some build sandboxes allow no new namespace.
/// Where it does not, the machine's own hostname stands in, and the recipe must still
/// set the name.
fn namespaces_allowed() -> bool {
    let mut probe = Command::new(nara_bin());
    probe.arg("--version");
    under_hostname(&mut probe, "probe");
    probe.output().is_ok_and(|o| o.status.success())
}

/// One replica of `recipe`, as its platform would start it.
fn replica(recipe: &Recipe, soul: &str, broker: &Mosquitto, scratch: &Path) -> Running {
    let mut env = recipe.env.clone();
    env.insert("NARA_HTTP_ADDR".into(), "127.0.0.1:0".into());
    env.insert("NARA_MQTT_URL".into(), broker.url());
    env.insert("NARA_PLAZA_ANNOUNCE_JITTER".into(), "0s".into());
    env.insert("NARA_PLAZA_NEWSPAPER_INTERVAL".into(), "1s".into());
    for value in env.values_mut() {
        if value.starts_with("$(nara soul new") {
            *value = soul.to_string();
        }
    }
    if let Some(mount) = &recipe.soul_mount {
        let file: PathBuf = scratch.join("soul");
        std::fs::write(&file, soul).expect("the soul file is written");
        for value in env.values_mut() {
            if value == mount {
                *value = file.display().to_string();
            }
        }
    }
    let mut command = Command::new(nara_bin());
    if namespaces_allowed() {
        under_hostname(&mut command, recipe.hostname);
    } else {
        eprintln!(
            "{}: no UTS namespace here; the machine's own hostname stands in",
            recipe.platform
        );
    }
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(&env);
    Running::start(command).unwrap_or_else(|e| panic!("{}: {e}", recipe.platform))
}

async fn check(recipe: Recipe) {
    let broker = Mosquitto::start();
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let soul = mint_soul(&recipe.minted_for);
    let first = replica(&recipe, &soul, &broker, scratch.path());
    let status = first.get_json("/api/status").await;
    assert_eq!(
        status["name"], recipe.minted_for,
        "{}: the nara runs under the name its soul was minted for",
        recipe.platform
    );
    assert_eq!(status["bonded"], true, "{}: {status:#}", recipe.platform);
    assert_eq!(status["bond_advice"], Value::Null, "{}", recipe.platform);

    let second = replica(&recipe, &soul, &broker, scratch.path());
    let what = format!("{}: the two replicas become twins, one of them active", recipe.platform);
    wait_until(&what, Duration::from_secs(15), || {
        let (first, second) = (&first, &second);
        async move {
            let a = first.get_json("/api/status").await;
            let b = second.get_json("/api/status").await;
            let roles = [&a, &b].map(|s| s["plaza"]["role"]["role"].as_str().unwrap_or("").to_string());
            let one_active = roles.iter().filter(|r| *r == "active").count() == 1;
            // The standby heard the active one speak for the soul (the active one hears
            // nothing: a standby publishes nothing).
            let heard = [&a, &b]
                .iter()
                .any(|s| s["plaza"]["role"]["role"] == "standby" && s["plaza"]["role"]["twins"].as_u64() >= Some(1));
            (a["id"] == b["id"] && one_active && heard).then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn the_kubernetes_manifest_comes_up_bonded_and_its_replicas_are_twins() {
    check(kubernetes()).await;
}

#[tokio::test]
async fn the_fly_recipe_comes_up_bonded_and_its_machines_are_twins() {
    check(fly()).await;
}

#[tokio::test]
async fn the_docker_run_recipe_comes_up_bonded_and_two_containers_are_twins() {
    check(docker()).await;
}

#[test]
fn the_recipes_are_read_as_a_shell_reads_them() {
    assert_eq!(
        shell_words(r#"NARA_NAME=a NARA_SOUL="$(nara soul new --name a)" -e X="y z""#),
        ["NARA_NAME=a", "NARA_SOUL=$(nara soul new --name a)", "-e", "X=y z"]
    );
    assert_eq!(minted_name("$ nara soul new --name box > box.soul", "x"), "box");
}
