//! checks/oci-config.sh, which `nix flake check` runs on the real image, run here on
//! docker-archive images built by hand: it passes a correct one and names each fault.

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

/// Writes IMAGE.tar.gz with one layer holding `layer_files`, and returns its path.
fn image(dir: &Path, config: &str, layer_files: &[&str]) -> std::path::PathBuf {
    let root = dir.join("root");
    let archive = dir.join("archive");
    for file in layer_files {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().expect("a layer file is in a folder")).expect("make the layer's folders");
        std::fs::write(&path, "x").expect("write a layer file");
    }
    std::fs::create_dir_all(&root).expect("make the layer's root");
    std::fs::create_dir_all(archive.join("layer1")).expect("make the archive's layer folder");
    run_ok(
        Command::new("tar")
            .arg("-cf")
            .arg(archive.join("layer1/layer.tar"))
            .arg("-C")
            .arg(&root)
            .arg("."),
    );
    std::fs::write(archive.join("config.json"), config).expect("write config.json");
    std::fs::write(
        archive.join("manifest.json"),
        r#"[{"Config": "config.json", "RepoTags": ["nara:0.1.0-abc123"], "Layers": ["layer1/layer.tar"]}]"#,
    )
    .expect("write manifest.json");
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
    let (ok, log) = check(&image(dir.path(), GOOD, &["nix/store/abc-nara-0.1.0/bin/nara"]));
    assert!(ok, "{log}");
    assert!(log.contains("all checks passed"), "{log}");
}

#[test]
fn an_image_running_as_root_fails_naming_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let root_user = GOOD.replace("65534:65534", "0:0");
    let (ok, log) = check(&image(dir.path(), &root_user, &["nix/store/abc-nara-0.1.0/bin/nara"]));
    assert!(!ok);
    assert!(log.contains("FAIL: runs as uid/gid 65534"), "{log}");
}

#[test]
fn an_image_with_a_shell_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, log) = check(&image(dir.path(), GOOD, &["nix/store/xyz-bash-5/bin/bash"]));
    assert!(!ok);
    assert!(log.contains("contains a shell"), "{log}");
}

#[test]
fn an_image_without_labels_fails() {
    let dir = tempfile::tempdir().unwrap();
    let unlabelled = GOOD.replace("org.opencontainers.image.revision", "x-revision");
    let (ok, log) = check(&image(dir.path(), &unlabelled, &[]));
    assert!(!ok);
    assert!(log.contains("org.opencontainers.image.revision"), "{log}");
}
