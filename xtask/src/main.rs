//! `cargo xtask`: repository chores that must run where Nix cannot, so `make test`
//! checks the Nix layer offline: formatting (what `nix fmt` writes), the agreement of
//! flake.nix and flake.lock, and evaluating what needs only nixpkgs' `lib`; and the
//! flake checks' commands, offline as twins or in the checkout.

mod commands;
mod deploy_check;
mod fileset;
mod flake_lock;
#[path = "../../build/git_revision.rs"]
mod git_revision;
mod local;
mod nix_eval;
mod nix_fmt;
mod nix_instantiate;
mod process;
mod twin;
mod unit_score;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  nix-fmt [--check]   format every .nix file with alejandra (--check: only report)
  flake-lock          check that flake.lock locks exactly what flake.nix declares
  nix-eval            evaluate the lib-only parts of the Nix code (needs NIXPKGS_LIB)
  twin [NAME...]      run the flake's checks offline, as Nix runs them (--list names them)
  local CHECK...      run checks' commands (nix/commands.toml) in this checkout: fmt, clippy,
                      doc, nextest, web-unit, alert-rules (--manifest-path PATH: another crate's)
  fileset SET         list the files a derivation's source holds (nix/filesets.nix)
  unit-score          score modules/hardening.nix with systemd-analyze (target <= 1.5)
  deploy-check BIN    port, health paths, grace and metrics agree across every deployment
  help                this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = repo_root();
    let result = match args.first().map(String::as_str) {
        Some("nix-fmt") => nix_fmt::checkout(&root, args.iter().any(|a| a == "--check")),
        Some("flake-lock") => flake_lock::run(&root),
        Some("nix-eval") => nix_eval::run(&root),
        Some("unit-score") => unit_score::run(&root),
        Some("twin") => twin::run(&root, &args[1..]),
        Some("local") => local::run(&root, &args[1..]),
        Some("fileset") => match args.get(1) {
            Some(set) => fileset::files(&root, set).map(|files| {
                for file in files {
                    println!("{file}");
                }
            }),
            None => fileset::names(&root).map(|names| println!("sets: {}", names.join(" "))),
        },
        Some("deploy-check") => match args.get(1) {
            Some(bin) => deploy_check::run(&root, &std::path::PathBuf::from(bin)),
            None => Err("usage: cargo xtask deploy-check BIN (a built nara)".into()),
        },
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root: the parent of this crate's directory.
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in a subdirectory")
        .to_path_buf()
}
