//! Parsers for the value kinds several settings share.

use std::time::Duration;

/// Durations such as `10s`, `500ms` or `1m30s`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    humantime::parse_duration(text).map_err(|_| match text.parse::<f64>() {
        Ok(_) => format!("expected a duration with a unit, such as \"{text}s\" (or 500ms, 1m30s)"),
        Err(_) => "expected a duration such as 10s, 500ms or 1m30s".to_string(),
    })
}

/// A duration of at least `min`: below it, a value would do harm rather than what was
/// meant (a flood of newspapers, a replay window no clock keeps).
pub(crate) fn parse_duration_at_least(text: &str, min: Duration) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < min {
        return Err(format!(
            "expected a duration of at least {}",
            humantime::format_duration(min)
        ));
    }
    Ok(duration)
}

/// A whole number from `min` to `max`.
pub(crate) fn parse_count(text: &str, min: usize, max: usize) -> Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("expected a count from {min} to {max}"))
}

/// A number (a decimal point allowed) from `min` to `max`.
pub(crate) fn parse_number(text: &str, min: f64, max: f64) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("expected a number from {min} to {max}"))
}

/// A switch's value as a variable gives it: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`.
pub(crate) fn parse_switch(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false (or 1/0, yes/no, on/off)".to_string()),
    }
}

/// A switch's value on the command line, in the forms the Go nara's flag package takes
/// (`-read-only=false`, `-verbose=1`, `-serve-ui=F`), so its command lines keep working:
/// `true`, `True`, `TRUE`, `t`, `T`, `1` and their opposites. A bare switch is `true`.
pub(crate) fn parse_flag_switch(text: &str) -> Result<bool, String> {
    match text {
        "true" | "True" | "TRUE" | "t" | "T" | "1" => Ok(true),
        "false" | "False" | "FALSE" | "f" | "F" | "0" => Ok(false),
        _ => Err("expected true or false (or 1/0, t/f, as the Go nara's flags take them)".to_string()),
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
    fn minimum_durations_and_counts_name_their_bounds() {
        let min = Duration::from_millis(100);
        assert_eq!(parse_duration_at_least("100ms", min), Ok(min));
        assert_eq!(
            parse_duration_at_least("50ms", min),
            Err("expected a duration of at least 100ms".to_string())
        );
        assert!(
            parse_duration_at_least("soon", min)
                .unwrap_err()
                .contains("such as 10s")
        );
        assert_eq!(parse_count(" 2 ", 2, 9), Ok(2));
        assert_eq!(parse_count("10", 2, 9), Err("expected a count from 2 to 9".to_string()));
        assert!(parse_count("-1", 2, 9).is_err());
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

    #[test]
    fn flags_take_the_go_flag_packages_boolean_forms_and_no_others() {
        for on in ["true", "True", "TRUE", "t", "T", "1"] {
            assert_eq!(parse_flag_switch(on), Ok(true), "{on}");
        }
        for off in ["false", "False", "FALSE", "f", "F", "0"] {
            assert_eq!(parse_flag_switch(off), Ok(false), "{off}");
        }
        // Go's strconv.ParseBool refuses these, and so does nara.
        for neither in ["", "yes", "tRUE", "2", " true", "on"] {
            assert!(parse_flag_switch(neither).is_err(), "{neither:?}");
        }
    }
}
