//! Build script: checks the web bundle that `include_dir` embeds, refuses a missing or
//! stale one with a message that says what to run, and writes the asset table
//! (content type, ETag, immutability, precompressed variants) so the server does no
//! hashing or guessing at start-up. It also records the git revision for `--version`.

#[path = "build/git_revision.rs"]
mod git_revision;

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::exit;

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let dist = web_dist(&manifest_dir);
    check_bundle(&dist);
    check_not_stale(&manifest_dir, &dist);

    let out_dir = PathBuf::from(env("OUT_DIR"));
    let table = asset_table(&dist);
    fs::write(out_dir.join("asset_table.rs"), table).expect("OUT_DIR is writable");

    println!("cargo:rustc-env=NARA_WEB_DIST_RESOLVED={}", dist.display());
    println!("cargo:rustc-env=NARA_GIT_REVISION={}", git_revision(&manifest_dir));
    println!("cargo:rustc-env=NARA_BUILD_PROFILE={}", env("PROFILE"));
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| fail(&format!("cargo did not set {name}")))
}

/// Prints one clear message and stops the build; a panic would bury it in a backtrace.
fn fail(message: &str) -> ! {
    eprintln!("\nerror: {message}\n");
    exit(1);
}

fn web_dist(manifest_dir: &Path) -> PathBuf {
    println!("cargo:rerun-if-env-changed=NARA_WEB_DIST");
    let dist = match std::env::var("NARA_WEB_DIST") {
        Ok(dir) if !dir.is_empty() => manifest_dir.join(dir),
        _ => manifest_dir.join("web/dist"),
    };
    // Cargo watches every file below a directory named here.
    println!("cargo:rerun-if-changed={}", dist.display());
    dist
}

fn check_bundle(dist: &Path) {
    let how = "run `make web` (or point NARA_WEB_DIST at a built bundle)";
    if !dist.is_dir() {
        fail(&format!("the web bundle {} does not exist; {how}", dist.display()));
    }
    for required in ["index.html", "docs/index.html", ".nara/manifest.json"] {
        if !dist.join(required).is_file() {
            fail(&format!("the web bundle {} lacks {required}; {how}", dist.display()));
        }
    }
}

/// The bundle records the hash of the sources it was built from; when those sources
/// are here (a checkout, not a Nix build of the Rust source alone) they must still match.
fn check_not_stale(manifest_dir: &Path, dist: &Path) {
    let inputs_list = manifest_dir.join("web/bundle-inputs.txt");
    if !inputs_list.is_file() {
        return;
    }
    let roots = read_input_roots(&inputs_list);
    for root in &roots {
        println!("cargo:rerun-if-changed={}", manifest_dir.join(root).display());
    }
    let built_from = manifest_field(dist, "sources_sha256");
    let now = sources_hash(manifest_dir, &roots);
    if built_from != now {
        fail(&format!(
            "the web bundle {} is stale: web or docs sources changed since it was built; run `make web`",
            dist.display()
        ));
    }
}

fn read_input_roots(list: &Path) -> Vec<String> {
    let text = fs::read_to_string(list).unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", list.display())));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

fn manifest_json(dist: &Path) -> serde_json::Value {
    let path = dist.join(".nara/manifest.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", path.display())));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| fail(&format!("{} is not valid JSON ({e}); run `make web`", path.display())))
}

fn manifest_field(dist: &Path, field: &str) -> String {
    manifest_json(dist)[field]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| fail(&format!("the bundle manifest lacks {field}; run `make web`")))
}

/// Must agree with web/sources-hash.mjs: files in byte order of their path, each hashed
/// as "<path>\n<length>\n<bytes>".
fn sources_hash(repo: &Path, roots: &[String]) -> String {
    let mut files = Vec::new();
    for root in roots {
        collect_files(repo, root, &mut files);
    }
    files.sort();
    let mut hasher = Sha256::new();
    for rel in files {
        let bytes = fs::read(repo.join(&rel)).unwrap_or_else(|e| fail(&format!("cannot read {rel}: {e}")));
        hasher.update(format!("{rel}\n{}\n", bytes.len()).as_bytes());
        hasher.update(&bytes);
    }
    hex(&hasher.finalize())
}

fn collect_files(repo: &Path, rel: &str, out: &mut Vec<String>) {
    let abs = repo.join(rel);
    if abs.is_dir() {
        let entries = fs::read_dir(&abs).unwrap_or_else(|e| fail(&format!("cannot list {}: {e}", abs.display())));
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            collect_files(repo, &child, out);
        }
    } else if abs.is_file() {
        out.push(rel.to_string());
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// One record per servable file; `.br`/`.gz` siblings become its variants, and dotfiles
/// (the build metadata under `.nara/`, mdBook's `.nojekyll`) are not served.
fn asset_table(dist: &Path) -> String {
    let manifest = manifest_json(dist);
    let immutable: Vec<String> = manifest["immutable"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();

    let mut files = Vec::new();
    collect_files(dist, "", &mut files);
    let mut paths: Vec<String> = files
        .into_iter()
        .filter(|p| !p.split('/').any(|segment| segment.starts_with('.')))
        .filter(|p| !p.ends_with(".br") && !p.ends_with(".gz"))
        .collect();
    paths.sort();

    let mut table = String::from("&[\n");
    for path in paths {
        let body = fs::read(dist.join(&path)).unwrap_or_else(|e| fail(&format!("cannot read {path}: {e}")));
        let etag = &hex(&Sha256::digest(&body))[..32];
        let content_type = content_type(&path);
        let has = |ext: &str| dist.join(format!("{path}.{ext}")).is_file();
        let _ = writeln!(
            table,
            "    AssetRecord {{ path: {path:?}, content_type: {content_type:?}, etag: {etag:?}, \
             immutable: {}, br: {}, gz: {} }},",
            immutable.contains(&path),
            has("br"),
            has("gz"),
        );
    }
    table.push(']');
    table
}

fn content_type(path: &str) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let textual = mime.type_() == "text" || matches!(mime.subtype().as_str(), "javascript" | "json" | "xml" | "svg");
    if textual {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

/// `NARA_GIT_REVISION` wins (Nix sets it from the flake); otherwise ask git.
fn git_revision(repo: &Path) -> String {
    println!("cargo:rerun-if-env-changed=NARA_GIT_REVISION");
    if let Ok(rev) = std::env::var("NARA_GIT_REVISION")
        && !rev.is_empty()
    {
        return rev;
    }
    let git_dir = repo.join(".git");
    if git_dir.exists() {
        println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
        println!("cargo:rerun-if-changed={}", git_dir.join("index").display());
    }
    git_revision::describe(repo)
}
