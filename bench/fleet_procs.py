"""The processes of the Fleet benchmark: mosquitto (open-file limit raised, restartable
with or without persistence), the controllable proxy (bench/fleet_proxy.py), and real
naras, each pinned to one core (so it runs tokio's single-threaded scheduler, as a
one-vCPU machine would) and tied to the harness's life (PR_SET_PDEATHSIG), so a harness
that dies leaves no fleet behind.
"""
import asyncio
import ctypes
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass

from loopback import free_port

PR_SET_PDEATHSIG = 1
BENCH = os.path.dirname(os.path.abspath(__file__))
_libc = ctypes.CDLL(None, use_errno=True)


def nofile_hard():
    """The hard open-file limit every child's soft limit is raised to."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def _child_setup(core=None):
    """For subprocess's preexec_fn: the open-file limit raised to the hard one, death with
    the harness, and (if given) one core."""
    def setup():
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if core is not None:
            os.sched_setaffinity(0, {core})
    return setup


async def wait_listening(port, limit, who):
    """Until something accepts a connection on the port."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise SystemExit(f"fleet: {who} does not listen on :{port} after {limit} s")


class Broker:
    """mosquitto on a fixed loopback port (so it can restart under the naras' proxies),
    logging to a file, publishing its counters every second. `extra` is a file of more
    mosquitto.conf lines (an ACL a protocol needs), appended as written."""

    def __init__(self, workdir, extra=None):
        self.workdir, self.extra = workdir, extra
        self.port = free_port()
        self.proc = None
        self.program = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

    def conf(self, persistence):
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "user root",
            f"log_dest file {self.workdir}/mosquitto.log",
            "connection_messages true",
            "sys_interval 1",
            f"persistence {'true' if persistence else 'false'}",
            f"persistence_location {self.workdir}/",
        ]
        if self.extra:
            with open(self.extra) as f:
                lines.append(f.read())
        return "\n".join(lines) + "\n"

    async def start(self, persistence=False):
        path = os.path.join(self.workdir, "mosquitto.conf")
        with open(path, "w") as f:
            f.write(self.conf(persistence))
        self.proc = subprocess.Popen([self.program, "-c", path], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=_child_setup())
        await wait_listening(self.port, 10, "mosquitto")

    def forget_persisted(self):
        try:
            os.remove(os.path.join(self.workdir, "mosquitto.db"))
        except FileNotFoundError:
            pass

    async def stop(self):
        """SIGTERM, as a service manager stops it (it saves its database if persistent)."""
        if self.proc is None:
            return
        self.proc.terminate()
        await asyncio.to_thread(self.proc.wait)
        self.proc = None


class Proxy:
    """bench/fleet_proxy.py as a child, commanded line by line."""

    def __init__(self, proc):
        self.proc = proc
        self.lock = asyncio.Lock()

    @classmethod
    async def start(cls, broker_port):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, os.path.join(BENCH, "fleet_proxy.py"), str(broker_port),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, preexec_fn=_child_setup())
        return cls(proc)

    async def command(self, line):
        async with self.lock:
            self.proc.stdin.write(line.encode() + b"\n")
            await self.proc.stdin.drain()
            answer = (await self.proc.stdout.readline()).decode().strip()
        if not answer or answer.startswith("error"):
            raise SystemExit(f"fleet: the proxy answered {answer!r} to {line!r}")
        return answer

    async def link(self, name):
        """A new link; returns its port."""
        return int((await self.command(f"link {name}")).split()[1])

    async def cut(self, name, how):
        await self.command(f"cut {name} {how}")

    async def restore(self, name):
        await self.command(f"restore {name}")

    def stop(self):
        if self.proc.returncode is None:
            self.proc.kill()


def mint_soul(binary, name, workdir):
    """A soul minted for `name` by the binary under test, in a file of its own."""
    soul = subprocess.run([binary, "soul", "new", "--name", name], capture_output=True, text=True, check=True)
    path = os.path.join(workdir, f"{name}.soul")
    with open(path, "w") as f:
        f.write(soul.stdout.strip() + "\n")
    return path


@dataclass
class Member:
    """One real nara process: `link` is its proxy link (its own way to the broker)."""
    name: str
    link: str
    http_port: int
    proc: subprocess.Popen
    frozen: bool = False

    @property
    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)

    def freeze(self):
        self.proc.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        if self.frozen and self.alive:
            self.proc.send_signal(signal.SIGCONT)
        self.frozen = False

    def status(self):
        """/api/status as JSON (blocking; call in a thread)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/api/status", timeout=2) as answer:
            return json.load(answer)


def start_nara(binary, name, link, soul_file, mqtt_port, core, workdir, extra=()):
    """A nara at its defaults (bar what `extra` adds), logging warnings to a file."""
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NARA_LOG_FORMAT": "json"}
    log = open(os.path.join(workdir, f"{link}.log"), "ab")
    proc = subprocess.Popen(
        [binary, "--http-addr", f"127.0.0.1:{port}", "--name", name, "--soul-file", soul_file,
         "--mqtt-url", f"mqtt://127.0.0.1:{mqtt_port}", "--log-level", "warn", *extra],
        env=env, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=_child_setup(core))
    log.close()
    return Member(name, link, port, proc)


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    """User + system CPU seconds a process has used."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None
