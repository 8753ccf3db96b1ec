//! Crowds and the limits of the host, against the real binary: nara raises its
//! open-file limit and serves thousands of clients under systemd's 1024, backs off and
//! logs at a bounded rate when descriptors run out, and gives a crowd's memory back
//! once it has gone. Tests that need more descriptors than the machine's hard limit
//! allows skip with a line saying so.
#![cfg(target_os = "linux")]

use crate::common::raw::{get, start, status_of};
use crate::common::{Running, nara_bin, wait_until_blocking};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

/// nara started by a shell that first sets its open-file limits (`ulimit` arguments).
fn start_under(ulimit: &str) -> Running {
    let mut shell = std::process::Command::new("sh");
    shell
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("-c")
        .arg(format!("ulimit {ulimit} && exec \"$0\" \"$@\""))
        .arg(nara_bin())
        .args(["--http-addr", "127.0.0.1:0"]);
    Running::start(shell).unwrap_or_else(|e| panic!("{e}"))
}

/// Reads each client's answer, all within `within` of `began`: every one must be a 200.
fn all_answered(clients: &mut [TcpStream], began: Instant, within: Duration) {
    let total = clients.len();
    let mut buf = [0u8; 1024];
    for (i, stream) in clients.iter_mut().enumerate() {
        let left = within.saturating_sub(began.elapsed());
        assert!(
            !left.is_zero(),
            "only {i} of {total} clients were answered within {within:?}"
        );
        stream.set_read_timeout(Some(left)).expect("a read timeout can be set");
        let n = stream.read(&mut buf).unwrap_or(0);
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "client {i} of {total} got {:?} after {:?}",
            String::from_utf8_lossy(&buf[..n]),
            began.elapsed()
        );
    }
}

/// Opens `count` keep-alive connections, each with one request sent.
fn crowd(addr: std::net::SocketAddr, count: usize) -> Vec<TcpStream> {
    (0..count)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
            stream.write_all(REQUEST).expect("send the request");
            stream
        })
        .collect()
}

/// Raises this process's open-file limit to the hard one (nara, started after, raises
/// its own) and says whether `wanted` descriptors fit; when not, the test says why it
/// skips.
fn descriptors_for(wanted: u64) -> bool {
    let limit = rlimit::increase_nofile_limit(u64::MAX).expect("the open-file limit can be raised");
    if limit < wanted {
        eprintln!("skipped: needs {wanted} file descriptors and the hard limit allows {limit}");
    }
    limit >= wanted
}

/// The resident memory of process `pid`, in KiB.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process's status can be read");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("the status has VmRSS in KiB")
}

#[test]
fn five_thousand_idle_connections_leave_it_answering_with_bounded_memory() {
    if !descriptors_for(11_000) {
        return;
    }

    let nara = start();
    let before = resident_kib(nara.child.id());
    let idle: Vec<TcpStream> = (0..5000).map(|_| TcpStream::connect(nara.addr).unwrap()).collect();
    // A sleep, not a wait: the crowd settles (nara accepts them all) before measuring.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        status_of(&get(nara.addr, "/healthz")),
        200,
        "answers with 5,000 idle connections open"
    );
    let during = resident_kib(nara.child.id());
    // A leak or a per-connection buffer of any size would show here; the benchmark
    // measures the real figure.
    assert!(
        during - before < 128 * 1024,
        "memory grew from {before} KiB to {during} KiB"
    );
    drop(idle);
}

#[test]
fn memory_a_crowd_took_is_given_back_after_it_leaves() {
    const CROWD: usize = 8000;
    if !descriptors_for(2 * CROWD as u64 + 500) {
        return;
    }
    let nara = start();
    // Warm up: the first requests allocate what every later one reuses.
    for _ in 0..50 {
        assert_eq!(status_of(&get(nara.addr, "/healthz")), 200);
    }
    let before = resident_kib(nara.child.id());
    let began = Instant::now();
    let mut crowd = crowd(nara.addr, CROWD);
    // Every client gets its answer and stays connected (keep-alive).
    all_answered(&mut crowd, began, Duration::from_secs(30));
    let during = resident_kib(nara.child.id());
    drop(crowd);
    let pid = nara.child.id();
    let what =
        format!("nara to give back what {CROWD} clients took (before them: {before} KiB, with them: {during} KiB)");
    let after = wait_until_blocking(&what, Duration::from_secs(10), || {
        Some(resident_kib(pid)).filter(|after| *after <= before + 16 * 1024)
    });
    eprintln!("resident: {before} KiB before, {during} KiB with {CROWD} clients, {after} KiB after");
    assert_eq!(status_of(&get(nara.addr, "/healthz")), 200, "still serving");
}

#[test]
fn under_systemd_s_soft_limit_three_thousand_clients_are_all_answered() {
    const CLIENTS: usize = 3000;
    if !descriptors_for(2 * CLIENTS as u64 + 500) {
        return;
    }
    // systemd's default: soft 1024, the hard limit higher.
    let mut nara = start_under("-Sn 1024");
    let started = nara.drain_log().join("\n");
    assert!(
        !started.contains("\"open_files\":1024"),
        "the start-up line shows the raised limit: {started}"
    );
    let began = Instant::now();
    let mut clients = crowd(nara.addr, CLIENTS);
    all_answered(&mut clients, began, Duration::from_secs(6));
}

/// Timestamps of the log lines that speak of accepting.
fn accept_lines(lines: &[String]) -> Vec<std::time::SystemTime> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|json| json["message"].as_str().is_some_and(|m| m.contains("accept")))
        .filter_map(|json| humantime::parse_rfc3339(json["timestamp"].as_str()?).ok())
        .collect()
}

#[test]
fn out_of_descriptors_it_logs_at_a_bounded_rate_and_recovers() {
    const CLIENTS: usize = 700;
    if !descriptors_for(2 * CLIENTS as u64 + 500) {
        return;
    }
    let mut nara = start_under("-n 256");
    let clients = crowd(nara.addr, CLIENTS);
    // A sleep, not a wait: long enough for a warning per retry to pile up, were there one.
    std::thread::sleep(Duration::from_secs(4));
    drop(clients);
    let left = Instant::now();
    wait_until_blocking(
        "an answer within 1 s of the crowd leaving",
        Duration::from_secs(1),
        || (status_of(&get(nara.addr, "/healthz")) == 200).then_some(()),
    );
    assert!(
        left.elapsed() <= Duration::from_secs(1),
        "answered after {:?}",
        left.elapsed()
    );

    let lines = nara.drain_log();
    let times = accept_lines(&lines);
    assert!(
        !times.is_empty(),
        "nara never said accepting failed:\n{}",
        lines.join("\n")
    );
    for (i, first) in times.iter().enumerate() {
        let within = times[i..]
            .iter()
            .take_while(|t| t.duration_since(*first).unwrap_or_default() < Duration::from_secs(3))
            .count();
        assert!(within <= 3, "{within} accept lines within 3 s:\n{}", lines.join("\n"));
    }
    let metrics = get(nara.addr, "/metrics");
    let failed: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("nara_http_accept_errors_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(failed > 0, "the failures are counted in /metrics");
}
