//! What a request knows of the connection it came on, handed to it by the accept loop
//! (in its extensions): the peer's address, a way to hang the connection up, and its
//! socket.

use crate::http::hangup::Hangup;
use crate::http::socket::ConnectionSocket;
use std::net::SocketAddr;

/// One connection, as each of its requests sees it.
#[derive(Clone, Debug)]
pub(crate) struct Connection {
    /// Who connected: the client, or the proxy it came through.
    pub(crate) peer: SocketAddr,
    /// Closes the connection at the handler's asking.
    pub(crate) hangup: Hangup,
    /// The connection's socket, for an event stream to watch.
    pub(crate) socket: ConnectionSocket,
}
