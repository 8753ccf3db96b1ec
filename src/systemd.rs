//! systemd integration: socket activation (`LISTEN_FDS`) and `sd_notify` states.
//! Both are no-ops outside systemd, so nothing here is required to run nara.

use std::io;
use std::os::fd::FromRawFd;

/// The first socket systemd passed us, if it started nara through a `.socket` unit.
pub(crate) fn take_activated_listener() -> io::Result<Option<std::net::TcpListener>> {
    let mut fds = sd_notify::listen_fds()?;
    match fds.next() {
        // SAFETY: systemd hands the process this descriptor for its exclusive use, and
        // `listen_fds` only yields descriptors for our PID (LISTEN_PID), once.
        Some(fd) => {
            #[expect(unsafe_code, reason = "adopting a descriptor systemd passed has no safe API")]
            let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
            listener.set_nonblocking(true)?;
            Ok(Some(listener))
        }
        None => Ok(None),
    }
}

/// `READY=1`: the listener is bound and requests are being served.
pub(crate) fn notify_ready() {
    notify(&[sd_notify::NotifyState::Ready], "READY=1");
}

/// `STOPPING=1`: shutdown has begun.
pub(crate) fn notify_stopping() {
    notify(&[sd_notify::NotifyState::Stopping], "STOPPING=1");
}

fn notify(states: &[sd_notify::NotifyState], what: &str) {
    if let Err(err) = sd_notify::notify(states) {
        tracing::warn!(error = %err, "could not send {what} to systemd");
    }
}
