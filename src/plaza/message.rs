//! What plaza messages say once verified, and why one is refused: the Go nara's topics,
//! the kinds, the [`Rejection`] reasons and the [`Policy`] limits, shared by the two
//! formats ([`super::event`], [`super::newspaper`]) and by [`super::wire`], which picks
//! between them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, VerifyingKey};
use std::fmt;
use std::time::Duration;

/// The topic hey_there events travel on.
pub(crate) const HEY_THERE_TOPIC: &str = "nara/plaza/hey_there";
/// The topic chau events travel on.
pub(crate) const CHAU_TOPIC: &str = "nara/plaza/chau";
/// Each nara's newspaper travels on this prefix and its name.
pub(crate) const NEWSPAPER_PREFIX: &str = "nara/newspaper/";
/// Each nara's will travels on this prefix and its name (this nara's topic; the Go nara
/// has no will).
pub(crate) const WILL_PREFIX: &str = "nara/will/";

/// What a message announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Joining the plaza.
    HeyThere,
    /// Still here, and what it runs: sent every newspaper interval.
    Newspaper,
    /// Leaving the plaza on a graceful shutdown.
    Chau,
    /// Gone without a goodbye: the broker publishes it when a connection ends without
    /// a DISCONNECT (see [`super::will`]).
    Will,
}

impl Kind {
    /// Every kind (the metrics' `kind` label is one of these, or `other`).
    #[cfg(test)]
    const ALL: [Kind; 4] = [Kind::HeyThere, Kind::Newspaper, Kind::Chau, Kind::Will];

    /// The kind's name in metrics and logs (the Go nara's `svc` for the events).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::HeyThere => "hey-there",
            Kind::Newspaper => "newspaper",
            Kind::Chau => "chau",
            Kind::Will => "will",
        }
    }

    /// The topic a message of this kind from `name` is published on.
    pub fn topic(self, name: &str) -> String {
        match self {
            Kind::HeyThere => HEY_THERE_TOPIC.to_string(),
            Kind::Chau => CHAU_TOPIC.to_string(),
            Kind::Newspaper => format!("{NEWSPAPER_PREFIX}{name}"),
            Kind::Will => format!("{WILL_PREFIX}{name}"),
        }
    }

    /// The kind a topic carries, if nara reads it.
    pub(crate) fn of_topic(topic: &str) -> Option<Kind> {
        match topic {
            HEY_THERE_TOPIC => Some(Kind::HeyThere),
            CHAU_TOPIC => Some(Kind::Chau),
            _ if topic.starts_with(NEWSPAPER_PREFIX) => Some(Kind::Newspaper),
            _ if topic.starts_with(WILL_PREFIX) => Some(Kind::Will),
            _ => None,
        }
    }
}

/// A verified message's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The sender's name.
    pub(crate) name: String,
    /// The sender's public key (standard Base64), which the signature was checked against.
    pub(crate) public_key: String,
    pub(crate) body: Body,
}

/// What a verified message says, by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "a message lives from its decoding to the view's update, one at a time; a box would cost an allocation per newspaper to save bytes nobody holds"
)]
pub(crate) enum Body {
    /// Joining, signed at `sent_ns` (Unix nanoseconds).
    HeyThere {
        /// When it was signed, by the sender's clock.
        sent_ns: u64,
    },
    /// Leaving, signed at `sent_ns` (Unix nanoseconds).
    Chau {
        /// When it was signed, by the sender's clock.
        sent_ns: u64,
    },
    /// A newspaper: what the nara runs and how long its host has been up.
    Newspaper(Story),
    /// The broker says that a connection of the nara ended without a goodbye.
    Will(Will),
}

/// The connection a will was left with (see [`super::will`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Will {
    /// The process's random ID.
    pub(crate) boot_id: String,
    /// Which of the process's connections.
    pub(crate) conn: u32,
    /// When it was signed: as that connection was made, Unix nanoseconds.
    pub(crate) signed_ns: u64,
}

/// The signed part of a newspaper that nara reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Story {
    /// The nara ID (`Status.ID`).
    pub(crate) id: String,
    /// The version it runs (`Status.Version`).
    pub(crate) version: String,
    /// The git revision, which only this nara's newspapers carry.
    pub(crate) revision: Option<String>,
    /// Where its web UI is, if it says (`Status.PublicUrl`).
    pub(crate) public_url: Option<String>,
    /// Seconds since its host booted (`Status.HostStats.Uptime`).
    pub(crate) host_uptime_s: u64,
    /// Seconds since its process started, which only this nara's newspapers carry.
    pub(crate) process_uptime_s: Option<u64>,
    /// When it was signed, Unix nanoseconds (this nara's newspapers only).
    pub(crate) sent_ns: Option<u64>,
    /// The sending process's random ID (this nara's newspapers only).
    pub(crate) boot_id: Option<String>,
    /// Which of the sending process's connections it was sent on (this nara's only).
    pub(crate) conn: Option<u32>,
    /// When the sending process started, Unix nanoseconds (this nara's only).
    pub(crate) started_ns: Option<u64>,
    /// The role the sending process was pinned to (this nara's only).
    pub(crate) role_pin: Option<String>,
    /// The sender stops and hands its soul over to a twin (this nara's only).
    pub(crate) handover: bool,
    /// Its tags, within their limits (this nara's only).
    pub(crate) tags: super::tags::Tags,
    /// Its host's load, its process's memory, CPU and descriptors, as far as it says
    /// (boxed: a message's body stays small for the messages that carry none).
    pub(crate) health: Box<super::host_health::HostHealth>,
}

/// Why a message was dropped; the label it is counted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Larger than the policy allows.
    TooLarge,
    /// Not UTF-8 text.
    NotUtf8,
    /// Not a JSON object.
    InvalidJson,
    /// A field missing, of the wrong type or out of range.
    InvalidFields,
    /// Sent on a topic that does not match its kind or sender.
    WrongTopic,
    /// Signed by one nara on behalf of another (`emitter` is not `From`).
    WrongSender,
    /// No signature at all, which the Go nara lets through.
    Unsigned,
    /// The signature does not verify, or the event ID does not match its content.
    BadSignature,
    /// Signed too long ago or too far ahead, or a newspaper whose host uptime does not
    /// fit the boot time seen before: a replay or a broken clock.
    Stale,
    /// Not newer than a message already accepted from the same nara.
    Replayed,
    /// Signed by a key other than the one first seen for that name.
    KeyMismatch,
    /// From a nara not in the view, which is full of naras still ONLINE
    /// (`--plaza-max-peers`): a newcomer never takes the place of one that speaks.
    ViewFull,
    /// An empty newspaper: the broker's retained copy was deleted (a nara that says
    /// chau deletes its own). It says nothing.
    Deleted,
    /// Retained by the broker, beyond what one connection reads of those (as many as
    /// the view holds naras, and so many bytes each): a flood of retained junk.
    RetainedOverBudget,
}

impl Rejection {
    /// Every reason, for documentation and tests.
    #[cfg(test)]
    const ALL: [Rejection; 14] = [
        Rejection::TooLarge,
        Rejection::NotUtf8,
        Rejection::InvalidJson,
        Rejection::InvalidFields,
        Rejection::WrongTopic,
        Rejection::WrongSender,
        Rejection::Unsigned,
        Rejection::BadSignature,
        Rejection::Stale,
        Rejection::Replayed,
        Rejection::KeyMismatch,
        Rejection::ViewFull,
        Rejection::Deleted,
        Rejection::RetainedOverBudget,
    ];

    /// The reason as a metric label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Rejection::TooLarge => "too_large",
            Rejection::NotUtf8 => "not_utf8",
            Rejection::InvalidJson => "invalid_json",
            Rejection::InvalidFields => "invalid_fields",
            Rejection::WrongTopic => "wrong_topic",
            Rejection::WrongSender => "wrong_sender",
            Rejection::Unsigned => "unsigned",
            Rejection::BadSignature => "bad_signature",
            Rejection::Stale => "stale",
            Rejection::Replayed => "replayed",
            Rejection::KeyMismatch => "key_mismatch",
            Rejection::ViewFull => "view_full",
            Rejection::Deleted => "deleted",
            Rejection::RetainedOverBudget => "retained_over_budget",
        }
    }

    /// A JSON error as a rejection: broken syntax is not JSON; JSON of the wrong
    /// shape has invalid fields.
    pub(super) fn of_json(error: &serde_json::Error) -> Rejection {
        match error.classify() {
            serde_json::error::Category::Data => Rejection::InvalidFields,
            _ => Rejection::InvalidJson,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits applied before a message is believed.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Larger messages are dropped unread. A Go nara's newspaper, with its
    /// personality, aura and event counts, is one to two kilobytes.
    pub(crate) max_bytes: usize,
    /// How far an event's timestamp, or a newspaper's implied boot time, may be from
    /// what our clock says, either way.
    pub max_skew: Duration,
}

impl Policy {
    /// The policy with this `max_skew` (`--plaza-max-skew`), and 16 KiB for a message.
    pub(crate) fn new(max_skew: Duration) -> Self {
        Policy {
            max_bytes: 16 * 1024,
            max_skew,
        }
    }
}

/// A short text field: at most `max` bytes of printable ASCII (spaces allowed), or
/// empty when `may_be_empty`.
pub(super) fn plain_text(text: &str, max: usize, may_be_empty: bool) -> bool {
    (may_be_empty || !text.is_empty()) && text.len() <= max && text.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// A public key as the Go nara writes it: 32 bytes, standard Base64.
pub(super) fn public_key(text: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = BASE64.decode(text).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// Checks an Ed25519 signature (standard Base64, as the Go nara writes it) over `signed`.
pub(super) fn verify(key: &VerifyingKey, signature: &str, signed: &[u8]) -> Result<(), Rejection> {
    let signature: [u8; 64] = BASE64
        .decode(signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(Rejection::BadSignature)?;
    key.verify_strict(signed, &Signature::from_bytes(&signature))
        .map_err(|_| Rejection::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_map_to_kinds_and_back() {
        for kind in Kind::ALL {
            assert_eq!(Kind::of_topic(&kind.topic("alice")), Some(kind));
        }
        assert_eq!(Kind::of_topic("nara/plaza/social"), None);
        assert_eq!(Kind::of_topic("nara/plaza/howdy"), None);
    }

    #[test]
    fn every_rejection_has_its_own_label() {
        let labels: std::collections::BTreeSet<_> = Rejection::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(labels.len(), Rejection::ALL.len());
    }
}
