"""Helpers every repository shares: id conversion, the clock, counters, duplicate detection."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

__all__ = ["DuplicateKeyError", "StoreError", "utcnow", "oid", "public", "next_sequence", "encode", "ms"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class StoreError(RuntimeError):
    """The database is unusable (not reachable, embedded process gone)."""


def utcnow() -> dt.datetime:
    # MongoDB keeps milliseconds; round here so what we write equals what we read back
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def ms(value: dt.datetime) -> int:
    """A time as stored: UTC epoch milliseconds.

    Times are kept as integers, not BSON dates, in every ``*_at`` field: the embedded nx-27017 turns
    a date written by ``$set`` into a string, and integers compare and sort the same everywhere.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return (value - _EPOCH) // dt.timedelta(milliseconds=1)


def from_ms(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=value)


def encode(value: Any) -> Any:
    """A document (or query) ready to store: datetimes become epoch milliseconds, recursively."""
    if isinstance(value, dt.datetime):
        return ms(value)
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    return value


# Fields that hold true/false. nx-27017 returns a top-level boolean written by ``$set`` as 1 or 0
# (queries still match), so reads give these back their type, as ``*_at`` fields get theirs.
FLAGS = frozenset({"disabled", "retired", "enabled", "feedback", "auto_connect", "customer_seen", "web", "done"})


def _decode(key: str, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        if key.endswith("_at"):
            return from_ms(value)
        if key in FLAGS:
            return bool(value)
    if isinstance(value, dict):
        return {k: _decode(k, v) for k, v in value.items()}
    if isinstance(value, ObjectId):
        return str(value)
    return value


def oid(value: str) -> ObjectId | None:
    """An ObjectId from its hex text, or None when the text is not one (callers answer 404)."""
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


def public(doc: dict[str, Any] | None, *, drop: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """A stored document as the rest of the program sees it: ``id`` as text, ObjectIds as text."""
    if doc is None:
        return None
    out = {}
    for key, value in doc.items():
        if key in drop:
            continue
        if key == "_id":
            out["id"] = str(value)
        else:
            out[key] = _decode(key, value)
    return out


async def next_sequence(db, name: str) -> int:
    doc = await db.counters.find_one_and_update(
        {"_id": name}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER
    )
    return int(doc["seq"])
