"""What the nodes of one deployment share besides the data: who is alive, where each agent's console
is, and the events one node sends the others (docs/deployment.md, "Several nodes").

- ``nodes``: one document per node (``_id`` = node id) with its URL and the time of its last heartbeat;
- ``consoles``: one document per agent whose console is open somewhere (``_id`` = agent id, ``node``);
- ``events``: what one node tells the others, numbered by one counter (``seq``) so that a poller
  reads "everything after the last one I saw"; purged after a few minutes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from anysupport.store.common import encode, ms, next_sequence, public, utcnow


class ClusterStore:
    def __init__(self, db):
        self.db = db
        self.nodes = db.nodes
        self.consoles = db.consoles
        self.events = db.events

    async def ensure_indexes(self) -> None:
        await self.events.create_index("seq", unique=True)
        await self.events.create_index("created_at")
        await self.consoles.create_index("node")

    # -- nodes ----------------------------------------------------------------------------------------
    async def heartbeat(self, node_id: str, *, url: str, instance: str, now: dt.datetime | None = None) -> None:
        now = now or utcnow()
        await self.nodes.update_one(
            {"_id": node_id}, {"$set": encode({"url": url, "instance": instance, "seen_at": now})}, upsert=True
        )

    async def list_nodes(self) -> list[dict[str, Any]]:
        return [public(d) async for d in self.nodes.find({})]

    async def forget_node(self, node_id: str) -> None:
        await self.nodes.delete_one({"_id": node_id})

    # -- consoles -------------------------------------------------------------------------------------
    async def set_console(self, agent_id: str, node_id: str, *, now: dt.datetime | None = None) -> None:
        await self.consoles.update_one(
            {"_id": agent_id}, {"$set": encode({"node": node_id, "opened_at": now or utcnow()})}, upsert=True
        )

    async def clear_console(self, agent_id: str, node_id: str) -> bool:
        """Forget the agent's console if it is still this node's (it may have moved meanwhile)."""
        return (await self.consoles.delete_one({"_id": agent_id, "node": node_id})).deleted_count == 1

    async def console_node(self, agent_id: str) -> str | None:
        doc = await self.consoles.find_one({"_id": agent_id})
        return doc["node"] if doc else None

    async def clear_node_consoles(self, node_id: str) -> int:
        """A node starting afresh holds no console: forget those recorded for it before it died."""
        return (await self.consoles.delete_many({"node": node_id})).deleted_count

    # -- events ---------------------------------------------------------------------------------------
    async def publish(self, origin: str, kind: str, payload: dict[str, Any]) -> int:
        seq = await next_sequence(self.db, "events")
        await self.events.insert_one(encode({"seq": seq, "origin": origin, "kind": kind, "payload": payload,
                                             "created_at": utcnow()}))
        return seq

    async def events_after(self, seq: int, *, limit: int = 500) -> list[dict[str, Any]]:
        cursor = self.events.find({"seq": {"$gt": seq}}).sort("seq", 1).limit(limit)
        return [public(d) async for d in cursor]

    async def last_seq(self) -> int:
        doc = await self.db.counters.find_one({"_id": "events"})
        return int(doc["seq"]) if doc else 0

    async def purge_events(self, before: dt.datetime) -> int:
        return (await self.events.delete_many({"created_at": {"$lt": ms(before)}})).deleted_count
