"""Support records: one per connected session."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from anysupport.store.common import DuplicateKeyError, encode, ms, oid, public, utcnow


class RecordStore:
    def __init__(self, db):
        self.col = db.records

    async def ensure_indexes(self) -> None:
        await self.col.create_index("session_id", unique=True)
        await self.col.create_index([("started_at", 1)])
        await self.col.create_index([("agent_id", 1), ("started_at", 1)])
        # records written before versions existed count as version 1 (done once, at start; saves then
        # match the version exactly)
        await self.col.update_many({"version": {"$exists": False}}, {"$set": {"version": 1}})

    async def create(self, doc: dict[str, Any]) -> dict[str, Any]:
        doc = {**doc, "created_at": utcnow(), "updated_at": utcnow(), "version": 1}
        try:
            result = await self.col.insert_one(encode(doc))
            doc["_id"] = result.inserted_id
            return public(doc)
        except DuplicateKeyError:
            return public(await self.col.find_one({"session_id": doc["session_id"]}))

    async def by_session(self, session_id: str) -> dict[str, Any] | None:
        return public(await self.col.find_one({"session_id": session_id}))

    async def by_id(self, record_id: str) -> dict[str, Any] | None:
        key = oid(record_id)
        return None if key is None else public(await self.col.find_one({"_id": key}))

    async def update_by_session(self, session_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """What the server itself records (the end time): no new version, no condition."""
        doc = await self.col.find_one_and_update(
            {"session_id": session_id}, {"$set": encode({**changes, "updated_at": utcnow()})}, return_document=True
        )
        return public(doc)

    async def save_fields(self, session_id: str, changes: dict[str, Any], *, version: int) -> dict[str, Any] | None:
        """A person's save of the editable fields, if the record is still at ``version`` (one written before
        versions counts as 1: ``ensure_indexes`` gives it that at start), making it ``version + 1``; None when it
        is not (another save came first)."""
        doc = await self.col.find_one_and_update(
            {"session_id": session_id, "version": version},
            {"$set": encode({**changes, "updated_at": utcnow(), "version": version + 1})}, return_document=True,
        )
        return public(doc)

    async def answer_survey(self, session_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """Store a survey answer only if the record has none yet (one atomic, conditional update).

        Returns the updated record, or None when there is no record or it was already answered:
        of concurrent answers exactly one finds ``satisfaction`` still empty.
        """
        doc = await self.col.find_one_and_update(
            {"session_id": session_id, "satisfaction": None},
            {"$set": encode({**changes, "updated_at": utcnow()})},
            return_document=True,
        )
        return public(doc)

    def _range_query(self, start: dt.datetime | None, end: dt.datetime | None, agent_id: str | None) -> dict:
        query: dict[str, Any] = {}
        if start is not None or end is not None:
            span: dict[str, Any] = {}
            if start is not None:
                span["$gte"] = ms(start)
            if end is not None:
                span["$lt"] = ms(end)
            query["started_at"] = span
        if agent_id:
            query["agent_id"] = agent_id
        return query

    async def list(self, *, start=None, end=None, agent_id=None, limit: int = 0, skip: int = 0) -> list[dict]:
        cursor = self.col.find(self._range_query(start, end, agent_id)).sort("started_at", 1).skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        return [public(d) async for d in cursor]

    async def count(self, *, start=None, end=None, agent_id=None) -> int:
        return await self.col.count_documents(self._range_query(start, end, agent_id))

    async def iterate_paged(self, *, start=None, end=None, agent_id=None, page_size: int = 2000):
        """Every record of the range in ``started_at`` order, one query of at most ``page_size`` per page.

        For reading everything (the export): nx-27017 materialises a whole ``find`` result before
        the first batch, so one long cursor over 100,000 records held them all in the database
        process. Each page starts at the last ``started_at`` seen and skips the records of that
        instant already read (the sort is ``started_at``, then ``_id``).
        """
        query = self._range_query(start, end, agent_id)
        after, skip = None, 0
        while True:
            page_query = query if after is None else {**query, "started_at": {**query.get("started_at", {}), "$gte": after}}
            cursor = self.col.find(page_query).sort([("started_at", 1), ("_id", 1)]).skip(skip).limit(page_size)
            docs = await cursor.to_list()
            for doc in docs:
                yield public(doc)
            if len(docs) < page_size:
                return
            last = docs[-1].get("started_at")
            tied = sum(1 for doc in docs if doc.get("started_at") == last)
            skip = tied + (skip if last == after else 0)
            after = last

    async def stats(self, *, start=None, end=None, agent_id=None) -> dict[str, list[dict[str, Any]]]:
        """Counts by trouble type, resolution and satisfaction: one ``$group`` each over the same match.

        Three plain groups rather than one ``$facet``: nx-27017 runs ``$facet`` and ``$ifNull`` in
        Python (18 s over 100,000 records, and batch by batch when the match is empty, which gave
        wrong counts), while a ``$group`` on a bare field is one SQL query there (0.2 s). A missing
        resolution counts as ``unchecked``, a missing satisfaction as ``no_answer``; a trouble type
        row carries the path name stored with its records (``name``).
        """
        match = {"$match": self._range_query(start, end, agent_id)}

        async def group(field: str, **more: Any) -> list[dict[str, Any]]:
            pipeline = [match, {"$group": {"_id": f"${field}", "count": {"$sum": 1}, **more}}]
            return await (await self.col.aggregate(pipeline)).to_list()

        types, resolutions, answers = await asyncio.gather(
            group("trouble_type", name={"$max": "$trouble_type_name"}), group("resolution"), group("satisfaction")
        )

        def merged(rows: list[dict[str, Any]], missing: Any, **keep: str) -> list[dict[str, Any]]:
            out: dict[Any, dict[str, Any]] = {}
            for row in rows:
                key = row["_id"] if row["_id"] not in (None, "") else missing
                entry = out.setdefault(key, {"_id": key, "count": 0, **{k: None for k in keep}})
                entry["count"] += row["count"]
                for name in keep:
                    entry[name] = entry[name] or row.get(name)
            return sorted(out.values(), key=lambda r: -r["count"])

        total = sum(row["count"] for row in types)
        return {
            "trouble_type": merged(types, None, name="name"),
            "resolution": merged(resolutions, "unchecked"),
            "satisfaction": merged(answers, "no_answer"),
            "total": [{"n": total}] if total else [],
        }

    async def insert_many(self, docs: list[dict[str, Any]]) -> int:
        if not docs:
            return 0
        return len((await self.col.insert_many([encode(d) for d in docs], ordered=False)).inserted_ids)

    async def uses_trouble_type(self, type_id: str) -> bool:
        return await self.col.count_documents({"trouble_type": type_id}, limit=1) > 0
