"""The picture of the viewer: paints what the renderer made, turns clicks into frame points, draws.

All geometry comes from the ``ViewTransform`` the picture was rendered with, so a click lands on the
frame point that is painted under the mouse, whatever the zoom and rotation. Drawing (그리기): a
press starts an item of the chosen shape, moves extend it, the release finishes it; finished items
are ``annotation`` items in the frame's own coordinates (``item_drawn``), shown from then on in the
picture itself (composited by the renderer, as the customer sees them). When the zoomed picture is
larger than the widget and no drawing tool or focus is chosen, a drag moves it (``pan_dragged``, in
widget pixels; the viewer hands it to the renderer's transform, so clicks and drawings still land on
the frame point painted under the mouse).
"""

from __future__ import annotations

import itertools
import math
import secrets
from collections.abc import Callable
from typing import Any

from anysupport_qt import (
    QColor,
    QFont,
    QImage,
    QPainter,
    QPen,
    QPointF,
    QRect,
    QRectF,
    Qt,
    QTimer,
    QWidget,
    image_from_rgb,
    pyqtSignal,
)

from ..render import Rendered
from ..transform import ViewTransform

SHAPES = ("stroke", "line", "arrow", "rect", "ellipse", "text")
_ids = itertools.count(1)


_run = secrets.token_hex(3)  # another console's drawings share the scene (issue 21): ids unique across consoles


def new_item_id() -> str:
    return f"a{_run}-{next(_ids)}"


class VideoView(QWidget):
    focus_clicked = pyqtSignal(float, float)  # frame point (fractions)
    item_drawn = pyqtSignal(object)  # an annotation item
    resized = pyqtSignal(int, int)
    pan_dragged = pyqtSignal(float, float)  # a drag of the zoomed picture, widget pixels since the last move

    def __init__(self, *, ask_text: Callable[[QWidget], str | None] | None = None, parent=None):
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setMouseTracking(False)
        self.rendered: Rendered | None = None
        self.image: QImage | None = None
        self.background = QColor("#202124")
        self.notice = ""  # waiting / reconnecting / paused / ended
        self.focus_mode = False
        self.focus_ring: tuple[float, float, bool] | None = None  # (x, y, applied): the customer's answer, for a moment
        self.shape: str | None = None  # None: not drawing
        self.color = "#ff0000"
        self.width_px = 4
        self.text_size = 24
        self.frame_size = (0, 0)  # the size the customer sends (camera_state), for widths
        self.ask_text = ask_text
        self._points: list[tuple[float, float]] = []
        self._drag_from: tuple[int, int] | None = None  # panning: the last mouse position
        self.font_family: str | None = None

    # -- what to show -----------------------------------------------------------------------------------
    @property
    def transform(self) -> ViewTransform | None:
        return self.rendered.transform if self.rendered is not None else None

    def show_rendered(self, rendered: Rendered) -> None:
        self.rendered = rendered
        self.image = image_from_rgb(rendered.image)
        self.update()

    def clear_picture(self) -> None:
        self.rendered = None
        self.image = None
        self.update()

    def show_focus(self, x: float, y: float, applied: bool, *, seconds: float = 1.5) -> None:
        """Where the customer's camera was asked to focus, as a ring for ``seconds`` (solid yellow when it
        took it, dashed white when it could not; issue 17 #13)."""
        self.focus_ring = (x, y, applied)
        self.update()
        QTimer.singleShot(int(seconds * 1000), self._focus_done)

    def _focus_done(self) -> None:
        self.focus_ring = None
        self.update()

    def set_notice(self, text: str) -> None:
        self.notice = text
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.resized.emit(self.width(), self.height())

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.background)
        if self.image is not None and self.rendered is not None:
            x, y, w, h = self.rendered.dest
            painter.drawImage(QRect(x, y, w, h), self.image)
            if self.notice:  # reconnecting, paused, ended: the picture is not live, so it does not look live
                painter.fillRect(QRect(x, y, w, h), QColor(0, 0, 0, 120))
        if self._points and self.transform is not None:
            self._paint_in_progress(painter)
        if self.focus_ring is not None and self.transform is not None:
            self._paint_focus(painter)
        if self.notice:
            font = QFont(self.font_family) if self.font_family else QFont()
            font.setPixelSize(20)
            font.setBold(True)
            painter.setFont(font)
            box = QRectF(self.rect()).adjusted(20, 20, -20, -20)
            metrics = painter.fontMetrics()
            text_rect = metrics.boundingRect(box.toRect(), int(Qt.AlignCenter | Qt.TextWordWrap), self.notice)
            painter.fillRect(text_rect.adjusted(-12, -8, 12, 8), QColor(0, 0, 0, 160))
            painter.setPen(QColor("#ffffff"))
            painter.drawText(box, int(Qt.AlignCenter | Qt.TextWordWrap), self.notice)
        painter.end()

    def _paint_focus(self, painter: QPainter) -> None:
        x, y, applied = self.focus_ring
        cx, cy = self.transform.widget_point(x, y)
        pen = QPen(QColor("#ffeb3b" if applied else "#ffffff"), 3)
        if not applied:
            pen.setStyle(Qt.DashLine)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(pen)
        painter.drawEllipse(QPointF(cx, cy), 22.0, 22.0)

    def _paint_in_progress(self, painter: QPainter) -> None:
        t = self.transform
        painter.setRenderHint(QPainter.Antialiasing)
        scale = t.scale * (t.frame_width / self.frame_size[0] if self.frame_size[0] else 1.0)
        pen = QPen(QColor(self.color), max(1.0, self.width_px * scale))
        pen.setCapStyle(Qt.RoundCap)
        painter.setPen(pen)
        pts = [QPointF(*t.widget_point(x, y)) for x, y in self._points]
        if self.shape == "stroke" or len(pts) < 2:
            for a, b in zip(pts, pts[1:], strict=False):
                painter.drawLine(a, b)
            return
        a, b = pts[0], pts[-1]
        if self.shape in ("line", "arrow"):
            painter.drawLine(a, b)
        elif self.shape == "rect":
            painter.drawRect(QRectF(a, b).normalized())
        elif self.shape == "ellipse":
            painter.drawEllipse(QRectF(a, b).normalized())

    # -- the mouse --------------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802
        t = self.transform
        if t is None or event.button() != Qt.LeftButton:
            return
        pos = event.pos()
        if self.focus_mode:
            point = t.frame_point(pos.x(), pos.y())
            if point is not None:
                self.focus_clicked.emit(*point)
            return
        if self.shape is None:
            if t.pannable:
                self._drag_from = (pos.x(), pos.y())
                self.setCursor(Qt.ClosedHandCursor)
            return
        point = t.frame_point(pos.x(), pos.y())
        if point is None:
            return
        if self.shape == "text":
            text = self.ask_text(self) if self.ask_text is not None else None
            if text:
                self._emit_item([point], text=text)
            return
        self._points = [point]
        self.update()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag_from is not None:
            x, y = event.pos().x(), event.pos().y()
            dx, dy = x - self._drag_from[0], y - self._drag_from[1]
            self._drag_from = (x, y)
            if dx or dy:
                self.pan_dragged.emit(float(dx), float(dy))
            return
        t = self.transform
        if not self._points or t is None:
            return
        point = t.clamped_frame_point(event.pos().x(), event.pos().y())
        if self.shape == "stroke":
            if len(self._points) < 2000 and point != self._points[-1]:
                self._points.append(point)
        else:
            self._points[1:] = [point]
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drag_from is not None:
            self.mouseMoveEvent(event)
            self._drag_from = None
            self.unsetCursor()
            return
        if not self._points:
            return
        t = self.transform
        if t is not None and self.shape != "stroke":
            self._points[1:] = [t.clamped_frame_point(event.pos().x(), event.pos().y())]
        points, self._points = self._points, []
        if self.shape != "stroke":
            if len(points) < 2 or math.dist(points[0], points[-1]) < 1e-3:
                self.update()
                return
            points = [points[0], points[-1]]
        self._emit_item(points)
        self.update()

    def _emit_item(self, points: list[tuple[float, float]], text: str | None = None) -> None:
        item: dict[str, Any] = {"id": new_item_id(), "shape": self.shape, "color": self.color,
                                "width": float(min(64, max(0.5, self.width_px))),
                                "points": [[round(x, 5), round(y, 5)] for x, y in points]}
        if text is not None:
            item["text"] = text[:500]
            item["size"] = float(self.text_size)
        self.item_drawn.emit(item)
