//! Support for tests, examples, benches and fuzz targets: the configuration a nara given
//! no settings runs with, resolved from the declarations in this one place, so a changed
//! default reaches every test and tool, and the plaza's and the HTTP half's own tests
//! never meet the configuration room.

use crate::config;
use crate::plaza::config::PlazaConfig;
use crate::plaza::message::Policy;

/// The plaza's configuration when nothing is set: no broker, every declared default.
pub fn plaza_config() -> PlazaConfig {
    config::plaza::defaults()
}

/// What a message must meet to be believed, by the declared defaults: most plaza tests
/// need only this.
pub fn policy() -> Policy {
    plaza_config().policy
}
