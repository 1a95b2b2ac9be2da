"""The control messages one socket still has to send, bounded in bytes (as the relay bounds media).

Tornado buffers whatever is written to a socket without limit, and keeps a future (and a task) per
message until the kernel takes it, so a client that never reads would grow the server by far more
than the bytes it leaves unread. Here a message goes straight to the socket while the socket keeps
up (nothing left unwritten after the write); once it falls behind, one write stays in flight and
the rest wait here as plain strings. When what waits, plus the write in flight, would pass
``limit`` bytes (each message counted with ``ITEM_OVERHEAD`` for its bookkeeping), ``push``
answers False and the owner closes the socket (4009 ``not_reading``). No transport in here: the
owner passes ``write(text) -> future | None`` and ``unwritten() -> bytes still in the socket's buffer``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

ITEM_OVERHEAD = 128  # a queued str's header, its allocation rounding and its slot, rounded up


class ControlOutbox:
    __slots__ = ("write", "unwritten", "limit", "queue", "bytes", "inflight")

    def __init__(self, write: Callable[[str], Any], unwritten: Callable[[], int], limit: int):
        self.write = write
        self.unwritten = unwritten
        self.limit = limit
        self.queue: deque[str] = deque()
        self.bytes = 0  # queued here, with overhead
        self.inflight = 0  # the write the socket has not finished, with overhead

    @property
    def backlog(self) -> int:
        return self.bytes + self.inflight

    def push(self, text: str) -> bool:
        """Send or queue ``text``; False when that would pass the budget (nothing is queued then)."""
        if not self.inflight and not self.queue:
            self._send(text)
            return True
        size = len(text) + ITEM_OVERHEAD
        if self.backlog + size > self.limit:
            return False
        self.queue.append(text)
        self.bytes += size
        return True

    def _send(self, text: str) -> None:
        while True:
            future = self.write(text)
            if future is None:  # the socket is closed: drop the rest
                self.queue.clear()
                self.bytes = 0
                return
            if self.unwritten() > 0:
                # the socket did not take it all: wait for the flush before writing more
                self.inflight = len(text) + ITEM_OVERHEAD
                future.add_done_callback(self._written)
                return
            if not self.queue:
                return
            text = self.queue.popleft()
            self.bytes -= len(text) + ITEM_OVERHEAD

    def _written(self, future: Any) -> None:
        self.inflight = 0
        if future.cancelled() or future.exception() is not None:  # closed meanwhile
            self.queue.clear()
            self.bytes = 0
            return
        if self.queue:
            text = self.queue.popleft()
            self.bytes -= len(text) + ITEM_OVERHEAD
            self._send(text)
