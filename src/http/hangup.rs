//! A connection that its handler may ask to be closed: an event stream whose client has
//! stopped reading cannot end by itself (its last bytes would wait for that client), so
//! it asks the accept loop to drop the whole connection, and with it every buffer.

use std::sync::Arc;
use tokio::sync::Notify;

/// Handed to each request (in its extensions); shared with the task serving its
/// connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hangup(Arc<Notify>);

impl Hangup {
    /// Asks for the connection to be closed, now or as soon as its task looks.
    pub(crate) fn request(&self) {
        self.0.notify_one();
    }

    /// Completes once [`Hangup::request`] was called.
    pub(crate) async fn requested(&self) {
        self.0.notified().await;
    }
}
