"""The network profiles of issue 19, and what each figure means on the emulated link.

- ``rate_bps``: what the bottleneck of each direction serialises, in bits of whole IP packets per
  second (headers included, as mahimahi counts them); ``None`` is unlimited;
- ``rtt_ms``: the round-trip propagation delay; each direction delays packets by half of it;
- ``loss``: the probability that a packet is lost, drawn for every packet in each direction (a
  round trip through a lossy link loses about twice as much);
- ``jitter_ms``: each packet's one-way delay is drawn uniformly within ± this (as netem's
  ``delay D J``); packets keep their order unless ``reorder`` is set, so a packet drawn early
  waits for the one before it;
- ``queue_ms``: the bottleneck's drop-tail buffer, as the time it takes to drain at the rate
  (a packet that would make the backlog longer is dropped);
- ``outage_s`` / ``new_address``: the handover: the link goes down for this long (everything
  queued or in flight is lost) and comes back with the customer on a new address, the old one no
  longer routed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    name: str
    rate_bps: float | None
    rtt_ms: float
    loss: float = 0.0
    jitter_ms: float = 0.0
    queue_ms: float = 200.0
    reorder: bool = False
    outage_s: float = 0.0
    new_address: bool = False

    @property
    def one_way_s(self) -> float:
        return self.rtt_ms / 2000

    @property
    def jitter_s(self) -> float:
        return self.jitter_ms / 1000

    @property
    def queue_bytes(self) -> int | None:
        """The drop-tail bound in bytes (None: unlimited rate, nothing queues)."""
        if self.rate_bps is None:
            return None
        return max(3000, int(self.rate_bps / 8 * self.queue_ms / 1000))

    def with_(self, **changes) -> Profile:
        return replace(self, **changes)

    def describe(self) -> str:
        rate = "unlimited" if self.rate_bps is None else (
            f"{self.rate_bps / 1e6:g} Mbit/s" if self.rate_bps >= 1e6 else f"{self.rate_bps / 1e3:g} kbit/s")
        parts = [rate, f"RTT {self.rtt_ms:g} ms", f"loss {self.loss * 100:g} %"]
        if self.jitter_ms:
            parts.append(f"jitter ±{self.jitter_ms:g} ms")
        if self.outage_s:
            parts.append(f"down {self.outage_s:g} s" + (", new address" if self.new_address else ""))
        return ", ".join(parts)


LTE = Profile("lte", 10e6, 50, loss=0.005)

PROFILES: dict[str, Profile] = {
    "wifi": Profile("wifi", 30e6, 10),
    "lte": LTE,
    "congested": Profile("congested", 2e6, 150, loss=0.02, jitter_ms=30),
    "3g": Profile("3g", 750e3, 300, loss=0.01),
    "handover": LTE.with_(name="handover", outage_s=2.0, new_address=True),
}
