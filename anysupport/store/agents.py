"""Agent accounts."""

from __future__ import annotations

from typing import Any

from anysupport.store.common import DuplicateKeyError, encode, next_sequence, oid, public, utcnow


class DuplicateAgent(Exception):
    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


class AgentStore:
    def __init__(self, db):
        self.col = db.agents
        self.db = db

    async def ensure_indexes(self) -> None:
        await self.col.create_index("login", unique=True)
        await self.col.create_index("number", unique=True)

    async def count(self) -> int:
        return await self.col.count_documents({})

    async def count_active_admins(self) -> int:
        return await self.col.count_documents({"role": "admin", "disabled": False})

    async def next_number(self) -> int:
        while True:
            number = await next_sequence(self.db, "agent_number")
            if await self.col.count_documents({"number": number}, limit=1) == 0:
                return number

    async def create(self, *, login: str, name: str, role: str, password_hash: str, number: int | None,
                     settings: dict[str, Any]) -> dict[str, Any]:
        now = utcnow()
        doc = {
            "login": login,
            "name": name,
            "number": number if number is not None else await self.next_number(),
            "role": role,
            "password_hash": password_hash,
            "disabled": False,
            "settings": settings,
            "created_at": now,
            "updated_at": now,
        }
        try:
            result = await self.col.insert_one(encode(doc))
        except DuplicateKeyError as exc:
            raise DuplicateAgent("number" if "number" in str(exc) else "login") from None
        doc["_id"] = result.inserted_id
        return public(doc)

    async def by_login(self, login: str) -> dict[str, Any] | None:
        return public(await self.col.find_one({"login": login}))

    async def by_id(self, agent_id: str) -> dict[str, Any] | None:
        key = oid(agent_id)
        return None if key is None else public(await self.col.find_one({"_id": key}))

    async def list(self) -> list[dict[str, Any]]:
        return [public(d) async for d in self.col.find({}).sort("number", 1)]

    async def update(self, agent_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        changes = {**changes, "updated_at": utcnow()}
        try:
            doc = await self.col.find_one_and_update(
                {"_id": oid(agent_id)}, {"$set": encode(changes)}, return_document=True
            )
        except DuplicateKeyError as exc:
            raise DuplicateAgent("number" if "number" in str(exc) else "login") from None
        return public(doc)

    async def delete(self, agent_id: str) -> bool:
        result = await self.col.delete_one({"_id": oid(agent_id)})
        return result.deleted_count == 1
