//! The deploy recipes, run as written: the variables of the Kubernetes manifest, of
//! `fly.toml` and the Fly chapter's `fly secrets set`, and of the OCI chapter's `docker
//! run`, each with a soul minted as its chapter says, on a host named as that platform
//! names it (a pod, a Fly Machine, a container). Each must come up bonded under the
//! minted name, carry the automatic tags its platform gives (Fly's region, the pod's
//! namespace), and two replicas must become twins, one speaking for the soul. They
//! name the project's home with one placeholder (`github:OWNER/nara`,
//! `ghcr.io/OWNER/nara`), which a test fills in where a recipe is read.
//!
//! What the test changes, and only that: the listen address (loopback, a free port),
//! the soul file's path (the secret's mount point becomes a scratch file), and the
//! broker, which each recipe names for its own network and the test puts on loopback,
//! with no announce jitter.
//!
//! The Kubernetes replicas run as the pod does: as the Deployment's user and group,
//! with its fsGroup as a supplementary group, against a soul file owned and moded as
//! the kubelet writes a Secret's file for that pod. That takes root; elsewhere (a Nix
//! build) the test says so and runs them as the caller.

use crate::common::broker::Mosquitto;
use crate::common::repo_files::{console_block, repo_file};
use crate::common::{Running, TestNara, mint_soul, nara_bin, wait_until};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A recipe: the variables it gives nara, the name its soul is minted for, where it
/// mounts the soul file (if it uses one), a hostname as its platform sets it, and the
/// user it runs as where the recipe says (a pod's security context).
struct Recipe {
    platform: &'static str,
    env: BTreeMap<String, String>,
    minted_for: String,
    soul_mount: Option<String>,
    /// Where it keeps its view (`NARA_STATE_DIR`), if it does: a directory of each
    /// replica's own (a pod's emptyDir).
    state_mount: Option<String>,
    hostname: &'static str,
    pod: Option<Pod>,
    /// The automatic tags the platform's variables give the nara.
    tags: &'static [(&'static str, &'static str)],
}

/// What a pod's security context and its Secret volume make of the process and of the
/// soul file.
#[derive(Clone, Copy, Debug)]
struct Pod {
    uid: u32,
    gid: u32,
    fs_group: Option<u32>,
    /// The volume's `defaultMode`.
    default_mode: u32,
}

impl Pod {
    /// Reads the Deployment's pod security context and the soul volume.
    fn of(deployment: &Value) -> Pod {
        let pod = &deployment["spec"]["template"]["spec"];
        let context = &pod["securityContext"];
        let id = |key: &str| {
            context[key]
                .as_u64()
                .map(|n| u32::try_from(n).expect("an ID fits in 32 bits"))
        };
        let volume = pod["volumes"]
            .as_array()
            .and_then(|volumes| volumes.iter().find(|v| v["secret"]["secretName"] == "nara-soul"))
            .expect("the Deployment mounts the Secret nara-soul");
        Pod {
            uid: id("runAsUser").expect("the pod names its user"),
            gid: id("runAsGroup").expect("the pod names its group"),
            fs_group: id("fsGroup"),
            default_mode: file_mode(&volume["secret"]["defaultMode"]),
        }
    }

    /// The owner, group and mode the kubelet gives a Secret's file: root's, with the
    /// volume's mode; with an fsGroup, that group and group read added (a Secret volume
    /// is read-only, so read and nothing more). Without one it stays root:root.
    fn soul_file(&self) -> (u32, u32, u32) {
        match self.fs_group {
            Some(group) => (0, group, self.default_mode | 0o440),
            None => (0, 0, self.default_mode),
        }
    }
}

/// A file mode as Kubernetes reads it from YAML: `0440` is octal (YAML 1.1, which
/// Kubernetes follows, where YAML 1.2 and this parser see a string), a plain number is
/// decimal (as in JSON). Kubernetes' default is 0644.
fn file_mode(value: &Value) -> u32 {
    match value {
        Value::Null => 0o644,
        Value::String(text) => {
            u32::from_str_radix(text, 8).unwrap_or_else(|_| panic!("defaultMode {text} is not octal"))
        }
        other => other
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or_else(|| panic!("defaultMode {other} is not a mode")),
    }
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
    kubernetes_from(&repo_file("deploy/kubernetes/deployment.yaml"))
}

fn kubernetes_from(deployment: &str) -> Recipe {
    let manifest: Value = serde_yaml_ng::from_str(deployment).expect("the Deployment is YAML");
    let container = &manifest["spec"]["template"]["spec"]["containers"][0];
    let env = container["env"]
        .as_array()
        .expect("the container has env")
        .iter()
        .map(|var| {
            let name = var["name"].as_str().expect("a variable has a name");
            // The downward API's fields, as the kubelet fills them for a pod in the
            // namespace `nara-test`.
            let value = match (
                var["value"].as_str(),
                var["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
            ) {
                (Some(value), _) => value,
                (None, Some("metadata.namespace")) => "nara-test",
                _ => panic!("{name} has a literal value or the pod's namespace"),
            };
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
        state_mount: container["env"]
            .as_array()
            .and_then(|vars| vars.iter().find(|v| v["name"] == "NARA_STATE_DIR"))
            .and_then(|v| v["value"].as_str())
            .map(str::to_string),
        hostname: "nara-6b7c9d8f5-abcde",
        pod: Some(Pod::of(&manifest)),
        tags: &[("k8s_namespace", "nara-test")],
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
    env.insert("FLY_REGION".into(), "ams".into());
    Recipe {
        platform: "Fly.io",
        env,
        minted_for: minted_for.expect("the Fly chapter mints the soul in `fly secrets set`"),
        soul_mount: None,
        state_mount: None,
        hostname: "3d8d9e1b2c4e58",
        pod: None,
        tags: &[("fly_region", "ams")],
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
        state_mount: None,
        hostname: "3f2a9c1d0b7e",
        pod: None,
        tags: &[],
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

/// Writes the soul `file` as the kubelet writes a Secret's file for `pod` (owner, group
/// and mode), and makes `command` run as the pod's process: its user, its group, and
/// the fsGroup as a supplementary group. The scratch folder is opened to every user, as
/// a pod's mount point is to the pod. Needs root.
fn as_the_pod(command: &mut Command, pod: Pod, file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let (owner, group, mode) = pod.soul_file();
    std::os::unix::fs::chown(file, Some(owner), Some(group)).expect("the soul file is given the kubelet's owner");
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).expect("the soul file is given its mode");
    let folder = file.parent().expect("the soul file is in the scratch folder");
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755)).expect("the scratch folder opens");
    let groups: Vec<libc::gid_t> = pod.fs_group.into_iter().collect();
    #[expect(
        unsafe_code,
        reason = "setgroups(2), setgid(2) and setuid(2) between fork and exec have no safe wrapper"
    )]
    // SAFETY: the closure runs in the forked child before exec; it only makes system
    // calls on a buffer prepared before the fork, and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setgid(pod.gid) != 0
                || libc::setuid(pod.uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
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
    let mut soul_file = None;
    if let Some(mount) = &recipe.soul_mount {
        let file: PathBuf = scratch.join("soul");
        std::fs::write(&file, soul).expect("the soul file is written");
        for value in env.values_mut() {
            if value == mount {
                *value = file.display().to_string();
            }
        }
        soul_file = Some(file);
    }
    // Each replica's state directory is its own, as a pod's emptyDir is: made empty,
    // writable by every user (as the kubelet makes one), in the scratch folder.
    let mut state_dir = None;
    if let Some(mount) = &recipe.state_mount {
        use std::os::unix::fs::PermissionsExt;
        let dir = (1..)
            .map(|n| scratch.join(format!("state-{n}")))
            .find(|dir| !dir.exists())
            .expect("a free name");
        std::fs::create_dir(&dir).expect("the state directory is made");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("the state directory opens");
        for value in env.values_mut() {
            if value == mount {
                *value = dir.display().to_string();
            }
        }
        state_dir = Some(dir);
    }
    let as_pod = recipe.pod.is_some() && own_ids().0 == 0;
    // The pod's user may not reach the build's own folder (a checkout under a private
    // one), as a container's user never reaches the host's: it runs a copy in the
    // scratch folder (under /tmp), which the pod's user can open.
    let binary = if as_pod {
        let copy = scratch.join("nara");
        // The replicas share the scratch folder, and the copy is running once made.
        if !copy.exists() {
            std::fs::copy(nara_bin(), &copy).expect("the binary is copied for the pod's user");
        }
        copy
    } else {
        PathBuf::from(nara_bin())
    };
    let mut command = Command::new(binary);
    if namespaces_allowed() {
        under_hostname(&mut command, recipe.hostname);
    } else {
        eprintln!(
            "{}: no UTS namespace here; the machine's own hostname stands in",
            recipe.platform
        );
    }
    if let Some(pod) = recipe.pod {
        if as_pod {
            let file = soul_file.as_deref().expect("a pod's soul is a mounted file");
            as_the_pod(&mut command, pod, file);
        } else {
            eprintln!(
                "{}: not root here, so the pod's user (uid {}) cannot be taken; nara runs as the caller",
                recipe.platform, pod.uid
            );
        }
    }
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(&env);
    let running = Running::start(command).unwrap_or_else(|e| panic!("{}: {e}", recipe.platform));
    if let Some(dir) = state_dir {
        // It took the directory as its own: it holds the lock there.
        assert!(
            dir.join("lock").exists(),
            "{}: nara keeps its view in {}",
            recipe.platform,
            dir.display()
        );
    }
    running
}

async fn check(recipe: Recipe) {
    let broker = Mosquitto::start();
    // The pod's user must reach the scratch folder (its soul, and the copy of nara it
    // runs): under /tmp, open to every user, not under a private TMPDIR.
    let scratch = if recipe.pod.is_some() && own_ids().0 == 0 {
        tempfile::Builder::new().tempdir_in("/tmp")
    } else {
        tempfile::tempdir()
    }
    .expect("a scratch directory");
    let soul = mint_soul(&recipe.minted_for);
    let first = replica(&recipe, &soul, &broker, scratch.path());
    if let Some(pod) = recipe.pod.filter(|_| own_ids().0 == 0) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", first.child.id())).expect("the process status");
        let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or_default();
        assert_eq!(
            uid.split_whitespace().nth(1),
            Some(pod.uid.to_string().as_str()),
            "{}: nara runs as the pod's user: {uid}",
            recipe.platform
        );
    }
    let status = first.get_json("/api/status").await;
    assert_eq!(
        status["name"], recipe.minted_for,
        "{}: the nara runs under the name its soul was minted for",
        recipe.platform
    );
    assert_eq!(status["bonded"], true, "{}: {status:#}", recipe.platform);
    assert_eq!(status["bond_advice"], Value::Null, "{}", recipe.platform);
    let own = first.get_json(&format!("/api/peers/{}", recipe.minted_for)).await;
    for (key, value) in recipe.tags {
        assert_eq!(
            own["tags"][key], *value,
            "{}: the platform's automatic tag: {own:#}",
            recipe.platform
        );
    }

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

/// The soul file is readable by the pod only because of the fsGroup: the manifest
/// before it (no fsGroup, mode 0400) left the file root:root, which uid 65534 cannot
/// read.
#[test]
fn the_pod_reads_its_soul_through_the_fs_group() {
    let pod = kubernetes().pod.expect("the Deployment is a pod");
    let (owner, group, mode) = pod.soul_file();
    assert_eq!(owner, 0, "the kubelet writes a Secret's files as root");
    assert_ne!(pod.uid, owner, "the pod does not run as root");
    assert_eq!(Some(group), pod.fs_group, "the file's group is the pod's fsGroup");
    assert_eq!(mode & 0o040, 0o040, "the group may read the soul");
    assert_eq!(mode & 0o007, 0, "no one else may");

    let before = Pod {
        fs_group: None,
        default_mode: 0o400,
        ..pod
    };
    assert_eq!(before.soul_file(), (0, 0, 0o400));
    assert_eq!(
        file_mode(&serde_yaml_ng::from_str("0440").expect("YAML")),
        0o440,
        "a leading zero is octal, as Kubernetes reads it"
    );
    assert_eq!(file_mode(&serde_yaml_ng::from_str("288").expect("YAML")), 0o440);
}

/// The placeholder the recipes give this repository's account, in its flake reference
/// `github:OWNER/nara` and its image `ghcr.io/OWNER/nara`.
const OWNER: &str = "OWNER";

/// `text` with the placeholder filled in, as a reader deploying from their own copy
/// would fill it: an account's name, in lowercase as ghcr.io wants it.
fn with_home(text: &str, account: &str) -> String {
    text.replace(&format!("github:{OWNER}/"), &format!("github:{account}/"))
        .replace(
            &format!("ghcr.io/{OWNER}/"),
            &format!("ghcr.io/{}/", account.to_lowercase()),
        )
}

/// Every flake reference and image the recipes give nara, by the account that holds it.
fn homes(text: &str) -> Vec<String> {
    ["github:", "ghcr.io/"]
        .iter()
        .flat_map(|prefix| {
            text.match_indices(prefix).filter_map(move |(at, _)| {
                let rest = &text[at + prefix.len()..];
                let (account, after) = rest.split_once('/')?;
                after.starts_with("nara").then(|| format!("{prefix}{account}/nara"))
            })
        })
        .collect()
}

/// One home for the project: every chapter, the README and the Kubernetes base name
/// nara's flake and image with the same placeholder (never the Go nara's repository),
/// and filled in, the Kubernetes image is a name a registry takes.
#[test]
fn every_recipe_names_the_same_home() {
    let mut files: Vec<String> = ["README.md", "deploy/kubernetes/kustomization.yaml"]
        .map(String::from)
        .to_vec();
    for dir in ["docs/src", "docs/src/deploy"] {
        let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for entry in std::fs::read_dir(&full).expect("the book's folder") {
            let path = entry.expect("a chapter").path();
            if path.extension().is_some_and(|e| e == "md") {
                files.push(format!("{dir}/{}", path.file_name().expect("a name").to_string_lossy()));
            }
        }
    }
    let mut seen = 0;
    for file in &files {
        for home in homes(&repo_file(file)) {
            seen += 1;
            assert!(
                home == format!("github:{OWNER}/nara") || home == format!("ghcr.io/{OWNER}/nara"),
                "{file} names nara's home as {home}, not with the placeholder {OWNER}"
            );
        }
    }
    assert!(seen >= 6, "the recipes name nara's home {seen} times");

    let kustomization: Value =
        serde_yaml_ng::from_str(&repo_file("deploy/kubernetes/kustomization.yaml")).expect("the kustomization is YAML");
    let image = kustomization["images"][0]["newName"]
        .as_str()
        .expect("the base names its image");
    let filled = with_home(image, "Some-Account");
    assert_eq!(filled, "ghcr.io/some-account/nara");
    assert!(
        filled
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"./-_".contains(&b)),
        "{filled} is not an image name a registry takes"
    );
    assert_eq!(
        with_home("nix run github:OWNER/nara/<rev>", "Some-Account"),
        "nix run github:Some-Account/nara/<rev>"
    );
}

#[test]
fn the_recipes_are_read_as_a_shell_reads_them() {
    assert_eq!(
        shell_words(r#"NARA_NAME=a NARA_SOUL="$(nara soul new --name a)" -e X="y z""#),
        ["NARA_NAME=a", "NARA_SOUL=$(nara soul new --name a)", "-e", "X=y z"]
    );
    assert_eq!(minted_name("$ nara soul new --name box > box.soul", "x"), "box");
}
