//! Lingering close: the answer reaches a client that is still sending a body nara never
//! reads.
//!
//! nara serves GET and HEAD and reads no request body. Closing a socket with unread
//! bytes in its receive buffer makes the kernel send a reset, which can destroy the
//! response before the client reads it (a 10 MB upload to `/healthz` would see a broken
//! pipe, not the 405 or 200). Like nginx's `lingering_close`, a connection whose request
//! came with a body shuts its write side first (the response is complete, the client
//! sees the end), then reads and discards what the client still sends, for a bounded
//! time and byte count, before the socket closes. Connections without such a body close
//! at once, so an idle keep-alive client never holds up a drain.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// How long a closing connection keeps reading what its client still sends.
pub(crate) const LINGER_TIME: Duration = Duration::from_secs(10);
/// How much it reads and discards at most before closing anyway.
pub(crate) const LINGER_BYTES: u64 = 16 * 1024 * 1024;

/// Set when a request on the connection carried a body that nara will not read.
#[derive(Clone, Default)]
pub(crate) struct UnreadBody(Arc<AtomicBool>);

impl UnreadBody {
    /// Notes that a request came with a body nara did not read.
    pub(crate) fn mark(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_marked(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

enum State {
    Open,
    Draining { deadline: Pin<Box<Sleep>>, discarded: u64 },
    Closed,
}

/// A stream whose shutdown lingers when its connection left a body unread.
pub(crate) struct Lingering<S> {
    inner: S,
    unread: UnreadBody,
    state: State,
}

impl<S> Lingering<S> {
    /// Wraps `inner`; `unread` says whether to linger when it closes.
    pub(crate) fn new(inner: S, unread: UnreadBody) -> Self {
        Lingering {
            inner,
            unread,
            state: State::Open,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Lingering<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Lingering<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Open => {
                    ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
                    this.state = if this.unread.is_marked() {
                        State::Draining {
                            deadline: Box::pin(tokio::time::sleep(LINGER_TIME)),
                            discarded: 0,
                        }
                    } else {
                        State::Closed
                    };
                }
                State::Draining { deadline, discarded } => {
                    if deadline.as_mut().poll(cx).is_ready() {
                        this.state = State::Closed;
                        continue;
                    }
                    let mut scratch = [0u8; 8192];
                    let mut buf = ReadBuf::new(&mut scratch);
                    match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                            *discarded += buf.filled().len() as u64;
                            if *discarded >= LINGER_BYTES {
                                this.state = State::Closed;
                            }
                        }
                        // The client closed its side, or the connection broke: done.
                        Poll::Ready(_) => this.state = State::Closed,
                    }
                }
                State::Closed => return Poll::Ready(Ok(())),
            }
        }
    }
}
