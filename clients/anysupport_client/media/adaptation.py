"""Automatic adaptation: step down the quality ladder when the link struggles, back up when it heals.

Signals of trouble (any one is enough):

- the relay dropped our frames: a ``keyframe_request`` from the server (``receiver_behind``) or an
  ``error`` ``frame_dropped`` (``rate``, …);
- the receiver's ``media_report`` shows loss (over ``loss_ratio``), or two reports in a row show
  frames arriving more than ``late_ms`` behind the best it has seen (one late report is often just
  a busy moment on either end);
- our own socket is not draining (bytes waiting to be written pile up).

One step down per ``down_hold`` seconds, so a burst of drops counts once. After ``up_after``
seconds with no trouble the sender climbs one rung; falling back soon after a climb doubles that
wait (up to ``max_up_after``), so a link at its limit does not oscillate every few seconds.
Adaptation never leaves the level the agent chose.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .quality import LEVELS, Quality, QualityLevel


class Adapter:
    def __init__(self, level: QualityLevel | str = "medium", *, down_hold: float = 1.0, up_after: float = 4.0,
                 max_up_after: float = 32.0, late_ms: float = 150.0, loss_ratio: float = 0.02,
                 clock: Callable[[], float] = time.monotonic):
        self.down_hold = down_hold
        self.base_up_after = up_after
        self.max_up_after = max_up_after
        self.late_threshold = late_ms
        self.loss_ratio = loss_ratio
        self.clock = clock
        self.history: list[tuple[float, int, str]] = []
        self.set_level(level)

    def set_level(self, level: QualityLevel | str) -> None:
        self.level = LEVELS[level] if isinstance(level, str) else level
        self.rungs = self.level.ladder
        self.rung = 0
        now = self.clock()
        self.last_trouble = now
        self.last_change = now
        self.last_climb = -1e9
        self.last_down = -1e9
        self._late_before = False
        self.up_after = self.base_up_after
        self.history.append((now, 0, f"level {self.level.name}"))

    @property
    def quality(self) -> Quality:
        return self.rungs[self.rung]

    @property
    def lowest(self) -> int:
        return len(self.rungs) - 1

    def _step(self, delta: int, reason: str) -> bool:
        """Move ``delta`` rungs: positive is down (worse quality), negative is up."""
        rung = min(self.lowest, max(0, self.rung + delta))
        if rung == self.rung:
            return False
        now = self.clock()
        self.rung = rung
        self.last_change = now
        if delta > 0:
            self.up_after = min(self.max_up_after, self.up_after * 2) if now - self.last_climb < self.up_after * 2 \
                else self.up_after
        else:
            self.last_climb = now
        self.history.append((now, rung, reason))
        return True

    def trouble(self, reason: str) -> bool:
        """A sign of congestion; returns True when the quality changed."""
        now = self.clock()
        self.last_trouble = now
        if now - self.last_down < self.down_hold:
            return False
        if self._step(+1, reason):
            self.last_down = now
            return True
        return False

    def report(self, received: int, lost: int, late_ms: float) -> bool:
        """A ``media_report`` from the receiver; returns True when the quality changed."""
        total = received + lost
        if total and lost / total > self.loss_ratio:
            return self.trouble(f"loss {lost}/{total}")
        late = late_ms > self.late_threshold
        was_late, self._late_before = self._late_before, late
        if late and was_late:
            return self.trouble(f"late {late_ms:.0f} ms")
        return False

    def tick(self) -> bool:
        """Call now and then (each frame is fine): climbs back when the link has been clean."""
        now = self.clock()
        if self.rung == 0 or now - self.last_trouble < self.up_after or now - self.last_change < self.up_after:
            if self.rung == 0 and now - self.last_trouble > self.max_up_after:
                self.up_after = self.base_up_after  # a long clean run forgives earlier failed climbs
            return False
        return self._step(-1, "recovered")
