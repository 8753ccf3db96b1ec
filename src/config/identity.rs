//! Who this nara is: its name, declared here and resolved from the settings, else the
//! hostname, else a friendly name derived from the machine at start.

use super::layering::{ConfigError, Origin, Report, Resolved, Setting, Sources};
use super::{host, secrets};
use crate::plaza::identity::{friendly_name, is_generic_hostname, validate_name};

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
    Given(String, Origin),
    /// The hostname, which says something about the machine.
    Hostname(String),
    /// The hostname is generic (`localhost`, a container ID): a friendly name derived
    /// from the machine-id at start (or from the hostname if there is none).
    FromMachine(Option<String>),
}

/// The name's plan: `--name` from any source, else `hostname` unless it is generic,
/// else one derived at start.
pub(crate) fn resolve_name(
    sources: &Sources,
    report: &mut Report,
    hostname: Option<String>,
) -> Result<NamePlan, ConfigError> {
    Ok(match sources.resolve(&NAME, report, validate_name)? {
        Some(Resolved { value, origin }) => NamePlan::Given(value, origin),
        None => {
            let hostname = hostname.filter(|h| validate_name(h).is_ok());
            match hostname {
                Some(h) if !is_generic_hostname(&h) => {
                    report.record(&NAME, Some(&h), "the hostname");
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
    pub(crate) fn load(self, machine: &impl host::Machine) -> (String, String) {
        match self {
            NamePlan::Given(name, origin) => (name, origin.to_string()),
            NamePlan::Hostname(name) => (name, "the hostname".to_string()),
            NamePlan::FromMachine(hostname) => {
                let machine_id = machine.machine_id();
                let source = if machine_id.is_some() {
                    "the machine-id"
                } else {
                    "the hostname"
                };
                let seed = machine_id.as_deref().or(hostname.as_deref()).unwrap_or("nara");
                (friendly_name(seed), source.to_string())
            }
        }
    }
}

/// What `nara soul new` tells whoever minted a soul for `name`: keep it secret, and run
/// nara under this name, which the soul is bonded to.
pub fn minted_soul_advice(name: &str) -> String {
    format!(
        "a new soul for {name:?}; {}, and run nara with this name (--name {name} or {}={name}): under another name \
         it is another nara",
        secrets::KEEPING_A_SOUL,
        NAME.env[0],
    )
}
