//! The event hooks (`--on-event`, `--on-event-url`): programs and webhooks run on the
//! view's confirmed changes (join, leave, MISSING, version change, restart), in the
//! manner of Serf's event handlers.
//!
//! They never slow the plaza. The view hands each change to a listener under its lock;
//! the listener names the event ([`event::Classifier`]) and offers it to a queue of
//! [`QUEUE`] events without waiting: a full queue drops it, counted. A task of its own
//! takes events from the queue, spends one of the rate's tokens on each (none left: it
//! is dropped, counted) and runs every hook that wants it, at most
//! [`RUNNING_AT_ONCE`] runs at a time, each killed or abandoned after
//! `--on-event-timeout`; a hook's runs for one nara go one after another, in the
//! order of its events. Every event ends counted in `nara_hook_events_total`, every
//! run in `nara_hook_runs_total`; each kind of trouble is logged at most once a
//! [`WARN_EVERY`].
//!
//! A change seen while this nara is off its broker is no event: its own outage would
//! make every other nara MISSING in its view, by silence, and their return a join.
//!
//! Processes that share a soul (twins: replicas, a rollout's old and new process) see
//! the same plaza; only the one that speaks for the soul runs the hooks, so an event
//! pages once, not once per replica.

pub(crate) mod config;
pub(crate) mod event;
mod rate;
mod run;

use crate::metrics::Metrics;
use crate::plaza::Plaza;
use config::{Hook, HooksConfig};
use event::{Classifier, EventSet, HookEvent};
use rate::TokenBucket;
use run::Outcome;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

/// The most events waiting for their hooks. Full means the hooks are stuck (every run
/// slot taken by a hook that hangs until its timeout) or a burst outran them.
pub(crate) const QUEUE: usize = 64;

/// The most hook runs at once.
pub(crate) const RUNNING_AT_ONCE: usize = 4;

/// A kind of trouble (a full queue, a spent rate, a kind of failed run) is logged at
/// most once in this long, with how often it happened since.
pub(crate) const WARN_EVERY: Duration = Duration::from_secs(60);

/// Starts the hooks of `config` on `plaza`'s changes, as `observer`: a listener on the
/// view and a task of their own. Nothing starts when there is no hook.
pub(crate) fn start(plaza: &Arc<Plaza>, config: HooksConfig, metrics: Arc<Metrics>, observer: String) {
    if config.hooks.is_empty() {
        return;
    }
    for result in ["run", "queue_full", "rate_limited", "standby"] {
        metrics.hook_events.with_label_values(&[result]);
    }
    let wanted = config
        .hooks
        .iter()
        .fold(EventSet::default(), |wanted, hook| wanted.union(hook.events));
    let warnings = Arc::new(Warnings::default());
    let (queue, queued) = mpsc::channel(QUEUE);
    let mut classifier = Classifier::new(plaza.max_peers());
    let listener_metrics = metrics.clone();
    let listener_warnings = warnings.clone();
    // Weak, here and in the task: the plaza holds the listener, which holds the queue
    // the task reads; the task ends when a plaza that is dropped drops the listener.
    let on_plaza = Arc::downgrade(plaza);
    let listener = move |change: &_| {
        if !on_plaza.upgrade().is_some_and(|plaza| plaza.is_connected()) {
            return;
        }
        for (kind, previous_version) in classifier.classify(change) {
            if !wanted.contains(kind) {
                continue;
            }
            let event = HookEvent {
                kind,
                peer: change.peer.clone(),
                previous_version,
                at: SystemTime::now(),
            };
            if queue.try_send(event).is_err() {
                listener_metrics.hook_events.with_label_values(&["queue_full"]).inc();
                listener_warnings.warn(Trouble::QueueFull, || {
                    format!("an event hook's event was dropped: {QUEUE} events wait already (are the hooks hanging?)")
                });
            }
        }
    };
    // The classifier remembers; the view calls the listener only under its lock.
    let listener = Mutex::new(listener);
    let installed = plaza.on_change(Box::new(move |change| {
        let mut listener = listener.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        (*listener)(change);
    }));
    if installed.is_err() {
        tracing::warn!("event hooks already listen to this plaza; not starting them twice");
        return;
    }
    tracing::info!(
        hooks = ?config.hooks.iter().map(|h| format!("{:?}={}", h.events, h.target)).collect::<Vec<_>>(),
        timeout = ?config.timeout,
        per_minute = config.per_minute,
        "event hooks ready"
    );
    tokio::spawn(dispatch(
        Arc::downgrade(plaza),
        queued,
        config,
        metrics,
        observer,
        warnings,
    ));
}

/// Takes events from the queue and runs their hooks, within the rate and the slots.
async fn dispatch(
    plaza: Weak<Plaza>,
    mut queued: mpsc::Receiver<HookEvent>,
    config: HooksConfig,
    metrics: Arc<Metrics>,
    observer: String,
    warnings: Arc<Warnings>,
) {
    let slots = Arc::new(Semaphore::new(RUNNING_AT_ONCE));
    // The run of each hook for each nara still going: the next run of that hook for that
    // nara waits for it, so a program hears one nara's events in the order they came (a
    // crashed nara's join, then its restart), however many runs go at once. Each entry
    // holds a slot, so there are at most RUNNING_AT_ONCE of them once finished ones go.
    let mut latest: HashMap<(usize, String), JoinHandle<()>> = HashMap::new();
    let mut rate = TokenBucket::per_minute(config.per_minute, Instant::now());
    let hooks: Arc<[Hook]> = config.hooks.into();
    while let Some(event) = queued.recv().await {
        if !plaza.upgrade().is_some_and(|plaza| plaza.is_active()) {
            // A twin speaks for this soul, and runs the hooks.
            metrics.hook_events.with_label_values(&["standby"]).inc();
            continue;
        }
        if !rate.take(Instant::now()) {
            metrics.hook_events.with_label_values(&["rate_limited"]).inc();
            let per_minute = config.per_minute;
            warnings.warn(Trouble::RateLimited, || {
                format!("an event hook's event was dropped: past --on-event-rate ({per_minute} a minute)")
            });
            continue;
        }
        metrics.hook_events.with_label_values(&["run"]).inc();
        let json = event.to_json(&observer);
        let variables = Arc::new(event.variables(&observer));
        for (index, hook) in hooks.iter().enumerate() {
            if !hook.events.contains(event.kind) {
                continue;
            }
            // The semaphore is never closed.
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let (hooks, json, variables, metrics, warnings) = (
                hooks.clone(),
                json.clone(),
                variables.clone(),
                metrics.clone(),
                warnings.clone(),
            );
            let (timeout, peer, kind) = (config.timeout, event.peer.name.clone(), event.kind);
            latest.retain(|_, run| !run.is_finished());
            let before = latest.remove(&(index, peer.clone()));
            let key = (index, peer.clone());
            let run = tokio::spawn(async move {
                if let Some(before) = before {
                    // Its outcome is counted by its own task.
                    let _ = before.await;
                }
                let hook = &hooks[index];
                metrics.hooks_running.inc();
                let outcome = run::run(&hook.target, json, &variables, timeout).await;
                metrics.hooks_running.dec();
                drop(slot);
                let kind_label = hook.target.kind();
                metrics
                    .hook_runs
                    .with_label_values(&[kind_label, outcome.label()])
                    .inc();
                if outcome != Outcome::Ok {
                    warnings.warn(Trouble::Failed(kind_label, outcome.label()), || {
                        format!(
                            "event hook {} failed on {} of {peer}: {}",
                            hook.target,
                            kind.as_str(),
                            describe(&outcome, timeout)
                        )
                    });
                }
            });
            latest.insert(key, run);
        }
    }
}

/// A failed run in words; never a webhook's URL.
fn describe(outcome: &Outcome, timeout: Duration) -> String {
    match outcome {
        Outcome::Ok => "ok".into(),
        Outcome::Exit(said) => format!("exited with {said}"),
        Outcome::Timeout => format!("still running after --on-event-timeout ({timeout:?}): killed"),
        Outcome::Spawn(e) => format!("could not start: {e}"),
        Outcome::Status(status) => format!("answered {status}"),
        Outcome::Request(e) => e.clone(),
    }
}

/// A kind of trouble, logged at most once per [`WARN_EVERY`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trouble {
    QueueFull,
    RateLimited,
    /// A run of this kind of hook that failed this way.
    Failed(&'static str, &'static str),
}

/// When each kind of trouble was last logged and how often it happened since: a few
/// entries, one per kind (at most 2 hook kinds × 5 failures + 2).
#[derive(Default)]
struct Warnings(Mutex<Vec<(Trouble, Instant, u64)>>);

impl Warnings {
    /// Logs `message` unless `trouble` was logged within [`WARN_EVERY`]; then it
    /// counts it, and the next line says how many went unsaid.
    fn warn(&self, trouble: Trouble, message: impl FnOnce() -> String) {
        let now = Instant::now();
        let mut seen = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let unsaid = match seen.iter_mut().find(|(t, _, _)| *t == trouble) {
            Some((_, last, unsaid)) if now.duration_since(*last) < WARN_EVERY => {
                *unsaid += 1;
                return;
            }
            Some((_, last, unsaid)) => {
                *last = now;
                std::mem::take(unsaid)
            }
            None => {
                seen.push((trouble, now, 0));
                0
            }
        };
        drop(seen);
        let message = message();
        if unsaid == 0 {
            tracing::warn!("{message}");
        } else {
            tracing::warn!("{message} (and {unsaid} more like it in the last minute or so)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn each_kind_of_trouble_is_told_once_a_minute_and_the_rest_counted() {
        let warnings = Warnings::default();
        let told = Cell::new(0);
        let tell = || {
            told.set(told.get() + 1);
            String::from("trouble")
        };
        for _ in 0..100 {
            warnings.warn(Trouble::Failed("program", "timeout"), tell);
        }
        warnings.warn(Trouble::Failed("webhook", "status"), tell);
        warnings.warn(Trouble::QueueFull, tell);
        assert_eq!(told.get(), 3, "one line per kind");
        let seen = warnings.0.lock().unwrap();
        let timeouts = seen
            .iter()
            .find(|(t, _, _)| *t == Trouble::Failed("program", "timeout"))
            .unwrap();
        assert_eq!(timeouts.2, 99, "the others counted for the next line");
        assert_eq!(seen.len(), 3);
    }
}
