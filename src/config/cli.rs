//! The command line: one flag per declared setting (built from the declarations, so
//! `--help` cannot drift from them), the subcommands, and the rewriting that keeps
//! nara's older single-dash flags (`-http-addr :8080`) working.

use super::layering::values::parse_duration;
use super::layering::{Given, LIST_SEPARATOR, Setting, Shape};
use super::list;
use crate::build_info;
use clap::{Arg, ArgAction, ArgMatches, Args, Command as ClapCommand, FromArgMatches, Subcommand};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::Duration;

/// What the command line asked for: a subcommand, or none to serve, and the settings
/// it gave by key, each with the flag as typed.
#[derive(Debug)]
pub struct Invocation {
    /// The subcommand; `None` runs the server.
    pub command: Option<Command>,
    /// The settings given as flags, before and after a `check-config`.
    pub(crate) flags: BTreeMap<&'static str, Given>,
    /// The Go nara's flags given that nara ignores, as typed (`-no-mesh`, `--no-mesh`).
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
        // Each occurrence one item.
        Shape::List => arg.value_name(setting.value_name).action(ArgAction::Append),
        // `--read-only`, and as Go's flag package takes a boolean, `-read-only=false`
        // (never `-read-only false`): the value is checked when the setting is picked,
        // where the error can name the flag as it was typed.
        Shape::Switch => arg
            .value_name("BOOL")
            .action(ArgAction::Set)
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true"),
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

/// The ignored Go flags `matches` holds, spelled as they were `typed`.
fn ignored_flags(matches: &ArgMatches, typed: &[String]) -> Vec<String> {
    IGNORED_GO_FLAGS
        .iter()
        .filter(|(flag, _)| matches.value_source(flag) == Some(clap::parser::ValueSource::CommandLine))
        .map(|(flag, _)| as_typed(&[flag], typed).unwrap_or_else(|| format!("--{flag}")))
        .collect()
}

/// The last of `typed` (flags as given, dashes included) that is one of `names`.
fn as_typed(names: &[&str], typed: &[String]) -> Option<String> {
    typed
        .iter()
        .rev()
        .find(|t| names.contains(&t.trim_start_matches('-')))
        .cloned()
}

/// The settings `matches` holds from the command line, by key, as text.
fn given_settings(matches: &ArgMatches) -> BTreeMap<&'static str, String> {
    let mut given = BTreeMap::new();
    for setting in list::all().filter(|s| s.flag.is_some()) {
        if matches.value_source(setting.key) != Some(clap::parser::ValueSource::CommandLine) {
            continue;
        }
        if setting.shape == Shape::List {
            if let Some(values) = matches.get_many::<String>(setting.key) {
                let items: Vec<&str> = values.map(String::as_str).collect();
                given.insert(setting.key, items.join(&LIST_SEPARATOR.to_string()));
            }
        } else if let Some(value) = matches.get_one::<String>(setting.key) {
            given.insert(setting.key, value.clone());
        }
    }
    given
}

/// `given` (setting key to text) with the flag each was `typed` as: errors and
/// `nara check-config` then name `-nara-id` as the Go nara's unit wrote it, not `--name`.
fn with_spelling(given: BTreeMap<&'static str, String>, typed: &[String]) -> BTreeMap<&'static str, Given> {
    given
        .into_iter()
        .filter_map(|(key, value)| {
            let setting = list::all().find(|s| s.key == key)?;
            let flag = setting.flag?;
            let names: Vec<&str> = std::iter::once(flag).chain(setting.aliases.iter().copied()).collect();
            let typed = as_typed(&names, typed).unwrap_or_else(|| format!("--{flag}"));
            Some((key, Given { value, typed }))
        })
        .collect()
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

    /// Rollouts across the plaza, as a running nara sees them
    #[command(subcommand)]
    Rollout(RolloutCommand),

    /// List the naras a running nara sees (name, status, version, last seen), or print
    /// them as JSON: the Go nara's -show-neighbours, asked of any nara. Exits 0; 2 for a
    /// bad argument; 3 when the nara cannot be reached
    Peers {
        /// The nara to ask: http://HOST:PORT or https://... (its /api/peers)
        #[arg(long, value_name = "URL")]
        url: String,

        /// Only the naras with this status
        #[arg(long, value_name = "STATUS", ignore_case = true, value_parser = ["ONLINE", "OFFLINE", "MISSING"])]
        status: Option<String>,

        /// Print {"peers":[...]} as /api/peers answers it, instead of a table
        #[arg(long)]
        json: bool,

        /// Give up after this long
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
        timeout: Duration,
    },
}

/// `nara rollout ...`.
#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// A deploy gate: ask a running nara how the fleet stands against --version (every
    /// nara ONLINE or MISSING is in the fleet, so one that crashed on it counts against
    /// it; one whose version is not yet known is behind), four times a second, and exit
    /// 0 as soon as at least --min of the fleet runs it. Exits 1 at --timeout with a
    /// line naming who is behind; 2 for a bad argument; 3 when the nara never answered
    Wait {
        /// The nara to ask: http://HOST:PORT or https://... (its /api/rollout)
        #[arg(long, value_name = "URL")]
        url: String,

        /// The version the fleet should run, as the naras send it (e.g. 0.2.0)
        #[arg(long, value_name = "VERSION", value_parser = version)]
        version: String,

        /// The share of the fleet that must run it, e.g. 90% (above 0, at most 100)
        #[arg(long, value_name = "PERCENT", value_parser = percent)]
        min: f64,

        /// How long to wait, e.g. 10m
        #[arg(long, value_name = "DURATION", value_parser = duration)]
        timeout: Duration,

        /// Also at least this many naras must run it, so that a fleet that shrank
        /// cannot pass by its share alone
        #[arg(long, value_name = "COUNT", value_parser = clap::value_parser!(u64).range(1..))]
        min_count: Option<u64>,
    },
}

/// A duration as the settings take one (`10s`, `1m30s`).
fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

/// A version the naras could send (`0.2.0`, `1.0.0-rc.1`).
fn version(text: &str) -> Result<String, String> {
    match crate::plaza::version::problem(text) {
        None => Ok(text.to_string()),
        Some(problem) => Err(problem),
    }
}

/// A share in percent, `90%` or `90`: above 0, at most 100.
fn percent(text: &str) -> Result<f64, String> {
    let number = text.trim().strip_suffix('%').unwrap_or(text.trim());
    match number.parse::<f64>() {
        Ok(value) if value > 0.0 && value <= 100.0 => Ok(value),
        _ => Err("expected a share above 0% and at most 100%, e.g. 90%".into()),
    }
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
    let long_names: Vec<LongName> = command
        .get_arguments()
        .chain(command.get_subcommands().flat_map(|s| s.get_arguments()))
        .flat_map(|a| {
            // A value of its own after a space (`--name x`); a switch's only after `=`.
            let value_follows = a.get_action().takes_values() && !a.is_require_equals_set();
            let names = a.get_long().into_iter().chain(a.get_all_aliases().unwrap_or_default());
            names.map(move |name| LongName {
                name: name.to_string(),
                value_follows,
            })
        })
        // clap adds these two only when it builds the command; the Go nara's `-version`
        // and `-help` are theirs.
        .chain(["version", "help"].map(|name| LongName {
            name: name.to_string(),
            value_follows: false,
        }))
        .collect();
    let (args, typed) = rewrite_single_dash(args.into_iter().map(Into::into), &long_names);
    let matches = command.try_get_matches_from(args)?;
    let mut given = given_settings(&matches);
    let ignored = ignored_flags(&matches, &typed);
    let command = match matches.subcommand() {
        Some(_) => Some(Command::from_arg_matches(&matches)?),
        None => None,
    };
    if let Some(Command::CheckConfig { settings } | Command::Healthcheck { settings, .. }) = &command {
        given.extend(settings.0.clone());
    }
    Ok(Invocation {
        command,
        flags: with_spelling(given, &typed),
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

/// A long flag nara knows, and whether the next argument is its value when it is given
/// without `=`.
struct LongName {
    name: String,
    value_follows: bool,
}

/// `-http-addr :8080` and `-name=x` become `--http-addr :8080` and `--name=x`, but only
/// for names nara knows, so nothing else changes meaning; a flag's value is left as it
/// is, even one that starts with `-` (a password). Also returns every known flag as it
/// was typed, in order, dashes included (`-nara-id`, `--http-addr`).
fn rewrite_single_dash(args: impl Iterator<Item = OsString>, long_names: &[LongName]) -> (Vec<OsString>, Vec<String>) {
    let mut out = Vec::new();
    let mut typed = Vec::new();
    let mut passthrough = false;
    let mut value_next = false;
    for arg in args {
        let is_value = std::mem::take(&mut value_next);
        let text = match arg.to_str() {
            Some(text) if !passthrough && !is_value => text,
            _ => {
                out.push(arg);
                continue;
            }
        };
        if text == "--" {
            passthrough = true;
            out.push(arg);
            continue;
        }
        let (dashes, rest) = match (text.strip_prefix("--"), text.strip_prefix('-')) {
            (Some(rest), _) => ("--", rest),
            (None, Some(rest)) => ("-", rest),
            (None, None) => {
                out.push(arg);
                continue;
            }
        };
        let (name, value) = match rest.split_once('=') {
            Some((name, _)) => (name, true),
            None => (rest, false),
        };
        let known = long_names.iter().find(|n| n.name == name && name.len() > 1);
        match known {
            Some(known) => {
                typed.push(format!("{dashes}{name}"));
                value_next = known.value_follows && !value;
                out.push(if dashes == "-" { format!("-{text}").into() } else { arg });
            }
            None => out.push(arg),
        }
    }
    (out, typed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(args: &[&str]) -> Vec<String> {
        let names =
            [("http-addr", true), ("name", true), ("mqtt-pass", true), ("vv", false)].map(|(name, value_follows)| {
                LongName {
                    name: name.to_string(),
                    value_follows,
                }
            });
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
        assert_eq!(
            rewrite(&["nara", "-mqtt-pass", "-vv", "-vv"]),
            ["nara", "--mqtt-pass", "-vv", "--vv"],
            "a password that looks like a flag is a password"
        );
        assert_eq!(
            rewrite(&["nara", "-mqtt-pass=-vv", "-vv"]),
            ["nara", "--mqtt-pass=-vv", "--vv"]
        );
    }

    #[test]
    fn settings_keep_the_flag_as_typed() {
        let invocation = parse(["nara", "-nara-id", "a", "--mqtt-host", "mqtt://b", "-http-addr=:1"]).unwrap();
        let typed = |key: &str| invocation.flags[key].typed.clone();
        assert_eq!(typed("name"), "-nara-id");
        assert_eq!(typed("mqtt_url"), "--mqtt-host");
        assert_eq!(typed("http_addr"), "-http-addr");
        let invocation = parse(["nara", "-nara-id", "a", "check-config", "--name", "b"]).unwrap();
        assert_eq!(
            invocation.flags["name"],
            Given {
                value: "b".into(),
                typed: "--name".into()
            },
            "the one after check-config wins, as typed"
        );
    }

    #[test]
    fn switches_take_go_boolean_values_after_an_equals_sign_only() {
        let invocation = parse(["nara", "-read-only=false", "--verbose", "-serve-ui=F"]).unwrap();
        let value = |key: &str| invocation.flags[key].value.clone();
        assert_eq!(value("read_only"), "false");
        assert_eq!(value("verbose"), "true");
        assert_eq!(value("serve_ui"), "F", "checked when the setting is picked");
        assert!(
            parse(["nara", "-read-only", "false"]).is_err(),
            "Go reads no value after a space"
        );
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
        assert_eq!(invocation.flags["http_addr"].value, "127.0.0.1:9");
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
        assert_eq!(invocation.flags["name"].value, "a");
        assert_eq!(invocation.flags["http_addr"].value, ":1");
        assert_eq!(invocation.flags["require_plaza"].value, "true");
    }

    #[test]
    fn defaults_are_not_reported_as_given() {
        let invocation = parse(["nara"]).unwrap();
        assert!(invocation.flags.is_empty(), "{:?}", invocation.flags);
        assert!(invocation.command.is_none());
    }
}
