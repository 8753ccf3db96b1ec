//! The sources of settings in their order (command line, environment, `--config`
//! file, default), the one function that picks a setting's text from them
//! ([`Sources::pick`]), and the one that resolves a setting: picks, records, parses,
//! and names the source of a bad value ([`Sources::resolve`]).

use super::declare::{DefaultValue, LIST_SEPARATOR, Setting, Shape};
use super::environment::Environment;
use super::error::{ConfigError, invalid_value, invalid_written};
use super::file::SettingsFile;
use super::origin::Origin;
use super::report::Report;
use super::values::{parse_flag_switch, parse_switch};
use std::collections::BTreeMap;
use std::fmt;

/// A setting's value and where it came from: as text when picked (a switch's is
/// `true` or `false`), parsed when resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resolved<T> {
    pub(crate) value: T,
    pub(crate) origin: Origin,
}

/// A setting given on the command line: its text, and the flag as it was typed, which
/// errors and `nara check-config` name (`--name`, or the Go nara's `-nara-id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Given {
    /// The value; a switch's as typed after `=` (`true` when given bare), checked when
    /// it is picked.
    pub(crate) value: String,
    /// The flag, dashes included.
    pub(crate) typed: String,
}

/// Every place a setting can come from.
#[derive(Debug, Default)]
pub(crate) struct Sources {
    /// Values given on the command line, by setting key.
    flags: BTreeMap<&'static str, Given>,
    env: Environment,
    file: Option<SettingsFile>,
}

impl Sources {
    /// `flags` holds what the command line gave, by setting key; `file` is the parsed
    /// `--config` file, if one was named.
    pub(crate) fn new(flags: BTreeMap<&'static str, Given>, env: Environment, file: Option<SettingsFile>) -> Self {
        Sources { flags, env, file }
    }

    /// The environment, for the variables of other tools a resolver reads (those its
    /// setting lists in `also_reads`).
    pub(crate) fn env(&self) -> &Environment {
        &self.env
    }

    /// The text of `setting` from the first source that sets it, then its default;
    /// `None` when nothing sets it and its default is not a value. Records nothing:
    /// [`Sources::resolve`] is the way to a value; this is for the few settings that
    /// `nara check-config` shows only when given (`--config`, `--soul-file`) or never
    /// (`--verbose`, folded into the log level).
    pub(crate) fn pick(&self, setting: &'static Setting) -> Result<Option<Resolved<String>>, ConfigError> {
        if let Some(Given { value, typed }) = self.flags.get(setting.key) {
            let origin = Origin::Flag(typed.clone());
            let value = match setting.shape {
                // Each occurrence of the flag one item, already joined.
                Shape::Value | Shape::List => value.clone(),
                // As the Go nara's flag package reads `-read-only=false`.
                Shape::Switch => parse_flag_switch(value)
                    .map_err(|e| super::invalid(value, &origin, e))?
                    .to_string(),
            };
            return Ok(Some(Resolved { value, origin }));
        }
        for var in setting.env {
            if let Some(value) = self.env.get(var) {
                let origin = Origin::Env(var);
                let value = match setting.shape {
                    Shape::Value => value.to_string(),
                    Shape::List => split_list(value),
                    Shape::Switch => parse_switch(value)
                        .map_err(|e| super::invalid(value, &origin, e))?
                        .to_string(),
                };
                return Ok(Some(Resolved { value, origin }));
            }
        }
        if let Some(file) = self.file.as_ref().filter(|_| setting.in_file)
            && let Some(value) = file.get(setting.key)
        {
            let origin = Origin::File {
                key: setting.key,
                path: file.path().to_path_buf(),
            };
            let value = match (setting.shape, value) {
                (Shape::Value, toml::Value::String(text)) => text.clone(),
                // `plaza_max_peers = 500` and `shutdown_grace = 15` mean what they say;
                // the setting's own parser names what a bare number lacks.
                (Shape::Value, toml::Value::Integer(n)) => n.to_string(),
                (Shape::Switch, toml::Value::Boolean(on)) => on.to_string(),
                (Shape::List, toml::Value::String(text)) => split_list(text),
                (Shape::List, toml::Value::Array(items)) => {
                    let mut texts = Vec::with_capacity(items.len());
                    for item in items {
                        match item.as_str() {
                            Some(text) if !text.contains(LIST_SEPARATOR) => texts.push(text),
                            _ => {
                                let expected =
                                    format!("expected strings without line breaks: {} = [\"…\", \"…\"]", setting.key);
                                return Err(invalid_written(&item.to_string(), &origin, expected));
                            }
                        }
                    }
                    texts.join(&LIST_SEPARATOR.to_string())
                }
                // Shown as TOML, as it was written (`"yes"`, `1`), with what to write.
                (Shape::Value, other) => {
                    let expected = format!("expected a string, in quotes: {} = \"…\"", setting.key);
                    return Err(invalid_written(&other.to_string(), &origin, expected));
                }
                (Shape::List, other) => {
                    let expected = format!("expected an array of strings: {} = [\"…\", \"…\"]", setting.key);
                    return Err(invalid_written(&other.to_string(), &origin, expected));
                }
                (Shape::Switch, other) => {
                    let expected = format!("expected true or false, unquoted: {} = true", setting.key);
                    return Err(invalid_written(&other.to_string(), &origin, expected));
                }
            };
            return Ok(Some(Resolved { value, origin }));
        }
        Ok(match setting.default {
            DefaultValue::Value(value) => Some(Resolved {
                value: value.to_string(),
                origin: Origin::Default(setting.display_name()),
            }),
            DefaultValue::Unset | DefaultValue::Described(_) => None,
        })
    }

    /// The value of `setting` from the first source that sets it, else its declared
    /// default, parsed by `parse` and recorded in `report` for `nara check-config` (when
    /// unset, with what its default says). A value `parse` refuses is an error that names
    /// where it came from, and shows it unless the setting is secret. `None` when nothing
    /// sets it and its default is not a value.
    pub(crate) fn resolve<T, E: fmt::Display>(
        &self,
        setting: &'static Setting,
        report: &mut Report,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<Resolved<T>>, ConfigError> {
        let Some(Resolved { value, origin }) = self.pick(setting)? else {
            report.record(setting, None, setting.default_text().unwrap_or("not set"));
            return Ok(None);
        };
        report.record(setting, Some(&value), &origin);
        let parsed = parse(&value).map_err(|e| invalid_value(setting, &value, &origin, e))?;
        Ok(Some(Resolved { value: parsed, origin }))
    }

    /// [`Sources::resolve`] for a setting declared with a default value, so always a value.
    pub(crate) fn resolve_defaulted<T, E: fmt::Display>(
        &self,
        setting: &'static Setting,
        report: &mut Report,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Resolved<T>, ConfigError> {
        self.resolve(setting, report, parse)?
            .ok_or_else(|| ConfigError(format!("{} has no value", setting.display_name())))
    }
}

/// A list given as one text (a variable, a string in the file): its items are separated
/// by white space.
fn split_list(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(&LIST_SEPARATOR.to_string())
}
