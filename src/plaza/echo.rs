//! Whether the broker hands this process's newspapers back, as it hands back its
//! hey_there. A broker whose ACL lets this account say hey_there but not write
//! `nara/newspaper/<name>` (the Plaza chapter's `pattern write nara/newspaper/%u`,
//! with a name that is not the MQTT user) drops every newspaper without a word: they are
//! QoS 0, with nothing to refuse. The other naras then see this one ONLINE with no
//! version, then MISSING, while its own page says it is connected. Only the missing
//! echo tells, so nara watches for it and says so, once.

use std::sync::Mutex;

/// Newspapers sent, with a hey_there heard back and no newspaper, before nara says the
/// broker drops them: the first one's echo would be back long before the third goes.
const UNHEARD_BEFORE_WARNING: u32 = 3;

/// What the broker handed back of this process's messages.
#[derive(Debug, Default)]
pub(crate) struct EchoWatch {
    state: Mutex<Echoes>,
}

#[derive(Debug, Default)]
struct Echoes {
    /// A hey_there under this soul came back: the broker carries this account's words
    /// to this nara.
    heard_hello: bool,
    /// One of this process's newspapers came back.
    heard_newspaper: bool,
    /// Newspapers sent since a hey_there came back.
    unheard: u32,
    /// The warning was given (it is given once).
    warned: bool,
}

impl EchoWatch {
    fn echoes(&self) -> std::sync::MutexGuard<'_, Echoes> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A hey_there under this nara's soul came back (its own, or a twin's).
    pub(crate) fn heard_hello(&self) {
        self.echoes().heard_hello = true;
    }

    /// One of this process's own newspapers came back.
    pub(crate) fn heard_newspaper(&self) {
        self.echoes().heard_newspaper = true;
    }

    /// This process sent a newspaper. Returns true, once, when the broker has handed
    /// back a hey_there but none of [`UNHEARD_BEFORE_WARNING`] newspapers: the time to
    /// warn that it drops them.
    pub(crate) fn sent_newspaper(&self) -> bool {
        let mut echoes = self.echoes();
        if !echoes.heard_hello || echoes.heard_newspaper || echoes.warned {
            return false;
        }
        echoes.unheard += 1;
        echoes.warned = echoes.unheard > UNHEARD_BEFORE_WARNING;
        echoes.warned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newspapers_unheard_after_a_hello_heard_are_told_once() {
        let watch = EchoWatch::default();
        assert!(
            !(0..10).any(|_| watch.sent_newspaper()),
            "no hello heard: nothing to tell"
        );
        watch.heard_hello();
        let told: Vec<bool> = (0..10).map(|_| watch.sent_newspaper()).collect();
        assert_eq!(told.iter().filter(|t| **t).count(), 1, "{told:?}");
        assert!(told[UNHEARD_BEFORE_WARNING as usize], "{told:?}");
    }

    #[test]
    fn a_newspaper_heard_back_means_the_broker_carries_them() {
        let watch = EchoWatch::default();
        watch.heard_hello();
        watch.sent_newspaper();
        watch.heard_newspaper();
        assert!(!(0..10).any(|_| watch.sent_newspaper()));
    }
}
