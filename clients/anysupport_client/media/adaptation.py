"""Automatic adaptation: step down the quality ladder when the link struggles, back up when it heals.

Signals of trouble (any one is enough):

- the relay dropped our frames: a ``keyframe_request`` from the server (``receiver_behind``) or an
  ``error`` ``frame_dropped`` (``rate``, …);
- the receiver's ``media_report`` shows loss (over ``loss_ratio``);
- the receiver's reports show a queue: frames later than ``late_threshold`` (the larger of
  ``late_ms`` and 1.5 × the round trip) for at least ``late_hold`` (the larger of 0.5 s and two
  round trips, and two reports), or lateness growing report after report (``GROWING_REPORTS``
  rises in a row, ``GROWTH_MS`` in all). On TCP a lost segment holds what follows for a round trip
  or more with no congestion at all; such a spike clears within a report or two and is not trouble
  (docs/netlab.md: read as congestion, it kept the call at the bottom rung on a link carrying 3–6
  times that);
- our own socket is not draining, or more has been sent than the receiver has acknowledged
  (the sender's ack clock, ``sender.py``).

When the receiver gets clearly less than we offer (the ``bytes`` its reports say it received per
second under 90 % of what the sender says it sent or held back, ``sent``, over the same second), trouble moves
straight to the highest rung whose bitrate is at most ``GOODPUT_SHARE`` of that goodput, not one rung:
walking down one rung a second took 9–11 s on 3G while seconds of backlog built. That goodput is
then a ceiling: no climb goes over it for ``max_up_after`` seconds (a climb that cannot fit only
fills a queue and falls back, and the level never settles). At most one move
per ``down_hold`` seconds, so a burst counts once. A call whose round trip (``round_trip``) is over
``start_low_rtt_ms`` before the first report starts at ``START_LOW_RUNG`` and climbs; over
``start_lower_rtt_ms`` it starts at the highest rung within the low level's bitrate
(``START_LOWER_BITRATE``). The first pings queue behind the call's first burst (keys, the first
keyframe), so they measure the link's round trip plus that queue: in the netlab 3G's 300 ms link
(750 kbit/s) answered in 654 ms, the congested profile's 150 ms link (2 Mbit/s) in 308–341 ms.

After ``up_after`` seconds with no trouble the sender climbs one rung; falling back soon after a
climb doubles that wait (up to ``max_up_after``), so a link at its limit does not oscillate every
few seconds. Adaptation never leaves the level the agent chose.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from .quality import LEVELS, Quality, QualityLevel

GOODPUT_SHARE = 0.8  # of the measured goodput, the bitrate a jump aims at
GOODPUT_WINDOW = 2.0  # seconds of reports kept for the goodput: the better of the last 1 and 2 s counts
# (over 2 s a retransmission stall is a small part; over 1 s a climb a moment ago is all of it)
OFFER_WINDOW = 1.0  # seconds over which what the sender offered is compared with it
PACED_STARVED = 1.5  # seconds of pacing with the link carrying clearly less than offered: trouble
PACED_NO_CLIMB = 1.0  # seconds after the sender last held a frame for the link during which it does not climb
GOODPUT_MIN_SPAN = 0.5  # seconds of reports needed before it is trusted
START_LOW_RUNG = 2  # the medium level's 400 kbit/s
START_LOWER_BITRATE = LEVELS["low"].quality.bitrate  # 250 kbit/s: where a call over a very slow round trip starts
GROWING_REPORTS = 3  # lateness rising in this many reports in a row is a queue building
GROWTH_MS = 100.0  # … when it rose by at least this much in all (less is a busy CPU's noise)


def _rate(samples: deque[tuple[float, int]], since: float | None) -> float | None:
    """Bits per second in (time, bytes) samples from ``since`` on (the first one opens the span)."""
    kept = [sample for sample in samples if since is None or sample[0] >= since]
    if len(kept) < 2 or kept[-1][0] - kept[0][0] < GOODPUT_MIN_SPAN:
        return None
    return sum(size for _, size in kept[1:]) * 8 / (kept[-1][0] - kept[0][0])


class Adapter:
    def __init__(self, level: QualityLevel | str = "medium", *, down_hold: float = 1.0, up_after: float = 4.0,
                 max_up_after: float = 32.0, late_ms: float = 150.0, loss_ratio: float = 0.02,
                 start_low_rtt_ms: float = 100.0, start_lower_rtt_ms: float = 450.0,
                 clock: Callable[[], float] = time.monotonic):
        self.down_hold = down_hold
        self.base_up_after = up_after
        self.max_up_after = max_up_after
        self.late_ms = late_ms
        self.loss_ratio = loss_ratio
        self.start_low_rtt_ms = start_low_rtt_ms
        self.start_lower_rtt_ms = start_lower_rtt_ms
        self.clock = clock
        self.history: list[tuple[float, int, str]] = []
        self.rtt_ms: float | None = None
        self.start_rtt_ms: float | None = None  # the least round trip measured before the first report
        self.reports = 0
        self._delivered: deque[tuple[float, int]] = deque()  # (report time, bytes received since the one before)
        self.ceiling: tuple[float, float] | None = None  # (bits/s the link carried when it struggled, until when)
        self._sent: deque[tuple[float, int]] = deque()  # (time, bytes the sender sent)
        self.last_paced = -1e9  # when the sender last held a frame for the link
        self._starved_since: float | None = None  # while paced: since when the link carries clearly less
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
        self._late_since: float | None = None  # when the current run of late reports began
        self._late_reports = 0
        self._lateness: deque[float] = deque(maxlen=GROWING_REPORTS + 1)
        self.up_after = self.base_up_after
        self.history.append((now, 0, f"level {self.level.name}"))
        if self.reports == 0:
            self._start_low()

    @property
    def quality(self) -> Quality:
        return self.rungs[self.rung]

    @property
    def lowest(self) -> int:
        return len(self.rungs) - 1

    # -- what is known of the link ---------------------------------------------------------------------
    @property
    def late_threshold(self) -> float:
        return max(self.late_ms, 1.5 * self.rtt_ms) if self.rtt_ms else self.late_ms

    @property
    def late_hold(self) -> float:
        return max(0.5, 2 * self.rtt_ms / 1000) if self.rtt_ms else 0.5

    @property
    def goodput(self) -> float | None:
        """Bits per second the receiver reported receiving: the better of the last second and the last
        ``GOODPUT_WINDOW`` (None: too few reports)."""
        rates = [rate for rate in (_rate(self._delivered, self.clock() - OFFER_WINDOW), _rate(self._delivered, None))
                 if rate is not None]
        return max(rates) if rates else None

    def sent(self, size: int) -> None:
        """The sender offered ``size`` bytes of video (what the goodput is compared with): a frame sent,
        or one held back for the link (its share of the bitrate: an ack-clocked sender sends only what
        the link delivers, so counting only what went would never show the link falling short)."""
        now = self.clock()
        self._sent.append((now, size))
        while self._sent and self._sent[0][0] < now - OFFER_WINDOW:
            self._sent.popleft()

    @property
    def send_rate(self) -> float:
        """Bits per second offered over the last ``OFFER_WINDOW``; the rung's bitrate when the sender does
        not say."""
        rate = _rate(self._sent, None)
        return float(self.quality.bitrate) if rate is None else rate

    def _starved(self) -> float | None:
        """The goodput when the link carries clearly less than we send (else None). Not while reports
        have stopped (an outage, a long stall): that says nothing of the rate the link will carry,
        and a ceiling near zero would hold the call at the bottom long after it is back."""
        if not self._delivered or self.clock() - self._delivered[-1][0] > OFFER_WINDOW:
            return None
        goodput = self.goodput
        return goodput if goodput is not None and goodput < 0.9 * self.send_rate else None

    def round_trip(self, rtt_ms: float) -> bool:
        """The round trip to the server (a ping). Before the first report the least of them decides the
        start (``start_rung``); a later, faster one (the first was a busy moment) moves the start up
        again. Returns True when the quality changed."""
        self.rtt_ms = rtt_ms
        if self.reports:
            return False
        self.start_rtt_ms = rtt_ms if self.start_rtt_ms is None else min(self.start_rtt_ms, rtt_ms)
        return self._start_low()

    def start_rung(self, rtt_ms: float) -> int:
        """Where a call starts when the least round trip before its first report is ``rtt_ms``."""
        if rtt_ms > self.start_lower_rtt_ms:
            return next((i for i, q in enumerate(self.rungs) if q.bitrate <= START_LOWER_BITRATE), self.lowest)
        return min(START_LOW_RUNG, self.lowest) if rtt_ms > self.start_low_rtt_ms else 0

    def _start_low(self) -> bool:
        rtt = self.start_rtt_ms
        if rtt is None:
            return False
        target = self.start_rung(rtt)
        if target > self.rung or (target < self.rung and self.history[-1][2].startswith("start")):
            where = "at the top" if target == 0 else "low"
            return self._move(target, f"start {where} (round trip {rtt:.0f} ms)")
        return False

    # -- moving on the ladder --------------------------------------------------------------------------
    def _move(self, rung: int, reason: str) -> bool:
        rung = min(self.lowest, max(0, rung))
        if rung == self.rung:
            return False
        now = self.clock()
        down = rung > self.rung
        self.rung = rung
        self.last_change = now
        if down:
            self.up_after = min(self.max_up_after, self.up_after * 2) if now - self.last_climb < self.up_after * 2 \
                else self.up_after
        else:
            self.last_climb = now
        self.history.append((now, rung, reason))
        return True

    def _step(self, delta: int, reason: str) -> bool:
        """Move ``delta`` rungs: positive is down (worse quality), negative is up."""
        return self._move(self.rung + delta, reason)

    def _rung_for_goodput(self) -> int:
        """Where the first trouble goes: one rung down, or further when the receiver gets clearly less
        than we send (the highest rung within ``GOODPUT_SHARE`` of what it gets)."""
        goodput = self._starved()
        if goodput is None:
            return self.rung + 1
        for k in range(self.rung + 1, len(self.rungs)):
            if self.rungs[k].bitrate <= GOODPUT_SHARE * goodput:
                return k
        return self.lowest

    def trouble(self, reason: str) -> bool:
        """A sign of congestion; returns True when the quality changed."""
        now = self.clock()
        self.last_trouble = now
        if now - self.last_down < self.down_hold:
            return False
        target = self._rung_for_goodput()
        goodput = self._starved()
        if goodput is not None:  # the link carries less than we send
            self.ceiling = (goodput, now + self.max_up_after)
            reason = f"{reason}, goodput {goodput / 1000:.0f} kb/s"
        if self._move(target, reason):
            self.last_down = now
            self._late_since = None  # the next move needs fresh evidence, not the queue this one drains
            self._starved_since = None
            self._lateness.clear()
            return True
        return False

    def paced(self) -> bool:
        """The sender held a frame back for the link (its ack clock). While that goes on it does not
        climb; when the link has carried clearly less than offered for ``PACED_STARVED`` seconds of
        it, that is trouble (a sender paced by its acks builds no queue, so no other signal would
        come: the page on 3G sat paced at 400 kbit/s, and even climbed). True when the quality changed."""
        now = self.clock()
        self.last_paced = now
        if self._starved() is None:
            self._starved_since = None
            return False
        if self._starved_since is None:
            self._starved_since = now
        return now - self._starved_since >= PACED_STARVED and self.trouble("paced")

    def report(self, received: int, lost: int, late_ms: float, received_bytes: int | None = None) -> bool:
        """A ``media_report`` from the receiver (``received_bytes``: its ``bytes``, when it says); returns
        True when the quality changed."""
        now = self.clock()
        self.reports += 1
        if received_bytes is not None:
            self._delivered.append((now, received_bytes))
            while self._delivered and self._delivered[0][0] < now - GOODPUT_WINDOW:
                self._delivered.popleft()
        total = received + lost
        if total and lost / total > self.loss_ratio:
            return self.trouble(f"loss {lost}/{total}")
        self._lateness.append(late_ms)
        if late_ms > self.late_threshold:
            if self._late_since is None:
                self._late_since = now
                self._late_reports = 0
            self._late_reports += 1
            if self._late_reports >= 2 and now - self._late_since >= self.late_hold:
                return self.trouble(f"late {late_ms:.0f} ms")
        else:
            self._late_since = None
        if self._growing():
            return self.trouble(f"late {late_ms:.0f} ms and growing")
        return False

    def _growing(self) -> bool:
        seen = list(self._lateness)
        if len(seen) <= GROWING_REPORTS:
            return False
        return all(b > a for a, b in zip(seen, seen[1:], strict=False)) and seen[-1] - seen[0] >= GROWTH_MS

    def tick(self) -> bool:
        """Call now and then (each frame is fine): climbs back when the link has been clean."""
        now = self.clock()
        if (self.rung == 0 or now - self.last_trouble < self.up_after or now - self.last_change < self.up_after
                or now - self.last_paced < PACED_NO_CLIMB):
            if self.rung == 0 and now - self.last_trouble > self.max_up_after:
                self.up_after = self.base_up_after  # a long clean run forgives earlier failed climbs
            return False
        if self.ceiling is not None and now < self.ceiling[1] and self.rungs[self.rung - 1].bitrate > self.ceiling[0]:
            return False  # what the link carried when it last struggled: no climb over it for now
        return self._step(-1, "recovered")
