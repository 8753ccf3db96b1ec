//! Who this nara is, in one room: its name (`name`: the settings, else the hostname,
//! else a friendly name from the machine), its soul (`soul`: given, a file, systemd's
//! credential, or derived from the machine), and, when the soul was minted for another
//! name, the advice an operator needs (`bond`). Resolving decides a plan that opens
//! nothing; loading at start reads what the plan names and produces the
//! [`IdentityConfig`] the identity is built from.

pub(crate) mod bond;
pub(crate) mod name;
pub(crate) mod soul;

use super::host;
use super::layering::{ConfigError, Environment, Origin};
use crate::plaza::identity::IdentityConfig;
use name::{NAME, NamePlan};
use soul::{SOUL, SOUL_FILE, SoulPlan};
use std::fmt;
use std::path::Path;

/// Where the name came from, as the advice about a soul's bond says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NameSource {
    /// A flag, a variable or a key in the `--config` file.
    Given(Origin),
    Hostname,
    /// Derived from the machine-id, the hostname being generic.
    MachineId,
    /// Derived from a generic hostname (or from nothing when there is none), the
    /// machine having no machine-id.
    GenericHostname,
}

impl NameSource {
    /// Whether the name came from the machine: a container's, pod's or Fly Machine's
    /// hostname changes with every deploy.
    pub(crate) fn is_the_machines(&self) -> bool {
        !matches!(self, NameSource::Given(_))
    }
}

impl fmt::Display for NameSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameSource::Given(origin) => write!(f, "{origin}"),
            NameSource::Hostname | NameSource::GenericHostname => f.write_str("the hostname"),
            NameSource::MachineId => f.write_str("the machine-id"),
        }
    }
}

/// The name and the soul, resolved, with nothing read yet.
#[derive(Debug)]
pub(crate) struct IdentityPlan {
    pub(crate) name: NamePlan,
    pub(crate) soul: SoulPlan,
}

impl IdentityPlan {
    /// Reads what the plan names: from `machine` its machine-id and fingerprint (only
    /// if a default needs them, noting in `warnings` what could not be read), the soul's
    /// file or credential (in `credentials_directory`), and from `env` the names a
    /// platform suggests when the soul was minted for another name.
    pub(crate) fn load(
        self,
        credentials_directory: Option<&Path>,
        machine: &impl host::Machine,
        env: &Environment,
        warnings: &mut Vec<String>,
    ) -> Result<IdentityConfig, ConfigError> {
        let (name, name_source) = self.name.load(machine);
        let fingerprint = || soul::fingerprint_of(&machine.fingerprint_inputs(), warnings);
        let (soul, soul_source) = self.soul.load(credentials_directory, fingerprint, &name)?;
        let bond_advice = bond::advice(&soul, &name, &name_source, env);
        Ok(IdentityConfig {
            name,
            soul,
            soul_source,
            bond_advice,
        })
    }
}

/// What `nara soul new` tells whoever minted a soul for `name`: keep it secret, and run
/// nara under this name, which the soul is bonded to.
pub fn minted_soul_advice(name: &str) -> String {
    format!(
        "a new soul for {name:?}; keep it secret (a file for {}, a systemd credential, or {}), and run nara with this \
         name (--name {name} or {}={name}): under another name it is another nara",
        SOUL_FILE.display_name(),
        SOUL.env[0],
        NAME.env[0],
    )
}
