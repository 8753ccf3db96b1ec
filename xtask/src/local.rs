//! `cargo xtask local CHECK... [--manifest-path PATH]`: the flake checks' commands
//! (nix/commands.toml) run in this checkout, with its tools and environment, as
//! `make lint`, `make unit`, `make web-unit` and `make alert-rules` run them. Unlike a twin, nothing is
//! copied or isolated: this is the developer's quick loop.

use crate::commands::{LOCAL, Table};
use std::path::Path;
use std::process::Command;

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut checks = Vec::new();
    let mut manifest = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--manifest-path" => {
                manifest = Some(args.next().ok_or("--manifest-path needs a path")?.as_str());
            }
            check => checks.push(check),
        }
    }
    if checks.is_empty() {
        return Err(format!(
            "usage: cargo xtask local CHECK... [--manifest-path PATH]; checks: {}",
            LOCAL.join(", ")
        ));
    }
    let table = Table::read(root)?;
    for check in checks {
        if !LOCAL.contains(&check) {
            return Err(format!(
                "no check {check:?} runs in the checkout; there are {}",
                LOCAL.join(", ")
            ));
        }
        for mut line in table.lines(check, None)? {
            if let Some(manifest) = manifest {
                if line.shell {
                    return Err(format!("{check} is no cargo command; --manifest-path does not apply"));
                }
                line = line.for_manifest(manifest);
            }
            let shown = line.shown();
            eprintln!("{shown}");
            let words = line.words();
            let mut command = Command::new(&words[0]);
            crate::process::run(command.args(&words[1..]).envs(&line.env).current_dir(root), &shown)?;
        }
    }
    Ok(())
}
