"""A controllable TCP proxy on loopback for the Fleet benchmark: one listener ("link")
per nara, every connection through it forwarded to the broker's port, and each link
can be cut and restored while the nara runs. One process, asyncio; commanded by lines
on stdin, each answered by one line on stdout:

    link NAME            -> "NAME PORT"   a new listener for NAME, on a free port
    cut NAME rst         -> "ok"          both sides of NAME's connections get a TCP RST
                                          now; new ones are reset as they arrive
    cut NAME hole        -> "ok"          NAME's connections stay open, but no byte
                                          passes either way (what arrives is dropped);
                                          new ones are accepted into the hole too
    restore NAME         -> "ok"          new connections flow again; the ones held in
                                          a hole are reset (bytes were lost in them)
    stats                -> "links N connections N bytes N"

    python3 bench/fleet_proxy.py BROKER_PORT

The broker may restart on the same port: a connection made while it is down is closed
at once, as a refused connect would be.
"""
import asyncio
import resource
import socket
import struct
import sys

HIGH_WATER = 1 << 20  # bytes queued toward one side before the other side stops being read


def reset(transport):
    """Closes with a TCP RST (SO_LINGER 0), as a cut cable's first packet would."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


class Side(asyncio.Protocol):
    """One socket of a forwarded pair; hands what it reads to the other side."""

    def __init__(self, pair):
        self.pair, self.transport = pair, None

    @property
    def other(self):
        return self.pair.broker if self is self.pair.client else self.pair.client

    def connection_made(self, transport):
        self.transport = transport
        transport.set_write_buffer_limits(HIGH_WATER)

    def data_received(self, data):
        self.pair.link.proxy.bytes += len(data)
        if self.pair.link.state != "open":
            return  # a hole: what arrives is dropped
        if self.other.transport is None:
            self.pair.pending.append(data)  # the broker side is still connecting
            return
        self.other.transport.write(data)

    def pause_writing(self):
        if self.other.transport is not None:
            self.other.transport.pause_reading()

    def resume_writing(self):
        if self.other.transport is not None:
            self.other.transport.resume_reading()

    def connection_lost(self, exc):
        self.transport = None
        if self.pair.link.state == "hole":
            # In a hole no FIN gets through either: the other side learns nothing.
            if self.other.transport is None:
                self.pair.link.pairs.discard(self.pair)
            return
        self.pair.close()


class NaraSide(Side):
    """The nara's connection to its link: reset at once if the link is cut with RST,
    held silent in a hole, otherwise forwarded to a new connection to the broker."""

    def connection_made(self, transport):
        super().connection_made(transport)
        link = self.pair.link
        if link.state == "rst":
            reset(transport)
            return
        link.pairs.add(self.pair)
        if link.state == "open":
            asyncio.get_running_loop().create_task(self.pair.open_broker_side())


class Pair:
    """A nara's connection and the proxy's connection to the broker on its behalf."""

    def __init__(self, link):
        self.link = link
        self.client = NaraSide(self)
        self.broker = Side(self)
        self.pending = []
        self.closed = False

    async def open_broker_side(self):
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: self.broker, "127.0.0.1", self.link.proxy.broker_port)
        except OSError:
            self.close()  # the broker is down: the nara sees its connect fail
            return
        if self.closed:
            self.broker.transport.close()
            return
        for data in self.pending:
            self.broker.transport.write(data)
        self.pending.clear()

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.link.pairs.discard(self)
        for side in (self.client, self.broker):
            if side.transport is not None:
                side.transport.close()

    def reset(self):
        self.closed = True
        self.link.pairs.discard(self)
        for side in (self.client, self.broker):
            if side.transport is not None:
                reset(side.transport)


class Link:
    def __init__(self, proxy, name):
        self.proxy, self.name = proxy, name
        self.state = "open"
        self.pairs = set()

    def accepted(self):
        """The protocol for a new connection from the nara."""
        return Pair(self).client

    def cut(self, how):
        self.state = how
        if how == "rst":
            for pair in list(self.pairs):
                pair.reset()

    def restore(self):
        held = list(self.pairs) if self.state == "hole" else []
        self.state = "open"
        for pair in held:
            pair.reset()


class Proxy:
    def __init__(self, broker_port):
        self.broker_port = broker_port
        self.links = {}
        self.bytes = 0

    async def command(self, line):
        words = line.split()
        if not words:
            return "error: empty command"
        verb, args = words[0], words[1:]
        if verb == "link" and len(args) == 1:
            link = Link(self, args[0])
            server = await asyncio.get_running_loop().create_server(link.accepted, "127.0.0.1", 0, backlog=512)
            self.links[args[0]] = link
            return f"{args[0]} {server.sockets[0].getsockname()[1]}"
        if verb == "cut" and len(args) == 2 and args[0] in self.links and args[1] in ("rst", "hole"):
            self.links[args[0]].cut(args[1])
            return "ok"
        if verb == "restore" and len(args) == 1 and args[0] in self.links:
            self.links[args[0]].restore()
            return "ok"
        if verb == "stats":
            connections = sum(len(link.pairs) for link in self.links.values())
            return f"links {len(self.links)} connections {connections} bytes {self.bytes}"
        return f"error: cannot read {line!r}"


async def main():
    proxy = Proxy(int(sys.argv[1]))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        print(await proxy.command(line.decode().strip()), flush=True)


if __name__ == "__main__":
    # Two sockets per connection and one listener per nara: past the usual 1,024.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main())
