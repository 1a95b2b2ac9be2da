"""Events and the inbox: what a client heard, and futures that wait for it (no polling loops).

``EventSource`` is the base of every client object that others listen to:

- ``listeners``: callables ``(name, data)``, called on the client's event loop for every ``emit``;
- ``inbox``: the control messages received, in order; ``mark()`` is a position in it that stays
  valid when old messages are let go, so ``wait_for(kind, since=mark)`` means "after this point";
- ``wait_for`` / ``wait_event`` / ``wait_until``: futures resolved by the message, the event, or
  the condition becoming true — re-checked whenever something arrives or is emitted, never on a
  timer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("anysupport.client")

Listener = Callable[[str, dict[str, Any]], None]
INBOX_KEEP = 2000


def matches(message: dict[str, Any], match: dict[str, Any]) -> bool:
    return all(message.get(k) == v for k, v in match.items())


class EventSource:
    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self.inbox: list[dict[str, Any]] = []
        self._dropped = 0  # messages let go from the front of the inbox
        self._message_waiters: list[tuple[Callable[[dict[str, Any]], bool], asyncio.Future]] = []
        self._event_waiters: list[tuple[Callable[[str, dict[str, Any]], bool], asyncio.Future]] = []
        self._conditions: list[tuple[Callable[[], bool], asyncio.Future]] = []

    # -- events --------------------------------------------------------------------------------------
    def emit(self, name: str, data: dict[str, Any] | None = None) -> None:
        data = data or {}
        for listener in list(self.listeners):
            try:
                listener(name, data)
            except Exception:
                log.exception("listener failed on %s", name)
        for entry in list(self._event_waiters):
            predicate, future = entry
            if not future.done() and predicate(name, data):
                future.set_result(data)
        self._check_conditions()

    async def wait_event(self, name: str, timeout: float = 10.0,
                         predicate: Callable[[dict[str, Any]], bool] | None = None, **match: Any) -> dict[str, Any]:
        """The data of the next event ``name`` (matching ``match`` and ``predicate``) emitted from now on."""

        def test(event: str, data: dict[str, Any]) -> bool:
            return event == name and matches(data, match) and (predicate is None or predicate(data))

        return await self._wait(self._event_waiters, test, timeout, f"event {name!r}")

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
        """Return once ``condition()`` is true; it is re-checked after every message and event."""
        if condition():
            return
        await self._wait(self._conditions, condition, timeout, what)

    def _check_conditions(self) -> None:
        for entry in list(self._conditions):
            condition, future = entry
            if future.done():
                continue
            try:
                if condition():
                    future.set_result(None)
            except Exception as exc:  # a broken condition fails its waiter, not the client
                future.set_exception(exc)

    # -- the inbox -----------------------------------------------------------------------------------
    def mark(self) -> int:
        """The position after the last message received so far (for ``wait_for(since=…)``)."""
        return self._dropped + len(self.inbox)

    def _note(self, message: dict[str, Any]) -> None:
        self.inbox.append(message)
        if len(self.inbox) > INBOX_KEEP:
            drop = INBOX_KEEP // 2
            del self.inbox[:drop]
            self._dropped += drop
        for entry in list(self._message_waiters):
            predicate, future = entry
            if not future.done() and predicate(message):
                future.set_result(message)
        self._check_conditions()

    def received(self, since: int = 0) -> list[dict[str, Any]]:
        """The messages received at or after position ``since`` (those still kept)."""
        return self.inbox[max(0, since - self._dropped):]

    async def wait_for(self, kind: str, timeout: float = 10.0, *, since: int = 0, **match: Any) -> dict[str, Any]:
        """The first control message of ``kind`` (matching ``match``) from position ``since`` on, or later."""

        def predicate(m: dict[str, Any]) -> bool:
            return m.get("type") == kind and matches(m, match)

        for message in self.received(since):
            if predicate(message):
                return message
        return await self._wait(self._message_waiters, predicate, timeout, f"message {kind!r} {match or ''}")

    @staticmethod
    async def _wait(waiters: list, test: Callable, timeout: float, what: str) -> Any:
        future = asyncio.get_running_loop().create_future()
        entry = (test, future)
        waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"no {what} in {timeout} s") from None
        finally:
            if entry in waiters:
                waiters.remove(entry)
