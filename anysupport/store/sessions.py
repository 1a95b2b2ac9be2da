"""Support sessions and the codes that are in use.

A code is unique among sessions that are not expired. MongoDB partial unique indexes would express
that, but the embedded server does not support them, so each live code holds a document in
``codes`` (``_id`` = the code): inserting it claims the code, deleting it at expiry frees it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from anysupport.store.common import DuplicateKeyError, encode, ms, next_sequence, oid, public, utcnow

LIVE_STATES = ("offline", "online", "connected")


class SessionStore:
    def __init__(self, db):
        self.db = db
        self.col = db.sessions
        self.codes = db.codes

    async def ensure_indexes(self) -> None:
        await self.col.create_index([("agent_id", 1), ("created_at", -1)])
        await self.col.create_index("state")
        await self.col.create_index("number", unique=True)

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

    async def create(self, *, code: str, agent: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
        now = now or utcnow()
        doc = {
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

    async def list_live(self, *, agent_id: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"state": {"$in": list(LIVE_STATES)}}
        if agent_id:
            query["agent_id"] = agent_id
        return [public(d) async for d in self.col.find(query)]

    async def transition(self, session_id: str, from_states: tuple[str, ...], changes: dict[str, Any]) -> dict | None:
        """Apply ``changes`` only if the session is still in one of ``from_states`` (atomic)."""
        doc = await self.col.find_one_and_update(
            {"_id": oid(session_id), "state": {"$in": list(from_states)}},
            {"$set": encode({**changes, "updated_at": utcnow()})},
            return_document=True,
        )
        return public(doc)

    async def set_fields(self, session_id: str, changes: dict[str, Any]) -> dict | None:
        doc = await self.col.find_one_and_update(
            {"_id": oid(session_id)}, {"$set": encode({**changes, "updated_at": utcnow()})}, return_document=True
        )
        return public(doc)

    async def due_for_expiry(self, *, offline_before: dt.datetime, online_before: dt.datetime,
                             gone_before: dt.datetime) -> list[dict[str, Any]]:
        query = encode({
            "$or": [
                {"state": "offline", "created_at": {"$lt": offline_before}},
                {"state": "online", "online_at": {"$lt": online_before}},
                {"state": "connected", "customer_gone_at": {"$lt": gone_before}},
                {"state": "connected", "agent_gone_at": {"$lt": gone_before}},
            ]
        })
        return [public(d) async for d in self.col.find(query)]

    async def mark_all_gone(self, when: dt.datetime) -> int:
        """At start-up nobody is connected yet: every connected session's sides count as gone from now."""
        r1 = await self.col.update_many({"state": "connected", "customer_gone_at": None}, {"$set": {"customer_gone_at": ms(when)}})
        r2 = await self.col.update_many({"state": "connected", "agent_gone_at": None}, {"$set": {"agent_gone_at": ms(when)}})
        return r1.modified_count + r2.modified_count
