//! What each connection to the broker is, as the transport makes them one after
//! another: its will (left with the broker as it connects, see [`super::will`]), what
//! it subscribes to, and how soon it announces itself. Presence is never retained, so
//! a retained message on these topics is someone else's: none is asked for.

use super::Plaza;
use super::broker_backoff::jitter;
use super::message::{CHAU_TOPIC, HEY_THERE_TOPIC, NEWSPAPER_PREFIX, WILL_PREFIX};
use rumqttc::v5::MqttOptions;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, RetainForwardRule};
use std::time::Duration;

/// The longest random wait before a connection after the first announces itself: the
/// reconnections after a broker restart are spread already by their backoff, and a
/// nara whose will the broker published while it was away must speak within the
/// confirmation time.
const COMEBACK_JITTER: Duration = Duration::from_millis(500);

/// The connections made so far, and the one now open.
#[derive(Debug)]
pub(super) struct Connections {
    /// Connections the broker accepted.
    accepted: u32,
    /// The connection now closing was left on purpose, to leave a will behind: the
    /// next one announces at once.
    moving_on: bool,
}

impl Connections {
    /// None made yet.
    pub(super) fn new() -> Connections {
        Connections {
            accepted: 0,
            moving_on: false,
        }
    }

    /// Leaves the will of the next connection with `options`, which its CONNECT
    /// carries: one will per connection, each naming its own. A read-only nara
    /// publishes nothing, a will included.
    pub(super) fn prepare(plaza: &Plaza, options: &mut MqttOptions) {
        if !plaza.config.read_only {
            options.set_last_will(plaza.next_will());
        }
    }

    /// The broker accepted a connection: returns how long to wait before announcing.
    pub(super) fn accepted(&mut self, plaza: &Plaza) -> Duration {
        let first = self.accepted == 0;
        self.accepted = self.accepted.saturating_add(1);
        if std::mem::take(&mut self.moving_on) {
            Duration::ZERO
        } else if first {
            jitter(plaza.config.announce_jitter)
        } else {
            jitter(plaza.config.announce_jitter.min(COMEBACK_JITTER))
        }
    }

    /// The transport leaves this connection on purpose, for a new one with a new will.
    pub(super) fn move_on(&mut self) {
        self.moving_on = true;
    }
}

/// What a connection subscribes to: the newspapers, the events and the wills, none
/// retained.
pub(super) fn subscriptions() -> [Filter; 4] {
    let filter = |topic: String, rule| Filter {
        retain_forward_rule: rule,
        ..Filter::new(topic, QoS::AtMostOnce)
    };
    [
        filter(format!("{NEWSPAPER_PREFIX}+"), RetainForwardRule::Never),
        filter(HEY_THERE_TOPIC.to_string(), RetainForwardRule::Never),
        filter(CHAU_TOPIC.to_string(), RetainForwardRule::Never),
        filter(format!("{WILL_PREFIX}+"), RetainForwardRule::Never),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::plaza::identity::{Identity, Soul, SoulSource};
    use std::sync::Arc;

    fn plaza() -> Arc<Plaza> {
        let identity = Identity::new(&Soul::mint("me").unwrap(), "me", SoulSource::Ephemeral);
        Plaza::new(identity, crate::testing::plaza_config(), Arc::new(Metrics::new()))
    }

    #[test]
    fn a_first_connection_announces_within_the_jitter_a_comeback_sooner_and_a_move_at_once() {
        let plaza = plaza();
        let mut connections = Connections::new();
        assert!(connections.accepted(&plaza) <= plaza.config.announce_jitter);
        assert!(connections.accepted(&plaza) <= COMEBACK_JITTER);
        connections.move_on();
        assert_eq!(connections.accepted(&plaza), Duration::ZERO);
        assert!(connections.accepted(&plaza) <= COMEBACK_JITTER, "once");
    }

    #[test]
    fn nothing_is_asked_for_from_the_store() {
        let filters = subscriptions();
        assert_eq!(filters[0].path, "nara/newspaper/+");
        for filter in &filters {
            assert_eq!(filter.retain_forward_rule, RetainForwardRule::Never, "{}", filter.path);
        }
        assert_eq!(filters[3].path, "nara/will/+");
    }
}
