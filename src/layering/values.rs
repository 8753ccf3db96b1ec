//! Parsers for the value kinds several settings share.

use std::time::Duration;

/// Durations such as `10s`, `500ms` or `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    humantime::parse_duration(text).map_err(|_| match text.parse::<f64>() {
        Ok(_) => format!("expected a duration with a unit, such as \"{text}s\" (or 500ms, 1m30s)"),
        Err(_) => "expected a duration such as 10s, 500ms or 1m30s".to_string(),
    })
}

/// A switch's value as a variable gives it: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`.
pub fn parse_switch(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false (or 1/0, yes/no, on/off)".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_go_and_human_forms_parse() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("ten").is_err());
        assert_eq!(
            parse_duration(" 15 "),
            Err("expected a duration with a unit, such as \"15s\" (or 500ms, 1m30s)".to_string())
        );
    }

    #[test]
    fn switches_take_the_usual_spellings() {
        for on in ["true", "1", "yes", "ON"] {
            assert_eq!(parse_switch(on), Ok(true), "{on}");
        }
        for off in ["false", "0", "no", "off"] {
            assert_eq!(parse_switch(off), Ok(false), "{off}");
        }
        assert!(parse_switch("maybe").is_err());
    }
}
