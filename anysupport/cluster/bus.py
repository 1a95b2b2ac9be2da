"""``Cluster``: this node among the others. It beats its heartbeat into ``nodes``, keeps the
``NodeDirectory`` of live nodes, publishes events for the others and hands theirs to the handlers
registered with ``on(kind, handler)``.

Events travel through MongoDB: a change stream on ``events`` where the database has them (a replica
set), else the collection is read every ``cluster_poll_interval`` seconds (the embedded nx-27017 has no
change streams). Either way every node reads every event and acts only on the sockets it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.errors import OperationFailure, PyMongoError

from anysupport.cluster.rules import EventCursor, NodeDirectory, resolve_node_id, ws_url_for
from anysupport.errors import DatabaseUnavailable
from anysupport.store.common import public, utcnow

log = logging.getLogger("anysupport.cluster")

EVENTS_KEPT = 300.0  # seconds an event stays in the collection (a node away longer starts afresh)

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class Cluster:
    def __init__(self, store, config, *, node_id: str | None = None, clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.config = config
        self.enabled = bool(config.cluster)
        self.node_id: str | None = (node_id or resolve_node_id(config.node_id, config.data_dir)) if self.enabled else None
        self.instance = secrets.token_hex(6)
        self.directory = NodeDirectory(self.node_id or "", config.node_timeout, clock=clock)
        self.handlers: dict[str, list[Handler]] = {}
        self.mode: str | None = None  # "change_stream" | "poll", once listening
        self.cursor: EventCursor | None = None
        self.delays: list[float] = []  # seconds from publish to handling of the last events (for the benchmark)
        self._tasks: list[asyncio.Task] = []

    def on(self, kind: str, handler: Handler) -> None:
        self.handlers.setdefault(kind, []).append(handler)

    def ws_url(self, node_id: str | None) -> str:
        if node_id == self.node_id or not self.enabled:
            return ws_url_for(node_id, self.config.node_url)
        return self.directory.ws_url(node_id)

    def alive(self, node_id: str | None) -> bool:
        return self.directory.alive(node_id)

    async def check_alive(self, node_id: str | None) -> bool:
        """``alive``, reading the heartbeats again first when the directory does not count it alive (a
        node started since the last heartbeat of this one, or one that just came back)."""
        if self.directory.alive(node_id):
            return True
        self.directory.update(await self.store.cluster.list_nodes())
        return self.directory.alive(node_id)

    def dead_nodes(self, recorded: list[str]) -> list[str]:
        return [n for n in recorded if n and not self.alive(n)]

    # -- publishing ---------------------------------------------------------------------------------------
    async def publish(self, kind: str, **payload: Any) -> None:
        if not self.enabled:
            return
        payload["sent"] = time.time()
        await self.store.cluster.publish(self.node_id, kind, payload)

    # -- running ------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Before the node serves: its first heartbeat, the directory, where to start reading events."""
        if not self.enabled:
            return
        await self.beat()
        self.cursor = EventCursor(await self.store.cluster.last_seq())
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._beat_forever()), loop.create_task(self._listen())]
        log.info("node %s in the cluster (%d nodes known)", self.node_id, len(self.directory.known()))

    async def stop(self, *, leave: bool = True) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if leave and self.enabled:  # the others count this node dead at once, not after node_timeout
            with contextlib.suppress(PyMongoError, DatabaseUnavailable):
                await self.store.cluster.clear_node_consoles(self.node_id)
                await self.store.cluster.forget_node(self.node_id)

    def done(self) -> list[asyncio.Task]:
        return list(self._tasks)

    async def beat(self) -> None:
        await self.store.cluster.heartbeat(self.node_id, url=self.config.node_url, instance=self.instance)
        self.directory.update(await self.store.cluster.list_nodes())

    async def _beat_forever(self) -> None:
        last_purge = time.monotonic()
        while True:
            await asyncio.sleep(self.config.node_heartbeat)
            try:
                await self.beat()
                if time.monotonic() - last_purge > 60:
                    last_purge = time.monotonic()
                    await self.store.cluster.purge_events(utcnow() - dt.timedelta(seconds=EVENTS_KEPT))
            except (PyMongoError, DatabaseUnavailable) as exc:
                if self.store.translate(exc) is None:
                    log.warning("heartbeat failed: %s", exc)

    async def _listen(self) -> None:
        """Hear the other nodes until cancelled: through a change stream when the database has them (and
        the setting allows), else by polling; after a database outage, catch up from the last event taken."""
        stream = self.config.cluster_events in ("auto", "change_stream")
        while True:
            try:
                if stream:
                    await self._watch()
                else:
                    await self._poll()
            except OperationFailure as exc:
                if self.config.cluster_events == "change_stream" or not stream:
                    raise
                stream = False
                log.info("the database has no change streams (%s); polling the events collection every %g s",
                         exc, self.config.cluster_poll_interval)
            except (PyMongoError, DatabaseUnavailable) as exc:
                if self.store.translate(exc) is None:
                    log.warning("listening to the other nodes failed (%s); trying again", exc)
                await asyncio.sleep(max(self.config.cluster_poll_interval, 0.2))

    async def _watch(self) -> None:
        # the stream is opened first, then what was published before it is read from the collection:
        # nothing falls between the two (the cursor drops what both deliver)
        async with await self.store.db.events.watch([{"$match": {"operationType": "insert"}}]) as stream:
            if self.mode != "change_stream":
                log.info("listening to the other nodes through a change stream")
            self.mode = "change_stream"
            await self._handle(self.cursor.take(await self.store.cluster.events_after(self.cursor.position)))
            async for change in stream:
                await self._handle(self.cursor.take([public(change["fullDocument"])]))

    async def _poll(self) -> None:
        if self.mode != "poll":
            log.info("listening to the other nodes by reading the events collection every %g s",
                     self.config.cluster_poll_interval)
        self.mode = "poll"
        while True:
            await self.poll_once()
            await asyncio.sleep(self.config.cluster_poll_interval)

    async def poll_once(self) -> int:
        """Read and handle the events published since the last one taken; how many were new."""
        if self.cursor is None:
            self.cursor = EventCursor(0, clock=self.directory.clock)
        fresh = self.cursor.take(await self.store.cluster.events_after(self.cursor.position))
        await self._handle(fresh)
        return len(fresh)

    async def _handle(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if event.get("origin") == self.node_id:
                continue
            payload = event.get("payload") or {}
            sent = payload.pop("sent", None)
            if sent is not None:
                self.delays.append(time.time() - sent)
                del self.delays[:-1000]
            for handler in self.handlers.get(event["kind"], ()):
                try:
                    await handler(payload)
                except (PyMongoError, DatabaseUnavailable) as exc:
                    if self.store.translate(exc) is None:
                        log.exception("cluster event %s failed", event["kind"])
                except Exception:
                    log.exception("cluster event %s failed", event["kind"])
