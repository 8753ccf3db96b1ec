//! The plaza's settings, resolved with the rest of the configuration: the broker and
//! its credentials, the timings, and which soul to use.
//!
//! Each setting is declared here once ([`SETTINGS`]); the assembly adds them to the
//! command line and the `--config` file. Resolving them opens nothing: the soul and
//! password files are read only by [`PlazaPlan::load`], at start, so `nara
//! check-config` can validate everything else without the secrets.
//!
//! Secrets (the soul, the broker password) are never echoed: errors about them name
//! where they came from and what is wrong, not the value.

use super::identity::{Fingerprint, Soul, SoulSource};
use super::message::Policy;
use super::role::Pin;
use crate::layering::values::{parse_duration, parse_switch};
use crate::layering::{ConfigError, DefaultValue, Group, Origin, Picked, Report, Setting, Shape, Sources, invalid};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A secret string whose `Debug` does not show it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The MQTT broker the plaza meets on.
#[derive(Clone, Debug)]
pub struct Broker {
    /// `mqtts://`: TLS with the system's roots.
    pub tls: bool,
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The user name, if any.
    pub user: Option<String>,
    /// The password, if any.
    pub password: Option<Secret>,
}

impl Broker {
    /// The address without credentials, for logs and `/api/status`.
    pub fn address(&self) -> String {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// The plaza's settings, secrets loaded.
#[derive(Clone, Debug)]
pub struct PlazaConfig {
    /// None: this nara runs alone.
    pub broker: Option<Broker>,
    /// Readiness waits for the broker.
    pub require: bool,
    /// Watch only: send no hello, presence or goodbye.
    pub read_only: bool,
    /// Where people reach this nara from outside, shown to others.
    pub public_url: Option<String>,
    /// How often presence is sent.
    pub newspaper_interval: Duration,
    /// The longest random wait before announcing.
    pub announce_jitter: Duration,
    /// Silence after which a nara is MISSING.
    pub missing_after: Duration,
    /// How long an OFFLINE or MISSING nara stays in the view.
    pub forget_after: Duration,
    /// The most naras the view holds, this one included.
    pub max_peers: usize,
    /// Which role this process takes when others share its soul.
    pub role_pin: Pin,
    /// What a message must meet to be believed.
    pub policy: Policy,
}

impl Default for PlazaConfig {
    /// No broker, and the defaults the flags document.
    fn default() -> Self {
        PlazaConfig {
            broker: None,
            require: false,
            read_only: false,
            public_url: None,
            newspaper_interval: Duration::from_secs(30),
            announce_jitter: Duration::from_secs(5),
            missing_after: Duration::from_secs(360),
            forget_after: Duration::from_secs(24 * 3600),
            max_peers: 10_000,
            role_pin: Pin::Auto,
            policy: Policy::default(),
        }
    }
}

/// Parses `mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]` (ports default to 1883, 8883),
/// and the Go nara's spellings: `tcp://` for plain MQTT, `ssl://` and `tls://` for TLS
/// (whose certificate nara checks, where the Go nara does not).
pub fn parse_broker_url(text: &str) -> Result<(bool, String, u16), String> {
    const FORM: &str = "expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (or tcp://, ssl://, tls://)";
    let (scheme, rest) = text.split_once("://").ok_or(FORM)?;
    let tls = match scheme {
        "mqtt" | "tcp" => false,
        "mqtts" | "ssl" | "tls" => true,
        _ => return Err(FORM.to_string()),
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('@') {
        return Err(
            "credentials do not belong in the URL (ps shows it); use --mqtt-user and --mqtt-password-file".into(),
        );
    }
    let default_port = if tls { 8883 } else { 1883 };
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or(FORM)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| FORM)?,
            None if after.is_empty() => default_port,
            None => return Err(FORM.to_string()),
        };
        (host.to_string(), port)
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), port.parse().map_err(|_| FORM)?),
            None => (rest.to_string(), default_port),
        }
    };
    if host.is_empty() || host.contains('/') {
        return Err(FORM.to_string());
    }
    Ok((tls, host, port))
}

/// `--soul`: the soul itself (a flag or variable; never the file, which others read).
pub static SOUL: Setting = Setting {
    key: "soul",
    flag: Some("soul"),
    aliases: &[],
    env: &["NARA_SOUL"],
    in_file: false,
    value_name: "SOUL",
    default: DefaultValue::Described("derived from this machine and the name, with a warning"),
    help: "This nara's soul (mint one with `nara soul new`). Prefer --soul-file or a systemd credential named \"soul\": a flag's value is visible in `ps`",
    shape: Shape::Value,
    secret: true,
    group: Group::Plaza,
    fallbacks: &["CREDENTIALS_DIRECTORY"],
};

/// `--soul-file`: a file holding the soul.
pub static SOUL_FILE: Setting = Setting {
    key: "soul_file",
    flag: Some("soul-file"),
    aliases: &[],
    env: &["NARA_SOUL_FILE"],
    in_file: true,
    value_name: "FILE",
    default: DefaultValue::Unset,
    help: "Read the soul from this file",
    shape: Shape::Value,
    secret: false,
    group: Group::Plaza,
    fallbacks: &[],
};

/// `--mqtt-url`: the broker; unset, nara runs alone.
pub static MQTT_URL: Setting = Setting {
    key: "mqtt_url",
    flag: Some("mqtt-url"),
    aliases: &["mqtt-host"],
    env: &["NARA_MQTT_URL", "MQTT_HOST"],
    in_file: true,
    value_name: "URL",
    default: DefaultValue::Unset,
    help: "The plaza's MQTT broker, mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS, certificate checked; the Go nara's tcp://, ssl:// and tls:// too); unset, nara runs alone. A bare HOST takes its port from MQTT_PORT",
    shape: Shape::Value,
    secret: false,
    group: Group::Plaza,
    fallbacks: &["MQTT_PORT"],
};

/// `--mqtt-user`: the broker user name.
pub static MQTT_USER: Setting = Setting {
    key: "mqtt_user",
    flag: Some("mqtt-user"),
    aliases: &[],
    env: &["NARA_MQTT_USER", "MQTT_USER"],
    in_file: true,
    value_name: "USER",
    default: DefaultValue::Unset,
    help: "Broker user name",
    shape: Shape::Value,
    secret: false,
    group: Group::Plaza,
    fallbacks: &[],
};

/// `--mqtt-password-file`: a file holding the broker password.
pub static MQTT_PASSWORD_FILE: Setting = Setting {
    key: "mqtt_password_file",
    flag: Some("mqtt-password-file"),
    aliases: &[],
    env: &["NARA_MQTT_PASSWORD_FILE"],
    in_file: true,
    value_name: "FILE",
    default: DefaultValue::Unset,
    help: "File holding the broker password: the safe way to give it (--mqtt-pass, below, works but `ps` shows it to every user)",
    shape: Shape::Value,
    secret: false,
    group: Group::Plaza,
    fallbacks: &[],
};

/// The broker password itself: a variable, or the Go nara's flag with a warning, since
/// `ps` shows flags.
pub static MQTT_PASSWORD: Setting = Setting {
    key: "mqtt_password",
    flag: Some("mqtt-pass"),
    aliases: &[],
    env: &["NARA_MQTT_PASSWORD", "MQTT_PASS"],
    in_file: false,
    value_name: "PASSWORD",
    default: DefaultValue::Described("the credential \"mqtt-password\" if systemd passes one"),
    help: "The broker password, when no password file is given. The flag is the Go nara's and works with a warning: `ps` shows it to every user",
    shape: Shape::Value,
    secret: true,
    group: Group::Plaza,
    fallbacks: &["CREDENTIALS_DIRECTORY"],
};

/// `--require-plaza`: readiness waits for the broker.
pub static REQUIRE_PLAZA: Setting = Setting {
    key: "require_plaza",
    flag: Some("require-plaza"),
    aliases: &[],
    env: &["NARA_REQUIRE_PLAZA"],
    in_file: true,
    value_name: "",
    default: DefaultValue::Value("false"),
    help: "Answer readiness with 503 while disconnected from the plaza",
    shape: Shape::Switch,
    secret: false,
    group: Group::Plaza,
    fallbacks: &[],
};

/// `--read-only`: watch the plaza, send nothing.
pub static READ_ONLY: Setting = Setting {
    key: "read_only",
    flag: Some("read-only"),
    aliases: &[],
    env: &["NARA_READ_ONLY"],
    in_file: true,
    value_name: "",
    default: DefaultValue::Value("false"),
    help: "Watch the plaza without sending anything: no hello, presence or goodbye",
    shape: Shape::Switch,
    secret: false,
    group: Group::Plaza,
    fallbacks: &[],
};

/// `--public-url`: where people reach this nara, shown to others.
pub static PUBLIC_URL: Setting = Setting {
    key: "public_url",
    flag: Some("public-url"),
    aliases: &[],
    env: &["NARA_PUBLIC_URL", "PUBLIC_URL"],
    in_file: true,
    value_name: "URL",
    default: DefaultValue::Unset,
    help: "Where people reach this nara from outside (http:// or https://), shown in /api/status",
    shape: Shape::Value,
    secret: false,
    group: Group::Plaza,
    fallbacks: &[],
};

/// `--plaza-newspaper-interval`: how often presence is sent.
pub static NEWSPAPER_INTERVAL: Setting = Setting {
    key: "plaza_newspaper_interval",
    flag: Some("plaza-newspaper-interval"),
    aliases: &[],
    env: &["NARA_PLAZA_NEWSPAPER_INTERVAL"],
    in_file: true,
    value_name: "DURATION",
    default: DefaultValue::Value("30s"),
    help: "How often to send a signed newspaper (presence) message",
    shape: Shape::Value,
    secret: false,
    group: Group::Plaza,
    fallbacks: &[],
};

/// `--plaza-announce-jitter`: spreads a fleet's announcements.
pub static ANNOUNCE_JITTER: Setting = Setting {
    key: "plaza_announce_jitter",
    flag: Some("plaza-announce-jitter"),
    aliases: &[],
    env: &["NARA_PLAZA_ANNOUNCE_JITTER"],
    in_file: true,
    value_name: "DURATION",
    default: DefaultValue::Value("5s"),
    help: "Wait a random time up to this long before announcing, so a fleet restarting together does not announce at once",
    shape: Shape::Value,
    secret: false,
    group: Group::Plaza,
    fallbacks: &[],
};

/// `--plaza-missing-after`: silence after which a nara is MISSING.
pub static MISSING_AFTER: Setting = Setting {
    key: "plaza_missing_after",
    flag: Some("plaza-missing-after"),
    aliases: &[],
    env: &["NARA_PLAZA_MISSING_AFTER"],
    in_file: true,
    value_name: "DURATION",
    default: DefaultValue::Value("6m"),
    help: "A nara silent for longer than this is MISSING",
    shape: Shape::Value,
    secret: false,
    group: Group::Plaza,
    fallbacks: &[],
};

/// `--plaza-forget-after`: how long a gone nara stays in the view.
pub static FORGET_AFTER: Setting = Setting {
    key: "plaza_forget_after",
    flag: Some("plaza-forget-after"),
    aliases: &[],
    env: &["NARA_PLAZA_FORGET_AFTER"],
    in_file: true,
    value_name: "DURATION",
    default: DefaultValue::Value("24h"),
    help: "An OFFLINE or MISSING nara silent for longer than this is forgotten, its key with it",
    shape: Shape::Value,
    secret: false,
    group: Group::Plaza,
    fallbacks: &[],
};

/// `--plaza-role`: which process speaks for a soul several processes share.
pub static ROLE: Setting = Setting {
    key: "plaza_role",
    flag: Some("plaza-role"),
    aliases: &[],
    env: &["NARA_PLAZA_ROLE"],
    in_file: true,
    value_name: "ROLE",
    default: DefaultValue::Value("auto"),
    help: "When processes share this soul, which one speaks on the plaza: auto (the newest start), active (this one) or standby (only if no other is heard)",
    shape: Shape::Value,
    secret: false,
    group: Group::Plaza,
    fallbacks: &[],
};

/// `--plaza-max-peers`: the size of the view.
pub static MAX_PEERS: Setting = Setting {
    key: "plaza_max_peers",
    flag: Some("plaza-max-peers"),
    aliases: &[],
    env: &["NARA_PLAZA_MAX_PEERS"],
    in_file: true,
    value_name: "COUNT",
    default: DefaultValue::Value("10000"),
    help: "The most naras the view holds, this one included; a new one takes the place of the longest silent OFFLINE or MISSING one, or is refused while all are ONLINE",
    shape: Shape::Value,
    secret: false,
    group: Group::Plaza,
    fallbacks: &[],
};

/// `--plaza-max-skew`: the replay window.
pub static MAX_SKEW: Setting = Setting {
    key: "plaza_max_skew",
    flag: Some("plaza-max-skew"),
    aliases: &[],
    env: &["NARA_PLAZA_MAX_SKEW"],
    in_file: true,
    value_name: "DURATION",
    default: DefaultValue::Value("60s"),
    help: "Events signed further than this from our clock, and newspapers implying a boot this far from the one seen, are dropped as stale",
    shape: Shape::Value,
    secret: false,
    group: Group::Plaza,
    fallbacks: &[],
};

/// Advice for whoever mints a soul: where to keep it.
pub const KEEPING_A_SOUL: &str = "keep it secret (a file for --soul-file, a systemd credential, or NARA_SOUL)";

/// Every plaza setting, in the order `--help` lists them.
pub static SETTINGS: [&Setting; 16] = [
    &SOUL,
    &SOUL_FILE,
    &MQTT_URL,
    &MQTT_USER,
    &MQTT_PASSWORD_FILE,
    &MQTT_PASSWORD,
    &REQUIRE_PLAZA,
    &READ_ONLY,
    &PUBLIC_URL,
    &NEWSPAPER_INTERVAL,
    &ANNOUNCE_JITTER,
    &MISSING_AFTER,
    &FORGET_AFTER,
    &MAX_PEERS,
    &MAX_SKEW,
    &ROLE,
];

/// Where the soul will come from; only [`PlazaPlan::load`] opens anything.
#[derive(Debug)]
enum SoulPlan {
    /// Given whole by a flag or variable, and already parsed.
    Given(Soul, SoulSource),
    /// A file to read at start.
    File(PathBuf, Origin),
    /// At start: the credential `soul`, else one derived from the machine's
    /// fingerprint, else a random soul.
    AtStart,
}

/// Where the broker password will come from.
#[derive(Debug)]
enum PasswordPlan {
    None,
    Given(Secret),
    File(PathBuf, Origin),
    /// The credential `mqtt-password`, if systemd passes one.
    Credential,
}

/// The plaza's settings, resolved and validated, with the secrets still unread.
#[derive(Debug)]
pub struct PlazaPlan {
    config: PlazaConfig,
    password: PasswordPlan,
    soul: SoulPlan,
    /// What an operator should hear at start (a password given as a flag).
    pub warnings: Vec<String>,
}

/// The plaza's configuration and this nara's soul, as loaded at start.
#[derive(Debug)]
pub struct Loaded {
    /// The plaza's configuration, password included.
    pub config: PlazaConfig,
    /// This nara's soul.
    pub soul: Soul,
    /// Where the soul came from.
    pub soul_source: SoulSource,
}

/// A duration setting (all have defaults).
fn duration(sources: &Sources, report: &mut Report, setting: &'static Setting) -> Result<Duration, ConfigError> {
    let p = sources.pick_defaulted(setting)?;
    report.record(setting, Some(&p.value), &p.origin);
    parse_duration(&p.value).map_err(|e| invalid(&p.value, &p.origin, e))
}

/// Resolves the plaza's settings from `sources`, opening no file.
pub fn resolve(sources: &Sources, report: &mut Report) -> Result<PlazaPlan, ConfigError> {
    let mut warnings = Vec::new();
    let soul = resolve_soul(sources, report)?;
    let broker_url = match sources.pick_recorded(&MQTT_URL, report)? {
        Some(picked) if !picked.value.contains("://") => Some(bare_host(sources, picked)?),
        other => other,
    };
    let (broker, password) = match broker_url {
        None => (None, PasswordPlan::None),
        Some(Picked { value: url, origin }) => {
            let (tls, host, port) = parse_broker_url(&url).map_err(|e| invalid(&url, &origin, e))?;
            let user = sources.pick_recorded(&MQTT_USER, report)?.map(|p| p.value);
            let file = sources.pick_recorded(&MQTT_PASSWORD_FILE, report)?;
            let given = sources.pick_recorded(&MQTT_PASSWORD, report)?;
            if let Some(Picked {
                origin: Origin::Flag(flag),
                ..
            }) = &given
            {
                warnings.push(format!(
                    "--{flag} puts the broker password on the command line, where `ps` shows it to every user; \
                     use --mqtt-password-file (or a systemd credential) instead"
                ));
            }
            let password = match (file, given) {
                (Some(file), _) => PasswordPlan::File(PathBuf::from(file.value), file.origin),
                (None, Some(given)) => PasswordPlan::Given(Secret(given.value)),
                (None, None) => PasswordPlan::Credential,
            };
            let broker = Broker {
                tls,
                host,
                port,
                user,
                password: None,
            };
            (Some(broker), password)
        }
    };
    let require = switch(sources, report, &REQUIRE_PLAZA)?;
    let read_only = switch(sources, report, &READ_ONLY)?;
    let public_url = match sources.pick_recorded(&PUBLIC_URL, report)? {
        Some(Picked { value, origin }) => Some(parse_public_url(&value).map_err(|e| invalid(&value, &origin, e))?),
        None => None,
    };
    let newspaper_interval = duration(sources, report, &NEWSPAPER_INTERVAL)?.max(Duration::from_millis(100));
    let announce_jitter = duration(sources, report, &ANNOUNCE_JITTER)?;
    let missing_after = duration(sources, report, &MISSING_AFTER)?;
    let forget_after = duration(sources, report, &FORGET_AFTER)?;
    let max_peers = match sources.pick_recorded(&MAX_PEERS, report)? {
        Some(Picked { value, origin }) => value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (2..=1_000_000).contains(n))
            .ok_or_else(|| invalid(&value, &origin, "expected a count from 2 to 1000000"))?,
        None => 10_000,
    };
    let max_skew = duration(sources, report, &MAX_SKEW)?;
    let role_pin = {
        let p = sources.pick_defaulted(&ROLE)?;
        report.record(&ROLE, Some(&p.value), &p.origin);
        Pin::parse(p.value.trim()).map_err(|e| invalid(&p.value, &p.origin, e))?
    };
    Ok(PlazaPlan {
        config: PlazaConfig {
            broker,
            require,
            read_only,
            public_url,
            newspaper_interval,
            announce_jitter,
            missing_after,
            forget_after,
            max_peers,
            role_pin,
            policy: Policy {
                max_skew: max_skew.max(std::time::Duration::from_secs(1)),
                ..Policy::default()
            },
        },
        password,
        soul,
        warnings,
    })
}

/// A switch's value (all switches have defaults).
fn switch(sources: &Sources, report: &mut Report, setting: &'static Setting) -> Result<bool, ConfigError> {
    match sources.pick_recorded(setting, report)? {
        Some(p) => parse_switch(&p.value).map_err(|e| invalid(&p.value, &p.origin, e)),
        None => Ok(false),
    }
}

/// An `http://` or `https://` URL with a host, as people would follow it.
fn parse_public_url(text: &str) -> Result<String, &'static str> {
    const FORM: &str = "expected an http:// or https:// URL";
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or(FORM)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.contains('@') {
        return Err("credentials do not belong in the public URL: every nara on the plaza and every visitor sees it");
    }
    if host.is_empty() || text.len() > 512 || !text.chars().all(|c| c.is_ascii_graphic()) {
        return Err(FORM);
    }
    Ok(text.to_string())
}

/// A broker given without a scheme (`HOST` or `HOST:PORT`, as older setups set
/// `MQTT_HOST`) is plain MQTT, as the Go nara reads it; a bare `HOST` takes its port
/// from `MQTT_PORT`, else 1883.
fn bare_host(sources: &Sources, picked: Picked) -> Result<Picked, ConfigError> {
    let port_var = MQTT_URL.fallbacks[0];
    let has_port = picked
        .value
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    let value = match sources.env().get(port_var) {
        Some(port) if !has_port => {
            port.parse::<u16>()
                .map_err(|_| invalid(port, &Origin::Env(port_var), "expected a port number"))?;
            format!("mqtt://{}:{port}", picked.value)
        }
        _ => format!("mqtt://{}", picked.value),
    };
    Ok(Picked { value, ..picked })
}

/// The soul's plan: `--soul`/`NARA_SOUL` (parsed now), else `--soul-file`, else
/// decided at start.
fn resolve_soul(sources: &Sources, report: &mut Report) -> Result<SoulPlan, ConfigError> {
    if let Some(Picked { value, origin }) = sources.pick(&SOUL)? {
        report.record(&SOUL, Some(&value), &origin);
        let source = if matches!(origin, Origin::Env(_)) {
            SoulSource::Environment
        } else {
            SoulSource::Flag
        };
        let soul = Soul::parse(&value).map_err(|e| ConfigError(format!("invalid soul in {origin}: {e}")))?;
        return Ok(SoulPlan::Given(soul, source));
    }
    if let Some(Picked { value, origin }) = sources.pick(&SOUL_FILE)? {
        report.record(&SOUL, None, format_args!("read at start from {value:?}"));
        report.record(&SOUL_FILE, Some(&value), &origin);
        return Ok(SoulPlan::File(PathBuf::from(value), origin));
    }
    report.record(
        &SOUL,
        None,
        "at start: the credential \"soul\" if systemd passes one, else derived from this machine and the name",
    );
    Ok(SoulPlan::AtStart)
}

fn read_secret_file(path: &Path, what: &str) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read the {what} file {}: {e}", path.display())))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ConfigError(format!("the {what} file {} is empty", path.display())));
    }
    Ok(trimmed.to_string())
}

impl PlazaPlan {
    /// The broker address (without credentials), for the start-up log line.
    pub fn broker_address(&self) -> Option<String> {
        self.config.broker.as_ref().map(Broker::address)
    }

    /// Reads the secrets: the soul and password files, systemd's credentials
    /// (`credentials_directory`) and, for a soul derived from the machine, its
    /// `fingerprint` (called only when needed; `None` when the machine has none). `name` is the nara's name, which a soul is bonded to.
    pub fn load(
        self,
        credentials_directory: Option<&Path>,
        fingerprint: impl FnOnce() -> Option<Fingerprint>,
        name: &str,
    ) -> Result<Loaded, ConfigError> {
        let mut config = self.config;
        let credential = |file: &str| credentials_directory.map(|dir| dir.join(file)).filter(|p| p.is_file());
        if let Some(broker) = config.broker.as_mut() {
            broker.password = match self.password {
                PasswordPlan::None => None,
                PasswordPlan::Given(secret) => Some(secret),
                PasswordPlan::File(path, origin) => Some(Secret(
                    read_secret_file(&path, "MQTT password")
                        .map_err(|e| ConfigError(format!("{e} (from {origin})")))?,
                )),
                PasswordPlan::Credential => match credential("mqtt-password") {
                    Some(path) => Some(Secret(read_secret_file(&path, "MQTT password credential")?)),
                    None => None,
                },
            };
        }
        let parse = |text: &str, from: String, source: SoulSource| {
            Soul::parse(text)
                .map(|soul| (soul, source))
                .map_err(|e| ConfigError(format!("invalid soul in {from}: {e}")))
        };
        let (soul, soul_source) = match self.soul {
            SoulPlan::Given(soul, source) => (soul, source),
            SoulPlan::File(path, origin) => {
                let text = read_secret_file(&path, "soul").map_err(|e| ConfigError(format!("{e} (from {origin})")))?;
                parse(&text, path.display().to_string(), SoulSource::File)?
            }
            SoulPlan::AtStart => match credential("soul") {
                Some(path) => {
                    let text = read_secret_file(&path, "soul credential")?;
                    parse(&text, path.display().to_string(), SoulSource::Credential)?
                }
                None => match fingerprint() {
                    Some(fingerprint) => (Soul::native(&fingerprint, name), SoulSource::Native),
                    None => (Soul::mint(name).map_err(ConfigError)?, SoulSource::Ephemeral),
                },
            },
        };
        Ok(Loaded {
            config,
            soul,
            soul_source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_parse_with_default_ports() {
        assert_eq!(
            parse_broker_url("mqtt://broker").unwrap(),
            (false, "broker".into(), 1883)
        );
        assert_eq!(
            parse_broker_url("mqtts://broker").unwrap(),
            (true, "broker".into(), 8883)
        );
        assert_eq!(
            parse_broker_url("mqtt://127.0.0.1:1999/").unwrap(),
            (false, "127.0.0.1".into(), 1999)
        );
        assert_eq!(
            parse_broker_url("mqtt://[::1]:1999").unwrap(),
            (false, "::1".into(), 1999)
        );
    }

    #[test]
    fn the_go_naras_broker_schemes_parse_and_tls_is_tls() {
        assert_eq!(parse_broker_url("tcp://b:1883").unwrap(), (false, "b".into(), 1883));
        assert_eq!(parse_broker_url("ssl://b").unwrap(), (true, "b".into(), 8883));
        assert_eq!(parse_broker_url("tls://b:8884").unwrap(), (true, "b".into(), 8884));
        assert!(parse_broker_url("ws://b").is_err());
    }

    #[test]
    fn public_urls_are_http_or_https_with_a_host() {
        assert!(parse_public_url("https://kitchen.example.org/").is_ok());
        for bad in [
            "kitchen.example.org",
            "ftp://x",
            "https://",
            "https:///path",
            "http://a b",
            "https://u:p@kitchen.example.org/",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_broker_urls_are_refused() {
        for bad in [
            "broker:1883",
            "http://broker",
            "mqtt://",
            "mqtt://b:port",
            "mqtt://[::1",
        ] {
            assert!(parse_broker_url(bad).is_err(), "{bad}");
        }
        let err = parse_broker_url("mqtt://user:hunter2@broker").unwrap_err();
        assert!(
            err.contains("--mqtt-password-file") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn addresses_carry_no_credentials() {
        let broker = Broker {
            tls: true,
            host: "b".into(),
            port: 8883,
            user: Some("u".into()),
            password: Some(Secret("hunter2".into())),
        };
        assert_eq!(broker.address(), "mqtts://b:8883");
        assert!(!format!("{broker:?}").contains("hunter2"));
    }
}
