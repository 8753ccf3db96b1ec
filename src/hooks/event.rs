//! What a hook hears: the view's confirmed changes, named ([`EventKind`]), picked out of
//! the change stream by [`Classifier`], and written once as the JSON object a program
//! reads on stdin and a webhook receives, with the variables a program gets beside it.
//!
//! Only confirmed states are events. A SUSPECT nara (a will heard, which anyone can
//! publish again) is none: it becomes `missing` only once the view confirms it, so a
//! replayed will pages nobody.

use crate::plaza::view::{Change, ChangeKind, Peer, Status};
use bytes::Bytes;
use serde::Serialize;
use std::collections::HashMap;
use std::time::SystemTime;

/// The events, each with the name filters and `NARA_EVENT` use: one line each, so a new
/// event is one line here and what recognizes it in [`Classifier::classify`].
macro_rules! event_kinds {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)*) => {
        /// An event a hook can run on.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum EventKind {
            $($(#[doc = $doc])* $variant,)*
        }

        impl EventKind {
            /// Every event, in the order the docs list them.
            pub(crate) const ALL: &[EventKind] = &[$(EventKind::$variant,)*];

            /// Its name in filters, in `NARA_EVENT` and in the JSON's `event`.
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $name,)*
                }
            }
        }
    };
}

event_kinds! {
    /// A nara first heard from, or back (ONLINE) after it was OFFLINE or MISSING.
    Join = "join",
    /// A nara said goodbye: OFFLINE.
    Leave = "leave",
    /// A nara went MISSING: silent too long, or its will confirmed. Never a suspicion.
    Missing = "missing",
    /// A nara runs another version than its last newspaper said.
    VersionChange = "version-change",
    /// A nara's process was replaced by a new one after it ended (as `restarts.rs`
    /// counts restarts: never a twin taking over, nor a rollout).
    Restart = "restart",
}

impl EventKind {
    /// The event named `name`, if it is one.
    pub(crate) fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|kind| kind.as_str() == name)
    }

    /// Every event's name, for errors and help: `join, leave, …`.
    pub(crate) fn names() -> String {
        let names: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.as_str()).collect();
        names.join(", ")
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of events: the ones a hook runs on.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct EventSet(u32);

impl EventSet {
    /// Every event.
    pub(crate) fn all() -> EventSet {
        EventSet(EventKind::ALL.iter().fold(0, |bits, kind| bits | kind.bit()))
    }

    /// This set and `kind`.
    pub(crate) fn with(self, kind: EventKind) -> EventSet {
        EventSet(self.0 | kind.bit())
    }

    /// This set and `other`.
    pub(crate) fn union(self, other: EventSet) -> EventSet {
        EventSet(self.0 | other.0)
    }

    pub(crate) fn contains(self, kind: EventKind) -> bool {
        self.0 & kind.bit() != 0
    }
}

impl std::fmt::Debug for EventSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = EventKind::ALL
            .iter()
            .filter(|kind| self.contains(**kind))
            .map(|kind| kind.as_str())
            .collect();
        write!(f, "{}", names.join(","))
    }
}

/// One event, as the hooks' task takes it from the queue.
#[derive(Clone, Debug)]
pub(crate) struct HookEvent {
    pub(crate) kind: EventKind,
    /// The nara as the view holds it now.
    pub(crate) peer: Peer,
    /// The version it ran before, for `version-change`.
    pub(crate) previous_version: Option<String>,
    /// When this nara saw the change.
    pub(crate) at: SystemTime,
}

/// The JSON object a hook receives.
#[derive(Serialize)]
struct EventJson<'a> {
    event: &'static str,
    /// The nara the event is about.
    nara: &'a str,
    status: Status,
    version: &'a str,
    previous_version: Option<&'a str>,
    #[serde(serialize_with = "rfc3339")]
    at: SystemTime,
    /// The nara that saw it (whose hook this is).
    observer: &'a str,
    /// One sentence for a chat message: Slack's and Mattermost's webhooks post `text`.
    text: String,
    /// The nara in full, as `/api/peers` shows it.
    peer: &'a Peer,
}

fn rfc3339<S: serde::Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_rfc3339_seconds(*time))
}

impl HookEvent {
    /// The event as one line of JSON, written once for every hook that runs on it.
    pub(crate) fn to_json(&self, observer: &str) -> Bytes {
        let json = EventJson {
            event: self.kind.as_str(),
            nara: &self.peer.name,
            status: self.peer.status,
            version: &self.peer.version,
            previous_version: self.previous_version.as_deref(),
            at: self.at,
            observer,
            text: self.sentence(observer),
            peer: &self.peer,
        };
        let mut bytes = serde_json::to_vec(&json).expect("an event serializes");
        bytes.push(b'\n');
        Bytes::from(bytes)
    }

    /// What happened, in a sentence.
    fn sentence(&self, observer: &str) -> String {
        let name = &self.peer.name;
        let what = match self.kind {
            EventKind::Join => format!("{name} joined the plaza"),
            EventKind::Leave => format!("{name} left the plaza (OFFLINE)"),
            EventKind::Missing => format!("{name} is MISSING"),
            EventKind::VersionChange => format!(
                "{name} now runs {} (was {})",
                self.peer.version,
                self.previous_version.as_deref().unwrap_or("unknown")
            ),
            EventKind::Restart => format!("{name} restarted ({} restarts seen)", self.peer.restarts.restarts),
        };
        format!("{observer}: {what}")
    }

    /// The variables a program hook gets besides the JSON on stdin.
    pub(crate) fn variables(&self, observer: &str) -> Vec<(&'static str, String)> {
        let mut variables = vec![
            ("NARA_EVENT", self.kind.as_str().to_string()),
            ("NARA_PEER", self.peer.name.clone()),
            ("NARA_STATUS", status_name(self.peer.status).to_string()),
            ("NARA_VERSION", self.peer.version.clone()),
            ("NARA_OBSERVER", observer.to_string()),
        ];
        if let Some(previous) = &self.previous_version {
            variables.push(("NARA_PREVIOUS_VERSION", previous.clone()));
        }
        variables
    }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Online => "ONLINE",
        Status::Suspect => "SUSPECT",
        Status::Offline => "OFFLINE",
        Status::Missing => "MISSING",
    }
}

/// Picks the events out of the view's changes. It remembers, for each nara in the view
/// (at most `max_seen`, the view's own bound), whether it last left or went MISSING, so
/// that one back ONLINE is a `join`, and the restarts it had, so that one more is a
/// `restart`.
pub(crate) struct Classifier {
    seen: HashMap<String, Seen>,
    max_seen: usize,
}

/// What the classifier remembers of a nara.
#[derive(Clone, Copy)]
struct Seen {
    gone: bool,
    restarts: u32,
}

impl Classifier {
    pub(crate) fn new(max_seen: usize) -> Classifier {
        Classifier {
            seen: HashMap::new(),
            max_seen,
        }
    }

    /// The events `change` is, if any (a nara back after a crash is a `join` and a
    /// `restart`), each with the version the nara ran before.
    pub(crate) fn classify(&mut self, change: &Change) -> Vec<(EventKind, Option<String>)> {
        let peer = &change.peer;
        if peer.is_self {
            return Vec::new();
        }
        if change.kind == ChangeKind::Forget {
            self.seen.remove(&peer.name);
            return Vec::new();
        }
        let count = peer.restarts.restarts;
        let known = self.seen.get(&peer.name).copied();
        let (was_gone, restarts_before) = known.map_or((false, count), |seen| (seen.gone, seen.restarts));
        let mut events = Vec::new();
        match change.kind {
            ChangeKind::Join => events.push((EventKind::Join, None)),
            ChangeKind::Change | ChangeKind::VersionChanged if peer.status == Status::Online && was_gone => {
                events.push((EventKind::Join, None));
            }
            ChangeKind::VersionChanged => {
                let previous = peer.version_history.last().map(|change| change.from.clone());
                events.push((EventKind::VersionChange, previous));
            }
            // A nara tagged ephemeral=true (a canary, a laptop, a CI run) is expected
            // to go: its departures page nobody.
            ChangeKind::Leave if peer.tags.is_ephemeral() => {}
            ChangeKind::Leave => match peer.status {
                Status::Offline => events.push((EventKind::Leave, None)),
                Status::Missing => events.push((EventKind::Missing, None)),
                // A leave is OFFLINE or MISSING; anything else is no event.
                Status::Online | Status::Suspect => {}
            },
            // SUSPECT, a suspicion taken back, another revision: nothing confirmed.
            ChangeKind::Change | ChangeKind::Forget => {}
        }
        if count > restarts_before {
            events.push((EventKind::Restart, None));
        }
        let gone = match (change.kind, peer.status) {
            (ChangeKind::Leave, _) => true,
            (_, Status::Online) => false,
            _ => was_gone,
        };
        if known.is_some() || self.seen.len() < self.max_seen {
            self.seen.insert(peer.name.clone(), Seen { gone, restarts: count });
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plaza::view::VersionChange;

    fn peer(name: &str, status: Status) -> Peer {
        let now = SystemTime::now();
        Peer {
            name: name.into(),
            id: "id".into(),
            public_key: "key".into(),
            status,
            version: "0.2.0".into(),
            revision: String::new(),
            public_url: None,
            version_history: Vec::new(),
            tags: crate::plaza::tags::Tags::default(),
            uptime_s: 0,
            host: Default::default(),
            first_seen: now,
            last_seen: now,
            is_self: false,
            restarts: Default::default(),
        }
    }

    fn change(kind: ChangeKind, status: Status) -> Change {
        Change {
            kind,
            peer: peer("kitchen", status),
        }
    }

    #[test]
    fn a_suspicion_is_no_event_and_only_its_confirmation_is_missing() {
        let mut events = Classifier::new(10);
        assert_eq!(
            events.classify(&change(ChangeKind::Join, Status::Online)),
            vec![(EventKind::Join, None)]
        );
        assert_eq!(events.classify(&change(ChangeKind::Change, Status::Suspect)), []);
        assert_eq!(
            events.classify(&change(ChangeKind::Change, Status::Online)),
            [],
            "a suspicion answered"
        );
        assert_eq!(events.classify(&change(ChangeKind::Change, Status::Suspect)), []);
        assert_eq!(
            events.classify(&change(ChangeKind::Leave, Status::Missing)),
            vec![(EventKind::Missing, None)]
        );
        assert_eq!(
            events.classify(&change(ChangeKind::Change, Status::Online)),
            vec![(EventKind::Join, None)],
            "back from MISSING"
        );
        assert_eq!(
            events.classify(&change(ChangeKind::Leave, Status::Offline)),
            vec![(EventKind::Leave, None)]
        );
        assert_eq!(events.classify(&change(ChangeKind::Forget, Status::Offline)), []);
        assert_eq!(
            events.classify(&change(ChangeKind::Change, Status::Online)),
            [],
            "forgotten, so not remembered as gone"
        );
    }

    #[test]
    fn a_version_change_names_the_version_before() {
        let mut events = Classifier::new(10);
        let mut upgraded = change(ChangeKind::VersionChanged, Status::Online);
        upgraded.peer.version_history.push(VersionChange {
            from: "0.1.0".into(),
            to: "0.2.0".into(),
            at: SystemTime::now(),
        });
        assert_eq!(
            events.classify(&upgraded),
            vec![(EventKind::VersionChange, Some("0.1.0".into()))]
        );
        let event = HookEvent {
            kind: EventKind::VersionChange,
            peer: upgraded.peer.clone(),
            previous_version: Some("0.1.0".into()),
            at: SystemTime::now(),
        };
        let json: serde_json::Value = serde_json::from_slice(&event.to_json("observer")).unwrap();
        assert_eq!(json["event"], "version-change");
        assert_eq!(json["previous_version"], "0.1.0");
        assert_eq!(json["text"], "observer: kitchen now runs 0.2.0 (was 0.1.0)");
        assert_eq!(json["peer"]["name"], "kitchen");
        let variables = event.variables("observer");
        assert!(variables.contains(&("NARA_PREVIOUS_VERSION", "0.1.0".into())));
    }

    #[test]
    fn an_ephemeral_naras_departures_are_no_event_but_its_arrivals_are() {
        let mut events = Classifier::new(10);
        let ephemeral = |kind, status| {
            let mut change = change(kind, status);
            change.peer.tags = crate::plaza::tags::Tags::parse(["ephemeral=true"]).unwrap();
            change
        };
        assert_eq!(
            events.classify(&ephemeral(ChangeKind::Join, Status::Online)),
            vec![(EventKind::Join, None)]
        );
        assert_eq!(events.classify(&ephemeral(ChangeKind::Leave, Status::Missing)), []);
        assert_eq!(events.classify(&ephemeral(ChangeKind::Leave, Status::Offline)), []);
        assert_eq!(
            events.classify(&ephemeral(ChangeKind::Change, Status::Online)),
            vec![(EventKind::Join, None)],
            "back, it joins again"
        );
        let mut not_quite = change(ChangeKind::Leave, Status::Offline);
        not_quite.peer.tags = crate::plaza::tags::Tags::parse(["ephemeral=false"]).unwrap();
        assert_eq!(events.classify(&not_quite), vec![(EventKind::Leave, None)]);
    }

    #[test]
    fn the_naras_remembered_as_gone_are_bounded() {
        let mut events = Classifier::new(2);
        for name in ["a", "b", "c"] {
            let mut left = change(ChangeKind::Leave, Status::Offline);
            left.peer.name = name.into();
            events.classify(&left);
        }
        assert_eq!(events.seen.len(), 2);
    }

    #[test]
    fn one_more_restart_is_a_restart_and_a_crashed_naras_return_a_join_too() {
        let mut events = Classifier::new(10);
        let with_restarts = |kind, status, count| {
            let mut change = change(kind, status);
            change.peer.restarts = crate::plaza::restarts::Restarts::seen(count, SystemTime::now(), false);
            change
        };
        assert_eq!(
            events.classify(&with_restarts(ChangeKind::Join, Status::Online, 2)),
            vec![(EventKind::Join, None)]
        );
        assert_eq!(
            events.classify(&with_restarts(ChangeKind::Leave, Status::Missing, 2)),
            vec![(EventKind::Missing, None)]
        );
        assert_eq!(
            events.classify(&with_restarts(ChangeKind::Change, Status::Online, 3)),
            vec![(EventKind::Join, None), (EventKind::Restart, None)],
            "back after a crash"
        );
        assert_eq!(
            events.classify(&with_restarts(ChangeKind::Change, Status::Online, 4)),
            vec![(EventKind::Restart, None)],
            "a crash the will told of after the new process spoke"
        );
        assert_eq!(
            events.classify(&with_restarts(ChangeKind::Change, Status::Online, 4)),
            []
        );
    }

    #[test]
    fn event_names_parse_back() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(EventKind::parse("suspect"), None);
        assert!(!EventSet::default().contains(EventKind::Join));
        assert!(EventSet::all().contains(EventKind::VersionChange));
    }
}
