"""H.264 and Opus through PyAV, and shaping source pictures to the size being sent.

``FrameShaper`` turns whatever a source delivers (any size, nv12, yuyv, rgb …) into a yuv420p frame
of the size being sent: swscale (``reformat``) only for the pixel format, then a centre crop to the
target's aspect ratio (a view, no copy) and the native area scaler into the new frame's planes.

``VideoEncoder`` is libx264 as a live encoder: ultrafast, zerolatency (no lookahead, no B-frames,
one frame in, one access unit out), constrained baseline, an IDR every two seconds and at once when
asked, SPS/PPS repeated before each IDR so a receiver can start at any keyframe. A new size or frame
rate reopens it (the next frame is an IDR anyway); a new bitrate is applied in place (libx264
reconfigures its rate control between frames).
"""

from __future__ import annotations

import fractions

import av
import numpy as np
from anysupport_native import convert, scale
from av.video.frame import PictureType

from .quality import Quality

TIME_BASE = fractions.Fraction(1, 90000)
KEYFRAME_SECONDS = 2


def crop_to_aspect(planes, width: int, height: int):
    """The centre of an I420 frame with the aspect ratio of width x height (views, even offsets)."""
    sh, sw = planes.y.shape
    if sw * height > sh * width:  # too wide
        cw = max(2, (sh * width // height) & ~1)
        x0 = ((sw - cw) // 2) & ~1
        y, u, v = planes.y[:, x0:x0 + cw], planes.u[:, x0 // 2:(x0 + cw + 1) // 2], planes.v[:, x0 // 2:(x0 + cw + 1) // 2]
    elif sw * height < sh * width:  # too tall
        ch = max(2, (sw * height // width) & ~1)
        y0 = ((sh - ch) // 2) & ~1
        y, u, v = planes.y[y0:y0 + ch], planes.u[y0 // 2:(y0 + ch + 1) // 2], planes.v[y0 // 2:(y0 + ch + 1) // 2]
    else:
        return planes
    return type(planes)(y, u, v)


class FrameShaper:
    """Any source frame → a yuv420p frame of exactly width x height."""

    def shape(self, frame: av.VideoFrame, width: int, height: int) -> av.VideoFrame:
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        if (frame.width, frame.height) == (width, height):
            return frame
        src = crop_to_aspect(convert.planes_of(frame), width, height)
        out = av.VideoFrame(width, height, "yuv420p")
        scale.scale_i420(src, width, height, method="area", out=convert.planes_of(out))
        out.pts = frame.pts
        out.time_base = frame.time_base
        return out


class VideoEncoder:
    def __init__(self, quality: Quality):
        self.quality = quality
        self.context: av.CodecContext | None = None
        self.frames = 0
        self._open()

    def _open(self) -> None:
        q = self.quality
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height = q.width, q.height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = TIME_BASE
        ctx.framerate = fractions.Fraction(int(round(q.fps * 1000)), 1000)
        ctx.bit_rate = q.bitrate
        keyint = max(1, int(round(q.fps * KEYFRAME_SECONDS)))
        ctx.gop_size = keyint
        vbv = max(1, q.bitrate // 1000)
        ctx.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "profile": "baseline",
            "forced-idr": "1",
            "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0:repeat-headers=1"
                           f":vbv-maxrate={vbv}:vbv-bufsize={vbv}:threads=1:sliced-threads=0",
        }
        ctx.open()
        self.context = ctx
        self._last_pts = -1

    def configure(self, quality: Quality) -> bool:
        """Apply a new quality; True when the encoder was reopened (the next frame is an IDR)."""
        old, self.quality = self.quality, quality
        if (old.width, old.height, old.fps) != (quality.width, quality.height, quality.fps):
            self._open()
            return True
        if old.bitrate != quality.bitrate:
            self.context.bit_rate = quality.bitrate
        return False

    def encode(self, frame: av.VideoFrame, *, keyframe: bool = False) -> list[tuple[bytes, bool]]:
        """One frame in, its access unit(s) out: [(payload, is_keyframe)]."""
        pts = frame.pts if frame.pts is not None else 0
        if frame.time_base is not None and frame.time_base != TIME_BASE:
            pts = int(pts * frame.time_base / TIME_BASE)
        if pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = TIME_BASE
        frame.pict_type = PictureType.I if keyframe else PictureType.NONE
        self.frames += 1
        return [(bytes(p), bool(p.is_keyframe)) for p in self.context.encode(frame)]


class DecodeError(Exception):
    pass


class VideoDecoder:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.context = av.CodecContext.create("h264", "r")
        self.context.thread_count = 1  # frame threading would add a frame of delay per thread

    def decode(self, payload: bytes) -> list[av.VideoFrame]:
        try:
            frames = list(self.context.decode(av.Packet(payload)))
        except av.error.FFmpegError as exc:
            raise DecodeError(str(exc)) from exc
        # encoders that signal full range (browsers' WebCodecs from a canvas) decode as yuvj420p
        return [f.reformat(format="yuv420p") if f.format.name == "yuvj420p" else f for f in frames]


class OpusEncoder:
    """48 kHz mono Opus, one packet per 20 ms frame."""

    def __init__(self, bitrate: int = 32000):
        ctx = av.CodecContext.create("libopus", "w")
        ctx.sample_rate = 48000
        ctx.layout = "mono"
        ctx.format = "s16"
        ctx.bit_rate = bitrate
        ctx.options = {"application": "voip", "frame_duration": "20"}
        ctx.open()
        self.context = ctx
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=48000, frame_size=960)
        self._pts = 0

    def encode(self, frame: av.AudioFrame) -> list[bytes]:
        packets = []
        for chunk in self.resampler.resample(frame):
            chunk.pts = self._pts
            self._pts += chunk.samples
            packets.extend(bytes(p) for p in self.context.encode(chunk))
        return packets


class OpusDecoder:
    def __init__(self) -> None:
        self.context = av.CodecContext.create("opus", "r")
        self.context.sample_rate = 48000
        self.context.layout = "mono"

    def decode(self, payload: bytes) -> np.ndarray:
        """The packet's PCM as int16 samples (mono), empty if it does not decode."""
        try:
            frames = self.context.decode(av.Packet(payload))
        except av.error.FFmpegError:
            return np.zeros(0, np.int16)
        chunks = []
        for f in frames:
            pcm = f.to_ndarray()
            if pcm.dtype != np.int16:
                pcm = (np.clip(pcm, -1, 1) * 32767).astype(np.int16)
            chunks.append(pcm.reshape(-1))
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
