//! Where the plaza's secrets will come from, and reading them at start: the soul
//! (given, a file, systemd's credential, or derived from the machine) and the broker
//! password (a file, given, or systemd's credential). Resolving the settings
//! ([`super::plaza`]) decides the plan and opens nothing; loading reads, and an error
//! names the file or source, never the secret.

use super::layering::{ConfigError, Origin, Resolved};
use crate::plaza::config::Secret;
use crate::plaza::identity::{Fingerprint, Soul, SoulSource};
use std::path::{Path, PathBuf};

/// Where the soul will come from; only [`SoulPlan::load`] opens anything.
#[derive(Debug)]
pub enum SoulPlan {
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
pub enum PasswordPlan {
    /// No broker, so no password.
    None,
    /// Given whole by a flag or variable.
    Given(Secret),
    /// A file to read at start.
    File(PathBuf, Origin),
    /// The credential [`PasswordPlan::CREDENTIAL`], if systemd passes one.
    Credential,
}

impl SoulPlan {
    /// Reads the soul: its file, or the credential in `credentials_directory`, else
    /// derives it from the machine's `fingerprint`, else mints one for `name`.
    pub fn load(
        self,
        credentials_directory: Option<&Path>,
        fingerprint: impl FnOnce() -> Option<Fingerprint>,
        name: &str,
    ) -> Result<(Soul, SoulSource), ConfigError> {
        let parse = |text: &str, from: String, source: SoulSource| {
            Soul::parse(text)
                .map(|soul| (soul, source))
                .map_err(|e| ConfigError(format!("invalid soul in {from}: {e}")))
        };
        Ok(match self {
            SoulPlan::Given(soul, source) => (soul, source),
            SoulPlan::File(path, origin) => {
                let text = read_secret_file(&path, "soul").map_err(|e| ConfigError(format!("{e} (from {origin})")))?;
                parse(&text, path.display().to_string(), SoulSource::File)?
            }
            SoulPlan::AtStart => match credential(credentials_directory, "soul") {
                Some(path) => {
                    let text = read_secret_file(&path, "soul credential")?;
                    parse(&text, path.display().to_string(), SoulSource::Credential)?
                }
                None => match fingerprint() {
                    Some(fingerprint) => (Soul::native(&fingerprint, name), SoulSource::Native),
                    None => (Soul::mint(name).map_err(ConfigError)?, SoulSource::Ephemeral),
                },
            },
        })
    }
}

impl PasswordPlan {
    /// The name of systemd's credential that holds the password.
    pub const CREDENTIAL: &str = "mqtt-password";

    /// A password file wins over a password given whole; with neither, the credential.
    pub fn choose(file: Option<Resolved<String>>, given: Option<Resolved<String>>) -> PasswordPlan {
        match (file, given) {
            (Some(file), _) => PasswordPlan::File(PathBuf::from(file.value), file.origin),
            (None, Some(given)) => PasswordPlan::Given(Secret::new(given.value)),
            (None, None) => PasswordPlan::Credential,
        }
    }

    /// Reads the password, from its file or the credential in `credentials_directory`.
    pub fn load(self, credentials_directory: Option<&Path>) -> Result<Option<Secret>, ConfigError> {
        Ok(match self {
            PasswordPlan::None => None,
            PasswordPlan::Given(secret) => Some(secret),
            PasswordPlan::File(path, origin) => Some(Secret::new(
                read_secret_file(&path, "MQTT password").map_err(|e| ConfigError(format!("{e} (from {origin})")))?,
            )),
            PasswordPlan::Credential => match credential(credentials_directory, Self::CREDENTIAL) {
                Some(path) => Some(Secret::new(read_secret_file(&path, "MQTT password credential")?)),
                None => None,
            },
        })
    }
}

/// The credential `name` in systemd's `credentials_directory`, if it is there.
fn credential(credentials_directory: Option<&Path>, name: &str) -> Option<PathBuf> {
    credentials_directory.map(|dir| dir.join(name)).filter(|p| p.is_file())
}

/// A secret file's text, trimmed; an empty file is an error, as is an unreadable one.
fn read_secret_file(path: &Path, what: &str) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read the {what} file {}: {e}", path.display())))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ConfigError(format!("the {what} file {} is empty", path.display())));
    }
    Ok(trimmed.to_string())
}
