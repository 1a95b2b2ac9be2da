"""A bare WebSocket client over a raw TCP socket, for clients that misbehave on purpose.

Tornado's client reads everything the server sends as it arrives; this one reads only when told
to, so a test (or ``benchmarks/nonreading_client.py``) can be the client that never reads. Its
receive buffers are kept small so the server's unsent data stays on the server's side.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import urllib.parse
from typing import Any

from tornado.util import _websocket_mask  # Tornado's C masking: a 1 MB payload at once

OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x2, 0x8, 0x9, 0xA


def frame(opcode: int, payload: bytes, *, masked: bool = True, fin: bool = True) -> bytes:
    """One client frame (final unless ``fin`` is False: a fragment that more should follow), masked
    unless told otherwise (an RFC 6455 violation, for tests)."""
    m = 0x80 if masked else 0
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + _websocket_mask(mask, payload)


class RawSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, ws_url: str, token: str, *, rcvbuf: int = 4096) -> RawSocket:
        url = urllib.parse.urlparse(ws_url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: sets the window
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (url.hostname, url.port))
        # a small reader limit: asyncio stops reading from the socket once 2 x limit is buffered
        reader, writer = await asyncio.open_connection(sock=sock, limit=rcvbuf)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET {url.path or '/'} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Authorization: Bearer {token}\r\n\r\n").encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):  # refused: the answer's head and its (JSON) body
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            body = await reader.readexactly(length) if length else b""
            raise ConnectionError((head + body).decode(errors="replace"))
        return cls(reader, writer)

    async def send(self, opcode: int, payload: bytes, *, masked: bool = True, fin: bool = True) -> None:
        self.writer.write(frame(opcode, payload, masked=masked, fin=fin))
        await self.writer.drain()

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send(OP_TEXT, json.dumps(message).encode())

    async def read_frame(self) -> tuple[int, bytes]:
        b1, b2 = await self.reader.readexactly(2)
        n = b2 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return b1 & 0x0F, await self.reader.readexactly(n)

    async def read_until_close(self, idle: float = 3.0) -> tuple[int | None, str, int]:
        """Read (at last) until the server's close frame or EOF: (close code, reason, frames read);
        a socket still open after ``idle`` seconds with nothing to read gives (None, "open", count)."""
        count = 0
        try:
            while True:
                try:
                    opcode, payload = await asyncio.wait_for(self.read_frame(), idle)
                except TimeoutError:
                    return None, "open", count
                count += 1
                if opcode == OP_CLOSE:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    return code, payload[2:].decode(errors="replace"), count
        except (asyncio.IncompleteReadError, ConnectionError):
            return None, "", count

    def close(self) -> None:
        self.writer.close()


async def flood_without_reading(ws_url: str, token: str, pid: int, *, seconds: float, sample_every: float = 0.05,
                                kinds: tuple[str, ...] = ("json_pings", "ws_pings", "pongs")) -> dict[str, Any]:
    """Be the client that never reads: send JSON pings (64-character ids), WebSocket ping frames and
    unsolicited pongs as fast as the server takes them for ``seconds``, reading nothing, while
    sampling the server's RSS (process ``pid``). Then read what is left, to learn how it ended.

    Returns the server's RSS before and at its peak, what was sent, and the close code and reason."""
    import psutil

    server = psutil.Process(pid)
    sock = await RawSocket.connect(ws_url, token)
    loop = asyncio.get_running_loop()
    # warm up: the first answers (and the allocations any first socket makes) before the baseline
    for i in range(50):
        await sock.send_json({"type": "ping", "id": f"warm-{i}"})
    while True:
        opcode, payload = await sock.read_frame()
        if opcode == OP_TEXT and b"warm-49" in payload:
            break
    baseline = peak = server.memory_info().rss
    sent = {"json_pings": 0, "ws_pings": 0, "pongs": 0, "bytes": 0}
    stop = loop.time() + seconds
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, server.memory_info().rss)
            try:
                await asyncio.wait_for(done.wait(), sample_every)
            except TimeoutError:
                pass

    sampler = asyncio.ensure_future(sample())
    ping_id = "x" * 64
    frames = [(OP_TEXT, json.dumps({"type": "ping", "id": ping_id}).encode(), "json_pings"),
              (OP_PING, b"p" * 125, "ws_pings"), (OP_PONG, b"unsolicited", "pongs")]
    frames = [f for f in frames if f[2] in kinds]
    burst = b"".join(frame(op, payload) for op, payload, _ in frames) * 20
    closed_early = False
    try:
        while loop.time() < stop:
            try:
                sock.writer.write(burst)
                await asyncio.wait_for(sock.writer.drain(), max(0.01, stop - loop.time()))
            except TimeoutError:
                break  # the server stopped reading us (it closed, or its kernel buffers are full)
            except ConnectionError:
                closed_early = True
                break
            for _, _, name in frames:
                sent[name] += 20
            sent["bytes"] += len(burst)
    finally:
        done.set()
        await sampler
    peak = max(peak, server.memory_info().rss)
    code, reason, frames_read = await asyncio.wait_for(sock.read_until_close(), 30)
    sock.close()
    return {"rss_before": baseline, "rss_peak": peak, "growth": peak - baseline, "sent": sent,
            "close_code": code, "close_reason": reason, "frames_read_after": frames_read,
            "connection_reset": closed_early}
