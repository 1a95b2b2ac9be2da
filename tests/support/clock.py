"""A clock the test moves by hand, for managers that take ``clock=`` (no wall-clock sleeps)."""

from __future__ import annotations

import datetime as dt


class ManualClock:
    """UTC time in whole milliseconds (as the store keeps it), moved only by ``advance``.

    ``clock()`` is the time as an aware datetime (what ``SessionManager`` and ``RecordManager``
    take), ``clock.monotonic()`` the same instant in seconds (what ``Relay`` and the rate limiters
    take), so one clock drives both kinds.
    """

    def __init__(self, start: dt.datetime | None = None):
        self.now = start or dt.datetime(2026, 5, 18, 1, 20, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def monotonic(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> dt.datetime:
        step = dt.timedelta(milliseconds=round(seconds * 1000))
        self.now += step
        return self.now
