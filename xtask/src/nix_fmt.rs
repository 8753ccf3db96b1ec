//! `cargo xtask nix-fmt`: alejandra over every .nix file, as `nix fmt` would.

use std::path::Path;

/// `cargo xtask nix-fmt`: every .nix file of the checkout that git tracks or would
/// (so nothing under target/ or node_modules/).
pub fn checkout(root: &Path, check: bool) -> Result<(), String> {
    let files = crate::fileset::git_files(root, &["--cached", "--others", "--exclude-standard", "--", "*.nix"])?;
    run(root, &files, check)
}

/// Constructs alejandra 3.1.0 and 4.0.0 format differently (see Cargo.toml).
const VERSION_SENSITIVE: &[(&str, &str)] = &[
    ("|>", "the pipe operator |>"),
    ("<|", "the pipe operator <|"),
    ("/**", "a /** doc comment"),
];

/// Formats (or with `check`, only checks) `files`, relative to `root`.
pub fn run(root: &Path, files: &[String], check: bool) -> Result<(), String> {
    let mut problems = Vec::new();
    for shown in files {
        let path = root.join(shown);
        let before = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {shown}: {e}"))?;
        for (token, what) in VERSION_SENSITIVE {
            if before.contains(token) {
                problems.push(format!(
                    "{shown}: uses {what}, which alejandra 3.1 and 4.0 format differently"
                ));
            }
        }
        match alejandra::format::in_memory(shown.clone(), before) {
            (alejandra::format::Status::Error(e), _) => problems.push(format!("{shown}: does not parse: {e}")),
            (alejandra::format::Status::Changed(false), _) => {}
            (alejandra::format::Status::Changed(true), after) if check => {
                let _ = after;
                problems.push(format!("{shown}: not formatted (run `cargo xtask nix-fmt`)"));
            }
            (alejandra::format::Status::Changed(true), after) => {
                std::fs::write(&path, after).map_err(|e| format!("cannot write {shown}: {e}"))?;
                eprintln!("formatted {shown}");
            }
        }
    }
    if problems.is_empty() {
        eprintln!("nix-fmt: {} files formatted as alejandra writes them", files.len());
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
