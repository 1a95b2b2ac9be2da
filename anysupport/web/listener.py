"""The HTTP server's front door, guarded against one address holding every descriptor (issue 18 #3).

Under the soft descriptor limit a systemd service gets (1 024), 1 100 connections from one address that
sent headers and three bytes of body stopped ``/healthz`` from answering, and Tornado's accept handler
logged "Too many open files" 55 000–109 000 times in 9 s (the listening socket stays readable, so a
failed ``accept`` is retried at once, forever). Here:

- ``raise_descriptor_limit``: the soft limit goes up to the hard one at start;
- ``ConnectionLimits``: at most ``max_connections_per_address`` open connections per client address (a
  trusted proxy's address is not counted: it carries everyone; it limits its own clients); one more is
  closed at once;
- ``GuardedHTTPServer``: Tornado's server, with ``body_timeout`` set by the caller (a body must arrive
  within ``http_body_timeout``), the limits above, and an accept loop that, when ``accept`` fails for
  lack of descriptors, stops accepting for a moment (the connections already open keep being served),
  says so once in the log, and once more when it accepts again.

No sockets are read or written here except by Tornado; ``ConnectionLimits`` and ``OnceLog`` are plain
classes with their own tests.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import resource
import socket
from collections.abc import Callable, Iterable
from typing import Any

import tornado.httpserver
import tornado.iostream
import tornado.tcpserver
from tornado.ioloop import IOLoop

from anysupport.ws.frames import check_tornado

log = logging.getLogger("anysupport.server")

# Tornado's private names used here (checked at import, as the frame reader's are)
TORNADO_PRIVATE = {
    "TCPServer._handle_connection": (tornado.tcpserver.TCPServer, "_handle_connection"),
}
check_tornado(TORNADO_PRIVATE)

OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
ACCEPT_PAUSE = 0.1  # seconds without accepting after running out of descriptors
ACCEPT_BATCH = 128  # connections accepted at most per readiness of the listening socket


def raise_descriptor_limit(ceiling: int = 1 << 20) -> tuple[int, int]:
    """Raise this process's soft limit on open descriptors to its hard limit (at most ``ceiling``);
    returns (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-files limit from %d to %d: %s", soft, target, exc)
            return soft, soft
        return soft, target
    return soft, soft


class OnceLog:
    """A condition logged once when it starts and once when it ends, however often it is met between."""

    def __init__(self, logger: logging.Logger, start: str, end: str, *, level: int = logging.ERROR):
        self.logger, self.start, self.end, self.level = logger, start, end, level
        self.active = False
        self.count = 0

    def met(self, *args: Any) -> None:
        self.count += 1
        if not self.active:
            self.active = True
            self.logger.log(self.level, self.start, *args)

    def cleared(self) -> None:
        if self.active:
            self.active = False
            self.logger.warning(self.end, self.count)
            self.count = 0


class ConnectionLimits:
    """Open connections per client address, at most ``per_address``; addresses in ``exempt`` (the
    trusted proxies' networks) are not counted."""

    def __init__(self, per_address: int, exempt: Iterable[str] = ()):
        self.per_address = per_address
        self.exempt = [ipaddress.ip_network(n, strict=False) for n in exempt]
        self.open: dict[str, int] = {}
        self.refused = 0

    def _exempt(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.exempt)

    def admit(self, address: str) -> bool:
        """One more connection from ``address``: True if it may stay open (then ``release`` it)."""
        if self._exempt(address):
            return True
        n = self.open.get(address, 0)
        if n >= self.per_address:
            self.refused += 1
            return False
        self.open[address] = n + 1
        return True

    def release(self, address: str) -> None:
        n = self.open.get(address, 0)
        if n <= 1:
            self.open.pop(address, None)
        else:
            self.open[address] = n - 1


def peer_address(address: Any) -> str:
    return address[0] if isinstance(address, tuple) and address else ""


class GuardedHTTPServer(tornado.httpserver.HTTPServer):
    """Tornado's HTTP server with a connection cap per address and an accept loop that survives running
    out of descriptors (see the module). Set ``limits`` after construction."""

    limits: ConnectionLimits | None = None
    over_limit: OnceLog
    no_descriptors: OnceLog

    def guard(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.capped: set[str] = set()  # addresses refused since they last had a connection admitted
        self.over_limit = OnceLog(log, "address %s holds %d connections, the most allowed "
                                       "(max_connections_per_address): further ones are closed at once",
                                  "an address stopped going over max_connections_per_address (%d refused)",
                                  level=logging.WARNING)  # a client's doing: the server is fine
        self.no_descriptors = OnceLog(log, "cannot accept connections: %s (open-files limit %d); the open "
                                           "connections are still served, new ones wait",
                                      "accepting connections again (%d failed accepts meanwhile)")

    # -- accepting ----------------------------------------------------------------------------------------
    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = self._accept_on(sock)

    def _accept_on(self, sock: socket.socket) -> Callable[[], None]:
        """Tornado's ``add_accept_handler``, except that a failed ``accept`` for lack of descriptors
        pauses this socket's accepting for ``ACCEPT_PAUSE`` s instead of raising into the event loop."""
        loop = IOLoop.current()
        state = {"removed": False, "watching": True}

        def resume() -> None:
            if not state["removed"] and not state["watching"]:
                state["watching"] = True
                loop.add_handler(sock, accept, IOLoop.READ)

        def accept(_fd: Any, _events: int) -> None:
            for _ in range(ACCEPT_BATCH):
                if state["removed"]:
                    return
                try:
                    connection, address = sock.accept()
                except BlockingIOError:
                    # every waiting connection taken without running out: the trouble (if any) is over
                    self.no_descriptors.cleared()
                    return
                except ConnectionAbortedError:
                    continue
                except OSError as exc:
                    if exc.errno not in OUT_OF_DESCRIPTORS:
                        raise
                    self.no_descriptors.met(exc.strerror, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
                    loop.remove_handler(sock)
                    state["watching"] = False
                    loop.call_later(ACCEPT_PAUSE, resume)
                    return
                self._handle_connection(connection, address)

        def remove() -> None:
            if state["watching"]:
                loop.remove_handler(sock)
            state["removed"] = True

        loop.add_handler(sock, accept, IOLoop.READ)
        return remove

    # -- one connection -----------------------------------------------------------------------------------
    def handle_stream(self, stream: tornado.iostream.IOStream, address: tuple) -> None:
        ip = peer_address(address)
        if self.limits is not None:
            if not self.limits.admit(ip):
                self.capped.add(ip)
                self.over_limit.met(ip, self.limits.per_address)
                stream.close()
                return
            if ip in self.capped:
                self.capped.discard(ip)
                if not self.capped:
                    self.over_limit.cleared()
        # released in on_close: when the connection ends, or when it becomes a WebSocket (Tornado hands
        # the stream over then; sockets are limited per token, anysupport.ws.hub)
        stream.anysupport_address = ip
        super().handle_stream(stream, address)

    def on_close(self, server_conn: object) -> None:
        stream = getattr(server_conn, "stream", None)
        if self.limits is not None and stream is not None and hasattr(stream, "anysupport_address"):
            self.limits.release(stream.anysupport_address)
        super().on_close(server_conn)
