//! Presence messages as the Go nara writes and checks them, written here from its rules
//! and not from nara's own encoder, so the tests compare two separate readings of the
//! format: events (`hey_there`, `chau`) with their ID and signature over a digest, and
//! newspapers signed over the raw bytes of their `Status`. Also a raw MQTT client, as
//! any other program on the broker would have.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, VerifyingKey};
use nara::Identity;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// Now in Unix nanoseconds.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_nanos() as i64
}

fn hex16(digest: &[u8]) -> String {
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The Go event ID and the signature `identity` makes over an event's digest.
fn id_and_sig(identity: &Identity, ts: i64, svc: &str, content: &str) -> (String, String) {
    let id = hex16(&Sha256::digest(format!("{ts}:{svc}:{content}")));
    let digest = Sha256::digest(format!("{id}:{ts}:{svc}:{}:{content}", identity.name));
    (id, identity.sign(&digest))
}

/// A hey_there as the Go nara publishes it (MeshIP empty, as a nara without a mesh).
pub fn hey_there(identity: &Identity, ts: i64) -> String {
    let (name, key) = (&identity.name, &identity.public_key);
    let (id, sig) = id_and_sig(identity, ts, "hey-there", &format!("hey_there:{name}:{key}:"));
    format!(
        r#"{{"id":"{id}","ts":{ts},"svc":"hey-there","emitter":"{name}","sig":"{sig}","hey_there":{{"From":"{name}","PublicKey":"{key}","MeshIP":"","ID":"{}","Signature":""}}}}"#,
        identity.id
    )
}

/// A chau as the Go nara publishes it.
pub fn chau(identity: &Identity, ts: i64) -> String {
    let (name, key) = (&identity.name, &identity.public_key);
    let (id, sig) = id_and_sig(identity, ts, "chau", &format!("chau:{name}:{key}"));
    format!(
        r#"{{"id":"{id}","ts":{ts},"svc":"chau","emitter":"{name}","sig":"{sig}","chau":{{"From":"{name}","PublicKey":"{key}","ID":"{}","Signature":""}}}}"#,
        identity.id
    )
}

/// A Status as the Go nara's `json.Marshal` writes it, with its field order and the
/// members nara does not read.
pub fn go_status(identity: &Identity, version: &str, host_uptime_s: u64) -> String {
    format!(
        r##"{{"LicensePlate":"","Flair":"🌱","HostStats":{{"Uptime":{host_uptime_s},"LoadAvg":0.12,"MemAllocMB":12,"MemSysMB":30,"MemHeapMB":20,"MemStackMB":1,"NumGoroutines":42,"NumGC":7,"ProcCPUPercent":1.5}},"Chattiness":50,"Buzz":3,"Observations":null,"Trend":"","TrendEmoji":"","Personality":{{"Agreeableness":40,"Sociability":60,"Chill":70}},"Aura":{{"primary":"#aabbcc","secondary":"#112233"}},"Version":"{version}","PublicUrl":"","PublicKey":"{}","ID":"{}","MeshEnabled":false,"MeshIP":"","transport_mode":"hybrid","event_store_total":10}}"##,
        identity.public_key, identity.id
    )
}

/// A newspaper from `from` carrying `status`, signed by `signer` over `signed_bytes`
/// (the status itself, unless a test tampers).
pub fn newspaper(from: &str, status: &str, signer: &Identity, signed_bytes: &str) -> String {
    format!(
        r#"{{"From":"{from}","Status":{status},"Signature":"{}"}}"#,
        signer.sign(signed_bytes.as_bytes())
    )
}

/// A newspaper from `identity`, signed as the Go nara signs it.
pub fn signed_newspaper(identity: &Identity, version: &str, host_uptime_s: u64) -> String {
    let status = go_status(identity, version, host_uptime_s);
    newspaper(&identity.name, &status, identity, &status)
}

fn key_of(text: &str) -> Result<VerifyingKey, String> {
    let bytes: [u8; 32] = BASE64
        .decode(text)
        .map_err(|e| format!("PublicKey is not Base64: {e}"))?
        .try_into()
        .map_err(|_| "PublicKey is not 32 bytes".to_string())?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("PublicKey is no Ed25519 key: {e}"))
}

fn check(key: &VerifyingKey, sig: &str, signed: &[u8]) -> Result<(), String> {
    let bytes: [u8; 64] = BASE64
        .decode(sig)
        .map_err(|e| format!("the signature is not Base64: {e}"))?
        .try_into()
        .map_err(|_| "the signature is not 64 bytes".to_string())?;
    key.verify_strict(signed, &Signature::from_bytes(&bytes))
        .map_err(|e| format!("the signature does not verify: {e}"))
}

/// Checks an event as the Go nara does: the ID recomputed from ts, svc and content,
/// the signature over SHA-256(`id:ts:svc:emitter:content`) by the payload's key.
/// Returns the parsed event.
pub fn verify_event(text: &str) -> Result<Value, String> {
    let event: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let field = |v: &Value, k: &str| v[k].as_str().map(String::from).ok_or(format!("no {k} in {v}"));
    let svc = field(&event, "svc")?;
    let ts = event["ts"].as_i64().ok_or("no integer ts")?;
    let (payload, content) = match svc.as_str() {
        "hey-there" => {
            let p = &event["hey_there"];
            let content = format!(
                "hey_there:{}:{}:{}",
                field(p, "From")?,
                field(p, "PublicKey")?,
                field(p, "MeshIP")?
            );
            (p, content)
        }
        "chau" => {
            let p = &event["chau"];
            (p, format!("chau:{}:{}", field(p, "From")?, field(p, "PublicKey")?))
        }
        other => return Err(format!("svc {other} is not presence")),
    };
    let id = hex16(&Sha256::digest(format!("{ts}:{svc}:{content}")));
    if field(&event, "id")? != id {
        return Err(format!("the event id is not {id}"));
    }
    let emitter = field(&event, "emitter")?;
    if emitter != field(payload, "From")? {
        return Err("emitter is not From".into());
    }
    let digest = Sha256::digest(format!("{id}:{ts}:{svc}:{emitter}:{content}"));
    check(&key_of(&field(payload, "PublicKey")?)?, &field(&event, "sig")?, &digest)?;
    Ok(event)
}

/// Checks a newspaper as the Go nara does: the signature over the exact bytes of the
/// `Status` member, by `Status.PublicKey`. Returns the parsed Status.
pub fn verify_newspaper(text: &str) -> Result<Value, String> {
    #[derive(serde::Deserialize)]
    struct Paper<'a> {
        #[serde(rename = "From")]
        from: String,
        #[serde(rename = "Status", borrow)]
        status: &'a RawValue,
        #[serde(rename = "Signature")]
        signature: String,
    }
    let paper: Paper<'_> = serde_json::from_str(text).map_err(|e| format!("not a newspaper: {e}"))?;
    let status: Value = serde_json::from_str(paper.status.get()).map_err(|e| format!("Status: {e}"))?;
    let key = status["PublicKey"].as_str().ok_or("no Status.PublicKey")?;
    check(&key_of(key)?, &paper.signature, paper.status.get().as_bytes())?;
    if paper.from.is_empty() {
        return Err("no From".into());
    }
    Ok(status)
}

/// Checks a verified `Status` as the Go nara's `json.Unmarshal` into its `NaraStatus`
/// reads it: a member whose key matches a Go field only when case is folded would be
/// written into that field (Go matches keys case-insensitively), and a Go field given
/// with another JSON type fails the whole newspaper. Every other member (nara's own,
/// such as `tags`) Go skips. Returns the members Go skips.
pub fn go_accepts_status(status: &Value) -> Result<Vec<String>, String> {
    let object = status.as_object().ok_or("the Status is not an object")?;
    let mut skipped = Vec::new();
    for (key, value) in object {
        match GO_STATUS_KEYS.iter().find(|go| go.to_lowercase() == key.to_lowercase()) {
            Some(go) if *go != key => return Err(format!("{key} would be read as Go's {go}")),
            Some(_) => {
                let fits = match key.as_str() {
                    "HostStats" => value.as_object().is_some_and(|stats| {
                        stats.iter().all(|(k, v)| {
                            GO_HOST_STATS_KEYS
                                .iter()
                                .all(|go| go.to_lowercase() != k.to_lowercase() || (*go == k && v.is_number()))
                        })
                    }),
                    "Version" | "PublicUrl" | "PublicKey" | "ID" | "Flair" | "LicensePlate" | "Trend"
                    | "TrendEmoji" | "MeshIP" | "memory_mode" | "transport_mode" => value.is_string(),
                    "MeshEnabled" => value.is_boolean(),
                    _ => true,
                };
                if !fits {
                    return Err(format!("{key} is not of the JSON type Go declares: {value}"));
                }
            }
            None => skipped.push(key.clone()),
        }
    }
    Ok(skipped)
}

/// A raw MQTT client on the broker at `port`, as any program there could run, and the
/// messages it receives on `subscriptions` as (topic, payload text).
pub async fn raw_client(
    port: u16,
    name: &str,
    subscriptions: &[&str],
) -> (AsyncClient, mpsc::UnboundedReceiver<(String, String)>) {
    let mut options = MqttOptions::new(name, "127.0.0.1", port);
    // Large enough for the oversized message a test sends on purpose.
    options.set_max_packet_size(Some(1024 * 1024));
    let (client, mut eventloop) = AsyncClient::new(options, 64);
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

/// The keys of the Go nara's `Status` (its `NaraStatus`), in the order Go declares and
/// writes them: what `/status/{name}.json` answers.
pub const GO_STATUS_KEYS: &[&str] = &[
    "LicensePlate",
    "Flair",
    "HostStats",
    "Chattiness",
    "Buzz",
    "Observations",
    "Trend",
    "TrendEmoji",
    "Personality",
    "Aura",
    "Version",
    "PublicUrl",
    "PublicKey",
    "ID",
    "MeshEnabled",
    "MeshIP",
    "coordinates",
    "transport_mode",
    "event_store_total",
    "event_store_by_service",
    "event_store_critical",
    "memory_mode",
    "memory_budget_mb",
    "memory_max_events",
    "stash_stored",
    "stash_bytes",
    "stash_confidants",
];

/// What an item of the Go nara's `/api.json` adds to its `Status`: the observer's view.
pub const GO_API_OBSERVER_KEYS: &[&str] = &["Name", "Online", "LastSeen", "LastRestart", "StartTime", "Restarts"];

/// The keys of an item of the Go nara's `/narae.json` (flat; no `Version`).
pub const GO_NARAE_KEYS: &[&str] = &[
    "Name",
    "ID",
    "PublicUrl",
    "Flair",
    "LicensePlate",
    "Buzz",
    "Chattiness",
    "LastSeen",
    "LastRestart",
    "Online",
    "StartTime",
    "Restarts",
    "Uptime",
    "Trend",
    "TrendEmoji",
    "Aura",
    "AuraSecondary",
    "Sociability",
    "Chill",
    "Agreeableness",
    "MemoryMode",
    "MemoryBudgetMB",
    "MemoryMaxEvents",
    "HostStats",
    "event_store_total",
    "event_store_by_service",
    "event_store_critical",
    "Clout",
];

/// The keys of the Go nara's `HostStats`, all nine always written by Go.
pub const GO_HOST_STATS_KEYS: &[&str] = &[
    "Uptime",
    "LoadAvg",
    "MemAllocMB",
    "MemSysMB",
    "MemHeapMB",
    "MemStackMB",
    "NumGoroutines",
    "NumGC",
    "ProcCPUPercent",
];

/// The keys of a JSON object as written, in order (serde_json's `Value` would sort
/// them): for checking that a route writes the Go nara's order.
pub fn keys_in_order(object: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(object).into_iter::<OrderedKeys>();
    if let Some(Ok(OrderedKeys(found))) = stream.next() {
        keys = found;
    }
    keys
}

/// The top-level keys of one object, in the order they came.
struct OrderedKeys(Vec<String>);

impl<'de> serde::Deserialize<'de> for OrderedKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OrderedKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<OrderedKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(OrderedKeys(keys))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}
