"""Where pictures and sound come from: aiortc ``MediaStreamTrack``s with camera controls beside them.

Video sources:

- ``TestPatternTrack`` (``test``): a moving pattern made here, every frame stamped with its number
  and capture time (``stamp``). It stands in for a phone camera: it obeys flash, focus and
  front/back switching by changing the picture, and records every command it got (``commands``).
- ``FileTrack`` (``file:PATH``): a video file decoded by PyAV through aiortc's ``MediaPlayer``,
  looping, paced in real time.
- ``CameraTrack`` (``camera[:N]``): a real camera through ``MediaPlayer``: v4l2 (``/dev/videoN``) on
  Linux, avfoundation on macOS, dshow on Windows. ``camera:0,1`` names a back and a front camera, so
  switching works; a desktop camera has no flash and no remote focus, and says so.

Audio sources: ``ToneTrack`` (``tone``, a 440 Hz test tone, 20 ms frames) and ``MicrophoneTrack``
(``mic[:DEVICE]``: through SoundCard, PulseAudio on Linux, WASAPI on Windows, Core Audio on macOS).

Every source answers ``capabilities()`` honestly: that dict goes to the agent as the
``capabilities`` message, and the agent console greys out what the device cannot do.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import platform
import threading
import time
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from anysupport_native import convert

from .stamp import stamp_chroma, stamp_luma

VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
log = logging.getLogger("anysupport.client.media")

AUDIO_RATE = 48000
AUDIO_FRAME_SAMPLES = 960  # 20 ms


class VideoSource(MediaStreamTrack):
    """A video track with the phone-camera controls the agent can use remotely."""

    kind = "video"
    description = "video source"

    def __init__(self) -> None:
        super().__init__()
        self.flash = False
        self.facing = "back"
        self.focus_point: tuple[float, float] | None = None
        self.commands: list[tuple[str, Any]] = []

    def capabilities(self) -> dict[str, Any]:
        return {"flash": False, "focus": False, "cameras": ["back"], "device": self.description}

    def request_format(self, width: int, height: int, fps: float) -> None:
        """What the pipeline would like to receive; sources that can, deliver it (others get scaled)."""

    def set_flash(self, on: bool) -> bool:
        self.commands.append(("flash", on))
        if not self.capabilities()["flash"]:
            return False
        self.flash = on
        return True

    def set_focus(self, x: float, y: float) -> bool:
        self.commands.append(("focus", (x, y)))
        if not self.capabilities()["focus"]:
            return False
        self.focus_point = (x, y)
        return True

    def switch(self, facing: str) -> bool:
        self.commands.append(("switch", facing))
        if facing not in self.capabilities()["cameras"]:
            return False
        self.facing = facing
        return True


class TestPatternTrack(VideoSource):
    """A moving, stamped picture at the requested size and rate (a camera stand-in)."""

    description = "test pattern"
    __test__ = False  # not a pytest test class

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30, *, sensor: tuple[int, int] | None = None):
        super().__init__()
        self.sensor = sensor  # a fixed capture size (scaled by the pipeline), or follow requests
        self.width, self.height = sensor or (width, height)
        self.fps = fps
        self.frame_number = 0
        self._start: float | None = None
        self._next = 0.0
        self._focus_until = 0.0
        self._build()

    def capabilities(self) -> dict[str, Any]:
        return {"flash": True, "focus": True, "cameras": ["back", "front"], "device": self.description}

    def request_format(self, width: int, height: int, fps: float) -> None:
        if self.sensor is None and (width, height) != (self.width, self.height):
            self.width, self.height = width, height
            self._build()
        self.fps = fps

    def set_focus(self, x: float, y: float) -> bool:
        ok = super().set_focus(x, y)
        self._focus_until = time.monotonic() + 1.0
        return ok

    def _build(self) -> None:
        w, h = self.width, self.height
        period = max(16, w // 8)
        self._period = period
        xs = np.arange(w + period)
        ys = np.arange(h)[:, None]
        # diagonal stripes under a vertical gradient: motion the encoder has to work for
        stripes = ((xs[None, :] + ys) % period < period // 2).astype(np.int16) * 60
        self._luma = np.clip(60 + stripes + (ys * 80 // max(1, h)), 16, 235).astype(np.uint8)
        cw, ch = (w + 1) // 2, (h + 1) // 2
        self._u = np.fromfunction(lambda yy, xx: 96 + (xx * 64 // max(1, cw)), (ch, cw)).astype(np.uint8)
        self._v = np.fromfunction(lambda yy, xx: 160 - (yy * 64 // max(1, ch)), (ch, cw)).astype(np.uint8)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._start is None:
            self._start = self._next = now
        else:
            self._next = max(self._next + 1 / self.fps, now - 1 / self.fps)  # never queue up a backlog
            if self._next > now:
                await asyncio.sleep(self._next - now)
        return self.render(int((loop.time() - self._start) * 90000))

    def render(self, pts: int) -> av.VideoFrame:
        w, h = self.width, self.height
        n = self.frame_number
        self.frame_number += 1
        frame = av.VideoFrame(w, h, "yuv420p")
        y, u, v = convert.planes_of(frame)
        offset = (n * 4) % self._period
        np.copyto(y, self._luma[:, offset:offset + w])
        if self.flash:
            np.add(y, 40, out=y, where=y < 195)
        np.copyto(u, self._u)
        np.copyto(v, self._v if self.facing == "back" else 255 - self._v)
        # a box bouncing across the lower half
        bw, bh = max(4, w // 8), max(4, h // 8)
        span = max(1, w - bw)
        bx = abs((n * 7) % (2 * span) - span)
        by = h // 2 + (h // 4 - bh // 2)
        y[by:by + bh, bx:bx + bw] = 235 if self.facing == "back" else 40
        if self.focus_point and time.monotonic() < self._focus_until:
            fx, fy = int(self.focus_point[0] * (w - 1)), int(self.focus_point[1] * (h - 1))
            r = max(4, h // 16)
            y[max(0, fy - r):fy + r, max(0, fx - 1):fx + 2] = 235
            y[max(0, fy - 1):fy + 2, max(0, fx - r):fx + r] = 235
        stamp_luma(y, n, time.time_ns() // 1000)
        stamp_chroma(u, v, h)
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        return frame


class _PlayerVideo(VideoSource):
    """A ``MediaPlayer``'s video track behind the source interface."""

    def __init__(self, player, description: str):
        super().__init__()
        self.player = player
        self.description = description
        if player.video is None:
            raise ValueError(f"{description}: no video stream")

    async def recv(self) -> av.VideoFrame:
        return await self.player.video.recv()

    def stop(self) -> None:
        super().stop()
        if self.player.video is not None:
            self.player.video.stop()


class FileTrack(_PlayerVideo):
    def __init__(self, path: str):
        from aiortc.contrib.media import MediaPlayer

        super().__init__(MediaPlayer(path, loop=True), f"file {path}")


def camera_device(index: int) -> tuple[str, str]:
    """(file, format) of camera ``index`` for this platform's capture API."""
    system = platform.system()
    if system == "Darwin":
        return f"{index}:none", "avfoundation"
    if system == "Windows":
        return f"video={index}", "dshow"
    return f"/dev/video{index}", "v4l2"


class CameraTrack(_PlayerVideo):
    """A real camera. ``devices`` maps ``back``/``front`` to device indexes; switching reopens."""

    def __init__(self, devices: dict[str, int], width: int = 640, height: int = 480, fps: float = 30):
        self.devices = devices
        self._format = (width, height, fps)
        facing = "back" if "back" in devices else next(iter(devices))
        super().__init__(self._open(devices[facing]), self._describe(devices[facing]))
        self.facing = facing

    def _open(self, index: int):
        from aiortc.contrib.media import MediaPlayer

        file, fmt = camera_device(index)
        width, height, fps = self._format
        return MediaPlayer(file, format=fmt, options={"video_size": f"{width}x{height}", "framerate": f"{fps:g}"})

    def _describe(self, index: int) -> str:
        file, fmt = camera_device(index)
        return f"camera {fmt} {file}"

    def capabilities(self) -> dict[str, Any]:
        return {"flash": False, "focus": False, "cameras": sorted(self.devices), "device": self.description}

    def switch(self, facing: str) -> bool:
        ok = super().switch(facing)
        if ok and self.player is not None:
            old = self.player
            self.player = self._open(self.devices[facing])
            self.description = self._describe(self.devices[facing])
            if old.video is not None:
                old.video.stop()
        return ok


def open_video_source(spec: str, *, width: int = 640, height: int = 480, fps: float = 30) -> VideoSource:
    """``test``, ``test:WxH`` (a fixed sensor size), ``file:PATH``, ``camera``, ``camera:N`` or ``camera:B,F``."""
    kind, _, arg = spec.partition(":")
    if kind == "test":
        sensor = tuple(int(v) for v in arg.lower().split("x")) if arg else None
        return TestPatternTrack(width, height, fps, sensor=sensor)  # type: ignore[arg-type]
    if kind == "file":
        if not arg:
            raise ValueError("file: needs a path, e.g. file:clip.mp4")
        return FileTrack(arg)
    if kind == "camera":
        indexes = [int(v) for v in arg.split(",")] if arg else [0]
        devices = {"back": indexes[0]}
        if len(indexes) > 1:
            devices["front"] = indexes[1]
        return CameraTrack(devices, width, height, fps)
    raise ValueError(f"unknown video source {spec!r}: use test, file:PATH or camera[:N]")


class ToneTrack(MediaStreamTrack):
    """A 440 Hz sine, mono s16 at 48 kHz in 20 ms frames (a microphone stand-in)."""

    kind = "audio"
    description = "test tone"

    def __init__(self, frequency: float = 440.0, level: float = 0.2):
        super().__init__()
        self.frequency = frequency
        self.level = level
        self._samples = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        due = self._start + self._samples / AUDIO_RATE
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        t = (self._samples + np.arange(AUDIO_FRAME_SAMPLES)) / AUDIO_RATE
        pcm = (np.sin(2 * math.pi * self.frequency * t) * self.level * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._samples += AUDIO_FRAME_SAMPLES
        return frame


class MicrophoneTrack(MediaStreamTrack):
    """A microphone through SoundCard (PulseAudio on Linux, WASAPI on Windows, Core Audio on macOS), the
    library that already plays the other side's voice: 48 kHz mono, 20 ms frames, read on a thread of its
    own. FFmpeg's ``pulse`` input, used before, is not in the PyAV wheel, so the agent's voice never left
    Linux machines while the customer's page showed a voice call (issue 17 #1). ``device``: a microphone's
    id or name (``audio_devices()["microphones"]``), None for the system's default. Opening fails (raises)
    when there is no such microphone or no audio system."""

    kind = "audio"

    def __init__(self, device: str | None = None):
        from .speaker import _soundcard

        super().__init__()
        card = _soundcard()
        mic = card.get_microphone(device) if device else card.default_microphone()
        if mic is None:
            raise ValueError("no microphone")
        self.description = f"microphone {mic.name}"
        self._mic = mic
        # opened once here so a missing or refused device fails now, not later; the reading thread opens
        # its own and is the only one to touch it (libpulse aborts the process on a recorder closed by one
        # thread while another reads it)
        with mic.recorder(samplerate=AUDIO_RATE, channels=1, blocksize=AUDIO_FRAME_SAMPLES):
            pass
        self._queue: asyncio.Queue | None = None
        self._thread: threading.Thread | None = None
        self._running = True
        self._samples = 0

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            with self._mic.recorder(samplerate=AUDIO_RATE, channels=1, blocksize=AUDIO_FRAME_SAMPLES) as recorder:
                while self._running:
                    block = recorder.record(numframes=AUDIO_FRAME_SAMPLES)
                    pcm = np.clip(block[:, 0] * 32767.0, -32768, 32767).astype(np.int16)
                    loop.call_soon_threadsafe(self._put, pcm)
        except Exception as exc:  # the device went away
            log.warning("%s stopped: %s", self.description, exc)
        if not loop.is_closed():
            loop.call_soon_threadsafe(self._put, None)

    def _put(self, pcm: np.ndarray | None) -> None:
        if pcm is not None and self._queue.qsize() > 50:  # nobody reads (1 s behind): keep the newest
            self._queue.get_nowait()
        self._queue.put_nowait(pcm)

    async def recv(self) -> av.AudioFrame:
        if self._thread is None:
            self._queue = asyncio.Queue()
            self._thread = threading.Thread(target=self._read, args=(asyncio.get_running_loop(),),
                                            name="anysupport-microphone", daemon=True)
            self._thread.start()
        pcm = await self._queue.get()
        if pcm is None:
            raise MediaStreamError
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._samples += len(pcm)
        return frame

    def stop(self) -> None:
        super().stop()
        self._running = False  # the reading thread closes its recorder after its current 20 ms


def open_audio_source(spec: str) -> MediaStreamTrack | None:
    """``tone``, ``mic``, ``mic:DEVICE`` or ``none``."""
    kind, _, arg = spec.partition(":")
    if kind == "none":
        return None
    if kind == "tone":
        return ToneTrack(float(arg) if arg else 440.0)
    if kind == "mic":
        return MicrophoneTrack(arg or None)
    raise ValueError(f"unknown audio source {spec!r}: use tone, mic[:DEVICE] or none")
