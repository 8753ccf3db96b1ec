//! The plaza, one test binary: naras meeting on a real broker (mosquitto on loopback)
//! and what their logs say of it, over TLS and with credentials, a broker that will not
//! have us or drops our newspapers, first contact and the retained newspapers, wills,
//! the cadence after a mass start, the fleet's series as naras come and go, what the
//! lookups, filters and Go JSON routes say of a fleet, restarts counted, twins sharing a
//! soul, an attacker after a nara's session, the Go nara's identities and presence
//! messages both ways, and the event hooks run on what the view sees, and each nara's host health.

#[path = "../common/mod.rs"]
mod common;

mod broker_trouble;
mod cadence;
mod first_contact;
mod fleet_metrics;
mod fleet_routes;
mod go_identity;
mod go_plaza;
mod hooks;
mod host_health;
mod journal;
mod name_and_user;
mod plaza;
mod plaza_secure;
mod restarts;
mod retained;
mod state_dir;
mod tags;
mod takeover;
mod twins;
mod wills;
