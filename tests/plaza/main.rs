//! The plaza, one test binary: naras meeting on a real broker (mosquitto on loopback),
//! over TLS and with credentials, a broker that will not have us, first contact and the
//! retained newspapers, wills, the cadence after a mass start, twins
//! sharing a soul, an attacker after a nara's session, and the Go nara's identities and
//! presence messages both ways.

#[path = "../common/mod.rs"]
mod common;

mod broker_trouble;
mod cadence;
mod first_contact;
mod go_identity;
mod go_plaza;
mod plaza;
mod plaza_secure;
mod retained;
mod takeover;
mod twins;
mod wills;
