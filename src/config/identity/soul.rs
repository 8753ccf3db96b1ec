//! This nara's soul: declared here, resolved into a plan that opens nothing (given whole,
//! a file, or decided at start), and loaded at start from its file, systemd's
//! credential, the machine's fingerprint, or minted for this run.

use crate::config::host;
use crate::config::layering::{ConfigError, Origin, Report, Resolved, Setting, Sources};
use crate::config::secrets::{CREDENTIALS_DIRECTORY, credential, read_secret_file};
use crate::plaza::identity::{Fingerprint, Soul, SoulSource};
use std::path::{Path, PathBuf};

/// `--soul`: the soul itself (a flag or variable; never the file, which others read).
pub(crate) static SOUL: Setting = Setting::value("soul", "soul", "SOUL")
    .env(&["NARA_SOUL"])
    .secret()
    .default_described("derived from this machine and the name, with a warning")
    .also_reads(&[CREDENTIALS_DIRECTORY])
    .help("This nara's soul (mint one with `nara soul new`). Prefer --soul-file or a systemd credential named \"soul\": a flag's value is visible in `ps`");

/// `--soul-file`: a file holding the soul.
pub(crate) static SOUL_FILE: Setting = Setting::value("soul_file", "soul-file", "FILE")
    .env(&["NARA_SOUL_FILE"])
    .help("Read the soul from this file");

/// Where the soul will come from; only [`SoulPlan::load`] opens anything.
#[derive(Debug)]
pub(crate) enum SoulPlan {
    /// Given whole by a flag or variable, and already parsed.
    Given(Soul, SoulSource),
    /// A file to read at start.
    File(PathBuf, Origin),
    /// At start: the credential `soul`, else one derived from the machine's
    /// fingerprint, else a random soul.
    AtStart,
}

/// The soul's plan: `--soul`/`NARA_SOUL` (parsed now), else `--soul-file`, else
/// decided at start.
pub(crate) fn resolve(sources: &Sources, report: &mut Report) -> Result<SoulPlan, ConfigError> {
    if let Some(Resolved { value: soul, origin }) = sources.resolve(&SOUL, report, Soul::parse)? {
        let source = if matches!(origin, Origin::Env(_)) {
            SoulSource::Environment
        } else {
            SoulSource::Flag
        };
        return Ok(SoulPlan::Given(soul, source));
    }
    // The file is recorded only when given: unset, the soul's line says it all.
    if let Some(Resolved { value, origin }) = sources.pick(&SOUL_FILE)? {
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

impl SoulPlan {
    /// The name of systemd's credential that holds the soul.
    const CREDENTIAL: &str = "soul";

    /// Reads the soul: its file, or the credential in `credentials_directory`, else
    /// derives it from the machine's `fingerprint`, else mints one for `name`.
    pub(crate) fn load(
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
            SoulPlan::AtStart => match credential(credentials_directory, SoulPlan::CREDENTIAL) {
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

/// The machine's fingerprint from its inputs, noting in `warnings` what could not be
/// read; `None` when nothing could, since every such machine would share one soul.
pub(crate) fn fingerprint_of(inputs: &host::FingerprintInputs, warnings: &mut Vec<String>) -> Option<Fingerprint> {
    let advice = "set a soul (--soul-file) so the identity does not depend on it";
    match &inputs.host_id {
        None => warnings.push(format!(
            "no host ID could be read (DMI product UUID, /etc/machine-id, boot ID); {advice}"
        )),
        Some((_, source)) if source.ends_with("boot_id") => warnings.push(format!(
            "the host ID is the boot ID ({source}), which changes at every boot; {advice}"
        )),
        Some(_) => {}
    }
    if inputs.macs.is_empty() {
        warnings.push(format!(
            "no MAC address of an en*, eth* or wlan* card could be read; {advice}"
        ));
    }
    if inputs.host_id.is_none() && inputs.macs.is_empty() {
        return None;
    }
    let host_id = inputs.host_id.as_ref().map_or("", |(id, _)| id.as_str());
    Some(Fingerprint::of(host_id, &inputs.macs))
}
