//! Every setting, listed once in the order `--help` shows it and under its heading.
//! Each is declared beside the resolver that reads it (in `config::http`,
//! `config::log`, `config::identity`, `config::plaza`, `config::tags`, `config::hooks`, `config::state`,
//! `config::secrets`, and
//! `--config` itself in `config`); a setting missing here would have no flag, no file
//! key and no line in `--help`. The soul is the identity's, but `--help` has always
//! shown it first among the plaza's settings, where an operator joining a plaza looks.

use super::layering::Setting;
use super::{CONFIG, hooks, http, identity, log, plaza, secrets, state, tags};

/// nara's own settings, in the order `--help` lists them (under "Options").
pub(crate) static GENERAL: [&Setting; 16] = [
    &CONFIG,
    &http::HTTP_ADDR,
    &identity::name::NAME,
    &log::LOG_FORMAT,
    &log::LOG_LEVEL,
    &log::VERBOSE,
    &log::VERY_VERBOSE,
    &http::SHUTDOWN_GRACE,
    &http::SERVE_UI,
    &http::HTTP_MAX_EVENT_STREAMS,
    &http::HTTP_MAX_EVENT_STREAMS_PER_CLIENT,
    &http::HTTP_EVENT_STREAM_MAX_AGE,
    &http::HTTP_TRUSTED_PROXIES,
    &http::HTTP_CLIENT_IP_HEADER,
    &http::METRICS_MAX_PEERS,
    &http::METRICS_PEER_TAGS,
];

/// The plaza's settings and this nara's soul, in the order `--help` lists them (under
/// "Plaza").
pub(crate) static PLAZA: [&Setting; 25] = [
    &identity::soul::SOUL,
    &identity::soul::SOUL_FILE,
    &plaza::MQTT_URL,
    &plaza::MQTT_USER,
    &secrets::MQTT_PASSWORD_FILE,
    &secrets::MQTT_PASSWORD,
    &plaza::REQUIRE_PLAZA,
    &plaza::READ_ONLY,
    &plaza::PUBLIC_URL,
    &tags::TAG,
    &plaza::NEWSPAPER_INTERVAL,
    &plaza::FLEET_RATE,
    &plaza::ANNOUNCE_JITTER,
    &plaza::MISSING_AFTER,
    &plaza::FORGET_AFTER,
    &plaza::MAX_PEERS,
    &plaza::MAX_SKEW,
    &plaza::ROLE,
    &plaza::ROLLOUT_TARGET,
    &hooks::ON_EVENT,
    &hooks::ON_EVENT_URL,
    &hooks::ON_EVENT_TIMEOUT,
    &hooks::ON_EVENT_RATE,
    &state::STATE_DIR,
    &state::STATE_SAVE_INTERVAL,
];

/// Every setting: nara's own, then the plaza's.
pub fn all() -> impl Iterator<Item = &'static Setting> {
    GENERAL.iter().chain(PLAZA.iter()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_setting_has_help_and_its_own_key_flag_and_variables() {
        let mut keys = BTreeSet::new();
        let mut flags = BTreeSet::new();
        let mut variables = BTreeSet::new();
        for setting in all() {
            assert!(!setting.help.is_empty(), "{} has no help", setting.key);
            assert!(keys.insert(setting.key), "key {} twice", setting.key);
            for flag in setting.flag.iter().chain(setting.aliases) {
                assert!(flags.insert(*flag), "--{flag} twice");
            }
            for var in setting.env {
                assert!(variables.insert(*var), "{var} twice");
            }
        }
    }
}
