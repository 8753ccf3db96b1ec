#!/usr/bin/env python3
"""First contact: how long a nara that joins a plaza takes to see every nara already there.

    python3 bench/first_contact.py [--naras 5] [--rounds 3] [--pause 10] BIN [BIN ...]

For each binary: a mosquitto on a free loopback port, NARAS naras at their default
timings (30 s newspapers, 5 s announce jitter), then ROUNDS newcomers, one at a time,
each timed from its start until its /api/peers lists every other nara ONLINE with a
version, PAUSE seconds apart (joins are not back to back: builds that answered a
newcomer's hey_there did so from a small bucket; builds since read the broker's retained
newspapers). Prints the times and their median per binary, so two builds compare in one run.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True  # no bench/__pycache__ left in the tree
from loopback import free_port, start_broker, wait_port  # noqa: E402  (bench/loopback.py)


def start_nara(binary, name, broker_port):
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "NARA_LOG_LEVEL": "warn"}
    proc = subprocess.Popen(
        [binary, "--http-addr", f"127.0.0.1:{port}", "--name", name, "--mqtt-url", f"mqtt://127.0.0.1:{broker_port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, "first_contact")
    return proc, port


def seen(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/peers", timeout=2) as answer:
        peers = json.load(answer)["peers"]
    return {p["name"] for p in peers if not p.get("self") and p["status"] == "ONLINE" and p.get("version")}


def wait_view(port, names, limit):
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if names <= seen(port):
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def measure(binary, naras, rounds, pause):
    workdir = tempfile.mkdtemp(prefix="nara-first-contact-")
    broker, broker_port = start_broker(workdir, "first_contact")
    residents = [start_nara(binary, f"resident{i}", broker_port) for i in range(naras)]
    names = {f"resident{i}" for i in range(naras)}
    try:
        # The residents settle: each sees all the others (at most an interval and a jitter).
        for i, (_, port) in enumerate(residents):
            if wait_view(port, names - {f"resident{i}"}, 45) is None:
                sys.exit(f"first_contact: resident{i} never saw the others")
        times = []
        for round_ in range(rounds):
            if round_:
                time.sleep(pause)
            started = time.monotonic()
            newcomer, port = start_nara(binary, f"newcomer{round_}", broker_port)
            took = None if wait_view(port, names, 60) is None else time.monotonic() - started
            newcomer.terminate()
            newcomer.wait()
            times.append(took)
            print(f"  {os.path.basename(binary)} round {round_ + 1}: "
                  f"{'over 60 s' if took is None else f'{took:.1f} s'}", file=sys.stderr)
        return times
    finally:
        for proc, _ in residents:
            proc.terminate()
        for proc, _ in residents:
            proc.wait()
        broker.terminate()
        broker.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--naras", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pause", type=float, default=10.0)
    parser.add_argument("binaries", nargs="+")
    args = parser.parse_args()
    for binary in args.binaries:
        times = measure(binary, args.naras, args.rounds, args.pause)
        done = [t for t in times if t is not None]
        median = f"{statistics.median(done):.1f} s" if done else "n/a"
        shown = ", ".join("over 60 s" if t is None else f"{t:.1f} s" for t in times)
        print(f"{binary}: join to a complete view of {args.naras} naras: {shown} (median {median})")


if __name__ == "__main__":
    main()
