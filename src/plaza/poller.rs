//! The MQTT event loop, polled through a future that outlives the transport's
//! `select!`. rumqttc's `EventLoop::poll` also connects, and a poll dropped halfway
//! drops the connection it was making: each time one of the transport's timers fired
//! meanwhile (the sweep, every second) the attempt started over, so a broker slower to
//! accept than that timer was never joined. Here the poll under way is kept, and the
//! next call resumes it.

use rumqttc::v5::{ConnectionError, Event, EventLoop};
use std::future::Future;
use std::pin::Pin;

/// A poll under way: it owns the event loop, and gives it back with what it polled.
type Polling = Pin<Box<dyn Future<Output = (EventLoop, Result<Event, ConnectionError>)> + Send>>;

/// The event loop, between polls or in one.
pub(super) struct Poller {
    /// The event loop between polls, the transport's to change.
    idle: Option<EventLoop>,
    /// The poll under way, if one is.
    polling: Option<Polling>,
}

impl Poller {
    pub(super) fn new(eventloop: EventLoop) -> Poller {
        Poller {
            idle: Some(eventloop),
            polling: None,
        }
    }

    /// The next event, and the event loop, which is the caller's to change until the
    /// next call. Dropped before it ends, the poll stays under way and the next call
    /// resumes it.
    pub(super) async fn next(&mut self) -> (Result<Event, ConnectionError>, &mut EventLoop) {
        if let Some(mut eventloop) = self.idle.take() {
            self.polling = Some(Box::pin(async move {
                let polled = eventloop.poll().await;
                (eventloop, polled)
            }));
        }
        let polling = self
            .polling
            .as_mut()
            .expect("the event loop is idle or in a poll, and an idle one was just put in one");
        let (eventloop, polled) = polling.await;
        self.polling = None;
        (polled, self.idle.insert(eventloop))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::v5::MqttOptions;
    use std::time::Duration;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn a_poll_dropped_halfway_resumes_on_the_same_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let options = MqttOptions::new("poller-test", "127.0.0.1", port);
        let (_client, eventloop) = rumqttc::v5::AsyncClient::new(options, 8);
        let mut poller = Poller::new(eventloop);
        // Dropped while it waits for the CONNACK that never comes.
        let first = tokio::time::timeout(Duration::from_millis(100), poller.next()).await;
        assert!(first.is_err(), "no CONNACK yet");
        let (mut connection, _) = listener.accept().await.unwrap();
        let mut connect = [0u8; 2];
        connection.read_exact(&mut connect).await.unwrap();
        assert_eq!(connect[0], 0x10, "a CONNECT");
        // Another try would be another connection; the same one goes on instead.
        let again = tokio::time::timeout(Duration::from_millis(100), poller.next()).await;
        assert!(again.is_err());
        let other = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(other.is_err(), "the poll dropped halfway started over");
    }
}
