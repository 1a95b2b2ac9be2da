"""Drawings that stay on the object, the console's side (issue 20, ``docs/tracking.md``): one session's anchors.

``SessionAnchors`` lives on the media thread (the bridge's loop thread, where frames are decoded and
rendered; never the GUI thread). It holds the session's ``DrawingAnchors`` (one ``PlaneTracker`` per
drawing) and the ``AnchoredScene`` the viewer draws:

- ``drawn(item, frame)``: a new drawing, started on the frame it was drawn on (the picture the
  agent saw); while the picture is frozen it waits, and ``release()`` starts it on the frozen frame.
  A drawing whose surface cannot be followed stays where it was drawn (not anchored), as do drawings
  beyond ``MAX_ANCHORED`` at once (each costs about 2 ms a frame) and one whose surface is not found
  in any of the ``CONFIRM_FRAMES`` frames after it was drawn.
- ``annotated(op, ids)``: remove, undo and clear forget their drawings' trackers.
- ``frame(y, timestamp_us)``: every decoded frame (its Y plane is the grey picture): every tracker
  is updated, the shown scene gets the new homographies (a lost surface hides its drawing), and the
  ``anchor`` message to send is returned while any drawing is anchored, for every frame or every
  second one (``due``: at least 15 Hz at 30 fps, every frame when frames are 50 ms or more apart).
  When frames arrive late (the media thread is behind on a busy computer) only every third one is
  tracked, so tracking does not make it fall further behind.
- ``camera_state(state)``: a switch to another camera clears every anchor and hides the anchored
  drawings (an ``anchor`` message with every one null tells the customer); drawings made on a frozen
  picture and not yet anchored stay where they were drawn.
- ``freeze(frame)`` / ``release()``: freeze-frame. While frozen the viewer keeps showing the frozen
  frame with the homographies it had then; the customer keeps getting live anchors.

Version 2 (issue 21): the scene holds the other full-rights participants' drawings too, and ``peers``
(``PeerAnchors``) follows those their consoles anchor, from their ``anchor`` messages, as the customer does
(their homography for a frame this console decoded too, brought up to the newest one by
``LateAnchor``; a message for a frame not decoded here yet waits for it); a camera switch hides them until
their sender anchors them again, and while the picture is frozen they keep where they were. Both write their
homographies into the one ``shown`` scene, each leaving the other's alone; this console's ``anchor``
messages list its own drawings only.

No Qt, no sockets; the clock is injected.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from anysupport_client.media.anchored import CustomerAnchors
from anysupport_client.media.annotation import AnchoredScene, AnnotationScene
from anysupport_client.tracking import DrawingAnchors
from anysupport_client.tracking.picture import as_grey

MAX_ANCHORED = 8  # drawings followed at once (~2 ms each a frame); later ones stay where drawn
MAX_IN_MESSAGE = 64  # the protocol's limit of drawings in one anchor message
CONFIRM_FRAMES = 15  # tracked frames a new drawing's surface has to be found in once, else it is not followable
BEHIND_MS = 150.0  # frames this much later than the quickest recent ones: the media thread is behind
BEHIND_EVERY = 3  # ... then only every third frame is tracked, so it can catch up
TRANSIT_WINDOW = 5.0  # seconds over which the quickest transit is remembered
SEND_GAP = 0.05  # seconds: a frame later than this after the last anchor message always sends one
COST_WINDOW = 300  # frames of tracking cost kept for ``cost_ms``
EARLY_MESSAGES = 30  # another console's anchor messages kept for frames not decoded here yet (about 2 s)


def homography_message(h) -> list[float] | None:
    """9 numbers, row-major, h22 = 1, 7 significant digits (a few kB/s for a handful of drawings)."""
    if h is None:
        return None
    return [float(f"{v:.7g}") for v in np.asarray(h, np.float64).reshape(9)]


class PeerAnchors(CustomerAnchors):
    """The other participants' anchored drawings on this console: ``CustomerAnchors`` fed with the frames
    this console decodes (``sent``) and the other consoles' ``anchor`` messages (``received``), writing into
    the console's own ``shown`` scene without touching the entries it did not write (this console's own)."""

    def __init__(self, scene: AnnotationScene, shown: AnchoredScene):
        super().__init__(scene, shown=shown)
        self._written: set[str] = set()  # the ids whose homographies in ``shown`` are mine
        # ``anchor`` messages for frames this console has not decoded yet (its sender's console is ahead of it):
        # applied when that frame is decoded here
        self.early: deque[dict[str, Any]] = deque(maxlen=EARLY_MESSAGES)
        self.held = False  # the viewer's picture is frozen: what it shows keeps the homographies it had

    @property
    def managed(self) -> set[str]:
        return self._written | set(self.anchors) | self.dropped

    def received(self, message: dict[str, Any]) -> None:
        timestamp_us, newest = message.get("timestamp_us"), self.history.newest
        if isinstance(timestamp_us, int) and (newest is None or timestamp_us > newest.timestamp_us):
            self.early.append(message)
            return
        super().received(message)

    def sent(self, timestamp_us: int, grey) -> None:
        """A frame this console decoded (its grey picture) under its ``timestamp_us``."""
        super().sent(timestamp_us, grey)
        due = [m for m in self.early if m["timestamp_us"] <= timestamp_us]
        if due:
            self.early = deque((m for m in self.early if m["timestamp_us"] > timestamp_us), maxlen=EARLY_MESSAGES)
            for message in due:
                super().received(message)

    def camera_switched(self) -> None:
        self.early.clear()
        super().camera_switched()

    def hold(self, on: bool) -> None:
        """Freeze-frame: while on, the viewer's frozen picture keeps the homographies it had; then brought up to date."""
        self.held = on
        if not on:
            self.refresh()

    def refresh(self) -> dict[str, np.ndarray | None]:
        now = self.current()
        if self.held:
            return now
        mine = self.to_show(now)
        others = {k: v for k, v in self.shown.homographies.items() if k not in self._written or k in mine}
        self.shown.set_homographies({**others, **mine})
        self._written = set(mine)
        return now

    def annotated(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        super().annotated(ids)
        self._written.difference_update(ids)


class SessionAnchors:
    def __init__(self, scene: AnnotationScene, *, anchors: DrawingAnchors | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.scene = scene
        self.anchors = anchors or DrawingAnchors()
        self.shown = AnchoredScene(scene)
        self.peers = PeerAnchors(scene, self.shown)  # the other participants' anchored drawings (issue 21)
        self.clock = clock
        self.frozen: np.ndarray | None = None  # the frozen frame's grey picture
        self.pending: list[tuple[str, Any]] = []  # (id, points) drawn on the frozen frame, anchored on release
        self.facing: str | None = None
        self.latest: dict[str, np.ndarray | None] = {}  # the last frame's answers, by drawing id
        self.last: tuple[int, dict[str, np.ndarray | None]] | None = None  # (timestamp_us, latest): read by tests
        self.costs: deque[float] = deque(maxlen=COST_WINDOW)  # ms per frame spent tracking
        self._last_sent = -1e9
        self._skipped = 0
        self._transits: deque[tuple[float, int]] = deque()  # (seconds, transit µs) increasing transit
        self._untracked = 0
        self.frames_skipped = 0  # frames not tracked because the media thread was behind
        self.tracked = False  # whether the last frame given to ``frame`` was tracked
        self.unconfirmed: dict[str, int] = {}  # new drawings not found yet in a later frame: frames tried

    # -- drawings ------------------------------------------------------------------------------------------
    def drawn(self, item: dict[str, Any], frame) -> bool:
        """Anchor a new drawing on ``frame`` (grey or RGB, the picture it was drawn on); False: not anchored now."""
        if self.frozen is not None:
            self.pending.append((item["id"], item["points"]))
            return False
        if frame is None:
            return False
        return self._start(item["id"], frame, item["points"])

    def _start(self, drawing_id: str, frame, points) -> bool:
        if drawing_id not in self.scene.items or (
                len(self.anchors) >= MAX_ANCHORED and drawing_id not in self.anchors.trackers):
            return False
        # a copy: a decoded frame's planes are the decoder's buffers, used again for later frames
        anchored = self.anchors.add(drawing_id, np.array(as_grey(frame), copy=True), points)
        if anchored:
            self.unconfirmed[drawing_id] = 0
            # hidden until the next frame's answer: the picture on screen may already be a newer frame than
            # the one drawn on, where the drawing's own coordinates would be off by the motion since
            self.shown.set_homographies({**self.shown.homographies, drawing_id: None})
        return anchored

    def annotated(self, op: str, ids: Iterable[str]) -> None:
        """``ids``: the drawings an operation took away (remove: its id; undo: the last; clear: all)."""
        ids = list(ids)
        for drawing_id in ids:
            self.anchors.remove(drawing_id)
            self.latest.pop(drawing_id, None)
            self.unconfirmed.pop(drawing_id, None)
        self.pending = [(i, p) for i, p in self.pending if i not in ids]
        self.shown.forget(ids)

    @property
    def active(self) -> bool:
        """Anything to track or to tell the customer."""
        return len(self.anchors) > 0

    # -- frames --------------------------------------------------------------------------------------------
    def behind(self, timestamp_us: int, now_us: int) -> bool:
        """Whether this frame is late (``BEHIND_MS`` more than the quickest of the last seconds): the thread
        that decodes is not keeping up (a busy computer), and tracking every frame would only add to it."""
        transit, now = now_us - timestamp_us, now_us / 1e6
        while self._transits and self._transits[-1][1] >= transit:
            self._transits.pop()
        self._transits.append((now, transit))
        while self._transits[0][0] < now - TRANSIT_WINDOW:
            self._transits.popleft()
        return (transit - self._transits[0][1]) / 1000 > BEHIND_MS

    def frame(self, y, timestamp_us: int, now_us: int | None = None) -> dict[str, Any] | None:
        """One decoded frame; the ``anchor`` message to send for it, or None. ``now_us`` (when it was decoded,
        wall clock) lets a late frame go untracked (``tracked`` False: the viewer should not show it, its
        drawings would be where they were a frame before)."""
        self.tracked = False
        if not self.active:
            return None
        if now_us is not None and self.behind(timestamp_us, now_us) and self._untracked < BEHIND_EVERY - 1:
            self._untracked += 1
            self.frames_skipped += 1
            return None
        self._untracked = 0
        self.tracked = True
        start = time.perf_counter()
        self.latest = self.anchors.update(np.array(as_grey(y), copy=True))  # (the tracker may keep it)
        self.last = (int(timestamp_us), self.latest)
        self.costs.append((time.perf_counter() - start) * 1000)
        self._confirm()
        if self.frozen is None:
            self.shown.set_homographies({**self.shown.homographies, **self.latest})
        if not self._due():
            return None
        return {"type": "anchor", "timestamp_us": int(timestamp_us),
                "anchors": {k: homography_message(v) for k, v in self.latest.items()}}

    def _confirm(self) -> None:
        """A new drawing whose surface is not found in any of ``CONFIRM_FRAMES`` frames (e.g. a moving
        pattern with corners but nothing rigid) is not followable after all: it goes back to where it was
        drawn and is no longer listed (the customer shows it there too)."""
        for drawing_id in list(self.unconfirmed):
            if self.latest.get(drawing_id) is not None:
                del self.unconfirmed[drawing_id]
                continue
            self.unconfirmed[drawing_id] += 1
            if self.unconfirmed[drawing_id] >= CONFIRM_FRAMES:
                del self.unconfirmed[drawing_id]
                self.anchors.remove(drawing_id)
                self.latest.pop(drawing_id, None)
                self.shown.forget([drawing_id])

    def _due(self) -> bool:
        now = self.clock()
        if self._skipped >= 1 or now - self._last_sent >= SEND_GAP:
            self._last_sent = now
            self._skipped = 0
            return True
        self._skipped += 1
        return False

    def cost_ms(self) -> float | None:
        """The median tracking cost of the recent frames (ms), None before any."""
        return float(np.median(self.costs)) if self.costs else None

    # -- the camera ---------------------------------------------------------------------------------------
    def camera_state(self, state: dict[str, Any], timestamp_us: int | None = None) -> dict[str, Any] | None:
        """A ``camera_state``; on a switch to another camera, the ``anchor`` message hiding every anchored drawing."""
        facing = state.get("facing")
        if facing is None:
            return None
        before, self.facing = self.facing, facing
        if before is None or before == facing:
            return None
        ids = list(self.anchors.trackers)  # (drawings waiting for a release were never anchored: they stay)
        self.anchors.clear()
        self.pending.clear()
        self.unconfirmed.clear()
        self.latest = {}
        theirs = self.peers.managed  # the other participants' anchored drawings: hidden by ``peers``
        self.peers.camera_switched()
        hidden = list(dict.fromkeys([i for i in self.shown.homographies if i in self.scene.items and i not in theirs]
                                    + ids))
        self.shown.hide(hidden)
        if not hidden:
            return None
        return {"type": "anchor", "timestamp_us": int(timestamp_us or 0),
                "anchors": {i: None for i in hidden[-MAX_IN_MESSAGE:]}}

    # -- freeze-frame -----------------------------------------------------------------------------------
    def freeze(self, frame) -> None:
        """The viewer's picture stops at ``frame``: drawings made now wait for ``release``."""
        self.frozen = as_grey(frame).copy()
        self.pending.clear()
        self.peers.hold(True)

    def release(self) -> list[str]:
        """The picture runs again; the drawings made on the frozen frame are anchored to it. Returns those anchored."""
        frozen, self.frozen = self.frozen, None
        pending, self.pending = self.pending, []
        self.peers.hold(False)
        if frozen is None:
            return []
        return [drawing_id for drawing_id, points in pending if self._start(drawing_id, frozen, points)]
