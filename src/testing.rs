//! Support for tests, examples, benches and fuzz targets, which cannot see
//! `#[cfg(test)]` items: the configuration a command line gives, as a start loads it,
//! and the configuration a nara given no settings runs with, resolved from the
//! declarations in this one place, so a changed default reaches every test and tool, and
//! the plaza's and the HTTP half's own tests never meet the configuration room.

use crate::config::layering::{ConfigError, Environment};
use crate::config::{self, Config, cli};
use crate::http::config::HttpConfig;
use crate::http::health::Health;
use crate::http::routes::App;
use crate::metrics::Metrics;
use crate::plaza::Plaza;
use crate::plaza::config::PlazaConfig;
use crate::plaza::identity::{Identity, Soul, SoulSource};
use crate::plaza::message::Policy;
use std::sync::Arc;

/// The configuration `args` (program name first) and `env` give, as a start would load
/// it: for tests that start nara in-process.
pub fn config_from_args<I, T>(args: I, env: &Environment) -> Result<Config, ConfigError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    let invocation = cli::parse(args).map_err(|e| ConfigError(cli::error_line(&e).unwrap_or_default()))?;
    config::load(&invocation, env)
}

/// The plaza's configuration when nothing is set: no broker, every declared default.
pub fn plaza_config() -> PlazaConfig {
    config::plaza::defaults()
}

/// What a message must meet to be believed, by the declared defaults: most plaza tests
/// need only this.
pub fn policy() -> Policy {
    plaza_config().policy
}

/// The HTTP half's configuration when nothing is set: every declared default.
pub fn http_config() -> HttpConfig {
    config::http::defaults()
}

/// [`http_config`] with `/metrics/peers` exporting the tag keys `keys`.
pub fn http_config_with_peer_tags(keys: Vec<String>) -> HttpConfig {
    config::http::defaults_with_peer_tags(keys)
}

/// A nara named `name` on its own, with a throwaway soul and every declared default:
/// its routes, as the server assembles them, for tests that answer requests in-process.
pub fn app(name: &str, health: Arc<Health>) -> App {
    let metrics = Arc::new(Metrics::new());
    let soul = Soul::mint(name).expect("the system has randomness");
    let identity = Identity::new(&soul, name, SoulSource::Ephemeral);
    let plaza = Plaza::new(identity, plaza_config(), metrics.clone());
    App::with_plaza(health, plaza, metrics, &http_config())
}

/// Whether process `pid` has exited: gone, or a zombie its new parent has not reaped.
pub fn process_gone(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .next()
        .unwrap_or("");
    state.is_empty() || state == "Z" || state == "X"
}

/// Host health as a small nara on a quiet host says it, for tools that speak as many
/// naras: their newspapers as many bytes as a real nara's, and a view holding as much.
pub fn typical_host_health() -> crate::plaza::host_health::Measured {
    use crate::plaza::host_health::{Host, Hundredths, Measured};
    Measured {
        load_per_core: Some(Hundredths(12)),
        host: Host {
            rss_kib: Some(18_296),
            cpu_pct: Some(0.35),
            fds: Some(13),
        },
    }
}
