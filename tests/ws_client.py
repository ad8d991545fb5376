"""A small websocket client for tests against a real server (daphne), over asyncio streams.

Only what the tests need (RFC 6455): the opening handshake, masked text frames from the client,
unmasked text, ping and close frames from the server, and the close code and reason. A refused
handshake raises ``HandshakeRefused`` with the HTTP status.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
from dataclasses import dataclass


class HandshakeRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"handshake refused with HTTP {status}")
        self.status = status


@dataclass
class Closed(Exception):
    code: int | None
    reason: str


class WebSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.closed: Closed | None = None

    @classmethod
    async def connect(cls, host: str, port: int, path: str, headers: dict[str, str] | None = None) -> WebSocket:
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        status = int(head.split(b" ", 2)[1])
        if status != 101:
            writer.close()
            raise HandshakeRefused(status)
        return cls(reader, writer)

    async def _frame(self) -> tuple[int, bytes]:
        first, second = await self.reader.readexactly(2)
        opcode, length = first & 0x0F, second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        mask = await self.reader.readexactly(4) if second & 0x80 else None
        data = await self.reader.readexactly(length)
        if mask:
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        return opcode, data

    async def _send(self, opcode: int, data: bytes) -> None:
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        elif len(data) < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(data))
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", len(data))
        self.writer.write(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
        await self.writer.drain()

    async def receive(self, timeout: float = 5) -> dict:
        """The next JSON frame; raises ``Closed`` (with the code and reason) when the server closes."""
        while True:
            if self.closed is not None:
                raise self.closed
            opcode, data = await asyncio.wait_for(self._frame(), timeout=timeout)
            if opcode == 0x1:
                return json.loads(data)
            if opcode == 0x9:
                await self._send(0xA, data)
            elif opcode == 0x8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                self.closed = Closed(code, data[2:].decode())
                with contextlib.suppress(ConnectionError):
                    await self._send(0x8, data[:2])
                self.writer.close()
                raise self.closed

    async def send_json(self, value) -> None:
        await self._send(0x1, json.dumps(value).encode())

    async def close(self) -> None:
        if self.closed is None:
            with contextlib.suppress(ConnectionError):
                await self._send(0x8, struct.pack("!H", 1000))
        self.writer.close()
