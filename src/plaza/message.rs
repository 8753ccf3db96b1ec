//! Plaza messages on the wire: JSON objects signed with Ed25519.
//!
//! The signature covers the *canonical encoding*: the message object without its
//! `signature` member, keys sorted, no whitespace (RFC 8785 for the strings and
//! integers nara sends). Members a newer nara adds are covered too, so older naras
//! still verify them. Decoding checks, in order: size, UTF-8, JSON, fields, topic,
//! clock skew, signature; the first failure is the [`Rejection`] that is counted.

use super::identity::Identity;
use super::identity::validate_name;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Map, Value};
use std::fmt;
/// Every plaza topic starts with this.
pub const TOPIC_PREFIX: &str = "nara/plaza/";
/// The subscription that hears the whole plaza.
pub const SUBSCRIPTION: &str = "nara/plaza/#";

/// What a message announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Joining the plaza.
    HeyThere,
    /// Still here: sent every newspaper interval.
    Newspaper,
    /// Leaving the plaza on a graceful shutdown.
    Chau,
}

impl Kind {
    /// Every kind, for bounded metric labels.
    pub const ALL: [Kind; 3] = [Kind::HeyThere, Kind::Newspaper, Kind::Chau];
    /// The kind's name on the wire and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::HeyThere => "hey-there",
            Kind::Newspaper => "newspaper",
            Kind::Chau => "chau",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The topic a message of this kind from `name` is published on.
    pub fn topic(self, name: &str) -> String {
        match self {
            Kind::Newspaper => format!("{TOPIC_PREFIX}newspaper/{name}"),
            other => format!("{TOPIC_PREFIX}{}", other.as_str()),
        }
    }
}

/// A verified message's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// What the message says: hello, presence, goodbye.
    pub kind: Kind,
    /// The sender's name.
    pub name: String,
    /// The sender's nara ID.
    pub id: String,
    /// The sender's public key, which the signature is checked against.
    pub public_key: String,
    /// The version the sender runs.
    pub version: String,
    /// The git revision the sender runs.
    pub revision: String,
    /// Unix seconds at signing.
    pub timestamp: u64,
    /// The sender's uptime in seconds.
    pub uptime_s: u64,
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
    /// The signature does not verify.
    BadSignature,
    /// Signed too long ago or too far ahead: a replay or a broken clock.
    Stale,
    /// Older than a message already accepted from the same nara.
    Replayed,
    /// Signed by a key other than the one first seen for that name.
    KeyMismatch,
}

impl Rejection {
    /// The reason as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::TooLarge => "too_large",
            Rejection::NotUtf8 => "not_utf8",
            Rejection::InvalidJson => "invalid_json",
            Rejection::InvalidFields => "invalid_fields",
            Rejection::WrongTopic => "wrong_topic",
            Rejection::BadSignature => "bad_signature",
            Rejection::Stale => "stale",
            Rejection::Replayed => "replayed",
            Rejection::KeyMismatch => "key_mismatch",
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
    /// Larger messages are dropped unread.
    pub max_bytes: usize,
    /// How far a timestamp may be from our clock, either way.
    pub max_skew_s: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_bytes: 4096,
            max_skew_s: 60,
        }
    }
}

fn canonical(object: &Map<String, Value>) -> Vec<u8> {
    /// The object without its signature, written in place rather than copied: this
    /// runs for every message received.
    struct Unsigned<'a>(&'a Map<String, Value>);
    impl serde::Serialize for Unsigned<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_map(self.0.iter().filter(|(key, _)| *key != "signature"))
        }
    }
    // serde_json's Map is ordered by key, and to_vec writes no whitespace.
    let mut out = Vec::with_capacity(512);
    serde_json::to_writer(&mut out, &Unsigned(object)).expect("a JSON object serializes");
    out
}

impl Message {
    /// The signed wire form.
    pub fn sign(&self, identity: &Identity) -> Vec<u8> {
        let mut object = Map::new();
        object.insert("kind".into(), self.kind.as_str().into());
        object.insert("name".into(), self.name.clone().into());
        object.insert("id".into(), self.id.clone().into());
        object.insert("public_key".into(), self.public_key.clone().into());
        object.insert("version".into(), self.version.clone().into());
        object.insert("revision".into(), self.revision.clone().into());
        object.insert("timestamp".into(), self.timestamp.into());
        object.insert("uptime_s".into(), self.uptime_s.into());
        let signature = identity.sign(&canonical(&object));
        object.insert("signature".into(), signature.into());
        serde_json::to_vec(&Value::Object(object)).expect("a JSON object serializes")
    }

    /// Checks everything a single message can prove about itself. Trust on first use
    /// and replay order need history, so the projection checks those.
    pub fn decode(topic: &str, payload: &[u8], now_unix: u64, policy: Policy) -> Result<Message, Rejection> {
        if payload.len() > policy.max_bytes {
            return Err(Rejection::TooLarge);
        }
        let text = std::str::from_utf8(payload).map_err(|_| Rejection::NotUtf8)?;
        let object: Map<String, Value> = serde_json::from_str(text).map_err(|_| Rejection::InvalidJson)?;
        let message = fields(&object).ok_or(Rejection::InvalidFields)?;
        if topic != message.kind.topic(&message.name) {
            return Err(Rejection::WrongTopic);
        }
        if now_unix.abs_diff(message.timestamp) > policy.max_skew_s {
            return Err(Rejection::Stale);
        }
        let signature = object
            .get("signature")
            .and_then(Value::as_str)
            .ok_or(Rejection::InvalidFields)?;
        verify(&message.public_key, signature, &canonical(&object))?;
        Ok(message)
    }
}

fn fields(object: &Map<String, Value>) -> Option<Message> {
    let text = |key: &str, max: usize| {
        object
            .get(key)?
            .as_str()
            .filter(|s| !s.is_empty() && s.len() <= max && s.chars().all(|c| c.is_ascii_graphic()))
            .map(String::from)
    };
    let number = |key: &str| object.get(key)?.as_u64();
    let name = text("name", 64)?;
    validate_name(&name).ok()?;
    Some(Message {
        kind: Kind::parse(object.get("kind")?.as_str()?)?,
        name,
        id: text("id", 64)?,
        public_key: text("public_key", 64)?,
        version: text("version", 64)?,
        revision: text("revision", 64)?,
        timestamp: number("timestamp")?,
        uptime_s: number("uptime_s")?,
    })
}

/// Checks an Ed25519 signature; key and signature are standard Base64, as the Go nara
/// writes them.
fn verify(public_key: &str, signature: &str, signed: &[u8]) -> Result<(), Rejection> {
    let key: [u8; 32] = BASE64
        .decode(public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(Rejection::InvalidFields)?;
    let signature: [u8; 64] = BASE64
        .decode(signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(Rejection::BadSignature)?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| Rejection::InvalidFields)?;
    key.verify_strict(signed, &Signature::from_bytes(&signature))
        .map_err(|_| Rejection::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plaza::identity::{Fingerprint, Soul, SoulSource};

    const NOW: u64 = 1_800_000_000;

    fn identity(name: &str) -> Identity {
        Identity::new(
            &Soul::native(&Fingerprint::of("test-machine", &[]), name),
            name,
            SoulSource::Native,
        )
    }

    fn message(identity: &Identity, kind: Kind, timestamp: u64) -> Message {
        Message {
            kind,
            name: identity.name.clone(),
            id: identity.id.clone(),
            public_key: identity.public_key.clone(),
            version: "0.1.0".into(),
            revision: "abc123".into(),
            timestamp,
            uptime_s: 5,
        }
    }

    fn decode(topic: &str, payload: &[u8]) -> Result<Message, Rejection> {
        Message::decode(topic, payload, NOW, Policy::default())
    }

    #[test]
    fn a_signed_message_verifies_on_its_topic() {
        let me = identity("alpha");
        for kind in Kind::ALL {
            let sent = message(&me, kind, NOW);
            assert_eq!(decode(&kind.topic("alpha"), &sent.sign(&me)), Ok(sent));
        }
    }

    #[test]
    fn a_tampered_field_breaks_the_signature() {
        let me = identity("alpha");
        let wire = String::from_utf8(message(&me, Kind::Newspaper, NOW).sign(&me)).unwrap();
        let tampered = wire.replace("\"0.1.0\"", "\"9.9.9\"");
        assert_eq!(
            decode(&Kind::Newspaper.topic("alpha"), tampered.as_bytes()),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn a_message_signed_by_another_key_is_refused() {
        let me = identity("alpha");
        let thief = identity("mallory");
        let mut forged = message(&me, Kind::HeyThere, NOW);
        forged.public_key = me.public_key.clone();
        // Signed with the thief's key while claiming alpha's public key.
        let wire = forged.sign(&thief);
        assert_eq!(
            decode(&Kind::HeyThere.topic("alpha"), &wire),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn the_signed_bytes_are_the_members_but_the_signature_sorted_without_whitespace() {
        // Other implementations must produce these bytes exactly: this is wire format.
        let object: Map<String, Value> =
            serde_json::from_str(r#"{"z": 1, "signature": "x", "a": "b", "m": {"y": 2, "c": [1, 2]}}"#).unwrap();
        assert_eq!(
            String::from_utf8(canonical(&object)).unwrap(),
            r#"{"a":"b","m":{"c":[1,2],"y":2},"z":1}"#
        );
    }

    #[test]
    fn added_members_are_covered_by_the_signature() {
        let me = identity("alpha");
        let wire = message(&me, Kind::Newspaper, NOW).sign(&me);
        let mut object: Map<String, Value> = serde_json::from_slice(&wire).unwrap();
        object.insert("zone".into(), "eu".into());
        let with_extra = serde_json::to_vec(&object).unwrap();
        assert_eq!(
            decode(&Kind::Newspaper.topic("alpha"), &with_extra),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn old_or_future_timestamps_are_stale() {
        let me = identity("alpha");
        let topic = Kind::Newspaper.topic("alpha");
        let old = message(&me, Kind::Newspaper, NOW - 61).sign(&me);
        let future = message(&me, Kind::Newspaper, NOW + 61).sign(&me);
        let edge = message(&me, Kind::Newspaper, NOW - 60).sign(&me);
        assert_eq!(decode(&topic, &old), Err(Rejection::Stale));
        assert_eq!(decode(&topic, &future), Err(Rejection::Stale));
        assert!(decode(&topic, &edge).is_ok());
    }

    #[test]
    fn a_message_on_the_wrong_topic_is_refused() {
        let me = identity("alpha");
        let wire = message(&me, Kind::Newspaper, NOW).sign(&me);
        assert_eq!(
            decode(&Kind::Newspaper.topic("beta"), &wire),
            Err(Rejection::WrongTopic)
        );
        assert_eq!(decode(&Kind::Chau.topic("alpha"), &wire), Err(Rejection::WrongTopic));
    }

    #[test]
    fn garbage_is_classified() {
        let topic = Kind::HeyThere.topic("x");
        assert_eq!(decode(&topic, &vec![b'{'; 5000]), Err(Rejection::TooLarge));
        assert_eq!(decode(&topic, &[0xff, 0xfe]), Err(Rejection::NotUtf8));
        assert_eq!(decode(&topic, b"{not json"), Err(Rejection::InvalidJson));
        assert_eq!(decode(&topic, b"[1,2]"), Err(Rejection::InvalidJson));
        assert_eq!(
            decode(&topic, br#"{"kind":"hey-there"}"#),
            Err(Rejection::InvalidFields)
        );
        let bad_name = br#"{"kind":"hey-there","name":"a/b","id":"i","public_key":"k","version":"v","revision":"r","timestamp":1,"uptime_s":1}"#;
        assert_eq!(decode(&topic, bad_name), Err(Rejection::InvalidFields));
    }
}
