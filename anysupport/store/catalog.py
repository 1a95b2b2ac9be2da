"""What administrators configure: trouble types, the survey, canned phrases, site settings."""

from __future__ import annotations

from typing import Any

from anysupport.store.common import DuplicateKeyError, encode, oid, public, utcnow


class TroubleTypeStore:
    def __init__(self, db):
        self.col = db.trouble_types

    async def ensure_indexes(self) -> None:
        await self.col.create_index([("parent_id", 1), ("order", 1)])

    async def list(self, *, include_retired: bool = True) -> list[dict[str, Any]]:
        query = {} if include_retired else {"retired": False}
        return [public(d) async for d in self.col.find(query).sort([("parent_id", 1), ("order", 1)])]

    async def get(self, type_id: str) -> dict[str, Any] | None:
        key = oid(type_id)
        return None if key is None else public(await self.col.find_one({"_id": key}))

    async def create(self, *, name: str, parent_id: str | None, order: int) -> dict[str, Any]:
        doc = {"name": name, "parent_id": parent_id, "order": order, "retired": False, "created_at": utcnow()}
        doc["_id"] = (await self.col.insert_one(encode(doc))).inserted_id
        return public(doc)

    async def update(self, type_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        return public(await self.col.find_one_and_update({"_id": oid(type_id)}, {"$set": changes}, return_document=True))

    async def delete(self, type_id: str) -> bool:
        return (await self.col.delete_one({"_id": oid(type_id)})).deleted_count == 1

    async def count_children(self, type_id: str) -> int:
        return await self.col.count_documents({"parent_id": type_id})

    async def count(self) -> int:
        return await self.col.count_documents({})


class PhraseStore:
    def __init__(self, db):
        self.col = db.phrases

    async def ensure_indexes(self) -> None:
        await self.col.create_index([("owner", 1), ("order", 1)])

    async def list(self, owner: str) -> list[dict[str, Any]]:
        return [public(d) async for d in self.col.find({"owner": owner}).sort("order", 1)]

    async def get(self, phrase_id: str) -> dict[str, Any] | None:
        key = oid(phrase_id)
        return None if key is None else public(await self.col.find_one({"_id": key}))

    async def create(self, owner: str, *, text: str, order: int, shortcut: str | None) -> dict[str, Any]:
        doc = {"owner": owner, "text": text, "order": order, "shortcut": shortcut, "created_at": utcnow()}
        doc["_id"] = (await self.col.insert_one(encode(doc))).inserted_id
        return public(doc)

    async def insert_many(self, owner: str, phrases: list[dict[str, Any]]) -> None:
        if phrases:
            now = utcnow()
            await self.col.insert_many(
                [encode({"owner": owner, "text": p["text"], "order": p["order"], "shortcut": p.get("shortcut"),
                         "created_at": now}) for p in phrases]
            )

    async def update(self, phrase_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        return public(await self.col.find_one_and_update({"_id": oid(phrase_id)}, {"$set": changes}, return_document=True))

    async def delete(self, phrase_id: str) -> bool:
        return (await self.col.delete_one({"_id": oid(phrase_id)})).deleted_count == 1

    async def max_order(self, owner: str) -> int:
        doc = await self.col.find_one({"owner": owner}, sort=[("order", -1)])
        return int(doc["order"]) if doc else 0


class SettingsStore:
    """Small documents keyed by name (``survey``, ``site``)."""

    def __init__(self, db):
        self.col = db.settings

    async def ensure_indexes(self) -> None:
        return None

    async def get(self, name: str) -> dict[str, Any] | None:
        doc = await self.col.find_one({"_id": name})
        if doc is None:
            return None
        doc.pop("_id")
        return doc

    async def put(self, name: str, value: dict[str, Any]) -> dict[str, Any]:
        await self.col.replace_one({"_id": name}, {"_id": name, **value}, upsert=True)
        return value

    async def claim(self, name: str, value: dict[str, Any]) -> bool:
        """Store ``value`` under ``name`` only if nothing is there yet; True for the one caller that did."""
        try:
            await self.col.insert_one({"_id": name, **value})
            return True
        except DuplicateKeyError:
            return False
