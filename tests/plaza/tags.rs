//! Signed tags on a real broker: a nara's `--tag`s reach another nara's view through
//! its signed newspaper, show in `/api/peers` and `/api/peers/{name}`, filter the
//! list and label `/metrics/peers` for the keys picked; a newspaper whose tags break the limits is refused and counted, and one whose
//! tags were changed after signing does not verify.

use crate::common::broker::Mosquitto;
use crate::common::go_wire::{self, now_ns, raw_client};
use crate::common::{TestNara, nara_on, wait_until};
use nara::{Identity, Soul, SoulSource};
use rumqttc::v5::mqttbytes::QoS;
use serde_json::Value;
use std::time::Duration;

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list["peers"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| p["name"].as_str().expect("a name").to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn tags_pass_between_naras_signed_and_the_api_shows_and_filters_by_them() {
    let broker = Mosquitto::start();
    let observer = nara_on(
        &broker.url(),
        "observer",
        &["--tag", "role=watch", "--metrics-peer-tags", "role"],
    );
    let _db = nara_on(&broker.url(), "db", &["--tag", "role=db", "--tag", "site=lisbon"]);
    let _web = nara_on(&broker.url(), "web", &["--tag", "role=web", "--tag", "site=lisbon"]);
    for name in ["db", "web"] {
        observer
            .wait_peer_where(name, "its tags", Duration::from_secs(15), |p| {
                p["tags"]["site"] == "lisbon"
            })
            .await;
    }
    let db = observer.get_json("/api/peers/db").await;
    assert_eq!(db["tags"]["role"], "db");
    assert_eq!(db["tags"]["arch"], std::env::consts::ARCH, "an automatic label");
    let own = observer.get_json("/api/peers/observer").await;
    assert_eq!(own["tags"]["role"], "watch", "its own, as it signs them");
    assert_eq!(names(&observer.get_json("/api/peers?tag=role:db").await), ["db"]);
    assert_eq!(
        names(
            &observer
                .get_json("/api/peers?tag=role:db,role:web&tag=site:lisbon")
                .await
        ),
        ["db", "web"]
    );
    assert_eq!(
        names(&observer.get_json("/api/peers?tag=site").await),
        ["db", "web"],
        "a key alone: any value"
    );
    assert_eq!(
        names(&observer.get_json("/api/peers?tag=site:porto&status=ONLINE").await),
        Vec::<String>::new()
    );
    assert_eq!(observer.status_code("/api/peers?tag=Role:db").await, 400);
    // The fleet metrics carry the key picked, and no other.
    let page = observer.get_text("/metrics/peers").await;
    for line in [
        r#"nara_peer_tag_info{name="db",key="role",value="db"} 1"#,
        r#"nara_peer_tag_info{name="web",key="role",value="web"} 1"#,
        r#"nara_peer_tag_info{name="observer",key="role",value="watch"} 1"#,
    ] {
        assert!(page.lines().any(|l| l == line), "{line} is missing:\n{page}");
    }
    assert!(!page.contains(r#"key="site""#), "{page}");
}

/// A Go-shaped Status from `identity` with `tags` (a JSON object) as its last member.
fn status_with_tags(identity: &Identity, uptime_s: u64, tags: &str) -> String {
    let status = go_wire::go_status(identity, "0.2.0", uptime_s);
    format!("{},\"tags\":{tags}}}", status.strip_suffix('}').expect("an object"))
}

#[tokio::test]
async fn tags_over_the_limits_or_changed_after_signing_are_refused_and_counted() {
    let broker = Mosquitto::start();
    let observer = nara_on(&broker.url(), "observer", &[]);
    observer.wait_for_plaza(true, Duration::from_secs(10)).await;
    let alice = Identity::new(
        &Soul::mint("alice").expect("randomness"),
        "alice",
        SoulSource::Ephemeral,
    );
    let (client, _) = raw_client(broker.port, "sender", &[]).await;
    let send = async |payload: String| {
        client
            .publish("nara/newspaper/alice", QoS::AtLeastOnce, false, payload)
            .await
            .expect("queued");
    };
    client
        .publish(
            "nara/plaza/hey_there",
            QoS::AtLeastOnce,
            false,
            go_wire::hey_there(&alice, now_ns()),
        )
        .await
        .expect("queued");
    let counted = async |result: &str| {
        observer
            .metric(&format!(
                "nara_plaza_messages_total{{kind=\"newspaper\",result=\"{result}\"}}"
            ))
            .await
    };

    // Seventeen tags, one more than a nara may carry.
    let many: Vec<String> = (0..17).map(|i| format!("\"k{i}\":\"v\"")).collect();
    let over = status_with_tags(&alice, 5000, &format!("{{{}}}", many.join(",")));
    send(go_wire::newspaper("alice", &over, &alice, &over)).await;
    // A key a nara may not send.
    let shouting = status_with_tags(&alice, 5001, r#"{"ROLE":"db"}"#);
    send(go_wire::newspaper("alice", &shouting, &alice, &shouting)).await;
    wait_until("both refused as invalid", Duration::from_secs(10), || async {
        (counted("invalid_fields").await >= 2).then_some(())
    })
    .await;

    // Tags within the limits, then the same newspaper with a tag changed after signing.
    let fine = status_with_tags(&alice, 5002, r#"{"role":"db"}"#);
    send(go_wire::newspaper("alice", &fine, &alice, &fine)).await;
    observer
        .wait_peer_where("alice", "tagged role=db", Duration::from_secs(10), |p| {
            p["tags"]["role"] == "db"
        })
        .await;
    let forged = fine.replace(r#""role":"db""#, r#""role":"web""#);
    send(go_wire::newspaper("alice", &forged, &alice, &fine)).await;
    wait_until("the forgery refused", Duration::from_secs(10), || async {
        (counted("bad_signature").await >= 1).then_some(())
    })
    .await;
    assert_eq!(observer.get_json("/api/peers/alice").await["tags"]["role"], "db");
}
