//! MQTT clients that other programs on a broker run, logged in to an account: one that
//! listens and keeps what it hears, and a squatter that takes a client ID and takes it
//! back each time it loses it, as an attacker who wants a nara's session does.

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A broker account: user name and password.
pub type Account<'a> = (&'a str, &'a str);

fn options(port: u16, id: &str, account: Option<Account<'_>>) -> MqttOptions {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_max_packet_size(Some(1024 * 1024));
    if let Some((user, password)) = account {
        options.set_credentials(user, password);
    }
    options
}

/// A client under `id`, logged in as `account`, subscribed to `subscriptions` (each
/// acknowledged before this returns), and every message it receives as (topic,
/// payload text). It stops when the client is dropped.
pub async fn listener(
    port: u16,
    id: &str,
    account: Option<Account<'_>>,
    subscriptions: &[&str],
) -> (AsyncClient, mpsc::UnboundedReceiver<(String, String)>) {
    let (client, mut eventloop) = AsyncClient::new(options(port, id, account), 64);
    let (sender, received) = mpsc::unbounded_channel();
    let (subscribed, mut acked) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            match event {
                Event::Incoming(Packet::Publish(p)) => {
                    let topic = String::from_utf8_lossy(&p.topic).into_owned();
                    let _ = sender.send((topic, String::from_utf8_lossy(&p.payload).into_owned()));
                }
                Event::Incoming(Packet::SubAck(_)) => {
                    let _ = subscribed.send(());
                }
                _ => {}
            }
        }
    });
    for topic in subscriptions {
        client
            .subscribe(*topic, QoS::AtMostOnce)
            .await
            .expect("the subscription is queued");
        acked.recv().await.expect("the broker acknowledges the subscription");
    }
    (client, received)
}

/// A client under `id` that subscribes to `subscriptions` on every connection and
/// keeps every message it receives as (topic, payload text), across the broker's
/// restarts: rumqttc hands over what it read just before a connection ended only once
/// it has connected again. Returns once its first subscriptions are acknowledged; it
/// stops when the client is dropped.
pub async fn keep_listening(
    port: u16,
    id: &str,
    subscriptions: &[&str],
) -> (AsyncClient, mpsc::UnboundedReceiver<(String, String)>) {
    let (client, mut eventloop) = AsyncClient::new(options(port, id, None), 64);
    let (sender, received) = mpsc::unbounded_channel();
    let (subscribed, mut acked) = mpsc::unbounded_channel();
    let subscriber = client.clone();
    let topics: Vec<String> = subscriptions.iter().map(|t| t.to_string()).collect();
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let topic = String::from_utf8_lossy(&p.topic).into_owned();
                    if sender
                        .send((topic, String::from_utf8_lossy(&p.payload).into_owned()))
                        .is_err()
                    {
                        return;
                    }
                }
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    for topic in &topics {
                        let _ = subscriber.try_subscribe(topic.as_str(), QoS::AtMostOnce);
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = subscribed.send(());
                }
                Ok(_) => {}
                Err(rumqttc::v5::ConnectionError::RequestsDone) => return,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    for _ in subscriptions {
        acked.recv().await.expect("the broker acknowledges the subscription");
    }
    (client, received)
}

/// How long a squatter pauses after losing its connection before it takes the ID back:
/// the attacker's pace, short enough to win every race against a backoff.
const SQUATTER_PACE: Duration = Duration::from_millis(10);

/// A client that holds a client ID: it connects under it and, each time the broker
/// closes its connection (another client connected with the ID), connects again at
/// once. Stops when dropped.
pub struct Squatter {
    pub id: String,
    accepted: Arc<AtomicU32>,
    task: JoinHandle<()>,
}

impl Squatter {
    pub fn start(port: u16, id: &str, account: Option<Account<'_>>) -> Squatter {
        let (_client, mut eventloop) = AsyncClient::new(options(port, id, account), 8);
        let accepted = Arc::new(AtomicU32::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            // The client is kept, or the event loop would end with RequestsDone.
            let _client = _client;
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(SQUATTER_PACE).await,
                }
            }
        });
        Squatter {
            id: id.to_string(),
            accepted,
            task,
        }
    }

    /// How many times the broker accepted it under its ID.
    pub fn connections(&self) -> u32 {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Squatter {
    fn drop(&mut self) {
        self.task.abort();
    }
}
