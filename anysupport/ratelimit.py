"""Per-key rate limits (login guessing, code guessing, message floods) kept in this process.

A sliding window: at most ``limit`` hits per ``window`` seconds per key. Memory stays bounded: keys
whose hits have all aged out are dropped as the limiter is used.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class _KeyedWindow:
    """Time stamps per key over a sliding ``window``; keys whose stamps all aged out are dropped."""

    def __init__(self, window: float, clock: Callable[[], float], maxlen: int | None = None):
        self.window = window
        self.clock = clock
        self._maxlen = maxlen
        self._stamps: dict[str, deque[float]] = {}
        self._last_prune = clock()

    def _prune(self, now: float) -> None:
        if now - self._last_prune < self.window:
            return
        self._last_prune = now
        cutoff = now - self.window
        for key in [k for k, q in self._stamps.items() if not q or q[-1] <= cutoff]:
            del self._stamps[key]

    def _recent(self, key: str, now: float) -> deque[float] | None:
        """The key's stamps still inside the window (pruning the map now and then)."""
        self._prune(now)
        q = self._stamps.get(key)
        if q is not None:
            cutoff = now - self.window
            while q and q[0] <= cutoff:
                q.popleft()
        return q

    def _stamp(self, key: str) -> None:
        self._stamps.setdefault(key, deque(maxlen=self._maxlen)).append(self.clock())

    def reset(self, key: str) -> None:
        self._stamps.pop(key, None)


class SlidingWindowLimiter(_KeyedWindow):
    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic):
        super().__init__(window, clock)
        self.limit = limit

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again (0 when it may now)."""
        now = self.clock()
        q = self._recent(key, now)
        if not q or len(q) < self.limit:
            return 0
        return max(1, math.ceil(q[0] + self.window - now))

    def hit(self, key: str) -> int:
        """Count one attempt; returns the wait now in force for the key (0 = still allowed)."""
        wait = self.retry_after(key)
        if wait:
            return wait
        self._stamp(key)
        return 0


class TokenBucket:
    """A per-connection message budget: ``rate`` per second, bursts up to ``burst``."""

    __slots__ = ("rate", "burst", "tokens", "stamp", "clock")

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.clock = clock
        self.stamp = clock()

    def take(self, n: float = 1.0) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False


class Backoff(_KeyedWindow):
    """Failures per key (e.g. a login name at one address): a slowdown that grows, then a lock.

    Failures count over a sliding ``window`` of seconds. The first ``free`` are answered at once;
    after each later one the key must wait ``delay``, then twice that, and so on (never more than the
    window), counted from that failure; at ``limit`` failures the key is locked for ``window``
    seconds after the last one. A request that comes too early is refused without being checked, so
    it does not count. ``reset`` (a success) forgets the key. Memory stays bounded: at most ``limit``
    stamps per key, and keys whose failures all aged out are dropped as the class is used.
    """

    def __init__(self, *, limit: int, free: int, delay: float, window: float,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(window, clock, maxlen=limit)
        self.limit = limit
        self.free = min(free, limit)
        self.delay = delay

    def failures(self, key: str) -> int:
        q = self._recent(key, self.clock())
        return len(q) if q else 0

    def wait(self, key: str) -> int:
        """Whole seconds ``key`` must still wait before its next try (0: it may try now)."""
        now = self.clock()
        q = self._recent(key, now)
        if not q:
            return 0
        n, last = len(q), q[-1]
        if n >= self.limit:
            until = last + self.window
        elif n > self.free and self.delay > 0:
            until = last + min(self.delay * 2 ** (n - self.free - 1), self.window)
        else:
            return 0
        return max(1, math.ceil(until - now)) if until > now else 0

    def fail(self, key: str) -> None:
        self._stamp(key)
