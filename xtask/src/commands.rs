//! nix/commands.toml, the command lines of the flake's checks, read without Nix: each
//! check's words put together as crane puts them (lib/cargo*.nix at the revision
//! flake.lock pins), for the twins and for `cargo xtask local`.

use std::path::Path;

/// The table, relative to the repository root.
const TABLE: &str = "nix/commands.toml";

/// The checks whose commands also run in the checkout (`cargo xtask local`).
pub const LOCAL: &[&str] = &["fmt", "clippy", "doc", "nextest", "web-unit"];

/// One command of the table, ready to run.
#[derive(Debug, PartialEq)]
pub struct CommandLine {
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// Variables the check sets beside the command (the doc check's RUSTDOCFLAGS).
    pub env: Vec<(String, String)>,
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

    /// The command as a shell would show it, variables first.
    pub fn shown(&self) -> String {
        let env = self.env.iter().map(|(k, v)| format!("{k}={v:?} "));
        env.chain([self.argv.join(" ")]).collect()
    }
}

pub struct Table(toml::Table);

impl Table {
    pub fn read(root: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(root.join(TABLE)).map_err(|e| format!("cannot read {TABLE}: {e}"))?;
        Self::parse(&text)
    }

    fn parse(text: &str) -> Result<Self, String> {
        text.parse::<toml::Table>()
            .map(Table)
            .map_err(|e| format!("{TABLE}: {e}"))
    }

    /// `cargo fmt <cargoExtraArgs> -- --check <rustFmtExtraArgs>`, as crane's cargoFmt.
    pub fn fmt(&self) -> Result<CommandLine, String> {
        let mut words = vec!["cargo", "fmt"].into_iter().map(String::from).collect::<Vec<_>>();
        words.extend(self.words("fmt", "cargoExtraArgs")?);
        words.extend(["--".into(), "--check".into()]);
        words.extend(self.words("fmt", "rustFmtExtraArgs")?);
        Ok(cargo(words, 2, Vec::new()))
    }

    /// `cargo clippy <profile> <cargoExtraArgs> <cargoClippyExtraArgs>`, as crane's
    /// cargoClippy; `profile` is crate-args.nix's CARGO_PROFILE, none in the checkout.
    pub fn clippy(&self, profile: Option<&str>) -> Result<CommandLine, String> {
        self.with_profile("clippy", &["clippy"], "--profile", profile, "cargoClippyExtraArgs")
    }

    /// `cargo doc <profile> <cargoExtraArgs> <cargoDocExtraArgs>` with the table's
    /// variables, as crane's cargoDoc.
    pub fn doc(&self, profile: Option<&str>) -> Result<CommandLine, String> {
        let mut line = self.with_profile("doc", &["doc"], "--profile", profile, "cargoDocExtraArgs")?;
        line.env = self.env("doc")?;
        Ok(line)
    }

    /// `cargo nextest run <--cargo-profile> <cargoExtraArgs> <cargoNextestExtraArgs>`,
    /// as crane's cargoNextest.
    pub fn nextest(&self, profile: Option<&str>) -> Result<CommandLine, String> {
        self.with_profile(
            "nextest",
            &["nextest", "run"],
            "--cargo-profile",
            profile,
            "cargoNextestExtraArgs",
        )
    }

    /// `cargo audit -n -d <advisory-db> <cargoAuditExtraArgs>`, as crane's cargoAudit.
    pub fn audit(&self, advisory_db: &Path) -> Result<CommandLine, String> {
        let mut words: Vec<String> = ["cargo", "audit", "-n", "-d"].map(String::from).to_vec();
        words.push(advisory_db.display().to_string());
        words.extend(self.words("audit", "cargoAuditExtraArgs")?);
        Ok(cargo(words, 2, Vec::new()))
    }

    /// The page's unit tests: the words of a derivation's script, for a shell.
    pub fn web_unit(&self) -> Result<CommandLine, String> {
        let argv = self.words("web-unit", "command")?;
        Ok(CommandLine {
            after_subcommand: argv.len(),
            argv,
            env: Vec::new(),
            shell: true,
        })
    }

    /// One of checks.nix-lint's commands (alejandra, statix, deadnix).
    pub fn nix_lint(&self, tool: &str) -> Result<Vec<String>, String> {
        self.words("nix-lint", tool)
    }

    /// A check's command as it runs in the checkout: cargo's default profile.
    pub fn local(&self, check: &str) -> Result<CommandLine, String> {
        match check {
            "fmt" => self.fmt(),
            "clippy" => self.clippy(None),
            "doc" => self.doc(None),
            "nextest" => self.nextest(None),
            "web-unit" => self.web_unit(),
            other => Err(format!(
                "no check {other:?} runs in the checkout; there are {}",
                LOCAL.join(", ")
            )),
        }
    }

    /// crane's `cargoWithProfile SUBCOMMAND` (nextest: its own `--cargo-profile`), then
    /// `cargoExtraArgs` and the check's own arguments.
    fn with_profile(
        &self,
        check: &str,
        subcommand: &[&str],
        profile_flag: &str,
        profile: Option<&str>,
        own: &str,
    ) -> Result<CommandLine, String> {
        let mut words: Vec<String> = std::iter::once("cargo")
            .chain(subcommand.iter().copied())
            .map(String::from)
            .collect();
        let after_subcommand = words.len();
        match profile {
            // cargoWithProfile says `--release` for the release profile; nextest's
            // `--cargo-profile` takes the name either way.
            Some("release") if profile_flag == "--profile" => words.push("--release".into()),
            Some(profile) => words.extend([profile_flag.to_string(), profile.to_string()]),
            None => {}
        }
        words.extend(self.words(check, "cargoExtraArgs")?);
        words.extend(self.words(check, own)?);
        Ok(cargo(words, after_subcommand, Vec::new()))
    }

    fn entry(&self, check: &str) -> Result<&toml::Table, String> {
        self.0
            .get(check)
            .and_then(toml::Value::as_table)
            .ok_or_else(|| format!("{TABLE} has no [{check}]"))
    }

    /// A list of words; the table must spell each out, even where crane has a default.
    fn words(&self, check: &str, argument: &str) -> Result<Vec<String>, String> {
        let list = self
            .entry(check)?
            .get(argument)
            .and_then(toml::Value::as_array)
            .ok_or_else(|| format!("{TABLE}: [{check}] lacks the list {argument}"))?;
        list.iter()
            .map(|word| {
                word.as_str()
                    .map(String::from)
                    .ok_or_else(|| format!("{TABLE}: [{check}] {argument} holds a word that is not a string"))
            })
            .collect()
    }

    fn env(&self, check: &str) -> Result<Vec<(String, String)>, String> {
        let Some(env) = self.entry(check)?.get("env") else {
            return Ok(Vec::new());
        };
        let env = env
            .as_table()
            .ok_or_else(|| format!("{TABLE}: [{check}] env is not a table"))?;
        env.iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|v| (k.clone(), v.to_string()))
                    .ok_or_else(|| format!("{TABLE}: [{check}] env.{k} is not a string"))
            })
            .collect()
    }
}

fn cargo(argv: Vec<String>, after_subcommand: usize, env: Vec<(String, String)>) -> CommandLine {
    CommandLine {
        argv,
        env,
        shell: false,
        after_subcommand,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table::read(&crate::repo_root()).expect("nix/commands.toml reads")
    }

    fn line(command: Result<CommandLine, String>) -> String {
        command.expect("the table holds the check").shown()
    }

    /// The words crane would run for this table, spelled out once as a reader checks
    /// them against crane's lib/cargo*.nix.
    #[test]
    fn each_check_runs_the_words_crane_builds_from_the_table() {
        let t = Table::parse(
            r#"
            fmt = { cargoExtraArgs = [], rustFmtExtraArgs = ["--x"] }
            clippy = { cargoExtraArgs = ["--locked"], cargoClippyExtraArgs = ["--all-targets", "--", "-D", "w"] }
            doc = { cargoExtraArgs = ["--locked"], cargoDocExtraArgs = ["--no-deps"], env = { RUSTDOCFLAGS = "-D w" } }
            nextest = { cargoExtraArgs = ["--locked"], cargoNextestExtraArgs = [] }
            audit = { cargoAuditExtraArgs = ["--ignore", "yanked"] }
            web-unit = { command = ["node", "--test", "t/*.mjs"] }
            "#,
        )
        .unwrap();
        assert_eq!(line(t.fmt()), "cargo fmt -- --check --x");
        assert_eq!(
            line(t.clippy(Some("dev"))),
            "cargo clippy --profile dev --locked --all-targets -- -D w"
        );
        assert_eq!(
            line(t.clippy(Some("release"))),
            "cargo clippy --release --locked --all-targets -- -D w"
        );
        assert_eq!(line(t.clippy(None)), "cargo clippy --locked --all-targets -- -D w");
        assert_eq!(
            line(t.doc(Some("dev"))),
            "RUSTDOCFLAGS=\"-D w\" cargo doc --profile dev --locked --no-deps"
        );
        assert_eq!(
            line(t.nextest(Some("dev"))),
            "cargo nextest run --cargo-profile dev --locked"
        );
        assert_eq!(line(t.audit(Path::new("/db"))), "cargo audit -n -d /db --ignore yanked");
        let web = t.web_unit().unwrap();
        assert!(web.shell);
        assert_eq!(web.shown(), "node --test t/*.mjs");
    }

    #[test]
    fn another_crate_is_named_right_after_the_subcommand() {
        let t = table();
        let clippy = t.clippy(None).unwrap().for_manifest("xtask/Cargo.toml");
        assert!(
            clippy
                .shown()
                .starts_with("cargo clippy --manifest-path xtask/Cargo.toml ")
        );
        let fmt = t.fmt().unwrap().for_manifest("fuzz/Cargo.toml");
        assert!(fmt.shown().starts_with("cargo fmt --manifest-path fuzz/Cargo.toml "));
    }

    #[test]
    fn the_table_spells_out_every_argument_each_check_needs() {
        let t = table();
        for check in LOCAL {
            t.local(check).unwrap();
        }
        t.audit(Path::new("/db")).unwrap();
        for tool in ["alejandra", "statix", "deadnix"] {
            assert_eq!(t.nix_lint(tool).unwrap()[0], tool);
        }
    }

    #[test]
    fn a_missing_argument_names_the_check_and_the_list() {
        let t = Table::parse("clippy = { cargoExtraArgs = [] }").unwrap();
        let err = t.clippy(None).unwrap_err();
        assert!(
            err.contains("[clippy]") && err.contains("cargoClippyExtraArgs"),
            "{err}"
        );
    }
}
