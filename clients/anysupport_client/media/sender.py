"""Sending: source → shape (crop, native scale) → encode → hand to the session, which seals and sends.

``VideoSender`` pulls frames from a track as fast as it delivers them, and for each one decides:
paused or no keys yet → skip; frame-rate adaptation says not yet → skip; our own socket is not
draining → skip, count it as trouble and make the next frame a keyframe. Otherwise the frame is
shaped to the adapter's current size, encoded (an IDR when asked, at most a few per second) and
passed to ``send(stream, payload, keyframe, timestamp_us)``. Everything runs on the event loop: at
these sizes x264 ultrafast takes 1–5 ms, less than a thread hop would cost in jitter.

The ack clock (``AckClock``): the receiver's ``media_report`` says the capture time of the newest
frame it has (``last_us``); what we sent after it is still on its way. While that is more than
about a round trip (plus the reports' spacing) of the bitrate, frames are held, not encoded: the
backlog stays out of every buffer (ours, Tornado's, the kernel's, the relay's) and the hold counts
as trouble. It works for the page too, which cannot see the kernel's buffer (docs/netlab.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
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
ACK_MARGIN = 0.2  # seconds of the bitrate allowed in flight beyond the round trip and the reports' spacing
ACK_MIN_WINDOW = 12_000  # bytes always allowed in flight (a keyframe of the low rungs)
DEFAULT_RTT_MS = 200.0  # until a ping has measured it
HOLD_TROUBLE = 0.5  # seconds of holding or backlog (or two round trips, if longer) before it counts as trouble:
# a lost segment's retransmission (the RTO, 200 ms or more) stalls the socket with no congestion


class AckClock:
    """Video bytes sent and not yet acknowledged by the receiver's reports (``last_us``: the capture time
    of the newest frame it received). Frames go in capture order, so one acknowledges all before it,
    the ones the relay dropped included. Until the first acknowledgement (a receiver that does not
    send ``last_us``) and the second, and when they stop for ``stale_after`` seconds, nothing is held."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, stale_after: float = 2.0):
        self.clock = clock
        self.stale_after = stale_after
        self.frames: deque[tuple[int, int]] = deque()  # (capture µs, bytes) not yet acknowledged
        self.in_flight = 0
        self.spacing = 0.25  # seconds between acknowledgements, as last seen
        self.last_ack: float | None = None
        self.acks = 0
        self.held = 0
        self.holding_since: float | None = None  # when the current run of held frames began

    def sent(self, capture_us: int, size: int) -> None:
        self.frames.append((capture_us, size))
        self.in_flight += size

    def acked(self, last_us: int) -> None:
        now = self.clock()
        if self.last_ack is not None:
            self.spacing = min(1.0, max(0.05, now - self.last_ack))
        self.last_ack = now
        self.acks += 1
        while self.frames and self.frames[0][0] <= last_us:
            self.in_flight -= self.frames.popleft()[1]

    def reset(self) -> None:
        """A new connection: what was in flight on the old one is gone."""
        self.frames.clear()
        self.in_flight = 0

    def window(self, bitrate: int, rtt_ms: float | None) -> int:
        rtt = (rtt_ms if rtt_ms is not None else DEFAULT_RTT_MS) / 1000
        return max(ACK_MIN_WINDOW, int(bitrate / 8 * (rtt + self.spacing + ACK_MARGIN)))

    def holding(self, bitrate: int, rtt_ms: float | None) -> bool:
        """Whether to hold the next frame: more in flight than the window, beyond the largest frame in
        flight (a keyframe is a burst the window must not count against the link)."""
        now = self.clock()
        largest = max((size for _, size in self.frames), default=0)
        if (self.acks < 2 or now - self.last_ack > max(self.stale_after, 4 * (rtt_ms or 0) / 1000)
                or self.in_flight - largest <= self.window(bitrate, rtt_ms)):
            self.holding_since = None  # the reports' spacing is known from the second on; stale ones pace nothing
            return False
        self.held += 1
        if self.holding_since is None:
            self.holding_since = now
        return True

    def held_for(self) -> float:
        """Seconds the current run of held frames has lasted (0 when not holding)."""
        return 0.0 if self.holding_since is None else self.clock() - self.holding_since


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
        self.acks = AckClock()
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
        self._backlog_since: float | None = None  # when the current run of backlog skips began
        self._dropped_here = 0  # frames we dropped as stale that the receiver's reports have not counted yet
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

    def report(self, received: int, lost: int, late_ms: float, received_bytes: int | None = None,
               last_us: int | None = None) -> None:
        """A ``media_report`` for our stream (``received_bytes``/``last_us``: its ``bytes``/``last_us``, when given)."""
        if last_us is not None:
            self.acks.acked(last_us)
        ours = min(lost, self._dropped_here)  # gaps we made ourselves are not the link's loss
        self._dropped_here -= ours
        lost -= ours
        if self.adapter.report(received, lost, late_ms, received_bytes):
            log.info("video adapts down to %s (%s)", self.adapter.quality.describe(), self.adapter.history[-1][2])
            self._quality_changed()

    def round_trip(self, rtt_ms: float) -> None:
        """The measured round trip: the ack clock's window, the adapter's thresholds and its start."""
        rung = self.adapter.rung
        if self.adapter.round_trip(rtt_ms):
            log.info("video %s to %s (%s)", "adapts down" if self.adapter.rung > rung else "climbs back",
                     self.adapter.quality.describe(), self.adapter.history[-1][2])
            self._quality_changed()

    def dropped_here(self, count: int) -> None:
        """``count`` sealed frames were dropped before they left (stale in the socket's queue): the
        next is a keyframe, and the receiver's reports will count them as lost, which is not the link's."""
        self._dropped_here += count
        self.request_keyframe()

    def reconnected(self) -> None:
        self.acks.reset()
        self.request_keyframe()

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
        lasting = max(HOLD_TROUBLE, 2 * (self.adapter.rtt_ms or 0) / 1000)  # pacing that lasts: congestion
        if self.pending_bytes() > max(32_768, q.bitrate / 8 * BACKLOG_SECONDS):
            # skipped before encoding, so no reference is lost: no keyframe needed
            self.frames_skipped += 1
            self.adapter.sent(int(q.bitrate / 8 / q.fps))  # offered: a frame not sent still wanted its share
            self._backlog_since = now if self._backlog_since is None else self._backlog_since
            if now - self._backlog_since >= lasting:
                self.trouble("send backlog")
            return False
        self._backlog_since = None
        if self.acks.holding(q.bitrate, self.adapter.rtt_ms):
            self.frames_skipped += 1
            self.adapter.sent(int(q.bitrate / 8 / q.fps))  # offered: held, the link's goodput is all it gets
            if self.acks.held_for() >= lasting:
                self.trouble(f"unacknowledged {self.acks.in_flight // 1000} kB")
            elif self.adapter.paced():
                log.info("video adapts down to %s (%s)", self.adapter.quality.describe(), self.adapter.history[-1][2])
                self._quality_changed()
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
                self.acks.sent(capture_us, len(payload))
                self.adapter.sent(len(payload))
                if is_key:
                    self.keyframes_sent += 1
                    self._last_keyframe = now
                    self._force_keyframe = False
            else:
                self._force_keyframe = True
        return sent

    def stats(self) -> dict[str, Any]:
        return {"sent": self.frames_sent, "skipped": self.frames_skipped, "keyframes": self.keyframes_sent,
                "bytes": self.bytes_sent, "quality": self.adapter.quality.describe(), "rung": self.adapter.rung,
                "held": self.acks.held, "in_flight": self.acks.in_flight}


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
