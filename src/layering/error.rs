//! A configuration problem: one line that names the source at fault.

use super::origin::Origin;
use std::fmt;

/// A configuration problem, rendered as one line (nara prints it after `nara: `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// "invalid value "x" for --flag: expected ...", the form of every value error.
pub fn invalid(value: &str, origin: &Origin, expected: impl fmt::Display) -> ConfigError {
    ConfigError(format!("invalid value {value:?} for {origin}: {expected}"))
}
