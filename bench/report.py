"""Assembles make bench's results: bench/results/latest.json and latest.md, with each
target marked met or missed (and by how much). Reads the HTTP runs (one JSON line
each) from argv[1] and the other figures as JSON on stdin."""
import json
import os
import statistics
import sys
from datetime import datetime, timezone

sys.dont_write_bytecode = True  # no bench/__pycache__ left in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_metrics  # noqa: E402  (bench/peer_metrics.py, beside this file)
import fleet_report  # noqa: E402  (bench/fleet_report.py, beside this file)
import rollout  # noqa: E402  (bench/rollout.py, beside this file)
import fleet_soak  # noqa: E402  (bench/fleet_soak.py, beside this file)
import streams  # noqa: E402  (bench/streams.py, beside this file)


def median_of(runs, key):
    """The median of one figure over a server's rounds ({round: run})."""
    return statistics.median(run[key] for run in runs.values())


def http_rows(runs):
    """One row per (what, connections): medians over the rounds and the paired ratios."""
    grouped = {}
    for run in runs:
        grouped.setdefault((run["name"], run["connections"]), {}).setdefault(run["server"], {})[run["round"]] = run
    rows = []
    for (name, conns), servers in sorted(grouped.items()):
        nara, nginx = servers["nara"], servers["nginx"]
        rounds = sorted(nara.keys() & nginx.keys())
        ratios = [nara[r]["rps"] / nginx[r]["rps"] for r in rounds]
        row = {
            "name": name, "connections": conns, "rounds": len(rounds),
            "ratio": statistics.median(ratios), "ratio_low": min(ratios), "ratio_high": max(ratios),
            "errors": sum(run["non_2xx"] for runs in (nara, nginx) for run in runs.values()),
        }
        for server, runs_of in (("nara", nara), ("nginx", nginx)):
            for figure, key in (("rps", "rps"), ("p50_ms", "p50_ms"), ("p99_ms", "p99_ms"), ("cpu_us", "cpu_us_per_request")):
                row[f"{server}_{figure}"] = median_of(runs_of, key)
        row["met"] = row["ratio"] >= 1.0 and row["nara_p99_ms"] <= row["nginx_p99_ms"]
        row["runs"] = {"nara": [nara[r] for r in rounds], "nginx": [nginx[r] for r in rounds]}
        rows.append(row)
    return rows


def verdict(row):
    """'yes', or 'no' with what fell short and by how much."""
    if row["met"]:
        return "yes"
    misses = []
    if row["ratio"] < 1.0:
        misses.append(f"{(1 - row['ratio']) * 100:.1f}% fewer req/s")
    if row["nara_p99_ms"] > row["nginx_p99_ms"]:
        misses.append(f"p99 {row['nara_p99_ms'] - row['nginx_p99_ms']:.2f} ms higher")
    return "no: " + ", ".join(misses)


def main():
    runs_path, out = sys.argv[1], sys.argv[2]
    runs = [json.loads(line) for line in open(runs_path) if line.strip()]
    other = json.load(sys.stdin)
    rows = http_rows(runs)
    plaza = other["plaza"]
    mib = lambda kib: kib / 1024
    targets = [
        ("start-up, exec to first 200 (median of 50)", other["startup_ms"], "ms", "<=", 20),
        ("resident memory, idle (just started)", mib(other["idle_kib"]), "MiB", "<=", 10),
        ("resident memory, 256 connections (after all runs)", mib(other["loaded_kib"]), "MiB", "<=", 40),
        ("release binary with its bundle", other["binary_bytes"] / 2**20, "MiB", "<=", 10),
        ("plaza hey_there events verified per second (one core)", plaza["verify_per_s"], "msg/s", ">=", 20000),
        ("plaza newspapers verified per second (one core)", plaza["newspaper_verify_per_s"], "msg/s", ">=", 20000),
        ("resident memory with 10,000 naras in view", mib(plaza["rss_kib_with_view"]), "MiB", "<=", 64),
        ("/api/peers at 10,000 naras (median)", plaza["peers_ms_median"], "ms", "<=", 25),
        ("/api/peers/{name} at 10,000 naras (median of 2,000 lookups)", plaza["lookup_ms_median"], "ms", "<=", 1),
        *streams.targets(other.get("streams", [])),
        *peer_metrics.targets(other.get("peer_metrics")),
        *fleet_report.targets(other.get("fleet")),
        *rollout.targets(other.get("rollout")),
        *fleet_soak.targets(other.get("soak_cuts")),
    ]

    lines = [
        "# nara benchmark",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {other['cpu']}, servers pinned to core 0 and wrk "
        f"to core 1, {other['duration']} per run. Reproduce with `make bench`.",
        "",
        "## Static files and health: nara against nginx",
        "",
        "nginx 1.22 with `sendfile`, `gzip_static` and `brotli_static` serves the same precompressed "
        "files from `web/dist`; its `/healthz` is `return 200`. Both run side by side on core 0; "
        f"each row is {other['rounds']} rounds, alternating which server goes first. Figures are medians over "
        "the rounds; the ratio is the median of each round's nara/nginx requests/s, with the lowest and "
        "highest round in brackets. CPU is the server's user + system time per request.",
        "",
        "| What | Connections | nara req/s | nginx req/s | Ratio (range) | nara p50 / p99 | nginx p50 / p99 "
        "| CPU per request, nara / nginx | Target met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['connections']} | {r['nara_rps']:,.0f} | {r['nginx_rps']:,.0f} | "
            f"{r['ratio']:.2f} ({r['ratio_low']:.2f}–{r['ratio_high']:.2f}) | "
            f"{r['nara_p50_ms']:.2f} / {r['nara_p99_ms']:.2f} ms | {r['nginx_p50_ms']:.2f} / {r['nginx_p99_ms']:.2f} ms | "
            f"{r['nara_cpu_us']:.1f} / {r['nginx_cpu_us']:.1f} µs | {verdict(r)} |"
        )
    lines += ["", "Target: ratio at least 1.0 and nara's p99 no higher than nginx's.", "", "## Targets", "",
              "| What | Measured | Target | Met |", "| --- | ---: | ---: | --- |"]
    results = []
    for what, value, unit, op, goal in targets:
        met = value <= goal if op == "<=" else value >= goal
        miss = "" if met else f" (missed by {abs(value - goal):,.2f} {unit})"
        lines.append(f"| {what} | {value:,.2f} {unit} | {op} {goal:,} {unit} | {'yes' if met else 'no' + miss} |")
        results.append({"what": what, "value": value, "unit": unit, "target": f"{op} {goal}", "met": met})
    idle, crowd = other["idle_connections"], other["crowd_under_1024"]
    lines += [
        "",
        "## Connections",
        "",
        f"Memory per idle keep-alive connection, {idle['nara']['connections']:,} open on a fresh server "
        "after one request each (the growth of the server's resident memory, divided by the connections): "
        f"nara {idle['nara']['kib_per_connection']:.1f} KiB, nginx {idle['nginx']['kib_per_connection']:.1f} KiB. "
        "nara's is mostly hyper's 8 KiB read and 8 KiB write buffer, which a connection keeps while idle.",
        "",
        f"{crowd['connections']:,} clients at once against a nara started with a soft open-file limit of 1,024 "
        f"(systemd's default; nara raises it to the hard limit): {crowd['answered']:,} answered in "
        f"{crowd['seconds']:.2f} s.",
    ]
    broker = other["broker"]
    lines += [
        "",
        f"Plaza receive path in-process (decode, verify, apply to the view): {plaza['receive_per_s']:,.0f} messages/s.",
        f"At 10,000 naras, one nara by name (`/api/peers/{{name}}`, 2,000 lookups): {plaza['lookup_ms_median']:.4f} ms "
        f"median, {plaza['lookup_ms_p99']:.4f} ms p99; a filtered list of all of them (`/api/peers?status=ONLINE`, "
        f"built for its request): {plaza['filtered_all_ms_median']:.2f} ms median.",
        f"Through mosquitto (publisher and broker on core 1, nara on core 0): {broker['arrived']:,} of "
        f"{broker['sent']:,} signed messages accepted in {broker['seconds']:.2f} s, {broker['per_s']:,.0f} messages/s.",
        "",
    ]
    if other.get("streams"):
        lines += streams.table(other["streams"])
    if other.get("peer_metrics"):
        lines += peer_metrics.table(other["peer_metrics"])
    if other.get("fleet"):
        lines += fleet_report.table(other["fleet"])
    if other.get("rollout"):
        lines += rollout.table(other["rollout"])
    lines += fleet_soak.table(other.get("soak_cuts"))

    with open(f"{out}/latest.md", "w") as f:
        f.write("\n".join(lines))
    with open(f"{out}/latest.json", "w") as f:
        json.dump({"http": rows, "targets": results, "raw": other}, f, indent=2)
        f.write("\n")
    print("\n".join(lines))
    failed = [f"{r['name']} at {r['connections']}" for r in rows if r["errors"]]
    if failed:
        raise SystemExit(f"report: non-2xx responses in {', '.join(failed)}; these figures measure errors")


main()
