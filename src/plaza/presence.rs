//! This process's part in its soul's presence: the state that joins the plaza to the
//! role rule of [`role`](super::role). It knows this process (its random boot ID and
//! start time), the events it sent (to tell their echo from a twin's), what was accepted
//! from its twins (which passes the freshness rules as any message does), whether a
//! twin took over after a handover, and it keeps the role metrics in step. [`Plaza`]
//! owns one and asks it; it answers with an [`Act`] for the transport.
//!
//! [`Plaza`]: super::Plaza

use super::config::PlazaConfig;
use super::freshness::{Freshness, Judging};
use super::identity::Identity;
use super::message::{self, Body, Message, Policy, Rejection};
use super::newspaper;
use super::role::{self, Act, Rank, RoleStatus, Roles, Windows};
use crate::metrics::Metrics;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How many of its own events a nara remembers, to tell their echo from a twin's.
const OWN_EVENTS: usize = 16;

/// This process among the processes that share its soul.
pub(super) struct Presence {
    /// This process's random ID, which tells it from twins (other processes with its soul).
    boot_id: String,
    started_ns: u64,
    /// How its twins' Go newspapers are judged.
    judging: Judging,
    /// How long a standby waits for a silent active twin at the base newspaper
    /// interval (the plaza stretches it as its interval stretches).
    base_takeover: Duration,
    state: Mutex<State>,
    metrics: Arc<Metrics>,
}

/// What changes as twins speak, always read and written together, under one lock.
struct State {
    roles: Roles,
    /// The events this process signed last, newest at the back.
    own_events: VecDeque<u64>,
    /// What was accepted under this soul from other processes (and the events this one
    /// sent): own-soul messages pass the same freshness rules as any other.
    own_freshness: Freshness,
    /// A twin spoke after this process handed over: it can leave without a chau.
    twin_took_over: bool,
    /// The time the last newspaper this process signed carries.
    last_signed_paper_ns: u64,
}

impl State {
    /// Whether this process sent the event signed at `sent_ns` (one of its last
    /// [`OWN_EVENTS`]).
    fn sent_event(&self, sent_ns: u64) -> bool {
        self.own_events.contains(&sent_ns)
    }
}

/// A random ID for this process: 16 hex digits.
fn new_boot_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Presence {
    /// A process that started at `started`, with its role metrics at their first values.
    pub(super) fn new(config: &PlazaConfig, started: SystemTime, metrics: Arc<Metrics>) -> Presence {
        let boot_id = new_boot_id();
        let started_ns = started.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        // A standby takes over well before observers would call the nara MISSING, and
        // only after the active twin missed two newspapers.
        let takeover_after = (config.newspaper_interval * 2)
            .min(config.missing_after / 2)
            .max(Duration::from_secs(1));
        let roles = Roles::new(
            Rank::new(config.role_pin, started_ns, &boot_id),
            config.role_pin,
            Windows {
                takeover_after,
                go_twin_after: config.missing_after,
                max_skew: config.policy.max_skew,
            },
        );
        // Every labelled counter's series exists from the start, at 0, as Prometheus asks:
        // a rate over a series that appears only at its first increment misses it.
        for (role, cause) in role::Cause::TRANSITIONS {
            metrics
                .plaza_role_changes
                .with_label_values(&[role.as_str(), cause.as_str()]);
        }
        let presence = Presence {
            boot_id,
            started_ns,
            judging: Judging {
                max_skew: config.policy.max_skew,
                recover_after: config.missing_after,
            },
            base_takeover: takeover_after,
            state: Mutex::new(State {
                roles,
                own_events: VecDeque::with_capacity(OWN_EVENTS),
                own_freshness: Freshness::default(),
                twin_took_over: false,
                last_signed_paper_ns: 0,
            }),
            metrics,
        };
        presence.update_role_gauges(&presence.state().roles);
        presence
    }

    /// This process's random ID.
    pub(super) fn boot_id(&self) -> &str {
        &self.boot_id
    }

    /// When this process started, Unix nanoseconds.
    pub(super) fn started_ns(&self) -> u64 {
        self.started_ns
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update_role_gauges(&self, roles: &Roles) {
        let since = roles.since().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.metrics
            .plaza_role_since
            .set(i64::try_from(since).unwrap_or(i64::MAX));
        let active = i64::from(roles.is_active());
        self.metrics.plaza_role.with_label_values(&["active"]).set(active);
        self.metrics.plaza_role.with_label_values(&["standby"]).set(1 - active);
        self.update_two_speakers(roles);
    }

    fn update_two_speakers(&self, roles: &Roles) {
        let two = roles.two_speakers(Instant::now()).is_some();
        self.metrics.plaza_two_speakers.set(i64::from(two));
    }

    /// Counts what the role logic changed, and passes on what it wants sent.
    fn after_role_change(&self, roles: &mut Roles, act: Act) -> Act {
        let changes = roles.take_changes();
        for (role, cause) in &changes {
            self.metrics
                .plaza_role_changes
                .with_label_values(&[role.as_str(), cause.as_str()])
                .inc();
        }
        if !changes.is_empty() {
            self.update_role_gauges(roles);
        }
        act
    }

    /// Whether this process speaks for its soul (see [`role`](super::role)).
    pub(super) fn is_active(&self) -> bool {
        self.state().roles.is_active()
    }

    /// Whether a twin spoke since this process handed over.
    pub(super) fn twin_took_over(&self) -> bool {
        self.state().twin_took_over
    }

    /// This process is about to hand over: only a twin that speaks from now on took over.
    pub(super) fn handing_over(&self) {
        self.state().twin_took_over = false;
    }

    /// How long a standby waits for a silent active twin at the base interval.
    pub(super) fn base_takeover(&self) -> Duration {
        self.base_takeover
    }

    /// Every second: a standby may take over, once its active twin was silent for
    /// `takeover_after` (two of its newspaper intervals as the plaza now is).
    pub(super) fn tick(&self, takeover_after: Duration) -> Act {
        let mut state = self.state();
        state.roles.set_takeover_after(takeover_after);
        let act = state.roles.tick(Instant::now());
        let act = self.after_role_change(&mut state.roles, act);
        self.update_two_speakers(&state.roles);
        act
    }

    /// The role part of `/api/status`.
    pub(super) fn status(&self) -> RoleStatus {
        self.state().roles.status(Instant::now())
    }

    /// The time to sign an event with, `now_ns` or just after the newest event of the
    /// soul accepted or signed so far (see [`Presence::sign_newspaper`]), and records
    /// it: its echo is not a twin's, and no recording of an older one passes as a
    /// twin's.
    pub(super) fn sign_event(&self, now_ns: u64) -> u64 {
        let mut state = self.state();
        let sent_ns = self.signing_time(now_ns, state.own_freshness.newest_event_ns());
        if state.own_events.len() == OWN_EVENTS {
            state.own_events.pop_front();
        }
        state.own_events.push_back(sent_ns);
        state.own_freshness.sent_event(sent_ns);
        sent_ns
    }

    /// The time to sign a newspaper with: `now_ns`, or just after the newest newspaper
    /// of the soul this process signed or heard from a twin, if that is later but
    /// within the skew. Observers judge the soul's newspapers by their signed time,
    /// newest wins: a twin whose clock is behind the one it takes over from would
    /// otherwise be refused as `replayed` until its clock caught up, and so would this
    /// process after its clock stepped back a little.
    pub(super) fn sign_newspaper(&self, now_ns: u64) -> u64 {
        let mut state = self.state();
        let newest = state.last_signed_paper_ns.max(state.roles.newest_heard_ns());
        let sent_ns = self.signing_time(now_ns, newest);
        state.last_signed_paper_ns = sent_ns;
        sent_ns
    }

    /// `now_ns`, or just after `newest` if that is later by less than the skew. Further
    /// ahead, observers would refuse it as `stale` anyway (a clock put right after
    /// running fast must not keep this process signing in the future), so the clock
    /// is followed.
    fn signing_time(&self, now_ns: u64, newest: u64) -> u64 {
        let skew_ns = u64::try_from(self.judging.max_skew.as_nanos()).unwrap_or(u64::MAX);
        if newest >= now_ns && newest - now_ns < skew_ns {
            newest + 1
        } else {
            now_ns
        }
    }

    /// A verified message under this nara's own name and key: its own echo, or a twin's.
    /// A twin's passes the freshness rules as any message does, so that a recording
    /// can neither silence this process nor keep a dead twin alive; a refused one is
    /// counted under its reason.
    pub(super) fn heard_own_soul(&self, message: &Message) -> Result<Act, Rejection> {
        let now = Instant::now();
        let mut state = self.state();
        let state = &mut *state;
        let act = match &message.body {
            Body::Newspaper(story) => {
                if story.boot_id.as_deref() == Some(self.boot_id.as_str()) {
                    return Ok(Act::Nothing);
                }
                // A Go nara's newspaper passes the boot rules, as any Go nara's does
                // (judged on a copy, kept only if the twin is believed).
                let mut freshness = state.own_freshness;
                if story.sent_ns.is_none() {
                    freshness.admit(&message.body, SystemTime::now(), self.judging)?;
                }
                let act = state.roles.heard(story, now, super::unix_now_ns().unsigned_abs())?;
                state.own_freshness = freshness;
                state.twin_took_over = true;
                act
            }
            // This process's own wills are the plaza's to answer (see `Plaza::receive`).
            Body::Will(will) => state.roles.heard_will(&will.boot_id, will.conn, now)?,
            Body::HeyThere { sent_ns } | Body::Chau { sent_ns } => {
                if state.sent_event(*sent_ns) {
                    return Ok(Act::Nothing);
                }
                state
                    .own_freshness
                    .admit(&message.body, SystemTime::now(), self.judging)?;
                if matches!(message.body, Body::Chau { .. }) {
                    state.roles.twin_left(now)
                } else {
                    state.roles.heard_hello(now);
                    Act::Nothing
                }
            }
        };
        Ok(self.after_role_change(&mut state.roles, act))
    }

    /// A newspaper of this soul that the broker retained (a twin's, or this soul's
    /// last process's): this process signs its own after it, and learns nothing else
    /// from it. Who is alive, it cannot say: only newspapers heard live count for that.
    pub(super) fn heard_own_retained(&self, message: &Message) -> Result<(), Rejection> {
        let Body::Newspaper(story) = &message.body else {
            return Ok(());
        };
        match (&story.boot_id, story.sent_ns) {
            (Some(boot_id), Some(sent_ns)) if *boot_id != self.boot_id => {
                self.state()
                    .roles
                    .note_signed(boot_id, sent_ns, super::unix_now_ns().unsigned_abs())
            }
            _ => Ok(()),
        }
    }

    /// A newspaper on this nara's topic was refused as stale: if it is this soul's,
    /// from another process, signed ahead of this clock beyond the skew, a twin whose
    /// clock is ahead speaks, and neither can hear the other.
    pub(super) fn check_twin_ahead(&self, identity: &Identity, policy: Policy, topic: &str, payload: &[u8]) {
        let Some(name) = topic.strip_prefix(message::NEWSPAPER_PREFIX) else {
            return;
        };
        if name != identity.name {
            return;
        }
        let Ok(text) = std::str::from_utf8(payload) else {
            return;
        };
        let now = SystemTime::now();
        let any_time = Policy {
            max_skew: Duration::MAX,
            ..policy
        };
        let Ok(message) = newspaper::decode(name, text, now, any_time) else {
            return;
        };
        let Body::Newspaper(story) = &message.body else {
            return;
        };
        let (Some(boot_id), Some(sent_ns)) = (&story.boot_id, story.sent_ns) else {
            return;
        };
        let sent = UNIX_EPOCH + Duration::from_nanos(sent_ns);
        if message.public_key != identity.public_key || *boot_id == self.boot_id {
            return;
        }
        // Behind could be a recording; ahead cannot.
        if let Ok(ahead) = sent.duration_since(now)
            && ahead > policy.max_skew
        {
            let mut state = self.state();
            state.roles.heard_ahead(boot_id, ahead, Instant::now());
            self.update_two_speakers(&state.roles);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plaza::identity::{Soul, SoulSource};
    use crate::plaza::message::Kind;
    use crate::plaza::newspaper::OwnStatus;

    fn presence() -> Presence {
        Presence::new(
            &crate::testing::plaza_config(),
            SystemTime::now(),
            Arc::new(Metrics::new()),
        )
    }

    #[test]
    fn a_nara_remembers_only_its_last_own_events() {
        let presence = presence();
        let sent = |sent_ns: u64| presence.state().sent_event(sent_ns);
        assert_eq!(presence.sign_event(1), 1);
        assert!(sent(1));
        for sent_ns in 2..2 + OWN_EVENTS as u64 * 2 {
            assert_eq!(presence.sign_event(sent_ns), sent_ns);
        }
        assert_eq!(presence.state().own_events.len(), OWN_EVENTS);
        assert!(!sent(1), "the oldest was let go");
        assert!(sent(1 + OWN_EVENTS as u64 * 2));
    }

    #[test]
    fn what_this_process_signs_is_newer_than_what_its_twins_said_even_with_its_clock_behind() {
        let presence = presence();
        let identity = Identity::new(&Soul::mint("twin").unwrap(), "twin", SoulSource::Ephemeral);
        let now_ns = u64::try_from(super::super::unix_now_ns()).unwrap();
        // A twin whose clock is 30 s ahead of this one's: its newspaper and its hey_there.
        let ahead_ns = now_ns + 30_000_000_000;
        let status = OwnStatus {
            version: "0.0.9",
            revision: "r",
            profile: "release",
            public_url: None,
            host_uptime_s: 1000,
            process_uptime_s: 60,
            sent_ns: ahead_ns,
            boot_id: "ahead",
            conn: 1,
            started_ns: ahead_ns,
            role_pin: "auto",
            handover: true,
            tags: &crate::plaza::tags::NO_TAGS,
            health: Default::default(),
        };
        let paper = newspaper::encode(&identity, &status);
        let hello = crate::plaza::event::encode(&identity, Kind::HeyThere, i64::try_from(ahead_ns).unwrap(), "");
        let policy = crate::testing::policy();
        for (kind, payload) in [(Kind::HeyThere, hello), (Kind::Newspaper, paper)] {
            let message = crate::plaza::wire::decode(&kind.topic("twin"), &payload, SystemTime::now(), policy).unwrap();
            presence.heard_own_soul(&message).unwrap();
        }
        // Its newspapers and events, signed now by this clock, come after the twin's.
        let first = presence.sign_newspaper(now_ns);
        assert!(first > ahead_ns);
        assert!(presence.sign_newspaper(now_ns) > first, "and each after the last");
        assert!(presence.sign_event(now_ns) > ahead_ns);
        // Once its clock has passed them, it signs by its clock.
        let later_ns = ahead_ns + 1_000_000_000;
        assert_eq!(presence.sign_newspaper(later_ns), later_ns);
        assert_eq!(presence.sign_event(later_ns), later_ns);
        // A clock put back by more than the skew (it ran a day fast) is followed at
        // once: signing after what it signed then would be refused as stale.
        let put_right_ns = later_ns - 86_400_000_000_000;
        assert_eq!(presence.sign_newspaper(put_right_ns), put_right_ns);
        assert_eq!(presence.sign_event(put_right_ns), put_right_ns);
    }
}
