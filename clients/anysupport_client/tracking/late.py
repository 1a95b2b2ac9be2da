"""The customer's side: a late homography from the console, brought up to the newest frame.

The console tracks a drawing's surface on the frames it decoded and sends, for a frame of timestamp
``t``, the homography from the drawing's frame to that frame. By the time it arrives the customer's
own preview is 100-200 ms further on, so the customer composes it with its *own* motion from frame
``t`` to its newest frame: ``H_now = F(t → now) · H_late``. ``FrameHistory`` keeps about a second
of the customer's frames in a small form (160 pixels wide, grey) with their timestamps;
``LateAnchor`` (one per drawing) measures ``F`` with pyramidal Lucas-Kanade on corners of the
drawing's surface in frame ``t`` (forward-backward test, RANSAC homography, and the same
``check_homography`` as the console's tracker), every point tracked straight from frame ``t`` to the
newest frame, with the previous frame's answer as the starting guess, so nothing accumulates.
A check that fails, or a frame ``t`` no longer held, hides the drawing (None) rather than guessing.

Homographies here are in *normalised* coordinates (fractions of each frame's width and height, the
coordinates of the drawings' points in the protocol), so the two sides need not agree on sizes.
The page's Worker runs the same steps (``docs/tracking.md``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from .checks import Limits, check_homography
from .flow import FlowParams, fit_homography, forward_backward
from .geometry import clip_region, corners, grow_region, normalised, project, scale_matrix
from .picture import as_grey

SMALL_WIDTH = 160

#: The checks at the small size: one small pixel is four at 640x480, so the pixel limits shrink.
SMALL_LIMITS = Limits(min_inliers=8, min_inlier_ratio=0.5, min_support=0.15, max_residual=0.5, min_spread=0.08,
                      max_scale_change=3.0, max_jump=15.0, max_fb_error=0.35)
SMALL_FLOW = FlowParams(window=11, levels=3, iterations=10, epsilon=0.03)


@dataclass(frozen=True)
class SmallFrame:
    timestamp_us: int
    grey: np.ndarray  # (height, SMALL_WIDTH) uint8

    @property
    def size(self) -> tuple[int, int]:
        return self.grey.shape[1], self.grey.shape[0]

    @property
    def to_pixels(self) -> np.ndarray:
        """Normalised coordinates → this small picture's pixels."""
        w, h = self.size
        return scale_matrix(w, h)


class FrameHistory:
    """About ``seconds`` of the customer's own frames, small (``SMALL_WIDTH`` wide, grey), by timestamp."""

    def __init__(self, seconds: float = 1.0, fps: float = 30.0, width: int = SMALL_WIDTH):
        self.width = int(width)
        self.frames: deque[SmallFrame] = deque(maxlen=max(2, int(round(seconds * fps)) + 1))

    def push(self, timestamp_us: int, frame) -> SmallFrame:
        """Keep ``frame`` (any size, RGB or grey uint8) under its capture timestamp; timestamps must increase."""
        grey = as_grey(frame)
        if self.frames and timestamp_us <= self.frames[-1].timestamp_us:
            raise ValueError(f"timestamps must increase: {timestamp_us} after {self.frames[-1].timestamp_us}")
        h, w = grey.shape
        height = max(2, int(round(self.width * h / w)))
        small = cv2.resize(grey, (self.width, height), interpolation=cv2.INTER_AREA) if w != self.width else grey.copy()
        item = SmallFrame(int(timestamp_us), small)
        if self.frames and self.frames[-1].size != item.size:
            self.frames.clear()  # another aspect ratio (a quality or camera change): the old ones mean nothing now
        self.frames.append(item)
        return item

    @property
    def newest(self) -> SmallFrame | None:
        return self.frames[-1] if self.frames else None

    def find(self, timestamp_us: int) -> SmallFrame | None:
        """The frame with this timestamp, or None when it is not (or no longer) held."""
        for item in reversed(self.frames):
            if item.timestamp_us == timestamp_us:
                return item
            if item.timestamp_us < timestamp_us:
                return None
        return None


class LateAnchor:
    """One drawing on the customer's side (normalised coordinates throughout)."""

    MAX_POINTS = 48

    def __init__(self, history: FrameHistory, region=(0.0, 0.0, 1.0, 1.0), *, limits: Limits = SMALL_LIMITS,
                 flow: FlowParams = SMALL_FLOW):
        """``region`` = (x, y, w, h) of the drawing in its own frame, normalised."""
        region = tuple(float(v) for v in region)
        if len(region) != 4 or not all(np.isfinite(region)) or region[2] <= 0 or region[3] <= 0:
            raise ValueError(f"region must be (x, y, width, height) with a positive size, got {region!r}")
        self.history = history
        self.region = region
        self.limits = limits
        self.flow = flow
        self.reason = "no_homography"
        self._base: SmallFrame | None = None
        self._late: np.ndarray | None = None
        self._points = np.zeros((0, 2), np.float32)
        self._tracked = None  # the region in the base frame, small pixels
        self._cache: tuple[int, np.ndarray | None] | None = None  # (newest timestamp, answer)
        self._guess: tuple[int, np.ndarray] | None = None  # (timestamp, F base → that frame) of the last success

    def receive(self, timestamp_us: int, homography) -> None:
        """The console's homography (drawing's frame → frame ``timestamp_us``, normalised), or None when lost."""
        self._cache = None
        self._guess = None
        if homography is None:
            self._late = None
            self.reason = "lost_on_console"
            return
        h = np.asarray(homography, np.float64)
        if h.shape != (3, 3) or not np.all(np.isfinite(h)):
            raise ValueError(f"homography must be a finite 3x3 matrix, got {homography!r}")
        base = self.history.find(timestamp_us)
        if base is None:
            self._late = None
            self.reason = "frame_not_held"
            return
        self._late = normalised(h)
        self._base = base
        # the drawing's surface in the base frame, where its corners are taken
        quad = project(base.to_pixels @ self._late, corners(self.region))
        if not np.all(np.isfinite(quad)):
            self._late = None
            self.reason = "behind_camera"
            return
        x0, y0 = quad.min(axis=0)
        x1, y1 = quad.max(axis=0)
        w, h_ = base.size
        grown = grow_region((x0, y0, x1 - x0, y1 - y0), 0.3 * max(x1 - x0, y1 - y0) + 2, 0.25 * w)
        margin = self.flow.window / 2 + 1
        tracked = clip_region(grown, w, h_, margin)
        self._tracked = tracked
        self._points = np.zeros((0, 2), np.float32)
        if tracked is not None:
            x, y, tw, th = (int(round(v)) for v in tracked)
            mask = np.zeros(base.grey.shape, np.uint8)
            mask[y:y + th, x:x + tw] = 255
            spacing = max(3.0, np.sqrt(tw * th / (2.5 * self.MAX_POINTS)))
            found = cv2.goodFeaturesToTrack(base.grey, self.MAX_POINTS, 0.01, spacing, mask=mask, blockSize=5)
            if found is not None:
                self._points = found.reshape(-1, 2).astype(np.float32)
        self.reason = "ok"

    def current(self) -> np.ndarray | None:
        """The drawing's frame → the newest frame of the history (normalised), or None to hide the drawing."""
        newest = self.history.newest
        if self._late is None or newest is None:
            return None
        if self._cache is not None and self._cache[0] == newest.timestamp_us:
            return self._cache[1]
        answer = self._compose(newest)
        self._cache = (newest.timestamp_us, answer)
        return answer

    def _compose(self, newest: SmallFrame) -> np.ndarray | None:
        base = self._base
        if newest.timestamp_us == base.timestamp_us:
            return self._late
        if self.history.find(base.timestamp_us) is None:
            self.reason = "frame_not_held"
            return None
        if newest.size != base.size:
            self.reason = "size_change"
            return None
        if len(self._points) < self.limits.min_inliers:
            self.reason = "few_points"
            return None
        guess = None
        if self._guess is not None:
            guess = project(self._guess[1], self._points)
            if not np.all(np.isfinite(guess)):
                guess = None
        found, kept = forward_backward(base.grey, newest.grey, self._points, self.flow, self.limits.max_fb_error,
                                       guess=guess)
        w, h = newest.size
        r = self.flow.window / 2
        inside = (found[:, 0] >= r) & (found[:, 0] < w - r) & (found[:, 1] >= r) & (found[:, 1] < h - r)
        kept &= inside
        expected = max(int(inside.sum()), 1)
        f, evidence = fit_homography(self._points[kept], found[kept], expected, 1.0)
        previous = self._guess[1] if self._guess is not None else np.eye(3)
        since = self._guess[0] if self._guess is not None else base.timestamp_us
        frames_since = sum(1 for item in self.history.frames if item.timestamp_us > since)
        verdict = check_homography(f, evidence, self._tracked, self.limits, previous=previous,
                                   frames_since=frames_since)
        if not verdict:
            self.reason = verdict.reason
            self._guess = None
            return None
        self._guess = (newest.timestamp_us, f)
        self.reason = "ok"
        return normalised(np.linalg.inv(newest.to_pixels) @ f @ base.to_pixels @ self._late)
