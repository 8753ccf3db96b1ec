//! The will: what the broker says for a nara whose connection ended without a goodbye.
//!
//! Every connection a nara makes leaves a will with the broker (MQTT 5's Will Message),
//! which the broker publishes on `nara/will/{name}` when the connection ends without a
//! DISCONNECT: the process crashed, froze past its keepalive, or lost its network. The
//! will is signed when the connection is made, so it names the connection it was left
//! with: the process's random `boot_id` and `conn`, a count of the process's
//! connections (1, 2, …). Observers judge a will by those, not by its age (it is as old
//! as the connection): see the view.
//!
//! The message is `{"From","Will","Signature"}`, the signature Ed25519 over the exact
//! bytes of the `Will` member as they arrive, as a newspaper is signed over its
//! `Status`. `Will` holds `PublicKey`, `boot_id`, `conn` and `signed_ns` (when it was
//! signed, Unix nanoseconds), each required: a newspaper's `Status` never carries
//! `signed_ns`, and a will never carries `HostStats`, so neither can pass for the other.
//! The Go nara neither sends nor reads wills; its naras never see the topic.
//!
//! The broker holds the will with a Will Delay ([`WILL_DELAY`]): a connection made again
//! under the same client ID within it cancels the will (a nara whose network blinked
//! comes back unnoticed). The session outlives the connection by [`SESSION_EXPIRY`], no
//! less than the delay, since a broker may send a will as soon as the session ends.

use super::identity::{Identity, validate_name};
use super::message::{self, Body, Message, Rejection, WILL_PREFIX, Will};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{LastWill, LastWillProperties};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::time::Duration;

/// How long the broker holds a will after the connection ends before it publishes it.
/// A connection made again under the same client ID within it cancels the will on
/// mosquitto (the spec says so too). mosquitto checks whole seconds, so a will comes
/// 0.2 to 1 s after the delay.
pub const WILL_DELAY: Duration = Duration::from_secs(2);

/// How long the session outlives its connection at the broker: at least [`WILL_DELAY`],
/// or a broker that follows the spec to the letter sends the will as soon as the
/// session ends.
pub const SESSION_EXPIRY: Duration = Duration::from_secs(10);

/// How long a published will may wait at the broker for a slow subscriber: a will
/// delivered later than this says nothing anyone can still act on.
pub const WILL_EXPIRY: Duration = Duration::from_secs(10);

/// The topic a will from `name` travels on.
pub fn topic(name: &str) -> String {
    format!("{WILL_PREFIX}{name}")
}

/// The connection a will is left with.
#[derive(Clone, Copy, Debug)]
pub struct OwnWill<'a> {
    /// The process's random ID, as in its newspapers.
    pub boot_id: &'a str,
    /// Which of the process's connections: 1, 2, …
    pub conn: u32,
    /// When it is signed (as the connection is made), Unix nanoseconds.
    pub signed_ns: u64,
}

/// The members of `Will`, in the order nara writes them.
#[derive(Serialize)]
struct OutWill<'a> {
    #[serde(rename = "PublicKey")]
    public_key: &'a str,
    boot_id: &'a str,
    conn: u32,
    signed_ns: u64,
}

#[derive(Serialize)]
struct OutMessage<'a> {
    #[serde(rename = "From")]
    from: &'a str,
    #[serde(rename = "Will")]
    will: &'a RawValue,
    #[serde(rename = "Signature")]
    signature: &'a str,
}

/// The signed will of `identity` for the connection `will` names.
pub fn encode(identity: &Identity, will: &OwnWill<'_>) -> Vec<u8> {
    let body = serde_json::to_string(&OutWill {
        public_key: &identity.public_key,
        boot_id: will.boot_id,
        conn: will.conn,
        signed_ns: will.signed_ns,
    })
    .expect("a will serializes");
    let signature = identity.sign(body.as_bytes());
    let raw = RawValue::from_string(body).expect("serde_json wrote valid JSON");
    serde_json::to_vec(&OutMessage {
        from: &identity.name,
        will: &raw,
        signature: &signature,
    })
    .expect("a will message serializes")
}

/// The MQTT 5 Last Will for the connection `will` names, as the transport hands it to
/// the broker in CONNECT: QoS 0, not retained, held for [`WILL_DELAY`], and dropped by
/// the broker if it cannot deliver it within [`WILL_EXPIRY`].
pub fn last_will(identity: &Identity, will: &OwnWill<'_>) -> LastWill {
    build(identity, will, false, WILL_EXPIRY)
}

/// [`last_will`], retained by the broker once published, for `keep_for` (the retained
/// newspapers' expiry): a nara that subscribes after the crash learns of it too, where
/// the dead nara's retained newspaper alone would show it ONLINE until that expiry.
pub fn retained_last_will(identity: &Identity, will: &OwnWill<'_>, keep_for: Duration) -> LastWill {
    build(identity, will, true, keep_for)
}

fn build(identity: &Identity, will: &OwnWill<'_>, retain: bool, expiry: Duration) -> LastWill {
    LastWill::new(
        topic(&identity.name),
        encode(identity, will),
        QoS::AtMostOnce,
        retain,
        Some(LastWillProperties {
            delay_interval: Some(seconds(WILL_DELAY)),
            payload_format_indicator: Some(1),
            message_expiry_interval: Some(seconds(expiry)),
            content_type: Some("application/json".into()),
            response_topic: None,
            correlation_data: None,
            user_properties: Vec::new(),
        }),
    )
}

/// A duration in the whole seconds MQTT counts in.
pub(crate) fn seconds(duration: Duration) -> u32 {
    u32::try_from(duration.as_secs()).unwrap_or(u32::MAX)
}

#[derive(Deserialize)]
struct InMessage<'a> {
    #[serde(rename = "From")]
    from: String,
    #[serde(rename = "Will", borrow)]
    will: &'a RawValue,
    #[serde(rename = "Signature", default)]
    signature: String,
}

#[derive(Deserialize)]
struct InWill {
    #[serde(rename = "PublicKey")]
    public_key: String,
    boot_id: String,
    conn: u32,
    signed_ns: u64,
}

/// Decodes and verifies a will received on `nara/will/{topic_name}`. Its age is no
/// reason to refuse it (a will is as old as the connection it was left with); the view
/// judges whether it names a connection still current.
pub(crate) fn decode(topic_name: &str, text: &str) -> Result<Message, Rejection> {
    let message: InMessage<'_> = serde_json::from_str(text).map_err(|e| Rejection::of_json(&e))?;
    let will: InWill = serde_json::from_str(message.will.get()).map_err(|e| Rejection::of_json(&e))?;
    let key = message::public_key(&will.public_key);
    let fields_ok = validate_name(&message.from).is_ok()
        && key.is_some()
        && message::plain_text(&will.boot_id, 64, false)
        && will.conn > 0
        && will.signed_ns > 0;
    let (true, Some(key)) = (fields_ok, key) else {
        return Err(Rejection::InvalidFields);
    };
    if message.from != topic_name {
        return Err(Rejection::WrongTopic);
    }
    if message.signature.is_empty() {
        return Err(Rejection::Unsigned);
    }
    message::verify(&key, &message.signature, message.will.get().as_bytes())?;
    Ok(Message {
        name: message.from,
        public_key: will.public_key,
        body: Body::Will(Will {
            boot_id: will.boot_id,
            conn: will.conn,
            signed_ns: will.signed_ns,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plaza::identity::go_test_identity;
    use crate::plaza::newspaper::{self, OwnStatus};
    use std::time::SystemTime;

    const OWN: OwnWill<'static> = OwnWill {
        boot_id: "b00t",
        conn: 3,
        signed_ns: 1_800_000_000_000_000_000,
    };

    #[test]
    fn a_will_reads_back_with_the_connection_it_names() {
        let alice = go_test_identity("alice");
        let wire = String::from_utf8(encode(&alice, &OWN)).unwrap();
        assert!(wire.starts_with(r#"{"From":"alice","Will":{"PublicKey":""#), "{wire}");
        let message = decode("alice", &wire).unwrap();
        assert_eq!(message.public_key, alice.public_key);
        assert_eq!(
            message.body,
            Body::Will(Will {
                boot_id: "b00t".into(),
                conn: 3,
                signed_ns: OWN.signed_ns
            })
        );
    }

    #[test]
    fn a_will_on_another_naras_topic_tampered_or_unsigned_is_refused() {
        let alice = go_test_identity("alice");
        let wire = String::from_utf8(encode(&alice, &OWN)).unwrap();
        assert_eq!(decode("bob", &wire), Err(Rejection::WrongTopic));
        let tampered = wire.replace("\"conn\":3", "\"conn\":4");
        assert_eq!(decode("alice", &tampered), Err(Rejection::BadSignature));
        let unsigned = wire.split(",\"Signature\"").next().unwrap().to_string() + "}";
        assert_eq!(decode("alice", &unsigned), Err(Rejection::Unsigned));
        let no_conn = wire.replace("\"conn\":3", "\"conn\":0");
        assert_eq!(decode("alice", &no_conn), Err(Rejection::InvalidFields));
    }

    #[test]
    fn a_newspaper_never_passes_for_a_will_nor_a_will_for_a_newspaper() {
        // Both are signed over the raw bytes of a JSON member, by the same key: each
        // lacks a member the other requires.
        let alice = go_test_identity("alice");
        let now_ns = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let paper = String::from_utf8(newspaper::encode(
            &alice,
            &OwnStatus {
                version: "1.0.0",
                revision: "r",
                profile: "release",
                public_url: None,
                host_uptime_s: 10,
                process_uptime_s: 1,
                sent_ns: now_ns,
                boot_id: "b00t",
                conn: 1,
                started_ns: now_ns,
                role_pin: "auto",
                handover: false,
                tags: &crate::plaza::tags::NO_TAGS,
                health: Default::default(),
            },
        ))
        .unwrap();
        let as_will = paper.replacen("\"Status\"", "\"Will\"", 1);
        assert_eq!(decode("alice", &as_will), Err(Rejection::InvalidFields));
        let will = String::from_utf8(encode(
            &alice,
            &OwnWill {
                signed_ns: now_ns,
                ..OWN
            },
        ))
        .unwrap();
        let as_paper = will.replacen("\"Will\"", "\"Status\"", 1);
        assert_eq!(
            newspaper::decode("alice", &as_paper, SystemTime::now(), crate::testing::policy()),
            Err(Rejection::InvalidFields)
        );
    }

    #[test]
    fn the_last_will_is_held_for_the_delay_and_not_retained() {
        let alice = go_test_identity("alice");
        let will = last_will(&alice, &OWN);
        assert_eq!(will.topic, "nara/will/alice");
        assert!(!will.retain);
        let properties = will.properties.unwrap();
        assert_eq!(properties.delay_interval, Some(2));
        assert!(SESSION_EXPIRY >= WILL_DELAY);
        assert!(decode("alice", std::str::from_utf8(&will.message).unwrap()).is_ok());
    }

    #[test]
    fn a_retained_will_is_kept_as_long_as_the_retained_newspapers() {
        let alice = go_test_identity("alice");
        let will = retained_last_will(&alice, &OWN, Duration::from_secs(360));
        assert!(will.retain);
        let properties = will.properties.unwrap();
        assert_eq!(properties.delay_interval, Some(2));
        assert_eq!(properties.message_expiry_interval, Some(360));
        assert_eq!(will.message, last_will(&alice, &OWN).message);
    }
}
