//! The sandbox a twin runs in, built from what this machine has: a network namespace
//! with only loopback (Nix's sandbox has no network), folders of symlinks that make
//! PATH hold only a derivation's tools, stdenv's commands and the pinned toolchain, and
//! a command that fails if it wrote to HOME.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What Nix gives every build as HOME; it does not exist, and nothing may create it.
pub const HOMELESS: &str = "/homeless-shelter";

/// Debian packages whose commands stand in for stdenv's: every derivation has these.
const STDENV_PACKAGES: &[&str] = &[
    "coreutils",
    "findutils",
    "diffutils",
    "sed",
    "grep",
    "gawk",
    "mawk",
    "gzip",
    "bzip2",
    "xz-utils",
    "make",
    "patch",
    "tar",
    "bash",
    "dash",
];

/// stdenv's C compiler and binutils, which rustc links with.
const STDENV_COMMANDS: &[&str] = &["sh", "awk", "cc", "gcc", "ld", "as", "ar", "ranlib", "nm", "strip"];

/// The toolchain commands rust-overlay's toolchain puts on PATH.
const TOOLCHAIN: &[&str] = &[
    "cargo",
    "rustc",
    "rustdoc",
    "rustfmt",
    "cargo-fmt",
    "cargo-clippy",
    "clippy-driver",
];

/// A command under construction and its run, which checks what Nix would forbid.
pub struct Isolated {
    command: Command,
    /// The command as the derivation runs it, without the isolation around it.
    shown: Vec<String>,
}

impl Isolated {
    /// `command`, whose arguments the caller adds next.
    pub fn new(command: Command) -> Self {
        Isolated {
            command,
            shown: Vec::new(),
        }
    }

    pub fn arg(&mut self, arg: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.shown.push(arg.as_ref().to_string_lossy().into_owned());
        self.command.arg(arg);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(&mut self, args: I) -> &mut Self {
        for arg in args {
            self.arg(arg);
        }
        self
    }

    pub fn run(&mut self) -> Result<(), String> {
        let shown = self.shown.join(" ");
        eprintln!(
            "twin: + {shown}  (in {})",
            self.command
                .get_current_dir()
                .map_or(String::new(), |d| d.display().to_string())
        );
        let ran = crate::process::run(&mut self.command, &shown);
        if Path::new(HOMELESS).exists() {
            let _ = std::fs::remove_dir_all(HOMELESS);
            return Err(format!(
                "{shown} wrote to HOME ({HOMELESS}), which a Nix build cannot create"
            ));
        }
        ran
    }
}

/// How to put a build in a network namespace with only loopback, as Nix's sandbox
/// does: as root directly, otherwise through a user namespace; where neither works,
/// builds run with the network and this says so.
pub fn network_namespace() -> Vec<OsString> {
    let (Some(unshare), Some(ip)) = (which("unshare"), which("ip")) else {
        eprintln!("twin: unshare or ip is missing (util-linux, iproute2): builds run with the network");
        return Vec::new();
    };
    let script = format!("{} link set lo up && exec \"$@\"", ip.display());
    for flags in [&["--net"][..], &["--user", "--map-root-user", "--net"][..]] {
        let mut prefix: Vec<OsString> = vec![unshare.clone().into()];
        prefix.extend(flags.iter().map(OsString::from));
        prefix.extend([
            "--".into(),
            "/bin/sh".into(),
            "-c".into(),
            script.clone().into(),
            "sh".into(),
        ]);
        let works = Command::new(&prefix[0])
            .args(&prefix[1..])
            .arg("/bin/true")
            .output()
            .is_ok_and(|o| o.status.success());
        if works {
            return prefix;
        }
    }
    eprintln!("twin: cannot make a network namespace here (unshare refused): builds run with the network");
    Vec::new()
}

/// The developer's CARGO_HOME, whose crates' cache the twins share.
pub fn user_cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"))
}

/// Every command of the Debian packages that stand in for stdenv, and its compiler.
pub fn stdenv_commands() -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    let listed = Command::new("dpkg").arg("-L").args(STDENV_PACKAGES).output();
    let Ok(listed) = listed else {
        return Err("dpkg is missing: the twins pick stdenv's commands from Debian's packages".into());
    };
    for line in String::from_utf8_lossy(&listed.stdout).lines() {
        let path = Path::new(line);
        let in_bin = path.parent().is_some_and(|p| p.ends_with("bin") || p.ends_with("sbin"));
        if in_bin && path.is_file() {
            let name = path.file_name().expect("a file").to_string_lossy().into_owned();
            out.push((name, path.to_path_buf()));
        }
    }
    out.extend(named_commands(STDENV_COMMANDS)?);
    Ok(out)
}

/// The pinned toolchain's own binaries (not rustup's proxies, which read HOME).
pub fn toolchain_commands(root: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let sysroot = crate::process::output(Command::new("rustc").args(["--print", "sysroot"]).current_dir(root))?;
    let bin = PathBuf::from(sysroot.trim()).join("bin");
    TOOLCHAIN
        .iter()
        .map(|name| {
            let path = bin.join(name);
            if path.is_file() {
                Ok((name.to_string(), path))
            } else {
                Err(format!("the toolchain lacks {name} ({})", bin.display()))
            }
        })
        .collect()
}

pub fn named_commands(names: &[&str]) -> Result<Vec<(String, PathBuf)>, String> {
    names
        .iter()
        .map(|name| {
            which(name)
                .map(|path| (name.to_string(), path))
                .ok_or_else(|| format!("{name} is not installed (make bootstrap installs it)"))
        })
        .collect()
}

/// A folder of symlinks, one per command.
pub fn link_tools(dir: &Path, commands: &[(String, PathBuf)]) -> Result<PathBuf, String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, target) in commands {
        let link = dir.join(name);
        if !link.exists() {
            std::os::unix::fs::symlink(target, &link).map_err(|e| format!("cannot link {name}: {e}"))?;
        }
    }
    Ok(dir.to_path_buf())
}

/// A command on PATH, or in the sbin folders that not every PATH holds.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
