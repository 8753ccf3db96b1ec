//! `cargo xtask unit-score`: renders modules/hardening.nix (plain Nix, no nixpkgs) into
//! a service unit the way NixOS writes serviceConfig (lists as repeated keys, booleans
//! as true/false), scores it with `systemd-analyze security --offline=true`, and fails
//! above the target exposure.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The exposure the NixOS unit must not exceed (systemd's scale: 0 safe, 10 exposed).
const TARGET: f64 = 1.5;

pub fn run(root: &Path) -> Result<(), String> {
    let hardening = crate::nix_instantiate::evaluate_file(root, "modules/hardening.nix")?;
    let unit = render(&hardening)?;
    let dir = std::env::temp_dir().join(format!("nara-unit-score-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("nara.service");
    std::fs::write(&path, unit).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let text = crate::process::output(
        Command::new("systemd-analyze")
            .args(["security", "--offline=true"])
            .arg(&path),
    );
    let _ = std::fs::remove_dir_all(&dir);
    let text = text?;
    let score = exposure(&text).ok_or_else(|| format!("systemd-analyze printed no exposure level:\n{text}"))?;
    if score > TARGET {
        return Err(format!(
            "modules/hardening.nix scores {score}, above the target {TARGET}:\n{text}"
        ));
    }
    eprintln!("unit-score: modules/hardening.nix scores {score} (target {TARGET} or lower)");
    Ok(())
}

/// A `[Service]` section as NixOS would write this serviceConfig.
pub fn render(hardening: &Value) -> Result<String, String> {
    let settings = hardening
        .as_object()
        .ok_or("modules/hardening.nix is not an attribute set")?;
    let mut unit =
        String::from("[Unit]\nDescription=nara\n\n[Service]\nType=notify\nExecStart=/run/current-system/sw/bin/nara\n");
    for (key, value) in settings {
        let values = match value {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for value in values {
            let text = match value {
                Value::Bool(b) => b.to_string(),
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                other => return Err(format!("{key}: cannot render {other}")),
            };
            unit.push_str(&format!("{key}={text}\n"));
        }
    }
    Ok(unit)
}

/// The number in "Overall exposure level for nara.service: 1.2 OK".
fn exposure(report: &str) -> Option<f64> {
    report
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_become_repeated_keys_and_booleans_words() {
        let unit =
            render(&json!({"SystemCallFilter": ["@system-service", "~@privileged"], "NoNewPrivileges": true})).unwrap();
        assert!(unit.contains("SystemCallFilter=@system-service\nSystemCallFilter=~@privileged\n"));
        assert!(unit.contains("NoNewPrivileges=true\n"));
    }

    #[test]
    fn the_exposure_is_read_from_the_report() {
        assert_eq!(
            exposure("x\n→ Overall exposure level for nara.service: 1.2 OK 🙂\n"),
            Some(1.2)
        );
        assert_eq!(exposure("nothing"), None);
    }
}
