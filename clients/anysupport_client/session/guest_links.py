"""Guest sockets: an invited agent's second, session-scoped WebSocket on the session's node (issue 21).

A session lives on the node of its own agent's console; an agent invited into it whose console is on
another node is told so when it accepts (``guest_socket`` and the session node's ``ws_url``), and in its
console's ``hello`` after a restart. ``GuestLinks`` then opens ``<ws_url>?session=<id>`` with the agent's
token and routes that session's messages and frames through it, both ways; everything else stays on the
console (docs/protocol.md, "The guest socket"). Each link is a ``ReconnectingSocket``: it comes back after a
drop, follows ``moved`` (the session changed node), and stops for good when the session ends, the agent is
removed, or the server refuses it.

No Qt here; the owner (``AgentClient``) hands over what arrives (``on_message``, ``on_frame``).
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

from ..api import websocket_url
from .connection import ReconnectingSocket

log = logging.getLogger("anysupport.client.guest")

GUEST_GRACE = 60.0  # seconds a dropped guest socket keeps trying (the server's grace is of this order)


def guest_socket_url(server_url: str, ws_url: str, session_id: str) -> str:
    """The guest socket's URL: the session node's ``ws_url`` (relative or absolute) with ``?session=``."""
    url = websocket_url(server_url, ws_url)
    return url + ("&" if "?" in url else "?") + urllib.parse.urlencode({"session": session_id})


class GuestLinks:
    """The open guest sockets of one agent's client, by session id."""

    def __init__(self, server_url: str, *, token: Callable[[], str | None],
                 on_message: Callable[[str, dict[str, Any]], None], on_frame: Callable[[bytes], None],
                 over: Callable[[], bool], clock: Callable[[], float], ping_interval: float | None = None):
        self.server_url = server_url
        self.token = token
        self.on_message = on_message  # (session id, message)
        self.on_frame = on_frame
        self.over = over  # the console is over (kicked, closed): so are its guest sockets
        self.clock = clock
        self.ping_interval = ping_interval
        self.links: dict[str, ReconnectingSocket] = {}
        self._tasks: dict[str, asyncio.Task] = {}

    def __contains__(self, session_id: str) -> bool:
        return session_id in self.links

    def link(self, session_id: str) -> ReconnectingSocket | None:
        return self.links.get(session_id)

    async def open(self, session_id: str, ws_url: str) -> ReconnectingSocket:
        """Open (once) the guest socket of ``session_id`` on the node ``ws_url`` names; raises what the
        opening raised (``tornado.httpclient.HTTPClientError``: 404 not a guest of it, 409 elsewhere)."""
        link = self.links.get(session_id)
        if link is not None:
            return link
        link = ReconnectingSocket(
            guest_socket_url(self.server_url, ws_url, session_id), self.token(),
            on_message=lambda message: self.on_message(session_id, message), on_frame=self.on_frame,
            over=lambda: self.over() or self.links.get(session_id) is not link, grace=GUEST_GRACE,
            ping_interval=self.ping_interval, clock=self.clock)
        self.links[session_id] = link
        try:
            await link.start()
        except Exception:
            self.links.pop(session_id, None)
            raise
        self._tasks[session_id] = asyncio.ensure_future(self._run(session_id, link))
        log.info("guest socket of session %s open on %s", session_id, link.url)
        return link

    async def _run(self, session_id: str, link: ReconnectingSocket) -> None:
        try:
            await link.run()
        finally:
            if self.links.get(session_id) is link:
                del self.links[session_id]
            self._tasks.pop(session_id, None)

    def follow(self, session_id: str, ws_url: str) -> None:
        """``moved``: the session lives on another node now; the guest socket reconnects there at once."""
        link = self.links.get(session_id)
        if link is not None:
            link.follow(guest_socket_url(self.server_url, ws_url, session_id))

    def close(self, session_id: str) -> None:
        """The session ended, or this agent left it: its guest socket goes for good."""
        link = self.links.pop(session_id, None)
        if link is not None:
            link.close()

    async def close_all(self) -> None:
        tasks = list(self._tasks.values())
        for session_id in list(self.links):
            self.close(session_id)
        if tasks:
            await asyncio.wait(tasks, timeout=5)
