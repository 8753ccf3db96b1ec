"""A small MQTT 5 client for the benchmarks, on asyncio and the standard library: just
what a monitor needs (CONNECT, SUBSCRIBE with subscription options, PUBLISH at QoS 0
with its properties kept as raw bytes, keep-alive) and nothing else. QoS 1 and 2,
state kept at the broker and authentication are out of scope: a loopback monitor needs none.

    client = await mqtt5.connect(port, "monitor")
    await client.subscribe([("#", 0, 2)])        # (filter, max QoS, Retain Handling)
    async for packet in client.packets(): ...    # each a Publish
"""
import asyncio
import struct
from dataclasses import dataclass

CONNECT, CONNACK, PUBLISH, SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 1, 2, 3, 8, 9, 12, 13, 14


class MqttError(Exception):
    """The broker refused us, or sent what this client does not read."""


def varint(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def string(text):
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(raw)) + raw


def packet(kind, flags, body):
    return bytes([kind << 4 | flags]) + varint(len(body)) + body


def read_varint(data, at):
    """(value, the offset after it)."""
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


@dataclass
class Publish:
    """One PUBLISH as received: `properties` are the raw property bytes (without their
    length), so a message can be published again exactly as it came."""
    topic: str
    payload: bytes
    retain: bool
    properties: bytes
    at: float  # the loop's time on arrival


def parse_publish(flags, body, at):
    qos = (flags >> 1) & 3
    (length,) = struct.unpack_from("!H", body, 0)
    topic = body[2:2 + length].decode("utf-8", "replace")
    cursor = 2 + length + (2 if qos else 0)
    props_len, cursor = read_varint(body, cursor)
    properties = bytes(body[cursor:cursor + props_len])
    return Publish(topic, bytes(body[cursor + props_len:]), bool(flags & 1), properties, at)


class Client:
    def __init__(self, reader, writer, keep_alive):
        self.reader, self.writer, self.keep_alive = reader, writer, keep_alive
        self.packet_id = 0
        self.pinger = asyncio.get_running_loop().create_task(self._ping())

    async def _ping(self):
        while True:
            await asyncio.sleep(self.keep_alive / 2)
            self.writer.write(packet(PINGREQ, 0, b""))

    async def read_packet(self):
        """(kind, flags, body) of the next packet."""
        first = await self.reader.readexactly(1)
        length, shift = 0, 0
        while True:
            byte = (await self.reader.readexactly(1))[0]
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
        body = await self.reader.readexactly(length) if length else b""
        return first[0] >> 4, first[0] & 0x0F, body

    async def subscribe(self, filters):
        """Subscribes to [(filter, max QoS, Retain Handling)], No Local off, Retain As
        Published on (a live retained publish shows as retained)."""
        self.packet_id = self.packet_id % 65535 + 1
        body = struct.pack("!H", self.packet_id) + varint(0)
        for topic, qos, retain_handling in filters:
            body += string(topic) + bytes([qos | 0x08 | retain_handling << 4])
        self.writer.write(packet(SUBSCRIBE, 0x02, body))
        await self.writer.drain()

    def publish(self, topic, payload, retain=False, properties=b""):
        """Queues one PUBLISH at QoS 0."""
        body = string(topic) + varint(len(properties)) + properties + payload
        self.writer.write(packet(PUBLISH, 1 if retain else 0, body))

    async def packets(self):
        """Every PUBLISH, until the connection ends (then IncompleteReadError or
        ConnectionError); SUBACKs and PINGRESPs are read and dropped."""
        loop = asyncio.get_running_loop()
        while True:
            kind, flags, body = await self.read_packet()
            if kind == PUBLISH:
                yield parse_publish(flags, body, loop.time())
            elif kind == DISCONNECT:
                raise ConnectionError("the broker sent DISCONNECT")

    def close(self):
        self.pinger.cancel()
        self.writer.close()


async def connect(port, client_id, keep_alive=30, host="127.0.0.1"):
    """A connected Client (clean start: the broker keeps nothing for it), or MqttError if refused."""
    reader, writer = await asyncio.open_connection(host, port)
    flags = 0x02  # clean start
    body = string("MQTT") + bytes([5, flags]) + struct.pack("!H", keep_alive) + varint(0) + string(client_id)
    writer.write(packet(CONNECT, 0, body))
    await writer.drain()
    client = Client(reader, writer, keep_alive)
    try:
        kind, _, answer = await asyncio.wait_for(client.read_packet(), 5)
    except Exception:
        client.close()
        raise
    if kind != CONNACK or len(answer) < 2 or answer[1] != 0:
        client.close()
        raise MqttError(f"CONNECT refused: {answer[1:2].hex() if kind == CONNACK else f'packet type {kind}'}")
    return client
