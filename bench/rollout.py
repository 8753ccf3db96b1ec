"""The "Rollout" section of make bench: how soon `nara rollout wait` sees a threshold
reached (examples/rollout_reaction.rs). 10,000 naras in view, all on this build's
version but one straggler; a gate waits for 100%, the straggler's newspaper brings the
version, and the time from the nara announcing the change to the gate's exit is taken,
TRIALS times. nara is pinned to core 0, the broker, the fleet and the gate to core 1.

    python3 bench/rollout.py NARA_BIN REACTION_BIN [TRIALS]

Prints a JSON object and writes bench/results/rollout.md.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no bench/__pycache__ left in the tree
from loopback import free_port, start_broker, wait_port  # noqa: E402  (bench/loopback.py)

# The view holds 10,000 (the default --plaza-max-peers), nara itself included.
NARAS = 9999


def say(text):
    print(f"bench: {text}", file=sys.stderr, flush=True)


def measure(binary, reaction, trials, work):
    broker, broker_port = start_broker(work, "rollout", max_queued=100000, core=1)
    port = free_port()
    nara = subprocess.Popen(["taskset", "-c", "0", binary, "--http-addr", f"127.0.0.1:{port}", "--name", "observer",
                             "--mqtt-url", f"mqtt://127.0.0.1:{broker_port}", "--plaza-announce-jitter", "0s",
                             "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, "rollout")
        out = subprocess.run(["taskset", "-c", "1", reaction, f"mqtt://127.0.0.1:{broker_port}", f"127.0.0.1:{port}",
                              binary, str(NARAS), str(trials)], capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            raise SystemExit(f"rollout: the measurement failed ({out.returncode}):\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        for proc in (nara, broker):
            proc.kill()
            proc.wait()


def table(result):
    """The section's Markdown lines."""
    return [
        "## Rollout",
        "",
        f"{result['naras']:,} naras in view, all on this build's version but one; `nara rollout wait --min 100%` "
        "is started and seen polling, then the last nara's newspaper brings the version, at a moment spread over "
        "the gate's 250 ms poll interval (`examples/rollout_reaction.rs`). The reaction is the time from the nara "
        "announcing the change on `/api/events` (the threshold reached, as it sees it) to the gate's exit.",
        "",
        "| Trials | Reaction median | p90 | Slowest | `/api/rollout?version=…`, reading the view (median / slowest) "
        "| sharing a reading (median) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {result['trials']} | {result['reaction_ms_median']:,.0f} ms | {result['reaction_ms_p90']:,.0f} ms | "
        f"{result['reaction_ms_max']:,.0f} ms | {result['answer_ms_median']:,.1f} / {result['answer_ms_max']:,.1f} ms "
        f"| {result['shared_answer_ms_median']:,.1f} ms |",
        "",
    ]


def targets(result):
    """(what, value, unit, op, goal) for the report's targets table."""
    if not result:
        return []
    return [("nara rollout wait reacts to the threshold reached (slowest of the trials)",
             result["reaction_ms_max"], "ms", "<=", 1000)]


def main():
    binary, reaction = sys.argv[1:3]
    trials = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    work = tempfile.mkdtemp(prefix="nara-rollout-")
    say(f"rollout: {NARAS + 1:,} naras in view, {trials} gates, each released by the last nara's version")
    result = measure(binary, reaction, trials, work)
    say(f"rollout: {json.dumps({k: v for k, v in result.items() if k != 'reaction_ms'})}")
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/rollout.md", "w") as f:
        f.write("\n".join(["# nara benchmark: rollout gate", "", *table(result)[2:]]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
