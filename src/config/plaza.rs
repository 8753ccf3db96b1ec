//! The plaza's settings: declared here once each (the password's beside the other
//! secrets, in [`super::secrets`]), and resolved into the [`PlazaConfig`] the
//! plaza takes (the broker, the timings, the role, the message policy) and a plan for
//! the password.
//!
//! Resolving opens nothing: the password file is read only by [`PlazaPlan::load`], at
//! start, so `nara check-config` can validate everything else without the secret.

use super::layering::values::{parse_count, parse_duration, parse_duration_at_least, parse_number, parse_switch};
use super::layering::{ConfigError, Origin, Report, Resolved, Setting, Sources, invalid};
use super::secrets::{PasswordPlan, resolve_password};
use super::urls::{parse_broker_url, parse_public_url};
use crate::plaza::config::{Broker, PlazaConfig};
use crate::plaza::message::Policy;
use crate::plaza::role::Pin;
use crate::plaza::version;
use std::path::Path;
use std::time::Duration;

/// `--mqtt-url`: the broker; unset, nara runs alone.
pub(crate) static MQTT_URL: Setting = Setting::value("mqtt_url", "mqtt-url", "URL")
    .aliases(&["mqtt-host"])
    .env(&["NARA_MQTT_URL", "MQTT_HOST"])
    .also_reads(&[MQTT_PORT])
    .help("The plaza's MQTT broker, mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS, certificate checked; the Go nara's tcp://, ssl:// and tls:// too); unset, nara runs alone. A bare HOST takes its port from MQTT_PORT");

/// The port older setups give beside `MQTT_HOST`: a broker given as a bare host takes
/// it, else 1883.
pub(crate) const MQTT_PORT: &str = "MQTT_PORT";

/// `--mqtt-user`: the broker user name.
pub(crate) static MQTT_USER: Setting = Setting::value("mqtt_user", "mqtt-user", "USER")
    .env(&["NARA_MQTT_USER", "MQTT_USER"])
    .help("Broker user name");

/// `--require-plaza`: readiness waits for the broker.
pub(crate) static REQUIRE_PLAZA: Setting = Setting::switch("require_plaza", "require-plaza")
    .env(&["NARA_REQUIRE_PLAZA"])
    .help("Answer readiness with 503 while disconnected from the plaza");

/// `--read-only`: watch the plaza, send nothing.
pub(crate) static READ_ONLY: Setting = Setting::switch("read_only", "read-only")
    .env(&["NARA_READ_ONLY"])
    .help("Watch the plaza without sending anything: no hello, presence or goodbye");

/// `--public-url`: where people reach this nara, shown to others.
pub(crate) static PUBLIC_URL: Setting = Setting::value("public_url", "public-url", "URL")
    .env(&["NARA_PUBLIC_URL", "PUBLIC_URL"])
    .help("Where people reach this nara from outside (http:// or https://), shown in /api/status");

/// `--plaza-newspaper-interval`: how often presence is sent.
pub(crate) static NEWSPAPER_INTERVAL: Setting =
    Setting::value("plaza_newspaper_interval", "plaza-newspaper-interval", "DURATION")
        .env(&["NARA_PLAZA_NEWSPAPER_INTERVAL"])
        .default("30s")
        .help("How often to send a signed newspaper (presence) message");

/// `--plaza-fleet-rate`: the newspapers a second the whole plaza may send.
pub(crate) static FLEET_RATE: Setting = Setting::value("plaza_fleet_rate", "plaza-fleet-rate", "RATE")
    .env(&["NARA_PLAZA_FLEET_RATE"])
    .default("10")
    .help("Newspapers a second the whole plaza may send: a nara's interval stretches from --plaza-newspaper-interval to the view's size divided by this, up to a cap under --plaza-missing-after (the plaza chapter's law)");

/// `--plaza-announce-jitter`: spreads a fleet's announcements.
pub(crate) static ANNOUNCE_JITTER: Setting = Setting::value(
    "plaza_announce_jitter",
    "plaza-announce-jitter",
    "DURATION",
)
.env(&["NARA_PLAZA_ANNOUNCE_JITTER"])
.default("5s")
.help("Wait a random time up to this long before announcing, so a fleet restarting together does not announce at once");

/// `--plaza-missing-after`: silence after which a nara is MISSING.
pub(crate) static MISSING_AFTER: Setting = Setting::value("plaza_missing_after", "plaza-missing-after", "DURATION")
    .env(&["NARA_PLAZA_MISSING_AFTER"])
    .default("6m")
    .help("A nara silent for longer than this is MISSING; one that never sent a newspaper is forgotten then, and a lock-out of a Go nara by a recording ends after about this long");

/// `--plaza-forget-after`: how long a gone nara stays in the view.
pub(crate) static FORGET_AFTER: Setting = Setting::value("plaza_forget_after", "plaza-forget-after", "DURATION")
    .env(&["NARA_PLAZA_FORGET_AFTER"])
    .default("24h")
    .help("An OFFLINE or MISSING nara silent for longer than this is forgotten, its key with it");

/// `--plaza-role`: which process speaks for a soul several processes share.
pub(crate) static ROLE: Setting = Setting::value("plaza_role", "plaza-role", "ROLE")
    .env(&["NARA_PLAZA_ROLE"])
    .default("auto")
    .help("When processes share this soul, which one speaks on the plaza: auto (the newest start), active (this one) or standby (only if no other is heard)");

/// `--plaza-max-peers`: the size of the view.
pub(crate) static MAX_PEERS: Setting = Setting::value("plaza_max_peers", "plaza-max-peers", "COUNT")
    .env(&["NARA_PLAZA_MAX_PEERS"])
    .default("10000")
    .help("The most naras the view holds, this one included; a new one takes the place of one that never sent a newspaper, else of the longest silent OFFLINE or MISSING one, or is refused while all the others sent one and are ONLINE");

/// `--plaza-max-skew`: the replay window.
pub(crate) static MAX_SKEW: Setting = Setting::value("plaza_max_skew", "plaza-max-skew", "DURATION")
    .env(&["NARA_PLAZA_MAX_SKEW"])
    .default("60s")
    .help("Events signed further than this from our clock, and newspapers implying a boot this far from the one seen, are dropped as stale");

/// `--rollout-target`: the version the fleet should run.
pub(crate) static ROLLOUT_TARGET: Setting = Setting::value("rollout_target", "rollout-target", "VERSION")
    .env(&["NARA_ROLLOUT_TARGET"])
    .default_described("the newest version among naras that send a build revision (not a Go nara)")
    .help("The version the fleet should run, against which /api/rollout and the web UI count who is behind (a semantic version such as 0.2.0); unset, the newest version that a nara sending a build revision runs, so a Go nara never becomes the target");

/// The shortest newspaper interval: shorter would flood the broker and every nara on it.
const MIN_NEWSPAPER_INTERVAL: Duration = Duration::from_millis(100);

/// The slowest and the fastest plaza rates: below, a plaza of a few hundred would
/// stretch every interval to its cap; above, the rate bounds nothing a broker carries.
const FLEET_RATE_RANGE: (f64, f64) = (0.1, 100_000.0);

/// The narrowest replay window: below it, ordinary delivery delay and clock drift would
/// make fresh messages stale.
const MIN_SKEW: Duration = Duration::from_secs(1);

/// The plaza's settings, resolved and validated, with the password still unread.
#[derive(Debug)]
pub(crate) struct PlazaPlan {
    config: PlazaConfig,
    password: PasswordPlan,
    /// What an operator should hear at start (a password given as a flag).
    pub(crate) warnings: Vec<String>,
}

/// The plaza's configuration when nothing is set: no broker, and every declared
/// default; what `testing::plaza_config` hands tests, examples and fuzz targets, so a
/// changed default reaches them too.
pub(crate) fn defaults() -> PlazaConfig {
    // The declared defaults are constants, and a test resolves them.
    let plan = resolve(&Sources::default(), &mut Report::default());
    plan.expect("the declared defaults resolve").config
}

/// Resolves the plaza's settings from `sources`, opening no file.
pub(crate) fn resolve(sources: &Sources, report: &mut Report) -> Result<PlazaPlan, ConfigError> {
    let mut warnings = Vec::new();
    let broker_url = match sources.resolve(&MQTT_URL, report, text)? {
        Some(Resolved { value, origin }) if !value.contains("://") => Some(bare_host(sources, value, origin)?),
        other => other,
    };
    let (broker, password) = match broker_url {
        None => (None, PasswordPlan::None),
        Some(Resolved { value: url, origin }) => {
            let (tls, host, port) = parse_broker_url(&url).map_err(|e| invalid(&url, &origin, e))?;
            let user = sources.resolve(&MQTT_USER, report, text)?.map(|r| r.value);
            let (password, password_sources) = resolve_password(sources, report, &mut warnings)?;
            let broker = Broker {
                tls,
                host,
                port,
                user,
                password: None,
                password_sources,
            };
            (Some(broker), password)
        }
    };
    let require = sources.resolve_defaulted(&REQUIRE_PLAZA, report, parse_switch)?.value;
    let read_only = sources.resolve_defaulted(&READ_ONLY, report, parse_switch)?.value;
    let public_url = sources.resolve(&PUBLIC_URL, report, parse_public_url)?.map(|r| r.value);
    let tags = super::tags::resolve(sources, report, &mut warnings)?;
    let newspaper_interval = sources
        .resolve_defaulted(&NEWSPAPER_INTERVAL, report, |t| {
            parse_duration_at_least(t, MIN_NEWSPAPER_INTERVAL)
        })?
        .value;
    let fleet_rate = sources
        .resolve_defaulted(&FLEET_RATE, report, |t| {
            parse_number(t, FLEET_RATE_RANGE.0, FLEET_RATE_RANGE.1)
        })?
        .value;
    let announce_jitter = sources
        .resolve_defaulted(&ANNOUNCE_JITTER, report, parse_duration)?
        .value;
    let missing_after = sources.resolve_defaulted(&MISSING_AFTER, report, parse_duration)?.value;
    let forget_after = sources.resolve_defaulted(&FORGET_AFTER, report, parse_duration)?.value;
    let max_peers = sources
        .resolve_defaulted(&MAX_PEERS, report, |t| parse_count(t, 2, 1_000_000))?
        .value;
    let max_skew = sources
        .resolve_defaulted(&MAX_SKEW, report, |t| parse_duration_at_least(t, MIN_SKEW))?
        .value;
    let role_pin = sources
        .resolve_defaulted(&ROLE, report, |t| Pin::parse(t.trim()))?
        .value;
    let rollout_target = sources
        .resolve(&ROLLOUT_TARGET, report, parse_version)?
        .map(|r| r.value);
    Ok(PlazaPlan {
        config: PlazaConfig {
            broker,
            require,
            read_only,
            public_url,
            tags,
            newspaper_interval,
            fleet_rate,
            announce_jitter,
            missing_after,
            forget_after,
            max_peers,
            role_pin,
            policy: Policy::new(max_skew),
            rollout_target,
        },
        password,
        warnings,
    })
}

/// A version nara can order (`0.2.0`, `1.0.0-rc.1`), as the naras send it.
fn parse_version(value: &str) -> Result<String, String> {
    match version::problem(value) {
        None => Ok(value.to_string()),
        Some(problem) => Err(problem),
    }
}

/// A value taken as it is written.
fn text(value: &str) -> Result<String, String> {
    Ok(value.to_string())
}

/// A broker given without a scheme (`HOST` or `HOST:PORT`, as older setups set
/// `MQTT_HOST`) is plain MQTT, as the Go nara reads it; a bare `HOST` takes its port
/// from `MQTT_PORT`, else 1883.
fn bare_host(sources: &Sources, host: String, origin: Origin) -> Result<Resolved<String>, ConfigError> {
    let has_port = host.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    let value = match sources.env().get(MQTT_PORT) {
        Some(port) if !has_port => {
            port.parse::<u16>()
                .map_err(|_| invalid(port, &Origin::Env(MQTT_PORT), "expected a port number"))?;
            format!("mqtt://{host}:{port}")
        }
        _ => format!("mqtt://{host}"),
    };
    Ok(Resolved { value, origin })
}

impl PlazaPlan {
    /// The plaza's configuration, its password read from its file or from systemd's
    /// credential in `credentials_directory`.
    pub(crate) fn load(self, credentials_directory: Option<&Path>) -> Result<PlazaConfig, ConfigError> {
        let mut config = self.config;
        if let Some(broker) = config.broker.as_mut() {
            broker.password = self.password.load(credentials_directory)?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broker_learns_where_its_password_is_given_for_when_it_is_refused() {
        let invocation = super::super::cli::parse(["nara", "--mqtt-url", "mqtt://b"]).unwrap();
        let sources = Sources::new(invocation.flags, Default::default(), None);
        let plan = resolve(&sources, &mut Report::default()).unwrap();
        let broker = plan.config.broker.expect("a broker");
        assert_eq!(
            broker.password_sources,
            "--mqtt-password-file, NARA_MQTT_PASSWORD or the credential mqtt-password"
        );
    }

    #[test]
    fn the_declared_defaults_resolve_to_a_nara_alone() {
        let config = defaults();
        assert!(config.broker.is_none() && !config.require && !config.read_only);
        assert_eq!(config.role_pin, Pin::Auto);
    }

    #[test]
    fn a_rollout_target_must_be_a_version_the_naras_could_send() {
        let resolve_target = |value: &str| {
            let invocation = super::super::cli::parse(["nara", "--rollout-target", value]).unwrap();
            let sources = Sources::new(invocation.flags, Default::default(), None);
            resolve(&sources, &mut Report::default()).map(|plan| plan.config.rollout_target)
        };
        assert_eq!(resolve_target("0.2.0").unwrap(), Some("0.2.0".to_string()));
        let err = resolve_target("v0.2.0").unwrap_err().to_string();
        assert!(
            err.starts_with("invalid value \"v0.2.0\" for --rollout-target: ") && err.contains("leading \"v\""),
            "{err}"
        );
        assert_eq!(defaults().rollout_target, None);
    }

    #[test]
    fn a_fleet_rate_that_is_no_number_or_out_of_range_is_an_error_naming_the_flag() {
        for value in ["fast", "0", "-1", "NaN", "inf", "1e9"] {
            let flag = format!("--plaza-fleet-rate={value}");
            let invocation = super::super::cli::parse(["nara", flag.as_str()]).unwrap();
            let sources = Sources::new(invocation.flags, Default::default(), None);
            let err = resolve(&sources, &mut Report::default()).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("invalid value {value:?} for --plaza-fleet-rate: expected a number from 0.1 to 100000")
            );
        }
        let invocation = super::super::cli::parse(["nara", "--plaza-fleet-rate", "0.5"]).unwrap();
        let sources = Sources::new(invocation.flags, Default::default(), None);
        let config = resolve(&sources, &mut Report::default()).unwrap().config;
        assert!((config.fleet_rate - 0.5).abs() < f64::EPSILON);
        assert!((defaults().fleet_rate - 10.0).abs() < f64::EPSILON);
    }

    #[test]
    fn too_short_an_interval_or_skew_is_an_error_naming_the_flag() {
        for (flag, value, minimum) in [
            ("--plaza-newspaper-interval", "50ms", "100ms"),
            ("--plaza-max-skew", "500ms", "1s"),
        ] {
            let invocation = super::super::cli::parse(["nara", flag, value]).unwrap();
            let sources = Sources::new(invocation.flags, Default::default(), None);
            let err = resolve(&sources, &mut Report::default()).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("invalid value {value:?} for {flag}: expected a duration of at least {minimum}")
            );
        }
    }
}
