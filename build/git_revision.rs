//! The git revision a build records: 12 characters of the commit, `-dirty` when the
//! tracked files differ from it, `unknown` outside git. build.rs records it when Nix has
//! not passed one; `cargo xtask twin` passes it as the flake does (flake.nix's
//! `revision`, the same rule), so both read it from here.

use std::path::Path;
use std::process::Command;

pub fn describe(repo: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(repo)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(rev) if !rev.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            if dirty { format!("{rev}-dirty") } else { rev }
        }
        _ => "unknown".to_string(),
    }
}
