//! This nara's name: declared here, resolved from the settings, else the hostname,
//! else (for a hostname that says nothing, such as `localhost` or a container ID) a
//! friendly name derived from the machine at start.

use super::NameSource;
use crate::config::host;
use crate::config::layering::{ConfigError, Report, Resolved, Setting, Sources};
use crate::plaza::identity::validate_name;
use sha2::{Digest, Sha256};

/// `--name`: this nara's name on the plaza and in the UI.
pub(crate) static NAME: Setting = Setting::value("name", "name", "NAME")
    .aliases(&["nara-id"])
    .env(&["NARA_NAME", "NARA_ID"])
    .default_described("the hostname")
    .help("This nara's name: letters, digits, '-', '_' or '.', at most 64");

/// How the name is decided.
#[derive(Debug)]
pub(crate) enum NamePlan {
    /// Set by a flag, variable or file.
    Given(String, NameSource),
    /// The hostname, which says something about the machine.
    Hostname(String),
    /// The hostname is generic (`localhost`, a container ID): a friendly name derived
    /// from the machine-id at start (or from the hostname if there is none).
    FromMachine(Option<String>),
}

/// The name's plan: `--name` from any source, else `hostname` unless it is generic,
/// else one derived at start.
pub(crate) fn resolve(
    sources: &Sources,
    report: &mut Report,
    hostname: Option<String>,
) -> Result<NamePlan, ConfigError> {
    Ok(match sources.resolve(&NAME, report, validate_name)? {
        Some(Resolved { value, origin }) => NamePlan::Given(value, NameSource::Given(origin)),
        None => {
            let hostname = hostname.filter(|h| validate_name(h).is_ok());
            match hostname {
                Some(h) if !is_generic_hostname(&h) => {
                    report.record(&NAME, Some(&h), NameSource::Hostname);
                    NamePlan::Hostname(h)
                }
                other => {
                    report.record(&NAME, None, "at start: a friendly name derived from /etc/machine-id");
                    NamePlan::FromMachine(other)
                }
            }
        }
    })
}

impl NamePlan {
    /// The name and where it came from, reading `machine`'s machine-id only for a name
    /// derived from it.
    pub(crate) fn load(self, machine: &impl host::Machine) -> (String, NameSource) {
        match self {
            NamePlan::Given(name, source) => (name, source),
            NamePlan::Hostname(name) => (name, NameSource::Hostname),
            NamePlan::FromMachine(hostname) => match machine.machine_id() {
                Some(machine_id) => (friendly_name(&machine_id), NameSource::MachineId),
                None => (
                    friendly_name(hostname.as_deref().unwrap_or("nara")),
                    NameSource::GenericHostname,
                ),
            },
        }
    }
}

/// Hostnames that say nothing about the machine: images' defaults and container IDs.
fn is_generic_hostname(hostname: &str) -> bool {
    const GENERIC: &[&str] = &[
        "localhost",
        "raspberrypi",
        "ubuntu",
        "debian",
        "nixos",
        "fedora",
        "archlinux",
        "alpine",
        "pi",
        "host",
        "server",
        "computer",
        "(none)",
        "nara",
    ];
    let lower = hostname.to_ascii_lowercase();
    let hex_id = (lower.len() == 12 || lower.len() == 64) && lower.bytes().all(|b| b.is_ascii_hexdigit());
    GENERIC.contains(&lower.as_str()) || hex_id || lower.starts_with("ip-")
}

/// A deterministic, pronounceable name such as `quiet-heron-42`, from machine facts.
fn friendly_name(seed: &str) -> String {
    const ADJECTIVES: &[&str] = &[
        "amber", "brave", "calm", "clever", "cosy", "curious", "dapper", "eager", "gentle", "glad", "jolly", "keen",
        "lively", "lucky", "mellow", "merry", "misty", "nimble", "patient", "plucky", "proud", "quiet", "rosy", "shy",
        "sleepy", "snowy", "sunny", "swift", "tidy", "warm", "witty", "zesty",
    ];
    const ANIMALS: &[&str] = &[
        "badger", "beaver", "bison", "crane", "dingo", "falcon", "ferret", "finch", "gecko", "heron", "ibex", "koala",
        "lemur", "lynx", "marten", "newt", "okapi", "otter", "owl", "panda", "puffin", "quokka", "raven", "robin",
        "seal", "stoat", "swift", "tapir", "tern", "vole", "wombat", "yak",
    ];
    let digest = Sha256::digest(format!("nara/friendly-name/v1\0{seed}").as_bytes());
    format!(
        "{}-{}-{}",
        ADJECTIVES[digest[0] as usize % ADJECTIVES.len()],
        ANIMALS[digest[1] as usize % ANIMALS.len()],
        u16::from_be_bytes([digest[2], digest[3]]) % 100
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_hostnames_get_deterministic_friendly_names() {
        for generic in ["localhost", "raspberrypi", "3f2a9c1d0b7e", "ip-10-0-0-1"] {
            assert!(is_generic_hostname(generic), "{generic}");
        }
        assert!(!is_generic_hostname("kitchen-pi"));
        assert_eq!(friendly_name("abc"), friendly_name("abc"));
        assert_ne!(friendly_name("abc"), friendly_name("abd"));
        assert!(validate_name(&friendly_name("abc")).is_ok());
    }
}
