//! The plaza's configuration as the plaza takes it: the broker (with its password,
//! never shown), the timings, the role pin and the message policy. The configuration
//! room fills it in from the settings; the plaza reads it and declares no setting.

use super::message::Policy;
use super::role::Pin;
use std::fmt;
use std::time::Duration;

/// A secret string whose `Debug` does not show it.
#[derive(Clone)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The secret itself, for the one place that sends it.
    pub(crate) fn expose(&self) -> &str {
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
pub(crate) struct Broker {
    /// `mqtts://`: TLS with the system's roots.
    pub(crate) tls: bool,
    /// Host name or IP address.
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<Secret>,
    /// Where an operator gives the password (its flags, variables, credential), for the
    /// message when the broker refuses it.
    pub(crate) password_sources: String,
}

impl Broker {
    /// The address without credentials, for logs and `/api/status`.
    pub(crate) fn address(&self) -> String {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// The plaza's settings, secrets loaded. It has no `Default`: its defaults are the
/// declared ones, as `nara::testing::plaza_config()` resolves them, so a test or tool
/// runs with what a nara given no settings runs with.
#[derive(Clone, Debug)]
pub struct PlazaConfig {
    /// None: this nara runs alone.
    pub(crate) broker: Option<Broker>,
    /// Readiness waits for the broker.
    pub(crate) require: bool,
    /// Watch only: send no hello, presence or goodbye.
    pub(crate) read_only: bool,
    /// Where people reach this nara from outside, shown to others.
    pub(crate) public_url: Option<String>,
    /// The tags signed into its newspaper, automatic labels included.
    pub(crate) tags: super::tags::Tags,
    /// How often presence is sent, at least: the interval stretches with the plaza.
    pub(crate) newspaper_interval: Duration,
    /// Newspapers a second the whole plaza may send (see `cadence`).
    pub(crate) fleet_rate: f64,
    /// The longest random wait before announcing.
    pub(crate) announce_jitter: Duration,
    /// Silence after which a nara is MISSING.
    pub(crate) missing_after: Duration,
    /// How long an OFFLINE or MISSING nara stays in the view.
    pub(crate) forget_after: Duration,
    /// The most naras the view holds, this one included.
    pub max_peers: usize,
    /// Which role this process takes when others share its soul.
    pub(crate) role_pin: Pin,
    /// What a message must meet to be believed.
    pub(crate) policy: Policy,
    /// The version the fleet should run (`--rollout-target`); `None`: the newest that
    /// the naras sending a build revision run.
    pub(crate) rollout_target: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_carry_no_credentials() {
        let broker = Broker {
            tls: true,
            host: "b".into(),
            port: 8883,
            user: Some("u".into()),
            password: Some(Secret("hunter2".into())),
            password_sources: String::new(),
        };
        assert_eq!(broker.address(), "mqtts://b:8883");
        assert!(!format!("{broker:?}").contains("hunter2"));
    }
}
