"""A small asyncio websocket client (RFC 6455, text frames) and process probes, for opening thousands
of real sockets against daphne from one process: tests/helpdesk/test_ws_storm.py and
bench/bench_ws_storm.py. It answers daphne's keep-alive pings, as a browser does.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from pathlib import Path

import redis

# daphne closes a socket that has not finished its handshake or answered a ping in this long anyway.
HANDSHAKE_TIMEOUT = 60


class Refused(Exception):
    """The socket was not opened (no 101), or closed before the consumer said hello."""


class Socket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.messages: asyncio.Queue[dict | None] = asyncio.Queue()  # None: the socket closed
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self._task = asyncio.create_task(self._read_frames())

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        # Client frames are masked (RFC 6455 5.3).
        mask = os.urandom(4)
        length = len(payload)
        header = bytes([0x80 | opcode])
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        # XOR as one big integer: a byte at a time costs ~18 µs for a chat frame, this ~2 µs (the
        # benchmarks run this client on the server's two cores).
        key = int.from_bytes((mask * (length // 4 + 1))[:length], "big")
        masked = (int.from_bytes(payload, "big") ^ key).to_bytes(length, "big")
        self.writer.write(header + mask + masked)

    def send_json(self, message: dict) -> None:
        self._send_frame(0x1, json.dumps(message).encode())

    async def _read_frames(self) -> None:
        try:
            while True:
                first, second = await self.reader.readexactly(2)
                opcode, length = first & 0x0F, second & 0x7F
                if length == 126:
                    (length,) = struct.unpack("!H", await self.reader.readexactly(2))
                elif length == 127:
                    (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
                payload = await self.reader.readexactly(length)  # server frames are not masked
                if opcode == 0x1:
                    self.messages.put_nowait(json.loads(payload))
                elif opcode == 0x9:  # ping
                    self._send_frame(0xA, payload)
                elif opcode == 0x8:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.messages.put_nowait(None)
            self.closed.set()
            self.writer.close()

    async def receive(self, timeout: float) -> dict:
        message = await asyncio.wait_for(self.messages.get(), timeout)
        if message is None:
            raise Refused(f"closed with {self.close_code}")
        return message

    async def close(self, timeout: float = 30) -> None:
        """The client's close handshake: a close frame, then wait for the server's."""
        if not self.closed.is_set():
            try:
                self._send_frame(0x8, struct.pack("!H", 1000))
                await asyncio.wait_for(self.closed.wait(), timeout)
            except (ConnectionError, TimeoutError):
                self.writer.close()
        self._task.cancel()


async def open_socket(host: str, port: int, token: str, *, timeout: float = HANDSHAKE_TIMEOUT) -> Socket:
    """A phone's socket (token, no Origin), opened once the consumer has said hello (it has joined its
    groups by then)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ws/?token={token} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except (asyncio.IncompleteReadError, ConnectionError) as error:
        writer.close()
        raise Refused(repr(error)) from error
    if not head.startswith(b"HTTP/1.1 101"):
        writer.close()
        raise Refused(head.split(b"\r\n", 1)[0].decode())
    sock = Socket(reader, writer)
    hello = await sock.receive(timeout)
    if hello.get("type") != "hello":
        await sock.close()
        raise Refused(f"first message {hello}")
    return sock


# --- What a process holds --------------------------------------------------------------------------


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def redis_ports(pid: int, redis_port: int) -> set[int]:
    """The local ports of process ``pid``'s established TCP connections to ``redis_port``."""
    inodes = _socket_inodes(pid)
    ports = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if state == "01" and int(remote.rsplit(":", 1)[1], 16) == redis_port and inode in inodes:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


# The channel layer's connections name themselves so (CLIENT SETNAME; helpdesk.settings.base).
LAYER_CLIENT_NAME = "helpdesk-ws"


def redis_clients_of(pid: int, client: redis.Redis) -> tuple[int, int]:
    """Redis's clients (CLIENT LIST) that are connections of process ``pid``: all of them, and those
    of the channel layer."""
    port = client.connection_pool.connection_kwargs.get("port", 6379)
    ports = redis_ports(pid, port)
    mine = [entry for entry in client.client_list() if int(entry["addr"].rsplit(":", 1)[1]) in ports]
    return len(mine), sum(1 for entry in mine if entry.get("name") == LAYER_CLIENT_NAME)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")
