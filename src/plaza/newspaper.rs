//! The newspaper: a nara's signed status on `nara/newspaper/{name}`, as the Go nara
//! writes and reads it.
//!
//! The message is `{"From","Status","Signature"}`, the signature Ed25519 over the exact
//! bytes of the `Status` member as they arrive (no re-encoding, no pre-hash), standard
//! Base64. nara reads `Status.Version`, `PublicKey`, `ID`, `PublicUrl`,
//! `HostStats.Uptime` and the host health in `HostStats` (see [`host_health`]), and
//! writes those (of `HostStats`, `Uptime` and `LoadAvg`) and members of its own, which
//! the Go nara ignores and the signature still covers: `host` (its health),
//! `build_revision`, `build_profile`,
//! `process_uptime_s`; `sent_ns`, when it was signed (Unix nanoseconds), which makes it
//! as hard to replay as an event; `boot_id` (random per process) and `conn` (which of
//! the process's connections it went out on), which a will names too (see
//! [`super::will`]); for sharing a soul between processes, `started_ns`, `role_pin`
//! and `handover`; and `tags`, an object of the nara's labels within the limits of
//! [`super::tags`] (a newspaper over them is refused whole: what it signed is one
//! statement, and showing it without its tags, `ephemeral=true` among them, would say
//! something else). A Go nara's newspaper
//! carries no timestamp, so its freshness is judged from `HostStats.Uptime` against
//! history (see the view).

use super::host_health::{self, GoStats, Host, Measured};
use super::identity::{Identity, validate_name};
use super::message::{self, Body, Message, Policy, Rejection, Story};
use super::tags::Tags;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What this nara says of itself in a newspaper.
#[derive(Clone, Debug)]
pub struct OwnStatus<'a> {
    /// The version it runs (the Go nara's `Status.Version`).
    pub version: &'a str,
    /// The git revision it was built from.
    pub revision: &'a str,
    /// The build profile (`release`, `debug`).
    pub profile: &'a str,
    /// Where its web UI is, if set.
    pub public_url: Option<&'a str>,
    /// Seconds since the host booted.
    pub host_uptime_s: u64,
    /// Seconds since the process started.
    pub process_uptime_s: u64,
    /// When this newspaper is signed, Unix nanoseconds.
    pub sent_ns: u64,
    /// This process's random ID, which tells it from another process with its soul.
    pub boot_id: &'a str,
    /// Which of this process's connections it goes out on: 1, 2, …, as its will says.
    pub conn: u32,
    /// When this process started, Unix nanoseconds.
    pub started_ns: u64,
    /// The role it was pinned to (`auto`, `active`, `standby`).
    pub role_pin: &'a str,
    /// Its last newspaper before it stops: another process with its soul takes over.
    pub handover: bool,
    /// Its tags ([`super::tags::NO_TAGS`] for none).
    pub tags: &'a Tags,
    /// Its host's load and its process's memory, CPU and descriptors, measured now.
    pub health: Measured,
}

/// The Go nara's `HostStats` as nara writes it: the host's uptime, and its load per
/// core the Go way, which a Go nara's page shows (see [`host_health`]).
#[derive(Serialize)]
struct HostStats {
    #[serde(rename = "Uptime")]
    uptime: u64,
    #[serde(rename = "LoadAvg", skip_serializing_if = "Option::is_none")]
    load_avg: Option<f64>,
}

/// The Status members nara writes, in the Go nara's order, then its own.
#[derive(Serialize)]
struct OutStatus<'a> {
    #[serde(rename = "HostStats")]
    host_stats: HostStats,
    #[serde(rename = "Version")]
    version: &'a str,
    #[serde(rename = "PublicUrl")]
    public_url: &'a str,
    #[serde(rename = "PublicKey")]
    public_key: &'a str,
    #[serde(rename = "ID")]
    id: &'a str,
    build_revision: &'a str,
    build_profile: &'a str,
    process_uptime_s: u64,
    sent_ns: u64,
    boot_id: &'a str,
    conn: u32,
    started_ns: u64,
    role_pin: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    handover: bool,
    #[serde(skip_serializing_if = "Tags::is_empty")]
    tags: &'a Tags,
    #[serde(skip_serializing_if = "Host::is_empty")]
    host: &'a Host,
}

#[derive(Serialize)]
struct OutNewspaper<'a> {
    #[serde(rename = "From")]
    from: &'a str,
    #[serde(rename = "Status")]
    status: &'a RawValue,
    #[serde(rename = "Signature")]
    signature: &'a str,
}

/// The signed newspaper from `identity` saying `status`.
pub fn encode(identity: &Identity, status: &OwnStatus<'_>) -> Vec<u8> {
    let body = serde_json::to_string(&OutStatus {
        host_stats: HostStats {
            uptime: status.host_uptime_s,
            load_avg: status.health.load_avg(),
        },
        version: status.version,
        public_url: status.public_url.unwrap_or(""),
        public_key: &identity.public_key,
        id: &identity.id,
        build_revision: status.revision,
        build_profile: status.profile,
        process_uptime_s: status.process_uptime_s,
        sent_ns: status.sent_ns,
        boot_id: status.boot_id,
        conn: status.conn,
        started_ns: status.started_ns,
        role_pin: status.role_pin,
        handover: status.handover,
        tags: status.tags,
        host: &status.health.host,
    })
    .expect("a status serializes");
    let signature = identity.sign(body.as_bytes());
    let raw = RawValue::from_string(body).expect("serde_json wrote valid JSON");
    serde_json::to_vec(&OutNewspaper {
        from: &identity.name,
        status: &raw,
        signature: &signature,
    })
    .expect("a newspaper serializes")
}

#[derive(Deserialize)]
struct InNewspaper<'a> {
    #[serde(rename = "From")]
    from: String,
    #[serde(rename = "Status", borrow)]
    status: &'a RawValue,
    #[serde(rename = "Signature", default)]
    signature: String,
}

#[derive(Deserialize)]
struct InStatus {
    #[serde(rename = "HostStats")]
    host_stats: GoStats,
    #[serde(rename = "Version", default)]
    version: String,
    #[serde(rename = "PublicUrl", default)]
    public_url: String,
    #[serde(rename = "PublicKey", default)]
    public_key: String,
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(default)]
    build_revision: Option<String>,
    #[serde(default)]
    process_uptime_s: Option<u64>,
    #[serde(default)]
    sent_ns: Option<u64>,
    #[serde(default)]
    boot_id: Option<String>,
    #[serde(default)]
    conn: Option<u32>,
    #[serde(default)]
    started_ns: Option<u64>,
    #[serde(default)]
    role_pin: Option<String>,
    #[serde(default)]
    handover: bool,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
    host: Option<Host>,
}

/// Decodes and verifies a newspaper received on `nara/newspaper/{topic_name}` at `now`,
/// live: its signed time, if it has one, within the skew of `now` either way.
pub(crate) fn decode(topic_name: &str, text: &str, now: SystemTime, policy: Policy) -> Result<Message, Rejection> {
    decode_aged(topic_name, text, now, policy, policy.max_skew)
}

/// [`decode`], for a newspaper that may be up to `max_age` old: one the broker
/// retained (see `retained.rs`). Ahead of `now`, the skew still holds.
pub(crate) fn decode_aged(
    topic_name: &str,
    text: &str,
    now: SystemTime,
    policy: Policy,
    max_age: Duration,
) -> Result<Message, Rejection> {
    let paper: InNewspaper<'_> = serde_json::from_str(text).map_err(|e| Rejection::of_json(&e))?;
    let status: InStatus = serde_json::from_str(paper.status.get()).map_err(|e| Rejection::of_json(&e))?;
    let key = message::public_key(&status.public_key);
    let optional_text = |text: &Option<String>| text.as_deref().is_none_or(|t| message::plain_text(t, 64, false));
    let fields_ok = validate_name(&paper.from).is_ok()
        && key.is_some()
        && message::plain_text(&status.id, 64, true)
        && message::plain_text(&status.version, 64, true)
        && message::plain_text(&status.public_url, 256, true)
        && optional_text(&status.build_revision)
        && optional_text(&status.boot_id)
        && optional_text(&status.role_pin);
    let tags = Tags::new(status.tags.unwrap_or_default());
    let health = host_health::read(&status.host_stats, status.host.as_ref());
    let (true, Some(key), Ok(tags), Some(health)) = (fields_ok, key, tags, health) else {
        return Err(Rejection::InvalidFields);
    };
    if paper.from != topic_name {
        return Err(Rejection::WrongTopic);
    }
    if paper.signature.is_empty() {
        return Err(Rejection::Unsigned);
    }
    if let Some(sent_ns) = status.sent_ns {
        let now_ns = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let sent_ns = u128::from(sent_ns);
        let too_old = now_ns > sent_ns && now_ns - sent_ns > max_age.max(policy.max_skew).as_nanos();
        if too_old || sent_ns > now_ns + policy.max_skew.as_nanos() {
            return Err(Rejection::Stale);
        }
    }
    message::verify(&key, &paper.signature, paper.status.get().as_bytes())?;
    Ok(Message {
        name: paper.from,
        public_key: status.public_key,
        body: Body::Newspaper(Story {
            id: status.id,
            version: status.version,
            revision: status.build_revision,
            public_url: (!status.public_url.is_empty()).then_some(status.public_url),
            host_uptime_s: status.host_stats.uptime,
            process_uptime_s: status.process_uptime_s,
            sent_ns: status.sent_ns,
            boot_id: status.boot_id,
            conn: status.conn,
            started_ns: status.started_ns,
            role_pin: status.role_pin,
            handover: status.handover,
            tags,
            health: Box::new(health),
        }),
    })
}

/// Seconds since this host booted, as the Go nara reports it (from `CLOCK_BOOTTIME`,
/// so a hardened unit without `/proc/uptime` reports it too); where the kernel does not
/// say (not Linux), the process's own uptime, which grows just the same.
pub(crate) fn host_uptime_s(process_uptime_s: u64) -> u64 {
    crate::boot_clock::boot_uptime_s().unwrap_or(process_uptime_s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plaza::host_health::{HostHealth, Hundredths};
    use crate::plaza::identity::go_test_identity;

    fn decode(topic_name: &str, text: &str) -> Result<Message, Rejection> {
        super::decode(topic_name, text, SystemTime::now(), crate::testing::policy())
    }

    fn own_status(sent_ns: u64) -> OwnStatus<'static> {
        OwnStatus {
            version: "1.2.3",
            revision: "abc123",
            profile: "release",
            public_url: None,
            host_uptime_s: 500,
            process_uptime_s: 20,
            sent_ns,
            boot_id: "b00t",
            conn: 2,
            started_ns: sent_ns - 20_000_000_000,
            role_pin: "auto",
            handover: false,
            tags: &super::super::tags::NO_TAGS,
            health: Default::default(),
        }
    }

    fn now_ns() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
    }

    /// A Status as the Go nara's `json.Marshal` writes it (field order, `null`
    /// observations, its own snake_case members), for "alice".
    const GO_STATUS: &str = r##"{"LicensePlate":"","Flair":"🌱","HostStats":{"Uptime":86400,"LoadAvg":0.12,"MemAllocMB":12,"MemSysMB":30,"MemHeapMB":20,"MemStackMB":1,"NumGoroutines":42,"NumGC":7,"ProcCPUPercent":1.5},"Chattiness":50,"Buzz":3,"Observations":null,"Trend":"","TrendEmoji":"","Personality":{"Agreeableness":40,"Sociability":60,"Chill":70},"Aura":{"primary":"#aabbcc","secondary":"#112233"},"Version":"0.2.0","PublicUrl":"https://alice.example.org","PublicKey":"5W+Bh9paCZbmdobQaM4vmNHyOkmE5CbpwvFq59Hkyek=","ID":"5puGXP8Ljasf8FPfv2TRSDKXxK5At1SGRsk1tJzzpDk8","MeshEnabled":false,"MeshIP":"","transport_mode":"hybrid","event_store_total":10,"event_store_by_service":{"hey-there":6,"social":4}}"##;

    fn go_newspaper(status: &str, signed: &str) -> String {
        let alice = go_test_identity("alice");
        format!(
            r#"{{"From":"alice","Status":{status},"Signature":"{}"}}"#,
            alice.sign(signed.as_bytes())
        )
    }

    #[test]
    fn a_go_newspaper_verifies_over_its_raw_status_bytes() {
        let message = decode("alice", &go_newspaper(GO_STATUS, GO_STATUS)).unwrap();
        assert_eq!(message.name, "alice");
        assert_eq!(
            message.body,
            Body::Newspaper(Story {
                id: "5puGXP8Ljasf8FPfv2TRSDKXxK5At1SGRsk1tJzzpDk8".into(),
                version: "0.2.0".into(),
                revision: None,
                public_url: Some("https://alice.example.org".into()),
                host_uptime_s: 86400,
                process_uptime_s: None,
                // LoadAvg per core as it is, the Go heap to the MiB, and a CPU % that
                // is not 0 (a Go nara's would be).
                health: Box::new(HostHealth {
                    load_per_core: Some(Hundredths(12)),
                    cpu_pct: Some(Hundredths(150)),
                    go_heap_bytes: Some(12 << 20),
                    ..HostHealth::default()
                }),
                ..Story::default()
            })
        );
    }

    #[test]
    fn reencoding_the_status_would_break_the_signature_so_nara_does_not() {
        // The same members with a space after a colon: the signature was made over
        // the other bytes.
        let respaced = GO_STATUS.replacen("\"Buzz\":3", "\"Buzz\": 3", 1);
        assert_eq!(
            decode("alice", &go_newspaper(&respaced, GO_STATUS)),
            Err(Rejection::BadSignature)
        );
        assert!(decode("alice", &go_newspaper(&respaced, &respaced)).is_ok());
    }

    #[test]
    fn a_tampered_version_or_a_missing_signature_is_refused() {
        let tampered = GO_STATUS.replace("\"0.2.0\"", "\"9.9.9\"");
        assert_eq!(
            decode("alice", &go_newspaper(&tampered, GO_STATUS)),
            Err(Rejection::BadSignature)
        );
        let unsigned = format!(r#"{{"From":"alice","Status":{GO_STATUS}}}"#);
        assert_eq!(decode("alice", &unsigned), Err(Rejection::Unsigned));
    }

    #[test]
    fn a_newspaper_on_another_naras_topic_is_refused() {
        assert_eq!(
            decode("bob", &go_newspaper(GO_STATUS, GO_STATUS)),
            Err(Rejection::WrongTopic)
        );
    }

    #[test]
    fn ours_reads_back_with_its_extras_and_is_signed_over_the_status_bytes() {
        let alice = go_test_identity("alice");
        let sent = now_ns();
        let wire = encode(&alice, &own_status(sent));
        let text = String::from_utf8(wire).unwrap();
        assert!(
            text.starts_with(
                r#"{"From":"alice","Status":{"HostStats":{"Uptime":500},"Version":"1.2.3","PublicUrl":"","#
            ),
            "{text}"
        );
        assert!(
            !text.contains(r#""host""#),
            "no health measured, no host member: {text}"
        );
        let message = decode("alice", &text).unwrap();
        let Body::Newspaper(story) = message.body else {
            panic!("a newspaper")
        };
        assert_eq!(story.revision.as_deref(), Some("abc123"));
        assert_eq!(story.process_uptime_s, Some(20));
        assert_eq!(story.id, alice.id);
        assert_eq!(story.sent_ns, Some(sent));
        assert_eq!(story.boot_id.as_deref(), Some("b00t"));
        assert_eq!(story.conn, Some(2));
        assert!(!story.handover);
    }

    #[test]
    fn tags_are_signed_and_read_back_and_their_limits_hold_on_receipt() {
        let alice = go_test_identity("alice");
        let tags = crate::plaza::tags::Tags::parse(["role=db", "ephemeral=true"]).unwrap();
        let status = OwnStatus {
            tags: &tags,
            ..own_status(now_ns())
        };
        let text = String::from_utf8(encode(&alice, &status)).unwrap();
        assert!(text.contains(r#","tags":{"ephemeral":"true","role":"db"}}"#), "{text}");
        let Body::Newspaper(story) = decode("alice", &text).unwrap().body else {
            panic!("a newspaper")
        };
        assert_eq!(story.tags, tags);
        // Untagged, the member is left out.
        let bare = String::from_utf8(encode(&alice, &own_status(now_ns()))).unwrap();
        assert!(!bare.contains("tags"), "{bare}");
        // Past a limit, or of the wrong shape, the whole newspaper is refused.
        for tags in [
            r#"{"Role":"db"}"#,
            r#"{"role":"a b"}"#,
            r#"{"role":""}"#,
            r#"{"role":1}"#,
            "[]",
        ] {
            let status = GO_STATUS.replacen('{', &format!(r#"{{"tags":{tags},"#), 1);
            assert_eq!(
                decode("alice", &go_newspaper(&status, &status)),
                Err(Rejection::InvalidFields),
                "{tags}"
            );
        }
    }

    #[test]
    fn a_newspaper_with_tags_at_their_limit_stays_under_2_kib() {
        let alice = go_test_identity("alice");
        let tags = crate::plaza::tags::tests::at_the_limit();
        let status = OwnStatus {
            tags: &tags,
            public_url: Some("https://a-rather-long-host-name.example.org/nara/"),
            ..own_status(now_ns())
        };
        let wire = encode(&alice, &status);
        let bare = encode(&alice, &own_status(now_ns()));
        eprintln!(
            "a newspaper: {} bytes untagged, {} with tags at their limit",
            bare.len(),
            wire.len()
        );
        assert!(wire.len() < 2048, "{} bytes", wire.len());
        assert!(decode("alice", std::str::from_utf8(&wire).unwrap()).is_ok());
    }

    #[test]
    fn our_newspapers_carry_a_signed_time_and_an_old_one_is_stale() {
        let alice = go_test_identity("alice");
        let an_hour_ago = now_ns() - 3_600_000_000_000;
        let old = String::from_utf8(encode(&alice, &own_status(an_hour_ago))).unwrap();
        assert_eq!(decode("alice", &old), Err(Rejection::Stale));
    }

    #[test]
    fn a_retained_newspaper_may_be_as_old_as_its_expiry_and_no_older_nor_from_the_future() {
        let alice = go_test_identity("alice");
        let policy = crate::testing::policy();
        let aged = |age_s: i64| {
            let sent = (now_ns() as i64 - age_s * 1_000_000_000) as u64;
            String::from_utf8(encode(&alice, &own_status(sent))).unwrap()
        };
        let retained = |text: &str| decode_aged("alice", text, SystemTime::now(), policy, Duration::from_secs(360));
        assert!(retained(&aged(300)).is_ok());
        assert_eq!(decode("alice", &aged(300)), Err(Rejection::Stale), "live, it is stale");
        assert_eq!(retained(&aged(400)), Err(Rejection::Stale));
        assert_eq!(retained(&aged(-120)), Err(Rejection::Stale));
    }

    #[test]
    fn a_go_nara_s_cpu_of_0_is_unknown_and_its_rss_and_descriptors_absent() {
        let status = GO_STATUS.replace("\"ProcCPUPercent\":1.5", "\"ProcCPUPercent\":0");
        let Body::Newspaper(story) = decode("alice", &go_newspaper(&status, &status)).unwrap().body else {
            panic!("a newspaper")
        };
        assert_eq!(story.health.cpu_pct, None);
        assert_eq!((story.health.rss_bytes, story.health.open_fds), (None, None));
        let shown = serde_json::to_string(&story.health).unwrap();
        assert_eq!(shown, r#"{"load_per_core":0.12,"go_heap_bytes":12582912}"#);
    }

    #[test]
    fn ours_carries_its_health_as_load_avg_and_a_host_member() {
        let alice = go_test_identity("alice");
        let mut status = own_status(now_ns());
        status.health = Measured {
            load_per_core: Some(Hundredths(42)),
            host: Host {
                rss_kib: Some(20_480),
                cpu_pct: Some(1.25),
                fds: Some(37),
            },
        };
        let text = String::from_utf8(encode(&alice, &status)).unwrap();
        assert!(text.contains(r#""HostStats":{"Uptime":500,"LoadAvg":0.42}"#), "{text}");
        assert!(
            text.contains(r#","host":{"rss_kib":20480,"cpu_pct":1.25,"fds":37}}"#),
            "{text}"
        );
        let Body::Newspaper(story) = decode("alice", &text).unwrap().body else {
            panic!("a newspaper")
        };
        assert_eq!(*story.health, status.health.health());
        assert_eq!(
            *story.health,
            HostHealth {
                load_per_core: Some(Hundredths(42)),
                cpu_pct: Some(Hundredths(125)),
                rss_bytes: Some(20_480 * 1024),
                go_heap_bytes: None,
                open_fds: Some(37),
            }
        );
    }

    #[test]
    fn health_out_of_any_host_s_range_makes_the_newspaper_invalid() {
        let go = |from: &str, to: &str| GO_STATUS.replace(from, to);
        let ours = |host: &str| GO_STATUS.replace("\"Chattiness\"", &format!("\"host\":{host},\"Chattiness\""));
        for hostile in [
            go("\"LoadAvg\":0.12", "\"LoadAvg\":-1"),
            go("\"LoadAvg\":0.12", "\"LoadAvg\":1e300"),
            go("\"ProcCPUPercent\":1.5", "\"ProcCPUPercent\":-0.5"),
            go("\"MemAllocMB\":12", "\"MemAllocMB\":18446744073709551615"),
            ours(r#"{"rss_kib":18446744073709551615}"#),
            ours(r#"{"cpu_pct":1e9}"#),
            ours(r#"{"fds":4294967295}"#),
        ] {
            assert_eq!(
                decode("alice", &go_newspaper(&hostile, &hostile)),
                Err(Rejection::InvalidFields),
                "{hostile}"
            );
        }
        for wrong_type in [
            go("\"LoadAvg\":0.12", "\"LoadAvg\":\"high\""),
            go("\"MemAllocMB\":12", "\"MemAllocMB\":-5"),
            ours(r#"{"fds":-1}"#),
            ours(r#"{"rss_kib":1e400}"#),
        ] {
            assert!(
                decode("alice", &go_newspaper(&wrong_type, &wrong_type)).is_err(),
                "{wrong_type}"
            );
        }
        // At the edge of the ranges, it still reads.
        let largest = ours(r#"{"rss_kib":17179869184,"cpu_pct":409600,"fds":1073741824}"#);
        assert!(decode("alice", &go_newspaper(&largest, &largest)).is_ok());
    }

    #[test]
    fn a_status_without_host_stats_or_key_is_invalid() {
        for broken in [
            GO_STATUS.replace("\"HostStats\"", "\"HostStatz\""),
            GO_STATUS.replace("\"PublicKey\"", "\"PublicKez\""),
        ] {
            assert_eq!(
                decode("alice", &go_newspaper(&broken, &broken)),
                Err(Rejection::InvalidFields)
            );
        }
    }

    #[test]
    fn host_uptime_is_read_from_the_kernel_where_there_is_one() {
        // The fallback is a value no host has been up for.
        let uptime = host_uptime_s(u64::MAX);
        assert_eq!(uptime == u64::MAX, !std::path::Path::new("/proc/uptime").exists());
    }
}
