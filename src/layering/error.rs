//! A configuration problem: one line that names the source at fault, and never a
//! credential a value carried.

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
pub fn invalid(value: &str, origin: &Origin, expected: impl fmt::Display) -> ConfigError {
    let value = redact_userinfo(value);
    ConfigError(format!("invalid value {value:?} for {origin}: {expected}"))
}

/// `text` with the user information of every `scheme://…@` in it replaced by
/// `<redacted>`, so an error or log line that shows a URL never shows its password.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, after) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = after.find(['/', '?', '#', ' ', '"']).unwrap_or(after.len());
        match after[..authority_end].rfind('@') {
            Some(userinfo_end) => {
                out.push_str("<redacted>");
                rest = &after[userinfo_end..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_redacted() {
        assert_eq!(redact_userinfo("mqtt://u:hunter2@b:1883"), "mqtt://<redacted>@b:1883");
        assert_eq!(redact_userinfo("mqtts://token@b/x@y"), "mqtts://<redacted>@b/x@y");
        assert_eq!(
            redact_userinfo("a mqtt://b and https://u:p@c/d"),
            "a mqtt://b and https://<redacted>@c/d"
        );
        assert_eq!(redact_userinfo("mqtt://p@ss:w@rd@h"), "mqtt://<redacted>@h");
        assert_eq!(redact_userinfo("no url"), "no url");
    }

    #[test]
    fn a_value_error_never_shows_the_password() {
        let err = invalid("mqtt://u:hunter2@b", &Origin::Flag("mqtt-url"), "no credentials here");
        assert!(!err.0.contains("hunter2"), "{err}");
        assert!(
            err.0.contains("mqtt://<redacted>@b") && err.0.contains("--mqtt-url"),
            "{err}"
        );
    }
}
