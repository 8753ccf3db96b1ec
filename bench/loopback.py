"""What the bench scripts share on loopback: a free port, waiting until something listens
on one, and a throwaway mosquitto on a port of its own. Imported by the scripts beside it
(`python3 bench/NAME.py` puts bench/ on the module path); the shell scripts run it for a
free port (`python3 bench/loopback.py` prints one)."""
import os
import shutil
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, who, limit=10):
    """Until a connection to the port succeeds; after `limit` seconds `who` gives up."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{who}: nothing listens on :{port}")


def start_broker(workdir, who, max_queued=None, core=None):
    """A mosquitto that forgets everything and logs nothing, listening on a free loopback
    port, with its config in `workdir`; `max_queued` raises its per-client queue (a flood
    must not be dropped by the broker), `core` pins it to one CPU. Returns (process, port)
    once it listens."""
    port = free_port()
    conf = os.path.join(workdir, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("persistence false\nuser root\nlog_dest none\nallow_anonymous true\n")
        if max_queued is not None:
            f.write(f"max_queued_messages {max_queued}\n")
        f.write(f"listener {port} 127.0.0.1\n")
    # Debian installs mosquitto in /usr/sbin, which a user's PATH may lack.
    program = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    pinned = [] if core is None else ["taskset", "-c", str(core)]
    proc = subprocess.Popen([*pinned, program, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, who)
    return proc, port


if __name__ == "__main__":
    print(free_port())
