"""One emulated link: what happens to each IP packet in each direction, with no I/O in it.

A packet offered to a ``Direction`` at time ``now`` goes through, in order (mahimahi's shells):

1. the link state: while the link is down every packet is lost;
2. routing: a packet from or to an address no longer routed (the customer's old address after a
   handover) is lost;
3. random loss, one draw per packet;
4. the bottleneck: the packet waits for the packets before it to be serialised at the rate; if the
   backlog in bytes (how long the bottleneck is busy, times the rate) plus the packet would pass the
   queue bound, it is dropped (drop-tail);
5. propagation: the one-way delay, plus a uniform jitter draw; unless reordering is allowed a
   packet never overtakes the one before it.

``next_due()`` says when the next packet leaves the link, ``take_due(now)`` hands over every packet
due by then. The clock is the caller's (seconds, monotonic), the random source is injected, so the
tests drive it directly.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass, field

from .profiles import Profile

SIDES = ("up", "down")  # up: customer → server; down: server → customer


@dataclass
class Counters:
    offered: int = 0
    offered_bytes: int = 0
    delivered: int = 0
    delivered_bytes: int = 0
    lost_random: int = 0
    lost_down: int = 0
    lost_unrouted: int = 0
    dropped_queue: int = 0
    max_backlog_bytes: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Direction:
    rate_bps: float | None
    delay_s: float
    jitter_s: float = 0.0
    loss: float = 0.0
    queue_bytes: int | None = None
    reorder: bool = False
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.up = True
        self.unrouted: set[bytes] = set()  # 4-byte IPv4 addresses whose packets are lost
        self.busy_until = 0.0  # when the bottleneck has serialised every packet accepted so far
        self.last_delivery = 0.0
        self._pipe: deque[tuple[float, bytes]] = deque()  # in order (no reordering)
        self._heap: list[tuple[float, int, bytes]] = []  # by delivery time (reordering allowed)
        self._counter = 0
        self.counters = Counters()

    @classmethod
    def of(cls, profile: Profile, rng: random.Random) -> Direction:
        return cls(profile.rate_bps, profile.one_way_s, profile.jitter_s, profile.loss, profile.queue_bytes,
                   profile.reorder, rng)

    def backlog_bytes(self, now: float) -> float:
        if self.rate_bps is None:
            return 0.0
        return max(0.0, self.busy_until - now) * self.rate_bps / 8

    def offer(self, packet: bytes, now: float) -> bool:
        """Take a packet into the link; False when it is lost or dropped."""
        c = self.counters
        c.offered += 1
        c.offered_bytes += len(packet)
        if not self.up:
            c.lost_down += 1
            return False
        if self.unrouted and (packet[12:16] in self.unrouted or packet[16:20] in self.unrouted):
            c.lost_unrouted += 1
            return False
        if self.loss and self.rng.random() < self.loss:
            c.lost_random += 1
            return False
        if self.rate_bps is None:
            sent = now
        else:
            backlog = self.backlog_bytes(now)
            if self.queue_bytes is not None and backlog + len(packet) > self.queue_bytes:
                c.dropped_queue += 1
                return False
            c.max_backlog_bytes = max(c.max_backlog_bytes, int(backlog + len(packet)))
            sent = max(now, self.busy_until) + len(packet) * 8 / self.rate_bps
            self.busy_until = sent
        at = sent + self.delay_s
        if self.jitter_s:
            at += self.rng.uniform(-self.jitter_s, self.jitter_s)
            at = max(at, sent)
        if self.reorder:
            self._counter += 1
            heapq.heappush(self._heap, (at, self._counter, packet))
        else:
            at = max(at, self.last_delivery)
            self._pipe.append((at, packet))
        self.last_delivery = max(self.last_delivery, at)
        return True

    def next_due(self) -> float | None:
        if self._pipe:
            return self._pipe[0][0]
        if self._heap:
            return self._heap[0][0]
        return None

    def take_due(self, now: float) -> list[bytes]:
        out: list[bytes] = []
        pipe = self._pipe
        while pipe and pipe[0][0] <= now:
            out.append(pipe.popleft()[1])
        heap = self._heap
        while heap and heap[0][0] <= now:
            out.append(heapq.heappop(heap)[2])
        if out:
            self.counters.delivered += len(out)
            self.counters.delivered_bytes += sum(len(p) for p in out)
        return out

    def set_up(self, up: bool, now: float) -> None:
        """Down: every packet queued or in flight is lost, and so is every packet offered until up."""
        if not up:
            self.counters.lost_down += len(self._pipe) + len(self._heap)
            self._pipe.clear()
            self._heap.clear()
            self.busy_until = now
            self.last_delivery = now
        self.up = up


class Link:
    """Both directions of one link under one profile (each with its own random stream)."""

    def __init__(self, profile: Profile, seed: int | None = None):
        self.profile = profile
        base = random.Random(seed)
        self.directions = {side: Direction.of(profile, random.Random(base.getrandbits(64))) for side in SIDES}

    @property
    def up(self) -> Direction:
        return self.directions["up"]

    @property
    def down(self) -> Direction:
        return self.directions["down"]

    def set_up(self, up: bool, now: float) -> None:
        for d in self.directions.values():
            d.set_up(up, now)

    def unroute(self, address: bytes) -> None:
        for d in self.directions.values():
            d.unrouted.add(address)

    def reroute(self, address: bytes) -> None:
        for d in self.directions.values():
            d.unrouted.discard(address)

    def next_due(self) -> float | None:
        times = [t for t in (d.next_due() for d in self.directions.values()) if t is not None]
        return min(times) if times else None

    def counters(self) -> dict[str, dict[str, int]]:
        return {side: d.counters.as_dict() for side, d in self.directions.items()}
