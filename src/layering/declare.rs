//! The declaration of one setting: every name it goes by, its default and its help,
//! written once. The command line, the TOML keys, `--help`, the provenance in errors,
//! `nara check-config` and the configuration chapter's test all read these.

/// One setting of nara's, as a user can give it.
#[derive(Debug)]
pub struct Setting {
    /// The key in the `--config` file, and the setting's name in `nara check-config`.
    pub key: &'static str,
    /// The long flag without its dashes; `None` for a setting no flag may carry (a
    /// password, which `ps` would show).
    pub flag: Option<&'static str>,
    /// Other spellings of the flag that mean the same (the Go nara's), without dashes.
    pub aliases: &'static [&'static str],
    /// The environment variables that set it, ours first and then older spellings.
    pub env: &'static [&'static str],
    /// Whether the `--config` file may hold it (a soul may not: it is a secret).
    pub in_file: bool,
    /// The placeholder `--help` shows for the value (`ADDR`, `DURATION`).
    pub value_name: &'static str,
    /// What applies when no source sets it.
    pub default: DefaultValue,
    /// One line for `--help`.
    pub help: &'static str,
    /// A value, or an on/off switch.
    pub shape: Shape,
    /// Never printed: `nara check-config` shows `<redacted>`, errors name only the source.
    pub secret: bool,
    /// The `--help` section it is listed in.
    pub group: Group,
    /// Variables of other tools read when no source sets it (`PORT`, `RUST_LOG`).
    pub fallbacks: &'static [&'static str],
}

/// What a setting is when no source sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// Nothing: the feature is off or the value is found another way.
    Unset,
    /// This value, parsed as if a user had given it.
    Value(&'static str),
    /// Decided at start (the hostname, a soul from the machine-id); the text says how.
    Described(&'static str),
}

/// The kind of value a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A string: `--flag VALUE`, `VAR=VALUE`, `key = "VALUE"`.
    Value,
    /// On or off: `--flag`, `VAR=true`, `key = true`.
    Switch,
}

/// The `--help` section a setting is listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Serving HTTP, logging, shutdown.
    General,
    /// Meeting other naras over MQTT.
    Plaza,
}

impl Setting {
    /// `--flag` as a user types it, or the first variable for a flag-less setting.
    pub fn display_name(&self) -> String {
        match (self.flag, self.env.first()) {
            (Some(flag), _) => format!("--{flag}"),
            (None, Some(var)) => (*var).to_string(),
            (None, None) => self.key.to_string(),
        }
    }

    /// The default as `--help` and the docs show it, if there is one to show.
    pub fn default_text(&self) -> Option<&'static str> {
        match self.default {
            DefaultValue::Unset => None,
            DefaultValue::Value(text) | DefaultValue::Described(text) => Some(text),
        }
    }
}
