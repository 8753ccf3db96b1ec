//! Who may open an event stream: at most so many at once, and at most so many from one
//! client (see [`crate::http::client_ip`] for who a client is), so that one address
//! holding streams it never reads cannot lock everyone else out. A stream holds a
//! [`Seat`] for as long as its body lives; a request refused one gets 503, counted by
//! which cap refused it.

use crate::http::client_ip::counted_as;
use prometheus::{IntCounterVec, IntGauge};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Which cap refused a stream, as the metric's `reason` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Every stream nara serves is open.
    Full,
    /// The client has its most streams open.
    Client,
}

impl Refused {
    fn as_str(self) -> &'static str {
        match self {
            Refused::Full => "full",
            Refused::Client => "client",
        }
    }
}

/// The open streams, in all and by client: at most `total` entries in the map, since
/// each holds at least one stream.
#[derive(Default)]
struct Taken {
    open: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// The seats of the event streams and their metrics.
pub(crate) struct Seats {
    total: usize,
    per_client: usize,
    taken: Mutex<Taken>,
    open_gauge: IntGauge,
    refused: IntCounterVec,
}

impl Seats {
    /// `total` seats, at most `per_client` for one client; open ones shown in
    /// `open_gauge`, refusals counted in `refused` (each reason there from the start).
    pub(crate) fn new(total: usize, per_client: usize, open_gauge: IntGauge, refused: IntCounterVec) -> Seats {
        for reason in [Refused::Full, Refused::Client] {
            refused.with_label_values(&[reason.as_str()]);
        }
        Seats {
            total,
            per_client,
            taken: Mutex::new(Taken::default()),
            open_gauge,
            refused,
        }
    }

    /// A seat for a stream of `client`, or which cap refuses it (counted).
    pub(crate) fn take(self: &Arc<Self>, client: IpAddr) -> Result<Seat, Refused> {
        let client = counted_as(client);
        let mut taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        let theirs = taken.by_client.get(&client).copied().unwrap_or(0);
        let refused = if taken.open >= self.total {
            Some(Refused::Full)
        } else if theirs >= self.per_client {
            Some(Refused::Client)
        } else {
            None
        };
        if let Some(reason) = refused {
            self.refused.with_label_values(&[reason.as_str()]).inc();
            return Err(reason);
        }
        taken.open += 1;
        taken.by_client.insert(client, theirs + 1);
        self.open_gauge.inc();
        Ok(Seat {
            seats: self.clone(),
            client,
        })
    }

    fn give_back(&self, client: IpAddr) {
        let mut taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        taken.open = taken.open.saturating_sub(1);
        if let Some(theirs) = taken.by_client.get_mut(&client) {
            *theirs -= 1;
            if *theirs == 0 {
                taken.by_client.remove(&client);
            }
        }
        self.open_gauge.dec();
    }

    /// Clients with a stream open now.
    #[cfg(test)]
    fn clients(&self) -> usize {
        self.taken
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_client
            .len()
    }
}

/// One stream's seat, given back when its body is dropped.
pub(crate) struct Seat {
    seats: Arc<Seats>,
    client: IpAddr,
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.seats.give_back(self.client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seats(total: usize, per_client: usize) -> Arc<Seats> {
        let gauge = IntGauge::new("open", "open").unwrap();
        let refused = IntCounterVec::new(prometheus::Opts::new("refused", "refused"), &["reason"]).unwrap();
        Arc::new(Seats::new(total, per_client, gauge, refused))
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_caps_admit_until_full_and_a_seat_comes_back_when_a_stream_ends() {
        let seats = seats(3, 2);
        let first = seats.take(ip("192.0.2.1")).expect("one");
        let _second = seats.take(ip("192.0.2.1")).expect("two");
        assert_eq!(
            seats.take(ip("192.0.2.1")).err(),
            Some(Refused::Client),
            "a third is past this client's cap"
        );
        let _other = seats.take(ip("192.0.2.2")).expect("another client has room");
        assert_eq!(
            seats.take(ip("192.0.2.3")).err(),
            Some(Refused::Full),
            "a fourth is past the total"
        );
        assert_eq!(seats.open_gauge.get(), 3);
        assert_eq!(seats.refused.with_label_values(&["client"]).get(), 1);
        assert_eq!(seats.refused.with_label_values(&["full"]).get(), 1);
        drop(first);
        assert_eq!(seats.open_gauge.get(), 2);
        assert!(seats.take(ip("192.0.2.1")).is_ok(), "the seat came back");
    }

    #[test]
    fn a_client_whose_streams_all_ended_leaves_no_entry_behind() {
        let seats = seats(100, 100);
        let held: Vec<Seat> = (0..50)
            .map(|i| seats.take(ip(&format!("192.0.2.{i}"))).unwrap())
            .collect();
        assert_eq!(seats.clients(), 50);
        drop(held);
        assert_eq!(seats.clients(), 0);
        assert_eq!(seats.open_gauge.get(), 0);
    }

    #[test]
    fn one_ipv6_host_is_one_client_however_many_addresses_it_takes() {
        let seats = seats(100, 2);
        let _a = seats.take(ip("2001:db8:0:1::a")).unwrap();
        let _b = seats.take(ip("2001:db8:0:1::b")).unwrap();
        assert_eq!(seats.take(ip("2001:db8:0:1::c")).err(), Some(Refused::Client));
        assert!(
            seats.take(ip("2001:db8:0:2::a")).is_ok(),
            "the next /64 is another client"
        );
    }
}
