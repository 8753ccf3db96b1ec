//! What the log says of the plaza at `info`: a line when a nara joins or comes back, and
//! when one leaves (chau) or goes MISSING; and a warning when a message comes under this
//! nara's own name signed with another key. Anyone may publish on a shared broker, so
//! each kind has a bound: at most [`LINES_PER_WINDOW`] lines a [`WINDOW`] (one for the
//! warning), then, once the window is over, one line that counts the rest. A flood of
//! joins costs the journal a dozen lines a minute, never a line per message.

use super::view::{Change, ChangeKind, Status};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a bound holds: a minute, so a summary says "in the last minute".
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// Lines a window may hold of joins, and of leaves: a plaza of ten restarting together
/// is logged whole.
pub(crate) const LINES_PER_WINDOW: u32 = 10;
/// Warnings a window may hold of messages under this nara's name with another key: the
/// first says all there is to say.
const IMPOSTOR_LINES_PER_WINDOW: u32 = 1;

/// The plaza's lines at `info`, each kind within its bound.
pub(crate) struct Journal {
    arrivals: LineBudget,
    departures: LineBudget,
    impostors: LineBudget,
}

impl Journal {
    pub(crate) fn new() -> Journal {
        Journal {
            arrivals: LineBudget::new(LINES_PER_WINDOW),
            departures: LineBudget::new(LINES_PER_WINDOW),
            impostors: LineBudget::new(IMPOSTOR_LINES_PER_WINDOW),
        }
    }

    /// Logs `change` if it is a nara coming or going (`was` is its status before, if it
    /// was in the view), within the bound of its kind.
    pub(crate) fn change(&self, change: &Change, was: Option<Status>, now: Instant) {
        let peer = &change.peer;
        let (budget, held_back, what): (_, fn(u64), _) = match (change.kind, peer.status) {
            (ChangeKind::Join, Status::Online) => (&self.arrivals, arrivals_held_back, "a nara joined the plaza"),
            (ChangeKind::Change | ChangeKind::VersionChanged, Status::Online)
                if was.is_some_and(|s| s != Status::Online) =>
            {
                (&self.arrivals, arrivals_held_back, "a nara came back to the plaza")
            }
            (ChangeKind::Leave, Status::Offline) => (
                &self.departures,
                departures_held_back,
                "a nara left the plaza (it said chau)",
            ),
            (ChangeKind::Leave, Status::Missing) => (
                &self.departures,
                departures_held_back,
                "a nara went MISSING (silent for longer than --plaza-missing-after)",
            ),
            _ => return,
        };
        if budget.admit(now, held_back) {
            tracing::info!(peer = %peer.name, version = %peer.version, "{what}");
        }
    }

    /// Warns that a message of `kind` came under this nara's own `name`, signed with
    /// `public_key`, not this nara's, within its bound.
    pub(crate) fn impostor(&self, name: &str, public_key: &str, kind: &str, now: Instant) {
        if self.impostors.admit(now, impostors_held_back) {
            tracing::warn!(
                name,
                public_key,
                kind,
                "a message came under this nara's own name, signed with another key: another nara runs under this \
                 name (give one of them another name, or the same soul), or someone speaks as this one; refused, and \
                 counted in nara_plaza_messages_total{{result=\"key_mismatch\"}}"
            );
        }
    }

    /// Every second or so: a window that is over says how many lines it held back.
    pub(crate) fn tick(&self, now: Instant) {
        self.arrivals.tick(now, arrivals_held_back);
        self.departures.tick(now, departures_held_back);
        self.impostors.tick(now, impostors_held_back);
    }
}

fn arrivals_held_back(count: u64) {
    tracing::info!(
        count,
        "{count} more naras joined or came back in the last minute, not logged one by one (GET /api/peers lists them)"
    );
}

fn departures_held_back(count: u64) {
    tracing::info!(
        count,
        "{count} more naras left or went MISSING in the last minute, not logged one by one (GET /api/peers lists them)"
    );
}

fn impostors_held_back(count: u64) {
    tracing::warn!(
        count,
        "{count} more messages came under this nara's own name signed with another key in the last minute, and were \
         refused"
    );
}

/// A bound on one kind of line: at most `per_window` in a [`WINDOW`] that opens with its
/// first line; the lines past it are counted, and the count is said once the window is
/// over (at the next line or tick).
struct LineBudget {
    per_window: u32,
    window: Mutex<Window>,
}

/// The window under way, if any.
#[derive(Debug, Default)]
struct Window {
    began: Option<Instant>,
    written: u32,
    held_back: u64,
}

impl Window {
    /// Closes the window if it is over at `now`, and returns how many lines it held back.
    fn close_if_over(&mut self, now: Instant) -> u64 {
        if self.began.is_some_and(|began| now.duration_since(began) < WINDOW) {
            return 0;
        }
        let held_back = self.held_back;
        *self = Window::default();
        held_back
    }
}

impl LineBudget {
    fn new(per_window: u32) -> LineBudget {
        LineBudget {
            per_window,
            window: Mutex::new(Window::default()),
        }
    }

    fn window(&self) -> MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a line may be written at `now`; `held_back` first says what a window now
    /// over held back.
    fn admit(&self, now: Instant, held_back: fn(u64)) -> bool {
        let mut window = self.window();
        let over = window.close_if_over(now);
        if over > 0 {
            held_back(over);
        }
        window.began.get_or_insert(now);
        if window.written < self.per_window {
            window.written += 1;
            true
        } else {
            window.held_back += 1;
            false
        }
    }

    /// Says, through `held_back`, what a window over at `now` held back.
    fn tick(&self, now: Instant, held_back: fn(u64)) {
        let over = self.window().close_if_over(now);
        if over > 0 {
            held_back(over);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    static SAID: AtomicU64 = AtomicU64::new(0);

    fn said(count: u64) {
        SAID.fetch_add(count, Ordering::SeqCst);
    }

    #[test]
    fn a_flood_gets_its_lines_then_one_count_when_the_window_is_over() {
        let budget = LineBudget::new(3);
        let start = Instant::now();
        let admitted = (0..100).filter(|_| budget.admit(start, said)).count();
        assert_eq!(admitted, 3);
        budget.tick(start + WINDOW / 2, said);
        assert_eq!(SAID.load(Ordering::SeqCst), 0, "not before the window is over");
        budget.tick(start + WINDOW, said);
        assert_eq!(SAID.swap(0, Ordering::SeqCst), 97, "the rest, counted once");
        budget.tick(start + WINDOW * 3, said);
        assert_eq!(SAID.load(Ordering::SeqCst), 0, "and once only");
        // A quiet spell: the next line opens a new window with a whole budget.
        let later = start + WINDOW * 5;
        assert_eq!((0..5).filter(|_| budget.admit(later, said)).count(), 3);
        // A line after the window, before any tick, says the count first.
        assert!(budget.admit(later + WINDOW, said));
        assert_eq!(SAID.swap(0, Ordering::SeqCst), 2);
    }
}
