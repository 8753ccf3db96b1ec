//! `cargo xtask twin [NAME...]`: each derivation `nix flake check` builds, run here the
//! way Nix runs it, so a check fails in `make test` before it fails on a user's first
//! `nix flake check`.
//!
//! A twin runs the command crane or nix/checks.nix runs (same cargo profile, and the
//! same words, read from nix/commands.toml where the flake reads them) on a copy of the
//! file set its derivation gets (nix/filesets.nix: tracked files only, no `.git`, no
//! `web/dist`), with the environment a Nix build has: the web bundle at
//! `NARA_WEB_DIST` outside the tree, `HOME=/homeless-shelter` (a test that writes there
//! fails the twin), a fresh `TMPDIR`, no network (a network namespace with only
//! loopback), and on `PATH` only the tools the derivation lists plus what stdenv gives
//! every build. What cannot run here says so in one line.

mod sandbox;

use crate::commands::Table;
use crate::fileset;
use sandbox::{Isolated, link_tools, network_namespace, stdenv_commands, toolchain_commands, user_cargo_home, which};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One derivation of `nix flake check` and how it runs here.
struct Twin {
    name: &'static str,
    /// The flake output it stands for.
    check: &'static str,
    /// Twins whose results it uses.
    needs: &'static [&'static str],
    run: fn(&Environment) -> Result<(), String>,
}

const fn twin(
    name: &'static str,
    check: &'static str,
    needs: &'static [&'static str],
    run: fn(&Environment) -> Result<(), String>,
) -> Twin {
    Twin {
        name,
        check,
        needs,
        run,
    }
}

/// Each twin, the flake output it stands for and the twins it needs, in the order they
/// run.
#[rustfmt::skip]
const TWINS: &[Twin] = &[
    twin("nara-web", "packages.nara-web (nix/web.nix)", &[], Environment::nara_web),
    twin("fmt", "checks.fmt (craneLib.cargoFmt)", &[], |env| env.cargo_check("fmt", "rust", false)),
    twin("web-unit", "checks.web-unit (node --test)", &[], |env| env.script("web-unit", "web-unit")),
    twin("alert-rules", "checks.alert-rules (promtool check rules, promtool test rules)", &[],
        |env| env.script("alert-rules", "alert-rules")),
    twin("clippy", "checks.clippy (craneLib.cargoClippy, dev profile)", &["nara-web"],
        |env| env.cargo_check("clippy", "rust", true)),
    twin("doc", "checks.doc (craneLib.cargoDoc, dev profile)", &["nara-web"],
        |env| env.cargo_check("doc", "rust", true)),
    twin("audit", "checks.audit (craneLib.cargoAudit)", &[], Environment::audit),
    twin("nix-lint", "checks.nix-lint (alejandra, statix, deadnix)", &[], |env| env.script("nix-lint", "nix")),
    twin("nara", "packages.nara (craneLib.buildPackage, release profile)", &["nara-web"], Environment::nara),
    twin("oracle", "checks.oracle (checks/oracle.sh against packages.nara)", &["nara"],
        |env| env.oracle("oracle", &env.nara_bin(), |_| {})),
    twin("nara-static", "packages.nara-static (nix/nara-static.nix: glibc static-pie, +crt-static)", &["nara-web"],
        Environment::nara_static),
    twin("oracle-static", "checks.oracle-static (checks/oracle.sh against packages.nara-static, broker at localhost)",
        &["nara-static"], Environment::oracle_static),
    twin("nextest", "checks.nextest (craneLib.cargoNextest, dev profile)", &["nara-web"],
        |env| env.cargo_check("nextest", "tests", true)),
];

/// Checks of the flake that have no twin here, and why.
const ONLY_UNDER_NIX: &[(&str, &str)] = &[
    (
        "module-eval",
        "services.nara in a real NixOS system (`cargo xtask nix-eval` evaluates the module with nixpkgs' lib when NIXPKGS_LIB is set)",
    ),
    ("vm-test", "NixOS VMs need Nix and KVM"),
    (
        "oci-config",
        "dockerTools builds packages.oci, the image it reads (tests/repo/oci_config.rs checks checks/oci-config.sh on a hand-made image)",
    ),
];

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--list") {
        for twin in TWINS {
            println!("{:<13} {}", twin.name, twin.check);
        }
        return Ok(());
    }
    let wanted = with_needs(args)?;
    let env = Environment::prepare(root)?;
    let mut passed = 0;
    let mut failed = Vec::new();
    for twin in TWINS.iter().filter(|t| wanted.contains(&t.name)) {
        eprintln!("\ntwin {}: {}", twin.name, twin.check);
        match (twin.run)(&env) {
            Ok(()) => passed += 1,
            Err(message) => {
                eprintln!("twin {}: FAILED: {message}", twin.name);
                failed.push(twin.name);
                // What depends on a failed twin cannot run; the first failure is the news.
                break;
            }
        }
    }
    eprintln!();
    for (check, why) in ONLY_UNDER_NIX {
        eprintln!("twin: not here, only under nix flake check: checks.{check}: {why}");
    }
    println!("twins: {passed} passed, {} failed", failed.len());
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("twin {} failed", failed.join(", ")))
    }
}

/// The named twins (all when none are named) and every twin they need, in run order.
fn with_needs(args: &[String]) -> Result<Vec<&'static str>, String> {
    let mut wanted: Vec<&'static str> = Vec::new();
    let named: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    fn add(name: &str, wanted: &mut Vec<&'static str>) -> Result<(), String> {
        let twin = TWINS.iter().find(|t| t.name == name).ok_or_else(|| {
            let names: Vec<&str> = TWINS.iter().map(|t| t.name).collect();
            format!("no twin {name:?}; there are {}", names.join(", "))
        })?;
        for need in twin.needs {
            add(need, wanted)?;
        }
        if !wanted.contains(&twin.name) {
            wanted.push(twin.name);
        }
        Ok(())
    }
    if named.is_empty() {
        wanted = TWINS.iter().map(|t| t.name).collect();
    } else {
        for name in named {
            add(name, &mut wanted)?;
        }
    }
    Ok(wanted)
}

/// Where the twins work and what they run with.
struct Environment {
    root: PathBuf,
    work: PathBuf,
    /// Folders of symlinks, one PATH entry each.
    stdenv: PathBuf,
    toolchain: PathBuf,
    /// The command prefix that puts a build in a network namespace of its own.
    isolate: Vec<OsString>,
    /// crane's `$PWD/.cargo-home`: no installed commands, only the crates' cache.
    cargo_home: PathBuf,
    revision: String,
    cores: String,
    /// nix/commands.toml: the words each check runs.
    commands: Table,
}

impl Environment {
    fn prepare(root: &Path) -> Result<Self, String> {
        let work = root.join("target/twin");
        let tools = work.join("tools");
        let stdenv = link_tools(&tools.join("stdenv"), &stdenv_commands()?)?;
        let toolchain = link_tools(&tools.join("toolchain"), &toolchain_commands(root)?)?;
        let isolate = network_namespace();
        // Crates come from crane's vendored, fixed-output fetch in Nix; here from cargo's
        // cache, filled once now (with the network, from the Cargo.lock every cargo twin
        // copies) so the builds can run without it.
        crate::process::run(
            Command::new("cargo")
                .args(["fetch", "--locked", "--quiet"])
                .current_dir(root),
            "cargo fetch --locked",
        )?;
        let cargo_home = work.join("cargo-home");
        std::fs::create_dir_all(&cargo_home).map_err(|e| format!("cannot create {}: {e}", cargo_home.display()))?;
        let registry = cargo_home.join("registry");
        if !registry.exists() {
            std::os::unix::fs::symlink(user_cargo_home().join("registry"), &registry)
                .map_err(|e| format!("cannot link the crates' cache: {e}"))?;
        }
        Ok(Environment {
            cargo_home,
            root: root.to_path_buf(),
            work,
            stdenv,
            toolchain,
            isolate,
            revision: crate::git_revision::describe(root),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()).to_string(),
            commands: Table::read(root)?,
        })
    }

    /// nix/web.nix: npm packages from the lock (importNpmLock, offline), then the build.
    fn nara_web(&self) -> Result<(), String> {
        let src = self.copy("web")?;
        let tools = self.tools("nara-web")?;
        // importNpmLock fetches each package by its resolved URL and integrity ahead of
        // the build and points npm at that cache; here npm's own cache (filled by
        // `npm ci` in the checkout) stands in.
        let npm_cache = PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".npm");
        self.command(&src.join("web"), &[&tools], |c| {
            c.env("npm_config_cache", &npm_cache);
        })
        .args([
            "npm",
            "ci",
            "--offline",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .run()?;
        let out = src.join("web/dist");
        self.command(&src, &[&tools], |_| {})
            .args(["node", "web/build.mjs", "--out"])
            .arg(&out)
            .run()?;
        let bundle = self.bundle();
        let _ = std::fs::remove_dir_all(&bundle);
        std::fs::rename(&out, &bundle).map_err(|e| format!("cannot move the bundle to {}: {e}", bundle.display()))?;
        eprintln!("twin nara-web: bundle at {}", bundle.display());
        Ok(())
    }

    /// A crane check of nix/commands.toml (fmt, clippy, doc, nextest) in a copy of
    /// `set`, with the check's tools; all but fmt build the crate, which embeds the bundle.
    fn cargo_check(&self, check: &str, set: &str, with_bundle: bool) -> Result<(), String> {
        let tools = self.tools(check)?;
        for line in self.commands.lines(check, Some(CHECKS_PROFILE))? {
            self.cargo_twin(set, &[&tools], &line.argv, with_bundle, |c| {
                c.envs(&line.env);
            })?;
        }
        Ok(())
    }

    /// A check whose derivation is a script of nix/commands.toml's lines (web-unit,
    /// alert-rules, nix-lint), run through a shell in a copy of `set` with the check's tools.
    /// alejandra is xtask's own (nixpkgs' 4.0 is not on crates.io; 3.1 formats the same
    /// for everything nix-fmt allows, see nix_fmt.rs), and a tool that no registry here
    /// has is skipped, saying so.
    fn script(&self, check: &str, set: &str) -> Result<(), String> {
        let src = self.copy(set)?;
        let tools = self.tools(check)?;
        for line in self.commands.lines(check, None)? {
            let program = line.argv[0].as_str();
            if program == "alejandra" {
                let mut files = fileset::files(&self.root, set)?;
                files.retain(|f| f.ends_with(".nix"));
                crate::nix_fmt::run(&src, &files, true)?;
                eprintln!("twin {check}: {}: formatted", line.shown());
            } else if self.skipped(program) {
                eprintln!(
                    "twin {check}: {program} is on no registry this machine reaches, so it is skipped here; nix flake check runs it"
                );
            } else {
                self.command(&src, &[&tools], |_| {}).args(line.words()).run()?;
            }
        }
        Ok(())
    }

    /// crane's cargoAudit against the advisory database flake.lock pins.
    fn audit(&self) -> Result<(), String> {
        let db = std::env::var_os("ADVISORY_DB")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join("../shared/advisory-db"));
        if !db.join("crates").is_dir() {
            eprintln!(
                "twin audit: SKIPPED: no advisory database at {} (set ADVISORY_DB to a checkout of rustsec/advisory-db at the revision flake.lock pins); nix flake check runs it",
                db.display()
            );
            return Ok(());
        }
        let db = db.canonicalize().map_err(|e| format!("{}: {e}", db.display()))?;
        let tools = self.tools("audit")?;
        let src = self.copy("audit")?;
        // crane's CARGO_HOME: empty, so cargo audit has no crates.io index to read and
        // says so in a warning; it must neither fetch one nor touch HOME.
        let cargo_home = src.join(".cargo-home");
        std::fs::create_dir_all(&cargo_home).map_err(|e| format!("cannot create {}: {e}", cargo_home.display()))?;
        self.command(&src, &[&tools], |c| {
            c.env("CARGO_HOME", &cargo_home);
        })
        .args(&self.commands.audit(&db).argv)
        .run()
    }

    /// crane's buildPackage: the release build, its JSON messages into a build log as
    /// crane writes them (`>"$cargoBuildLog"`), installed as nix/nara.nix installs it.
    fn nara(&self) -> Result<(), String> {
        let installed = self.nara_bin();
        self.release_build(None, &installed)?;
        eprintln!("twin nara: installed {}", installed.display());
        Ok(())
    }

    /// checks.oracle and checks.oracle-static: `sh checks/oracle.sh` against `bin`,
    /// with the check's tools.
    fn oracle(&self, check: &str, bin: &Path, configure: impl FnOnce(&mut Command)) -> Result<(), String> {
        let dir = self.work.join(check);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        self.command(&dir, &[&self.tools(check)?], configure)
            .arg("sh")
            .arg(self.root.join("checks/oracle.sh"))
            .arg(bin)
            .run()
    }

    /// nix/nara-static.nix: the release build for the host's glibc target with
    /// +crt-static given through the target's RUSTFLAGS variable (nix/crate-args.nix),
    /// then `file` and `ldd` must both see a static binary, with no store path in it
    /// (what `allowedReferences = []` holds under Nix).
    fn nara_static(&self) -> Result<(), String> {
        let Some(target) = static_target() else {
            eprintln!("twin nara-static: SKIPPED: packages.nara-static is for Linux on x86_64 and aarch64 only");
            return Ok(());
        };
        let installed = self.nara_static_bin();
        self.release_build(Some(&target), &installed)?;
        let described = tool_output("file", &[installed.as_os_str()])?;
        if !(described.contains("static-pie linked") || described.contains("statically linked")) {
            return Err(format!("file does not see a static binary: {described}"));
        }
        // ldd exits non-zero for a binary with no loader; its words are what count.
        let loader = Command::new("ldd")
            .arg(&installed)
            .output()
            .map_err(|e| format!("cannot run ldd: {e}"))?;
        let loader = format!(
            "{}{}",
            String::from_utf8_lossy(&loader.stdout),
            String::from_utf8_lossy(&loader.stderr)
        );
        if !(loader.contains("statically linked") || loader.contains("not a dynamic executable")) {
            return Err(format!("ldd finds shared libraries: {loader}"));
        }
        // Under Nix the bundle's folder is a store path too, which nothing strips.
        let binary = std::fs::read(&installed).map_err(|e| e.to_string())?;
        let bundle = self.bundle().display().to_string();
        for needle in ["/nix/store/", bundle.as_str()] {
            if binary.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                return Err(format!(
                    "the static nara names {needle}: a store path would be left in its closure"
                ));
            }
        }
        let size = std::fs::metadata(&installed).map_err(|e| e.to_string())?.len();
        eprintln!(
            "twin nara-static: installed {} ({size} bytes): {}; ldd: {}",
            installed.display(),
            described.trim().split(": ").nth(1).unwrap_or_default(),
            loader.trim()
        );
        Ok(())
    }

    /// checks.oracle-static: the oracle against the static nara, with mosquitto on a
    /// loopback port that nara finds as `localhost`.
    fn oracle_static(&self) -> Result<(), String> {
        if static_target().is_none() {
            eprintln!("twin oracle-static: SKIPPED: there is no static nara on this platform");
            return Ok(());
        }
        self.oracle("oracle-static", &self.nara_static_bin(), |c| {
            c.env("ORACLE_MQTT_PORT", "free");
        })
    }

    /// crane's buildPackage (nix/nara.nix, nix/nara-static.nix): the release build in
    /// the `rust` set, its JSON messages into a build log as crane writes them
    /// (`>"$cargoBuildLog"`), installed at `installed`. With a `target`, the build is
    /// static: +crt-static through that target's RUSTFLAGS variable
    /// (nix/crate-args.nix).
    fn release_build(&self, target: Option<&str>, installed: &Path) -> Result<(), String> {
        let log = self.work.join(match target {
            None => "cargo-build.log",
            Some(_) => "cargo-build-static.log",
        });
        let log_file = std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut argv: Vec<String> = [
            "cargo",
            "build",
            "--release",
            "--message-format",
            "json-render-diagnostics",
            "--locked",
        ]
        .map(String::from)
        .to_vec();
        argv.extend(target.iter().flat_map(|t| ["--target".to_string(), t.to_string()]));
        self.cargo_twin("rust", &[], &argv, true, |c| {
            if let Some(target) = target {
                c.env(rustflags_variable(target), "-C target-feature=+crt-static");
            }
            c.stdout(log_file);
        })?;
        let built = self
            .work
            .join("rust/target")
            .join(target.unwrap_or_default())
            .join("release/nara");
        std::fs::create_dir_all(installed.parent().expect("bin/")).map_err(|e| e.to_string())?;
        std::fs::copy(&built, installed).map_err(|e| format!("cannot install {}: {e}", built.display()))?;
        Ok(())
    }

    /// A cargo command (`argv`, from `cargo` on) in a copy of `set`, keeping its
    /// `target/` between runs, with a last say over the command (its variables, where
    /// its output goes).
    fn cargo_twin(
        &self,
        set: &str,
        extra_tools: &[&Path],
        argv: &[String],
        with_bundle: bool,
        finish: impl FnOnce(&mut Command),
    ) -> Result<(), String> {
        let src = self.copy(set)?;
        let mut command = self.command(&src, extra_tools, |c| {
            c.env("CARGO_HOME", &self.cargo_home);
            c.env("CARGO_NET_OFFLINE", "true");
            c.env("CARGO_BUILD_INCREMENTAL", "false");
            c.env("CARGO_BUILD_JOBS", &self.cores);
            c.env("RUST_TEST_THREADS", &self.cores);
            if with_bundle {
                c.env("NARA_WEB_DIST", self.bundle());
                c.env("NARA_GIT_REVISION", &self.revision);
            }
            finish(c);
        });
        command.args(argv);
        command.run()
    }

    /// A folder of links to the commands of the tools nix/commands.toml gives `check`,
    /// for its PATH. A tool that is missing fails the twin, unless no registry here has
    /// it (see `script`).
    fn tools(&self, check: &str) -> Result<PathBuf, String> {
        let mut links = Vec::new();
        for tool in self.commands.tools_for(check) {
            for command in &tool.commands {
                match which(command) {
                    Some(path) => links.push((command.clone(), path)),
                    None if !tool.installable() => {}
                    None => return Err(format!("{command} is not installed (make bootstrap installs it)")),
                }
            }
        }
        link_tools(&self.work.join("tools").join(check), &links)
    }

    /// Whether a script's program is missing and no registry here has it.
    fn skipped(&self, program: &str) -> bool {
        which(program).is_none() && self.commands.tool_with(program).is_some_and(|t| !t.installable())
    }

    /// Materialises a file set into target/twin/<set>.
    fn copy(&self, set: &str) -> Result<PathBuf, String> {
        let dest = self.work.join(set);
        let count = fileset::materialise(&self.root, set, &dest, &["target"])?;
        eprintln!("twin: the {set} source: {count} files in {}", dest.display());
        Ok(dest)
    }

    fn bundle(&self) -> PathBuf {
        self.work.join("nara-web")
    }

    fn nara_bin(&self) -> PathBuf {
        self.work.join("nara/bin/nara")
    }

    fn nara_static_bin(&self) -> PathBuf {
        self.work.join("nara-static/bin/nara")
    }

    /// A command run through `sh` in `dir` with the environment of a Nix build: nothing
    /// inherited, PATH of the given tools, stdenv's and the toolchain's.
    fn command(&self, dir: &Path, tools: &[&Path], configure: impl FnOnce(&mut Command)) -> Isolated {
        let tmp = self.work.join("tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        let _ = std::fs::create_dir_all(&tmp);
        let mut path: Vec<PathBuf> = tools.iter().map(|t| t.to_path_buf()).collect();
        path.push(self.toolchain.clone());
        path.push(self.stdenv.clone());
        let mut command = match self.isolate.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args);
                c
            }
            None => Command::new("/usr/bin/env"),
        };
        command
            .current_dir(dir)
            .env_clear()
            .env(
                "PATH",
                std::env::join_paths(&path).expect("tool folders have plain names"),
            )
            .env("HOME", sandbox::HOMELESS)
            .env("TMPDIR", &tmp)
            .env("NIX_BUILD_CORES", &self.cores)
            .env("SOURCE_DATE_EPOCH", "315532800");
        configure(&mut command);
        Isolated::new(command)
    }
}

/// crate-args.nix's CARGO_PROFILE for the checks: the dev profile, as `make lint` builds.
const CHECKS_PROFILE: &str = "dev";

/// The glibc target the static nara is built for here, as nixpkgs names it for this
/// machine (`stdenv.hostPlatform.rust.rustcTarget`); none off Linux or another CPU.
fn static_target() -> Option<String> {
    let arch = std::env::consts::ARCH;
    (std::env::consts::OS == "linux" && matches!(arch, "x86_64" | "aarch64"))
        .then(|| format!("{arch}-unknown-linux-gnu"))
}

/// cargo's RUSTFLAGS variable for one target (`rust.cargoEnvVarTarget` in nixpkgs).
fn rustflags_variable(target: &str) -> String {
    format!("CARGO_TARGET_{}_RUSTFLAGS", target.to_uppercase().replace('-', "_"))
}

/// What a tool prints for `args`, or why it could not run.
fn tool_output(tool: &str, args: &[&std::ffi::OsStr]) -> Result<String, String> {
    crate::process::output(Command::new(tool).args(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tool given to a check that is neither a twin nor a check known to run only
    /// under Nix would be a typo that gives the real check nothing.
    #[test]
    fn the_tools_name_real_checks() {
        let table = Table::read(&crate::repo_root()).unwrap();
        let known: Vec<&str> = TWINS
            .iter()
            .map(|t| t.name)
            .chain(ONLY_UNDER_NIX.iter().map(|(c, _)| *c))
            .collect();
        for (name, tool) in &table.tools {
            for check in &tool.checks {
                assert!(
                    known.contains(&check.as_str()),
                    "[tools.{name}]: {check} is no check of {known:?}"
                );
            }
        }
        let nextest: Vec<&str> = table
            .tools_for("nextest")
            .flat_map(|t| &t.commands)
            .map(String::as_str)
            .collect();
        for command in [
            "cargo-nextest",
            "mosquitto",
            "mosquitto_passwd",
            "promtool",
            "openssl",
            "curl",
        ] {
            assert!(
                nextest.contains(&command),
                "the nextest twin lacks {command}: {nextest:?}"
            );
        }
    }

    #[test]
    fn the_static_target_s_flags_go_in_the_variable_nixpkgs_names() {
        assert_eq!(
            rustflags_variable("x86_64-unknown-linux-gnu"),
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS"
        );
        assert_eq!(
            rustflags_variable("aarch64-unknown-linux-gnu"),
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS"
        );
    }
}
