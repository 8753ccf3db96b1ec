"""What the Fleet benchmark watches, each timed on the harness's event loop clock:

- `View`: one nara's view, read from its `/api/events` stream (the snapshot, then each
  change), with every change of a peer's state logged as it arrives. Used for the
  observers, the newcomer and the read-only watcher.
- `Monitor`: an MQTT 5 subscriber to `#` and to the broker's `$SYS` counters, which logs
  every PUBLISH the broker delivers (topic, sender, size) and keeps the wills, so one
  captured from a real link drop can be published again later.
"""
import asyncio
import bisect
import json
from dataclasses import dataclass, field

import mqtt5

WILL_PREFIX = "nara/will/"
NEWSPAPER_PREFIX = "nara/newspaper/"
SYS_COUNTERS = ("$SYS/broker/publish/messages/sent", "$SYS/broker/publish/messages/received",
                "$SYS/broker/publish/messages/dropped", "$SYS/broker/clients/connected")


def noticed(peer):
    """Whether a peer is shown as anything but plainly ONLINE: another status (MISSING,
    OFFLINE, or one of suspicion), or a truthy field about suspicion beside ONLINE
    (the design leaves open which of the two a suspected nara gets)."""
    return peer.get("status") != "ONLINE" or any(v for k, v in peer.items() if "suspect" in k)


@dataclass
class Change:
    at: float
    name: str
    status: str
    noticed: bool


@dataclass
class View:
    """A nara's view as its event stream tells it; `log` holds every change of a peer's
    (status, noticed) with the time it arrived."""
    label: str
    port: int
    peers: dict = field(default_factory=dict)  # name -> (status, version, noticed)
    log: list = field(default_factory=list)
    streams: int = 0  # streams opened: more than one means the stream was lost
    snapshot_at: float | None = None
    me: str = ""  # the name of the nara whose view this is

    def sees_online(self, names):
        """Whether every one of `names` is ONLINE here, with a version (its newspaper heard)."""
        for name in names:
            if name == self.me:
                continue
            state = self.peers.get(name)
            if state is None or state[0] != "ONLINE" or not state[1] or state[2]:
                return False
        return True

    def first(self, name, since, predicate):
        """When `name` first changed to a state that passes `predicate(change)` at or after
        `since`, or None."""
        for change in self.log:
            if change.at >= since and change.name == name and predicate(change):
                return change.at
        return None

    def _apply(self, peer, at):
        name = peer.get("name")
        if peer.get("self"):
            self.me = name or ""
            return
        if not name:
            return
        state = (peer.get("status", ""), peer.get("version") or "", noticed(peer))
        before = self.peers.get(name)
        self.peers[name] = state
        if before is None or (before[0], before[2]) != (state[0], state[2]):
            self.log.append(Change(at, name, state[0], state[2]))

    def _event(self, kind, data, at):
        if kind == "snapshot":
            for peer in json.loads(data)["peers"]:
                self._apply(peer, at)
            self.snapshot_at = self.snapshot_at or at
        elif kind in ("forget",):
            name = json.loads(data)["peer"]["name"]
            if self.peers.pop(name, None) is not None:
                self.log.append(Change(at, name, "FORGOTTEN", True))
        elif data:
            self._apply(json.loads(data)["peer"], at)

    async def follow(self):
        """Reads the stream for as long as the task runs, reconnecting if it ends."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            self.streams += 1
            try:
                writer.write(b"GET /api/events HTTP/1.1\r\nHost: fleet\r\nAccept: text/event-stream\r\n\r\n")
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise ConnectionError(head.split(b"\r\n")[0].decode())
                buffer = b""
                while True:
                    size = int((await reader.readline()).strip() or b"0", 16)
                    if size == 0:
                        break
                    buffer += (await reader.readexactly(size + 2))[:-2]
                    at = loop.time()
                    *events, buffer = buffer.split(b"\n\n")
                    for event in events:
                        kind, data = "message", ""
                        for line in event.decode().split("\n"):
                            if line.startswith("event: "):
                                kind = line[7:]
                            elif line.startswith("data: "):
                                data = line[6:]
                        if kind != "message" or data:
                            self._event(kind, data, at)
            except (OSError, asyncio.IncompleteReadError, ConnectionError, ValueError):
                pass
            finally:
                writer.close()
            await asyncio.sleep(0.1)


@dataclass
class Message:
    at: float
    topic: str
    kind: str     # newspaper, hey_there, chau, will, or the topic
    sender: str   # the nara it is from (by topic or signed payload), or "?"
    boot: str     # a newspaper's boot_id, else ""
    size: int
    retain: bool


def classify(publish):
    """(kind, sender, boot) of a plaza message."""
    topic = publish.topic
    try:
        body = json.loads(publish.payload)
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    if topic.startswith(NEWSPAPER_PREFIX):
        status = body.get("Status")
        boot = status.get("boot_id", "") if isinstance(status, dict) else ""
        return "newspaper", topic[len(NEWSPAPER_PREFIX):], str(boot)
    if topic.startswith(WILL_PREFIX):
        return "will", topic[len(WILL_PREFIX):], ""
    kind = topic.rsplit("/", 1)[-1] if topic.startswith("nara/plaza/") else topic
    return kind, str(body.get("emitter") or body.get("From") or "?"), ""


class Monitor:
    """Subscribes to everything (Retain Handling 2: only live publishes, never what was
    retained before it subscribed) and the broker's counters; reconnects at once when the
    broker restarts."""

    def __init__(self, port):
        self.port = port
        self.messages = []  # Message, in arrival order
        self.times = []     # their arrival times, for bisect
        self.wills = []     # (Message, mqtt5.Publish)
        self.sys = {topic: [] for topic in SYS_COUNTERS}  # topic -> [(at, value)]
        self.received = []  # the arrival time of every PUBLISH, $SYS included
        self.connects = []  # when each connection was made
        self.client = None
        self.connected = asyncio.Event()

    async def run(self):
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            try:
                attempt += 1
                self.client = await mqtt5.connect(self.port, f"fleet-monitor-{attempt}")
                await self.client.subscribe([("#", 0, 2), *((topic, 0, 0) for topic in SYS_COUNTERS)])
                self.connects.append(loop.time())
                self.connected.set()
                async for publish in self.client.packets():
                    self._record(publish)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, mqtt5.MqttError):
                pass
            self.connected.clear()
            if self.client is not None:
                self.client.close()
                self.client = None
            await asyncio.sleep(0.05)

    def _record(self, publish):
        self.received.append(publish.at)
        if publish.topic.startswith("$SYS/"):
            try:
                self.sys[publish.topic].append((publish.at, int(publish.payload)))
            except (KeyError, ValueError):
                pass
            return
        kind, sender, boot = classify(publish)
        message = Message(publish.at, publish.topic, kind, sender, boot, len(publish.payload), publish.retain)
        self.messages.append(message)
        self.times.append(message.at)
        if kind == "will":
            self.wills.append((message, publish))

    def between(self, start, end):
        """The plaza messages that arrived in [start, end)."""
        return self.messages[bisect.bisect_left(self.times, start):bisect.bisect_left(self.times, end)]

    def counter(self, topic, at):
        """(time, value) of the broker's last report of a counter at or before `at`."""
        found = None
        for sample in self.sys[topic]:
            if sample[0] > at:
                break
            found = sample
        return found

    def replay(self, publish):
        """Publishes a captured message again, payload and properties as they came."""
        if self.client is None:
            return False
        self.client.publish(publish.topic, publish.payload, False, publish.properties)
        return True
