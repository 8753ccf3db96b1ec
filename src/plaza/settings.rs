//! The plaza's settings, resolved with the rest of the configuration: the broker and
//! its credentials, the timings, and which soul to use.
//!
//! Secrets (the soul, the broker password) are never echoed: errors about them name
//! where they came from and what is wrong, not the value.

use super::identity::{Soul, SoulSource};
use super::message::Policy;
use crate::cli::Cli;
use crate::config::{ConfigError, Environment, FileSettings, Layered, Origin, invalid, parse_duration};
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// A secret string whose `Debug` does not show it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
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
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
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

#[derive(Clone, Debug)]
pub struct PlazaConfig {
    /// None: this nara runs alone.
    pub broker: Option<Broker>,
    pub require: bool,
    pub newspaper_interval: Duration,
    pub announce_jitter: Duration,
    pub missing_after: Duration,
    pub policy: Policy,
}

impl Default for PlazaConfig {
    /// No broker, and the defaults the flags document.
    fn default() -> Self {
        PlazaConfig {
            broker: None,
            require: false,
            newspaper_interval: Duration::from_secs(30),
            announce_jitter: Duration::from_secs(5),
            missing_after: Duration::from_secs(300),
            policy: Policy::default(),
        }
    }
}

/// Parses `mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]` (ports default to 1883, 8883).
pub fn parse_broker_url(text: &str) -> Result<(bool, String, u16), String> {
    const FORM: &str = "expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]";
    let (tls, rest) = if let Some(rest) = text.strip_prefix("mqtts://") {
        (true, rest)
    } else if let Some(rest) = text.strip_prefix("mqtt://") {
        (false, rest)
    } else {
        return Err(FORM.to_string());
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

fn read_secret_file(path: &Path, what: &str) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read the {what} file {}: {e}", path.display())))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ConfigError(format!("the {what} file {} is empty", path.display())));
    }
    Ok(trimmed.to_string())
}

/// The plaza part of the configuration.
pub fn resolve_plaza(layers: &Layered, cli: &Cli, env: &Environment) -> Result<PlazaConfig, ConfigError> {
    let file: &FileSettings = layers.file;
    let broker_url = match layers.pick(
        "mqtt_url",
        "mqtt-url",
        "NARA_MQTT_URL",
        cli.mqtt_url.as_deref(),
        file.mqtt_url.as_ref(),
    ) {
        Some(found) => Some(found),
        None => env.mqtt_host.as_ref().map(|host| {
            let port = env.mqtt_port.clone().unwrap_or_else(|| "1883".into());
            (format!("mqtt://{host}:{port}"), Origin::Env("MQTT_HOST/MQTT_PORT"))
        }),
    };
    let broker = match broker_url {
        None => None,
        Some((url, origin)) => {
            let (tls, host, port) = parse_broker_url(&url).map_err(|e| invalid(&url, &origin, e))?;
            let user = layers
                .pick(
                    "mqtt_user",
                    "mqtt-user",
                    "NARA_MQTT_USER",
                    cli.mqtt_user.as_deref(),
                    file.mqtt_user.as_ref(),
                )
                .map(|(user, _)| user);
            let password_file = layers
                .pick(
                    "mqtt_password_file",
                    "mqtt-password-file",
                    "NARA_MQTT_PASSWORD_FILE",
                    cli.mqtt_password_file.as_deref().and_then(Path::to_str),
                    file.mqtt_password_file.as_ref(),
                )
                .map(|(path, _)| path);
            let credential = env
                .credentials_directory
                .as_ref()
                .map(|dir| Path::new(dir).join("mqtt-password"))
                .filter(|path| path.is_file());
            let password = match (&password_file, &env.mqtt_password, credential) {
                (Some(path), _, _) => Some(Secret(read_secret_file(Path::new(path), "MQTT password")?)),
                (None, Some(password), _) => Some(Secret(password.clone())),
                (None, None, Some(path)) => Some(Secret(read_secret_file(&path, "MQTT password credential")?)),
                (None, None, None) => None,
            };
            Some(Broker {
                tls,
                host,
                port,
                user,
                password,
            })
        }
    };

    let duration =
        |id: &'static str, flag: &'static str, env_name: &'static str, cli_value: &str, file_value: Option<&String>| {
            let (text, origin) = layers
                .pick(id, flag, env_name, Some(cli_value), file_value)
                .expect("has a default");
            parse_duration(&text).map_err(|e| invalid(&text, &origin, e))
        };
    let require = match layers.matches.value_source("require_plaza") {
        Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable) => cli.require_plaza,
        _ => file.require_plaza.unwrap_or(false),
    };
    let max_skew = duration(
        "plaza_max_skew",
        "plaza-max-skew",
        "NARA_PLAZA_MAX_SKEW",
        &cli.plaza_max_skew,
        file.plaza_max_skew.as_ref(),
    )?;
    Ok(PlazaConfig {
        broker,
        require,
        newspaper_interval: duration(
            "plaza_newspaper_interval",
            "plaza-newspaper-interval",
            "NARA_PLAZA_NEWSPAPER_INTERVAL",
            &cli.plaza_newspaper_interval,
            file.plaza_newspaper_interval.as_ref(),
        )?
        .max(Duration::from_millis(100)),
        announce_jitter: duration(
            "plaza_announce_jitter",
            "plaza-announce-jitter",
            "NARA_PLAZA_ANNOUNCE_JITTER",
            &cli.plaza_announce_jitter,
            file.plaza_announce_jitter.as_ref(),
        )?,
        missing_after: duration(
            "plaza_missing_after",
            "plaza-missing-after",
            "NARA_PLAZA_MISSING_AFTER",
            &cli.plaza_missing_after,
            file.plaza_missing_after.as_ref(),
        )?,
        policy: Policy {
            max_skew_s: max_skew.as_secs().max(1),
            ..Policy::default()
        },
    })
}

/// The soul, from the first of: --soul/NARA_SOUL, --soul-file (flag, env or file),
/// the systemd credential `soul`, a native soul from /etc/machine-id, a random one.
pub fn resolve_soul(
    layers: &Layered,
    cli: &Cli,
    env: &Environment,
    name: &str,
) -> Result<(Soul, SoulSource), ConfigError> {
    let parse = |text: &str, from: String, source: SoulSource| {
        Soul::parse(text)
            .map(|soul| (soul, source))
            .map_err(|e| ConfigError(format!("invalid soul in {from}: {e}")))
    };
    if let Some((text, origin)) = layers.pick("soul", "soul", "NARA_SOUL", cli.soul.as_deref(), None) {
        let source = if matches!(origin, Origin::Env(_)) {
            SoulSource::Environment
        } else {
            SoulSource::Flag
        };
        return parse(&text, origin.to_string(), source);
    }
    let soul_file = layers.pick(
        "soul_file",
        "soul-file",
        "NARA_SOUL_FILE",
        cli.soul_file.as_deref().and_then(Path::to_str),
        layers.file.soul_file.as_ref(),
    );
    if let Some((path, origin)) = soul_file {
        let text =
            read_secret_file(Path::new(&path), "soul").map_err(|e| ConfigError(format!("{e} (from {origin})")))?;
        return parse(&text, path, SoulSource::File);
    }
    if let Some(dir) = &env.credentials_directory {
        let path = Path::new(dir).join("soul");
        if path.is_file() {
            let text = read_secret_file(&path, "soul credential")?;
            return parse(&text, path.display().to_string(), SoulSource::Credential);
        }
    }
    match &env.machine_id {
        Some(machine_id) => Ok((Soul::native(machine_id, name), SoulSource::Native)),
        None => Soul::mint(name)
            .map(|soul| (soul, SoulSource::Ephemeral))
            .map_err(ConfigError),
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
