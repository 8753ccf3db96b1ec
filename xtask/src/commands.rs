//! nix/commands.toml, the command lines of the flake's checks and the tools they call,
//! read without Nix: each check's words put together as crane puts them (lib/cargo*.nix
//! at the revision flake.lock pins), for the twins and for `cargo xtask local`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The table, relative to the repository root.
const TABLE: &str = "nix/commands.toml";

/// The checks whose commands also run in the checkout (`cargo xtask local`).
pub const LOCAL: &[&str] = &["fmt", "clippy", "doc", "nextest", "web-unit", "alert-rules"];

/// One command of the table, ready to run.
#[derive(Debug, PartialEq)]
pub struct CommandLine {
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// Variables the check sets beside the command (the doc check's RUSTDOCFLAGS).
    pub env: BTreeMap<String, String>,
    /// Whether the words form a shell line (a derivation's script), so globs expand.
    pub shell: bool,
    /// Where `--manifest-path` may go: right after cargo's subcommand.
    after_subcommand: usize,
}

impl CommandLine {
    /// The same command for another crate of the repository (xtask, fuzz).
    pub fn for_manifest(mut self, manifest: &str) -> Self {
        let at = self.after_subcommand;
        self.argv
            .splice(at..at, ["--manifest-path".to_string(), manifest.to_string()]);
        self
    }

    /// The program and arguments to run: a script's line goes through `sh -c`.
    pub fn words(&self) -> Vec<String> {
        match self.shell {
            true => vec!["sh".into(), "-c".into(), self.argv.join(" ")],
            false => self.argv.clone(),
        }
    }

    /// The command as a shell would show it, variables first.
    pub fn shown(&self) -> String {
        let env = self.env.iter().map(|(k, v)| format!("{k}={v:?} "));
        env.chain([self.argv.join(" ")]).collect()
    }
}

/// The table as the flake reads it: each list spelled out, even where crane has a
/// default, and no key that no reader knows.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    fmt: Fmt,
    clippy: Clippy,
    doc: Doc,
    nextest: Nextest,
    audit: Audit,
    #[serde(rename = "nix-lint")]
    nix_lint: Script,
    #[serde(rename = "web-unit")]
    web_unit: Script,
    #[serde(rename = "alert-rules")]
    alert_rules: Script,
    /// The tools, by name.
    pub tools: BTreeMap<String, Tool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Fmt {
    cargo_extra_args: Vec<String>,
    rust_fmt_extra_args: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Clippy {
    cargo_extra_args: Vec<String>,
    cargo_clippy_extra_args: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Doc {
    cargo_extra_args: Vec<String>,
    cargo_doc_extra_args: Vec<String>,
    env: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Nextest {
    cargo_extra_args: Vec<String>,
    cargo_nextest_extra_args: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Audit {
    cargo_audit_extra_args: Vec<String>,
}

/// A check that is a derivation's script: its command lines, in order.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Script {
    commands: Vec<Vec<String>>,
}

/// A tool the checks and make targets call (the table's header says what each field
/// means); scripts/bootstrap.sh and nix/tools.nix read the fields this reader only
/// checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Tool {
    nixpkgs: Option<String>,
    debian: Option<String>,
    #[serde(rename = "crate")]
    krate: Option<String>,
    pypi: Option<String>,
    version: Option<String>,
    #[serde(default)]
    cargo_args: Vec<String>,
    /// The commands it gives; the first proves it is installed.
    pub commands: Vec<String>,
    /// The flake outputs whose derivations call it.
    #[serde(default)]
    pub checks: Vec<String>,
    #[serde(default)]
    crane: bool,
    /// The make targets that call it outside the checks.
    #[serde(default)]
    pub make: Vec<String>,
    #[serde(default)]
    linux: bool,
    #[serde(default)]
    nightly: bool,
}

impl Tool {
    /// Whether scripts/bootstrap.sh can install it here (from Debian, crates.io or
    /// PyPI); the twins skip a missing tool only when it cannot.
    pub fn installable(&self) -> bool {
        self.debian.is_some() || self.krate.is_some() || self.pypi.is_some()
    }

    /// Whether this machine's platform has it.
    pub fn here(&self) -> bool {
        !self.linux || cfg!(target_os = "linux")
    }

    /// What no reader could make sense of, one line each; `makefile` is the Makefile's
    /// text, whose targets `make` names.
    fn problems(&self, name: &str, makefile: &str) -> Vec<String> {
        let sources = [&self.debian, &self.krate, &self.pypi]
            .iter()
            .filter(|s| s.is_some())
            .count();
        let versioned = self.krate.is_some() || self.pypi.is_some();
        [
            (self.commands.is_empty(), "names no command"),
            (sources > 1, "has more than one of debian, crate and pypi"),
            (
                self.version.is_some() && !versioned,
                "pins a version but no crate or pypi package",
            ),
            (
                (!self.cargo_args.is_empty() || self.nightly) && self.krate.is_none(),
                "has cargo-args or nightly but no crate",
            ),
            (
                self.crane && (self.checks.is_empty() || self.nixpkgs.is_none()),
                "is crane's but has no nixpkgs or checks",
            ),
            (
                self.nixpkgs.as_ref().is_some_and(|a| a.split('.').any(str::is_empty)),
                "has an empty nixpkgs attribute name",
            ),
        ]
        .into_iter()
        .filter(|(bad, _)| *bad)
        .map(|(_, what)| what.to_string())
        .chain(
            (self.make.iter())
                .filter(|target| !makefile.contains(&format!("\n{target}:")))
                .map(|target| format!("names {target}, which is no target of the Makefile")),
        )
        .map(|what| format!("{TABLE}: [tools.{name}] {what}"))
        .collect()
    }
}

impl Table {
    pub fn read(root: &Path) -> Result<Self, String> {
        let read =
            |file: &str| std::fs::read_to_string(root.join(file)).map_err(|e| format!("cannot read {file}: {e}"));
        Self::parse(&read(TABLE)?, &read("Makefile")?)
    }

    fn parse(text: &str, makefile: &str) -> Result<Self, String> {
        let table: Table = toml::from_str(text).map_err(|e| format!("{TABLE}: {e}"))?;
        let problems: Vec<String> = (table.tools.iter())
            .flat_map(|(name, t)| t.problems(name, makefile))
            .collect();
        if problems.is_empty() {
            Ok(table)
        } else {
            Err(problems.join("\n"))
        }
    }

    /// A check's commands: crane's one cargo line (`profile` is crate-args.nix's
    /// CARGO_PROFILE, none in the checkout), or a derivation's script lines.
    pub fn lines(&self, check: &str, profile: Option<&str>) -> Result<Vec<CommandLine>, String> {
        let line = match check {
            // cargoFmt: `cargo fmt <cargoExtraArgs> -- --check <rustFmtExtraArgs>`.
            "fmt" => cargo(
                &["fmt"],
                None,
                [
                    &self.fmt.cargo_extra_args,
                    &words(&["--", "--check"]),
                    &self.fmt.rust_fmt_extra_args,
                ],
            ),
            "clippy" => cargo(
                &["clippy"],
                with_profile("--profile", profile),
                [&self.clippy.cargo_extra_args, &self.clippy.cargo_clippy_extra_args],
            ),
            "doc" => CommandLine {
                env: self.doc.env.clone(),
                ..cargo(
                    &["doc"],
                    with_profile("--profile", profile),
                    [&self.doc.cargo_extra_args, &self.doc.cargo_doc_extra_args],
                )
            },
            // nextest takes the profile's name under its own flag.
            "nextest" => cargo(
                &["nextest", "run"],
                profile.map(|p| words(&["--cargo-profile", p])),
                [&self.nextest.cargo_extra_args, &self.nextest.cargo_nextest_extra_args],
            ),
            "web-unit" => return Ok(script(&self.web_unit)),
            "alert-rules" => return Ok(script(&self.alert_rules)),
            "nix-lint" => return Ok(script(&self.nix_lint)),
            other => return Err(format!("{TABLE} has no command line for {other:?}")),
        };
        Ok(vec![line])
    }

    /// `cargo audit -n -d <advisory-db> <cargoAuditExtraArgs>`, as crane's cargoAudit.
    pub fn audit(&self, advisory_db: &Path) -> CommandLine {
        let db = words(&["-n", "-d", &advisory_db.display().to_string()]);
        cargo(&["audit"], None, [&db, &self.audit.cargo_audit_extra_args])
    }

    /// The tools a check's derivation has (crane's builder's own too), on this platform.
    pub fn tools_for<'a>(&'a self, check: &'a str) -> impl Iterator<Item = &'a Tool> {
        self.tools
            .values()
            .filter(move |t| t.here() && t.checks.iter().any(|c| c == check))
    }

    /// The tool that gives `command`.
    pub fn tool_with(&self, command: &str) -> Option<&Tool> {
        self.tools.values().find(|t| t.commands.iter().any(|c| c == command))
    }
}

/// crane's `cargoWithProfile`: `--release` for the release profile, else the flag and
/// the profile's name.
fn with_profile(flag: &str, profile: Option<&str>) -> Option<Vec<String>> {
    profile.map(|p| match p {
        "release" => words(&["--release"]),
        p => words(&[flag, p]),
    })
}

/// `cargo SUBCOMMAND [PROFILE] LISTS...`.
fn cargo<'a>(
    subcommand: &[&str],
    profile: Option<Vec<String>>,
    lists: impl IntoIterator<Item = &'a Vec<String>>,
) -> CommandLine {
    let mut argv = words(&["cargo"]);
    argv.extend(words(subcommand));
    let after_subcommand = argv.len();
    argv.extend(profile.into_iter().flatten());
    argv.extend(lists.into_iter().flatten().cloned());
    CommandLine {
        argv,
        env: BTreeMap::new(),
        shell: false,
        after_subcommand,
    }
}

/// A derivation's script: each line for a shell, so globs expand.
fn script(script: &Script) -> Vec<CommandLine> {
    let line = |argv: &Vec<String>| CommandLine {
        after_subcommand: argv.len(),
        argv: argv.clone(),
        env: BTreeMap::new(),
        shell: true,
    };
    script.commands.iter().map(line).collect()
}

fn words(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table::read(&crate::repo_root()).expect("nix/commands.toml reads")
    }

    const CHECKS: &str = r#"
        fmt = { cargoExtraArgs = [], rustFmtExtraArgs = ["--x"] }
        clippy = { cargoExtraArgs = ["--locked"], cargoClippyExtraArgs = ["--all-targets", "--", "-D", "w"] }
        doc = { cargoExtraArgs = ["--locked"], cargoDocExtraArgs = ["--no-deps"], env = { RUSTDOCFLAGS = "-D w" } }
        nextest = { cargoExtraArgs = ["--locked"], cargoNextestExtraArgs = [] }
        audit = { cargoAuditExtraArgs = ["--ignore", "yanked"] }
        web-unit = { commands = [["node", "--test", "t/*.mjs"]] }
        alert-rules = { commands = [["promtool", "check", "rules", "r.yml"], ["promtool", "test", "rules", "t.yml"]] }
        nix-lint = { commands = [["alejandra", "--check", "."], ["deadnix", "."]] }
    "#;

    fn line(t: &Table, check: &str, profile: Option<&str>) -> String {
        let lines = t.lines(check, profile).expect("the table holds the check");
        lines.iter().map(CommandLine::shown).collect::<Vec<_>>().join("; ")
    }

    /// The words crane would run for this table, spelled out once as a reader checks
    /// them against crane's lib/cargo*.nix.
    #[test]
    fn each_check_runs_the_words_crane_builds_from_the_table() {
        let t = Table::parse(&format!("{CHECKS}\n[tools]"), "").unwrap();
        assert_eq!(line(&t, "fmt", Some("dev")), "cargo fmt -- --check --x");
        assert_eq!(
            line(&t, "clippy", Some("dev")),
            "cargo clippy --profile dev --locked --all-targets -- -D w"
        );
        assert_eq!(
            line(&t, "clippy", Some("release")),
            "cargo clippy --release --locked --all-targets -- -D w"
        );
        assert_eq!(line(&t, "clippy", None), "cargo clippy --locked --all-targets -- -D w");
        assert_eq!(
            line(&t, "doc", Some("dev")),
            "RUSTDOCFLAGS=\"-D w\" cargo doc --profile dev --locked --no-deps"
        );
        assert_eq!(
            line(&t, "nextest", Some("dev")),
            "cargo nextest run --cargo-profile dev --locked"
        );
        assert_eq!(
            t.audit(Path::new("/db")).shown(),
            "cargo audit -n -d /db --ignore yanked"
        );
        let web = t.lines("web-unit", None).unwrap();
        assert!(web[0].shell);
        assert_eq!(line(&t, "web-unit", None), "node --test t/*.mjs");
        assert_eq!(line(&t, "nix-lint", None), "alejandra --check .; deadnix .");
        assert_eq!(
            line(&t, "alert-rules", None),
            "promtool check rules r.yml; promtool test rules t.yml"
        );
    }

    #[test]
    fn another_crate_is_named_right_after_the_subcommand() {
        let t = table();
        let [clippy] = t.lines("clippy", None).unwrap().try_into().unwrap();
        let clippy = clippy.for_manifest("xtask/Cargo.toml").shown();
        assert!(
            clippy.starts_with("cargo clippy --manifest-path xtask/Cargo.toml "),
            "{clippy}"
        );
        let [fmt] = t.lines("fmt", None).unwrap().try_into().unwrap();
        let fmt = fmt.for_manifest("fuzz/Cargo.toml").shown();
        assert!(fmt.starts_with("cargo fmt --manifest-path fuzz/Cargo.toml "), "{fmt}");
    }

    #[test]
    fn a_missing_argument_names_the_check_and_the_list() {
        let without = CHECKS.replace(
            ", cargoClippyExtraArgs = [\"--all-targets\", \"--\", \"-D\", \"w\"]",
            "",
        );
        let err = Table::parse(&format!("{without}\n[tools]"), "").err().unwrap();
        assert!(err.contains("clippy") && err.contains("cargoClippyExtraArgs"), "{err}");
    }

    #[test]
    fn a_tool_no_reader_could_use_is_refused() {
        for (tool, problem) in [
            ("commands = []", "names no command"),
            ("commands = [\"x\"]\ndebian = \"x\"\ncrate = \"x\"", "more than one"),
            ("commands = [\"x\"]\ndebian = \"x\"\nversion = \"1\"", "pins a version"),
            ("commands = [\"x\"]\nnightly = true", "no crate"),
            ("commands = [\"x\"]\ncrane = true", "is crane's"),
            ("commands = [\"x\"]\nnixpkgs = \"prometheus.\"", "empty nixpkgs"),
            (
                "commands = [\"x\"]\nmake = [\"lint\", \"tset\"]",
                "tset, which is no target",
            ),
        ] {
            let err = Table::parse(&format!("{CHECKS}\n[tools.x]\n{tool}"), "\nlint: web\n")
                .err()
                .unwrap();
            assert!(err.contains("[tools.x]") && err.contains(problem), "{tool}: {err}");
        }
        let err = Table::parse(&format!("{CHECKS}\n[tools.x]\ncommands = [\"x\"]\ndebain = \"x\""), "")
            .err()
            .unwrap();
        assert!(err.contains("debain"), "a misspelt key is refused: {err}");
    }

    /// `scripts/bootstrap.sh build` installs what `make build` needs before anything
    /// else: Node.js and mdBook for the web bundle.
    #[test]
    fn the_build_needs_node_and_mdbook() {
        let t = table();
        let build: Vec<&str> = (t.tools.iter())
            .filter(|(_, t)| t.make.iter().any(|m| m == "build"))
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(build, ["mdbook", "nodejs"]);
    }
}
