//! Any request target and headers that make a valid `http::Request`: answering never
//! panics and never answers 5xx (the path-to-asset resolver, docs fallbacks,
//! Accept-Encoding and If-None-Match handling all sit on this path).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nara::{App, Health};
use std::sync::{Arc, OnceLock};

fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        let health = Arc::new(Health::new());
        health.mark_started();
        nara::testing::app("fuzz", health)
    })
}

fuzz_target!(|data: &[u8]| {
    // Line one: method and target; then "name: value" header lines.
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or("");
    let (method, target) = first.split_once(' ').unwrap_or(("GET", first));
    let mut builder = http::Request::builder().method(method).uri(target);
    for line in lines.take(16) {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim());
        }
    }
    let Ok(request) = builder.body(()) else { return };
    // The event stream needs a runtime and is not a resolver path.
    if request.uri().path() == "/api/events" {
        return;
    }
    let response = app().handle(&request);
    assert!(
        !response.status().is_server_error(),
        "{} {target} answered {}",
        method,
        response.status()
    );
});
