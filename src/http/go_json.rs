//! The Go nara's read-only JSON routes, so that scripts and dashboards written for a Go
//! nara keep working: `/api.json` and `/narae.json` (every nara, this one last) and
//! `/status/{name}.json` (another nara's status). They carry what nara knows under the
//! Go nara's keys, in its order, and leave out what nara does not know rather than
//! fake it. The two fleet-wide routes are serialized once and shared, as `/api/peers` is.

use crate::http::peers::{self, Answer};
use crate::plaza::Plaza;
use crate::plaza::host_health::Hundredths;
use crate::plaza::serialized::SharedList;
use crate::plaza::view::{Peer, Status};
use bytes::Bytes;
use http::StatusCode;
use serde::Serialize;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The shared fleet-wide answers, one list per route.
#[derive(Debug, Default)]
pub(crate) struct GoLists {
    api: SharedList,
    narae: SharedList,
}

/// `HostStats`: the host's uptime, and of the rest what the nara's newspaper said in
/// the Go nara's terms (`LoadAvg` per core; `MemAllocMB` from a Go nara only, as nara
/// has no Go heap; `ProcCPUPercent` where known, which a Go nara's is not).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct HostStats {
    uptime: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    load_avg: Option<Hundredths>,
    #[serde(rename = "MemAllocMB", skip_serializing_if = "Option::is_none")]
    mem_alloc_mb: Option<u64>,
    #[serde(rename = "ProcCPUPercent", skip_serializing_if = "Option::is_none")]
    proc_cpu_percent: Option<Hundredths>,
}

/// An item of `/api.json`: the nara's status with this nara's observation of it. Go
/// writes these from a map, so the keys are in byte order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ApiItem<'a> {
    host_stats: HostStats,
    #[serde(rename = "ID")]
    id: &'a str,
    last_restart: u64,
    last_seen: u64,
    name: &'a str,
    online: Status,
    public_key: &'a str,
    public_url: &'a str,
    restarts: u32,
    version: &'a str,
}

/// An item of `/narae.json`: flat, and without a version, as Go writes it (a map, so
/// the keys are in byte order).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NaraeItem<'a> {
    host_stats: HostStats,
    #[serde(rename = "ID")]
    id: &'a str,
    last_restart: u64,
    last_seen: u64,
    name: &'a str,
    online: Status,
    public_url: &'a str,
    restarts: u32,
    uptime: u64,
}

/// `/status/{name}.json`: the nara's status alone. Go writes its struct, so the keys
/// are in the order Go declares them.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StatusItem<'a> {
    host_stats: HostStats,
    version: &'a str,
    public_url: &'a str,
    public_key: &'a str,
    #[serde(rename = "ID")]
    id: &'a str,
}

/// `{"naras":[…],"server":NAME}`, with the newline Go's encoder ends with.
#[derive(Serialize)]
struct Fleet<'a, T> {
    naras: Vec<T>,
    server: &'a str,
}

fn unix_s(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// When this nara last saw the nara restart (Unix seconds), or 0 if it never did, as
/// the Go nara writes a restart it never saw (its page shows `?` for it).
fn last_restart(peer: &Peer) -> u64 {
    peer.restarts.last_restart.map_or(0, unix_s)
}

fn host_stats(peer: &Peer) -> HostStats {
    HostStats {
        uptime: peer.uptime_s,
        load_avg: peer.host.load_per_core,
        mem_alloc_mb: peer.host.go_heap_bytes.map(|bytes| bytes >> 20),
        proc_cpu_percent: peer.host.cpu_pct,
    }
}

/// The naras as Go lists them: the others, then this one last, unless it only watches
/// (`--read-only`), as a read-only Go nara leaves itself out.
fn in_go_order(peers: &[Peer], read_only: bool) -> impl Iterator<Item = &Peer> {
    let others = peers.iter().filter(|p| !p.is_self);
    let own = peers.iter().filter(move |p| p.is_self && !read_only);
    others.chain(own)
}

fn fleet_json<T: Serialize>(server: &str, naras: Vec<T>) -> Vec<u8> {
    let mut json = serde_json::to_vec(&Fleet { naras, server }).expect("the fleet serializes");
    json.push(b'\n');
    json
}

fn api_json(peers: &[Peer], server: &str, read_only: bool) -> Vec<u8> {
    let naras = in_go_order(peers, read_only)
        .map(|p| ApiItem {
            host_stats: host_stats(p),
            id: &p.id,
            last_restart: last_restart(p),
            last_seen: unix_s(p.last_seen),
            name: &p.name,
            online: p.status,
            public_key: &p.public_key,
            public_url: p.public_url.as_deref().unwrap_or(""),
            restarts: p.restarts.restarts,
            version: &p.version,
        })
        .collect();
    fleet_json(server, naras)
}

fn narae_json(peers: &[Peer], server: &str, read_only: bool) -> Vec<u8> {
    let naras = in_go_order(peers, read_only)
        .map(|p| NaraeItem {
            host_stats: host_stats(p),
            id: &p.id,
            last_restart: last_restart(p),
            last_seen: unix_s(p.last_seen),
            name: &p.name,
            online: p.status,
            public_url: p.public_url.as_deref().unwrap_or(""),
            restarts: p.restarts.restarts,
            uptime: p.uptime_s,
        })
        .collect();
    fleet_json(server, naras)
}

/// The whole view as `render` writes it, kept in `list` and shared by its readers as
/// `/api/peers` is: until the view changes, or for `serialized::CHURN_SHARE` even if it
/// did. The list is locked before the view, as every shared list is.
fn shared(plaza: &Plaza, list: &SharedList, render: impl FnOnce(&[Peer]) -> Vec<u8>) -> Bytes {
    let mut shared = list.lock();
    if let Some(json) = shared.recent(plaza.changes_announced()) {
        return json;
    }
    let taken = Instant::now();
    let (after_change, peers) = plaza.snapshot();
    let json = Bytes::from(render(&peers));
    shared.offer(after_change, taken, json.clone());
    json
}

/// `GET /api.json`: every nara's status and this nara's observation of it.
pub(crate) fn api(plaza: &Plaza, lists: &GoLists) -> Answer {
    let (server, read_only) = (&plaza.identity.name, plaza.config.read_only);
    Answer::ok(shared(plaza, &lists.api, |peers| api_json(peers, server, read_only)))
}

/// `GET /narae.json`: every nara, flat.
pub(crate) fn narae(plaza: &Plaza, lists: &GoLists) -> Answer {
    let (server, read_only) = (&plaza.identity.name, plaza.config.read_only);
    Answer::ok(shared(plaza, &lists.narae, |peers| {
        narae_json(peers, server, read_only)
    }))
}

/// The name in `/status/{name}.json`, as the request wrote it, if `path` is that route.
pub(crate) fn status_name(path: &str) -> Option<&str> {
    path.strip_prefix("/status/")?.strip_suffix(".json")
}

/// `GET /status/{name}.json`: another nara's status. This nara's own is a 404, as it is
/// from a Go nara, whose own status is not among its neighbours.
pub(crate) fn status(plaza: &Plaza, raw: &str) -> Answer {
    let name = match peers::name_in_path(raw, "/status/NAME.json") {
        Ok(name) => name,
        Err(bad) => return bad,
    };
    match plaza.peer(&name) {
        Some(peer) if peer.is_self => Answer::error(
            StatusCode::NOT_FOUND,
            &format!(
                "{name:?} is this nara: /status/NAME.json serves the other naras, as the Go nara's does; \
                 this one's status is at /api/status"
            ),
            &[("name", &name)],
        ),
        Some(peer) => {
            let item = StatusItem {
                host_stats: host_stats(&peer),
                version: &peer.version,
                public_url: peer.public_url.as_deref().unwrap_or(""),
                public_key: &peer.public_key,
                id: &peer.id,
            };
            let mut json = serde_json::to_vec(&item).expect("a status serializes");
            json.push(b'\n');
            Answer::ok(json)
        }
        None => peers::unknown(&name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn peer(name: &str, is_self: bool) -> Peer {
        Peer {
            name: name.into(),
            id: format!("id-{name}"),
            public_key: format!("key-{name}"),
            status: Status::Online,
            version: "0.2.0".into(),
            revision: String::new(),
            public_url: None,
            version_history: Vec::new(),
            tags: crate::plaza::tags::Tags::default(),
            uptime_s: 7,
            host: Default::default(),
            first_seen: UNIX_EPOCH,
            last_seen: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            is_self,
            restarts: Default::default(),
        }
    }

    #[test]
    fn this_nara_comes_last_and_a_read_only_one_leaves_itself_out() {
        let peers = [peer("a", false), peer("me", true), peer("z", false)];
        let names = |read_only| -> Vec<&str> { in_go_order(&peers, read_only).map(|p| p.name.as_str()).collect() };
        assert_eq!(names(false), ["a", "z", "me"]);
        assert_eq!(names(true), ["a", "z"]);
        let empty = String::from_utf8(api_json(&[peer("me", true)], "me", true)).unwrap();
        assert_eq!(empty, "{\"naras\":[],\"server\":\"me\"}\n");
    }

    #[test]
    fn an_item_is_written_with_the_go_keys_in_the_go_order() {
        let api = String::from_utf8(api_json(&[peer("a", false)], "me", false)).unwrap();
        assert_eq!(
            api,
            "{\"naras\":[{\"HostStats\":{\"Uptime\":7},\"ID\":\"id-a\",\"LastRestart\":0,\"LastSeen\":1700000000,\
             \"Name\":\"a\",\"Online\":\"ONLINE\",\"PublicKey\":\"key-a\",\"PublicUrl\":\"\",\"Restarts\":0,\"Version\":\"0.2.0\"}],\
             \"server\":\"me\"}\n"
        );
        let narae = String::from_utf8(narae_json(&[peer("a", false)], "me", false)).unwrap();
        assert_eq!(
            narae,
            "{\"naras\":[{\"HostStats\":{\"Uptime\":7},\"ID\":\"id-a\",\"LastRestart\":0,\"LastSeen\":1700000000,\
             \"Name\":\"a\",\"Online\":\"ONLINE\",\"PublicUrl\":\"\",\"Restarts\":0,\"Uptime\":7}],\"server\":\"me\"}\n"
        );
        // Restarts seen: the count and when last, in Unix seconds, in byte order.
        let mut restarted = peer("a", false);
        restarted.restarts =
            crate::plaza::restarts::Restarts::seen(2, UNIX_EPOCH + Duration::from_secs(1_699_999_000), false);
        let narae = String::from_utf8(narae_json(&[restarted], "me", false)).unwrap();
        assert!(
            narae.contains("\"ID\":\"id-a\",\"LastRestart\":1699999000,\"LastSeen\":1700000000,")
                && narae.contains("\"PublicUrl\":\"\",\"Restarts\":2,\"Uptime\":7"),
            "{narae}"
        );
    }

    #[test]
    fn the_fleet_wide_routes_are_serialized_once_and_shared_each_in_its_shape() {
        let app = crate::testing::app("me", std::sync::Arc::new(crate::http::health::Health::new()));
        let first = api(&app.plaza, &app.go_lists).body;
        let again = api(&app.plaza, &app.go_lists).body;
        assert_eq!(first.as_ptr(), again.as_ptr(), "the same buffer, not a copy");
        let flat = narae(&app.plaza, &app.go_lists).body;
        assert_eq!(flat.as_ptr(), narae(&app.plaza, &app.go_lists).body.as_ptr());
        assert_ne!(first, flat, "each route keeps its own shape");
    }

    #[test]
    fn the_status_route_is_told_apart_from_other_paths() {
        assert_eq!(status_name("/status/kitchen.json"), Some("kitchen"));
        assert_eq!(status_name("/status/kitchen.lan.json"), Some("kitchen.lan"));
        assert_eq!(status_name("/status/.json"), Some(""));
        assert_eq!(status_name("/status/kitchen"), None);
        assert_eq!(status_name("/statuses/kitchen.json"), None);
    }
}
