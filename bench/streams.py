"""The "Streams" section of make bench: the event-stream attack (examples/streams_attack.rs)
against two nara binaries in one run, BEFORE and AFTER, each on a fresh mosquitto: 10,000
naras in view, N clients on /api/events that never read (each from a loopback address of
its own, as N hosts), two churn rounds, then the clients leave. nara is pinned to core 0, the broker and the attacker to core 1.

    python3 bench/streams.py BEFORE_BIN AFTER_BIN ATTACK_BIN [N ...]

Prints a JSON list, one object per (binary, N), and writes bench/results/streams.md.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ left in the tree
from loopback import free_port, start_broker  # noqa: E402  (bench/loopback.py)

# The view holds 10,000 (the default --plaza-max-peers), nara itself included.
NARAS = 9999
ROUNDS = 2
MIB = 1024


def say(text):
    print(f"bench: {text}", file=sys.stderr, flush=True)


def wait_http(port):
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                if s.recv(12).endswith(b"200"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"streams: nothing answered on :{port}")


def attack(binary, attacker, clients, work):
    broker, broker_port = start_broker(work, "streams", max_queued=100000, core=1)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    port = free_port()
    nara = subprocess.Popen(["taskset", "-c", "0", binary, "--http-addr", f"127.0.0.1:{port}", "--name", "streams",
                             "--mqtt-url", f"mqtt://127.0.0.1:{broker_port}", "--plaza-announce-jitter", "0s",
                             "--log-level", "error"], **quiet)
    try:
        wait_http(port)
        time.sleep(0.5)
        out = subprocess.run(["taskset", "-c", "1", attacker, f"mqtt://127.0.0.1:{broker_port}", f"127.0.0.1:{port}",
                              str(nara.pid), str(NARAS), str(clients), str(ROUNDS)],
                             capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            raise SystemExit(f"streams: the attack failed ({out.returncode}):\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        for proc in (nara, broker):
            proc.kill()
            proc.wait()


def table(results):
    """The section's Markdown lines."""
    lines = [
        "## Streams",
        "",
        f"{NARAS + 1:,} naras in view (the default `--plaza-max-peers`), N clients that send `GET /api/events` and never read (4 KiB receive buffer), "
        "each from a loopback address of its own (so a cap per client does not apply), "
        f"then {ROUNDS} churn rounds (every nara says chau, then hey_there), then the clients leave "
        "(`examples/streams_attack.rs`). Before: the binary before the stream bounds; after: this one, "
        "with its defaults. Memory is nara's resident set, sampled every 50 ms with `/healthz`.",
        "",
        "| Binary | N | Streams / 503 | Idle | With streams | Peak | After they left | Slowest `/healthz` | Closed by nara |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['binary']} | {r['clients']:,} | {r['streams']:,} / {r['refused']:,} | {r['idle_kib'] / MIB:.0f} MiB | "
            f"{r['streams_kib'] / MIB:.0f} MiB | {r['peak_kib'] / MIB:.0f} MiB | {r['after_kib'] / MIB:.0f} MiB | "
            f"{r['slowest_healthz_ms']:,.1f} ms | {r['closed_by_nara']:.0f} |"
        )
    lines.append("")
    return lines


def targets(results):
    """(what, value, unit, op, goal) for the report's targets table: the after binary."""
    after = [r for r in results if r["binary"] == "after"]
    out = []
    at_1000 = [r for r in after if r["clients"] == 1000]
    if at_1000:
        out.append(("streams: peak memory, 1,000 stalled clients, churn", at_1000[0]["peak_kib"] / MIB, "MiB", "<=", 256))
    if after:
        out.append(("streams: slowest /healthz throughout", max(r["slowest_healthz_ms"] for r in after), "ms", "<=", 50))
        out.append(("streams: memory once the clients left", max(r["after_kib"] for r in after) / MIB, "MiB", "<=", 64))
    return out


def main():
    before, after, attacker = sys.argv[1:4]
    counts = [int(n) for n in sys.argv[4:]] or [300, 1000]
    work = tempfile.mkdtemp(prefix="nara-streams-")
    results = []
    for clients in counts:
        for name, binary in (("before", before), ("after", after)):
            say(f"streams: {name}, {NARAS + 1:,} naras in view, {clients:,} stalled clients, {ROUNDS} churn rounds")
            result = attack(binary, attacker, clients, work)
            result["binary"] = name
            results.append(result)
            say(f"streams: {json.dumps(result)}")
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/streams.md", "w") as f:
        f.write("\n".join(["# nara benchmark: event streams", "", *table(results)[2:]]))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
