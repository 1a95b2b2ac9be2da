"""Recording on the agent's PC (녹화): the customer's video alone, or the whole viewer.

- ``CustomerVideoRecorder`` (고객영상만 녹화) remuxes the H.264 access units as they arrive into an
  MP4 with PyAV — no decoding, no re-encoding, so it costs almost nothing — with the customer's
  voice (decoded PCM, encoded to AAC). It starts at the first keyframe; it has start and stop only,
  as the manual says.
- ``ViewRecorder`` (전체화면 녹화) encodes what the agent sees (the rendered viewer, drawings
  included, RGB frames) with libx264 into an MP4 with the voices mixed; it can pause.

Times come from an injected clock (seconds, monotonic) so tests drive them. No Qt in here.
"""

from __future__ import annotations

import fractions
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
from anysupport_native import scale

SAMPLE_RATE = 48000
VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
AUDIO_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
AUDIO_LATENCY = 0.25  # seconds of audio kept back so late chunks of either voice still mix in place
RESYNC = SAMPLE_RATE // 10  # a voice that drifts more than 100 ms from the clock is placed anew

Clock = Callable[[], float]


class AudioMix:
    """Voices from several sources on one timeline (sample positions), mixed and taken in order."""

    def __init__(self) -> None:
        self.base = 0  # timeline position of buffer[0]
        self.buffer = np.zeros(0, np.float32)
        self.cursors: dict[str, int] = {}

    def add(self, source: str, pcm: np.ndarray, at: int) -> None:
        """``pcm`` (int16 mono) that arrived when the timeline was at ``at`` samples."""
        cursor = self.cursors.get(source)
        if cursor is None or abs(cursor - at) > RESYNC:
            cursor = at
        cursor = max(cursor, self.base)
        end = cursor + len(pcm)
        need = end - self.base
        if need > len(self.buffer):
            self.buffer = np.concatenate([self.buffer, np.zeros(need - len(self.buffer), np.float32)])
        self.buffer[cursor - self.base:end - self.base] += pcm.astype(np.float32)
        self.cursors[source] = end

    def take(self, upto: int) -> np.ndarray:
        """The mixed samples of ``[base, upto)`` (silence where nobody spoke), as int16."""
        count = max(0, upto - self.base)
        if count == 0:
            return np.zeros(0, np.int16)
        have = self.buffer[:count]
        out = np.zeros(count, np.float32)
        out[:len(have)] = have
        self.buffer = self.buffer[count:]
        self.base = upto
        return np.clip(out, -32768, 32767).astype(np.int16)


class _AacWriter:
    def __init__(self, container: av.container.OutputContainer):
        self.stream = container.add_stream("aac", rate=SAMPLE_RATE)
        self.stream.layout = "mono"
        self.stream.bit_rate = 64000
        self.container = container
        self.pts = 0

    def write(self, pcm: np.ndarray) -> None:
        if len(pcm) == 0:
            return
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self.pts
        frame.time_base = AUDIO_TIME_BASE
        self.pts += len(pcm)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def flush(self) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)


class _Timeline:
    """Recording time: the clock minus the paused spans."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.start = clock()
        self.paused_at: float | None = None
        self.paused_total = 0.0

    def now(self) -> float:
        end = self.paused_at if self.paused_at is not None else self.clock()
        return end - self.start - self.paused_total

    def pause(self) -> None:
        if self.paused_at is None:
            self.paused_at = self.clock()

    def resume(self) -> None:
        if self.paused_at is not None:
            self.paused_total += self.clock() - self.paused_at
            self.paused_at = None

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


class _Recorder:
    can_pause = False

    def __init__(self, path: Path, *, clock: Clock = time.monotonic):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.timeline = _Timeline(clock)
        self.mix = AudioMix()
        self.container: av.container.OutputContainer | None = None
        self.audio: _AacWriter | None = None
        self.lock = threading.Lock()  # voices and video may arrive on different threads
        self.closed = False

    @property
    def paused(self) -> bool:
        return self.timeline.paused

    def add_audio(self, source: str, pcm: np.ndarray) -> None:
        """Voice PCM (int16, 48 kHz mono) from ``source`` ("customer", "agent"), as it arrives."""
        with self.lock:
            if self.closed or self.timeline.paused or self.container is None:
                return
            self.mix.add(source, pcm, int(self.timeline.now() * SAMPLE_RATE))
            self._drain_audio(int((self.timeline.now() - AUDIO_LATENCY) * SAMPLE_RATE))

    def _drain_audio(self, upto: int) -> None:
        if self.audio is not None and upto > self.mix.base:
            self.audio.write(self.mix.take(upto))

    def stop(self) -> Path | None:
        """Finish the file; returns its path, or None when nothing was recorded."""
        with self.lock:
            if self.closed:
                return self.path if self.container is not None else None
            self.closed = True
            if self.container is None:
                return None
            self.timeline.resume()
            self._finish_video()
            if self.audio is not None:
                self._drain_audio(int(self.timeline.now() * SAMPLE_RATE))
                self.audio.flush()
            self.container.close()
            return self.path

    def _finish_video(self) -> None:
        pass


class CustomerVideoRecorder(_Recorder):
    """고객영상만 녹화: the received H.264 remuxed into MP4 (from the first keyframe), plus the customer's voice."""

    def __init__(self, path: Path, *, clock: Clock = time.monotonic, audio: bool = True):
        super().__init__(path, clock=clock)
        self.with_audio = audio
        self.video: av.video.stream.VideoStream | None = None
        self.first_us: int | None = None
        self.last_pts = -1
        self.packets = 0

    def add_video(self, payload: bytes, keyframe: bool, timestamp_us: int, width: int, height: int) -> None:
        """One H.264 access unit (Annex B, SPS/PPS before each IDR) with the sender's capture time."""
        with self.lock:
            if self.closed:
                return
            if self.container is None:
                if not keyframe or width <= 0 or height <= 0:
                    return  # an MP4 must start with an IDR, which carries the SPS/PPS it is described by
                self.container = av.open(str(self.path), "w", format="mp4")
                self.video = self.container.add_stream("h264", rate=30)
                self.video.width, self.video.height = width, height
                self.video.time_base = VIDEO_TIME_BASE
                if self.with_audio:
                    self.audio = _AacWriter(self.container)
                self.first_us = timestamp_us
                self.timeline = _Timeline(self.timeline.clock)
            pts = max(self.last_pts + 1, (timestamp_us - self.first_us) * 9 // 100)
            packet = av.Packet(payload)
            packet.stream = self.video
            packet.time_base = VIDEO_TIME_BASE
            packet.pts = packet.dts = pts
            packet.is_keyframe = keyframe
            self.container.mux(packet)
            self.last_pts = pts
            self.packets += 1


class ViewRecorder(_Recorder):
    """전체화면 녹화: the rendered viewer (RGB frames) encoded to H.264 MP4 with the voices; can pause."""

    can_pause = True

    def __init__(self, path: Path, *, clock: Clock = time.monotonic, fps: int = 15, bitrate: int = 2_000_000):
        super().__init__(path, clock=clock)
        self.fps = fps
        self.bitrate = bitrate
        self.video: av.video.stream.VideoStream | None = None
        self.size: tuple[int, int] | None = None
        self.last_pts = -1
        self.frames = 0

    def pause(self) -> None:
        with self.lock:
            self.timeline.pause()

    def resume(self) -> None:
        with self.lock:
            self.timeline.resume()

    def add_frame(self, rgb: np.ndarray) -> None:
        """What the viewer shows now (h, w, 3 uint8); frames come as often as the viewer paints."""
        with self.lock:
            if self.closed or self.timeline.paused:
                return
            if self.container is None:
                h, w = rgb.shape[:2]
                self.size = (w - w % 2, h - h % 2)  # 4:2:0 needs even sides
                self.container = av.open(str(self.path), "w", format="mp4")
                self.video = self.container.add_stream("libx264", rate=self.fps)
                self.video.width, self.video.height = self.size
                self.video.pix_fmt = "yuv420p"
                self.video.bit_rate = self.bitrate
                self.video.options = {"preset": "veryfast", "tune": "zerolatency"}
                self.video.codec_context.time_base = fractions.Fraction(1, self.fps)
                self.audio = _AacWriter(self.container)
                self.timeline = _Timeline(self.timeline.clock)
            pts = int(self.timeline.now() * self.fps)
            if pts <= self.last_pts:
                return  # the viewer paints faster than the file's rate
            w, h = self.size
            if rgb.shape[1] - w in (0, 1) and rgb.shape[0] - h in (0, 1):
                rgb = rgb[:h, :w, :3]  # the odd last row or column
            else:
                rgb = scale.scale_rgb(np.ascontiguousarray(rgb[:, :, :3]), w, h)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = pts
            frame.time_base = fractions.Fraction(1, self.fps)
            for packet in self.video.encode(frame):
                self.container.mux(packet)
            self.last_pts = pts
            self.frames += 1

    def _finish_video(self) -> None:
        if self.video is not None:
            for packet in self.video.encode(None):
                self.container.mux(packet)


def recording_name(kind: str, session_code: str, when: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    return f"AnySupport-{session_code}-{kind}-{stamp}.mp4"
