//! The hooks' configuration, as `config::hooks` resolves it: each hook (a program or a
//! webhook, and the events it runs on), the time a run may take and the rate of events.
//! Also the syntax of one hook, `[EVENTS=]TARGET`, parsed here beside what it makes.

use super::event::{EventKind, EventSet};
use crate::http::client::Endpoint;
use std::path::PathBuf;
use std::time::Duration;

/// Every hook and how they run.
#[derive(Clone, Debug)]
pub(crate) struct HooksConfig {
    pub(crate) hooks: Vec<Hook>,
    /// How long a run may take before it is killed (a program's process group) or
    /// abandoned (a webhook).
    pub(crate) timeout: Duration,
    /// The most events run per minute, and at once after a quiet minute.
    pub(crate) per_minute: u32,
}

/// One hook: what it runs and on which events.
#[derive(Clone, Debug)]
pub(crate) struct Hook {
    pub(crate) events: EventSet,
    pub(crate) target: Target,
}

/// A program, run without a shell, or a URL to POST to.
#[derive(Clone)]
pub(crate) enum Target {
    Program(PathBuf),
    Webhook(Endpoint),
}

impl Target {
    /// The kind, as the metrics label it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Target::Program(_) => "program",
            Target::Webhook(_) => "webhook",
        }
    }
}

/// What a log line may show of a hook: a program's path, a webhook's scheme, host and
/// port only (its path, query and user often hold the secret that lets one post).
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Program(path) => write!(f, "{}", path.display()),
            Target::Webhook(endpoint) => write!(f, "{}", endpoint.origin()),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// Splits `[EVENTS=]TARGET`: the events before the first `=`, when what stands before
/// it is only letters, `-` and commas (a path or URL has a `/` or `:` before any `=`);
/// else every event.
fn split_filter(text: &str) -> Result<(EventSet, &str), String> {
    let Some((filter, target)) = text.split_once('=') else {
        return Ok((EventSet::all(), text));
    };
    if filter.is_empty() || !filter.chars().all(|c| c.is_ascii_alphabetic() || c == '-' || c == ',') {
        return Ok((EventSet::all(), text));
    }
    let mut events = EventSet::default();
    for name in filter.split(',') {
        let kind = EventKind::parse(name)
            .ok_or_else(|| format!("{name:?} is not an event; the events are {}", EventKind::names()))?;
        events = events.with(kind);
    }
    Ok((events, target))
}

/// A program hook, `[EVENTS=]PATH`: an absolute path, since no shell looks it up.
pub(crate) fn parse_program(text: &str) -> Result<Hook, String> {
    let (events, path) = split_filter(text)?;
    let path = PathBuf::from(path);
    if !path.is_absolute() {
        return Err(format!(
            "{:?} is not an absolute path: a hook is run without a shell, so give the program's full path (such as /usr/local/bin/page-me)",
            path.display()
        ));
    }
    Ok(Hook {
        events,
        target: Target::Program(path),
    })
}

/// A webhook, `[EVENTS=]URL` with an http:// or https:// URL. Its errors never show
/// the URL, which may hold a secret.
pub(crate) fn parse_webhook(text: &str) -> Result<Hook, String> {
    let (events, url) = split_filter(text)?;
    let endpoint = Endpoint::parse(url).map_err(|_| "expected an http:// or https:// URL with a host".to_string())?;
    Ok(Hook {
        events,
        target: Target::Webhook(endpoint),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_picks_events_and_a_bare_target_takes_them_all() {
        let hook = parse_program("missing,leave=/usr/local/bin/page").unwrap();
        assert!(hook.events.contains(EventKind::Missing) && hook.events.contains(EventKind::Leave));
        assert!(!hook.events.contains(EventKind::Join));
        assert_eq!(format!("{:?}", hook.target), "/usr/local/bin/page");
        let hook = parse_program("/opt/x=y/hook").unwrap();
        assert_eq!(hook.events, EventSet::all());
        assert_eq!(format!("{:?}", hook.target), "/opt/x=y/hook");
    }

    #[test]
    fn bad_hooks_are_named() {
        let err = parse_program("suspect=/bin/true").unwrap_err();
        assert!(err.contains("\"suspect\" is not an event"), "{err}");
        assert!(err.contains("join, leave, missing, version-change, restart"), "{err}");
        let err = parse_program("page-me").unwrap_err();
        assert!(err.contains("absolute path"), "{err}");
        let err = parse_webhook("missing=ftp://secret@example.org/token").unwrap_err();
        assert!(!err.contains("secret") && !err.contains("token"), "{err}");
    }

    #[test]
    fn a_webhook_shows_only_its_origin() {
        let hook = parse_webhook("missing=https://user:pw@hooks.example.org/services/T0/B0/XYZ?key=k").unwrap();
        assert!(hook.events.contains(EventKind::Missing));
        assert_eq!(format!("{:?}", hook.target), "https://hooks.example.org");
        let hook = parse_webhook("http://127.0.0.1:9000/hook").unwrap();
        assert_eq!(hook.target.to_string(), "http://127.0.0.1:9000");
    }
}
