//! The signals that end nara: SIGTERM (orchestrators) and SIGINT (a person at Ctrl-C).

use std::io;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Handlers installed before the listener binds, so a SIGTERM that arrives during
/// start-up drains instead of killing the process outright.
pub struct Signals {
    terminate: Signal,
    interrupt: Signal,
}

impl Signals {
    /// Installs the handlers for SIGTERM and SIGINT.
    pub fn install() -> io::Result<Self> {
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the first of the two and returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}
