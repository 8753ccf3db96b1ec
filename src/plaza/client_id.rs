//! This process's MQTT client ID, and what the transport knows of its session being
//! taken over.
//!
//! A broker ends a session when another client connects with the same client ID,
//! whatever account that client logs in with: the ID is the only key to the session.
//! So nara's is a secret: 23 random letters and digits (about 136 bits, the longest ID
//! every MQTT 5 broker must accept), drawn per process and kept across the process's
//! reconnects. It is derived from nothing a nara publishes, so no one can compute it;
//! each twin of a soul has its own; and it is never a bare name, the Go nara's client
//! ID. It is in no message, no `/api/status`, no metric, and in the log at debug only.

use std::fmt;
use std::time::Duration;

/// The characters of a client ID: those every MQTT 5 broker must accept.
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// The length every MQTT 5 broker must accept; 62^23 is about 2^136.
const LENGTH: usize = 23;

/// A secret client ID. Its `Debug` does not show it.
pub(super) struct ClientId(String);

impl ClientId {
    /// A new ID from the system's randomness.
    pub(super) fn mint() -> Result<ClientId, String> {
        let mut id = String::with_capacity(LENGTH);
        while id.len() < LENGTH {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| format!("the system gave no randomness for a client ID: {e}"))?;
            // Bytes from 248 up are dropped, so each character is equally likely.
            let usable = bytes.iter().filter(|b| usize::from(**b) < 4 * ALPHABET.len());
            for b in usable.take(LENGTH - id.len()) {
                id.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
            }
        }
        Ok(ClientId(id))
    }

    /// The ID itself, for the broker (and a debug line) only.
    pub(super) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientId(…)")
    }
}

/// What the transport knows of the broker ending this process's session.
///
/// mosquitto 2.0.11 ends a session taken over by closing the connection, with no word;
/// later versions send a DISCONNECT (0x8E) too short for the MQTT client nara uses to
/// read. Either way nara sees only that the broker closed a connection it had accepted.
/// So it asks again at once, under the same ID: a broker that takes it back at once
/// stayed up, and someone else had the ID; a broker that does not went away.
#[derive(Debug, Default)]
pub(super) struct SessionWatch {
    /// The broker closed the accepted connection with no reason nara could read, and
    /// the transport is asking again at once.
    probing: bool,
    /// The transport is leaving a connection under an ID someone else has, to come
    /// back under a new one after this wait.
    rotating: Option<Duration>,
    /// A takeover is shown in `broker_trouble`, until a connection lasts.
    takeover_shown: bool,
}

impl SessionWatch {
    /// The broker closed the accepted connection and gave no reason: the next attempt,
    /// at once, tells why.
    pub(super) fn probe(&mut self) {
        self.probing = true;
    }

    /// Whether the attempt that just ended (accepted or failed) was asking why the
    /// broker closed the connection before it; it is the last that was.
    pub(super) fn take_probe(&mut self) -> bool {
        std::mem::take(&mut self.probing)
    }

    /// The transport leaves the connection now, and comes back after `wait` under a
    /// new ID.
    pub(super) fn rotate(&mut self, wait: Duration) {
        self.rotating = Some(wait);
    }

    /// Whether the transport is leaving a connection on purpose.
    pub(super) fn is_rotating(&self) -> bool {
        self.rotating.is_some()
    }

    /// The connection left on purpose is gone: how long to wait before the next.
    pub(super) fn rotated(&mut self) -> Duration {
        self.rotating.take().unwrap_or_default()
    }

    /// A takeover is shown now; returns whether one already was.
    pub(super) fn show_takeover(&mut self) -> bool {
        std::mem::replace(&mut self.takeover_shown, true)
    }

    /// Whether the trouble shown is a takeover (which a new connection does not clear).
    pub(super) fn takeover_shown(&self) -> bool {
        self.takeover_shown
    }

    /// Another trouble is shown instead, or none: returns whether a takeover was.
    pub(super) fn takeover_cleared(&mut self) -> bool {
        std::mem::take(&mut self.takeover_shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_23_letters_and_digits_and_never_the_same() {
        let ids: Vec<String> = (0..200)
            .map(|_| ClientId::mint().unwrap().expose().to_string())
            .collect();
        for id in &ids {
            assert_eq!(id.len(), LENGTH, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "two IDs alike");
    }

    #[test]
    fn every_character_is_drawn() {
        let drawn: String = (0..100).map(|_| ClientId::mint().unwrap().0).collect();
        for c in ALPHABET {
            assert!(
                drawn.contains(char::from(*c)),
                "{} never drawn in 2,300",
                char::from(*c)
            );
        }
    }

    #[test]
    fn debug_does_not_show_the_id() {
        let id = ClientId::mint().unwrap();
        let shown = format!("{id:?}");
        assert!(!shown.contains(id.expose()), "{shown}");
    }

    #[test]
    fn a_probe_is_answered_once() {
        let mut watch = SessionWatch::default();
        assert!(!watch.take_probe());
        watch.probe();
        assert!(watch.take_probe());
        assert!(!watch.take_probe(), "the next attempt asks nothing");
    }

    #[test]
    fn a_rotation_ends_with_its_wait() {
        let mut watch = SessionWatch::default();
        watch.rotate(Duration::from_secs(2));
        assert!(watch.is_rotating());
        assert_eq!(watch.rotated(), Duration::from_secs(2));
        assert!(!watch.is_rotating());
        assert_eq!(watch.rotated(), Duration::ZERO);
    }

    #[test]
    fn a_takeover_stays_shown_until_cleared() {
        let mut watch = SessionWatch::default();
        assert!(!watch.show_takeover(), "none was shown");
        assert!(watch.show_takeover(), "one was");
        assert!(watch.takeover_shown());
        assert!(watch.takeover_cleared());
        assert!(!watch.takeover_shown());
        assert!(!watch.takeover_cleared());
    }
}
