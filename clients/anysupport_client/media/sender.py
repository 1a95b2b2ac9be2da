"""Sending: source → shape (crop, native scale) → encode → hand to the session, which seals and sends.

``VideoSender`` pulls frames from a track as fast as it delivers them, and for each one decides:
paused or no keys yet → skip; frame-rate adaptation says not yet → skip; our own socket is not
draining → skip, count it as trouble and make the next frame a keyframe. Otherwise the frame is
shaped to the adapter's current size, encoded (an IDR when asked, at most a few per second) and
passed to ``send(stream, payload, keyframe, timestamp_us)``. Everything runs on the event loop: at
these sizes x264 ultrafast takes 1–5 ms, less than a thread hop would cost in jitter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .adaptation import Adapter
from .codec import FrameShaper, OpusEncoder, VideoEncoder
from .quality import LEVELS, Quality

log = logging.getLogger("anysupport.client.media")

SendFn = Callable[[int, bytes, bool, int], bool]
MIN_KEYFRAME_GAP = 0.25  # seconds: at most four requested keyframes a second
BACKLOG_SECONDS = 0.25  # unsent bytes worth this much of the bitrate mean the link is not keeping up


class _SendLoop:
    """A sender's task: ``_run`` pulls frames from the track until stopped."""

    _task: asyncio.Task | None = None

    def start(self) -> asyncio.Task:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    async def _frames(self):
        """The track's frames until it ends."""
        while True:
            try:
                yield await self.track.recv()
            except MediaStreamError:
                return

    async def _run(self) -> None:  # pragma: no cover - every sender defines it
        raise RuntimeError("a sender must define _run")


class VideoSender(_SendLoop):
    def __init__(self, track: MediaStreamTrack, stream: int, send: SendFn, *, level: str = "medium",
                 adapter: Adapter | None = None, pending_bytes: Callable[[], int] = lambda: 0,
                 on_preview: Callable[[av.VideoFrame], None] | None = None,
                 on_quality: Callable[[Quality], None] | None = None):
        self.track = track
        self.stream = stream
        self.send = send
        self.adapter = adapter or Adapter(level)
        if adapter is not None and adapter.level.name != level:
            self.adapter.set_level(level)
        self.pending_bytes = pending_bytes
        self.on_preview = on_preview
        self.on_quality = on_quality
        self.shaper = FrameShaper()
        self.encoder: VideoEncoder | None = None
        self.enabled = True  # the user's or the agent's stop/start
        self.ready = lambda: True  # the session says whether keys and socket are there
        self.frames_sent = 0
        self.frames_skipped = 0
        self.keyframes_sent = 0
        self.bytes_sent = 0
        self._force_keyframe = True
        self._last_keyframe = -1e9
        self._next_due = 0.0
        self._task: asyncio.Task | None = None
        self._request_source_format()

    # -- control -----------------------------------------------------------------------------------
    @property
    def level(self) -> str:
        return self.adapter.level.name

    @property
    def quality(self) -> Quality:
        return self.adapter.quality

    def set_level(self, level: str) -> None:
        if level not in LEVELS:
            raise ValueError(f"unknown quality level {level!r}")
        self.adapter.set_level(level)
        self._request_source_format()
        self._quality_changed()

    def _request_source_format(self) -> None:
        top = self.adapter.level.quality
        request = getattr(self.track, "request_format", None)
        if request is not None:
            request(top.width, top.height, top.fps)

    def _quality_changed(self) -> None:
        if self.on_quality is not None:
            self.on_quality(self.adapter.quality)

    def set_enabled(self, on: bool) -> None:
        if on and not self.enabled:
            self._force_keyframe = True  # resume with a picture the receiver can start from
        self.enabled = on

    def request_keyframe(self) -> None:
        self._force_keyframe = True

    def trouble(self, reason: str) -> None:
        if self.adapter.trouble(reason):
            log.info("video adapts down to %s (%s)", self.adapter.quality.describe(), reason)
            self._quality_changed()

    def report(self, received: int, lost: int, late_ms: float) -> None:
        if self.adapter.report(received, lost, late_ms):
            log.info("video adapts down to %s (report: lost %d, late %.0f ms)", self.adapter.quality.describe(),
                     lost, late_ms)
            self._quality_changed()

    # -- the loop ----------------------------------------------------------------------------------
    async def _run(self) -> None:
        async for frame in self._frames():
            capture_us = time.time_ns() // 1000
            if self.on_preview is not None:
                self.on_preview(frame)
            try:
                self.process(frame, capture_us)
            except Exception:  # one bad frame must not end the stream
                log.exception("video frame not sent")
                self._force_keyframe = True

    def process(self, frame: av.VideoFrame, capture_us: int) -> bool:
        """Encode and send one captured frame if it is due; True when it was sent."""
        if not self.enabled or not self.ready():
            self.frames_skipped += 1
            return False
        if self.adapter.tick():
            log.info("video climbs back to %s", self.adapter.quality.describe())
            self._quality_changed()
        q = self.adapter.quality
        now = time.monotonic()
        interval = 1.0 / q.fps
        if now < self._next_due - interval / 2:
            self.frames_skipped += 1
            return False
        self._next_due = max(self._next_due + interval, now - interval)
        if self.pending_bytes() > max(32_768, q.bitrate / 8 * BACKLOG_SECONDS):
            self.frames_skipped += 1
            self._force_keyframe = True
            self.trouble("send backlog")
            return False
        if self.encoder is None:
            self.encoder = VideoEncoder(q)
        elif self.encoder.quality != q and self.encoder.configure(q):
            self._force_keyframe = True
        keyframe = self._force_keyframe and now - self._last_keyframe >= MIN_KEYFRAME_GAP
        shaped = self.shaper.shape(frame, q.width, q.height)
        sent = False
        for payload, is_key in self.encoder.encode(shaped, keyframe=keyframe):
            if self.send(self.stream, payload, is_key, capture_us):
                sent = True
                self.frames_sent += 1
                self.bytes_sent += len(payload)
                if is_key:
                    self.keyframes_sent += 1
                    self._last_keyframe = now
                    self._force_keyframe = False
            else:
                self._force_keyframe = True
        return sent

    def stats(self) -> dict[str, Any]:
        return {"sent": self.frames_sent, "skipped": self.frames_skipped, "keyframes": self.keyframes_sent,
                "bytes": self.bytes_sent, "quality": self.adapter.quality.describe(), "rung": self.adapter.rung}


class AudioSender(_SendLoop):
    """Source → Opus (20 ms packets) → ``send``; ``enabled`` is the voice call being on."""

    def __init__(self, track: MediaStreamTrack, stream: int, send: SendFn):
        self.track = track
        self.stream = stream
        self.send = send
        self.encoder = OpusEncoder()
        self.enabled = False
        self.ready = lambda: True
        self.packets_sent = 0
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        async for frame in self._frames():
            if not self.enabled or not self.ready():
                continue
            capture_us = time.time_ns() // 1000
            for payload in self.encoder.encode(frame):
                if self.send(self.stream, payload, False, capture_us):
                    self.packets_sent += 1
