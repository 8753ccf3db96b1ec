//! Evaluating Nix expressions with Debian's `nix-instantiate`, to JSON: the one place
//! the xtasks that read Nix files (file sets, module evaluation, deploy checks) call Nix.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A Nix file that needs no inputs, evaluated to JSON.
pub fn evaluate_file(root: &Path, file: &str) -> Result<Value, String> {
    evaluate(root, &format!("import ./{file}"))
}

pub fn evaluate(root: &Path, expression: &str) -> Result<Value, String> {
    let json = crate::process::output(
        Command::new("nix-instantiate")
            .args(["--eval", "--strict", "--json", "-E", expression])
            .current_dir(root),
    )?;
    serde_json::from_str(&json).map_err(|e| format!("nix-instantiate printed no JSON: {e}"))
}
