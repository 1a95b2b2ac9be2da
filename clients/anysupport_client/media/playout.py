"""The jitter buffer: received voice packets in, a steady stream of samples out.

Packets come off the network unevenly (and now and then late, out of order or never); a speaker
takes samples at an exact rate. ``JitterBuffer`` sits between: ``push(sequence, pcm)`` as packets
arrive, ``pull(n)`` whenever the device wants ``n`` samples — it always gets ``n``.

- Packets are placed by their **sequence number** (each is one 20 ms Opus packet), not by the
  sender's wall clock, so the samples join without clicks.
- Play starts once ``target`` milliseconds are buffered (the pre-buffer). The target follows the
  measured arrival jitter (RFC 3550's running estimate, from the injected ``clock``): three times
  the jitter plus one packet, between ``min_ms`` and ``max_ms`` — or, when larger, the 95th
  percentile of recent packet lateness plus one packet. Lateness is how much later than the
  earliest-ever-seen packet of the last 10 s a packet arrives for its place in the sequence. Over a
  WebSocket a lost TCP segment holds every packet behind it for a round trip or more: a stall the
  smoothed jitter hides, and which emptied the buffer 28–42 times a minute on the lab's congested
  and 3G links (docs/netlab.md). ``max_ms`` (450 ms) bounds it: 3G's round trip (300 ms) + 100 ms
  + a packet.
- A missing packet at the play head is lost: its time is filled with silence and play goes on.
  A packet arriving after its time is dropped (``late``). Running dry is an ``underrun``: play stops
  and pre-buffers again.
- More than ``max_ms`` buffered (the device stalled, a burst arrived) drops the oldest packets back
  to the target, so the voice never lags far behind the picture.
- A sequence that jumps far back (a new key restarts the sender's sequences) starts afresh.

No threads or devices here: ``VoiceOutput`` (``speaker.py``) calls it under its lock.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

RATE = 48000
PACKET_SAMPLES = 960  # 20 ms
RESTART_GAP = 50  # packets: a jump back this far is a new stream, not a late packet
LATENESS_WINDOW = 10.0  # seconds over which the earliest arrival is remembered
LATENESS_PACKETS = 250  # packets (5 s) whose lateness the target follows
LATENESS_PERCENTILE = 95
SILENCE_RESTARTS = 1.0  # seconds without a packet: the sender paused; lateness starts afresh


class JitterBuffer:
    def __init__(self, *, min_ms: float = 60.0, max_ms: float = 450.0, rate: int = RATE,
                 packet_samples: int = PACKET_SAMPLES, clock: Callable[[], float] | None = None):
        self.rate = rate
        self.packet_samples = packet_samples
        self.min_samples = int(min_ms * rate / 1000)
        self.max_samples = int(max_ms * rate / 1000)
        self.clock = clock or time.monotonic
        self.packets: dict[int, np.ndarray] = {}
        self.next_seq: int | None = None  # the packet at the play head
        self.offset = 0  # samples of that packet already played
        self.playing = False
        self.jitter_s = 0.0
        self._last_arrival: tuple[int, float] | None = None  # (sequence, arrival time)
        self._earliest: deque[tuple[float, float]] = deque()  # (arrival, arrival − its place), increasing
        self.lateness: deque[float] = deque(maxlen=LATENESS_PACKETS)  # seconds, per packet
        self._late_p95: float | None = None  # cached until the next packet
        self.received = self.late = self.lost = self.underruns = self.overflow_dropped = self.restarts = 0
        self.samples_out = self.samples_played = 0

    # -- in ------------------------------------------------------------------------------------------
    def push(self, sequence: int, pcm: np.ndarray) -> None:
        arrival = self.clock()
        pcm = np.asarray(pcm, np.int16).reshape(-1)
        if not len(pcm):
            return
        if self.next_seq is not None and sequence < self.next_seq - RESTART_GAP:
            self.reset()
            self.restarts += 1
        self._estimate_jitter(sequence, arrival)
        self._measure_lateness(sequence, arrival)
        if self.next_seq is not None and (sequence < self.next_seq or (sequence == self.next_seq and self.offset)):
            self.late += 1
            return
        self.received += 1
        self.packets[sequence] = pcm
        if self.buffered > self.max_samples:
            self._drop_to(self.target_samples)

    def _estimate_jitter(self, sequence: int, arrival: float) -> None:
        if self._last_arrival is not None:
            last_seq, last_arrival = self._last_arrival
            sent_gap = (sequence - last_seq) * self.packet_samples / self.rate
            d = (arrival - last_arrival) - sent_gap
            self.jitter_s += (abs(d) - self.jitter_s) / 16
        if self._last_arrival is None or sequence > self._last_arrival[0]:
            self._last_arrival = (sequence, arrival)

    def _measure_lateness(self, sequence: int, arrival: float) -> None:
        if self._earliest and arrival - self._earliest[-1][0] > SILENCE_RESTARTS:
            self._earliest.clear()  # a pause in the sender: its sequence no longer matches the clock
        offset = arrival - sequence * self.packet_samples / self.rate
        while self._earliest and self._earliest[-1][1] >= offset:
            self._earliest.pop()
        self._earliest.append((arrival, offset))
        while self._earliest[0][0] < arrival - LATENESS_WINDOW:
            self._earliest.popleft()
        self.lateness.append(offset - self._earliest[0][1])
        self._late_p95 = None

    @property
    def late_p95_s(self) -> float:
        if self._late_p95 is None:
            self._late_p95 = float(np.percentile(self.lateness, LATENESS_PERCENTILE)) if self.lateness else 0.0
        return self._late_p95

    def _drop_to(self, samples: int) -> None:
        for sequence in sorted(self.packets):
            if self.buffered - len(self.packets[sequence]) < samples:
                break  # keep at least the target: play goes on at once
            if self.next_seq is not None and sequence == self.next_seq:
                self.next_seq, self.offset = sequence + 1, 0
            del self.packets[sequence]
            self.overflow_dropped += 1
        if self.packets and self.next_seq is not None and self.next_seq < min(self.packets):
            self.next_seq, self.offset = min(self.packets), 0

    # -- out -----------------------------------------------------------------------------------------
    @property
    def target_samples(self) -> int:
        wanted = int(max(3 * self.jitter_s, self.late_p95_s) * self.rate) + self.packet_samples
        return max(self.min_samples, min(self.max_samples, wanted))

    @property
    def buffered(self) -> int:
        """Samples waiting to be played."""
        total = sum(len(p) for p in self.packets.values())
        if self.next_seq is not None and self.next_seq in self.packets:
            total -= self.offset
        return total

    def pull(self, n: int) -> np.ndarray:
        """Exactly ``n`` samples (int16): the voice where there is some, silence elsewhere."""
        out = np.zeros(n, np.int16)
        self.samples_out += n
        if not self.playing:
            if not self.packets or self.buffered < self.target_samples:
                return out
            self.playing = True
            first = min(self.packets)
            if self.next_seq is None or first > self.next_seq:
                self.next_seq, self.offset = first, 0
        filled = 0
        while filled < n:
            packet = self.packets.get(self.next_seq)
            if packet is not None:
                take = min(n - filled, len(packet) - self.offset)
                out[filled:filled + take] = packet[self.offset:self.offset + take]
                filled += take
                self.samples_played += take
                self.offset += take
                if self.offset >= len(packet):
                    del self.packets[self.next_seq]
                    self.next_seq, self.offset = self.next_seq + 1, 0
            elif self.packets:  # a later packet is here: this one is lost; its time stays silent
                take = min(n - filled, self.packet_samples - self.offset)
                filled += take
                self.offset += take
                if self.offset >= self.packet_samples:
                    self.lost += 1
                    self.next_seq, self.offset = self.next_seq + 1, 0
            else:  # dry: pre-buffer again
                self.underruns += 1
                self.playing = False
                break
        return out

    def reset(self) -> None:
        self.packets.clear()
        self.next_seq = None
        self.offset = 0
        self.playing = False
        self._last_arrival = None
        self._earliest.clear()

    def stats(self) -> dict[str, Any]:
        return {"buffered_ms": round(self.buffered * 1000 / self.rate, 1),
                "target_ms": round(self.target_samples * 1000 / self.rate, 1),
                "jitter_ms": round(self.jitter_s * 1000, 1), "late_p95_ms": round(self.late_p95_s * 1000, 1),
                "received": self.received, "late": self.late,
                "lost": self.lost, "underruns": self.underruns, "overflow_dropped": self.overflow_dropped,
                "restarts": self.restarts, "played_ms": round(self.samples_played * 1000 / self.rate, 1)}
