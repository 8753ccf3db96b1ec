//! Liveness and readiness: what an orchestrator asks before sending traffic.
//!
//! Liveness is "the process answers". Readiness is a set of named conditions; any that
//! holds makes `/readyz` answer 503 and name it, so an operator sees *why*.

use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;

/// Shared readiness state; cheap to read on every probe.
#[derive(Debug)]
pub struct Health {
    starting: AtomicBool,
    draining: AtomicBool,
    draining_signal: watch::Sender<bool>,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl Health {
    /// A process that has not finished starting.
    pub fn new() -> Self {
        Health {
            starting: AtomicBool::new(true),
            draining: AtomicBool::new(false),
            draining_signal: watch::channel(false).0,
        }
    }

    /// Start-up is complete: the listener is bound and the server loop runs.
    pub fn mark_started(&self) {
        self.starting.store(false, Ordering::SeqCst);
    }

    /// Shutdown began: from now on readiness fails so load balancers stop routing here.
    pub fn begin_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.draining_signal.send_replace(true);
    }

    /// Turns true when draining begins: long-lived work (event streams, the plaza)
    /// watches it to wind down.
    pub(crate) fn draining_signal(&self) -> watch::Receiver<bool> {
        self.draining_signal.subscribe()
    }

    /// Whether shutdown has begun.
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// The conditions that keep this nara from being ready; empty means ready.
    pub(crate) fn not_ready_reasons(&self) -> Vec<&'static str> {
        let mut reasons = Vec::new();
        if self.starting.load(Ordering::SeqCst) {
            reasons.push("starting");
        }
        if self.is_draining() {
            reasons.push("draining");
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_names_each_condition_in_turn() {
        let health = Health::new();
        assert_eq!(health.not_ready_reasons(), ["starting"]);
        health.mark_started();
        assert!(health.not_ready_reasons().is_empty());
        health.begin_draining();
        assert_eq!(health.not_ready_reasons(), ["draining"]);
    }
}
