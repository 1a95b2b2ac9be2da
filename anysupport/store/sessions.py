"""Support sessions and the codes that are in use.

A code is unique among sessions that are not expired. MongoDB partial unique indexes would express
that, but the embedded server does not support them, so each live code holds a document in
``codes`` (``_id`` = the code): inserting it claims the code, deleting it at expiry frees it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from anysupport.protocol.vocabulary import LIVE_STATES
from anysupport.store.common import DuplicateKeyError, encode, ms, next_sequence, oid, public, utcnow


class SessionStore:
    def __init__(self, db):
        self.db = db
        self.col = db.sessions
        self.codes = db.codes

    async def ensure_indexes(self) -> None:
        await self.col.create_index([("agent_id", 1), ("created_at", -1)])
        await self.col.create_index("state")
        await self.col.create_index("number", unique=True)
        await self.col.create_index("node")

    async def claim_code(self, code: str) -> bool:
        try:
            await self.codes.insert_one(encode({"_id": code, "session_id": None, "claimed_at": utcnow()}))
            return True
        except DuplicateKeyError:
            return False

    async def bind_code(self, code: str, session_id: str) -> None:
        await self.codes.update_one({"_id": code}, {"$set": {"session_id": session_id}})

    async def release_code(self, code: str) -> None:
        await self.codes.delete_one({"_id": code})

    async def session_id_for_code(self, code: str) -> str | None:
        doc = await self.codes.find_one({"_id": code})
        return doc["session_id"] if doc else None

    async def create(self, *, code: str, agent: dict[str, Any], now: dt.datetime | None = None,
                     node: str | None = None) -> dict[str, Any]:
        now = now or utcnow()
        doc = {
            "node": node,  # the node that holds the agent's console (None: one node, no cluster)
            "code": code,
            "number": await next_sequence(self.db, "session_number"),
            "agent_id": agent["id"],
            "agent_login": agent["login"],
            "agent_name": agent["name"],
            "state": "offline",
            "created_at": now,
            "updated_at": now,
            "online_at": None,
            "connected_at": None,
            "expired_at": None,
            "expire_reason": None,
            "customer": None,
            "customer_gone_at": None,
            "agent_gone_at": None,
        }
        result = await self.col.insert_one(encode(doc))
        doc["_id"] = result.inserted_id
        return public(doc)

    async def get(self, session_id: str) -> dict[str, Any] | None:
        key = oid(session_id)
        return None if key is None else public(await self.col.find_one({"_id": key}))

    async def by_number(self, number: int) -> dict[str, Any] | None:
        return public(await self.col.find_one({"number": number, "state": {"$in": list(LIVE_STATES)}}))

    async def list_for_agent(self, agent_id: str, *, since: dt.datetime, limit: int = 200) -> list[dict[str, Any]]:
        query = {"agent_id": agent_id, "$or": [{"state": {"$in": list(LIVE_STATES)}}, {"created_at": {"$gte": ms(since)}}]}
        return [public(d) async for d in self.col.find(query).sort("created_at", -1).limit(limit)]

    async def count_live(self, agent_id: str) -> int:
        """How many of the agent's sessions have not expired (its cap on live sessions counts these)."""
        return await self.col.count_documents({"agent_id": agent_id, "state": {"$in": list(LIVE_STATES)}})

    async def list_live(self, *, agent_id: str | None = None, node: str | None = None,
                        guest_id: str | None = None) -> list[dict[str, Any]]:
        """Sessions not expired; of one agent, on one node, or with one invited agent among its ``guests``."""
        query: dict[str, Any] = {"state": {"$in": list(LIVE_STATES)}}
        if agent_id:
            query["agent_id"] = agent_id
        if guest_id:
            query["guests.agent_id"] = guest_id
        if node:
            query["node"] = node
        return [public(d) async for d in self.col.find(query)]

    async def live_nodes(self) -> list[str]:
        """The nodes recorded on sessions that have not expired."""
        cursor = self.col.find({"state": {"$in": list(LIVE_STATES)}}, {"node": 1})
        return sorted({d["node"] async for d in cursor if d.get("node")})

    async def move_agent_sessions(self, agent_id: str, node: str) -> list[dict[str, Any]]:
        """The agent's console opened on ``node``: its live sessions live there from now on. Returns
        the sessions that moved (their ``node`` was another one)."""
        query = {"agent_id": agent_id, "state": {"$in": list(LIVE_STATES)}, "node": {"$ne": node}}
        moved = [public(d) async for d in self.col.find(query)]
        if moved:
            await self.col.update_many(query, {"$set": encode({"node": node, "updated_at": utcnow()})})
        return moved

    async def transition(self, session_id: str, from_states: tuple[str, ...], changes: dict[str, Any]) -> dict | None:
        """Apply ``changes`` only if the session is still in one of ``from_states`` (atomic)."""
        doc = await self.col.find_one_and_update(
            {"_id": oid(session_id), "state": {"$in": list(from_states)}},
            {"$set": encode({**changes, "updated_at": utcnow()})},
            return_document=True,
        )
        return public(doc)

    async def hand_over(self, session_id: str, from_agent_id: str, changes: dict[str, Any]) -> dict | None:
        """Apply ``changes`` (the new agent) only if the session is still connected and still
        ``from_agent_id``'s (atomic: two accepts, or an accept and an end, cannot both win)."""
        doc = await self.col.find_one_and_update(
            {"_id": oid(session_id), "state": "connected", "agent_id": from_agent_id},
            {"$set": encode({**changes, "updated_at": utcnow()})},
            return_document=True,
        )
        return public(doc)

    # -- a hand-over offered (one per session, kept on the session so that every node may answer it) ----
    async def offer_handover(self, session_id: str, owner_id: str, offer: dict[str, Any], now: dt.datetime) -> dict | None:
        """Record ``offer`` if the session is connected, still ``owner_id``'s, and has no offer pending
        (none, or one past its ``expires_at``); the session, or None."""
        free = [{"handover": None}, {"handover.expires_at": {"$lte": ms(now)}}]
        doc = await self.col.find_one_and_update(
            {"_id": oid(session_id), "state": "connected", "agent_id": owner_id, "$or": free},
            {"$set": encode({"handover": offer, "updated_at": utcnow()})}, return_document=True)
        return public(doc)

    async def take_handover(self, session_id: str, *, now: dt.datetime, due: bool = False) -> dict | None:
        """Clear the session's offer, if one is pending (``due``: only one past its time); returns the
        offer taken (one caller wins: an accept, a decline, a cancel or the sweep), or None."""
        expiry = {"$lte": ms(now)} if due else {"$gt": ms(now)}
        doc = await self.col.find_one_and_update(
            {"_id": oid(session_id), "handover.expires_at": expiry},
            {"$set": encode({"handover": None, "updated_at": utcnow()})}, return_document=False)
        return (public(doc) or {}).get("handover")

    async def due_handovers(self, now: dt.datetime) -> list[dict[str, Any]]:
        """Sessions whose offer is past its ``expires_at``."""
        return [public(d) async for d in self.col.find({"handover.expires_at": {"$lte": ms(now)}})]

    async def set_fields(self, session_id: str, changes: dict[str, Any]) -> dict | None:
        doc = await self.col.find_one_and_update(
            {"_id": oid(session_id)}, {"$set": encode({**changes, "updated_at": utcnow()})}, return_document=True
        )
        return public(doc)

    async def set_fields_if(self, session_id: str, expected: dict[str, Any], changes: dict[str, Any]) -> dict | None:
        """``set_fields`` only if the session's fields are still ``expected`` (None: absent); the session, or
        None when another change came first (the invitations' ``roster_version``: nodes change it in turn)."""
        doc = await self.col.find_one_and_update(
            {"_id": oid(session_id), **encode(expected)}, {"$set": encode({**changes, "updated_at": utcnow()})},
            return_document=True)
        return public(doc)

    async def due_for_expiry(self, *, offline_before: dt.datetime, online_before: dt.datetime,
                             gone_before: dt.datetime, nodes: list[str] | None = None) -> list[dict[str, Any]]:
        """Sessions whose timeout has passed; with ``nodes``, only those recorded on one of them."""
        query = encode({
            "$or": [
                {"state": "offline", "created_at": {"$lt": offline_before}},
                {"state": "online", "online_at": {"$lt": online_before}},
                {"state": "connected", "customer_gone_at": {"$lt": gone_before}},
                {"state": "connected", "agent_gone_at": {"$lt": gone_before}},
            ]
        })
        if nodes is not None:
            query = {"$and": [query, {"node": {"$in": nodes}}]}
        return [public(d) async for d in self.col.find(query)]

    async def mark_all_gone(self, when: dt.datetime, *, node: str | None = None) -> int:
        """At start-up nobody is connected yet: every connected session's sides count as gone from now.
        With ``node``, only the sessions recorded on that node (a node's restart, or a dead node's)."""
        where: dict[str, Any] = {"state": "connected"}
        if node is not None:
            where["node"] = node
        r1 = await self.col.update_many({**where, "customer_gone_at": None}, {"$set": {"customer_gone_at": ms(when)}})
        r2 = await self.col.update_many({**where, "agent_gone_at": None}, {"$set": {"agent_gone_at": ms(when)}})
        return r1.modified_count + r2.modified_count
