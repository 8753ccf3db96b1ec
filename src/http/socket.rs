//! An event stream's hold on its connection's socket: how many bytes the kernel still
//! holds that the client has not read, and a smaller send buffer.
//!
//! A client that stops reading leaves nara's bytes in the kernel's send buffer, which
//! Linux grows to 4 MiB (on loopback it starts near 2.5 MB): nara itself would hold
//! nothing and take the stream for a healthy one. So a stream asks the kernel how much
//! it has written that the client has not acknowledged (Linux's `SIOCOUTQ`) and counts
//! it as unread; and it shrinks its socket's send buffer to [`STREAM_SEND_BUFFER`], so
//! the kernel keeps a copy of little more than that for each stalled client, where the
//! snapshot nara shares between streams would otherwise be copied into every socket.
//!
//! The accept loop hands each request its connection's descriptor number
//! ([`ConnectionSocket`]). `/api/events` takes a descriptor of its own from it
//! ([`StreamSocket`], a duplicate) while the request is being handled, so that the
//! number, reused by another socket once the connection closes, is never read again.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// The send buffer an event stream's socket asks for (Linux doubles it for its own
/// bookkeeping): at a 100 ms round trip it still carries over 1 MB/s, so a snapshot of
/// 10,000 naras (2.7 MB) reaches a browser in a few seconds, while a stalled client
/// costs the kernel a few hundred kilobytes instead of megabytes.
pub(crate) const STREAM_SEND_BUFFER: usize = 128 * 1024;

/// The descriptor of the connection a request came on, as the accept loop hands it to
/// the request. It names the socket only while a request of that connection is being
/// handled; [`ConnectionSocket::for_stream`] is the one way to use it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionSocket(RawFd);

impl ConnectionSocket {
    /// The descriptor of `stream`, a connection the accept loop is about to serve.
    pub(crate) fn of(stream: &impl AsRawFd) -> ConnectionSocket {
        ConnectionSocket(stream.as_raw_fd())
    }

    /// A descriptor of the stream's own for this socket, whose send buffer is shrunk to
    /// [`STREAM_SEND_BUFFER`]. Called while a request of this connection is being
    /// handled: `App::handle` runs inside the connection's own task, which owns the
    /// socket and is polling it, as the SAFETY comment below relies on.
    pub(crate) fn for_stream(self) -> io::Result<StreamSocket> {
        #[expect(
            unsafe_code,
            reason = "a request's extensions are 'static and cannot borrow the connection's socket"
        )]
        // SAFETY: the descriptor is the socket of the connection whose request is being
        // handled (see above): the task serving that connection owns the stream and is
        // running this very call, so the descriptor is open for the borrow, which ends
        // at once with the duplicate.
        let borrowed = unsafe { BorrowedFd::borrow_raw(self.0) };
        let own = borrowed.try_clone_to_owned()?;
        socket2::SockRef::from(&own).set_send_buffer_size(STREAM_SEND_BUFFER)?;
        Ok(StreamSocket(own))
    }
}

/// An event stream's own descriptor of its connection's socket: it keeps the socket
/// open until the stream's task has ended, a moment after the connection.
#[derive(Debug)]
pub(crate) struct StreamSocket(OwnedFd);

impl StreamSocket {
    /// Bytes written to the socket that the client has not acknowledged yet, if the
    /// kernel says (Linux); `None` where it cannot, or when asking fails.
    pub(crate) fn unread(&self) -> Option<u64> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let mut unread: libc::c_int = 0;
            // linux/sockios.h defines SIOCOUTQ as TIOCOUTQ, which libc names.
            #[expect(unsafe_code, reason = "ioctl(2) has no safe wrapper")]
            // SAFETY: SIOCOUTQ writes one int through the pointer, which points at
            // `unread`; the descriptor is this value's own and open.
            let asked = unsafe { libc::ioctl(self.0.as_raw_fd(), libc::TIOCOUTQ, &raw mut unread) };
            if asked == 0 { u64::try_from(unread).ok() } else { None }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = &self.0;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn the_kernel_says_what_a_client_has_not_read_and_the_send_buffer_shrinks() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let stream = ConnectionSocket::of(&server).for_stream().unwrap();
        let buffer = socket2::SockRef::from(&server).send_buffer_size().unwrap();
        assert!(
            (STREAM_SEND_BUFFER..=2 * STREAM_SEND_BUFFER).contains(&buffer),
            "{buffer}"
        );
        if cfg!(target_os = "linux") {
            assert_eq!(stream.unread(), Some(0));
            server.set_nonblocking(true).unwrap();
            let mut written = 0u64;
            while let Ok(n) = (&server).write(&[0u8; 64 * 1024]) {
                written += n as u64;
            }
            let unread = stream.unread().unwrap();
            assert!(unread > 0 && unread <= written, "{unread} of {written}");
        }
        drop(client);
    }
}
