"""The viewer's geometry: zoom in 10% steps, pan, rotate by quarter turns, map clicks to frame points.

The frame is first rotated clockwise by ``quarter_turns`` × 90°, then fitted into the widget
(aspect kept, centred), then scaled by the zoom about the widget's centre, then moved by the pan
(``pan_u``, ``pan_v``: fractions of the picture's width and height, so a zoom keeps the same part in
the middle). The pan is limited so a picture larger than the widget always fills it, and a picture
that fits is centred. Points of the frame are
given as fractions of its own width and height (0, 0 top-left, as the protocol's ``focus`` and
``annotation`` points are), whatever the zoom and rotation. No Qt in here; the widget and the
renderer both ask this one object, so what is painted and where a click lands cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

ZOOM_STEP = 1.1  # 10% of the current size per click
MIN_ZOOM_STEPS = -10
MAX_ZOOM_STEPS = 25
EDGE = 1e-9  # floating-point slack: a click on the picture's last pixel edge is still on it


def rotate_point(x: float, y: float, quarter_turns: int) -> tuple[float, float]:
    """A frame point after turning the frame clockwise by ``quarter_turns`` × 90° (normalised)."""
    turns = quarter_turns % 4
    if turns == 1:
        return 1.0 - y, x
    if turns == 2:
        return 1.0 - x, 1.0 - y
    if turns == 3:
        return y, 1.0 - x
    return x, y


def unrotate_point(u: float, v: float, quarter_turns: int) -> tuple[float, float]:
    return rotate_point(u, v, -quarter_turns % 4)


@dataclass(frozen=True)
class ViewTransform:
    frame_width: int
    frame_height: int
    widget_width: int
    widget_height: int
    zoom_steps: int = 0
    quarter_turns: int = 0
    pan_u: float = 0.0
    pan_v: float = 0.0

    # -- changes (each returns a new transform) -------------------------------------------------
    def zoomed(self, steps: int) -> ViewTransform:
        zoom = min(MAX_ZOOM_STEPS, max(MIN_ZOOM_STEPS, self.zoom_steps + steps))
        return replace(self, zoom_steps=zoom)

    def panned(self, dx: float, dy: float) -> ViewTransform:
        """The picture moved by ``(dx, dy)`` widget pixels (a drag), as far as it can go."""
        _, _, w, h = self._fitted_rect()
        if w <= 0 or h <= 0:
            return self
        x_off, y_off = self._pan_offset(w, h)
        return replace(self, pan_u=self._clamp(x_off + dx, w, self.widget_width) / w,
                       pan_v=self._clamp(y_off + dy, h, self.widget_height) / h)

    def reset(self) -> ViewTransform:
        """Back to the whole picture: no zoom, no pan (the rotation stays)."""
        return replace(self, zoom_steps=0, pan_u=0.0, pan_v=0.0)

    def rotated(self) -> ViewTransform:
        """90° more clockwise."""
        return replace(self, quarter_turns=(self.quarter_turns + 1) % 4)

    def resized(self, widget_width: int, widget_height: int) -> ViewTransform:
        return replace(self, widget_width=widget_width, widget_height=widget_height)

    def for_frame(self, frame_width: int, frame_height: int) -> ViewTransform:
        return replace(self, frame_width=frame_width, frame_height=frame_height)

    # -- geometry --------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return ZOOM_STEP ** self.zoom_steps

    @property
    def rotated_size(self) -> tuple[int, int]:
        if self.quarter_turns % 2:
            return self.frame_height, self.frame_width
        return self.frame_width, self.frame_height

    @property
    def scale(self) -> float:
        """Widget pixels per pixel of the (rotated) frame."""
        rw, rh = self.rotated_size
        if rw <= 0 or rh <= 0 or self.widget_width <= 0 or self.widget_height <= 0:
            return 0.0
        return min(self.widget_width / rw, self.widget_height / rh) * self.zoom

    @property
    def pannable(self) -> bool:
        """The picture is larger than the widget in some direction: dragging moves it."""
        _, _, w, h = self._fitted_rect()
        return w > self.widget_width + EDGE or h > self.widget_height + EDGE

    @staticmethod
    def _clamp(offset: float, size: float, room: float) -> float:
        limit = max(0.0, (size - room) / 2)
        return min(limit, max(-limit, offset))

    def _fitted_rect(self) -> tuple[float, float, float, float]:
        rw, rh = self.rotated_size
        s = self.scale
        w, h = rw * s, rh * s
        return (self.widget_width - w) / 2, (self.widget_height - h) / 2, w, h

    def _pan_offset(self, w: float, h: float) -> tuple[float, float]:
        return (self._clamp(self.pan_u * w, w, self.widget_width), self._clamp(self.pan_v * h, h, self.widget_height))

    @property
    def picture_rect(self) -> tuple[float, float, float, float]:
        """Where the whole rotated picture lies in the widget: ``(x, y, width, height)`` (may exceed it)."""
        x, y, w, h = self._fitted_rect()
        x_off, y_off = self._pan_offset(w, h)
        return x + x_off, y + y_off, w, h

    def frame_point(self, wx: float, wy: float) -> tuple[float, float] | None:
        """The frame point (fractions of its width and height) under widget pixel ``(wx, wy)``; None off the picture."""
        x, y, w, h = self.picture_rect
        if w <= 0 or h <= 0:
            return None
        u, v = (wx - x) / w, (wy - y) / h
        if not (-EDGE <= u <= 1.0 + EDGE and -EDGE <= v <= 1.0 + EDGE):
            return None
        return unrotate_point(min(1.0, max(0.0, u)), min(1.0, max(0.0, v)), self.quarter_turns)

    def clamped_frame_point(self, wx: float, wy: float) -> tuple[float, float]:
        """As ``frame_point``, but a point off the picture is moved to its nearest edge (drawing drags)."""
        x, y, w, h = self.picture_rect
        if w <= 0 or h <= 0:
            return 0.0, 0.0
        u = min(1.0, max(0.0, (wx - x) / w))
        v = min(1.0, max(0.0, (wy - y) / h))
        return unrotate_point(u, v, self.quarter_turns)

    def widget_point(self, fx: float, fy: float) -> tuple[float, float]:
        """Where the frame point ``(fx, fy)`` (fractions) is painted in the widget."""
        u, v = rotate_point(fx, fy, self.quarter_turns)
        x, y, w, h = self.picture_rect
        return x + u * w, y + v * h

    def visible_source(self) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]] | None:
        """The part of the rotated frame that is on screen and where it goes.

        ``((sx, sy, sw, sh), (dx, dy, dw, dh))``: a crop of the rotated frame in its pixels and the
        widget rectangle it is scaled to, so the renderer scales only what shows (a 5× zoom does not
        build a 6400-pixel-wide picture). None when nothing shows.
        """
        rw, rh = self.rotated_size
        x, y, w, h = self.picture_rect
        if w <= 0 or h <= 0:
            return None
        s = self.scale
        left, top = max(0.0, x), max(0.0, y)
        right, bottom = min(float(self.widget_width), x + w), min(float(self.widget_height), y + h)
        if right <= left or bottom <= top:
            return None
        sx0, sy0 = int((left - x) / s), int((top - y) / s)
        sx1 = min(rw, max(sx0 + 1, int(-(-(right - x) // s))))
        sy1 = min(rh, max(sy0 + 1, int(-(-(bottom - y) // s))))
        dx0, dy0 = x + sx0 * s, y + sy0 * s
        dx1, dy1 = x + sx1 * s, y + sy1 * s
        dest = (int(round(dx0)), int(round(dy0)), max(1, int(round(dx1 - dx0))), max(1, int(round(dy1 - dy0))))
        return (sx0, sy0, sx1 - sx0, sy1 - sy0), dest
