"""The simulated members of the Fleet benchmark at N = 1,000: one process
(examples/fleet_sim.rs) holds every member's MQTT connection, and each member is seen by
the harness as a `SimMember`, which has what fleet.py's phases ask of a `Member`
(`alive`, `kill`, `freeze`, `thaw`), sent to the simulator as lines on its stdin.
"""
import json
import os
import subprocess

from fleet_procs import _child_setup


class Simulator:
    """examples/fleet_sim.rs as a child, commanded line by line (each answered by one)."""

    def __init__(self, program, broker_port, count, prefix, others, via, log_path):
        args = [program, f"mqtt://127.0.0.1:{broker_port}", str(count), "--prefix", prefix, "--others", str(others)]
        for name, port in via.items():
            args += ["--via", f"{name}={port}"]
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     text=True, bufsize=1, preexec_fn=_child_setup())
        first = self.proc.stdout.readline().strip()
        if not first.startswith("started"):
            raise SystemExit(f"fleet: the simulator said {first!r} at its start (see {log_path})")

    @property
    def running(self):
        return self.proc.poll() is None

    def command(self, line):
        """Sends one command and returns its answer (quick: the simulator answers at once)."""
        if not self.running:
            return "error: the simulator has exited"
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer or answer.startswith("error"):
            raise SystemExit(f"fleet: the simulator answered {answer!r} to {line!r}")
        return answer

    def stats(self):
        return json.loads(self.command("stats"))

    def stop(self):
        if self.running:
            self.proc.kill()
        self.proc.wait()
        self.log.close()

    @property
    def pid(self):
        return self.proc.pid


class SimMember:
    """One simulated member, as fleet.py's phases see a member."""

    def __init__(self, sim, name):
        self.sim, self.name, self.link = sim, name, name
        self.frozen = False
        self.killed = False

    @property
    def alive(self):
        return not self.killed and self.sim.running

    def kill(self):
        if self.alive:
            self.sim.command(f"kill {self.name}")
        self.killed = True

    def freeze(self):
        self.sim.command(f"freeze {self.name}")
        self.frozen = True

    def thaw(self):
        if self.frozen and self.alive:
            self.sim.command(f"thaw {self.name}")
        self.frozen = False


def program():
    """The simulator's release build, where bench/fleet.sh builds it."""
    return os.environ.get("FLEET_SIM", "target/release/examples/fleet_sim")
