//! Settings from layered sources, the machinery under the declarations of the
//! configuration room: how a setting is declared, where a value can come from (flag,
//! variable, file key, default), and errors that name the source at fault.
//!
//! A value is taken from the first source that has it: the command line, then the
//! environment, then the `--config` file, then the declared default.
//!
//! A small table of our own rather than a crate: figment keeps provenance but has had
//! no release since 2024, pins an older `toml` and has no clap provider; config-rs
//! loses the source of a value. clap parses the command line only, so every value,
//! wherever it came from, is picked in one place that knows its origin.

pub(crate) mod declare;
pub(crate) mod environment;
pub(crate) mod error;
pub(crate) mod file;
pub(crate) mod origin;
pub(crate) mod report;
pub(crate) mod sources;
pub(crate) mod values;

pub use declare::{DefaultValue, Setting, Shape};
pub(crate) use declare::{LIST_SEPARATOR, list_items};
pub use environment::Environment;
pub use error::ConfigError;
pub(crate) use error::invalid;
pub(crate) use file::SettingsFile;
pub(crate) use origin::Origin;
pub(crate) use report::Report;
pub(crate) use sources::{Given, Resolved, Sources};
