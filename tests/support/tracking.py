"""Running the trackers over synthetic scenes (``tests/support/scenes.py``) and scoring them.

Shared by ``tests/tracking`` and ``benchmarks/test_bench_tracking.py``: a tracker is started on the
scene's drawing frame and fed every later frame (clean, or decoded from the project's H.264 at a
quality level); each frame is recorded with what the tracker answered, the stroke error when it
showed the drawing, and how much of the drawing's surface was really visible.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from anysupport_client.tracking import PlaneTracker, from_normalised, to_normalised
from anysupport_client.tracking.late import FrameHistory, LateAnchor

from .scenes import REF_SIZE, Scene, stroke_error

GONE = 0.05  # visible share below which the surface counts as gone (must be hidden)
BACK = 0.9  # visible share from which it counts as back (must be found again)


@dataclass(frozen=True)
class Step:
    index: int
    homography: np.ndarray | None
    error: float | None  # stroke error (px) when shown
    visible: float
    reason: str
    ms: float


def pictures(scene: Scene, level: str | None, form: str = "grey") -> tuple[tuple[int, int], Iterator[np.ndarray]]:
    """(size, frames) of ``scene``: clean at 640x480 (level None) or through H.264 at ``level``."""
    if level is None:
        import cv2

        frames = scene.frames_rgb()
        if form == "grey":
            frames = (cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames)
        return REF_SIZE, frames
    return scene.size_of(level), scene.decoded(level, form=form)


def track(scene: Scene, level: str | None = "medium", *, tracker: PlaneTracker | None = None, form: str = "grey",
          frames: Iterable[np.ndarray] | None = None, size=None, skip_to: int | None = None) -> list[Step]:
    """Start ``tracker`` on frame ``scene.start`` over the drawing's region, update it on every later frame.

    ``skip_to``: the first update is frame ``skip_to`` (the frames between are not shown to it: a
    drawing made on a frozen picture, released later).
    """
    if frames is None:
        size, frames = pictures(scene, level, form)
    tracker = tracker or PlaneTracker()
    points = scene.stroke_points(size)
    steps = []
    for i, frame in enumerate(frames):
        if i < scene.start:
            continue
        if i == scene.start:
            tracker.start(frame, scene.region_at(size))
            continue
        if skip_to is not None and i < skip_to:
            continue
        t0 = time.perf_counter()
        h = tracker.update(frame)
        ms = (time.perf_counter() - t0) * 1000
        if h is not None:
            assert h.shape == (3, 3) and h.dtype == np.float64
        error = None if h is None else stroke_error(h, scene.truth(scene.start, i, size), points)
        steps.append(Step(i, h, error, scene.visible_fraction(i, size), tracker.reason, ms))
    return steps


def shown_errors(steps: list[Step]) -> np.ndarray:
    return np.array([s.error for s in steps if s.error is not None])


def losses(steps: list[Step]) -> list[tuple[int, int | None]]:
    """For every time the surface goes (visible < GONE): (its first frame, frames until hidden; None = never)."""
    out = []
    for k, s in enumerate(steps):
        if s.visible < GONE and (k == 0 or steps[k - 1].visible >= GONE):
            lag = next((j - k for j in range(k, len(steps)) if steps[j].homography is None), None)
            out.append((s.index, lag))
    return out


def returns(steps: list[Step]) -> list[tuple[int, int | None]]:
    """For every return after a loss (visible back to BACK): (its first frame, frames until shown; None = never)."""
    out = []
    gone = False
    for k, s in enumerate(steps):
        if s.visible < GONE:
            gone = True
        elif gone and s.visible >= BACK:
            gone = False
            lag = next((j - k for j in range(k, len(steps)) if steps[j].homography is not None), None)
            out.append((s.index, lag))
    return out


def longest_hidden(steps: list[Step], *, while_visible: float = 0.0) -> int:
    """The longest run of hidden frames while at least ``while_visible`` of the surface was visible."""
    best = run = 0
    for s in steps:
        if s.homography is None and s.visible >= while_visible:
            run += 1
            best = max(best, run)
        else:
            run = 0
    return best


@dataclass(frozen=True)
class LateStep:
    index: int
    error: float | None  # composed, when shown
    late_error: float | None  # the late homography alone, for comparison
    ms: float  # push + compose


def compose_late(scene: Scene, console: list[np.ndarray | None], *, delay_frames: int, level_size=REF_SIZE,
                 customer_frames: Iterable[np.ndarray] | None = None) -> list[LateStep]:
    """The customer's side: ``console[i]`` (start → frame i, pixels of ``level_size``) arrives ``delay_frames`` late.

    The customer's own frames are the clean pictures (what its camera preview shows), at 640x480.
    """
    x, y, w, h = scene.region
    history = FrameHistory()
    anchor = LateAnchor(history, (x / REF_SIZE[0], y / REF_SIZE[1], w / REF_SIZE[0], h / REF_SIZE[1]))
    points = scene.stroke_points()
    frames = customer_frames if customer_frames is not None else scene.frames_rgb()
    steps = []
    period = 1_000_000 // scene.fps
    for n, frame in enumerate(frames):
        t0 = time.perf_counter()
        history.push(n * period + 1, frame)
        k = n - delay_frames
        if k < scene.start:
            continue
        late = console[k]
        anchor.receive(k * period + 1, None if late is None else to_normalised(late, level_size, level_size))
        composed = anchor.current()
        ms = (time.perf_counter() - t0) * 1000
        truth = scene.truth(scene.start, n)
        error = None
        if composed is not None:
            error = stroke_error(from_normalised(composed, REF_SIZE, REF_SIZE), truth, points)
        late_error = None
        if late is not None:
            late_px = from_normalised(to_normalised(late, level_size, level_size), REF_SIZE, REF_SIZE)
            late_error = stroke_error(late_px, truth, points)
        steps.append(LateStep(n, error, late_error, ms))
    return steps


def console_answers(scene: Scene, level: str = "medium") -> list[np.ndarray]:
    """What a console sends for ``scene``: its tracker's answer on each H.264 frame it decoded at ``level``
    (the identity on the drawing frame); every frame must have one."""
    tracker = PlaneTracker()
    out = []
    for i, frame in enumerate(scene.decoded(level, form="grey")):
        if i == 0:
            tracker.start(frame, scene.region)
            out.append(np.eye(3))
        else:
            out.append(tracker.update(frame))
    assert all(h is not None for h in out)
    return out
