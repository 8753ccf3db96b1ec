//! Everything received from the broker comes in here: checked for size and UTF-8, then
//! handed to the decoder its topic names ([`super::event`], [`super::newspaper`] or
//! [`super::will`]).
//! Decoding checks, in order: size, UTF-8, JSON, fields, topic and sender, clock skew,
//! signature; the first failure is the `Rejection` that is counted. Where the Go nara
//! accepts an unsigned message or only logs a bad signature, nara drops it.

use super::message::{Kind, Message, NEWSPAPER_PREFIX, Policy, Rejection, WILL_PREFIX};
use super::{event, newspaper, will};
use std::time::{Duration, SystemTime};

/// How a message reached nara.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// As it was published.
    Live,
    /// From the broker's store, on subscribing: a newspaper may be up to `max_age` old
    /// (the retained newspapers' expiry).
    Retained {
        /// How old a retained newspaper may be.
        max_age: Duration,
    },
}

/// Checks everything a single message, delivered live, can prove about itself. Trust
/// on first use, replays and a newspaper's freshness need history, so the view checks
/// those.
pub fn decode(topic: &str, payload: &[u8], now: SystemTime, policy: Policy) -> Result<Message, Rejection> {
    decode_delivered(topic, payload, now, policy, Delivery::Live)
}

/// [`decode`], for a message delivered as `delivery` says.
pub fn decode_delivered(
    topic: &str,
    payload: &[u8],
    now: SystemTime,
    policy: Policy,
    delivery: Delivery,
) -> Result<Message, Rejection> {
    if payload.len() > policy.max_bytes {
        return Err(Rejection::TooLarge);
    }
    let kind = Kind::of_topic(topic).ok_or(Rejection::WrongTopic)?;
    if payload.is_empty() && kind == Kind::Newspaper {
        return Err(Rejection::Deleted);
    }
    let text = std::str::from_utf8(payload).map_err(|_| Rejection::NotUtf8)?;
    let max_age = match delivery {
        Delivery::Live => policy.max_skew,
        Delivery::Retained { max_age } => max_age,
    };
    match kind {
        Kind::Newspaper => newspaper::decode_aged(&topic[NEWSPAPER_PREFIX.len()..], text, now, policy, max_age),
        Kind::Will => will::decode(&topic[WILL_PREFIX.len()..], text),
        kind => event::decode(kind, text, now, policy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plaza::message::HEY_THERE_TOPIC;

    #[test]
    fn garbage_is_classified_before_any_parsing_of_fields() {
        let now = SystemTime::now();
        let decode = |topic: &str, payload: &[u8]| decode(topic, payload, now, crate::testing::policy());
        assert_eq!(decode(HEY_THERE_TOPIC, &vec![b'{'; 20_000]), Err(Rejection::TooLarge));
        assert_eq!(decode(HEY_THERE_TOPIC, &[0xff, 0xfe]), Err(Rejection::NotUtf8));
        assert_eq!(decode(HEY_THERE_TOPIC, b"{not json"), Err(Rejection::InvalidJson));
        assert_eq!(decode("nara/newspaper/x", b"[1,2]"), Err(Rejection::InvalidFields));
        assert_eq!(decode("nara/plaza/social", b"{}"), Err(Rejection::WrongTopic));
    }
}
