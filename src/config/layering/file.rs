//! The `--config` file: TOML whose keys are the declared settings' keys. An unknown
//! key is an error naming the key, the file and the line, never silently ignored.

use super::declare::Setting;
use super::error::ConfigError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A parsed `--config` file: each key's value.
#[derive(Debug)]
pub(crate) struct SettingsFile {
    path: PathBuf,
    entries: BTreeMap<String, toml::Value>,
}

/// The line (from 1) that byte `offset` of `text` is on.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl SettingsFile {
    /// Reads and parses `path`, refusing keys that no setting in `known` declares.
    pub(crate) fn load(path: &Path, known: &[&Setting]) -> Result<SettingsFile, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
        Self::parse(path, &text, known)
    }

    /// Parses `text` as the contents of `path`.
    fn parse(path: &Path, text: &str, known: &[&Setting]) -> Result<SettingsFile, ConfigError> {
        let table: BTreeMap<String, toml::Spanned<toml::Value>> = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|span| format!(" line {}", line_of(text, span.start)))
                .unwrap_or_default();
            ConfigError(format!("config file {}{at}: {}", path.display(), e.message().trim()))
        })?;
        let mut entries = BTreeMap::new();
        for (key, value) in table {
            if !known.iter().any(|s| s.in_file && s.key == key) {
                let mut keys: Vec<&str> = known.iter().filter(|s| s.in_file).map(|s| s.key).collect();
                keys.sort_unstable();
                let line = line_of(text, value.span().start);
                // A secret (`soul`) is kept out of a file others may read; its file
                // setting (`soul_file`) is what belongs there.
                let file_key = format!("{key}_file");
                if known.iter().any(|s| s.key == key) && keys.contains(&file_key.as_str()) {
                    return Err(ConfigError(format!(
                        "config file {} line {line}: `{key}` is a secret and is not read from a config file; \
                         put it in a file only nara can read and set `{file_key}` to its path",
                        path.display()
                    )));
                }
                // A secret with no file setting (a webhook's URL) comes from a variable.
                if let Some(secret) = known.iter().find(|s| s.key == key && s.secret) {
                    let variable = secret.env.first().copied().unwrap_or("its variable");
                    return Err(ConfigError(format!(
                        "config file {} line {line}: `{key}` is a secret and is not read from a config file; \
                         set {variable} in nara's environment instead (a systemd EnvironmentFile, a Kubernetes Secret)",
                        path.display()
                    )));
                }
                return Err(ConfigError(format!(
                    "config file {} line {line}: unknown key `{key}`; the keys are {}",
                    path.display(),
                    keys.join(", ")
                )));
            }
            entries.insert(key, value.into_inner());
        }
        Ok(SettingsFile {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// The file as it was named.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The value under `key`, if the file sets it.
    pub(crate) fn get(&self, key: &str) -> Option<&toml::Value> {
        self.entries.get(key)
    }
}
