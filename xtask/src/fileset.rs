//! The file sets of nix/filesets.nix, read without nixpkgs: which tracked files each
//! derivation's source holds, and a copy of them in a folder of their own, as the flake
//! would unpack them (a flake sees only what git tracks, and no `.git`).
//!
//! The rules mirror nix/sources.nix: crane's `fileset.commonCargoSources` is every
//! `Cargo.toml`, `Cargo.lock`, `*.rs` and `*.toml`; `include` and `exclude` name files or
//! whole folders. `cargo xtask nix-eval` compares these lists with lib.fileset's own.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// One set of nix/filesets.nix, resolved to the tracked files it holds (sorted, relative).
pub fn files(root: &Path, set: &str) -> Result<Vec<String>, String> {
    let declared = crate::nix_instantiate::evaluate_file(root, "nix/filesets.nix")?;
    let tracked = tracked_files(root)?;
    let mut out: Vec<String> = resolve(&declared, set, &tracked, &mut Vec::new())?
        .into_iter()
        .collect();
    out.sort();
    Ok(out)
}

/// The names of every declared set.
pub fn names(root: &Path) -> Result<Vec<String>, String> {
    let declared = crate::nix_instantiate::evaluate_file(root, "nix/filesets.nix")?;
    Ok(declared
        .as_object()
        .ok_or("nix/filesets.nix is not an attribute set")?
        .keys()
        .cloned()
        .collect())
}

/// Copies the set into `dest`, emptied first except for the entries named in `keep`
/// (a build's `target/` survives, as cargo's cache between runs).
pub fn materialise(root: &Path, set: &str, dest: &Path, keep: &[&str]) -> Result<usize, String> {
    let files = files(root, set)?;
    std::fs::create_dir_all(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    for entry in std::fs::read_dir(dest).map_err(|e| format!("cannot read {}: {e}", dest.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        if keep.iter().any(|k| entry.file_name() == *k) {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() && !path.is_symlink() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| format!("cannot clear {}: {e}", path.display()))?;
    }
    for file in &files {
        let to = dest.join(file);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::copy(root.join(file), &to).map_err(|e| format!("cannot copy {file}: {e}"))?;
    }
    Ok(files.len())
}

/// What git tracks and the working tree still has, as a flake's source holds it.
pub fn tracked_files(root: &Path) -> Result<Vec<String>, String> {
    git_files(root, &["--cached"])
}

/// The files `git ls-files ARGS` lists that the working tree has, sorted.
pub fn git_files(root: &Path, args: &[&str]) -> Result<Vec<String>, String> {
    let listed = crate::process::output(
        Command::new("git")
            .args(["ls-files", "-z"])
            .args(args)
            .current_dir(root),
    )?;
    let mut files: Vec<String> = (listed.split('\0'))
        .filter(|f| !f.is_empty() && root.join(f).is_file())
        .map(String::from)
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

fn resolve(
    declared: &Value,
    name: &str,
    tracked: &[String],
    seen: &mut Vec<String>,
) -> Result<BTreeSet<String>, String> {
    if seen.iter().any(|s| s == name) {
        return Err(format!("nix/filesets.nix: the set {name} extends itself"));
    }
    seen.push(name.to_string());
    let set = declared
        .get(name)
        .ok_or_else(|| format!("nix/filesets.nix declares no set {name}"))?;
    let strings = |key: &str| -> Vec<String> {
        set.get(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).map(String::from).collect())
            .unwrap_or_default()
    };
    let cargo_sources = set.get("cargoSources").and_then(Value::as_bool).unwrap_or(false);
    let extensions = strings("extensions");
    let include = strings("include");
    let exclude = strings("exclude");
    // lib.fileset refuses a path that does not exist; so does this.
    for path in include.iter().chain(&exclude) {
        if !tracked.iter().any(|f| under(f, path)) {
            return Err(format!(
                "nix/filesets.nix: {name} names {path}, which git does not track (lib.fileset would refuse it)"
            ));
        }
    }
    let mut out: BTreeSet<String> = tracked
        .iter()
        .filter(|f| {
            (cargo_sources && is_cargo_source(f))
                || extensions.iter().any(|e| has_ext(f, e))
                || include.iter().any(|i| under(f, i))
        })
        .cloned()
        .collect();
    for base in strings("extends") {
        out.extend(resolve(declared, &base, tracked, seen)?);
    }
    out.retain(|f| !exclude.iter().any(|x| under(f, x)));
    seen.pop();
    Ok(out)
}

/// crane's commonCargoSources: Cargo.toml and Cargo.lock, *.rs, *.toml, at any depth.
fn is_cargo_source(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap_or(file);
    name == "Cargo.lock" || has_ext(file, "rs") || has_ext(file, "toml")
}

/// lib.fileset's `hasExt`: the name ends in `.EXT`.
fn has_ext(file: &str, ext: &str) -> bool {
    let name = file.rsplit('/').next().unwrap_or(file);
    name.ends_with(&format!(".{ext}"))
}

/// The file is the path or lies below the folder.
fn under(file: &str, path: &str) -> bool {
    file == path || file.strip_prefix(path).is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked() -> Vec<String> {
        [
            "Cargo.toml",
            "Cargo.lock",
            "src/main.rs",
            "docs/book.toml",
            "docs/src/a.md",
            "fly.toml",
            "checks/oracle.sh",
            "web/src/App.jsx",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn a_set_extends_another_and_excludes_after_the_union() {
        let declared: Value = serde_json::json!({
            "rust": {"cargoSources": true, "exclude": ["docs", "fly.toml"]},
            "tests": {"extends": ["rust"], "include": ["docs/src", "checks/oracle.sh"]},
        });
        let rust = resolve(&declared, "rust", &tracked(), &mut Vec::new()).unwrap();
        assert_eq!(
            rust.into_iter().collect::<Vec<_>>(),
            ["Cargo.lock", "Cargo.toml", "src/main.rs"]
        );
        let tests = resolve(&declared, "tests", &tracked(), &mut Vec::new()).unwrap();
        assert!(tests.contains("docs/src/a.md") && tests.contains("checks/oracle.sh"));
        assert!(!tests.contains("docs/book.toml") && !tests.contains("fly.toml"));
    }

    #[test]
    fn a_path_git_does_not_track_is_refused_as_lib_fileset_would() {
        let declared: Value = serde_json::json!({"web": {"include": ["web/missing"]}});
        let err = resolve(&declared, "web", &tracked(), &mut Vec::new()).unwrap_err();
        assert!(err.contains("web/missing"), "{err}");
    }

    #[test]
    fn a_folder_prefix_is_not_a_folder() {
        assert!(under("docs/src/a.md", "docs/src"));
        assert!(!under("docs/srcs/a.md", "docs/src"));
    }
}
