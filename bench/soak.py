"""make soak: naras joining and leaving a real mosquitto for SOAK_SECONDS (default 600)
while an observer nara watches. A pool of 20 names churns: each second three picks start
a nara or stop a running one (half with SIGTERM, so it says chau; half with SIGKILL, so
it goes MISSING). The observer's resident memory is sampled every 5 s and must not grow
past its warm-up level (+25 %, +2 MiB). Writes bench/results/soak.md."""
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True  # no bench/__pycache__ left in the tree
from loopback import free_port, start_broker  # noqa: E402  (bench/loopback.py)

BIN = "target/release/nara"
TOTAL = int(os.environ.get("SOAK_SECONDS", "600"))


def say(message):
    print(f"soak: {message}", file=sys.stderr, flush=True)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def main():
    work = tempfile.mkdtemp(prefix="nara-soak-")
    broker, broker_port = start_broker(work, "soak")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    plaza = ["--mqtt-url", f"mqtt://127.0.0.1:{broker_port}", "--plaza-announce-jitter", "0s",
             "--plaza-newspaper-interval", "1s", "--plaza-missing-after", "3s", "--log-level", "error"]
    observer_port = free_port()
    observer = subprocess.Popen([BIN, "--http-addr", f"127.0.0.1:{observer_port}", "--name", "observer", *plaza], **quiet)
    running = {}
    samples = []
    try:
        time.sleep(1)
        say(f"churning 20 names for {TOTAL} s; observer on :{observer_port}")
        began = time.monotonic()
        next_sample = began
        while time.monotonic() - began < TOTAL:
            for _ in range(3):
                name = f"soaker-{random.randrange(20)}"
                if name in running:
                    proc = running.pop(name)
                    proc.send_signal(random.choice([signal.SIGTERM, signal.SIGKILL]))
                    proc.wait(timeout=10)
                else:
                    running[name] = subprocess.Popen([BIN, "--http-addr", "127.0.0.1:0", "--name", name, *plaza], **quiet)
            time.sleep(1)
            if observer.poll() is not None:
                raise SystemExit(f"soak: the observer exited with {observer.returncode}")
            if time.monotonic() >= next_sample:
                samples.append(rss_kib(observer.pid))
                say(f"{time.monotonic() - began:.0f} s: observer {samples[-1]} KiB, {len(running)} naras running")
                next_sample += 5
        with urllib.request.urlopen(f"http://127.0.0.1:{observer_port}/healthz", timeout=5) as response:
            assert response.status == 200, "the observer stopped answering"
    finally:
        for proc in [*running.values(), observer, broker]:
            proc.kill()
            proc.wait()

    warm = samples[min(len(samples) - 1, max(1, len(samples) // 5))]
    peak = max(samples[len(samples) // 2:])
    limit = warm * 1.25 + 2048
    ok = peak <= limit
    report = "\n".join([
        "# Plaza soak",
        "",
        f"{TOTAL} s, {len(samples)} samples 5 s apart; 20 names churning against one observer (`make soak`).",
        "",
        f"- observer memory after warm-up: {warm / 1024:.2f} MiB",
        f"- highest in the second half: {peak / 1024:.2f} MiB (limit {limit / 1024:.2f} MiB)",
        f"- result: {'no growth' if ok else 'GROWTH'}",
        "",
    ])
    with open("bench/results/soak.md", "w") as f:
        f.write(report)
    print(report)
    sys.exit(0 if ok else 1)


main()
