"""Assembles make bench's results: bench/results/latest.json and latest.md, with each
target marked met or missed (and by how much). Reads the HTTP runs (one JSON line
each) from argv[1] and the other figures as JSON on stdin."""
import json
import sys
from datetime import datetime, timezone


def main():
    runs_path, out = sys.argv[1], sys.argv[2]
    runs = [json.loads(line) for line in open(runs_path) if line.strip()]
    other = json.load(sys.stdin)
    by = {(r["server"], r["name"], r["connections"]): r for r in runs}

    rows = []
    for (server, name, conns), nara in sorted(by.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        if server != "nara":
            continue
        nginx = by[("nginx", name, conns)]
        ratio = nara["rps"] / nginx["rps"]
        rows.append({
            "name": name, "connections": conns,
            "nara_rps": nara["rps"], "nginx_rps": nginx["rps"], "ratio": ratio,
            "nara_p50_ms": nara["p50_ms"], "nginx_p50_ms": nginx["p50_ms"],
            "nara_p99_ms": nara["p99_ms"], "nginx_p99_ms": nginx["p99_ms"],
            "met": ratio >= 1.0 and nara["p99_ms"] <= nginx["p99_ms"],
            "errors": nara["non_2xx"] + nginx["non_2xx"],
        })

    plaza = other["plaza"]
    mib = lambda kib: kib / 1024
    targets = [
        ("start-up, exec to first 200 (median of 50)", other["startup_ms"], "ms", "<=", 20),
        ("resident memory, idle (just started)", mib(other["idle_kib"]), "MiB", "<=", 10),
        ("resident memory, 256 connections (after all runs)", mib(other["loaded_kib"]), "MiB", "<=", 40),
        ("release binary with its bundle", other["binary_bytes"] / 2**20, "MiB", "<=", 10),
        ("plaza messages verified per second (one core)", plaza["verify_per_s"], "msg/s", ">=", 20000),
        ("resident memory with 10,000 naras in view", mib(plaza["rss_kib_with_view"]), "MiB", "<=", 64),
        ("/api/peers at 10,000 naras (median)", plaza["peers_ms_median"], "ms", "<=", 25),
    ]

    lines = [
        "# nara benchmark",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {other['cpu']}, server pinned to core 0 and wrk "
        f"to core 1, {other['duration']} per run. Reproduce with `make bench`.",
        "",
        "## Static files and health: nara against nginx",
        "",
        "nginx 1.22 with `sendfile`, `gzip_static` and `brotli_static` serves the same precompressed "
        "files from `web/dist`; its `/healthz` is `return 200`. Ratio is nara's requests/s over nginx's.",
        "",
        "| What | Connections | nara req/s | nginx req/s | Ratio | nara p50 / p99 | nginx p50 / p99 | Target met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['connections']} | {r['nara_rps']:,.0f} | {r['nginx_rps']:,.0f} | {r['ratio']:.2f} | "
            f"{r['nara_p50_ms']:.2f} / {r['nara_p99_ms']:.2f} ms | {r['nginx_p50_ms']:.2f} / {r['nginx_p99_ms']:.2f} ms | "
            f"{'yes' if r['met'] else 'no'} |"
        )
    lines += ["", "Target: ratio at least 1.0 and nara's p99 no higher than nginx's.", "", "## Targets", "",
              "| What | Measured | Target | Met |", "| --- | ---: | ---: | --- |"]
    results = []
    for what, value, unit, op, goal in targets:
        met = value <= goal if op == "<=" else value >= goal
        miss = "" if met else f" (missed by {abs(value - goal):,.2f} {unit})"
        lines.append(f"| {what} | {value:,.2f} {unit} | {op} {goal:,} {unit} | {'yes' if met else 'no' + miss} |")
        results.append({"what": what, "value": value, "unit": unit, "target": f"{op} {goal}", "met": met})
    broker = other["broker"]
    lines += [
        "",
        f"Plaza receive path in-process (decode, verify, apply to the view): {plaza['receive_per_s']:,.0f} messages/s.",
        f"Through mosquitto (publisher and broker on core 1, nara on core 0): {broker['arrived']:,} of "
        f"{broker['sent']:,} signed messages accepted in {broker['seconds']:.2f} s, {broker['per_s']:,.0f} messages/s.",
        "",
    ]

    with open(f"{out}/latest.md", "w") as f:
        f.write("\n".join(lines))
    with open(f"{out}/latest.json", "w") as f:
        json.dump({"http": rows, "targets": results, "raw": other}, f, indent=2)
        f.write("\n")
    print("\n".join(lines))


main()
