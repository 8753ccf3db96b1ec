//! checks/oci-config.sh, which `nix flake check` runs on the real image, run here on
//! docker-archive images built by hand in the shape dockerTools gives them (a layer per
//! store path, then symlinks into them): it passes a correct one and names each fault.

use crate::common::run_ok;
use std::path::Path;
use std::process::Command;

const GOOD: &str = r#"{
  "architecture": "amd64", "os": "linux",
  "config": {
    "User": "65534:65534",
    "Entrypoint": ["/nix/store/abc-nara-0.1.0/bin/nara"],
    "ExposedPorts": {"8080/tcp": {}},
    "Env": ["NARA_HTTP_ADDR=:8080", "NARA_LOG_FORMAT=json"],
    "Healthcheck": {"Test": ["CMD", "/nix/store/abc-nara-0.1.0/bin/nara", "healthcheck"]},
    "Labels": {
      "org.opencontainers.image.source": "https://example.invalid/nara",
      "org.opencontainers.image.revision": "abc123",
      "org.opencontainers.image.version": "0.1.0"
    }
  }
}"#;

/// What a layer holds at a path: a file's text, or a symlink's target.
enum Entry {
    File(&'static str),
    Link(&'static str),
}

type Layer = &'static [(&'static str, Entry)];

/// The layers dockerTools.buildLayeredImage makes for nix/oci.nix, in the same shape:
/// each store path in a layer of its own, then the customisation layer, whose
/// /etc/nsswitch.conf is a symlink into the store path that holds it.
const NARA: Layer = &[("nix/store/abc-nara-0.1.0/bin/nara", Entry::File("x"))];
const NSSWITCH: Layer = &[(
    "nix/store/def-nsswitch.conf/etc/nsswitch.conf",
    Entry::File("hosts: files dns\n"),
)];
const CUSTOMISATION: Layer = &[(
    "./etc/nsswitch.conf",
    Entry::Link("/nix/store/def-nsswitch.conf/etc/nsswitch.conf"),
)];
const GOOD_LAYERS: &[Layer] = &[NARA, NSSWITCH, CUSTOMISATION];

/// Writes IMAGE.tar.gz with `layers`, each a tar of its entries, and returns its path.
fn image(dir: &Path, config: &str, layers: &[Layer]) -> std::path::PathBuf {
    let archive = dir.join("archive");
    let mut names = Vec::new();
    for (n, layer) in layers.iter().enumerate() {
        let root = dir.join(format!("root{n}"));
        std::fs::create_dir_all(&root).expect("make the layer's root");
        for (file, entry) in layer.iter() {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().expect("a layer file is in a folder"))
                .expect("make the layer's folders");
            match entry {
                Entry::File(text) => std::fs::write(&path, text).expect("write a layer file"),
                Entry::Link(target) => std::os::unix::fs::symlink(target, &path).expect("make a layer symlink"),
            }
        }
        let name = format!("layer{n}/layer.tar");
        std::fs::create_dir_all(archive.join(format!("layer{n}"))).expect("make the archive's layer folder");
        run_ok(
            Command::new("tar")
                .arg("-cf")
                .arg(archive.join(&name))
                .arg("-C")
                .arg(&root)
                .arg("."),
        );
        names.push(name);
    }
    std::fs::create_dir_all(&archive).expect("make the archive's folder");
    std::fs::write(archive.join("config.json"), config).expect("write config.json");
    let manifest = serde_json::json!([{"Config": "config.json", "RepoTags": ["nara:0.1.0-abc123"], "Layers": names}]);
    std::fs::write(archive.join("manifest.json"), manifest.to_string()).expect("write manifest.json");
    let out = dir.join("image.tar.gz");
    run_ok(
        Command::new("tar")
            .arg("-czf")
            .arg(&out)
            .arg("-C")
            .arg(&archive)
            .arg("."),
    );
    out
}

fn check(image: &Path) -> (bool, String) {
    let output = Command::new("sh")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/checks/oci-config.sh"))
        .arg(image)
        .output()
        .expect("sh runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_correct_image_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, log) = check(&image(dir.path(), GOOD, GOOD_LAYERS));
    assert!(ok, "{log}");
    assert!(
        log.contains("ok: /etc/nsswitch.conf looks host names up in files, then dns"),
        "{log}"
    );
    assert!(log.contains("all checks passed"), "{log}");
}

#[test]
fn an_image_running_as_root_fails_naming_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let root_user = GOOD.replace("65534:65534", "0:0");
    let (ok, log) = check(&image(dir.path(), &root_user, GOOD_LAYERS));
    assert!(!ok);
    assert!(log.contains("FAIL: runs as uid/gid 65534"), "{log}");
}

#[test]
fn an_image_with_a_shell_fails() {
    let dir = tempfile::tempdir().unwrap();
    const BASH: Layer = &[("nix/store/xyz-bash-5/bin/bash", Entry::File("x"))];
    let (ok, log) = check(&image(dir.path(), GOOD, &[NARA, BASH, NSSWITCH, CUSTOMISATION]));
    assert!(!ok);
    assert!(log.contains("contains a shell"), "{log}");
}

#[test]
fn an_image_without_labels_fails() {
    let dir = tempfile::tempdir().unwrap();
    let unlabelled = GOOD.replace("org.opencontainers.image.revision", "x-revision");
    let (ok, log) = check(&image(dir.path(), &unlabelled, GOOD_LAYERS));
    assert!(!ok);
    assert!(log.contains("org.opencontainers.image.revision"), "{log}");
}

#[test]
fn an_image_without_nsswitch_conf_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, log) = check(&image(dir.path(), GOOD, &[NARA]));
    assert!(!ok);
    assert!(log.contains("FAIL: the image has no /etc/nsswitch.conf"), "{log}");
}

#[test]
fn an_image_that_asks_dns_before_files_fails() {
    let dir = tempfile::tempdir().unwrap();
    const DNS_FIRST: Layer = &[(
        "nix/store/def-nsswitch.conf/etc/nsswitch.conf",
        Entry::File("passwd: files\nhosts: dns files\n"),
    )];
    let (ok, log) = check(&image(dir.path(), GOOD, &[NARA, DNS_FIRST, CUSTOMISATION]));
    assert!(!ok);
    assert!(log.contains("its hosts line is: dns files"), "{log}");
}

#[test]
fn a_dangling_nsswitch_link_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, log) = check(&image(dir.path(), GOOD, &[NARA, CUSTOMISATION]));
    assert!(!ok);
    assert!(log.contains("has no /etc/nsswitch.conf"), "{log}");
}
