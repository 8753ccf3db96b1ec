//! A configuration problem: one line that names the source at fault, and never a
//! credential a value carried.

use super::declare::Setting;
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

/// "invalid value "x" for --flag: expected ...", the form of every value error. A URL's
/// credentials (`scheme://user:password@host`) are shown as `<redacted>`.
pub(crate) fn invalid(value: &str, origin: &Origin, expected: impl fmt::Display) -> ConfigError {
    let value = redact_userinfo(value);
    ConfigError(format!("invalid value {value:?} for {origin}: {expected}"))
}

/// [`invalid`] for a value shown as it was `written` (a TOML value: `"yes"`, `1`), not
/// quoted again.
pub(crate) fn invalid_written(written: &str, origin: &Origin, expected: impl fmt::Display) -> ConfigError {
    let written = redact_userinfo(written);
    ConfigError(format!("invalid value {written} for {origin}: {expected}"))
}

/// The error for a bad `value` of `setting` from `origin`: [`invalid`], or for a secret
/// one "invalid soul in NARA_SOUL: ...", which names the source and never the value.
pub(crate) fn invalid_value(
    setting: &Setting,
    value: &str,
    origin: &Origin,
    expected: impl fmt::Display,
) -> ConfigError {
    if setting.secret {
        ConfigError(format!("invalid {} in {origin}: {expected}", setting.key))
    } else {
        invalid(value, origin, expected)
    }
}

/// `text` with the user information of a URL in it replaced by `<redacted>`: everything
/// from the first `://` (or the start, for a bare `user:pass@host`) to the last `@`,
/// whatever characters a password holds (`/`, `#`, `?`, spaces), so an error or log
/// line that shows a URL never shows its password.
pub(crate) fn redact_userinfo(text: &str) -> String {
    let Some(at) = text.rfind('@') else {
        return text.to_string();
    };
    let start = text.find("://").map_or(0, |i| i + 3).min(at);
    format!("{}<redacted>{}", &text[..start], &text[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_redacted() {
        assert_eq!(redact_userinfo("mqtt://u:hunter2@b:1883"), "mqtt://<redacted>@b:1883");
        // Up to the last `@`: a path with an `@` is hidden too, which costs nothing.
        assert_eq!(redact_userinfo("mqtts://token@b/x@y"), "mqtts://<redacted>@y");
        assert_eq!(redact_userinfo("mqtt://p@ss:w@rd@h"), "mqtt://<redacted>@h");
        for leaky in [
            "mqtt://a:S3c/ret@h",
            "mqtt://a:S3c#ret@h",
            "mqtt://a:S3c?ret@h",
            "mqtt://a:S3c ret@h",
            "mqtt:/a:S3cret@h",
            "a:S3cret@h",
        ] {
            let shown = redact_userinfo(leaky);
            assert!(!shown.contains("S3c"), "{leaky} -> {shown}");
        }
        assert_eq!(redact_userinfo("no url"), "no url");
    }

    #[test]
    fn a_value_error_never_shows_the_password() {
        let err = invalid(
            "mqtt://u:hunter2@b",
            &Origin::Flag("--mqtt-url".into()),
            "no credentials here",
        );
        assert!(!err.0.contains("hunter2"), "{err}");
        assert!(
            err.0.contains("mqtt://<redacted>@b") && err.0.contains("--mqtt-url"),
            "{err}"
        );
    }
}
