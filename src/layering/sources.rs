//! The sources of settings in their order (command line, environment, `--config`
//! file, default) and the one function that picks a setting's value from them.

use super::declare::{DefaultValue, Setting, Shape};
use super::environment::Environment;
use super::error::ConfigError;
use super::file::SettingsFile;
use super::origin::Origin;
use super::report::Report;
use super::values::parse_switch;
use std::collections::BTreeMap;

/// A setting's value as text, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picked {
    /// The value as given (a switch's is `true` or `false`).
    pub value: String,
    /// Where it was found.
    pub origin: Origin,
}

/// Every place a setting can come from.
#[derive(Debug, Default)]
pub struct Sources {
    /// Values given on the command line, by setting key.
    flags: BTreeMap<&'static str, String>,
    env: Environment,
    file: Option<SettingsFile>,
}

impl Sources {
    /// `flags` holds what the command line gave, by setting key (a switch's value is
    /// `true`); `file` is the parsed `--config` file, if one was named.
    pub fn new(flags: BTreeMap<&'static str, String>, env: Environment, file: Option<SettingsFile>) -> Self {
        Sources { flags, env, file }
    }

    /// The environment, for the fallbacks a setting declares.
    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// The value of `setting` from the first source that sets it, then its default;
    /// `None` when nothing sets it and its default is not a value.
    pub fn pick(&self, setting: &'static Setting) -> Result<Option<Picked>, ConfigError> {
        if let (Some(value), Some(flag)) = (self.flags.get(setting.key), setting.flag) {
            return Ok(Some(Picked {
                value: value.clone(),
                origin: Origin::Flag(flag),
            }));
        }
        for var in setting.env {
            if let Some(value) = self.env.get(var) {
                let origin = Origin::Env(var);
                let value = match setting.shape {
                    Shape::Value => value.to_string(),
                    Shape::Switch => parse_switch(value)
                        .map_err(|e| super::invalid(value, &origin, e))?
                        .to_string(),
                };
                return Ok(Some(Picked { value, origin }));
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
                (Shape::Value, other) => return Err(super::invalid(&other.to_string(), &origin, "expected a string")),
                (Shape::Switch, other) => {
                    return Err(super::invalid(&other.to_string(), &origin, "expected true or false"));
                }
            };
            return Ok(Some(Picked { value, origin }));
        }
        Ok(match setting.default {
            DefaultValue::Value(value) => Some(Picked {
                value: value.to_string(),
                origin: Origin::Default(setting.display_name()),
            }),
            DefaultValue::Unset | DefaultValue::Described(_) => None,
        })
    }

    /// [`Sources::pick`], recording what it found (or the default's description) in
    /// `report`, for `nara check-config`.
    pub fn pick_recorded(&self, setting: &'static Setting, report: &mut Report) -> Result<Option<Picked>, ConfigError> {
        let picked = self.pick(setting)?;
        match &picked {
            Some(p) => report.record(setting, Some(&p.value), &p.origin),
            None => report.record(setting, None, setting.default_text().unwrap_or("not set")),
        }
        Ok(picked)
    }

    /// [`Sources::pick`] for a setting declared with a default value, so always a value.
    pub fn pick_defaulted(&self, setting: &'static Setting) -> Result<Picked, ConfigError> {
        self.pick(setting)?
            .ok_or_else(|| ConfigError(format!("{} has no value", setting.display_name())))
    }
}
