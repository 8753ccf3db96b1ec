//! The declaration of one setting: every name it goes by, its default and its help,
//! written once. The command line, the TOML keys, `--help`, the provenance in errors,
//! `nara check-config` and the configuration chapter's test all read these.
//!
//! A declaration is built with `const fn`s, so it names only what is unusual about its
//! setting: `Setting::value(key, flag, VALUE_NAME)` or `Setting::switch(key, flag)`,
//! then its variables, default, help and the rest.

/// One setting of nara's, as a user can give it.
#[derive(Debug)]
pub struct Setting {
    /// The key in the `--config` file, and the setting's name in `nara check-config`.
    pub key: &'static str,
    /// The long flag without its dashes; `None` for a setting only a variable carries.
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
    pub(crate) help: &'static str,
    /// A value, or an on/off switch.
    pub shape: Shape,
    /// Never printed: `nara check-config` shows `<redacted>`, errors name only the source.
    pub(crate) secret: bool,
    /// Variables of other tools that this setting's resolver also reads (`PORT`,
    /// `RUST_LOG`, `MQTT_PORT`, `CREDENTIALS_DIRECTORY`), each through a constant
    /// declared beside the setting: listed in `--help` and the configuration reference.
    /// What each one does is the resolver's to say.
    pub also_reads: &'static [&'static str],
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
    /// Several values: the flag repeated (`--flag A --flag B`), a variable of values
    /// separated by white space (`VAR="A B"`), or in the file an array (`key = ["A",
    /// "B"]`) or a string as the variable's. Picked as one text, the items separated by
    /// newlines, which no item may hold.
    List,
}

/// What separates the items of a [`Shape::List`] setting in its picked text.
pub(crate) const LIST_SEPARATOR: char = '\n';

/// The items of a [`Shape::List`] setting's picked text.
pub(crate) fn list_items(text: &str) -> impl Iterator<Item = &str> {
    text.split(LIST_SEPARATOR).filter(|item| !item.is_empty())
}

impl Setting {
    /// A setting that takes a value shown as `value_name` in `--help`, given as the
    /// flag `--flag` or the key `key` in the `--config` file; no variable, no default.
    pub(crate) const fn value(key: &'static str, flag: &'static str, value_name: &'static str) -> Setting {
        Setting {
            key,
            flag: Some(flag),
            aliases: &[],
            env: &[],
            in_file: true,
            value_name,
            default: DefaultValue::Unset,
            help: "",
            shape: Shape::Value,
            secret: false,
            also_reads: &[],
        }
    }

    /// An on/off switch, off unless given.
    pub(crate) const fn switch(key: &'static str, flag: &'static str) -> Setting {
        Setting {
            value_name: "",
            default: DefaultValue::Value("false"),
            shape: Shape::Switch,
            ..Setting::value(key, flag, "")
        }
    }

    /// A setting of several values (see [`Shape::List`]), shown as `value_name` each.
    pub(crate) const fn list(key: &'static str, flag: &'static str, value_name: &'static str) -> Setting {
        Setting {
            shape: Shape::List,
            ..Setting::value(key, flag, value_name)
        }
    }

    /// The line `--help` shows.
    pub(crate) const fn help(self, help: &'static str) -> Setting {
        Setting { help, ..self }
    }

    /// The variables that set it, ours first.
    pub(crate) const fn env(self, env: &'static [&'static str]) -> Setting {
        Setting { env, ..self }
    }

    /// The value it has when no source sets it.
    pub(crate) const fn default(self, value: &'static str) -> Setting {
        Setting {
            default: DefaultValue::Value(value),
            ..self
        }
    }

    /// A default decided at start, described for `--help` and the docs.
    pub(crate) const fn default_described(self, how: &'static str) -> Setting {
        Setting {
            default: DefaultValue::Described(how),
            ..self
        }
    }

    /// Other spellings of the flag.
    pub(crate) const fn aliases(self, aliases: &'static [&'static str]) -> Setting {
        Setting { aliases, ..self }
    }

    /// Variables of other tools that its resolver also reads.
    pub(crate) const fn also_reads(self, also_reads: &'static [&'static str]) -> Setting {
        Setting { also_reads, ..self }
    }

    /// Not read from the `--config` file: a flag or variable only.
    pub(crate) const fn not_in_file(self) -> Setting {
        Setting { in_file: false, ..self }
    }

    /// A secret: never printed, never read from the `--config` file (others may read it).
    pub(crate) const fn secret(self) -> Setting {
        Setting {
            secret: true,
            in_file: false,
            ..self
        }
    }

    /// `--flag` as a user types it, or the first variable for a flag-less setting.
    pub(crate) fn display_name(&self) -> String {
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
