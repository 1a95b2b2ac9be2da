"""Receiving: opened frames → H.264 / Opus decode, with loss recovery and reports for the sender.

``VideoReceiver`` counts sequence gaps as loss. After a gap, a decode error or at the start it
drops non-key frames until the next keyframe and asks the sender for one (at most every
``KEYFRAME_REQUEST_GAP`` seconds). It measures lateness without trusting the two clocks to agree:
each frame's transit (arrival − capture timestamp) minus the smallest transit seen recently is how
late that frame is compared with the best the link has done. Every ``report_interval`` seconds
(0.25 s) it sends a ``media_report`` (received, lost, the 80th percentile of lateness, the payload
bytes received and the capture time of the newest frame: the sender's goodput and ack clock) for
the sender's adaptation.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from anysupport_native.framing import STREAM_NAMES, FrameHeader

from .codec import DecodeError, OpusDecoder, VideoDecoder

log = logging.getLogger("anysupport.client.media")

KEYFRAME_REQUEST_GAP = 0.5
BASE_WINDOW = 10.0  # seconds over which the best transit is remembered


class _Loss:
    def __init__(self) -> None:
        self.expected: int | None = None
        self.received = 0
        self.lost = 0
        self.total_received = 0
        self.total_lost = 0

    def reset(self) -> None:
        self.expected = None

    def see(self, sequence: int) -> int:
        """Record a sequence number; returns how many were skipped before it."""
        gap = 0
        if self.expected is not None and sequence > self.expected:
            gap = sequence - self.expected
            self.lost += gap
            self.total_lost += gap
        if self.expected is None or sequence >= self.expected:
            self.expected = sequence + 1
        self.received += 1
        self.total_received += 1
        return gap


class _Lateness:
    def __init__(self) -> None:
        self.base: deque[tuple[float, int]] = deque()  # (arrival s, transit µs), increasing transit
        self.samples: list[float] = []

    def see(self, capture_us: int, arrival_us: int) -> float:
        transit = arrival_us - capture_us
        now = arrival_us / 1e6
        while self.base and self.base[-1][1] >= transit:
            self.base.pop()
        self.base.append((now, transit))
        while self.base[0][0] < now - BASE_WINDOW:
            self.base.popleft()
        late_ms = max(0.0, (transit - self.base[0][1]) / 1000)
        self.samples.append(late_ms)
        return late_ms

    def take(self) -> float:
        if not self.samples:
            return 0.0
        value = float(np.percentile(self.samples, 80))
        self.samples.clear()
        return value


class VideoReceiver:
    def __init__(self, stream: int, *, on_frame: Callable[[av.VideoFrame, FrameHeader, int], None] | None = None,
                 request_keyframe: Callable[[str], None] | None = None,
                 send_report: Callable[[dict[str, Any]], None] | None = None, report_interval: float = 0.25):
        self.stream = stream
        self.name = STREAM_NAMES[stream]
        self.on_frame = on_frame
        self.request_keyframe = request_keyframe
        self.send_report = send_report
        self.report_interval = report_interval
        self.decoder = VideoDecoder()
        self.loss = _Loss()
        self.lateness = _Lateness()
        self.awaiting_keyframe = True
        self.frames_decoded = 0
        self.frames_discarded = 0
        self.decode_errors = 0
        self.keyframe_requests = 0
        self.width = self.height = 0
        self.bytes = 0  # payload bytes since the last report
        self.last_us: int | None = None  # the newest capture time received
        self._last_request = -1e9
        self._last_report = time.monotonic()

    def new_key(self) -> None:
        """A new key restarts the sender's sequences: forget the old ones, wait for an IDR."""
        self.loss.reset()
        self.awaiting_keyframe = True

    def _ask_keyframe(self, reason: str) -> None:
        now = time.monotonic()
        if now - self._last_request >= KEYFRAME_REQUEST_GAP and self.request_keyframe is not None:
            self._last_request = now
            self.keyframe_requests += 1
            self.request_keyframe(reason)

    def receive(self, header: FrameHeader, payload: bytes, arrival_us: int | None = None) -> list[av.VideoFrame]:
        arrival_us = arrival_us if arrival_us is not None else time.time_ns() // 1000
        gap = self.loss.see(header.sequence)
        self.lateness.see(header.timestamp_us, arrival_us)
        self.bytes += len(payload)
        if self.last_us is None or header.timestamp_us > self.last_us:
            self.last_us = header.timestamp_us
        if gap and not header.keyframe:
            self.awaiting_keyframe = True
        frames: list[av.VideoFrame] = []
        if self.awaiting_keyframe and not header.keyframe:
            self.frames_discarded += 1
            self._ask_keyframe("loss" if gap else "start")
        else:
            try:
                frames = self.decoder.decode(payload)
                self.awaiting_keyframe = False
            except DecodeError as exc:
                log.info("%s: decode error (%s); waiting for a keyframe", self.name, exc)
                self.decode_errors += 1
                self.decoder.reset()
                self.awaiting_keyframe = True
                self._ask_keyframe("decode_error")
        for frame in frames:
            self.frames_decoded += 1
            self.width, self.height = frame.width, frame.height
            if self.on_frame is not None:
                self.on_frame(frame, header, arrival_us)
        self.maybe_report()
        return frames

    def maybe_report(self, force: bool = False) -> dict[str, Any] | None:
        now = time.monotonic()
        if not force and now - self._last_report < self.report_interval:
            return None
        self._last_report = now
        report = {"type": "media_report", "stream": self.name, "received": self.loss.received,
                  "lost": self.loss.lost, "late_ms": round(min(600000.0, self.lateness.take()), 1),
                  "bytes": self.bytes, **({"last_us": self.last_us} if self.last_us is not None else {})}
        self.loss.received = self.loss.lost = self.bytes = 0
        if self.send_report is not None:
            self.send_report(report)
        return report

    def stats(self) -> dict[str, Any]:
        return {"decoded": self.frames_decoded, "discarded": self.frames_discarded, "lost": self.loss.total_lost,
                "errors": self.decode_errors, "keyframe_requests": self.keyframe_requests,
                "size": (self.width, self.height)}


class AudioReceiver:
    """Opus packets → int16 mono PCM at 48 kHz, handed to ``on_audio(pcm, header)`` (the header's
    ``timestamp_us`` is the sender's capture time: players and recorders place the samples by it)."""

    def __init__(self, stream: int, *, on_audio: Callable[[np.ndarray, FrameHeader], None] | None = None):
        self.stream = stream
        self.name = STREAM_NAMES[stream]
        self.decoder = OpusDecoder()
        self.on_audio = on_audio
        self.loss = _Loss()
        self.packets = 0
        self.samples = 0

    def new_key(self) -> None:
        self.loss.reset()

    def receive(self, header: FrameHeader, payload: bytes, arrival_us: int | None = None) -> np.ndarray:
        self.loss.see(header.sequence)
        pcm = self.decoder.decode(payload)
        self.packets += 1
        self.samples += len(pcm)
        if self.on_audio is not None and len(pcm):
            self.on_audio(pcm, header)
        return pcm
