//! The broker password (a file, given, or systemd's credential), and what every secret
//! shares (the soul's resolver in [`super::identity`] too): systemd's credentials
//! directory, and reading a secret file. Resolving decides a plan and opens nothing;
//! loading at start reads, and an error names the file or source, never the secret.

use super::layering::{ConfigError, Origin, Report, Resolved, Setting, Sources};
use crate::plaza::config::Secret;
use std::path::{Path, PathBuf};

/// The directory systemd passes a unit's credentials in: the soul and the broker
/// password are read from it at start, as the files `soul` and `mqtt-password`, when no
/// other source gives them.
pub(crate) const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

/// `--mqtt-password-file`: a file holding the broker password.
pub(crate) static MQTT_PASSWORD_FILE: Setting = Setting::value("mqtt_password_file", "mqtt-password-file", "FILE")
    .env(&["NARA_MQTT_PASSWORD_FILE"])
    .help("File holding the broker password: the safe way to give it (--mqtt-pass, below, works but `ps` shows it to every user)");

/// The broker password itself: a variable, or the Go nara's flag with a warning, since
/// `ps` shows flags.
pub(crate) static MQTT_PASSWORD: Setting = Setting::value("mqtt_password", "mqtt-pass", "PASSWORD")
    .env(&["NARA_MQTT_PASSWORD", "MQTT_PASS"])
    .secret()
    .default_described("the credential \"mqtt-password\" if systemd passes one")
    .also_reads(&[CREDENTIALS_DIRECTORY])
    .help("The broker password, when no password file is given. The flag is the Go nara's and works with a warning: `ps` shows it to every user");

/// The password's plan (`--mqtt-password-file`, else `--mqtt-pass`/`NARA_MQTT_PASSWORD`,
/// else the credential) and where an operator gives it, for the broker's refusal; a
/// password on the command line adds a warning to `warnings`.
pub(crate) fn resolve_password(
    sources: &Sources,
    report: &mut Report,
    warnings: &mut Vec<String>,
) -> Result<(PasswordPlan, String), ConfigError> {
    let text = |value: &str| Ok::<_, String>(value.to_string());
    let file = sources.resolve(&MQTT_PASSWORD_FILE, report, text)?;
    let given = sources.resolve(&MQTT_PASSWORD, report, text)?;
    if let Some(Resolved {
        origin: Origin::Flag(flag),
        ..
    }) = &given
    {
        warnings.push(format!(
            "{flag} puts the broker password on the command line, where `ps` shows it to every user; \
             use --mqtt-password-file (or a systemd credential) instead"
        ));
    }
    let sources = format!(
        "{}, {} or the credential {}",
        MQTT_PASSWORD_FILE.display_name(),
        MQTT_PASSWORD.env[0],
        PasswordPlan::CREDENTIAL
    );
    Ok((PasswordPlan::choose(file, given), sources))
}

/// Where the broker password will come from.
#[derive(Debug)]
pub(crate) enum PasswordPlan {
    /// No broker, so no password.
    None,
    /// Given whole by a flag or variable.
    Given(Secret),
    /// A file to read at start.
    File(PathBuf, Origin),
    /// The credential [`PasswordPlan::CREDENTIAL`], if systemd passes one.
    Credential,
}

impl PasswordPlan {
    /// The name of systemd's credential that holds the password.
    pub(crate) const CREDENTIAL: &str = "mqtt-password";

    /// A password file wins over a password given whole; with neither, the credential.
    pub(crate) fn choose(file: Option<Resolved<String>>, given: Option<Resolved<String>>) -> PasswordPlan {
        match (file, given) {
            (Some(file), _) => PasswordPlan::File(PathBuf::from(file.value), file.origin),
            (None, Some(given)) => PasswordPlan::Given(Secret::new(given.value)),
            (None, None) => PasswordPlan::Credential,
        }
    }

    /// Reads the password, from its file or the credential in `credentials_directory`.
    pub(crate) fn load(self, credentials_directory: Option<&Path>) -> Result<Option<Secret>, ConfigError> {
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
pub(crate) fn credential(credentials_directory: Option<&Path>, name: &str) -> Option<PathBuf> {
    credentials_directory.map(|dir| dir.join(name)).filter(|p| p.is_file())
}

/// A secret file's text, trimmed; an empty file is an error, as is an unreadable one.
pub(crate) fn read_secret_file(path: &Path, what: &str) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read the {what} file {}: {e}", path.display())))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ConfigError(format!("the {what} file {} is empty", path.display())));
    }
    Ok(trimmed.to_string())
}
