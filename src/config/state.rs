//! The state directory's settings: declared here once each, and resolved into the
//! [`StateConfig`] the state directory takes (see `plaza::state_dir`). Under systemd,
//! `STATE_DIRECTORY` (what `StateDirectory=` makes) stands in for `--state-dir` when no
//! source sets it.

use super::layering::values::parse_duration_at_least;
use super::layering::{ConfigError, Report, Setting, Sources};
use crate::plaza::state_dir::StateConfig;
use std::path::PathBuf;
use std::time::Duration;

/// `--state-dir`: where the view is kept across restarts.
pub(crate) static STATE_DIR: Setting = Setting::value("state_dir", "state-dir", "PATH")
    .env(&["NARA_STATE_DIR"])
    .also_reads(&[STATE_DIRECTORY])
    .default_described("$STATE_DIRECTORY under systemd, else none (in memory only)")
    .help("Keep the view (first seen, version history, restarts, key pins, replay anchors) in this directory across restarts; made if missing. Under systemd, $STATE_DIRECTORY when no source sets it");

/// What systemd's `StateDirectory=` sets: the directories it made, separated by `:`.
pub(crate) const STATE_DIRECTORY: &str = "STATE_DIRECTORY";

/// `--state-save-interval`: how often the view is saved.
pub(crate) static STATE_SAVE_INTERVAL: Setting =
    Setting::value("state_save_interval", "state-save-interval", "DURATION")
        .env(&["NARA_STATE_SAVE_INTERVAL"])
        .default("60s")
        .help("How often the view is saved to the state directory when it changed (at least 1s); also at shutdown. After a SIGKILL, what changed since the last save is lost");

/// The shortest save interval: each save writes and syncs a file of up to megabytes.
const MIN_SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// The state directory's settings, resolved. Opens nothing: a directory that cannot be
/// made or written costs a warning at start, not a refusal.
pub(crate) fn resolve(sources: &Sources, report: &mut Report) -> Result<StateConfig, ConfigError> {
    let parse_path = |text: &str| {
        if text.is_empty() {
            Err("expected a directory path".to_string())
        } else {
            Ok(PathBuf::from(text))
        }
    };
    let mut dir = sources.resolve(&STATE_DIR, report, parse_path)?.map(|r| r.value);
    if dir.is_none()
        && let Some(listed) = sources.env().get(STATE_DIRECTORY)
        && let Some(first) = listed.split(':').find(|p| !p.is_empty())
    {
        report.record(&STATE_DIR, Some(first), STATE_DIRECTORY);
        dir = Some(PathBuf::from(first));
    }
    let save_every = sources
        .resolve_defaulted(&STATE_SAVE_INTERVAL, report, |t| {
            parse_duration_at_least(t, MIN_SAVE_INTERVAL)
        })?
        .value;
    Ok(StateConfig { dir, save_every })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_from(args: &[&str], env: &[(&str, &str)]) -> Result<StateConfig, ConfigError> {
        let sources = crate::config::sources_for_test(args, env, None)?;
        resolve(&sources, &mut Report::default())
    }

    #[test]
    fn the_flag_wins_over_systemds_directory_whose_first_path_is_taken_otherwise() {
        let systemd = [("STATE_DIRECTORY", "/var/lib/nara:/var/lib/other")];
        let flag = resolve_from(&["nara", "--state-dir", "/srv/nara"], &systemd).unwrap();
        assert_eq!(flag.dir, Some(PathBuf::from("/srv/nara")));
        let env = resolve_from(&["nara"], &systemd).unwrap();
        assert_eq!(env.dir, Some(PathBuf::from("/var/lib/nara")));
        let ours = resolve_from(&["nara"], &[("NARA_STATE_DIR", "/a"), ("STATE_DIRECTORY", "/b")]).unwrap();
        assert_eq!(ours.dir, Some(PathBuf::from("/a")));
        let none = resolve_from(&["nara"], &[]).unwrap();
        assert_eq!((none.dir, none.save_every), (None, Duration::from_secs(60)));
    }

    #[test]
    fn a_bad_value_is_named_with_its_source() {
        let err = resolve_from(&["nara", "--state-save-interval", "10ms"], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--state-save-interval"), "{err}");
        let err = resolve_from(&["nara", "--state-dir", ""], &[]).unwrap_err().to_string();
        assert!(err.contains("--state-dir"), "{err}");
    }
}
