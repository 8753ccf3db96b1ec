//! The state directory (`--state-dir`): the view kept across this nara's restarts, so
//! that a restarted observer still knows each nara's first seen, version history and
//! restarts, still holds every key pin, and still refuses the replays it refused (the
//! freshness anchors of `freshness.rs`). Without one, the view lives in memory only.
//!
//! - **One file**, `view.json`: a format version, the soul's ID and name it belongs
//!   to, then the entries of `view/saved.rs`, each at most `ENTRY_MAX_BYTES`. The file
//!   is therefore at most [`max_bytes`] for `--plaza-max-peers`; a larger one is not
//!   read, and a save that would be larger is not written.
//! - **Saved** every `--state-save-interval` when it changed, and once more at
//!   shutdown; written to a temporary file in the same directory, synced, renamed over
//!   the old one and the directory synced, so that a crash at any moment leaves the old
//!   file or the new one, never a mix.
//! - **Restored** at start, before the plaza is heard. A file that cannot be used (not
//!   JSON, a newer format, another nara's, too large) costs one warning naming it and a
//!   fresh view, never a refusal to start; it is renamed aside (`view.json.newer`, …)
//!   rather than overwritten.
//! - **One writer**: the process that holds the lock on `lock` (an advisory `flock`,
//!   released by the kernel when the process ends, however it ends). Another process
//!   pointed at the same directory (a canary started by hand with the same soul) reads
//!   the saved view, says that it will not save, and never writes.

use super::Plaza;
use super::view::{SavedDeparted, SavedPeer, SavedView, encode_departed, encode_peer};
use crate::metrics::Metrics;
use serde::Deserialize;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The format this release writes; a file of a later one is set aside, never read.
pub(crate) const FORMAT: u32 = 1;
/// The file the view is kept in.
const FILE: &str = "view.json";
/// Where a save is written before it is renamed over [`FILE`].
const TEMP: &str = "view.json.tmp";
/// The file whose lock makes one process the writer.
const LOCK: &str = "lock";
/// The bytes the file takes beyond its entries: the format, the soul's ID (a hex
/// digest) and its name (at most 64 characters), with room to spare.
const HEADER_MAX_BYTES: u64 = 4096;

/// The state directory's settings, as the configuration room resolved them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateConfig {
    /// `None`: the view lives in memory only.
    pub(crate) dir: Option<PathBuf>,
    /// How often the view is saved when it changed.
    pub(crate) save_every: Duration,
}

/// The most bytes the file may take when the view holds at most `max_peers` naras:
/// each of them and each pin of a forgotten nara (as many again) one entry.
pub(crate) fn max_bytes(max_peers: usize) -> u64 {
    let entries = 2 * u64::try_from(max_peers).unwrap_or(u64::MAX);
    let entry = u64::try_from(super::view::saved::ENTRY_MAX_BYTES).unwrap_or(u64::MAX) + 1;
    HEADER_MAX_BYTES.saturating_add(entries.saturating_mul(entry))
}

/// The file's first fields, read before the rest so that a newer format or another
/// nara's file is told from a corrupt one.
#[derive(Deserialize)]
struct Header {
    format: u32,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

/// The file whole.
#[derive(Deserialize)]
struct Kept {
    peers: Vec<SavedPeer>,
    departed: Vec<SavedDeparted>,
}

/// Why a file found at start was not restored; its suffix when set aside.
#[derive(Debug)]
enum Unusable {
    TooLarge(u64),
    Unreadable(io::Error),
    Corrupt(String),
    Newer(u32),
    Foreign { id: String, name: String },
}

impl Unusable {
    fn suffix(&self) -> &'static str {
        match self {
            Unusable::TooLarge(_) => "too-large",
            Unusable::Unreadable(_) => "unreadable",
            Unusable::Corrupt(_) => "corrupt",
            Unusable::Newer(_) => "newer",
            Unusable::Foreign { .. } => "foreign",
        }
    }

    fn describe(&self, max: u64) -> String {
        match self {
            Unusable::TooLarge(len) => {
                format!("it is {len} bytes, more than the {max} bytes a view of --plaza-max-peers naras can take")
            }
            Unusable::Unreadable(e) => format!("it cannot be read: {e}"),
            Unusable::Corrupt(e) => format!("it is not a saved view: {e}"),
            Unusable::Newer(format) => {
                format!("it is of format {format}, newer than the {FORMAT} this release reads")
            }
            Unusable::Foreign { id, name } => format!("it belongs to another nara ({name:?}, ID {id})"),
        }
    }
}

/// The state directory of a running nara.
pub(crate) struct StateDir {
    dir: PathBuf,
    /// Held while this process is the writer; `None`: another process is.
    lock: Option<fs::File>,
    max_bytes: u64,
    /// A digest of what was last written, so that an unchanged view is not written
    /// again; behind it, one save at a time.
    last_written: Mutex<Option<u64>>,
    metrics: Arc<Metrics>,
}

impl StateDir {
    /// Opens the configured directory (making it if needed), takes its lock if it can,
    /// and restores the saved view into `plaza`'s. `None` without a directory, or when
    /// it cannot be made (with a warning: nara then runs as without one).
    pub(crate) fn open(config: &StateConfig, plaza: &Plaza, metrics: Arc<Metrics>) -> Option<StateDir> {
        let dir = config.dir.clone()?;
        if let Err(e) = fs::create_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), "cannot make the state directory (--state-dir): {e}; the view lives in memory only");
            return None;
        }
        let lock = take_lock(&dir);
        let state = StateDir {
            max_bytes: max_bytes(plaza.max_peers()),
            dir,
            lock,
            last_written: Mutex::new(None),
            metrics,
        };
        for result in ["written", "unchanged", "failed"] {
            state.metrics.state_saves.with_label_values(&[result]);
        }
        state.restore(plaza);
        Some(state)
    }

    /// Whether this process writes the file.
    pub(crate) fn writes(&self) -> bool {
        self.lock.is_some()
    }

    fn file(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// Reads the file into `plaza`'s view, or says why not.
    fn restore(&self, plaza: &Plaza) {
        let file = self.file();
        match self.read(plaza) {
            Ok(None) => {
                tracing::info!(file = %file.display(), "no saved view yet: starting with a fresh one");
            }
            Ok(Some(saved)) => {
                let mut view = plaza.view();
                let restored = view.restore(saved, SystemTime::now());
                plaza.update_peer_gauges(&view);
                tracing::info!(
                    file = %file.display(),
                    naras = restored.peers,
                    pins = restored.pins,
                    "restored the view saved in the state directory"
                );
            }
            Err(unusable) => {
                let why = unusable.describe(self.max_bytes);
                if self.writes() {
                    let aside = self.dir.join(format!("{FILE}.{}", unusable.suffix()));
                    match fs::rename(&file, &aside) {
                        Ok(()) => tracing::warn!(
                            file = %file.display(),
                            "the saved view cannot be used, {why}: starting with a fresh view; the file is kept as {}",
                            aside.display()
                        ),
                        Err(e) => tracing::warn!(
                            file = %file.display(),
                            "the saved view cannot be used, {why}: starting with a fresh view; it could not be set aside ({e}), so it will be replaced at the next save"
                        ),
                    }
                } else {
                    tracing::warn!(file = %file.display(), "the saved view cannot be used, {why}: starting with a fresh view");
                }
            }
        }
    }

    /// The saved view, if there is one and it is this nara's.
    fn read(&self, plaza: &Plaza) -> Result<Option<SavedView>, Unusable> {
        let file = self.file();
        let text = match fs::File::open(&file) {
            Ok(opened) => {
                let len = opened.metadata().map_err(Unusable::Unreadable)?.len();
                if len > self.max_bytes {
                    return Err(Unusable::TooLarge(len));
                }
                let mut text = String::new();
                // Read no more than the bound, whatever the file grew to meanwhile.
                io::Read::read_to_string(&mut io::Read::take(opened, self.max_bytes + 1), &mut text)
                    .map_err(Unusable::Unreadable)?;
                if text.len() as u64 > self.max_bytes {
                    return Err(Unusable::TooLarge(text.len() as u64));
                }
                text
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Unusable::Unreadable(e)),
        };
        let header: Header = serde_json::from_str(&text).map_err(|e| Unusable::Corrupt(e.to_string()))?;
        if header.format > FORMAT {
            return Err(Unusable::Newer(header.format));
        }
        if header.format != FORMAT {
            return Err(Unusable::Corrupt(format!("format {} is unknown", header.format)));
        }
        if header.id != plaza.identity.id || header.name != plaza.identity.name {
            return Err(Unusable::Foreign {
                id: header.id,
                name: header.name,
            });
        }
        let kept: Kept = serde_json::from_str(&text).map_err(|e| Unusable::Corrupt(e.to_string()))?;
        Ok(Some(SavedView {
            peers: kept.peers,
            departed: kept.departed,
        }))
    }

    /// Writes the view if it changed since the last save and this process is the
    /// writer; returns whether the file now holds it. Blocks on the disk: call it off
    /// the async workers.
    pub(crate) fn save(&self, plaza: &Plaza) -> bool {
        if !self.writes() {
            return false;
        }
        let saved = plaza.view().saved();
        let mut last = self.last_written.lock().unwrap_or_else(|p| p.into_inner());
        let outcome = encode(&saved, &plaza.identity.id, &plaza.identity.name, self.max_bytes).and_then(|bytes| {
            let mut hasher = DefaultHasher::new();
            bytes.hash(&mut hasher);
            let digest = hasher.finish();
            if *last == Some(digest) {
                return Ok(false);
            }
            write_atomically(&self.dir, &bytes)?;
            *last = Some(digest);
            Ok(true)
        });
        let result = match &outcome {
            Ok(true) => "written",
            Ok(false) => "unchanged",
            Err(e) => {
                tracing::warn!(file = %self.file().display(), "cannot save the view: {e}");
                "failed"
            }
        };
        self.metrics.state_saves.with_label_values(&[result]).inc();
        outcome.is_ok()
    }
}

/// The lock on `dir`'s lock file, if this process can take it.
fn take_lock(dir: &Path) -> Option<fs::File> {
    let path = dir.join(LOCK);
    let opened = fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path);
    let file = match opened {
        Ok(file) => file,
        Err(e) => {
            tracing::warn!(lock = %path.display(), "cannot open the state directory's lock file: {e}; this process reads the saved view but never saves it");
            return None;
        }
    };
    match file.try_lock() {
        Ok(()) => Some(file),
        Err(fs::TryLockError::WouldBlock) => {
            tracing::warn!(
                lock = %path.display(),
                "another process holds the state directory's lock (a second nara pointed at the same --state-dir): this one reads the saved view but never saves it"
            );
            None
        }
        Err(fs::TryLockError::Error(e)) => {
            tracing::warn!(lock = %path.display(), "cannot lock the state directory: {e}; this process reads the saved view but never saves it");
            None
        }
    }
}

/// The file's bytes: the header, then each entry within its bound (an entry that
/// cannot be kept within it is left out). Refused past `max_bytes`.
fn encode(saved: &SavedView, id: &str, name: &str, max_bytes: u64) -> io::Result<Vec<u8>> {
    let mut out = String::with_capacity(256 + saved.peers.len() * 512);
    out.push_str(&format!(
        "{{\"format\":{FORMAT},\"id\":{},\"name\":{},\"peers\":[",
        serde_json::to_string(id).unwrap_or_default(),
        serde_json::to_string(name).unwrap_or_default()
    ));
    let peers = saved.peers.iter().filter_map(encode_peer);
    push_entries(&mut out, peers);
    out.push_str("],\"departed\":[");
    push_entries(&mut out, saved.departed.iter().filter_map(encode_departed));
    out.push_str("]}\n");
    if out.len() as u64 > max_bytes {
        return Err(io::Error::other(format!(
            "it would take {} bytes, more than the {max_bytes} bytes a view of --plaza-max-peers naras may take",
            out.len()
        )));
    }
    Ok(out.into_bytes())
}

fn push_entries(out: &mut String, entries: impl Iterator<Item = String>) {
    for (i, entry) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&entry);
    }
}

/// Writes `bytes` as `dir`'s file: a temporary file synced, renamed over it, the
/// directory synced, so that the rename itself survives a crash.
fn write_atomically(dir: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = dir.join(TEMP);
    let mut file = fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temp, dir.join(FILE))?;
    fs::File::open(dir)?.sync_all()
}

/// Saves `plaza`'s view every `every` while nara runs (each save on a blocking thread).
pub(crate) async fn save_periodically(state: Arc<StateDir>, plaza: Arc<Plaza>, every: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (state, plaza) = (state.clone(), plaza.clone());
        // A failed save is logged and counted by `save`; the next tick tries again.
        let _ = tokio::task::spawn_blocking(move || state.save(&plaza)).await;
    }
}

/// The last save, at shutdown.
pub(crate) async fn save_at_shutdown(state: Arc<StateDir>, plaza: Arc<Plaza>) {
    if !state.writes() {
        return;
    }
    let file = state.file();
    if tokio::task::spawn_blocking(move || state.save(&plaza))
        .await
        .unwrap_or(false)
    {
        tracing::info!(file = %file.display(), "saved the view to the state directory");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_grows_with_the_views_limit() {
        assert_eq!(max_bytes(10), 4096 + 20 * 2049);
        assert_eq!(max_bytes(10_000), 4096 + 20_000 * 2049);
    }

    #[test]
    fn a_save_past_the_bound_is_refused_and_one_within_it_parses() {
        let saved = SavedView::default();
        let bytes = encode(&saved, "id", "me", max_bytes(1)).unwrap();
        let header: Header = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            (header.format, header.id.as_str(), header.name.as_str()),
            (FORMAT, "id", "me")
        );
        let err = encode(&saved, "id", "me", 20).unwrap_err().to_string();
        assert!(err.contains("more than the 20 bytes"), "{err}");
    }

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        write_atomically(dir.path(), b"one").unwrap();
        write_atomically(dir.path(), b"two").unwrap();
        assert_eq!(fs::read(dir.path().join(FILE)).unwrap(), b"two");
        assert!(!dir.path().join(TEMP).exists());
    }

    fn saves(metrics: &Metrics, result: &str) -> u64 {
        metrics.state_saves.with_label_values(&[result]).get()
    }

    #[test]
    fn a_save_is_written_once_per_change_and_a_failed_one_is_counted() {
        use crate::plaza::identity::{Identity, Soul, SoulSource};
        let dir = tempfile::tempdir().unwrap();
        let identity = Identity::new(&Soul::mint("me").unwrap(), "me", SoulSource::Ephemeral);
        let metrics = Arc::new(Metrics::new());
        let plaza = Plaza::new(identity, crate::testing::plaza_config(), metrics.clone());
        let config = StateConfig {
            dir: Some(dir.path().join("state")),
            save_every: Duration::from_secs(60),
        };
        let state = StateDir::open(&config, &plaza, metrics.clone()).unwrap();
        assert!(state.save(&plaza));
        assert!(state.save(&plaza));
        assert_eq!((saves(&metrics, "written"), saves(&metrics, "unchanged")), (1, 1));
        let text = fs::read_to_string(state.file()).unwrap();
        assert!(text.contains("\"name\":\"me\""), "{text}");
        // The directory gone (a volume unmounted): the save fails, nara goes on.
        plaza.view().touch_self("me", 5, SystemTime::now());
        fs::remove_dir_all(dir.path().join("state")).unwrap();
        assert!(!state.save(&plaza));
        assert_eq!(saves(&metrics, "failed"), 1);
    }

    #[test]
    fn only_one_process_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let first = take_lock(dir.path());
        assert!(first.is_some());
        // A second open file description, as a second process has.
        assert!(take_lock(dir.path()).is_none());
        drop(first);
        assert!(take_lock(dir.path()).is_some());
    }
}
