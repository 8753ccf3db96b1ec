"""The "Fleet metrics" section of make bench (make bench-peer-metrics alone): /metrics/peers of a
nara binary with a full view of 10,000 naras (itself and 9,999 joined through mosquitto by
examples/plaza_crowd.rs, each with a newspaper, a third on an older version), at the
default --metrics-max-peers (10,000); and /metrics beside it. nara is pinned to core 0; the
broker, the crowd and this scraper to core 1.

    python3 bench/peer_metrics.py NARA_BIN CROWD_BIN

A scrape is timed from its request to the last byte of the answer, over one keep-alive
connection. Fresh scrapes come 1.2 s apart, so each finds the shared page out of date (it is
shared for 1 s when the view does not change) and nara writes a new one from a snapshot;
shared scrapes follow one another at once. Prints the figures as JSON on stdout and writes
bench/results/peer-metrics.md.
"""
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ left in the tree
from loopback import free_port, start_broker, wait_port  # noqa: E402  (bench/loopback.py)

CROWD = 9999
SCRAPES = 20
COMMAND = "make bench-peer-metrics"


def say(text):
    print(f"bench: {text}", file=sys.stderr, flush=True)


def get(conn, path):
    """(milliseconds to the last byte, body) of one GET on a keep-alive connection."""
    began = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - began) * 1000
    if response.status != 200:
        raise SystemExit(f"fleet: {path} answered {response.status}")
    return elapsed, body


def online(conn):
    _, body = get(conn, "/api/status")
    return json.loads(body)["plaza"]["peers"]["online"]


def measure(binary, crowd_bin, work):
    broker, broker_port = start_broker(work, "fleet", max_queued=100000, core=1)
    port = free_port()
    nara = subprocess.Popen(["taskset", "-c", "0", binary, "--http-addr", f"127.0.0.1:{port}", "--name", "fleet",
                             "--mqtt-url", f"mqtt://127.0.0.1:{broker_port}", "--plaza-announce-jitter", "0s",
                             "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, "fleet")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        # Every route this run asks of nara before the crowd's naras come, so that what
        # /metrics gains meanwhile is theirs, not the series of these requests.
        online(conn)
        get(conn, "/metrics")
        _, alone = get(conn, "/metrics")
        say(f"fleet: {CROWD:,} naras join through mosquitto")
        subprocess.run(["taskset", "-c", "1", crowd_bin, f"mqtt://127.0.0.1:{broker_port}", str(CROWD), "0"],
                       check=True, stdout=subprocess.DEVNULL, timeout=300)
        deadline = time.monotonic() + 120
        while online(conn) < CROWD + 1:
            if time.monotonic() > deadline:
                raise SystemExit(f"fleet: {online(conn):,} naras ONLINE after 2 minutes, not {CROWD + 1:,}")
            time.sleep(0.2)
        _, with_view = get(conn, "/metrics")
        say(f"fleet: {SCRAPES} fresh scrapes of /metrics/peers, 1.2 s apart, and {SCRAPES} shared ones")
        fresh, shared, page = [], [], b""
        for _ in range(SCRAPES):
            time.sleep(1.2)
            ms, page = get(conn, "/metrics/peers")
            fresh.append(ms)
            shared.append(get(conn, "/metrics/peers")[0])
        _, after = get(conn, "/metrics")
        lines = page.decode().splitlines()
        return {
            "naras": CROWD + 1,
            "peers_bytes": len(page),
            "peers_samples": sum(1 for line in lines if line and not line.startswith("#")),
            "peers_exported": sum(1 for line in lines if line.startswith("nara_online{")),
            "left_out": next(int(line.split()[1]) for line in lines if line.startswith("nara_peers_left_out ")),
            "fresh_ms": fresh,
            "fresh_ms_median": statistics.median(fresh),
            "fresh_ms_max": max(fresh),
            "shared_ms_median": statistics.median(shared),
            "metrics_bytes_alone": len(alone),
            "metrics_bytes_with_view": len(with_view),
            "metrics_bytes_after_scrapes": len(after),
        }
    finally:
        for proc in (nara, broker):
            proc.kill()
            proc.wait()


def table(r):
    """The section's Markdown lines."""
    return [
        "## Fleet metrics",
        "",
        f"`/metrics/peers` with {r['naras']:,} naras in view (the default `--plaza-max-peers`; 9,999 joined through "
        "mosquitto with a newspaper each, a third on an older version, by `examples/plaza_crowd.rs`) and the default "
        f"`--metrics-max-peers` (10,000): {r['peers_exported']:,} naras exported, {r['left_out']} left out. nara on "
        "core 0; broker, crowd and scraper on core 1. Timed from the request to the last byte, over one keep-alive "
        f"connection. Fresh: {SCRAPES} scrapes 1.2 s apart, each finding the shared page out of date, so nara writes "
        "one from a snapshot of the view; shared: a scrape right after one.",
        "",
        "| What | Measured |",
        "| --- | ---: |",
        f"| page size | {r['peers_bytes']:,} bytes ({r['peers_bytes'] / 1e6:.2f} MB), {r['peers_samples']:,} samples |",
        f"| fresh scrape, median / slowest of {SCRAPES} | {r['fresh_ms_median']:.1f} / {r['fresh_ms_max']:.1f} ms |",
        f"| shared scrape, median | {r['shared_ms_median']:.2f} ms |",
        f"| `/metrics` with nara alone / with {r['naras']:,} in view | {r['metrics_bytes_alone']:,} / "
        f"{r['metrics_bytes_with_view']:,} bytes |",
        f"| `/metrics` once `/metrics/peers` was scraped | {r['metrics_bytes_after_scrapes']:,} bytes |",
        "",
    ]


def targets(r):
    """(what, value, unit, op, goal) for the report's targets table."""
    if not r:
        return []
    return [
        ("/metrics/peers at 10,000 naras, a fresh scrape (slowest of 20)", r["fresh_ms_max"], "ms", "<=", 50),
        ("/metrics/peers at 10,000 naras, size", r["peers_bytes"] / 1e6, "MB", "<=", 3),
        ("/metrics growth from nara alone to 10,000 in view", r["metrics_bytes_with_view"] - r["metrics_bytes_alone"],
         "bytes", "<=", 1024),
    ]


def main():
    binary, crowd_bin = sys.argv[1:3]
    os.sched_setaffinity(0, {1})
    work = tempfile.mkdtemp(prefix="nara-fleet-")
    result = measure(binary, crowd_bin, work)
    say(f"fleet: {json.dumps(result)}")
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/peer-metrics.md", "w") as f:
        f.write("\n".join(["# nara benchmark: fleet metrics", "",
                           f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC with `{COMMAND}` "
                           "(the release build).", "", *table(result)[2:]]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
