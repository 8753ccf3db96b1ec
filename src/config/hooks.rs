//! The event hooks' settings: declared here once each, and resolved into the
//! [`HooksConfig`] the hooks take. A hook is `[EVENTS=]PROGRAM` or `[EVENTS=]URL`
//! (the syntax is the hooks' own, in `hooks::config`).

use super::layering::values::{parse_count, parse_duration_at_least};
use super::layering::{ConfigError, Report, Setting, Sources, list_items};
use crate::hooks::config::{Hook, HooksConfig, parse_program, parse_webhook};
use std::time::Duration;

/// `--on-event`: programs run on the view's changes.
pub(crate) static ON_EVENT: Setting = Setting::list("on_event", "on-event", "[EVENTS=]PROGRAM")
    .env(&["NARA_ON_EVENT"])
    .help("Run this program (an absolute path, no shell) on each event, with the event as JSON on stdin and in variables (see the Operations chapter); EVENTS= picks some of join, leave, missing, version-change, restart (e.g. missing,leave=/usr/local/bin/page). Repeatable; in the variable, separated by spaces");

/// `--on-event-url`: webhooks POSTed the view's changes.
pub(crate) static ON_EVENT_URL: Setting = Setting::list("on_event_url", "on-event-url", "[EVENTS=]URL")
    .env(&["NARA_ON_EVENT_URL"])
    .secret()
    .help("POST each event as JSON to this http:// or https:// URL (certificate checked), EVENTS= as for --on-event. Repeatable; in the variable, separated by spaces. Its path often holds a secret: prefer the variable, which ps does not show");

/// `--on-event-timeout`: how long a hook may run.
pub(crate) static ON_EVENT_TIMEOUT: Setting = Setting::value("on_event_timeout", "on-event-timeout", "DURATION")
    .env(&["NARA_ON_EVENT_TIMEOUT"])
    .default("10s")
    .help("A hook still running after this long is killed with its process group (a program) or abandoned (a webhook), and counted as a timeout");

/// `--on-event-rate`: how many events hooks run on.
pub(crate) static ON_EVENT_RATE: Setting = Setting::value("on_event_rate", "on-event-rate", "COUNT")
    .env(&["NARA_ON_EVENT_RATE"])
    .default("30")
    .help("The most events a minute that hooks run on (1 to 10000), as many at once after a quiet minute; the others are dropped and counted");

/// The shortest timeout: a program needs a moment to start.
const MIN_TIMEOUT: Duration = Duration::from_millis(100);

/// The hooks' settings, resolved and validated. Opens nothing: a program is looked for
/// when it runs, so a missing one is a counted failure, not a refusal to start.
pub(crate) fn resolve(sources: &Sources, report: &mut Report) -> Result<HooksConfig, ConfigError> {
    let mut hooks: Vec<Hook> = Vec::new();
    if let Some(programs) = sources.resolve(&ON_EVENT, report, |text| {
        list_items(text).map(parse_program).collect::<Result<Vec<_>, _>>()
    })? {
        hooks.extend(programs.value);
    }
    if let Some(webhooks) = sources.resolve(&ON_EVENT_URL, report, |text| {
        list_items(text).map(parse_webhook).collect::<Result<Vec<_>, _>>()
    })? {
        hooks.extend(webhooks.value);
    }
    let timeout = sources
        .resolve_defaulted(&ON_EVENT_TIMEOUT, report, |t| parse_duration_at_least(t, MIN_TIMEOUT))?
        .value;
    let per_minute = sources
        .resolve_defaulted(&ON_EVENT_RATE, report, |t| parse_count(t, 1, 10_000))?
        .value;
    Ok(HooksConfig {
        hooks,
        timeout,
        per_minute: u32::try_from(per_minute).unwrap_or(10_000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::cli;
    use crate::config::layering::Environment;
    use crate::hooks::event::EventKind;

    fn resolve_from(args: &[&str], env: &[(&str, &str)], file: Option<&str>) -> Result<HooksConfig, ConfigError> {
        let sources = crate::config::sources_for_test(args, env, file)?;
        resolve(&sources, &mut Report::default())
    }

    fn targets(config: &HooksConfig) -> Vec<String> {
        config
            .hooks
            .iter()
            .map(|h| format!("{:?}={}", h.events, h.target))
            .collect()
    }

    #[test]
    fn hooks_come_from_repeated_flags_a_spaced_variable_or_an_array_in_the_file() {
        let flags = resolve_from(
            &["nara", "--on-event", "missing=/bin/a", "--on-event", "/bin/b"],
            &[],
            None,
        )
        .unwrap();
        assert_eq!(
            targets(&flags),
            ["missing=/bin/a", "join,leave,missing,version-change,restart=/bin/b"]
        );
        let env = resolve_from(&["nara"], &[("NARA_ON_EVENT", " missing=/bin/a\n/bin/b ")], None).unwrap();
        assert_eq!(targets(&env), targets(&flags));
        let file = resolve_from(&["nara"], &[], Some("on_event = [\"missing=/bin/a\", \"/bin/b\"]\n")).unwrap();
        assert_eq!(targets(&file), targets(&flags));
        let webhook = resolve_from(&["nara"], &[("NARA_ON_EVENT_URL", "leave=https://example.org/x")], None).unwrap();
        assert!(webhook.hooks[0].events.contains(EventKind::Leave));
        assert_eq!(webhook.timeout, Duration::from_secs(10));
        assert_eq!(webhook.per_minute, 30);
        assert!(resolve_from(&["nara"], &[], None).unwrap().hooks.is_empty());
    }

    #[test]
    fn check_config_shows_the_programs_as_a_list_and_never_a_webhooks_url() {
        let invocation = cli::parse(["nara", "--on-event", "missing=/bin/a", "--on-event", "/bin/b"]).unwrap();
        let env = Environment::from_pairs([("NARA_ON_EVENT_URL", "https://example.org/secret")]);
        let sources = crate::config::sources(&invocation, &env).unwrap();
        let mut report = Report::default();
        resolve(&sources, &mut report).unwrap();
        let shown = report.to_string();
        let line = |key: &str| {
            shown
                .lines()
                .find(|line| line.starts_with(&format!("{key} ")))
                .unwrap()
                .to_string()
        };
        assert!(
            line("on_event").contains(r#"= ["missing=/bin/a", "/bin/b"]"#),
            "{shown}"
        );
        assert!(line("on_event_url").contains("= <redacted>"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn a_bad_hook_is_named_with_its_source_and_a_secret_url_is_not_shown() {
        let err = resolve_from(&["nara", "--on-event", "paged=/bin/a"], &[], None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("for --on-event") && err.contains("\"paged\" is not an event"),
            "{err}"
        );
        let err = resolve_from(
            &["nara"],
            &[("NARA_ON_EVENT_URL", "mailto:ops-secret@example.org")],
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("NARA_ON_EVENT_URL") && !err.contains("secret"), "{err}");
        let err = resolve_from(&["nara"], &[], Some("on_event = [1]\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("on_event") && err.contains("strings"), "{err}");
        let err = resolve_from(&["nara"], &[], Some("on_event_url = \"https://example.org/secret\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`on_event_url` is a secret") && err.contains("set NARA_ON_EVENT_URL"),
            "{err}"
        );
        assert!(!err.contains("example.org"), "{err}");
        let err = resolve_from(&["nara", "--on-event-rate", "0"], &[], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--on-event-rate"), "{err}");
    }
}
