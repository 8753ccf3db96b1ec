//! The command line: one flag per declared setting (built from the declarations, so
//! `--help` cannot drift from them), the subcommands, and the rewriting that keeps
//! nara's older single-dash flags (`-http-addr :8080`) working.

use super::layering::{Setting, Shape};
use super::list;
use crate::build_info;
use clap::{Arg, ArgAction, ArgMatches, Args, Command as ClapCommand, FromArgMatches, Subcommand};
use std::collections::BTreeMap;
use std::ffi::OsString;

/// What the command line asked for: a subcommand, or none to serve, and the settings
/// it gave by key (a switch given is `true`).
#[derive(Debug)]
pub struct Invocation {
    /// The subcommand; `None` runs the server.
    pub command: Option<Command>,
    /// The settings given as flags, before and after a `check-config`.
    pub(crate) flags: BTreeMap<&'static str, String>,
    /// The Go nara's flags given that nara ignores, as `--flag`.
    pub(crate) ignored: Vec<String>,
}

/// The declared settings as flags, for a subcommand that takes them (`check-config`).
#[derive(Debug)]
pub struct SettingFlags(BTreeMap<&'static str, String>);

impl FromArgMatches for SettingFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(SettingFlags(given_settings(matches)))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.extend(given_settings(matches));
        Ok(())
    }
}

impl Args for SettingFlags {
    fn augment_args(command: ClapCommand) -> ClapCommand {
        // The plaza's settings under a heading of their own.
        let general = list::GENERAL.iter().filter_map(|s| setting_arg(s, None));
        let plaza = list::PLAZA.iter().filter_map(|s| setting_arg(s, Some("Plaza")));
        command.args(general).args(plaza)
    }

    fn augment_args_for_update(command: ClapCommand) -> ClapCommand {
        Self::augment_args(command)
    }
}

/// The help of `setting`, then its default and its variables each on a line of its
/// own, so wrapping never splits `[default: 10s]`.
fn help_text(setting: &Setting) -> String {
    let mut specs = Vec::new();
    if let Some(default) = setting.default_text() {
        specs.push(format!("[default: {default}]"));
    }
    if !setting.env.is_empty() {
        specs.push(format!("[env: {}]", setting.env.join(", ")));
    }
    format!("{}\n{}", setting.help, specs.join("\n"))
}

/// The clap argument for `setting`, if it has a flag, listed under `heading` in
/// `--help`. clap reads only the command line; variables, the file and defaults are the
/// resolver's, so every value has one record of where it came from.
fn setting_arg(setting: &'static Setting, heading: Option<&'static str>) -> Option<Arg> {
    let flag = setting.flag?;
    let arg = Arg::new(setting.key)
        .long(flag)
        .visible_aliases(setting.aliases.iter().copied())
        .help(help_text(setting));
    // A secret may start with `-`: taken as the value, it is never echoed by clap as an
    // unknown flag.
    let arg = arg.allow_hyphen_values(setting.secret);
    let arg = match setting.shape {
        Shape::Value => arg.value_name(setting.value_name).action(ArgAction::Set),
        Shape::Switch => arg.action(ArgAction::SetTrue),
    };
    Some(arg.help_heading(heading))
}

/// The Go nara's flags for parts nara does not have (the mesh, the ledger, the console
/// table), and whether each takes a value: accepted so a Go nara's command line keeps
/// working, and named in one warning at start.
pub(crate) const IGNORED_GO_FLAGS: &[(&str, bool)] = &[
    ("no-mesh", false),
    ("headscale-url", true),
    ("authkey", true),
    ("memory-mode", true),
    ("ledger-capacity", true),
    ("transport", true),
    ("show-neighbours", false),
    ("refresh-rate", true),
    ("force-chattiness", true),
    ("show-default-credentials", false),
];

/// A hidden argument for an ignored Go flag: a switch takes `-flag` or `-flag=false`,
/// as Go's flag package does; a value may start with `-` (`-force-chattiness -1`).
fn ignored_arg(&(flag, takes_value): &(&'static str, bool)) -> Arg {
    let arg = Arg::new(flag).long(flag).hide(true).action(ArgAction::Set);
    if takes_value {
        arg.allow_hyphen_values(true)
    } else {
        arg.num_args(0..=1).require_equals(true).default_missing_value("true")
    }
}

/// The ignored Go flags `matches` holds, spelled as they were typed: `-flag` when it is
/// among `single_dash`, else `--flag`.
fn ignored_flags(matches: &ArgMatches, single_dash: &[String]) -> Vec<String> {
    IGNORED_GO_FLAGS
        .iter()
        .filter(|(flag, _)| matches.value_source(flag) == Some(clap::parser::ValueSource::CommandLine))
        .map(|(flag, _)| {
            let dashes = if single_dash.iter().any(|n| n == flag) {
                "-"
            } else {
                "--"
            };
            format!("{dashes}{flag}")
        })
        .collect()
}

/// The settings `matches` holds from the command line, by key.
fn given_settings(matches: &ArgMatches) -> BTreeMap<&'static str, String> {
    let mut given = BTreeMap::new();
    for setting in list::all().filter(|s| s.flag.is_some()) {
        if matches.value_source(setting.key) != Some(clap::parser::ValueSource::CommandLine) {
            continue;
        }
        let value = match setting.shape {
            Shape::Value => matches.get_one::<String>(setting.key).cloned(),
            Shape::Switch => Some(matches.get_flag(setting.key).to_string()),
        };
        if let Some(value) = value {
            given.insert(setting.key, value);
        }
    }
    given
}

/// nara's command: the settings' flags and the subcommands.
pub fn command() -> ClapCommand {
    let command = ClapCommand::new("nara").version(build_info::VERSION_LINE);
    let command = command.args(IGNORED_GO_FLAGS.iter().map(ignored_arg));
    let command = Command::augment_subcommands(SettingFlags::augment_args(command.after_long_help(more_environment())));
    // After the subcommands: deriving them sets the program's about text to the enum's
    // doc comment.
    command.about(ABOUT).long_about(LONG_ABOUT)
}

/// The first line of `nara --help`.
const ABOUT: &str = "nara: one small service that serves its web UI, its docs and its API on one port, and, given an \
                     MQTT broker, meets the other naras on the plaza. Docs: /docs/ on the running nara";

/// `nara --help`'s opening.
const LONG_ABOUT: &str = "nara: one small service that serves its web UI, its docs (/docs/) and its API on one port, \
                          and, given an MQTT broker (--mqtt-url), meets the other naras on the plaza.\n\n\
                          Run it with no flags to serve on :8080; the book is at http://localhost:8080/docs/ \
                          (its configuration chapter lists every setting below).\n\n\
                          Settings come from flags, then environment variables, then the --config file, then the \
                          defaults shown here.";

/// The end of `--help`: settings only a variable can carry, and the variables of other
/// tools that settings' resolvers also read.
fn more_environment() -> String {
    let mut text = String::new();
    let env_only: Vec<&Setting> = list::all().filter(|s| s.flag.is_none()).collect();
    if !env_only.is_empty() {
        text.push_str("Settings only the environment carries:\n");
        for setting in env_only {
            text.push_str(&format!("  {}\n          {}\n", setting.env.join(", "), setting.help));
        }
        text.push('\n');
    }
    text.push_str("Read when a setting is set nowhere else:\n");
    for setting in list::all().filter(|s| !s.also_reads.is_empty()) {
        text.push_str(&format!(
            "  {} for {}\n",
            setting.also_reads.join(", "),
            setting.display_name()
        ));
    }
    text
}

/// What to do instead of serving (`nara --help` lists them under Commands).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve the settings as a start would (flags, environment, --config file) and
    /// print each with where it came from; exit 0, or 2 with the error a start would
    /// print. Opens no secret: not the soul or password file, not the machine-id
    CheckConfig {
        /// The settings, as flags after `check-config` too.
        #[command(flatten)]
        settings: SettingFlags,
    },

    /// Souls: the secret identity a nara signs its plaza messages with
    #[command(subcommand)]
    Soul(SoulCommand),

    /// Probe a running nara's /healthz and exit 0 if healthy, 1 if not (for images
    /// that have no curl)
    Healthcheck {
        /// The URL to probe [default: /healthz at the configured listen address]
        #[arg(long, value_name = "URL")]
        url: Option<String>,

        /// Give up after this long
        #[arg(long, value_name = "DURATION", default_value = "3s")]
        timeout: String,

        /// The settings, as flags after `healthcheck` too (the address comes from them).
        #[command(flatten)]
        settings: SettingFlags,
    },
}

/// `nara soul ...`.
#[derive(Debug, Subcommand)]
pub enum SoulCommand {
    /// Mint a new soul bonded to NAME and print it (store it as a secret)
    New {
        /// The name this soul is for
        #[arg(long, value_name = "NAME")]
        name: String,
    },
}

/// Parses `args` (program name first) after rewriting single-dash long flags.
pub fn parse<I, T>(args: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let command = command();
    let long_names: Vec<String> = command
        .get_arguments()
        .chain(command.get_subcommands().flat_map(|s| s.get_arguments()))
        .flat_map(|a| a.get_long().into_iter().chain(a.get_all_aliases().unwrap_or_default()))
        .map(String::from)
        // clap adds these two only when it builds the command; the Go nara's `-version`
        // and `-help` are theirs.
        .chain(["version".to_string(), "help".to_string()])
        .collect();
    let (args, single_dash) = rewrite_single_dash(args.into_iter().map(Into::into), &long_names);
    let matches = command.try_get_matches_from(args)?;
    let mut flags = given_settings(&matches);
    let ignored = ignored_flags(&matches, &single_dash);
    let command = match matches.subcommand() {
        Some(_) => Some(Command::from_arg_matches(&matches)?),
        None => None,
    };
    if let Some(Command::CheckConfig { settings } | Command::Healthcheck { settings, .. }) = &command {
        flags.extend(settings.0.clone());
    }
    Ok(Invocation {
        command,
        flags,
        ignored,
    })
}

/// clap's own error (unknown flag, missing value) as one line for stderr, with what
/// names the cause (the missing argument, clap's tip) and the help of the command it
/// concerns; `None` for help and version, which clap prints and which exit 0, and for a
/// missing subcommand, where clap prints the help to stderr and exits 2.
pub fn error_line(err: &clap::Error) -> Option<String> {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            None
        }
        _ => Some(one_line(&err.render().to_string())),
    }
}

/// clap's rendered error folded to one line: the message and its indented details,
/// any `tip:`, and `(see nara SUBCOMMAND --help)` from its usage line.
fn one_line(rendered: &str) -> String {
    let mut paragraphs = rendered.split("\n\n").map(str::trim).filter(|p| !p.is_empty());
    let cause = paragraphs.next().unwrap_or("invalid arguments");
    let mut line: Vec<&str> = cause.lines().map(str::trim).collect();
    if let Some(first) = line.first_mut() {
        *first = first.trim_start_matches("error: ");
    }
    let mut text = line.join(" ");
    let mut command = "nara".to_string();
    for paragraph in paragraphs {
        if let Some(tip) = paragraph.strip_prefix("tip: ") {
            text.push_str(&format!("; {}", tip.trim()));
        } else if let Some(usage) = paragraph.strip_prefix("Usage: ") {
            let words: Vec<&str> = usage
                .split_whitespace()
                .take_while(|w| !w.starts_with(['-', '<', '[']))
                .collect();
            if !words.is_empty() {
                command = words.join(" ");
            }
        }
    }
    format!("{text} (see {command} --help)")
}

/// `-http-addr :8080` and `-name=x` become `--http-addr :8080` and `--name=x`, but only
/// for names nara knows, so nothing else changes meaning. Also returns the names that
/// were given with one dash.
fn rewrite_single_dash(args: impl Iterator<Item = OsString>, long_names: &[String]) -> (Vec<OsString>, Vec<String>) {
    let mut out = Vec::new();
    let mut single_dash = Vec::new();
    let mut passthrough = false;
    for arg in args {
        let rewritten = match arg.to_str() {
            Some("--") => {
                passthrough = true;
                None
            }
            Some(text) if !passthrough && text.starts_with('-') && !text.starts_with("--") => {
                let name = text[1..].split('=').next().unwrap_or("");
                let known = name.len() > 1 && long_names.iter().any(|n| n == name);
                if known {
                    single_dash.push(name.to_string());
                }
                known.then(|| format!("-{text}").into())
            }
            _ => None,
        };
        out.push(rewritten.unwrap_or(arg));
    }
    (out, single_dash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(args: &[&str]) -> Vec<String> {
        let names = vec!["http-addr".to_string(), "name".to_string()];
        rewrite_single_dash(args.iter().map(OsString::from), &names)
            .0
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn single_dash_long_flags_become_double_dash() {
        assert_eq!(
            rewrite(&["nara", "-http-addr", ":8080", "-name=x"]),
            ["nara", "--http-addr", ":8080", "--name=x"]
        );
    }

    #[test]
    fn unknown_short_flags_and_values_are_left_alone() {
        assert_eq!(rewrite(&["nara", "-h", "-V", "-bogus"]), ["nara", "-h", "-V", "-bogus"]);
        assert_eq!(rewrite(&["nara", "--", "-name"]), ["nara", "--", "-name"]);
    }

    #[test]
    fn a_missing_argument_is_named_with_its_subcommands_help() {
        let err = parse(["nara", "soul", "new"]).unwrap_err();
        let line = error_line(&err).unwrap();
        assert!(line.contains("--name <NAME>"), "{line}");
        assert!(line.ends_with("(see nara soul new --help)"), "{line}");
        assert!(!line.contains('\n'), "{line}");
    }

    #[test]
    fn an_unknown_flag_keeps_claps_tip() {
        let err = parse(["nara", "--nmae", "x"]).unwrap_err();
        let line = error_line(&err).unwrap();
        assert!(line.contains("'--nmae'") && line.contains("--name"), "{line}");
        assert!(line.ends_with("(see nara --help)"), "{line}");
    }

    #[test]
    fn ignored_go_flags_are_named_as_typed() {
        let invocation = parse(["nara", "-no-mesh", "--show-neighbours", "-refresh-rate", "3"]).unwrap();
        assert_eq!(invocation.ignored, ["-no-mesh", "--show-neighbours", "-refresh-rate"]);
    }

    #[test]
    fn go_style_version_and_help_work() {
        use clap::error::ErrorKind;
        assert_eq!(
            parse(["nara", "-version"]).unwrap_err().kind(),
            ErrorKind::DisplayVersion
        );
        assert_eq!(parse(["nara", "-help"]).unwrap_err().kind(), ErrorKind::DisplayHelp);
    }

    #[test]
    fn healthcheck_takes_setting_flags_after_it() {
        let invocation = parse(["nara", "healthcheck", "--http-addr", "127.0.0.1:9"]).unwrap();
        assert_eq!(
            invocation.flags.get("http_addr").map(String::as_str),
            Some("127.0.0.1:9")
        );
    }

    #[test]
    fn clap_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn flags_before_and_after_check_config_are_both_taken() {
        let invocation = parse([
            "nara",
            "--name",
            "a",
            "check-config",
            "--http-addr",
            ":1",
            "--require-plaza",
        ])
        .unwrap();
        assert!(matches!(invocation.command, Some(Command::CheckConfig { .. })));
        assert_eq!(invocation.flags.get("name").map(String::as_str), Some("a"));
        assert_eq!(invocation.flags.get("http_addr").map(String::as_str), Some(":1"));
        assert_eq!(invocation.flags.get("require_plaza").map(String::as_str), Some("true"));
    }

    #[test]
    fn defaults_are_not_reported_as_given() {
        let invocation = parse(["nara"]).unwrap();
        assert!(invocation.flags.is_empty(), "{:?}", invocation.flags);
        assert!(invocation.command.is_none());
    }
}
