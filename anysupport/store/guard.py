"""The database as the repositories see it: fail fast while it is known to be down, and speak our errors.

Every repository reaches MongoDB through ``GuardedDatabase``: touching a collection first asks the
store's ``Availability`` whether the database is known to be down (then ``DatabaseUnavailable`` is
raised at once, instead of each request waiting out the driver's server selection), and every
driver call and cursor translates the driver's connection failures into ``DatabaseUnavailable``
(marking the database down, so the next request does not wait either). The store's supervisor
marks it up again once it answers.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from pymongo.asynchronous.command_cursor import AsyncCommandCursor
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.errors import ConnectionFailure, PyMongoError

from anysupport.errors import DatabaseUnavailable

log = logging.getLogger("anysupport.store")


def is_connection_failure(exc: BaseException) -> bool:
    """The driver could not reach the database (not: the database refused the operation)."""
    if isinstance(exc, DatabaseUnavailable | ConnectionFailure):
        return True
    return isinstance(exc, PyMongoError) and bool(getattr(exc, "timeout", False))


class Availability:
    """Whether the database is known to be down, and why; logged once per outage."""

    def __init__(self) -> None:
        self.down_reason: str | None = None
        self._up = asyncio.Event()
        self._up.set()

    @property
    def available(self) -> bool:
        return self.down_reason is None

    def check(self) -> None:
        if self.down_reason is not None:
            raise DatabaseUnavailable(self.down_reason)

    def mark_down(self, reason: str) -> None:
        if self.down_reason is None:
            log.warning("database unavailable: %s; answering 503 database_unavailable until it is back", reason)
            self.down_reason = reason
            self._up.clear()

    def mark_up(self) -> None:
        if self.down_reason is not None:
            log.warning("database available again")
            self.down_reason = None
            self._up.set()

    async def wait_available(self) -> None:
        await self._up.wait()

    def translate(self, exc: BaseException) -> DatabaseUnavailable | None:
        """``DatabaseUnavailable`` for a connection failure (and the database marked down), else None."""
        if isinstance(exc, DatabaseUnavailable):
            return exc
        if is_connection_failure(exc):
            self.mark_down(f"{type(exc).__name__}: {exc}")
            return DatabaseUnavailable(str(exc))
        return None


class _Guarded:
    """A driver object whose calls check the gate and translate connection failures."""

    __slots__ = ("_gate", "_target")

    def __init__(self, gate: Availability, target: Any):
        self._gate = gate
        self._target = target

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, AsyncCursor | AsyncCommandCursor):
            return _GuardedCursor(self._gate, value)
        return value

    def __getattr__(self, name: str) -> Any:
        self._gate.check()
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = value(*args, **kwargs)
            except Exception as exc:
                raise (self._gate.translate(exc) or exc) from exc
            if inspect.isawaitable(result):
                return self._await(result)
            return self._wrap(result)

        return call

    async def _await(self, awaitable: Any) -> Any:
        try:
            return self._wrap(await awaitable)
        except Exception as exc:
            error = self._gate.translate(exc)
            if error is None:
                raise
            raise error from exc


class _GuardedCursor(_Guarded):
    __slots__ = ()

    def __aiter__(self) -> _GuardedCursor:
        return self

    async def __anext__(self) -> Any:
        self._gate.check()
        try:
            return await self._target.__anext__()
        except StopAsyncIteration:
            raise
        except Exception as exc:
            error = self._gate.translate(exc)
            if error is None:
                raise
            raise error from exc


class GuardedDatabase:
    """``db.<collection>`` and ``db[name]`` as guarded collections of whichever client the store holds now."""

    def __init__(self, gate: Availability, current_db):
        self._gate = gate
        self._current_db = current_db  # a callable: the store swaps its client when the database moves port
        self._collections: dict[str, tuple[Any, Any]] = {}  # name -> (database, its collection)

    def _collection(self, name: str) -> Any:
        db = self._current_db()
        cached = self._collections.get(name)
        if cached is None or cached[0] is not db:
            cached = self._collections[name] = (db, db[name])
        return cached[1]

    def __getattr__(self, name: str) -> _GuardedCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return _GuardedCollection(self, name)

    def __getitem__(self, name: str) -> _GuardedCollection:
        return _GuardedCollection(self, name)


class _GuardedCollection:
    """A collection looked up on each use, so a store that reconnects elsewhere is followed."""

    __slots__ = ("_db", "_name")

    def __init__(self, db: GuardedDatabase, name: str):
        self._db = db
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        gate = self._db._gate
        gate.check()
        return getattr(_Guarded(gate, self._db._collection(self._name)), attr)
