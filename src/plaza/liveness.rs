//! Whether the broker is still forwarding, as a will's confirmation needs to know. A
//! broker that stops publishes every will it holds to every subscriber, connections
//! still open, and then reads nothing more (mosquitto 2.0.11 took 39 s over it with
//! 1,000 clients): each nara would confirm every other's will, since no answer can get
//! through. So a suspicion is confirmed only once the broker has acknowledged a
//! publish sent after its will was heard: a QoS 1 message on `nara/probe/{name}`,
//! which nobody subscribes to, so it costs the broker one message and the plaza none.
//! At most one is in flight, and one is sent only while a suspicion waits for it.

use std::sync::Mutex;
use std::time::SystemTime;

/// Where a nara sends its probes: a topic of its own that no nara reads.
pub(super) fn probe_topic(name: &str) -> String {
    format!("nara/probe/{name}")
}

/// The probe in flight, and what the last acknowledged one proved.
#[derive(Debug, Default)]
pub(super) struct Liveness {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// When the probe in flight was sent.
    in_flight: Option<SystemTime>,
    /// When the newest acknowledged probe was sent: the broker was forwarding then.
    alive_at: Option<SystemTime>,
}

impl Liveness {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The newest time the broker was shown to be forwarding.
    pub(super) fn alive_at(&self) -> Option<SystemTime> {
        self.state().alive_at
    }

    /// Whether a probe may be sent now (none is in flight); if so, it is taken as sent at
    /// `now`.
    pub(super) fn send(&self, now: SystemTime) -> bool {
        let mut state = self.state();
        if state.in_flight.is_some() {
            return false;
        }
        state.in_flight = Some(now);
        true
    }

    /// The broker acknowledged a publish: the probe in flight, since nara sends nothing
    /// else at QoS 1.
    pub(super) fn acknowledged(&self) {
        let mut state = self.state();
        if let Some(sent) = state.in_flight.take() {
            state.alive_at = state.alive_at.max(Some(sent));
        }
    }

    /// The connection ended: a probe in flight on it will never be acknowledged.
    pub(super) fn connection_lost(&self) {
        self.state().in_flight = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_acknowledged_probe_proves_the_time_it_was_sent_and_one_flies_at_a_time() {
        let liveness = Liveness::default();
        let t = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(liveness.alive_at(), None);
        assert!(liveness.send(t(10)));
        assert!(!liveness.send(t(11)), "one in flight at a time");
        liveness.acknowledged();
        assert_eq!(
            liveness.alive_at(),
            Some(t(10)),
            "the time it was sent, not acknowledged"
        );
        assert!(liveness.send(t(12)));
        liveness.connection_lost();
        liveness.acknowledged();
        assert_eq!(
            liveness.alive_at(),
            Some(t(10)),
            "a probe of a lost connection proves nothing"
        );
        assert!(liveness.send(t(13)));
    }
}
