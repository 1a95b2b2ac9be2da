"""Drawings that stay on the object, the customer's side (issue 20, ``docs/tracking.md``).

The console tracks the surface under each drawing on the frames it decoded and sends ``anchor``
messages: for the frame of ``timestamp_us`` (one the customer sent), each drawing's homography from
the frame it was drawn on, or null while its surface is lost. By then the customer's own picture is
100-200 ms further on, so ``CustomerAnchors`` keeps the frames it sends small (``FrameHistory``,
pushed before each frame is sent, under that frame's ``timestamp_us``) and one ``LateAnchor`` per
anchored drawing, which composes the late homography with the customer's own motion since that
frame. The overlay (``AnchoredScene``, ``media/annotation.py``) draws each anchored drawing through
``LateAnchor.current()`` and hides it on None; a drawing an ``anchor`` no longer lists is not
anchored any more and is drawn where it was drawn. A switch to another camera hides every anchored
drawing until an ``anchor`` names it again (the console clears its anchors); remove, undo and clear forget theirs.
No Qt, no sockets.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import av
import numpy as np
from anysupport_native import convert

from ..tracking import FrameHistory, LateAnchor
from .annotation import AnchoredScene, AnnotationScene, sender_of
from .codec import crop_to_aspect

MIN_SIDE = 1 / 640  # a normalised region is at least a reference pixel on a side (a text's single point)


def drawing_region(points) -> tuple[float, float, float, float]:
    """The normalised box (x, y, w, h) of a drawing's points, as the console tracks it."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return float(x0), float(y0), float(max(MIN_SIDE, x1 - x0)), float(max(MIN_SIDE, y1 - y0))


def sent_picture(frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
    """The grey picture of ``frame`` as it is sent at width x height: its luma, centre-cropped to that
    aspect ratio as the sender's ``FrameShaper`` does (the scaling does not matter: normalised coordinates)."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    return crop_to_aspect(convert.planes_of(frame), width, height).y


class CustomerAnchors:
    def __init__(self, scene: AnnotationScene, *, history: FrameHistory | None = None,
                 shown: AnchoredScene | None = None):
        self.scene = scene
        self.history = history or FrameHistory()
        self.shown = shown if shown is not None else AnchoredScene(scene)  # (a console's PeerAnchors writes into the console's own)
        self.anchors: dict[str, LateAnchor] = {}
        self.anchored_by: dict[str, int] = {}  # drawing id → the sender whose anchor message listed it
        self.dropped: set[str] = set()  # hidden by a camera switch until an anchor names them again
        self.messages = 0
        self.last: tuple[int, dict[str, np.ndarray | None]] | None = None  # (newest timestamp_us, answers)
        self.switched_us = -1  # the newest frame of the camera before the last switch

    def sent(self, timestamp_us: int, grey) -> None:
        """A frame about to be sent (its grey picture, as sent) under its ``timestamp_us``; then the
        drawings are brought up to it."""
        newest = self.history.newest
        if newest is not None and timestamp_us <= newest.timestamp_us:
            return
        self.history.push(timestamp_us, grey)
        if self.anchors:
            self.refresh()

    def received(self, message: dict[str, Any]) -> None:
        """An ``anchor`` message from a console: it lists its sender's drawings only (an invited expert's
        console sends its own), so a drawing is unanchored only by a list of its own sender's."""
        timestamp_us = message.get("timestamp_us")
        anchors = message.get("anchors")
        if not isinstance(timestamp_us, int) or not isinstance(anchors, dict):
            return
        if timestamp_us <= self.switched_us:
            return  # about a frame of the camera before a switch (on its way when it came): stays hidden
        self.messages += 1
        sender = sender_of(message)
        for drawing_id in [i for i in self.anchors if i not in anchors and self.anchored_by.get(i) == sender]:
            del self.anchors[drawing_id]  # no longer listed by its sender: not anchored
            del self.anchored_by[drawing_id]
            self.shown.forget([drawing_id])
        for drawing_id, h in anchors.items():
            item = self.scene.items.get(drawing_id)
            if item is None:
                continue
            self.dropped.discard(drawing_id)
            anchor = self.anchors.get(drawing_id)
            if anchor is None:
                anchor = self.anchors[drawing_id] = LateAnchor(self.history, drawing_region(item["points"]))
            self.anchored_by[drawing_id] = sender
            try:
                anchor.receive(timestamp_us, None if h is None else np.asarray(h, np.float64).reshape(3, 3))
            except (TypeError, ValueError):
                anchor.receive(timestamp_us, None)  # a malformed homography hides the drawing
        self.refresh()

    def current(self) -> dict[str, np.ndarray | None]:
        """Each anchored drawing's homography to the newest frame (None: hidden), kept as ``last``."""
        now = {drawing_id: anchor.current() for drawing_id, anchor in self.anchors.items()}
        newest = self.history.newest
        self.last = (newest.timestamp_us if newest is not None else 0, now)
        return now

    def to_show(self, now: dict[str, np.ndarray | None]) -> dict[str, np.ndarray | None]:
        """``now`` with the dropped drawings (a camera switch) that are still in the scene, hidden."""
        return {**{i: None for i in self.dropped if i in self.scene.items}, **now}

    def refresh(self) -> dict[str, np.ndarray | None]:
        """Each anchored drawing's homography to the newest frame sent (None: hidden), given to the overlay."""
        now = self.current()
        self.shown.set_homographies(self.to_show(now))
        return now

    def annotated(self, ids: Iterable[str]) -> None:
        """These drawings were removed (remove, undo, clear)."""
        ids = list(ids)
        for drawing_id in ids:
            self.anchors.pop(drawing_id, None)
            self.anchored_by.pop(drawing_id, None)
            self.dropped.discard(drawing_id)
        self.shown.forget(ids)

    def camera_switched(self) -> None:
        """Another camera: every anchored drawing hidden, the frames of the old one forgotten."""
        newest = self.history.newest
        if newest is not None:
            self.switched_us = newest.timestamp_us
        self.dropped |= set(self.anchors)
        self.anchors.clear()
        self.anchored_by.clear()
        self.history.frames.clear()
        self.refresh()
