"""``GET /ws``: the one WebSocket of an agent's console or a customer's client.

Text messages are the control channel (``anysupport.sessions.control``); binary messages are sealed
media frames for the blind relay (``anysupport.relay``). Authentication happens before the upgrade
(a bad token gets a JSON 401, not a socket).
"""

from __future__ import annotations

import logging
import struct
import time
import urllib.parse
from typing import Any

import tornado.ioloop
import tornado.iostream
import tornado.websocket

from anysupport import errors, i18n
from anysupport.auth.manager import agent_view
from anysupport.protocol.vocabulary import (
    CLOSE_ABUSE,
    CLOSE_KICKED,
    CLOSE_MOVED,
    CLOSE_NOT_READING,
    CLOSE_SESSION_ENDED,
)
from anysupport.web.base import BaseHandler, EndpointSpec, dumps
from anysupport.ws.frames import batched_protocol
from anysupport.ws.heartbeat import Heartbeat
from anysupport.ws.hub import evict
from anysupport.ws.outbox import ControlOutbox

log = logging.getLogger("anysupport.ws")

PROTOCOL_VERSION = 1


def unwritten_bytes(ws_connection: Any) -> int:
    """Bytes handed to the socket's stream that the kernel has not yet taken, media included (Tornado
    keeps no public count: this reads the IOStream's write indexes; a test checks they exist)."""
    stream = getattr(ws_connection, "stream", None)
    if stream is None:
        return 0
    return stream._total_write_index - stream._total_write_done_index


_BINARY_FIN = 0x82  # FIN + opcode 2 (binary), unmasked: the server never masks (RFC 6455 5.1)
_LEN16 = struct.Struct("!BBH")
_LEN64 = struct.Struct("!BBQ")


def binary_frame_header(size: int) -> bytes:
    """The RFC 6455 header of one unmasked, unfragmented binary frame of ``size`` payload bytes
    (what Tornado's ``_write_frame`` writes; a test compares the two)."""
    if size < 126:
        return bytes((_BINARY_FIN, size))
    if size <= 0xFFFF:
        return _LEN16.pack(_BINARY_FIN, 126, size)
    return _LEN64.pack(_BINARY_FIN, 127, size)


def media_versions(text: str) -> tuple[int, ...]:
    """``?versions=1,2``: the media-frame versions a console's client speaks (docs/protocol.md, "Opening the
    WebSocket"); a session this console connects by itself (auto-connect) is connected with them."""
    try:
        versions = tuple(int(v) for v in text.split(",") if v.strip()) if text else ()
    except ValueError:
        raise errors.Invalid("invalid_field", field="versions", detail="numbers separated by commas") from None
    if len(versions) > 8 or any(not 1 <= v <= 255 for v in versions):
        raise errors.Invalid("invalid_field", field="versions", detail="at most 8 numbers from 1 to 255")
    return versions


class SocketHandler(tornado.websocket.WebSocketHandler, BaseHandler):
    peer = None
    media_versions: tuple[int, ...] = ()
    closed = False
    checked_at = 0.0
    heartbeat: Heartbeat | None = None
    guest_session: str | None = None  # ``?session=``: an invited agent's socket for that one session
    guest_moved: dict[str, Any] | None = None  # that session lives on another node: the socket is sent there
    outbox: ControlOutbox | None = None
    _beat: tornado.ioloop.PeriodicCallback | None = None

    async def get(self, *args: Any, **kwargs: Any) -> None:
        await super().get(*args, **kwargs)

    async def prepare(self) -> None:
        origin = self.request.headers.get("Origin")
        if origin is not None and not self.origin_allowed(origin):
            raise errors.Forbidden("origin_not_allowed")
        self.checked_at = time.monotonic()  # a revocation from now on still closes this socket
        await BaseHandler.prepare(self)
        if self.principal is None:
            raise errors.Unauthorized("unauthorized")
        if self.principal.web:  # it skipped the one-console check at login, so it may not open one
            raise errors.Forbidden("web_login_not_console")
        wait = self.services.hub.opening(self.principal.token_hash)
        if wait:
            raise errors.RateLimited("too_many_connections", retry_after=wait)
        self.media_versions = media_versions(self.get_query_argument("versions", ""))
        session_id = self.get_query_argument("session", None)
        if session_id is not None:  # a guest socket (issue 21): refused before the upgrade, as JSON
            if self.principal.kind != "agent":
                raise errors.Forbidden("forbidden")
            self.guest_moved = await self.services.invitations.check_guest_socket(self.principal.agent_id, session_id)
            self.guest_session = session_id


    def check_origin(self, origin: str) -> bool:
        return True  # decided in prepare(), so a refusal is our JSON 403

    def origin_allowed(self, origin: str) -> bool:
        """Native clients send no Origin (always allowed); browsers only from this site or the allowlist."""
        parsed = urllib.parse.urlparse(origin)
        if parsed.netloc and parsed.netloc.lower() == self.request.host.lower():
            return True
        allowed = {o.rstrip("/") for o in self.config.allowed_origins}
        if self.services.cluster.enabled and self.config.public_url:
            # several nodes with their own node_url: the customer page (public_url) opens this node's socket
            public = urllib.parse.urlparse(self.config.public_url)
            allowed.add(f"{public.scheme}://{public.netloc}")
        return origin.rstrip("/") in allowed

    def get_compression_options(self) -> None:
        return None  # media is already compressed; control messages are tiny

    def get_websocket_protocol(self) -> tornado.websocket.WebSocketProtocol | None:
        # Tornado's protocol, reading every frame that arrived at once (anysupport.ws.frames)
        return batched_protocol(self)

    # -- the Connection interface the hub and managers use -----------------------------------------------
    def send_json(self, message: dict[str, Any]) -> None:
        if self.closed or self.ws_connection is None:
            return
        if self.outbox is None:
            self.outbox = ControlOutbox(self._write_text, self._unwritten, self.config.control_queue_bytes)
        if not self.outbox.push(dumps(message)):
            self.close_not_reading()

    def _write_text(self, text: str) -> Any:
        if self.closed or self.ws_connection is None:
            return None
        try:
            return self.write_message(text)
        except tornado.websocket.WebSocketClosedError:
            self.closed = True
            return None

    def _unwritten(self) -> int:
        """Control bytes the socket has not taken yet: what is unwritten, less the one media frame the
        relay may have in flight (media has its own budget, and control need not wait behind it)."""
        backlog = unwritten_bytes(self.ws_connection)
        media = self.services.relay.outboxes.get(id(self))
        if media is not None and media.conn is self:
            backlog -= media.inflight
        return max(0, backlog)

    def close_not_reading(self) -> None:
        """More than ``control_queue_bytes`` of control traffic left unread: a client that never reads
        cannot make the server hold its answers without bound (close 4009 ``not_reading``)."""
        log.warning("closing %s socket: not reading (%d control bytes unread, budget %d)",
                    self.principal.kind if self.principal else "?", self.outbox.backlog if self.outbox else 0,
                    self.config.control_queue_bytes)
        self.closed = True
        self.close(CLOSE_NOT_READING, "not_reading")

    def send_binary(self, data: bytes) -> Any:
        """Write one media frame; returns the stream's write future (already done when the kernel
        took it all, the usual case), or None when the socket is closed.

        The frame goes straight to the IOStream. ``write_message`` would wrap every write in a new
        coroutine task, which costs a task and a turn of the event loop per frame and hands back a
        future that is never done at once (so the relay would always wait for a callback)."""
        ws = self.ws_connection
        if self.closed or ws is None:
            return None
        if ws.is_closing() or getattr(ws, "_compressor", None) is not None:
            return self._send_binary_via_tornado(data)
        try:
            return ws.stream.write(binary_frame_header(len(data)) + data)
        except tornado.iostream.StreamClosedError:
            self.closed = True
            return None

    def _send_binary_via_tornado(self, data: bytes) -> Any:
        try:
            return self.write_message(data, binary=True)
        except tornado.websocket.WebSocketClosedError:
            self.closed = True
            return None

    # -- life cycle ---------------------------------------------------------------------------------------
    async def open(self, *args: Any, **kwargs: Any) -> None:  # /node/<id>/ws: the id is for the load balancer
        p = self.principal
        services = self.services
        self.start_heartbeat()
        role = p.kind
        self.peer = services.control.new_peer(
            role=role, agent_id=p.agent_id, session_id=p.session_id, language=self.language, send=self.send_json
        )
        self.media = services.relay.new_sender(self)
        self._on_frame = services.relay.on_frame
        if self.guest_session is not None:
            await self.open_guest()
        elif role == "agent":
            services.hub.attach_console(p.agent_id, self)
            if self._revoked_while_opening():
                return
            sessions = await services.sessions.console_attached(p.agent_id)
            guest_of = await services.invitations.guest_sessions(p.agent_id)
            self.send_json({
                "type": "hello", "role": "agent", "protocol": PROTOCOL_VERSION,
                "agent": agent_view(p.agent),
                # its own sessions, then those it is invited into (issue 21: a restarted console finds them)
                "sessions": [*(services.sessions.agent_view(s) for s in sessions), *guest_of],
                "limits": self.limits(),
            })
            services.invitations.sockets_changed(agent_id=p.agent_id)  # sessions of three: who is present
            for view in guest_of:  # the customer's camera and capabilities, which it missed while away
                services.control.catch_up_guest(view["id"], p.agent_id)
        else:
            if not await services.sessions.admit_customer(self, p.session_id):
                return  # its session lives on another node: the socket was sent there
            services.hub.attach_customer(p.session_id, self)
            if self._revoked_while_opening():
                return
            session = await services.sessions.customer_attached(p.session_id)
            if session is None:
                self.close(CLOSE_SESSION_ENDED, "session_ended")
                return
            self.send_json({
                "type": "hello", "role": "customer", "protocol": PROTOCOL_VERSION, "session_id": session["id"],
                "session": services.sessions.customer_view(session), "limits": self.limits(),
                "ws_url": services.sessions.ws_url(session),
            })
            if session["state"] == "expired":
                await services.sessions.after_expiry(session)
            else:
                services.invitations.sockets_changed(session_id=session["id"])
        log.info("%s socket open (%s)", role, p.agent["login"] if p.agent else p.session_id)

    async def open_guest(self) -> None:
        """An invited agent's socket for one session on the session's node (its console is on another):
        the hub knows it as that participant's socket, not as the agent's console, so the one-console rule
        and the console's presence are untouched (docs/protocol.md, "The guest socket")."""
        services, p, session_id = self.services, self.principal, self.guest_session
        if self.guest_moved is not None:  # as a customer's socket: ``moved`` with its node's ws_url, close 4004
            self.send_json({"type": "moved", "session_id": session_id,
                            "ws_url": services.sessions.ws_url(self.guest_moved),
                            "message": i18n.text("session_moved", self.language)})
            self.close(CLOSE_MOVED, "moved")
            return
        self.peer.session_id = session_id  # every message and frame of this socket is for that session
        services.hub.attach_guest(session_id, p.agent_id, self)
        if self._revoked_while_opening():
            return
        view = await services.invitations.guest_session(p.agent_id, session_id)
        if view is None:  # removed, or the session ended, while the socket opened
            self.close(CLOSE_SESSION_ENDED, "session_ended")
            return
        self.send_json({"type": "hello", "role": "agent", "protocol": PROTOCOL_VERSION, "session_id": session_id,
                        "agent": agent_view(p.agent), "sessions": [view], "limits": self.limits()})
        services.invitations.sockets_changed(session_id=session_id)
        services.control.catch_up_guest(session_id, p.agent_id)  # the customer's camera and capabilities

    # -- our own pings: only an answer to one of them keeps the socket alive ------------------------------
    def start_heartbeat(self) -> None:
        c = self.config
        if not c.ws_ping_interval:
            return
        self.heartbeat = Heartbeat(c.ws_ping_interval, c.ws_ping_timeout)
        self._beat = tornado.ioloop.PeriodicCallback(self._on_beat, self.heartbeat.tick * 1000)
        self._beat.start()

    def _on_beat(self) -> None:
        beat = self.heartbeat
        if self.closed or beat is None or self.ws_connection is None:
            self.stop_heartbeat()
            return
        if beat.dead():
            log.warning("closing %s socket: no answer to our ping for %gs", self.principal.kind, beat.timeout)
            self.closed = True
            self.stop_heartbeat()
            self.close(CLOSE_NOT_READING, "ping_timeout")
            return
        if beat.due():  # a few bytes per interval, so not counted against control_queue_bytes
            try:
                self.ping(beat.ping())
            except tornado.websocket.WebSocketClosedError:
                self.closed = True

    def on_pong(self, data: bytes) -> None:
        if self.heartbeat is not None:
            self.heartbeat.pong(data)  # unsolicited pongs are counted, never taken as life

    def stop_heartbeat(self) -> None:
        if self._beat is not None:
            self._beat.stop()
            self._beat = None

    def _revoked_while_opening(self) -> bool:
        """The token was revoked after prepare() checked it and before this socket was attached."""
        reason = self.services.hub.revoked_since(self.principal, self.checked_at)
        if reason is None:
            return False
        evict(self, CLOSE_KICKED, reason)
        return True

    def limits(self) -> dict[str, Any]:
        c = self.config
        return {"control_max_bytes": c.control_max_bytes, "media_max_frame_bytes": c.media_max_frame_bytes,
                "control_rate": c.control_rate, "media_max_fps": c.media_max_fps}

    def on_message(self, message: str | bytes):
        # binary media is relayed synchronously (no coroutine per frame); text goes to the control channel
        if self.peer is None:
            return None
        if message.__class__ is bytes:
            self._on_frame(self, message)
            return None
        return self._on_text(message)

    async def _on_text(self, message: str) -> None:
        await self.services.control.on_text(self.peer, message)
        if self.peer.close_reason:
            log.warning("closing %s socket: %s", self.peer.role, self.peer.close_reason)
            self.close(CLOSE_ABUSE, self.peer.close_reason)

    def on_close(self) -> None:
        self.closed = True
        self.stop_heartbeat()
        if self.peer is None:
            return
        services = self.services
        services.relay.forget(self)
        p = self.principal
        if self.guest_session is not None:
            if services.hub.detach_guest(self.guest_session, p.agent_id, self):
                services.invitations.sockets_changed(session_id=self.guest_session)  # "present": false
        elif p.kind == "agent":
            if services.hub.detach_console(p.agent_id, self):
                services.spawn(services.sessions.console_detached(p.agent_id))
                services.invitations.sockets_changed(agent_id=p.agent_id)
        elif services.hub.detach_customer(p.session_id, self):
            services.spawn(services.sessions.customer_detached(p.session_id))
            services.invitations.sockets_changed(session_id=p.session_id)

    # errors before the upgrade answer in our JSON format
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if self.ws_connection is not None:
            return
        BaseHandler.write_error(self, status_code, **kwargs)

    def set_default_headers(self) -> None:
        return None


SocketHandler.get.endpoint_spec = EndpointSpec(  # type: ignore[attr-defined]
    "any",
    "Open the WebSocket of an agent's console or a customer (token in Authorization or ?token=); "
    "an invited agent adds ?session=<id> for its guest socket on the session's node; see docs/protocol.md",
    None,
    None,
    {101: "Switching Protocols", 401: "unauthorized",
     403: "origin_not_allowed, web_login_not_console, or forbidden (?session= from a customer)",
     404: "session_not_found (?session=: no live session this agent is a guest in)",
     409: "session_elsewhere (?session=: the session's node is not answering now; try again)",
     429: "too_many_connections (ws_open_max sockets per token in ws_open_window; retry_after)"},
    ("realtime",),
)

# ``/node/<id>/ws`` is the same socket: the path only tells the load balancer which node to reach
default_handlers = [(r"/ws", SocketHandler), (r"/node/(?P<node_id>[A-Za-z0-9_-]{1,40})/ws", SocketHandler)]
