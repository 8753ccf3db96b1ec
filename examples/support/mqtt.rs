//! The MQTT client every example opens to the broker a test or bench started:
//! `mqtt://HOST:PORT` as the harness writes it, packets up to 1 MiB each way.

use rumqttc::{AsyncClient, EventLoop, MqttOptions};

/// A client named `id` to `broker` (`mqtt://HOST:PORT`), with room for `capacity`
/// requests queued.
pub fn connect(broker: &str, id: impl Into<String>, capacity: usize) -> (AsyncClient, EventLoop) {
    let (host, port) = broker
        .trim_start_matches("mqtt://")
        .rsplit_once(':')
        .expect("mqtt://HOST:PORT");
    let mut options = MqttOptions::new(id, host, port.parse().expect("port"));
    options.set_max_packet_size(1 << 20, 1 << 20);
    AsyncClient::new(options, capacity)
}
