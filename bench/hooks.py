#!/usr/bin/env python3
"""Event hooks: how long after a nara's confirmed MISSING its observer's hook starts.

    python3 bench/hooks.py [--rounds 5] BIN

A mosquitto on a free loopback port and an observer with a program hook for `missing`
(a shell script that writes the time it starts, `date +%s%N`, and the nara's name).
Each round starts a nara, waits until the observer sees it ONLINE, SIGKILLs it, and
takes two times: when the observer's /api/events stream delivered its MISSING (the
moment the view announced the confirmed change, as a client sees it) and when the hook
started. Prints each round and the median and worst of hook start minus MISSING on the
stream, and of the hook's start after the kill (the broker's will delay, the 1.5 s
confirmation, and the hook). All times are this host's clock.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.dont_write_bytecode = True  # no bench/__pycache__ left in the tree
from loopback import free_port, start_broker, wait_port  # noqa: E402  (bench/loopback.py)


def start_nara(binary, name, broker_port, extra=()):
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "NARA_LOG_LEVEL": "warn"}
    proc = subprocess.Popen(
        [binary, "--http-addr", f"127.0.0.1:{port}", "--name", name, "--mqtt-url", f"mqtt://127.0.0.1:{broker_port}",
         "--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "1s", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, "hooks")
    return proc, port


def status_of(port, name):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/peers/{name}", timeout=2) as answer:
            return json.load(answer)["status"]
    except Exception:  # noqa: BLE001  (not there yet)
        return None


def wait_for(what, condition, limit=20):
    started = time.monotonic()
    while time.monotonic() - started < limit:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise SystemExit(f"hooks: waited {limit} s for {what}, in vain")


def follow_missing(port, seen):
    """Records in `seen` (name -> wall-clock ns) each MISSING the stream delivers."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/events", timeout=600) as stream:
        event = None
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[len("event: "):]
            elif line.startswith("data: ") and event == "leave":
                change = json.loads(line[len("data: "):])
                if change["peer"]["status"] == "MISSING":
                    seen[change["peer"]["name"]] = time.time_ns()


def hook_starts(path):
    try:
        with open(path) as times:
            return {name: int(ns) for ns, name in (line.split() for line in times if line.strip())}
    except FileNotFoundError:
        return {}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("binary")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="nara-hooks-")
    broker, broker_port = start_broker(workdir, "hooks")
    times = os.path.join(workdir, "times")
    hook = os.path.join(workdir, "hook")
    with open(hook, "w") as script:
        script.write(f"#!/bin/sh\nprintf '%s %s\\n' \"$(date +%s%N)\" \"$NARA_PEER\" >> '{times}'\n")
    os.chmod(hook, 0o755)
    observer, port = start_nara(args.binary, "observer", broker_port, ["--on-event", f"missing={hook}"])
    seen = {}
    threading.Thread(target=follow_missing, args=(port, seen), daemon=True).start()
    after_missing, after_kill = [], []
    try:
        for round_ in range(args.rounds):
            name = f"doomed{round_}"
            doomed, _ = start_nara(args.binary, name, broker_port)
            wait_for(f"{name} ONLINE", lambda: status_of(port, name) == "ONLINE")
            killed = time.time_ns()
            doomed.send_signal(signal.SIGKILL)
            doomed.wait()
            started = wait_for(f"{name}'s hook", lambda: hook_starts(times).get(name))
            missing = wait_for(f"{name} MISSING on the stream", lambda: seen.get(name))
            after_missing.append((started - missing) / 1e6)
            after_kill.append((started - killed) / 1e6)
            print(f"{name}: hook started {after_missing[-1]:.1f} ms after MISSING on the stream, "
                  f"{after_kill[-1]:.0f} ms after the kill")
    finally:
        observer.kill()
        broker.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"hook start after MISSING on the stream: median {statistics.median(after_missing):.1f} ms, "
          f"worst {max(after_missing):.1f} ms ({args.rounds} rounds)")
    print(f"hook start after the kill: median {statistics.median(after_kill):.0f} ms, worst {max(after_kill):.0f} ms")


if __name__ == "__main__":
    main()
