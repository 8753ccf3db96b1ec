//! `cargo xtask flake-lock`: flake.lock must lock exactly what flake.nix declares.
//!
//! Every declared input is locked, `follows` are recorded as Nix records them, no
//! node is unreachable from the root, and every locked GitHub node carries a 40-hex
//! rev, an SRI sha256 narHash and a lastModified time. The declared inputs are read by
//! evaluating flake.nix's `inputs` with nix-instantiate, which needs no network.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

pub fn run(root: &Path) -> Result<(), String> {
    let declared = declared_inputs(root)?;
    let lock_path = root.join("flake.lock");
    let lock_text = std::fs::read_to_string(&lock_path).map_err(|e| format!("cannot read flake.lock: {e}"))?;
    let lock: Value = serde_json::from_str(&lock_text).map_err(|e| format!("flake.lock is not JSON: {e}"))?;
    let problems = check(&declared, &lock);
    if problems.is_empty() {
        let names: Vec<&String> = declared.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        eprintln!("flake-lock: flake.lock locks exactly {names:?}");
        Ok(())
    } else {
        Err(format!(
            "flake.lock disagrees with flake.nix:\n  {}",
            problems.join("\n  ")
        ))
    }
}

fn declared_inputs(root: &Path) -> Result<Value, String> {
    crate::nix_instantiate::evaluate(root, "(import ./flake.nix).inputs").map_err(|e| format!("flake.nix inputs: {e}"))
}

/// Every disagreement between the declared inputs and the lock, one line each.
pub fn check(declared: &Value, lock: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if lock["version"] != 7 {
        problems.push(format!("version is {}, expected 7", lock["version"]));
    }
    let nodes = lock["nodes"].as_object().cloned().unwrap_or_default();
    let root_name = lock["root"].as_str().unwrap_or("root");
    let Some(root) = nodes.get(root_name) else {
        problems.push(format!("no root node {root_name:?}"));
        return problems;
    };
    let declared = declared.as_object().cloned().unwrap_or_default();
    let root_inputs = root["inputs"].as_object().cloned().unwrap_or_default();

    let declared_names: BTreeSet<&String> = declared.keys().collect();
    let locked_names: BTreeSet<&String> = root_inputs.keys().collect();
    for missing in declared_names.difference(&locked_names) {
        problems.push(format!("input {missing} is declared but not locked"));
    }
    for extra in locked_names.difference(&declared_names) {
        problems.push(format!("input {extra} is locked but not declared"));
    }

    for (name, spec) in &declared {
        let Some(node_name) = root_inputs.get(name).and_then(Value::as_str) else {
            continue;
        };
        let Some(node) = nodes.get(node_name) else {
            problems.push(format!("input {name} points at missing node {node_name:?}"));
            continue;
        };
        check_source(name, spec, node, &mut problems);
        let wants_flake = spec["flake"].as_bool().unwrap_or(true);
        let is_flake = node["flake"].as_bool().unwrap_or(true);
        if wants_flake != is_flake {
            problems.push(format!(
                "input {name}: flake = {wants_flake} in flake.nix but {is_flake} in flake.lock"
            ));
        }
        if let Some(subs) = spec["inputs"].as_object() {
            for (sub, sub_spec) in subs {
                if let Some(follows) = sub_spec["follows"].as_str() {
                    let expected: Vec<Value> = follows.split('/').map(|s| Value::String(s.into())).collect();
                    if node["inputs"][sub] != Value::Array(expected.clone()) {
                        problems.push(format!(
                            "input {name}: its {sub} should follow {follows} (\"inputs\": {{\"{sub}\": {}}}), lock has {}",
                            Value::Array(expected),
                            node["inputs"][sub]
                        ));
                    }
                }
            }
        }
    }

    let reachable = reachable_nodes(root_name, &nodes);
    for name in nodes.keys() {
        if !reachable.contains(name.as_str()) {
            problems.push(format!("node {name} is not reachable from the root"));
        }
    }
    for (name, node) in &nodes {
        if name != root_name {
            check_locked(name, node, &mut problems);
        }
    }
    problems
}

/// The lock's original must say what flake.nix's url says.
fn check_source(name: &str, spec: &Value, node: &Value, problems: &mut Vec<String>) {
    let Some(url) = spec["url"].as_str() else {
        problems.push(format!("input {name} has no url in flake.nix"));
        return;
    };
    let Some(rest) = url.strip_prefix("github:") else {
        problems.push(format!("input {name}: only github: urls are checked, got {url}"));
        return;
    };
    let parts: Vec<&str> = rest.splitn(3, '/').collect();
    let original = &node["original"];
    let field = |key: &str| original[key].as_str().unwrap_or("");
    if original["type"] != "github" || parts.len() < 2 || field("owner") != parts[0] || field("repo") != parts[1] {
        problems.push(format!("input {name}: original {original} does not match url {url}"));
    }
    let declared_ref = parts.get(2).copied().unwrap_or("");
    if field("ref") != declared_ref {
        problems.push(format!("input {name}: original ref {:?} but url {url}", field("ref")));
    }
}

fn check_locked(name: &str, node: &Value, problems: &mut Vec<String>) {
    let locked = &node["locked"];
    if locked["type"] != "github" {
        problems.push(format!("node {name}: locked type {} is not github", locked["type"]));
        return;
    }
    let rev = locked["rev"].as_str().unwrap_or("");
    if rev.len() != 40 || !rev.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        problems.push(format!("node {name}: rev {rev:?} is not 40 lowercase hex digits"));
    }
    let nar = locked["narHash"].as_str().unwrap_or("");
    if !is_sri_sha256(nar) {
        problems.push(format!("node {name}: narHash {nar:?} is not an SRI sha256 hash"));
    }
    if !locked["lastModified"].is_u64() {
        problems.push(format!("node {name}: lastModified is missing or not an integer"));
    }
    for key in ["owner", "repo"] {
        if locked[key] != node["original"][key] {
            problems.push(format!("node {name}: locked {key} differs from original"));
        }
    }
}

/// `sha256-` then 44 base64 characters encoding 32 bytes (so ending in one `=`).
fn is_sri_sha256(hash: &str) -> bool {
    let Some(b64) = hash.strip_prefix("sha256-") else {
        return false;
    };
    b64.len() == 44
        && b64.ends_with('=')
        && !b64[..43].contains('=')
        && b64[..43]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

fn reachable_nodes<'a>(root: &'a str, nodes: &'a serde_json::Map<String, Value>) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(name) = stack.pop() {
        if !seen.insert(name) {
            continue;
        }
        if let Some(inputs) = nodes.get(name).and_then(|n| n["inputs"].as_object()) {
            for target in inputs.values() {
                // A string names a node; a list is a `follows` path, resolved from the root.
                if let Some(node) = target.as_str() {
                    stack.push(node);
                }
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(owner: &str, repo: &str) -> Value {
        json!({
            "locked": {"lastModified": 1, "narHash": "sha256-H++/2dMt+5+tErKU+t5z6c4Xedvj9w+UPQYrpygwIPw=",
                       "owner": owner, "repo": repo, "rev": "b8d87f76ea4e4b6f30f2e6eaf3fbb60ff7d87167", "type": "github"},
            "original": {"owner": owner, "repo": repo, "type": "github"}
        })
    }

    fn declared() -> Value {
        json!({
            "crane": {"url": "github:ipetkov/crane"},
            "overlay": {"url": "github:oxalica/rust-overlay", "inputs": {"nixpkgs": {"follows": "nixpkgs"}}},
            "nixpkgs": {"url": "github:NixOS/nixpkgs"},
            "db": {"url": "github:rustsec/advisory-db", "flake": false}
        })
    }

    fn good_lock() -> Value {
        let mut overlay = node("oxalica", "rust-overlay");
        overlay["inputs"] = json!({"nixpkgs": ["nixpkgs"]});
        let mut db = node("rustsec", "advisory-db");
        db["flake"] = json!(false);
        json!({
            "nodes": {
                "crane": node("ipetkov", "crane"),
                "overlay": overlay,
                "nixpkgs": node("NixOS", "nixpkgs"),
                "db": db,
                "root": {"inputs": {"crane": "crane", "overlay": "overlay", "nixpkgs": "nixpkgs", "db": "db"}}
            },
            "root": "root",
            "version": 7
        })
    }

    #[test]
    fn a_consistent_lock_passes() {
        assert_eq!(check(&declared(), &good_lock()), Vec::<String>::new());
    }

    #[test]
    fn a_missing_follows_is_reported() {
        let mut lock = good_lock();
        lock["nodes"]["overlay"]["inputs"] = json!({"nixpkgs": "nixpkgs_2"});
        lock["nodes"]["nixpkgs_2"] = node("NixOS", "nixpkgs");
        let problems = check(&declared(), &lock);
        assert!(
            problems.iter().any(|p| p.contains("should follow nixpkgs")),
            "{problems:?}"
        );
    }

    #[test]
    fn an_invented_hash_or_rev_is_reported() {
        let mut lock = good_lock();
        lock["nodes"]["crane"]["locked"]["narHash"] = json!("sha256-0000");
        lock["nodes"]["nixpkgs"]["locked"]["rev"] = json!("main");
        let problems = check(&declared(), &lock);
        assert!(problems.iter().any(|p| p.contains("crane: narHash")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("nixpkgs: rev")), "{problems:?}");
    }

    #[test]
    fn stray_and_undeclared_nodes_are_reported() {
        let mut lock = good_lock();
        lock["nodes"]["orphan"] = node("a", "b");
        lock["nodes"]["root"]["inputs"]["extra"] = json!("crane");
        let problems = check(&declared(), &lock);
        assert!(
            problems.iter().any(|p| p.contains("orphan is not reachable")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("extra is locked but not declared")),
            "{problems:?}"
        );
    }

    #[test]
    fn flake_false_must_agree() {
        let mut lock = good_lock();
        lock["nodes"]["db"].as_object_mut().unwrap().remove("flake");
        let problems = check(&declared(), &lock);
        assert!(
            problems.iter().any(|p| p.contains("input db: flake = false")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_url_that_disagrees_with_the_original_is_reported() {
        let mut decl = declared();
        decl["nixpkgs"]["url"] = json!("github:NixOS/nixpkgs/nixos-26.05");
        let problems = check(&decl, &good_lock());
        assert!(problems.iter().any(|p| p.contains("original ref")), "{problems:?}");
    }
}
