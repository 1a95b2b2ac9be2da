"""Sealed messages that arrived before their sender's key (issue 21; docs/protocol.md V2.5).

A chat line (or drawing, guidance, anchor) sealed by a participant just after a join or a new epoch can
reach me before that participant's ``sender_key`` for the epoch: it is not refused at once but waits
here, in arrival order, until a key of that sender arrives (``take``). The wait is bounded, per session,
by ``SEALED_WAIT``: so many messages, so many bytes, so many seconds (an injected clock). Nothing here
opens anything: the caller opens what it takes with the key it now holds (a replay is still refused
there), and refuses what is dropped (too many, too old, a participant who left) as ``unknown_key``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anysupport.protocol.vocabulary import SEALED_WAIT


@dataclass
class _Waiting:
    sender: int
    epoch: int
    size: int
    until: float
    item: Any


class SealedWait:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_messages: int = SEALED_WAIT["messages"],
                 max_bytes: int = SEALED_WAIT["bytes"], max_age_s: float = SEALED_WAIT["seconds"]):
        self.clock = clock
        self.max_messages, self.max_bytes, self.max_age_s = max_messages, max_bytes, max_age_s
        self._waiting: list[_Waiting] = []
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._waiting)

    def hold(self, sender: int, epoch: int, size: int, item: Any) -> bool:
        """Keep ``item`` (``size`` bytes) until ``sender``'s key of ``epoch`` arrives; False when full."""
        if len(self._waiting) >= self.max_messages or self._bytes + size > self.max_bytes:
            return False
        self._waiting.append(_Waiting(sender, epoch, size, self.clock() + self.max_age_s, item))
        self._bytes += size
        return True

    def senders(self) -> set[int]:
        return {w.sender for w in self._waiting}

    def take(self, sender: int, epoch: int) -> list[Any]:
        """What waits for ``sender``'s key of ``epoch`` or an older one (an older one never comes now:
        the caller's open refuses it), in arrival order. Later epochs wait on."""
        return self._remove(lambda w: w.sender == sender and w.epoch <= epoch)

    def drop(self, sender: int) -> list[Any]:
        """What waits for a participant who left (its keys are gone: nothing of it opens)."""
        return self._remove(lambda w: w.sender == sender)

    def expire(self) -> list[Any]:
        """What waited too long."""
        now = self.clock()
        return self._remove(lambda w: w.until <= now)

    def clear(self) -> list[Any]:
        return self._remove(lambda w: True)

    def _remove(self, match: Callable[[_Waiting], bool]) -> list[Any]:
        taken = [w for w in self._waiting if match(w)]
        if taken:
            self._waiting = [w for w in self._waiting if not match(w)]
            self._bytes -= sum(w.size for w in taken)
        return [w.item for w in taken]
