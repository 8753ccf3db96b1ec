//! The configuration room: every setting is declared here, beside the resolver that
//! reads it (`http`, `log`, [`identity`], `plaza`, `hooks`, `state`, `secrets`), listed for
//! `--help` in [`list`], resolved from flags > environment > `--config` file > defaults
//! by the machinery in [`layering`], and assembled into one typed [`Config`] of one
//! part per consumer, built once at start, every error naming the flag, variable or
//! file key at fault. The HTTP half, logging and the plaza receive their typed part and
//! declare no setting.

pub mod cli;
pub(crate) mod hooks;
pub(crate) mod host;
pub(crate) mod http;
pub(crate) mod identity;
pub(crate) mod layering;
pub(crate) mod list;
pub(crate) mod listen_addr;
pub(crate) mod log;
pub(crate) mod plaza;
pub(crate) mod secrets;
pub(crate) mod state;
pub(crate) mod tags;
pub(crate) mod urls;

use crate::hooks::config::HooksConfig;
use crate::http::config::HttpConfig;
use crate::logging::LogConfig;
use crate::plaza::config::PlazaConfig;
use crate::plaza::identity::IdentityConfig;
use crate::plaza::state_dir::StateConfig;
use cli::Invocation;
use identity::IdentityPlan;
use layering::values::parse_duration;
use layering::{ConfigError, Environment, Origin, Report, Resolved, Setting, SettingsFile, Sources, invalid};
use plaza::PlazaPlan;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// `--config`: the TOML file the other settings may come from.
pub(crate) static CONFIG: Setting = Setting::value("config", "config", "FILE")
    .env(&["NARA_CONFIG"])
    .not_in_file()
    .help("Read settings from this TOML file (keys as the flags, with underscores)");

/// Everything the server needs to know, validated and with its secrets loaded: one part
/// per consumer, each handed over whole.
#[derive(Clone, Debug)]
pub struct Config {
    /// The HTTP half: where to listen, the drain's grace, the event streams' bounds.
    pub http: HttpConfig,
    /// How log lines look and which are written.
    pub log: LogConfig,
    /// Who this nara is: its name and soul, and advice when they do not belong together.
    pub(crate) identity: IdentityConfig,
    /// The plaza: broker, timings, policy.
    pub(crate) plaza: PlazaConfig,
    /// The event hooks: what runs on the view's changes.
    pub(crate) hooks: HooksConfig,
    /// The state directory: where the view is kept across restarts.
    pub(crate) state: StateConfig,
    /// What an operator should hear at start about how the defaults were found
    /// (gathered before logging starts, logged once it has).
    pub(crate) warnings: Vec<String>,
}

/// The settings resolved and validated, with no secret (soul, password, machine-id)
/// read yet: what `nara check-config` checks and a start then loads. The parts without
/// secrets are final; the others are plans.
#[derive(Debug)]
pub struct Settings {
    pub(crate) http: HttpConfig,
    pub(crate) log: LogConfig,
    identity: IdentityPlan,
    plaza: PlazaPlan,
    hooks: HooksConfig,
    state: StateConfig,
    /// Each setting's value and where it came from.
    pub report: Report,
}

/// The sources an invocation reads: its flags, `env`, and the `--config` file they or
/// `env` name (read and checked for unknown keys here).
pub(crate) fn sources(invocation: &Invocation, env: &Environment) -> Result<Sources, ConfigError> {
    let without_file = Sources::new(invocation.flags.clone(), env.clone(), None);
    let file = match without_file.pick(&CONFIG)? {
        Some(Resolved { value, .. }) => {
            let known: Vec<&Setting> = list::all().collect();
            Some(SettingsFile::load(Path::new(&value), &known)?)
        }
        None => None,
    };
    Ok(Sources::new(invocation.flags.clone(), env.clone(), file))
}

impl Settings {
    /// Resolves every setting from `sources`; `hostname` is the machine's, for the
    /// default name. Opens nothing.
    pub(crate) fn resolve(sources: &Sources, hostname: Option<String>) -> Result<Settings, ConfigError> {
        let mut report = Report::default();
        if let Some(p) = sources.pick(&CONFIG)? {
            report.record(&CONFIG, Some(&p.value), &p.origin);
        }
        // In the order `--help` lists the settings, so that `nara check-config` prints
        // them in that order and, of two bad values, the error names the one listed first.
        let listen = http::resolve_listen(sources, &mut report)?;
        let name = identity::name::resolve(sources, &mut report, hostname)?;
        let log = log::resolve(sources, &mut report)?;
        let http = http::resolve(sources, &mut report, listen)?;
        let soul = identity::soul::resolve(sources, &mut report)?;
        let plaza = plaza::resolve(sources, &mut report)?;
        let hooks = hooks::resolve(sources, &mut report)?;
        let state = state::resolve(sources, &mut report)?;
        Ok(Settings {
            http,
            log,
            identity: IdentityPlan { name, soul },
            plaza,
            hooks,
            state,
            report,
        })
    }

    /// Reads what the settings name: the soul and password files, systemd's
    /// credentials (`CREDENTIALS_DIRECTORY` in `env`), and from `machine` its
    /// machine-id and fingerprint, only if a default needs them.
    pub(crate) fn load(mut self, env: &Environment, machine: &impl host::Machine) -> Result<Config, ConfigError> {
        let credentials_directory = env.get(secrets::CREDENTIALS_DIRECTORY).map(Path::new);
        let mut warnings = std::mem::take(&mut self.plaza.warnings);
        let plaza = self.plaza.load(credentials_directory)?;
        let identity = self.identity.load(credentials_directory, machine, env, &mut warnings)?;
        if let Some(user) = plaza.broker.as_ref().and_then(|b| b.user.as_deref())
            && user != identity.name
            && !plaza.read_only
        {
            warnings.push(name_is_not_the_user(&identity.name, user));
        }
        Ok(Config {
            http: self.http,
            log: self.log,
            identity,
            plaza,
            hooks: self.hooks,
            state: self.state,
            warnings,
        })
    }
}

/// The warning for a nara named `name` that logs in to the broker as another `user`:
/// under the ACL the plaza chapter recommends, its newspapers are dropped.
fn name_is_not_the_user(name: &str, user: &str) -> String {
    format!(
        "this nara runs as {name:?} but logs in to the broker as {user:?}: if the broker's ACL ties each user to the \
         newspaper topic of its own name (the plaza chapter's `pattern write nara/newspaper/%u`), it drops every \
         newspaper of {name:?} without a word, and other naras see it ONLINE with no version, then MISSING; run it \
         as --name {user} (or with a user named {name}), or give the user {user:?} the line `topic write \
         nara/newspaper/{name}`"
    )
}

/// `nara check-config`: the settings an invocation resolves to, without a secret read.
pub fn check(invocation: &Invocation, env: &Environment) -> Result<Settings, ConfigError> {
    Settings::resolve(&sources(invocation, env)?, host::hostname())
}

/// What `nara healthcheck` probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthcheckTarget {
    /// The URL its `--url` names.
    Url(String),
    /// A nara listening at this configured address (its `/healthz`).
    Listening(SocketAddr),
}

/// `nara healthcheck`'s target (its `--url`, else the configured listen address, the
/// settings resolved only then) and its `--timeout`.
pub fn healthcheck_target(
    invocation: &Invocation,
    env: &Environment,
) -> Result<(HealthcheckTarget, Duration), ConfigError> {
    let Some(cli::Command::Healthcheck { url, timeout, .. }) = &invocation.command else {
        return Err(ConfigError("not a healthcheck".into()));
    };
    let timeout = parse_duration(timeout).map_err(|e| invalid(timeout, &Origin::Flag("--timeout".into()), e))?;
    let target = match url {
        Some(url) => HealthcheckTarget::Url(url.clone()),
        None => HealthcheckTarget::Listening(check(invocation, env)?.http.listen),
    };
    Ok((target, timeout))
}

/// The configuration a start uses: settings resolved, then secrets loaded from this
/// machine.
pub fn load(invocation: &Invocation, env: &Environment) -> Result<Config, ConfigError> {
    let mut config = check(invocation, env)?.load(env, &host::ThisMachine)?;
    if !invocation.ignored.is_empty() {
        let table = invocation
            .ignored
            .iter()
            .any(|flag| flag.ends_with("show-neighbours") || flag.ends_with("refresh-rate"));
        config.warnings.push(format!(
            "ignoring the Go nara's {}: nara has no mesh, ledger or console table{}",
            invocation.ignored.join(", "),
            if table {
                " (`nara peers --url http://HOST:PORT` prints the neighbours of any running nara)"
            } else {
                ""
            }
        ));
    }
    Ok(config)
}

/// The sources a test's command line, environment and config file (written to a
/// temporary folder, gone once read) make: what each room's resolver reads.
#[cfg(test)]
pub(crate) fn sources_for_test(
    args: &[&str],
    env: &[(&str, &str)],
    file: Option<&str>,
) -> Result<Sources, ConfigError> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    if let Some(text) = file {
        let path = dir.path().join("nara.toml");
        std::fs::write(&path, text).expect("the config file is written");
        args.push("--config".into());
        args.push(path.to_str().expect("a UTF-8 temporary path").into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let invocation = cli::parse(&args).expect("the command line parses");
    sources(&invocation, &layering::Environment::from_pairs(env.iter().copied()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::LogFormat;
    use crate::plaza::identity::SoulSource;
    use crate::plaza::identity::validate_name;
    use identity::name::{NAME, NamePlan};
    use log::{LOG_FORMAT, LOG_LEVEL};

    fn settings(args: &[&str], env: &[(&str, &str)], hostname: Option<&str>) -> Result<Settings, ConfigError> {
        let invocation = cli::parse(args).expect("the command line parses");
        let env = Environment::from_pairs(env.iter().copied());
        Settings::resolve(&sources(&invocation, &env)?, hostname.map(String::from))
    }

    /// A machine with this machine-id and fingerprint inputs.
    struct Stand(Option<String>, host::FingerprintInputs);

    impl host::Machine for Stand {
        fn machine_id(&self) -> Option<String> {
            self.0.clone()
        }

        fn fingerprint_inputs(&self) -> host::FingerprintInputs {
            self.1.clone()
        }
    }

    fn name_of(hostname: Option<&str>, machine_id: Option<&str>) -> String {
        let settings = settings(&["nara"], &[], hostname).expect("resolves");
        let machine = Stand(machine_id.map(String::from), host::FingerprintInputs::default());
        settings
            .load(&Environment::default(), &machine)
            .expect("loads")
            .identity
            .name
    }

    #[test]
    fn a_native_soul_needs_a_fingerprint_and_says_what_it_lacks() {
        let load = |inputs: host::FingerprintInputs| {
            let settings = settings(&["nara", "--name", "n"], &[], None).expect("resolves");
            settings
                .load(&Environment::default(), &Stand(None, inputs))
                .expect("loads")
        };
        let bare = load(host::FingerprintInputs::default());
        assert_eq!(bare.identity.soul_source, SoulSource::Ephemeral);
        assert_eq!(bare.warnings.len(), 2, "{:?}", bare.warnings);
        let booted = load(host::FingerprintInputs {
            host_id: Some(("b00t".into(), "/proc/sys/kernel/random/boot_id")),
            macs: vec!["aa:bb:cc:00:11:22".into()],
        });
        assert_eq!(booted.identity.soul_source, SoulSource::Native);
        assert!(
            booted.warnings.iter().any(|w| w.contains("changes at every boot")),
            "{:?}",
            booted.warnings
        );
        let machine = host::FingerprintInputs {
            host_id: Some(("01234567-89ab-cdef-0123-456789abcdef".into(), "/etc/machine-id")),
            macs: vec!["aa:bb:cc:00:11:22".into()],
        };
        let a = load(machine.clone());
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        assert_eq!(
            a.identity.soul.to_base58(),
            load(machine).identity.soul.to_base58(),
            "stable per machine"
        );
    }

    #[test]
    fn verbose_flags_set_the_log_level_only_when_nothing_else_does() {
        assert_eq!(settings(&["nara", "-verbose"], &[], None).unwrap().log.filter, "debug");
        assert_eq!(
            settings(&["nara", "-vv", "-verbose"], &[], None).unwrap().log.filter,
            "trace"
        );
        let explicit = settings(&["nara", "-verbose", "--log-level", "warn"], &[], None).unwrap();
        assert_eq!(explicit.log.filter, "warn");
    }

    #[test]
    fn the_default_name_is_the_hostname_unless_it_is_generic() {
        assert_eq!(name_of(Some("kitchen-pi"), Some("m1")), "kitchen-pi");
        let generic = name_of(Some("localhost"), Some("m1"));
        assert_ne!(generic, "localhost");
        assert_eq!(
            generic,
            name_of(Some("raspberrypi"), Some("m1")),
            "derived from the machine"
        );
        assert_ne!(generic, name_of(Some("localhost"), Some("m2")));
        assert!(validate_name(&name_of(None, None)).is_ok());
    }

    #[test]
    fn a_flag_beats_a_variable_which_beats_the_file_which_beats_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nara.toml");
        std::fs::write(
            &file,
            "shutdown_grace = \"3s\"\nlog_level = \"warn\"\nname = \"from-file\"\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let env = [(LOG_LEVEL.env[0], "debug"), (NAME.env[0], "from-env")];
        let s = settings(&["nara", "--config", path, "--name", "from-flag"], &env, None).unwrap();
        assert_eq!(s.http.shutdown_grace, Duration::from_secs(3));
        assert_eq!(s.log.filter, "debug");
        assert!(matches!(&s.identity.name, NamePlan::Given(n, _) if n == "from-flag"));
        assert_eq!(s.log.format, LogFormat::Auto);
    }

    #[test]
    fn port_and_rust_log_apply_only_when_nothing_else_sets_their_setting() {
        let s = settings(&["nara"], &[("PORT", "9000"), ("RUST_LOG", "trace")], None).unwrap();
        assert_eq!(s.http.listen.port(), 9000);
        assert_eq!(s.log.filter, "trace");
        let s = settings(
            &["nara", "--http-addr", ":7000", "--log-level", "warn"],
            &[("PORT", "9000")],
            None,
        )
        .unwrap();
        assert_eq!(s.http.listen.port(), 7000);
        assert_eq!(s.log.filter, "warn");
        let err = settings(&["nara"], &[("PORT", "eighty")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("for PORT"), "{err}");
    }

    #[test]
    fn errors_name_the_flag_the_variable_or_the_file_key() {
        let err = settings(&["nara", "--shutdown-grace", "soon"], &[], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("for --shutdown-grace"), "{err}");
        let err = settings(&["nara"], &[(LOG_FORMAT.env[0], "xml")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("for {}", LOG_FORMAT.env[0])), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nara.toml");
        std::fs::write(&file, "require_plaza = \"yes\"\n").unwrap();
        let err = settings(&["nara", "--config", file.to_str().unwrap()], &[], None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "invalid value \"yes\" for require_plaza in {}: expected true or false, unquoted: require_plaza = true",
                file.display()
            )
        );
        std::fs::write(&file, "require_plaza = 1\nname = true\n").unwrap();
        let err = settings(&["nara", "--config", file.to_str().unwrap()], &[], None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("invalid value true for name in "), "{err}");
        assert!(err.ends_with(": expected a string, in quotes: name = \"…\""), "{err}");
    }

    #[test]
    fn config_file_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nara.toml");
        std::fs::write(&file, "name = \"ok\"\nhtp_addr = \":1\"\n").unwrap();
        let err = settings(&["nara", "--config", file.to_str().unwrap()], &[], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("nara.toml line 2"), "{err}");
        assert!(err.contains("htp_addr"), "{err}");
    }

    #[test]
    fn missing_config_file_is_named() {
        let err = settings(&["nara", "--config", "/nonexistent/nara.toml"], &[], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/nara.toml"), "{err}");
    }
}
