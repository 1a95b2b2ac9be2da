"""The figures of one media run, from what the receiving side recorded: no I/O, the same for every transport.

A run records, in wall-clock seconds (``time.time()``; the stamps in the pictures are wall-clock
too, and everything runs on one machine):

- ``frames``: each decoded picture: when it was decoded, its glass-to-glass latency (ms), its size;
- ``video_bytes``: each received video payload: arrival time and size;
- ``voice``: each received voice packet (20 ms of Opus): arrival time and sequence number;
- ``levels``: what the sender aims at over time: (time, rung, bitrate) — the rung of our quality
  ladder, or ``None`` for WebRTC, whose sender only moves its bitrate.

The rules:

- **freeze**: two decoded pictures more than ``FREEZE_S`` (500 ms) apart;
- **voice gap**: the receiver's voice, replayed through the project's own jitter buffer
  (``anysupport_client.media.playout.JitterBuffer``, fed at the recorded arrival times and pulled
  every 20 ms by a simulated speaker), is silent for ``VOICE_GAP_BLOCKS`` (3) blocks of 20 ms or
  more in a row once play started: a lost packet now and then (20 or 40 ms) is concealed by any
  Opus decoder, 60 ms and more is heard;
- **settled**: the earliest time after which the sender stays within one rung of where it ends
  (ours), or within ±30 % of its final bitrate (WebRTC);
- **at the low level**: the sender's bitrate at or under the low level's (250 kbit/s).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from anysupport_client.media.playout import PACKET_SAMPLES, JitterBuffer
from anysupport_client.media.quality import LEVELS

FREEZE_S = 0.5
VOICE_BLOCK_S = 0.02
VOICE_GAP_BLOCKS = 3
LOW_BITRATE = LEVELS["low"].quality.bitrate
BITRATE_BAND = 0.3


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile (as ``benchmarks.loadgen.percentile``), None without values."""
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


@dataclass
class Recording:
    start: float  # the window's start (media may flow from here)
    end: float
    frames: list[tuple[float, float | None, int, int]] = field(default_factory=list)  # (decoded, g2g ms, w, h)
    video_bytes: list[tuple[float, int]] = field(default_factory=list)
    voice: list[tuple[float, int]] = field(default_factory=list)  # (arrival, sequence)
    levels: list[tuple[float, int | None, int]] = field(default_factory=list)  # (time, rung, bitrate bps)
    events: list[tuple[float, str]] = field(default_factory=list)

    def in_window(self, t: float) -> bool:
        return self.start <= t <= self.end


def freezes(decoded: Sequence[float], threshold: float = FREEZE_S) -> list[tuple[float, float]]:
    """(start, length) of every gap between consecutive decoded pictures longer than ``threshold``."""
    times = sorted(decoded)
    return [(a, b - a) for a, b in zip(times, times[1:], strict=False) if b - a > threshold]


def unwrap16(sequences: Sequence[int]) -> list[int]:
    """RTP's 16-bit sequence numbers as one increasing count (arrival order, wraps undone)."""
    out: list[int] = []
    base = 0
    last: int | None = None
    for s in sequences:
        if last is not None:
            if s - last < -32768:
                base += 65536
            elif s - last > 32768:
                base -= 65536
        last = s
        out.append(base + s)
    return out


def voice_gaps(arrivals: Sequence[tuple[float, int]], end: float, *, min_ms: float | None = None) -> dict:
    """Replay voice arrivals through the jitter buffer; the silences a listener would hear.
    ``min_ms``: the buffer's least pre-buffer (default: the client's, 60 ms); its most is kept
    at least 180 ms above it."""
    if not arrivals:
        return {"packets": 0, "gaps": 0, "gap_at": [], "silent_ms": None, "longest_gap_ms": None, "lost": None}
    arrivals = sorted(arrivals)
    now = [arrivals[0][0]]
    buffer = JitterBuffer(clock=lambda: now[0]) if min_ms is None else \
        JitterBuffer(clock=lambda: now[0], min_ms=min_ms, max_ms=max(240.0, min_ms + 180))
    pcm = np.full(PACKET_SAMPLES, 1000, np.int16)  # any sound: only presence matters here
    i = 0
    t = arrivals[0][0]
    started = False
    run = 0
    gaps: list[int] = []
    gap_at: list[float] = []
    silent_blocks = 0
    while t <= end:
        while i < len(arrivals) and arrivals[i][0] <= t:
            now[0] = arrivals[i][0]
            buffer.push(arrivals[i][1], pcm)
            i += 1
        now[0] = t
        block = buffer.pull(PACKET_SAMPLES)
        silent = not block.all()
        if not silent:
            started = True
        if started:
            if silent:
                run += 1
            else:
                silent_blocks += run
                if run >= VOICE_GAP_BLOCKS:
                    gaps.append(run)
                    gap_at.append(t - run * VOICE_BLOCK_S)
                run = 0
        t += VOICE_BLOCK_S
    if i < len(arrivals):  # silent at the end only counts if more was coming
        silent_blocks += run
        if run >= VOICE_GAP_BLOCKS:
            gaps.append(run)
            gap_at.append(t - run * VOICE_BLOCK_S)
    stats = buffer.stats()
    return {"packets": len(arrivals), "gaps": len(gaps), "gap_at": list(zip(gap_at, gaps, strict=True)),
            "silent_ms": round(silent_blocks * VOICE_BLOCK_S * 1000),
            "longest_gap_ms": round(max(gaps) * VOICE_BLOCK_S * 1000) if gaps else 0,
            "lost": stats["lost"], "late": stats["late"], "underruns": stats["underruns"]}


def settle_time(levels: Sequence[tuple[float, int | None, int]], start: float) -> float | None:
    """Seconds from ``start`` until the sender stays near where it ends (see the module's rules)."""
    if not levels:
        return None
    final_rung, final_bitrate = levels[-1][1], levels[-1][2]
    tail = [b for t, _, b in levels if t >= levels[-1][0] - 5]
    final_bitrate = statistics.median(tail) if tail else final_bitrate

    def near(rung: int | None, bitrate: int) -> bool:
        if final_rung is not None and rung is not None:
            return abs(rung - final_rung) <= 1
        return abs(bitrate - final_bitrate) <= BITRATE_BAND * final_bitrate

    settled_at = levels[0][0]
    for k, (_, rung, bitrate) in enumerate(levels):
        if not near(rung, bitrate):
            settled_at = levels[k + 1][0] if k + 1 < len(levels) else levels[k][0]
    return round(max(0.0, settled_at - start), 2)


def time_to_bitrate(levels: Sequence[tuple[float, int | None, int]], start: float,
                    bitrate: int = LOW_BITRATE) -> float | None:
    for t, _, b in levels:
        if b <= bitrate:
            return round(max(0.0, t - start), 2)
    return None


def level_at(levels: Sequence[tuple[float, int | None, int]], t: float) -> tuple[int | None, int] | None:
    current = None
    for when, rung, bitrate in levels:
        if when > t:
            break
        current = (rung, bitrate)
    return current


def timeline(rec: Recording, step: float = 1.0) -> list[dict]:
    """Per ``step`` seconds of the window: pictures decoded per second, video kbit/s received, the
    sender's rung and bitrate, the picture size, the median glass-to-glass latency."""
    n = max(1, math.ceil((rec.end - rec.start) / step))
    rows = []
    for k in range(n):
        a, b = rec.start + k * step, rec.start + (k + 1) * step
        frames = [f for f in rec.frames if a <= f[0] < b]
        received = sum(size for t, size in rec.video_bytes if a <= t < b)
        level = level_at(rec.levels, b)
        lat = [f[1] for f in frames if f[1] is not None]
        rows.append({"t": round(k * step, 1), "fps": round(len(frames) / step, 1),
                     "kbps": round(received * 8 / step / 1000, 1),
                     "rung": level[0] if level else None,
                     "target_kbps": round(level[1] / 1000) if level else None,
                     "size": f"{frames[-1][2]}x{frames[-1][3]}" if frames else None,
                     "g2g_p50_ms": round(percentile(lat, 50), 1) if lat else None})
    return rows


def summarize(rec: Recording) -> dict:
    """The figures the issue asks for, over the window."""
    minutes = (rec.end - rec.start) / 60
    frames = [f for f in rec.frames if rec.in_window(f[0])]
    lat = [f[1] for f in frames if f[1] is not None]
    decoded = [f[0] for f in frames]
    frozen = freezes(decoded)
    voice = voice_gaps([v for v in rec.voice if rec.in_window(v[0])], rec.end)
    received = sum(size for t, size in rec.video_bytes if rec.in_window(t))

    def r(v: float | None, digits: int = 1) -> float | None:
        return None if v is None else round(v, digits)

    return {
        "seconds": round(rec.end - rec.start, 1),
        "frames": len(frames),
        "fps": r(len(frames) / (rec.end - rec.start)),
        "video_kbps": r(received * 8 / (rec.end - rec.start) / 1000),
        "first_frame_s": r(min(decoded) - rec.start, 2) if decoded else None,
        "g2g_p50_ms": r(percentile(lat, 50)),
        "g2g_p95_ms": r(percentile(lat, 95)),
        "g2g_p99_ms": r(percentile(lat, 99)),
        "freezes": len(frozen),
        "freezes_per_min": r(len(frozen) / minutes, 2) if minutes else None,
        "frozen_s": r(sum(d for _, d in frozen), 2),
        "longest_freeze_s": r(max((d for _, d in frozen), default=0.0), 2),
        "settle_s": settle_time(rec.levels, rec.start),
        "low_level_s": time_to_bitrate(rec.levels, rec.start),
        "final_target_kbps": round(rec.levels[-1][2] / 1000) if rec.levels else None,
        "final_rung": rec.levels[-1][1] if rec.levels else None,
        "level_changes": max(0, len(rec.levels) - 1),
        "voice_packets": voice["packets"],
        "voice_gaps": voice["gaps"],
        "voice_gaps_per_min": r(voice["gaps"] / minutes, 2) if minutes and voice["packets"] else None,
        "voice_silent_ms": voice["silent_ms"],
        "voice_longest_gap_ms": voice["longest_gap_ms"],
        "voice_gap_list": [(round(t - rec.start, 2), blocks * round(VOICE_BLOCK_S * 1000)) for t, blocks in voice["gap_at"]],
        "freeze_list": [(round(t - rec.start, 2), round(d, 2)) for t, d in frozen],
    }


def first_frame_after(rec: Recording, t: float, captured_after: float | None = None) -> float | None:
    """Seconds from ``t`` to the first picture decoded after it (and, if given, captured after
    ``captured_after``: a new picture, not one held up somewhere during an outage)."""
    later = [f[0] for f in rec.frames if f[0] > t
             and (captured_after is None or f[1] is None or f[0] - f[1] / 1000 > captured_after)]
    return round(min(later) - t, 3) if later else None
