//! Graceful shutdown under load: 64 connections keep requesting while SIGTERM
//! arrives. Every request that got a response got all of it with 200 (none is
//! answered with an error or cut short while nara drains), the others are refused
//! before any response (the listener is closed), and nara exits 0 within its grace.
//!
//! What this cannot see: on loopback the kernel takes a whole response into its send
//! buffer at once, so a request dropped after nara read it looks, to any client, like
//! one refused. The in-process test in shutdown.rs holds a request in flight
//! across the drain to cover that.

use crate::common::{Running, TestNara, nara_command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_accepted_request_fails_when_sigterm_arrives_under_load() {
    let mut command = nara_command();
    command.args(["--http-addr", "127.0.0.1:0", "--shutdown-grace", "5s"]);
    let mut nara = Running::start(command).unwrap();
    // A body large enough to span many writes, so a cut connection shows mid-body.
    let url = nara.url("/docs/print.html");
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));

    let workers: Vec<_> = (0..64)
        .map(|_| {
            let (url, tally, stop, failures) = (url.clone(), tally.clone(), stop.clone(), failures.clone());
            tokio::spawn(async move {
                let client = crate::common::client();
                while !stop.load(Ordering::Relaxed) {
                    match client.get(&url).send().await {
                        Ok(response) => match (response.status(), response.bytes().await) {
                            // Headers came back: nara accepted it, so the whole body must too.
                            (status, Ok(body)) if status == 200 && !body.is_empty() => {
                                tally.ok.fetch_add(1, Ordering::Relaxed);
                            }
                            (status, body) => {
                                tally.failed.fetch_add(1, Ordering::Relaxed);
                                failures.lock().unwrap().push(format!("{status} {:?}", body.err()));
                            }
                        },
                        // No response at all: refused, or closed before nara read it.
                        Err(_) => {
                            tally.refused.fetch_add(1, Ordering::Relaxed);
                            // A sleep, not a wait: a refused client backs off before it tries again.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            })
        })
        .collect();

    // A sleep, not a wait: the load runs for a while before the signal comes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_signal = tally.ok.load(Ordering::Relaxed);
    let signalled = Instant::now();
    nara.signal("TERM");
    let exit = tokio::task::spawn_blocking(move || {
        let status = nara.wait_exit(Duration::from_secs(10));
        (status, nara)
    });
    let (status, _nara) = exit.await.unwrap();
    let took = signalled.elapsed();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }

    assert!(
        before_signal > 100,
        "the load never got going ({before_signal} requests)"
    );
    assert_eq!(status.code(), Some(0), "exit status");
    assert!(
        took < Duration::from_secs(5),
        "took {took:?}, longer than the 5 s grace"
    );
    assert_eq!(
        tally.failed.load(Ordering::Relaxed),
        0,
        "accepted requests failed: {:?}",
        failures.lock().unwrap()
    );
}
