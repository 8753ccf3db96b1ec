//! What each connection to the broker is, as the transport makes them one after
//! another: its will (left with the broker as it connects, see [`super::will`]), what
//! it subscribes to, how much of what the broker retained it reads, and how soon it
//! announces itself.
//!
//! Every connection asks the broker for the retained newspapers: that is how a newcomer
//! learns the plaza without anyone answering it, and how a nara that was away (a broker
//! restart, a lost network) learns what it missed, each nara's newest connection among
//! it, which a will must name to count. Then the retained wills: a nara that crashed
//! before this one subscribed is SUSPECT, not ONLINE on the strength of its retained
//! newspaper. Events are never asked for: nara retains none, so a retained one is
//! someone else's.

use super::Plaza;
use super::broker_backoff::jitter;
use super::message::{CHAU_TOPIC, HEY_THERE_TOPIC, NEWSPAPER_PREFIX, WILL_PREFIX};
use super::retained::Budget;
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
    /// What the connection now open may still read of the retained newspapers.
    budget: Budget,
}

impl Connections {
    /// None made yet.
    pub(super) fn new() -> Connections {
        Connections {
            accepted: 0,
            moving_on: false,
            budget: Budget::new(0),
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
        self.budget = Budget::new(plaza.config.max_peers);
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

    /// Whether the connection may read one more retained message of `len` bytes.
    pub(super) fn read_retained(&mut self, len: usize) -> bool {
        self.budget.admit(len)
    }
}

/// What a connection subscribes to: the newspapers first, with those the broker
/// retained (a broker that sends retained messages in the order of the filters sends
/// them before anything else), then the events, never retained, and the wills, retained
/// (after the newspapers: a will from a name not yet heard is stale).
pub(super) fn subscriptions() -> [Filter; 4] {
    let filter = |topic: String, rule| Filter {
        retain_forward_rule: rule,
        ..Filter::new(topic, QoS::AtMostOnce)
    };
    [
        filter(format!("{NEWSPAPER_PREFIX}+"), RetainForwardRule::OnEverySubscribe),
        filter(HEY_THERE_TOPIC.to_string(), RetainForwardRule::Never),
        filter(CHAU_TOPIC.to_string(), RetainForwardRule::Never),
        filter(format!("{WILL_PREFIX}+"), RetainForwardRule::OnEverySubscribe),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::plaza::identity::{Identity, Soul, SoulSource};
    use std::sync::Arc;

    fn plaza_of(max_peers: usize) -> Arc<Plaza> {
        let identity = Identity::new(&Soul::mint("me").unwrap(), "me", SoulSource::Ephemeral);
        let mut config = crate::testing::plaza_config();
        config.max_peers = max_peers;
        Plaza::new(identity, config, Arc::new(Metrics::new()))
    }

    fn plaza() -> Arc<Plaza> {
        plaza_of(10)
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
    fn each_connection_reads_the_retained_newspapers_within_its_own_budget() {
        let plaza = plaza_of(2);
        let mut connections = Connections::new();
        assert!(!connections.read_retained(10), "nothing before a connection");
        connections.accepted(&plaza);
        assert!((0..4).all(|_| connections.read_retained(10)));
        assert!(!connections.read_retained(10), "two for each nara the view holds");
        connections.accepted(&plaza);
        assert!(connections.read_retained(10), "a new connection, a new budget");
    }

    #[test]
    fn newspapers_then_wills_are_asked_for_from_the_store_and_events_never() {
        let filters = subscriptions();
        assert_eq!(filters[0].path, "nara/newspaper/+");
        assert_eq!(filters[0].retain_forward_rule, RetainForwardRule::OnEverySubscribe);
        for filter in &filters[1..3] {
            assert_eq!(filter.retain_forward_rule, RetainForwardRule::Never, "{}", filter.path);
        }
        assert_eq!(filters[3].path, "nara/will/+");
        assert_eq!(filters[3].retain_forward_rule, RetainForwardRule::OnEverySubscribe);
    }
}
