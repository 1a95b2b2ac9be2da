"""Our own WebSocket ping/pong timing (Tornado's counts *any* pong frame as an answer, so a client
that never reads can keep its socket alive by sending unsolicited pongs).

Each ping carries a fresh random payload; only a pong that echoes one of our outstanding payloads
(RFC 6455 §5.5.3: a pong answers with the ping's data) counts. A socket whose oldest unanswered ping
is older than ``timeout`` is dead. Plain class, injected clock: no transport in here.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_OUTSTANDING = 16  # payloads remembered (an answer to an older one no longer counts; its time does)


class Heartbeat:
    def __init__(self, interval: float, timeout: float, *, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.timeout = timeout
        self.clock = clock
        self.outstanding: OrderedDict[bytes, float] = OrderedDict()  # payload -> when sent, oldest first
        self.last_ping = clock()
        self.waiting_since: float | None = None  # when the oldest unanswered ping was sent
        self.answered = 0
        self.unsolicited = 0

    @property
    def tick(self) -> float:
        """How often the owner should call ``due``/``dead`` (seconds)."""
        return max(0.05, min(self.interval, self.timeout) / 2)

    def due(self) -> bool:
        return self.interval > 0 and self.clock() - self.last_ping >= self.interval

    def ping(self) -> bytes:
        """A new ping's payload (remembered until answered or superseded)."""
        payload = os.urandom(8)
        now = self.last_ping = self.clock()
        self.outstanding[payload] = now
        if self.waiting_since is None:
            self.waiting_since = now
        while len(self.outstanding) > MAX_OUTSTANDING:
            self.outstanding.popitem(last=False)
        return payload

    def pong(self, data: bytes) -> bool:
        """A pong arrived: True if it answers one of our pings (that one and all older are settled)."""
        sent = self.outstanding.get(bytes(data))
        if sent is None:
            self.unsolicited += 1
            return False
        for payload, when in list(self.outstanding.items()):
            if when <= sent:
                del self.outstanding[payload]
        self.waiting_since = next(iter(self.outstanding.values()), None)
        self.answered += 1
        return True

    def dead(self) -> bool:
        """True when our oldest unanswered ping has waited longer than ``timeout``."""
        return self.waiting_since is not None and self.clock() - self.waiting_since > self.timeout
