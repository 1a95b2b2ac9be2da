"""The console's side: one ``PlaneTracker`` per drawing, fed every decoded frame on the media thread.

``DrawingAnchors.add`` starts a tracker on the frame a drawing was made on (the frozen frame, with
freeze-frame) over the drawing's bounding box; ``update`` runs every tracker on a new frame and
returns, per drawing, the homography from its frame to this one in *normalised* coordinates (the
protocol's, see ``docs/tracking.md``) or None while its surface is lost. A drawing whose surface has
too little texture to follow is reported by ``add`` (False) and stays where it was drawn.
No Qt, no sockets: the console pairs the result with the frame's ``timestamp_us`` and sends it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .geometry import to_normalised
from .picture import as_grey
from .plane import PlaneTracker


def bounding_box(points: Iterable, width: int, height: int) -> tuple[float, float, float, float]:
    """The pixel box (x, y, w, h) of normalised drawing points on a width x height frame (at least 1x1)."""
    pts = np.asarray(list(points), np.float64).reshape(-1, 2)
    if len(pts) == 0 or not np.all(np.isfinite(pts)):
        raise ValueError("a drawing needs at least one finite point")
    x0, y0 = pts.min(axis=0) * (width, height)
    x1, y1 = pts.max(axis=0) * (width, height)
    return float(x0), float(y0), float(max(1.0, x1 - x0)), float(max(1.0, y1 - y0))


class DrawingAnchors:
    """Trackers by drawing id; ``update(frame)`` → {id: normalised homography or None}."""

    def __init__(self, make_tracker: Callable[[], PlaneTracker] = PlaneTracker):
        self.make_tracker = make_tracker
        self.trackers: dict[str, PlaneTracker] = {}
        self.sizes: dict[str, tuple[int, int]] = {}

    def add(self, drawing_id: str, frame, points) -> bool:
        """Follow drawing ``drawing_id`` (its normalised ``points``) from ``frame``; False if it cannot be followed."""
        grey = as_grey(frame)
        height, width = grey.shape
        tracker = self.make_tracker()
        tracker.start(grey, bounding_box(points, width, height))
        if not tracker.trackable:
            self.remove(drawing_id)
            return False
        self.trackers[drawing_id] = tracker
        self.sizes[drawing_id] = (width, height)
        return True

    def remove(self, drawing_id: str) -> None:
        self.trackers.pop(drawing_id, None)
        self.sizes.pop(drawing_id, None)

    def clear(self) -> None:
        """Every drawing gone (the drawings were cleared, or the customer switched cameras)."""
        self.trackers.clear()
        self.sizes.clear()

    def __len__(self) -> int:
        return len(self.trackers)

    def update(self, frame) -> dict[str, np.ndarray | None]:
        grey = as_grey(frame)
        size = (grey.shape[1], grey.shape[0])
        out: dict[str, np.ndarray | None] = {}
        for drawing_id, tracker in self.trackers.items():
            h = tracker.update(grey)
            out[drawing_id] = None if h is None else to_normalised(h, self.sizes[drawing_id], size)
        return out
