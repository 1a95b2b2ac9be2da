"""The agent's drawings: the ``annotation`` operations kept as a scene, rasterised to RGBA.

Operations (docs/protocol.md, ``annotation``): ``add`` an item (an item with an id already there
replaces it), ``remove`` one by id, ``undo`` the last added, ``clear``. Points are fractions of the
picture's width and height; ``width`` and ``size`` are pixels of the displayed picture. Each item is its
sender's (``from_index``, issue 21: an invited expert draws too; a message without it is the session's
agent's): ``undo`` and ``clear`` take only their sender's items (static/customer/overlay.js keeps the same
rule). A console shows the other full-rights participants' drawings too (``apply_peer``), each its sender's.

The rasteriser is NumPy: each segment's pixels get a coverage from their distance to it (one pixel
of anti-aliasing), items are laid over each other in order with straight alpha. Text needs glyphs,
which NumPy does not have: the scene takes a ``text_renderer`` (the Qt clients pass one drawing with
the Nanum fonts); without one, OpenCV's Hershey font is used when OpenCV is installed, else a
marker box. ``OverlayCompositor`` caches the raster per picture size and scene version, with the
dirty rectangles the native compositor wants, and blends it onto RGB or I420 frames.

Anchored drawings (issue 20, ``docs/tracking.md``): ``AnchoredScene`` is a scene as it is shown now,
each anchored item drawn through its homography (from the frame it was drawn on to this frame,
normalised coordinates; ``warp_item``) and left out while that homography is None (its surface is
lost); items without one stay where they were drawn. The console and the Python customer both draw
through it, so the two sides warp a shape the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
from anysupport_native import composite
from anysupport_native.planes import I420

from anysupport.protocol.vocabulary import AGENT_INDEX

TextRenderer = Callable[[str, float, tuple[int, int, int, int]], np.ndarray]
SHAPES = ("stroke", "line", "arrow", "rect", "ellipse", "text")
SESSION_AGENT = AGENT_INDEX  # the participant index of a message without ``from_index`` (version 1: the session's agent)


def sender_of(message: dict[str, Any]) -> int:
    """Who sent an ``annotation`` or ``anchor`` message: its ``from_index``, else the session's agent."""
    index = message.get("from_index")
    return index if isinstance(index, int) else SESSION_AGENT


_ITEM_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?")
_ITEM_FIELDS = {"id", "shape", "color", "width", "points", "text", "size"}


def _number(value: Any, low: float, high: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high


def well_formed(message: dict[str, Any]) -> bool:
    """An ``annotation`` as docs/protocol.md and the server's schema allow it (``op``, ``id``, ``item``: shape,
    colour, width 0.5-64, 1-2000 points in 0..1, two for a line, arrow, rect or ellipse, a text of 1-500
    characters, size 4-200). A sealed one reaches a console unread by the server: checked before it is drawn."""
    op = message.get("op")
    if op not in ("add", "remove", "undo", "clear"):
        return False
    if "id" in message and not (isinstance(message["id"], str) and _ITEM_ID.fullmatch(message["id"])):
        return False
    if op == "remove" and "id" not in message:
        return False
    item = message.get("item")
    if item is None:
        return op != "add" and "item" not in message
    if not isinstance(item, dict) or not _ITEM_FIELDS.issuperset(item) or item.get("shape") not in SHAPES:
        return False
    points = item.get("points")
    return bool(
        isinstance(item.get("id"), str) and _ITEM_ID.fullmatch(item["id"])
        and isinstance(item.get("color"), str) and _COLOR.fullmatch(item["color"])
        and _number(item.get("width"), 0.5, 64)
        and isinstance(points, list) and 1 <= len(points) <= 2000
        and (item["shape"] in ("stroke", "text") or len(points) == 2)
        and all(isinstance(p, list) and len(p) == 2 and _number(p[0], 0, 1) and _number(p[1], 0, 1) for p in points)
        and ("size" not in item or _number(item["size"], 4, 200))
        and (item["shape"] != "text" or "text" in item)
        and ("text" not in item or (isinstance(item["text"], str) and 1 <= len(item["text"]) <= 500)))


def parse_color(text: str) -> tuple[int, int, int, int]:
    text = text.lstrip("#")
    r, g, b = (int(text[i:i + 2], 16) for i in (0, 2, 4))
    a = int(text[6:8], 16) if len(text) == 8 else 255
    return r, g, b, a


class AnnotationScene:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.owners: dict[str, int] = {}  # item id → its sender's participant index
        self.version = 0

    def taken(self, message: dict[str, Any]) -> list[str]:
        """The items a ``remove``, ``undo`` or ``clear`` would take away (its sender's own, for the last two)."""
        op = message.get("op")
        if op == "remove":
            return [message["id"]] if message.get("id") in self.items else []
        mine = [i for i in self.order if self.owners.get(i) == sender_of(message)]
        return {"undo": mine[-1:], "clear": mine}.get(op, [])

    def apply(self, message: dict[str, Any]) -> bool:
        """Apply one ``annotation`` message; True when the scene changed."""
        op = message.get("op")
        if op == "add":
            item = message["item"]
            if item.get("shape") not in SHAPES:
                return False
            if item["id"] in self.items:
                self.order.remove(item["id"])
            self.items[item["id"]] = item
            self.owners[item["id"]] = sender_of(message)
            self.order.append(item["id"])
        elif op in ("remove", "undo", "clear"):
            gone = self.taken(message)
            if not gone:
                return False
            for item_id in gone:
                del self.items[item_id]
                del self.owners[item_id]
                self.order.remove(item_id)
        else:
            return False
        self.version += 1
        return True

    def apply_peer(self, message: dict[str, Any], me: int | None) -> list[str] | None:
        """A console's rule for another participant's ``annotation`` (version 2: an invited expert's, or the
        session's agent's on an expert's console; ``me`` is this console's index). Applied only when it names
        a sender other than ``me``, and then only to that sender's own drawings: an ``add`` does not replace,
        nor a ``remove`` take, another's item. Returns the ids it took away or replaced (their anchors go),
        None when not applied (a version-1 message has no ``from_index``: the console's own drawings only)."""
        sender = message.get("from_index")
        if not isinstance(sender, int) or isinstance(sender, bool) or sender == me:
            return None
        op = message.get("op")
        if op == "add":
            item_id = (message.get("item") or {}).get("id")
            if item_id in self.owners and self.owners[item_id] != sender:
                return None
            gone = [item_id] if item_id in self.items else []
        elif op == "remove" and self.owners.get(message.get("id")) != sender:
            return None
        else:
            gone = self.taken(message)
        return gone if self.apply(message) else None

    def __len__(self) -> int:
        return len(self.order)

    def ordered(self) -> list[dict[str, Any]]:
        return [self.items[i] for i in self.order]


# -- anchored drawings ---------------------------------------------------------------------------------
ELLIPSE_POINTS = 48


def _through(h: np.ndarray, pts: np.ndarray) -> np.ndarray | None:
    """Normalised points through a normalised homography; None when one falls behind the camera."""
    q = pts @ h[:2, :2].T + h[:2, 2]
    w = pts @ h[2, :2] + h[2, 2]
    if np.any(w <= 1e-9):
        return None
    out = q / w[:, None]
    return out if np.all(np.isfinite(out)) else None


def warp_item(item: dict[str, Any], h) -> dict[str, Any] | None:
    """``item`` (normalised points on the frame it was drawn on) as it lies on a frame ``h`` maps to.

    A rectangle becomes its four mapped corners and an ellipse a polygon of ``ELLIPSE_POINTS``, both
    closed strokes, so a turned or tilted surface turns them too; a text keeps its size and moves
    with its anchor point. None when the drawing would be behind the camera.
    """
    h = np.asarray(h, np.float64).reshape(3, 3)
    pts = np.asarray(item["points"], np.float64).reshape(-1, 2)
    shape = item["shape"]
    if shape == "rect":
        (ax, ay), (bx, by) = pts[0], pts[1]
        pts = np.array([(ax, ay), (bx, ay), (bx, by), (ax, by), (ax, ay)], np.float64)
        shape = "stroke"
    elif shape == "ellipse":
        (ax, ay), (bx, by) = pts[0], pts[1]
        t = np.linspace(0, 2 * np.pi, ELLIPSE_POINTS + 1)
        pts = np.c_[(ax + bx) / 2 + abs(bx - ax) / 2 * np.cos(t), (ay + by) / 2 + abs(by - ay) / 2 * np.sin(t)]
        shape = "stroke"
    mapped = _through(h, pts)
    if mapped is None:
        return None
    return {**item, "shape": shape, "points": [[float(x), float(y)] for x, y in mapped]}


class AnchoredScene:
    """``scene`` as shown now: anchored items through their homographies, lost ones hidden.

    ``set_homographies({id: 3x3 normalised or None})`` replaces what is known; an id not in it is not
    anchored and is drawn where it was drawn. ``hide(ids)`` keeps ids hidden until they are anchored
    again (a camera switch). It reads like an ``AnnotationScene`` to ``rasterise`` and
    ``OverlayCompositor`` (``ordered()``, ``len()``, ``version``).
    """

    def __init__(self, scene: AnnotationScene):
        self.scene = scene
        self.homographies: dict[str, np.ndarray | None] = {}
        self._generation = 0

    @property
    def version(self) -> tuple[int, int]:
        return self.scene.version, self._generation

    def __len__(self) -> int:
        return len(self.scene)

    def set_homographies(self, homographies: dict[str, Any]) -> None:
        known = {k: (None if v is None else np.asarray(v, np.float64).reshape(3, 3)) for k, v in homographies.items()}
        if known.keys() == self.homographies.keys() and all(
                (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
                for a, b in ((known[k], self.homographies[k]) for k in known)):
            return
        self.homographies = known
        self._generation += 1

    def hide(self, ids) -> None:
        """Hide these drawings (each homography None) until they are anchored again."""
        self.set_homographies({**self.homographies, **{i: None for i in ids}})

    def forget(self, ids) -> None:
        """These drawings are gone (removed, undone, cleared)."""
        self.set_homographies({k: v for k, v in self.homographies.items() if k not in set(ids)})

    def shown(self, item_id: str) -> bool:
        return item_id in self.scene.items and (item_id not in self.homographies
                                                or self.homographies[item_id] is not None)

    def ordered(self) -> list[dict[str, Any]]:
        out = []
        for item in self.scene.ordered():
            if item["id"] not in self.homographies:
                out.append(item)
                continue
            h = self.homographies[item["id"]]
            warped = None if h is None else warp_item(item, h)
            if warped is not None:
                out.append(warped)
        return out


# -- rasterising ---------------------------------------------------------------------------------------
def _lay_over(target: np.ndarray, colour, a_s: np.ndarray) -> None:
    """Straight-alpha "over" in place: ``colour`` (RGB, per pixel or one for all) with alpha ``a_s``
    (0..1, shape (h, w, 1)) laid over the RGBA ``target`` view (h, w, 4)."""
    region = target.astype(np.float32)
    a_d = region[..., 3:] / 255.0
    a_o = a_s + a_d * (1 - a_s)
    region[..., :3] = (colour * a_s + region[..., :3] * a_d * (1 - a_s)) / np.where(a_o > 0, a_o, 1)
    region[..., 3:] = a_o * 255
    target[...] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def _over(overlay: np.ndarray, x0: int, y0: int, coverage: np.ndarray, rgba) -> None:
    """Lay colour ``rgba`` with per-pixel ``coverage`` (0..1) over ``overlay`` at (x0, y0)."""
    h, w = coverage.shape
    colour = np.array(rgba[:3], np.float32)
    _lay_over(overlay[y0:y0 + h, x0:x0 + w], colour, coverage[..., None] * np.float32(rgba[3] / 255.0))


def _box(points: np.ndarray, pad: float, width: int, height: int):
    x0 = max(0, int(math.floor(points[:, 0].min() - pad)))
    y0 = max(0, int(math.floor(points[:, 1].min() - pad)))
    x1 = min(width, int(math.ceil(points[:, 0].max() + pad)) + 1)
    y1 = min(height, int(math.ceil(points[:, 1].max() + pad)) + 1)
    return x0, y0, x1, y1


def _segments_coverage(segments: list[tuple[np.ndarray, np.ndarray]], line_width: float, width: int, height: int):
    """(x0, y0, coverage) of the union of thick segments; None when off the picture."""
    half = max(0.5, line_width / 2)
    pts = np.array([p for seg in segments for p in seg], np.float64)
    x0, y0, x1, y1 = _box(pts, half + 1, width, height)
    if x1 <= x0 or y1 <= y0:
        return None
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
    cover = np.zeros((y1 - y0, x1 - x0), np.float32)
    for a, b in segments:
        ax, ay = float(a[0]), float(a[1])
        dx, dy = float(b[0] - a[0]), float(b[1] - a[1])
        # only the segment's own box, to keep long strokes cheap
        sx0, sy0, sx1, sy1 = _box(np.array([a, b]), half + 1, width, height)
        if sx1 <= sx0 or sy1 <= sy0:
            continue
        sub_x = xs[:, sx0 - x0:sx1 - x0]
        sub_y = ys[sy0 - y0:sy1 - y0, :]
        length2 = dx * dx + dy * dy
        if length2 > 0:
            t = np.clip(((sub_x - ax) * dx + (sub_y - ay) * dy) / length2, 0, 1)
        else:
            t = np.zeros((1, 1), np.float32)
        dist = np.hypot(sub_x - ax - t * dx, sub_y - ay - t * dy)
        c = np.clip(half + 0.5 - dist, 0, 1)
        view = cover[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]
        np.maximum(view, c, out=view)
    return x0, y0, cover


def _ellipse_coverage(p0, p1, line_width: float, width: int, height: int):
    half = max(0.5, line_width / 2)
    cx, cy = (p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2
    rx, ry = max(0.5, abs(p1[0] - p0[0]) / 2), max(0.5, abs(p1[1] - p0[1]) / 2)
    x0, y0, x1, y1 = _box(np.array([p0, p1]), half + 1, width, height)
    if x1 <= x0 or y1 <= y0:
        return None
    xs = (np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5 - cx)
    ys = (np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5 - cy)
    r = np.sqrt((xs / rx) ** 2 + (ys / ry) ** 2)
    grad = np.sqrt((xs / rx ** 2) ** 2 + (ys / ry ** 2) ** 2) / np.maximum(r, 1e-6)
    dist = np.abs(r - 1) / np.maximum(grad, 1e-6)
    return x0, y0, np.clip(half + 0.5 - dist, 0, 1).astype(np.float32)


def _arrow_segments(a: np.ndarray, b: np.ndarray, line_width: float):
    segments = [(a, b)]
    length = float(np.hypot(*(b - a)))
    if length > 0:
        head = min(max(10.0, line_width * 4), length * 0.6)
        angle = math.atan2(b[1] - a[1], b[0] - a[0])
        for side in (-1, 1):
            theta = angle + math.pi - side * math.radians(28)
            tip = b + head * np.array([math.cos(theta), math.sin(theta)])
            segments.append((b, tip))
    return segments


def default_text_renderer(text: str, size: float, rgba) -> np.ndarray:
    """Hershey glyphs through OpenCV when installed (ASCII only), else a marker box of the text's size."""
    px = max(6, int(round(size)))
    try:
        import cv2
    except ImportError:
        cv2 = None
    if cv2 is not None:
        scale = px / 22.0
        thickness = max(1, px // 12)
        shown = "".join(ch if ord(ch) < 128 else "?" for ch in text)
        (tw, th), base = cv2.getTextSize(shown, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        mask = np.zeros((th + base + 2, tw + 2), np.uint8)
        cv2.putText(mask, shown, (1, th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thickness, cv2.LINE_AA)
    else:
        mask = np.zeros((px, max(px, int(px * 0.6 * len(text)))), np.uint8)
        mask[-max(1, px // 8):, :] = 255
        mask[:, : max(1, px // 8)] = 255
    out = np.zeros((*mask.shape, 4), np.uint8)
    out[..., :3] = rgba[:3]
    out[..., 3] = (mask.astype(np.uint16) * rgba[3] // 255).astype(np.uint8)
    return out


def _paste(overlay: np.ndarray, sprite: np.ndarray, x: int, y: int) -> None:
    """Lay an RGBA sprite (straight alpha) over ``overlay`` with its top-left corner at (x, y)."""
    h, w = overlay.shape[:2]
    sh, sw = sprite.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + sw), min(h, y + sh)
    if x1 <= x0 or y1 <= y0:
        return
    part = sprite[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.float32)
    _lay_over(overlay[y0:y1, x0:x1], part[..., :3], part[..., 3:] / 255.0)


def rasterise(scene: AnnotationScene | AnchoredScene, width: int, height: int, *, text_renderer: TextRenderer | None = None,
              out: np.ndarray | None = None) -> np.ndarray:
    """The scene as an RGBA (height, width, 4) overlay with straight alpha."""
    overlay = np.zeros((height, width, 4), np.uint8) if out is None else out
    overlay[...] = 0
    size = np.array([width, height], np.float64)
    render_text = text_renderer or default_text_renderer
    for item in scene.ordered():
        rgba = parse_color(item["color"])
        pts = np.asarray(item["points"], np.float64).reshape(-1, 2) * size
        line_width = float(item.get("width", 2))
        shape = item["shape"]
        if shape == "text":
            sprite = render_text(item["text"], float(item.get("size", 24)), rgba)
            _paste(overlay, sprite, int(round(pts[0, 0])), int(round(pts[0, 1])))
            continue
        if shape == "ellipse":
            got = _ellipse_coverage(pts[0], pts[1], line_width, width, height)
        else:
            if shape == "stroke":
                segments = [(pts[0], pts[0])] if len(pts) == 1 else list(zip(pts[:-1], pts[1:], strict=True))
            elif shape == "line":
                segments = [(pts[0], pts[1])]
            elif shape == "arrow":
                segments = _arrow_segments(pts[0], pts[1], line_width)
            else:  # rect
                (ax, ay), (bx, by) = pts[0], pts[1]
                corners = [np.array(c) for c in ((ax, ay), (bx, ay), (bx, by), (ax, by))]
                segments = list(zip(corners, corners[1:] + corners[:1], strict=True))
            got = _segments_coverage(segments, line_width, width, height)
        if got is not None:
            x0, y0, cover = got
            _over(overlay, x0, y0, cover, rgba)
    return overlay


class OverlayCompositor:
    """The scene's raster for one picture size, re-made only when the scene or the size changes."""

    def __init__(self, scene: AnnotationScene | AnchoredScene, *, text_renderer: TextRenderer | None = None):
        self.scene = scene
        self.text_renderer = text_renderer
        self._key: tuple | None = None
        self.overlay: np.ndarray | None = None
        self.rects: np.ndarray | None = None

    def overlay_for(self, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        key = (width, height, self.scene.version)
        if key != self._key:
            if self.overlay is None or self.overlay.shape[:2] != (height, width):
                self.overlay = np.zeros((height, width, 4), np.uint8)
            rasterise(self.scene, width, height, text_renderer=self.text_renderer, out=self.overlay)
            self.rects = composite.dirty_rects(self.overlay)
            self._key = key
        return self.overlay, self.rects

    def composite_rgb(self, frame: np.ndarray) -> np.ndarray:
        """Blend the drawings onto an RGB24 picture (height, width, 3) in place."""
        if len(self.scene):
            overlay, rects = self.overlay_for(frame.shape[1], frame.shape[0])
            composite.composite_rgb(frame, overlay, rects=rects)
        return frame

    def composite_i420(self, planes: I420) -> I420:
        if len(self.scene):
            overlay, rects = self.overlay_for(planes.width, planes.height)
            composite.composite_i420(planes, overlay, rects=rects)
        return planes
