"""One AnySupport server process: database, services, HTTP(S)/WebSocket, timers, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

import tornado.httpserver
import tornado.netutil

from anysupport.config import ConfigError
from anysupport.protocol.vocabulary import CLOSE_GOING_AWAY
from anysupport.services import Services
from anysupport.store import DatabaseLost, Store
from anysupport.web.app import make_app
from anysupport.web.listener import ConnectionLimits, GuardedHTTPServer, raise_descriptor_limit

log = logging.getLogger("anysupport")


def loop_factory(choice: str) -> tuple[Callable[[], asyncio.AbstractEventLoop], str]:
    """The event loop for the ``event_loop`` setting, and its name for the log.

    ``auto`` takes uvloop where it is installed (part of the ``server`` extra on Linux) and asyncio's
    own loop otherwise; ``uvloop`` insists on it (a clear error when it is missing); ``asyncio`` turns
    it off."""
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise ConfigError("setting event_loop = \"uvloop\" but uvloop is not installed "
                                   "(pip install uvloop, or set event_loop = \"auto\")") from None
        else:
            return uvloop.new_event_loop, f"uvloop {uvloop.__version__}"
    return asyncio.new_event_loop, "asyncio"


def run_with_loop(main: Callable[[], Coroutine[Any, Any, int]], choice: str) -> int:
    """Run ``main()`` to completion on the loop the ``event_loop`` setting names, logging which;
    raises ``ConfigError`` (before anything runs) when that loop cannot be had."""
    factory, name = loop_factory(choice)
    log.info("event loop: %s (event_loop = %s)", name, choice)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


class Server:
    def __init__(self, config):
        self.config = config
        self.store: Store | None = None
        self.services: Services | None = None
        self.app = None
        self.http: tornado.httpserver.HTTPServer | None = None
        self.port: int | None = None
        self.first_admin_password: str | None = None
        self._sweeper: asyncio.Task | None = None
        self._supervisor: asyncio.Task | None = None
        self._stopped = asyncio.Event()
        self._fatal = asyncio.Event()
        self.fatal: str | None = None  # why the server stopped by itself (the database could not come back)
        self._signalled: asyncio.Event | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.config.tls_cert else "http"
        return f"{scheme}://{self.config.host}:{self.port}"

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.config.tls_cert:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        return ctx

    async def start(self) -> None:
        started = time.monotonic()
        c = self.config
        before, after = raise_descriptor_limit()
        if after != before:
            log.info("open-files limit raised from %d to %d", before, after)
        self.store = await Store.open(
            mongo_uri=c.mongo_uri, db_name=c.mongo_db, data_dir=c.data_dir, start_timeout=c.embedded_start_timeout
        )
        try:
            self.services = Services.build(c, self.store)
            self.first_admin_password = await self.services.agents.ensure_first_admin()
            if await self.services.catalog.ensure_default_trouble_types():
                log.info("fresh install: added the default trouble types (edit them on the admin pages)")
            await self.services.cluster.start()  # first heartbeat, before this node claims anything
            if self.services.cluster.enabled:
                log.info("node %s (%s); customers are sent to %s", self.services.cluster.node_id,
                         self.services.cluster.mode or self.config.cluster_events,
                         self.services.sessions.ws_url({"node": self.services.cluster.node_id}))
            await self.services.sessions.restore()
            self.app = make_app(self.services)
            self.http = GuardedHTTPServer(
                self.app,
                ssl_options=self._ssl_context(),
                # bodies a little over the limit still get our JSON 413; far over it, the connection is cut
                max_body_size=c.max_body_bytes * 4,
                xheaders=False,  # forwarded headers are believed only from trusted_proxies (web.base)
                idle_connection_timeout=120,  # the headers of a request (and a kept-alive connection's wait)
                body_timeout=c.http_body_timeout,  # a body that trickles in is cut off (issue 18 #3)
            )
            self.http.guard(ConnectionLimits(c.max_connections_per_address, exempt=c.trusted_proxies))
            sockets = tornado.netutil.bind_sockets(c.port, c.host)
            self.http.add_sockets(sockets)
            self.port = sockets[0].getsockname()[1]
        except BaseException:
            if self.services is not None:
                await self.services.cluster.stop()
            await self.store.close()
            raise
        loop = asyncio.get_running_loop()
        self._sweeper = loop.create_task(self._sweep_forever())
        self._supervisor = loop.create_task(self._supervise())
        log.info("started in %.2f s", time.monotonic() - started)

    async def _sweep_forever(self) -> None:
        last_purge = 0.0
        while True:
            await asyncio.sleep(self.config.sweep_interval)
            if not self.store.available:
                continue  # the supervisor has logged the outage once; sessions wait for the database
            try:
                await self.services.sessions.sweep()
                await self.services.handover.sweep()
                if time.monotonic() - last_purge > 600:
                    last_purge = time.monotonic()
                    await self.services.auth.purge_expired()
            except Exception as exc:
                if self.store.translate(exc) is None:  # an outage is logged once, by the store
                    log.exception("session sweep failed (will retry)")

    async def _supervise(self) -> None:
        try:
            await self.store.supervise()
        except DatabaseLost as exc:
            self.fatal = str(exc)
            log.error("the embedded database is lost; stopping the server")
            self._fatal.set()
        except Exception as exc:  # unwatched, a dead database would never come back: stop instead
            log.exception("database supervision failed; stopping the server")
            self.fatal = f"database supervision failed: {exc!r}"
            self._fatal.set()

    async def stop(self) -> None:
        """Stop accepting, close every WebSocket with a reason, stop the database."""
        if self.http is None:
            return
        log.info("shutting down")
        self.app.settings["shutting_down"] = True
        self.http.stop()
        self.services.hub.close_all(CLOSE_GOING_AWAY, "server_shutdown")
        for task in (self._sweeper, self._supervisor):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.http.close_all_connections(), 3)
        for task in list(self.services.tasks):
            task.cancel()
        await self.services.cluster.stop()  # the other nodes count this one gone at once
        await self.store.close()
        self.http = None
        self._stopped.set()
        log.info("stopped")

    def handle_signals(self) -> None:
        """SIGTERM/SIGINT from now on stop the server in order. Called before the server says it is
        listening, so a signal sent as soon as that line appears is not met by Python's default."""
        if self._signalled is not None:
            return
        loop = asyncio.get_running_loop()
        self._signalled = stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            if sys.platform == "win32":  # no loop signal handlers there: a plain handler wakes the loop
                signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
            else:
                loop.add_signal_handler(sig, stop.set)

    async def run_until_signalled(self) -> None:
        """Serve until SIGTERM/SIGINT, or until the database is lost for good (then ``fatal`` says why)."""
        self.handle_signals()
        stop = self._signalled
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._fatal.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        await self.stop()
