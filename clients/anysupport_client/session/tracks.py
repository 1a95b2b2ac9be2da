"""Received media as aiortc ``MediaStreamTrack``s, and the connection figures the console shows.

An ``AgentSession`` decodes the customer's video and voice once; every consumer (the viewer, a
recorder, a voice player) takes its own track from a ``TrackFanout`` and reads it with
``await track.recv()``, as aiortc consumers do. Each track has a small queue: a consumer that falls
behind loses the oldest items (a viewer wants the newest picture), never slows the others, and
``track.dropped`` counts what it lost. ``stop()`` ends the track (``recv`` then raises
``MediaStreamError``).

Timestamps: ``pts`` counts from the session's first media frame, in ``time_base`` units (1/90000
for video and packets, 1/48000 for audio), from the sender's capture clock, so audio and video of
one session line up for a recorder.
"""

from __future__ import annotations

import asyncio
import fractions
from collections import deque
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
AUDIO_RATE = 48000
AUDIO_TIME_BASE = fractions.Fraction(1, AUDIO_RATE)

__all__ = ["AUDIO_TIME_BASE", "VIDEO_TIME_BASE", "ConnectionStats", "MediaClock", "ReceivedTrack", "TrackFanout"]


class MediaClock:
    """Sender capture times (µs) → pts from the first frame of a session, shared by its tracks."""

    def __init__(self) -> None:
        self.base_us: int | None = None

    def reset(self) -> None:
        self.base_us = None

    def offset_us(self, timestamp_us: int) -> int:
        if self.base_us is None:
            self.base_us = timestamp_us
        return max(0, timestamp_us - self.base_us)

    def video_pts(self, timestamp_us: int) -> int:
        return self.offset_us(timestamp_us) * 9 // 100

    def audio_pts(self, timestamp_us: int) -> int:
        return self.offset_us(timestamp_us) * 48 // 1000


class ReceivedTrack(MediaStreamTrack):
    """One consumer's view of a received stream (``kind`` ``video`` or ``audio``)."""

    def __init__(self, kind: str, fanout: TrackFanout, maxsize: int):
        super().__init__()
        self.kind = kind
        self._fanout = fanout
        self._items: deque[Any] = deque()
        self._maxsize = maxsize
        self._waiter: asyncio.Future | None = None
        self.dropped = 0

    def put(self, item: Any) -> None:
        if len(self._items) >= self._maxsize:
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def recv(self) -> Any:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            if self._items:
                return self._items.popleft()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def pending(self) -> int:
        return len(self._items)

    def stop(self) -> None:
        super().stop()
        self._fanout.remove(self)
        self._wake()


class TrackFanout:
    """One received stream, handed to every track subscribed to it."""

    def __init__(self, kind: str, maxsize: int = 8):
        self.kind = kind
        self.maxsize = maxsize
        self.tracks: list[ReceivedTrack] = []

    def subscribe(self, maxsize: int | None = None) -> ReceivedTrack:
        track = ReceivedTrack(self.kind, self, maxsize or self.maxsize)
        self.tracks.append(track)
        return track

    def remove(self, track: ReceivedTrack) -> None:
        if track in self.tracks:
            self.tracks.remove(track)

    def push(self, item: Any) -> None:
        for track in list(self.tracks):
            track.put(item)

    def stop(self) -> None:
        for track in list(self.tracks):
            track.stop()

    def __bool__(self) -> bool:
        return bool(self.tracks)


def audio_frame(pcm: np.ndarray, pts: int) -> av.AudioFrame:
    """int16 mono PCM at 48 kHz as an ``av.AudioFrame`` with its pts."""
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm, np.int16).reshape(1, -1), format="s16",
                                       layout="mono")
    frame.sample_rate = AUDIO_RATE
    frame.pts = pts
    frame.time_base = AUDIO_TIME_BASE
    return frame


def video_packet(payload: bytes, pts: int, keyframe: bool) -> av.Packet:
    """One received H.264 access unit (Annex B) as an ``av.Packet``, for remuxing without re-encoding."""
    packet = av.Packet(payload)
    packet.pts = packet.dts = pts
    packet.time_base = VIDEO_TIME_BASE
    packet.is_keyframe = keyframe
    return packet


class ConnectionStats:
    """Bitrate, frame rate and latency of the received video over a sliding window (injected clock)."""

    def __init__(self, window: float = 2.0, clock: Callable[[], float] | None = None):
        import time

        self.window = window
        self.clock = clock or time.monotonic
        self._frames: deque[tuple[float, int]] = deque()  # (time, bytes) of each received frame
        self._decoded: deque[float] = deque()
        self._latency: deque[tuple[float, float]] = deque()
        self.rtt_ms: float | None = None
        self.late_ms: float | None = None

    def _trim(self, now: float) -> None:
        edge = now - self.window
        for queue in (self._frames, self._latency):
            while queue and queue[0][0] < edge:
                queue.popleft()
        while self._decoded and self._decoded[0] < edge:
            self._decoded.popleft()

    def received(self, size: int) -> None:
        now = self.clock()
        self._frames.append((now, size))
        self._trim(now)

    def decoded(self, latency_ms: float | None = None) -> None:
        now = self.clock()
        self._decoded.append(now)
        if latency_ms is not None:
            self._latency.append((now, latency_ms))
        self._trim(now)

    def snapshot(self) -> dict[str, Any]:
        """``bitrate_kbps``, ``fps``, ``latency_ms`` (glass to glass where the picture carries a stamp,
        else None), ``late_ms`` (how much later than the link's best frames arrive), ``rtt_ms`` (to the server)."""
        now = self.clock()
        self._trim(now)
        span = self.window
        bits = sum(size for _, size in self._frames) * 8
        latencies = sorted(v for _, v in self._latency)
        return {"bitrate_kbps": round(bits / span / 1000, 1), "fps": round(len(self._decoded) / span, 1),
                "latency_ms": round(latencies[len(latencies) // 2], 1) if latencies else None,
                "late_ms": self.late_ms, "rtt_ms": self.rtt_ms}
