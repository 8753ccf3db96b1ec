//! Where a value came from, so an error or `nara check-config` can point at it.

use std::fmt;
use std::path::PathBuf;

/// The source of one setting's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A command-line flag as it was typed, dashes included: `--name`, or the Go nara's
    /// `-nara-id`.
    Flag(String),
    /// An environment variable.
    Env(&'static str),
    /// A key in the `--config` file.
    File {
        /// The TOML key.
        key: &'static str,
        /// The file, as it was named.
        path: PathBuf,
    },
    /// The declared default of the setting named here (`--flag` or its key).
    Default(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => f.write_str(flag),
            Origin::Env(var) => write!(f, "{var}"),
            Origin::File { key, path } => write!(f, "{key} in {}", path.display()),
            Origin::Default(name) => write!(f, "the default of {name}"),
        }
    }
}
