"""The three quality levels (고화질, 중화질, 저화질) and the steps adaptation may take within one.

A level is what the agent chose: a resolution, a frame rate and a bitrate. When the link cannot
carry it, the sender steps down a ladder that stays inside the level: first the bitrate, then the
frame rate, then the resolution (``docs/clients.md``, adaptation).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quality:
    width: int
    height: int
    fps: float
    bitrate: int  # bits per second

    def describe(self) -> str:
        return f"{self.width}x{self.height}@{self.fps:g} {self.bitrate // 1000} kb/s"


@dataclass(frozen=True)
class QualityLevel:
    name: str
    quality: Quality  # the top rung

    @property
    def ladder(self) -> tuple[Quality, ...]:
        return ladder(self.quality)


LEVELS: dict[str, QualityLevel] = {
    "high": QualityLevel("high", Quality(1280, 720, 30, 2_000_000)),
    "medium": QualityLevel("medium", Quality(640, 480, 30, 800_000)),
    "low": QualityLevel("low", Quality(320, 240, 15, 250_000)),
}
DEFAULT_LEVEL = "medium"
MIN_BITRATE = 60_000
MIN_FPS = 5


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def ladder(top: Quality) -> tuple[Quality, ...]:
    """The rungs from ``top`` down: bitrate ×0.7, ×0.5; frame rate ⅔, ½; resolution ¾, ½."""
    rungs = [top]
    for factor in (0.7, 0.5):
        rungs.append(Quality(top.width, top.height, top.fps, max(MIN_BITRATE, int(top.bitrate * factor))))
    low_bitrate = rungs[-1].bitrate
    for factor in (2 / 3, 1 / 2):
        rungs.append(Quality(top.width, top.height, max(MIN_FPS, round(top.fps * factor)), low_bitrate))
    low_fps = rungs[-1].fps
    for factor in (0.75, 0.5):
        area = factor * factor
        rungs.append(Quality(_even(top.width * factor), _even(top.height * factor), low_fps,
                             max(MIN_BITRATE, int(low_bitrate * area))))
    return tuple(rungs)
