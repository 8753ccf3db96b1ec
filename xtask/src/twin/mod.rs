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

use crate::commands::{CommandLine, Table};
use crate::fileset;
use sandbox::{
    Isolated, link_tools, named_commands, network_namespace, stdenv_commands, toolchain_commands, user_cargo_home,
    which,
};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Twin {
    name: &'static str,
    /// The flake output it stands for.
    check: &'static str,
    /// Twins whose results it uses.
    needs: &'static [&'static str],
}

const TWINS: &[Twin] = &[
    Twin {
        name: "nara-web",
        check: "packages.nara-web (nix/web.nix)",
        needs: &[],
    },
    Twin {
        name: "fmt",
        check: "checks.fmt (craneLib.cargoFmt)",
        needs: &[],
    },
    Twin {
        name: "web-unit",
        check: "checks.web-unit (node --test on the web-unit file set, nodejs)",
        needs: &[],
    },
    Twin {
        name: "clippy",
        check: "checks.clippy (craneLib.cargoClippy, dev profile)",
        needs: &["nara-web"],
    },
    Twin {
        name: "doc",
        check: "checks.doc (craneLib.cargoDoc, dev profile, RUSTDOCFLAGS=--deny warnings)",
        needs: &["nara-web"],
    },
    Twin {
        name: "audit",
        check: "checks.audit (craneLib.cargoAudit)",
        needs: &[],
    },
    Twin {
        name: "nix-lint",
        check: "checks.nix-lint (alejandra, statix, deadnix)",
        needs: &[],
    },
    Twin {
        name: "nara",
        check: "packages.nara (craneLib.buildPackage, release profile)",
        needs: &["nara-web"],
    },
    Twin {
        name: "oracle",
        check: "checks.oracle (checks/oracle.sh against packages.nara)",
        needs: &["nara"],
    },
    Twin {
        name: "nara-static",
        check: "packages.nara-static (nix/nara-static.nix: glibc static-pie, +crt-static)",
        needs: &["nara-web"],
    },
    Twin {
        name: "oracle-static",
        check: "checks.oracle-static (checks/oracle.sh against packages.nara-static, broker at localhost)",
        needs: &["nara-static"],
    },
    Twin {
        name: "nextest",
        check: "checks.nextest (craneLib.cargoNextest, dev profile)",
        needs: &["nara-web"],
    },
];

/// Checks of the flake that have no twin here, and why.
const ONLY_UNDER_NIX: &[&str] = &[
    "checks.module-eval: services.nara in a real NixOS system (`cargo xtask nix-eval` evaluates the module with nixpkgs' lib when NIXPKGS_LIB is set)",
    "checks.vm-test: NixOS VMs need Nix and KVM",
    "checks.oci-config and packages.oci: dockerTools builds the image (tests/repo/oci_config.rs checks checks/oci-config.sh on a hand-made image)",
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
        match env.run(twin.name) {
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
    for line in ONLY_UNDER_NIX {
        eprintln!("twin: not here, only under nix flake check: {line}");
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
        let fetched = Command::new("cargo")
            .args(["fetch", "--locked", "--quiet"])
            .current_dir(root)
            .status()
            .map_err(|e| format!("cannot run cargo fetch: {e}"))?;
        if !fetched.success() {
            return Err("cargo fetch --locked failed".into());
        }
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

    fn run(&self, name: &str) -> Result<(), String> {
        match name {
            "nara-web" => self.nara_web(),
            "fmt" => self.cargo_twin("rust", &[], &self.commands.fmt()?, false),
            "web-unit" => self.web_unit(),
            "clippy" => self.cargo_twin("rust", &[], &self.commands.clippy(Some(CHECKS_PROFILE))?, true),
            "doc" => self.cargo_twin("rust", &[], &self.commands.doc(Some(CHECKS_PROFILE))?, true),
            "nextest" => self.nextest(),
            "audit" => self.audit(),
            "nix-lint" => self.nix_lint(),
            "nara" => self.nara(),
            "oracle" => self.oracle(),
            "nara-static" => self.nara_static(),
            "oracle-static" => self.oracle_static(),
            other => Err(format!("no twin {other}")),
        }
    }

    /// nix/web.nix: npm packages from the lock (importNpmLock, offline), then the build.
    fn nara_web(&self) -> Result<(), String> {
        let src = self.copy("web")?;
        let tools = link_tools(
            &self.work.join("tools/web"),
            &named_commands(&["node", "npm", "mdbook"])?,
        )?;
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

    /// crane's cargoNextest with the tools nix/checks.nix lists for it.
    fn nextest(&self) -> Result<(), String> {
        let tools = link_tools(
            &self.work.join("tools/nextest"),
            &named_commands(&[
                "cargo-nextest",
                "curl",
                "jq",
                "tar",
                "mosquitto",
                "mosquitto_passwd",
                "promtool",
                "openssl",
                "systemd-socket-activate",
                "unshare",
                "mount",
            ])?,
        )?;
        self.cargo_twin("tests", &[&tools], &self.commands.nextest(Some(CHECKS_PROFILE))?, true)
    }

    /// checks.web-unit: node's test runner in a copy of the web-unit set, through a
    /// shell as the derivation's script runs it, with node on PATH (nixpkgs' nodejs
    /// under Nix).
    fn web_unit(&self) -> Result<(), String> {
        let src = self.copy("web-unit")?;
        let tools = link_tools(&self.work.join("tools/web-unit"), &named_commands(&["node"])?)?;
        let line = self.commands.web_unit()?;
        self.command(&src, &[&tools], |_| {})
            .args(["sh", "-c", &line.argv.join(" ")])
            .run()
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
        let tools = link_tools(&self.work.join("tools/audit"), &named_commands(&["cargo-audit"])?)?;
        let src = self.copy("audit")?;
        // crane's CARGO_HOME: empty, so cargo audit has no crates.io index to read and
        // says so in a warning; it must neither fetch one nor touch HOME.
        let cargo_home = src.join(".cargo-home");
        std::fs::create_dir_all(&cargo_home).map_err(|e| format!("cannot create {}: {e}", cargo_home.display()))?;
        self.command(&src, &[&tools], |c| {
            c.env("CARGO_HOME", &cargo_home);
        })
        .args(&self.commands.audit(&db)?.argv)
        .run()
    }

    /// nix/checks.nix's nix-lint, in the `nix` file set.
    fn nix_lint(&self) -> Result<(), String> {
        let src = self.copy("nix")?;
        // nixpkgs' alejandra 4.0 is not on crates.io; xtask's alejandra 3.1 formats the
        // same for everything nix-fmt allows (see nix_fmt.rs).
        crate::nix_fmt::run(&src, true)?;
        eprintln!("twin nix-lint: alejandra --check: formatted");
        match which("statix") {
            Some(_) => {
                let tools = link_tools(&self.work.join("tools/statix"), &named_commands(&["statix"])?)?;
                self.command(&src, &[&tools], |_| {})
                    .args(self.commands.nix_lint("statix")?)
                    .run()?;
                eprintln!("twin nix-lint: statix check: clean");
            }
            None => eprintln!(
                "twin nix-lint: statix is on no registry this machine reaches, so it is skipped here; nix flake check runs it"
            ),
        }
        let tools = link_tools(&self.work.join("tools/deadnix"), &named_commands(&["deadnix"])?)?;
        self.command(&src, &[&tools], |_| {})
            .args(self.commands.nix_lint("deadnix")?)
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

    /// checks.oracle: `sh checks/oracle.sh` against the package, with curl.
    fn oracle(&self) -> Result<(), String> {
        let tools = link_tools(&self.work.join("tools/oracle"), &named_commands(&["curl"])?)?;
        let dir = self.work.join("oracle");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        self.command(&dir, &[&tools], |_| {})
            .arg("sh")
            .arg(self.root.join("checks/oracle.sh"))
            .arg(self.nara_bin())
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
        let tools = link_tools(
            &self.work.join("tools/oracle-static"),
            &named_commands(&["curl", "mosquitto"])?,
        )?;
        let dir = self.work.join("oracle-static");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // As the check: the oracle picks a free port (the namespace may be the machine's).
        self.command(&dir, &[&tools], |c| {
            c.env("ORACLE_MQTT_PORT", "free");
        })
        .arg("sh")
        .arg(self.root.join("checks/oracle.sh"))
        .arg(self.nara_static_bin())
        .run()
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
        self.cargo_twin_with("rust", &[], &argv, true, |c| {
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

    /// A command of nix/commands.toml in a copy of `set`, keeping its `target/` between
    /// runs.
    fn cargo_twin(
        &self,
        set: &str,
        extra_tools: &[&Path],
        line: &CommandLine,
        with_bundle: bool,
    ) -> Result<(), String> {
        self.cargo_twin_with(set, extra_tools, &line.argv, with_bundle, |c| {
            c.envs(line.env.iter().map(|(k, v)| (k, v)));
        })
    }

    /// A cargo command (`argv`, from `cargo` on) in a copy of `set`, with a last say
    /// over the command (its variables, where its output goes).
    fn cargo_twin_with(
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
    let out = Command::new(tool)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{tool} failed: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
