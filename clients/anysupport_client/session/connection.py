"""One control WebSocket that comes back after a drop: the reconnection rule, written once.

``ReconnectingSocket`` is the connection of the agent's console and of the customer's session alike
(docs/protocol.md, "Reconnection" and "WebSocket close codes"). It opens ``url`` with ``token``, hands
what arrives to its owner (``on_message`` for JSON, ``on_frame`` for sealed media) and, after a drop,
opens the same URL again with the same token after a short back-off (0.25 s, doubling to 2 s), until

- the owner closes it (``close()``);
- the close code is final (``FINAL_CLOSE_CODES``: kicked, replaced, the session ended);
- the owner says there is nothing to come back to (``over()``: the console was kicked, the customer's
  session ended and its survey is answered);
- the server refuses the handshake (401 or 403: the token is no longer valid; 404: no such session);
- it has been away longer than ``grace`` seconds, when given (the server has expired the session by then).

A socket that died without a close handshake (``close_code`` None: the network went, or the phone's
OS closed it on a network change) is tried again at once, and the back-off starts from the second
try: after a handover the new network is usually there already, and the 0.25 s wait was half the
time to the first new picture (docs/netlab.md). A socket the server closed with a code waits first.

``follow(url)`` is what ``moved`` asks: the session lives on another node, so the next reconnection
goes there at once instead of after the back-off. With ``ping_interval`` it sends a JSON ``ping`` that
often while open and keeps the round trip of the last one answered in ``rtt_ms`` (the pong still goes to
the owner).

The owner hears about the link through ``on_status(status, data)``: ``reconnecting`` (``code``: the close
code of the socket that went), ``back`` (a new socket is open), ``refused`` (``code``: the HTTP status).
The first socket is opened by ``start()``, which raises what the opening raised; ``run()`` then reads and
reconnects until the connection is over, and returns (the owner's task awaits it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import tornado.httpclient
import tornado.iostream

from anysupport.protocol.vocabulary import FINAL_CLOSE_CODES

from ..api import ControlSocket

log = logging.getLogger("anysupport.client.connection")

# what a failed opening raises: no route, no answer, or an HTTP answer instead of the upgrade
OPEN_ERRORS = (OSError, tornado.httpclient.HTTPClientError, tornado.iostream.StreamClosedError)
REFUSED_STATUSES = frozenset({401, 403, 404})  # the handshake's answer when trying again cannot help
BACKOFF_FIRST = 0.25
BACKOFF_CAP = 2.0


def backoff(first: float = BACKOFF_FIRST, cap: float = BACKOFF_CAP) -> Iterator[float]:
    """The waits before each new attempt: ``first``, then doubling up to ``cap``."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, cap)


class ReconnectingSocket:
    """One control connection and the rule for bringing it back; the owner decides what messages mean."""

    def __init__(self, url: str | None = None, token: str | None = None, *,
                 on_message: Callable[[dict[str, Any]], None], on_frame: Callable[[bytes], None],
                 on_status: Callable[[str, dict[str, Any]], None] | None = None,
                 over: Callable[[], bool] | None = None, grace: float | None = None,
                 ping_interval: float | None = None, send_buffer: int | None = None,
                 notsent_lowat: int | None = None, on_video_dropped: Callable[[int], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, delays: Callable[[], Iterator[float]] = backoff):
        self.url = url
        self.token = token
        self.on_message = on_message
        self.on_frame = on_frame
        self.on_status = on_status or (lambda status, data: None)
        self.over = over or (lambda: False)
        self.grace = grace
        self.ping_interval = ping_interval
        self.send_buffer = send_buffer
        self.notsent_lowat = notsent_lowat
        self.on_video_dropped = on_video_dropped  # a queued video frame went stale (ControlSocket)
        self.clock = clock
        self.delays = delays
        self.socket: ControlSocket | None = None  # the open socket; None while away
        self.closing = False
        self._closed = asyncio.Event()  # wakes a back-off when the owner closes
        self.reconnects = 0  # times it came back
        self.close_code: int | None = None  # of the last socket that closed
        self.close_reason: str | None = None
        self.rtt_ms: float | None = None
        self._follow = False  # ``moved``: reconnect at once
        self._ping: tuple[int, float] | None = None  # the ping awaiting its pong: (id, sent at)
        self._ping_id = 0
        self.pings_sent = 0  # on the current socket
        self._pinger: asyncio.Task | None = None

    # -- opening and closing ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the first socket (raising what the opening raised); ``run()`` keeps it from then on."""
        self.closing = False
        self._closed.clear()
        self.socket = await self._open()
        if self.ping_interval and (self._pinger is None or self._pinger.done()):
            self._pinger = asyncio.ensure_future(self._ping_loop())

    async def _open(self) -> ControlSocket:
        if self.url is None or self.token is None:
            raise RuntimeError("no URL or token to connect with")
        socket = await ControlSocket.open(self.url, self.token, send_buffer=self.send_buffer,
                                          notsent_lowat=self.notsent_lowat)
        socket.on_video_dropped = self.on_video_dropped
        return socket

    def follow(self, url: str) -> None:
        """``moved``: the session lives at ``url`` now; the socket closes and the next opening goes there at once."""
        self.url = url
        self._follow = True

    def close(self) -> None:
        """Close for good: no reconnection; ``run()`` returns."""
        self.closing = True
        self._closed.set()
        if self._pinger is not None:
            self._pinger.cancel()
        if self.socket is not None:
            self.socket.close()

    def abort(self, *, reconnect: bool = True) -> None:
        """Lose the connection as a network drop would (no close handshake): it comes back, unless
        ``reconnect`` is False (as when the device or the program dies)."""
        if not reconnect:
            self.closing = True
            self._closed.set()
        if self.socket is not None:
            self.socket.abort()

    # -- the loop --------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Read the open socket, and open a new one after each drop, until the connection is over."""
        socket = self.socket
        try:
            while socket is not None:
                await self._read(socket)
                self.socket = None
                self.close_code, self.close_reason = socket.close_code, socket.close_reason
                if self.closing or socket.close_code in FINAL_CLOSE_CODES or self.over():
                    return
                self.on_status("reconnecting", {"code": socket.close_code})
                socket = await self._reopen(gone_since=self.clock(), at_once=socket.close_code is None)
                if socket is not None:
                    self.socket = socket
                    self.pings_sent = 0
                    self.reconnects += 1
                    self.on_status("back", {})
        finally:
            self.socket = None
            if self._pinger is not None:
                self._pinger.cancel()

    async def _reopen(self, gone_since: float, at_once: bool = False) -> ControlSocket | None:
        delays = self.delays()
        at_once, self._follow = at_once or self._follow, False
        while not self.closing:
            if not at_once:
                try:
                    await asyncio.wait_for(self._closed.wait(), next(delays))
                    break  # closed during the back-off
                except TimeoutError:
                    pass
            at_once = False
            try:
                return await self._open()
            except OPEN_ERRORS as exc:
                status = getattr(exc, "code", None)
                if status in REFUSED_STATUSES:
                    log.warning("cannot reconnect: %s", exc)
                    self.on_status("refused", {"code": status})
                    return None
                if self.grace is not None and self.clock() - gone_since > self.grace:
                    log.warning("not back within %s s: %s", self.grace, exc)
                    return None
        return None

    async def _read(self, socket: ControlSocket) -> None:
        async for message in socket.messages():
            if isinstance(message, bytes):
                self.on_frame(message)
                continue
            if message.get("type") == "pong":
                self._pong(message)
            try:
                self.on_message(message)
            except Exception:
                log.exception("control message %s not handled", message.get("type"))

    # -- sending ---------------------------------------------------------------------------------------
    def send_json(self, message: dict[str, Any]) -> bool:
        return self.socket is not None and self.socket.send_json(message)

    def send_binary(self, data: bytes, *, video: bool = False, keyframe: bool = False) -> bool:
        """A sealed frame; ``video`` ones wait behind voice and control and may go stale (ControlSocket)."""
        return self.socket is not None and self.socket.send_binary(data, video=video, keyframe=keyframe)

    @property
    def pending_bytes(self) -> int:
        return self.socket.pending_bytes if self.socket is not None else 0

    # -- the round trip --------------------------------------------------------------------------------
    async def _ping_loop(self) -> None:
        while not self.closing:
            await asyncio.sleep(self.ping_interval)
            self.ping()

    def ping(self) -> bool:
        """Send a ping now (the round trip is wanted before the first interval has passed)."""
        if self.socket is None or self.socket.closed:
            return False
        self._ping_id += 1
        self.pings_sent += 1
        self._ping = (self._ping_id, self.clock())  # only the last one counts: a late pong is stale
        return self.socket.send_json({"type": "ping", "id": self._ping_id})

    def _pong(self, message: dict[str, Any]) -> None:
        if self._ping is not None and message.get("id") == self._ping[0]:
            self.rtt_ms = round((self.clock() - self._ping[1]) * 1000, 1)
            self._ping = None


__all__ = ["FINAL_CLOSE_CODES", "REFUSED_STATUSES", "ReconnectingSocket", "backoff"]
