//! The HTTP contract, asserted against nara's real service on an ephemeral port.

use crate::common::{InProcess, TestNara, client};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};

async fn get(server: &InProcess, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = client().get(server.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request succeeds")
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .map(|v| v.to_str().expect("the header is visible ASCII"))
        .unwrap_or("")
}

/// The content-hashed script `index.html` references.
async fn hashed_script(server: &InProcess) -> String {
    let html = get(server, "/", &[]).await.text().await.expect("index.html is text");
    let start = html
        .find("src=\"/assets/")
        .expect("index.html references a hashed asset")
        + 5;
    let end = start + html[start..].find('"').expect("the attribute is closed");
    html[start..end].to_string()
}

#[tokio::test]
async fn root_serves_the_spa_index_revalidated_on_each_use() {
    let server = InProcess::start().await;
    let response = get(&server, "/", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(response.headers(), header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(header(response.headers(), header::CACHE_CONTROL), "no-cache");
    assert!(response.text().await.unwrap().contains("<div id=\"app\">"));
}

#[tokio::test]
async fn client_side_routes_fall_back_to_index_for_browsers() {
    let server = InProcess::start().await;
    let response = get(
        &server,
        "/network/peers",
        &[("accept", "text/html,application/xhtml+xml")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("<div id=\"app\">"));
}

#[tokio::test]
async fn client_side_route_from_a_non_browser_is_404() {
    let server = InProcess::start().await;
    let response = get(&server, "/network/peers", &[("accept", "application/json")]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn missing_file_with_an_extension_is_404_even_for_browsers() {
    let server = InProcess::start().await;
    let response = get(&server, "/assets/missing-ABCDEFGH.js", &[("accept", "text/html")]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn hashed_assets_are_immutable_with_the_right_type() {
    let server = InProcess::start().await;
    let script = hashed_script(&server).await;
    let response = get(&server, &script, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(response.headers(), header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert!(header(response.headers(), header::CONTENT_TYPE).contains("javascript"));
}

#[tokio::test]
async fn matching_etag_gets_304_without_a_body() {
    let server = InProcess::start().await;
    let first = get(&server, "/", &[]).await;
    let etag = header(first.headers(), header::ETAG).to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "strong ETag, got {etag}");

    let again = get(&server, "/", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(again.headers(), header::ETAG), etag);
    assert!(again.bytes().await.unwrap().is_empty());

    let listed = get(&server, "/", &[("if-none-match", &format!("\"other\", W/{etag}"))]).await;
    assert_eq!(listed.status(), StatusCode::NOT_MODIFIED);

    let stale = get(&server, "/", &[("if-none-match", "\"something-else\"")]).await;
    assert_eq!(stale.status(), StatusCode::OK);
}

#[tokio::test]
async fn brotli_is_chosen_when_accepted_and_gzip_otherwise() {
    let server = InProcess::start().await;
    let script = hashed_script(&server).await;
    let plain = get(&server, &script, &[]).await;
    assert_eq!(header(plain.headers(), header::CONTENT_ENCODING), "");
    assert_eq!(header(plain.headers(), header::VARY), "Accept-Encoding");
    let plain_etag = header(plain.headers(), header::ETAG).to_string();
    let plain_len = plain.bytes().await.unwrap().len();

    let br = get(&server, &script, &[("accept-encoding", "gzip, deflate, br")]).await;
    assert_eq!(header(br.headers(), header::CONTENT_ENCODING), "br");
    assert_eq!(header(br.headers(), header::VARY), "Accept-Encoding");
    assert_ne!(header(br.headers(), header::ETAG), plain_etag);
    assert!(br.bytes().await.unwrap().len() < plain_len);

    let gz = get(&server, &script, &[("accept-encoding", "gzip")]).await;
    assert_eq!(header(gz.headers(), header::CONTENT_ENCODING), "gzip");
    let body = gz.bytes().await.unwrap();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "a gzip stream");

    let refused = get(&server, &script, &[("accept-encoding", "br;q=0, gzip;q=0")]).await;
    assert_eq!(header(refused.headers(), header::CONTENT_ENCODING), "");
}

#[tokio::test]
async fn docs_without_slash_redirects_permanently() {
    let server = InProcess::start().await;
    let response = get(&server, "/docs", &[]).await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(response.headers(), header::LOCATION), "/docs/");
}

#[tokio::test]
async fn docs_serves_the_book_and_its_chapters() {
    let server = InProcess::start().await;
    let index = get(&server, "/docs/", &[]).await;
    assert_eq!(index.status(), StatusCode::OK);
    assert!(index.text().await.unwrap().contains("Introduction"));
    let chapter = get(&server, "/docs/configuration.html", &[]).await;
    assert_eq!(chapter.status(), StatusCode::OK);
    assert!(chapter.text().await.unwrap().contains("NARA_HTTP_ADDR"));
    let pretty = get(&server, "/docs/configuration", &[]).await;
    assert_eq!(pretty.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_docs_page_gets_the_books_404_page_with_status_404() {
    let server = InProcess::start().await;
    let response = get(&server, "/docs/no-such-chapter.html", &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        header(response.headers(), header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert!(response.text().await.unwrap().contains("Document not found"));
}

#[tokio::test]
async fn liveness_answers_ok_on_both_paths() {
    let server = InProcess::start().await;
    for path in ["/healthz", "/health/live"] {
        let response = get(&server, path, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.text().await.unwrap().trim(), "ok", "{path}");
    }
}

#[tokio::test]
async fn readiness_answers_200_on_both_paths_when_ready() {
    let server = InProcess::start().await;
    for path in ["/readyz", "/health/ready"] {
        let response = get(&server, path, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ready");
    }
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let server = InProcess::start().await;
    for path in ["/", "/healthz", "/api/status", "/docs/"] {
        let response = client().post(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(header(response.headers(), header::ALLOW), "GET, HEAD", "{path}");
    }
}

#[tokio::test]
async fn head_answers_headers_with_no_body() {
    let server = InProcess::start().await;
    let response = client().head(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        header(response.headers(), header::CONTENT_LENGTH)
            .parse::<usize>()
            .unwrap()
            > 0
    );
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let server = InProcess::start().await;
    for path in [
        "/api/nope",
        "/api",
        "/favicon.ico",
        "/docs/../../etc/passwd",
        "/%2e%2e%2fetc%2fpasswd",
    ] {
        let response = get(&server, path, &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn status_reports_who_this_nara_is() {
    let server = InProcess::start().await;
    let status: serde_json::Value = get(&server, "/api/status", &[]).await.json().await.unwrap();
    assert_eq!(status["name"], "test-nara");
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert!(status["revision"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(matches!(status["profile"].as_str(), Some("debug" | "release")));
    assert!(status["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(status["uptime_s"].as_u64().is_some());
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let server = InProcess::start().await;
    get(&server, "/healthz", &[]).await;
    get(&server, "/nope.txt", &[]).await;
    let response = get(&server, "/metrics", &[]).await;
    assert!(header(response.headers(), header::CONTENT_TYPE).starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"nara_http_requests_total{route="liveness",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"nara_http_requests_total{route="not_found",status="404"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            r#"nara_build_info{{revision="{}",version="{}"}} 1"#,
            nara::REVISION,
            nara::VERSION
        )),
        "{text}"
    );
    assert!(
        text.contains("nara_http_request_duration_seconds_bucket{route=\"liveness\""),
        "{text}"
    );
    for process_metric in [
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_cpu_seconds_total",
        "process_start_time_seconds",
    ] {
        assert!(text.contains(process_metric), "missing {process_metric}");
    }
}

/// GET `path` and parse its JSON, whatever its status.
async fn json_of(server: &InProcess, path: &str) -> (StatusCode, HeaderMap, serde_json::Value) {
    let response = get(server, path, &[]).await;
    let (status, headers) = (response.status(), response.headers().clone());
    assert_eq!(header(&headers, header::CONTENT_TYPE), "application/json", "{path}");
    let body = response
        .json()
        .await
        .unwrap_or_else(|e| panic!("{path} answered no JSON: {e}"));
    (status, headers, body)
}

#[tokio::test]
async fn one_nara_is_looked_up_by_name_as_the_list_shows_it() {
    let server = InProcess::start().await;
    let list = server.get_json("/api/peers").await;
    let (status, _, one) = json_of(&server, "/api/peers/test-nara").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one, list["peers"][0], "the same object as in /api/peers");
    assert_eq!(one["self"], true);
}

#[tokio::test]
async fn an_unknown_nara_is_a_json_404_naming_it_and_a_bad_name_a_400_saying_why() {
    let server = InProcess::start().await;
    let (status, _, body) = json_of(&server, "/api/peers/garage").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "no nara named \"garage\" is known to this nara");
    assert_eq!(body["name"], "garage");
    for (path, says) in [
        (
            "/api/peers/a%20b",
            "\"a b\" is not a nara name: expected 1 to 64 letters, digits",
        ),
        ("/api/peers/a/b", "\"a/b\" is not a nara name"),
        ("/api/peers/", "/api/peers/NAME: the name is missing"),
    ] {
        let (status, _, body) = json_of(&server, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.starts_with(says), "{path}: {error}");
    }
}

#[tokio::test]
async fn the_list_filters_by_status_and_version_and_names_a_bad_parameter() {
    let server = InProcess::start().await;
    let names = |body: &serde_json::Value| -> Vec<String> {
        body["peers"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|p| p["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    for (query, expected) in [
        ("status=online", vec!["test-nara"]),
        ("status=MISSING,OFFLINE", vec![]),
        ("status=MISSING&status=ONLINE", vec!["test-nara"]),
        (&format!("version={}", nara::VERSION), vec!["test-nara"]),
        ("version=9.9.9", vec![]),
        (
            &format!("status=ONLINE&version=0.0.1,{}", nara::VERSION),
            vec!["test-nara"],
        ),
    ] {
        let (status, headers, body) = json_of(&server, &format!("/api/peers?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(header(&headers, header::CACHE_CONTROL), "no-store");
        assert_eq!(names(&body), expected, "{query}");
    }
    for (query, says) in [
        (
            "state=ONLINE",
            "unknown parameter \"state\": /api/peers takes status, version and tag",
        ),
        (
            "status=sleepy",
            "status=\"sleepy\" is not a status: expected ONLINE, SUSPECT, OFFLINE or MISSING",
        ),
        ("version=", "version= names no version"),
    ] {
        let (status, _, body) = json_of(&server, &format!("/api/peers?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.starts_with(says), "{query}: {error}");
    }
}

/// The items of a Go fleet route's `naras`, each as the text it was written as.
fn go_items(body: &str) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Fleet<'a> {
        #[serde(borrow)]
        naras: Vec<&'a serde_json::value::RawValue>,
    }
    let fleet: Fleet<'_> = serde_json::from_str(body).expect("{\"naras\":[…],…}");
    fleet.naras.iter().map(|item| item.get().to_string()).collect()
}

/// Whether `keys` are in byte order, as Go writes a map.
fn byte_ordered(keys: &[String]) -> bool {
    keys.windows(2).all(|pair| pair[0].as_bytes() < pair[1].as_bytes())
}

#[tokio::test]
async fn the_go_naras_fleet_routes_carry_its_keys_and_list_this_nara_last() {
    use crate::common::go_wire::{
        GO_API_OBSERVER_KEYS, GO_HOST_STATS_KEYS, GO_NARAE_KEYS, GO_STATUS_KEYS, keys_in_order,
    };
    let server = InProcess::start().await;
    let own: serde_json::Value = server.get_json("/api/peers/test-nara").await;

    let api = get(&server, "/api.json", &[]).await;
    assert_eq!(api.status(), StatusCode::OK);
    assert_eq!(header(api.headers(), header::CONTENT_TYPE), "application/json");
    let text = api.text().await.unwrap();
    assert!(text.ends_with("}\n"), "Go's encoder ends with a newline");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(keys_in_order(&text), ["naras", "server"]);
    assert_eq!(body["server"], "test-nara");
    let items = go_items(&text);
    assert_eq!(items.len(), 1);
    let keys = keys_in_order(&items[0]);
    assert_eq!(
        keys,
        [
            "HostStats",
            "ID",
            "LastRestart",
            "LastSeen",
            "Name",
            "Online",
            "PublicKey",
            "PublicUrl",
            "Restarts",
            "Version"
        ]
    );
    assert!(byte_ordered(&keys));
    assert!(
        keys.iter()
            .all(|k| GO_STATUS_KEYS.contains(&k.as_str()) || GO_API_OBSERVER_KEYS.contains(&k.as_str())),
        "every key is one of the Go nara's: {keys:?}"
    );
    let item = &body["naras"][0];
    assert_eq!(item["Name"], "test-nara");
    assert_eq!(item["ID"], own["id"]);
    assert_eq!(item["PublicKey"], own["public_key"]);
    assert_eq!(item["Version"], nara::VERSION);
    assert_eq!(item["Online"], "ONLINE");
    assert_eq!(item["PublicUrl"], "");
    assert!(
        item["LastSeen"].as_u64().is_some_and(|s| s > 1_700_000_000),
        "Unix seconds"
    );
    assert_eq!(
        (&item["Restarts"], &item["LastRestart"]),
        (&serde_json::Value::from(0), &serde_json::Value::from(0)),
        "never seen restarting: 0, as the Go nara writes it"
    );
    let host_stats = keys_in_order(&item["HostStats"].to_string());
    assert_eq!(
        host_stats,
        ["Uptime"],
        "of the Go nara's {GO_HOST_STATS_KEYS:?}, a nara that has sent no newspaper (no broker) knows its uptime alone"
    );
    assert!(host_stats.iter().all(|k| GO_HOST_STATS_KEYS.contains(&k.as_str())));

    let narae = server.get_text("/narae.json").await;
    let items = go_items(&narae);
    let keys = keys_in_order(&items[0]);
    assert_eq!(
        keys,
        [
            "HostStats",
            "ID",
            "LastRestart",
            "LastSeen",
            "Name",
            "Online",
            "PublicUrl",
            "Restarts",
            "Uptime"
        ]
    );
    assert!(byte_ordered(&keys));
    assert!(keys.iter().all(|k| GO_NARAE_KEYS.contains(&k.as_str())), "{keys:?}");
    let item: serde_json::Value = serde_json::from_str(&items[0]).unwrap();
    assert_eq!(item["Uptime"], item["HostStats"]["Uptime"]);
    assert!(
        item.get("Version").is_none(),
        "the Go nara's /narae.json has no Version"
    );
}

#[tokio::test]
async fn a_go_status_route_for_this_nara_or_an_unknown_one_is_a_404_and_a_bad_name_a_400() {
    let server = InProcess::start().await;
    let (status, _, body) = json_of(&server, "/status/test-nara.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("is this nara") && error.contains("/api/status"),
        "{error}"
    );
    let (status, _, body) = json_of(&server, "/status/garage.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["name"], "garage");
    let (status, _, _) = json_of(&server, "/status/a%2Fb.json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn lookups_filters_and_go_routes_answer_head_refuse_post_and_are_counted_by_route() {
    let server = InProcess::start().await;
    for path in [
        "/api/peers/test-nara",
        "/api/peers?status=ONLINE",
        "/api.json",
        "/narae.json",
    ] {
        let head = client().head(server.url(path)).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK, "{path}");
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
        let post = client().post(server.url(path)).send().await.unwrap();
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
    }
    get(&server, "/status/garage.json", &[]).await;
    let text = server.get_text("/metrics").await;
    for series in [
        r#"nara_http_requests_total{route="peer",status="200"} 1"#,
        r#"nara_http_requests_total{route="peers",status="200"} 1"#,
        r#"nara_http_requests_total{route="go_json",status="200"} 2"#,
        r#"nara_http_requests_total{route="go_json",status="404"} 1"#,
    ] {
        assert!(text.contains(series), "{series} in:\n{text}");
    }
}

#[tokio::test]
async fn the_fleet_page_answers_in_the_text_format_with_this_nara_on_it() {
    let server = InProcess::start().await;
    let response = get(&server, "/metrics/peers", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(response.headers(), header::CONTENT_TYPE).starts_with("text/plain; version=0.0.4"));
    assert_eq!(header(response.headers(), header::CACHE_CONTROL), "no-store");
    let text = response.text().await.unwrap();
    let own = format!(
        r#"nara_peer_info{{name="test-nara",version="{}",revision="{}",status="ONLINE"}} 1"#,
        nara::VERSION,
        nara::REVISION
    );
    assert!(text.lines().any(|line| line == own), "{text}");
    let wrong = client().post(server.url("/metrics/peers")).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        server
            .metric(r#"nara_http_requests_total{route="metrics_peers",status="200"}"#)
            .await,
        1
    );
}

#[tokio::test]
async fn rollout_answers_the_fleet_against_the_target_or_the_version_asked() {
    let server = InProcess::start_args(&["--rollout-target", "9.0.0"]).await;
    let response = get(&server, "/api/rollout", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(response.headers(), header::CONTENT_TYPE), "application/json");
    assert_eq!(header(response.headers(), header::CACHE_CONTROL), "no-store");
    let rollout: serde_json::Value = response.json().await.unwrap();
    assert_eq!(rollout["target"], "9.0.0");
    assert_eq!(rollout["target_source"], "configured");
    assert_eq!(
        rollout["fleet"],
        serde_json::json!({"naras": 1, "online": 1, "missing": 0, "offline": 0, "on_target": 0, "behind": 1})
    );
    assert_eq!(rollout["versions"][0]["version"], nara::VERSION);
    assert_eq!(rollout["versions"][0]["revisions"][0]["revision"], nara::REVISION);
    let behind = &rollout["behind"][0];
    assert_eq!(
        (&behind["name"], &behind["status"], &behind["version"]),
        (&"test-nara".into(), &"ONLINE".into(), &nara::VERSION.into())
    );
    assert!(behind["since"].as_str().is_some_and(|s| s.ends_with('Z')), "{behind}");

    let asked: serde_json::Value = get(&server, &format!("/api/rollout?version={}", nara::VERSION), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(asked["target_source"], "query");
    assert_eq!(asked["fleet"]["on_target"], 1);
    assert_eq!(asked["behind"], serde_json::json!([]));

    let response = get(&server, "/api/rollout?verison=1.0.0", &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: serde_json::Value = response.json().await.unwrap();
    assert!(
        error["error"].as_str().is_some_and(|e| e.contains("verison")),
        "{error}"
    );

    let plain = InProcess::start().await;
    let inferred: serde_json::Value = get(&plain, "/api/rollout", &[]).await.json().await.unwrap();
    assert_eq!(inferred["target"], nara::VERSION);
    assert_eq!(inferred["target_source"], "inferred");
}
