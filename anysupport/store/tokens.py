"""Bearer tokens of agents and customers. Only a SHA-256 of each token is stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

from anysupport.store.common import encode, ms, public, utcnow


class TokenStore:
    def __init__(self, db):
        self.col = db.tokens

    async def ensure_indexes(self) -> None:
        await self.col.create_index("agent_id")
        await self.col.create_index("session_id")
        await self.col.create_index("expires_at")

    async def add(self, token_hash: str, *, kind: str, ttl: float, agent_id: str | None = None,
                  session_id: str | None = None, web: bool = False, now: dt.datetime | None = None) -> dict[str, Any]:
        now = now or utcnow()
        doc = {
            "_id": token_hash,
            "kind": kind,
            "agent_id": agent_id,
            "session_id": session_id,
            "web": web,
            "created_at": now,
            "expires_at": now + dt.timedelta(seconds=ttl),
        }
        await self.col.insert_one(encode(doc))
        return public(doc)

    async def get(self, token_hash: str, *, now: dt.datetime | None = None) -> dict[str, Any] | None:
        """The token's record, unless it has expired by ``now`` (then it is deleted)."""
        doc = public(await self.col.find_one({"_id": token_hash}))
        if doc is None:
            return None
        if doc["expires_at"] <= (now or utcnow()):
            await self.col.delete_one({"_id": token_hash})
            return None
        return doc

    async def revoke(self, token_hash: str) -> None:
        await self.col.delete_one({"_id": token_hash})

    async def revoke_agent(self, agent_id: str, *, keep: str | None = None) -> int:
        query: dict[str, Any] = {"agent_id": agent_id}
        if keep:
            query["_id"] = {"$ne": keep}
        return (await self.col.delete_many(query)).deleted_count

    async def revoke_session(self, session_id: str) -> int:
        return (await self.col.delete_many({"session_id": session_id})).deleted_count

    async def purge_expired(self, *, now: dt.datetime | None = None) -> int:
        return (await self.col.delete_many({"expires_at": {"$lte": ms(now or utcnow())}})).deleted_count
