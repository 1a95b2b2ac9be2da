"""The mobile window's picture: the camera preview and everything laid over it, painted from the call's state.

The preview covers its area (cropped to fill, like a camera app); over it who is present (``presence_view``,
top left, with a notice on every join and leave above the chat lines), then the status, who the agent is
now after a hand-over, and the security code (top left), a standing problem (no secure connection, no speaker), the recording
indicator (top centre), the agent's camera in a corner while it is on, the direction arrow (centre)
and the agent's chat lines (lower left). What to show comes from ``CallState`` and ``Presence``; the two pictures are
the only state of its own.
"""

from __future__ import annotations

from anysupport_qt import QColor, QFont, QImage, QPainter, QPainterPath, QPen, QRect, Qt, QWidget

from anysupport.protocol.vocabulary import GUIDE_GLYPHS

from .call import CallState
from .presence import Person, Presence
from .presence_view import paint_notices, paint_people
from .texts import text

CONTROL_COLUMN = 96  # the window's buttons sit in this column on the right, over the picture's margin


class PreviewView(QWidget):
    def __init__(self, call: CallState, language: str, parent: QWidget | None = None, *,
                 presence: Presence | None = None):
        super().__init__(parent)
        self.call = call
        self.presence = presence or Presence(call.clock)
        self.language = language
        self.image: QImage | None = None  # the camera, the agent's drawings composited
        self.agent_image: QImage | None = None
        self.setAttribute(Qt.WA_OpaquePaintEvent)

    def t(self, key: str, **fields: str) -> str:
        return text(key, self.language, **fields)

    @property
    def status(self) -> str:
        key = self.call.status_key()
        return self.t(key) if key else ""

    @property
    def notice(self) -> str:
        key = self.call.notice_key()
        return self.t(key) if key else ""

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.setRenderHint(QPainter.SmoothPixmapTransform)
        p.fillRect(self.rect(), QColor(12, 12, 12))
        area = self.rect().adjusted(0, 0, -CONTROL_COLUMN, 0)
        if self.image is not None:
            # cover the area, cropping the picture's overflow, as camera apps do
            scaled = self.image.size().scaled(area.size(), Qt.KeepAspectRatioByExpanding)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(area.center())
            p.save()
            p.setClipRect(area)
            p.drawImage(target, self.image)
            p.restore()
        call = self.call
        if call.paused:
            p.fillRect(area, QColor(0, 0, 0, 140))
            self._pill(p, area.center().x(), area.center().y(), self.t("paused"), QColor(0, 0, 0, 200), center=True)
        # who is present, then status and security code, top left (the page's order: the list first)
        y = paint_people(p, area, self.presence, self.t, self._font)
        changed = call.agent_changed_shown()
        for label, fill in ((self.status, QColor(0, 0, 0, 150)),
                            (self.t("agent_changed", name=changed) if changed is not None else "", QColor(25, 80, 160, 210)),
                            (self.t("secure_code", sas=call.sas) if call.sas else "", QColor(0, 0, 0, 150)),
                            (self.notice, QColor(160, 40, 20, 190))):
            if label:
                self._pill(p, 12, y, label, fill)
                y += 34
        if call.recording:
            self._recording(p, area)
        if call.agent_video:
            self._agent_corner(p, area)
        direction = call.guide_shown()
        if direction is not None:
            self._guide(p, area, direction)
        self._chat(p, area)
        paint_notices(p, area, self.presence, self.t, self._font)
        p.end()

    def _font(self, pixels: int, bold: bool = False) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(pixels)
        font.setBold(bold)
        return font

    def _pill(self, p: QPainter, x: int, y: int, label: str, fill: QColor, *, center: bool = False,
              pixels: int = 15) -> QRect:
        p.setFont(self._font(pixels, True))
        metrics = p.fontMetrics()
        w, h = metrics.horizontalAdvance(label) + 20, metrics.height() + 10
        rect = QRect(x - w // 2, y - h // 2, w, h) if center else QRect(x, y, w, h)
        p.setPen(Qt.NoPen)
        p.setBrush(fill)
        p.drawRoundedRect(rect, h / 2, h / 2)
        p.setPen(QColor("white"))
        p.drawText(rect, Qt.AlignCenter, label)
        return rect

    def _recording(self, p: QPainter, area: QRect) -> None:
        label = self.t("recording")
        p.setFont(self._font(15, True))
        w = p.fontMetrics().horizontalAdvance(label) + 40
        rect = QRect(area.center().x() - w // 2, 12, w, 28)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(rect, 14, 14)
        blink = int(self.call.clock() * 2) % 2 == 0
        p.setBrush(QColor(235, 40, 40) if blink else QColor(150, 30, 30))
        p.drawEllipse(rect.left() + 10, rect.top() + 8, 12, 12)
        p.setPen(QColor("white"))
        p.drawText(rect.adjusted(28, 0, -6, 0), Qt.AlignVCenter | Qt.AlignLeft, label)

    def _agent_corner(self, p: QPainter, area: QRect) -> None:
        w = max(120, area.width() // 4)
        h = w * 3 // 4
        rect = QRect(area.right() - w - 12, 12, w, h)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(30, 30, 30))
        p.drawRoundedRect(rect, 8, 8)
        if self.agent_image is not None:
            scaled = self.agent_image.size().scaled(rect.size(), Qt.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(rect.center())
            p.drawImage(target, self.agent_image)
        p.setPen(QPen(QColor("white"), 2))
        p.setBrush(Qt.NoBrush)
        p.drawRoundedRect(rect, 8, 8)
        self._pill(p, rect.left() + 6, rect.bottom() - 30, self.t("agent_camera"), QColor(0, 0, 0, 160), pixels=12)

    def _guide(self, p: QPainter, area: QRect, direction: str) -> None:
        arrow = GUIDE_GLYPHS.get(direction, "•")
        p.setFont(self._font(max(48, area.height() // 5), True))
        rect = QRect(area.left(), area.center().y() - area.height() // 5, area.width(), area.height() // 3)
        path = QPainterPath()
        metrics = p.fontMetrics()
        x = rect.center().x() - metrics.horizontalAdvance(arrow) / 2
        path.addText(x, rect.center().y() + metrics.ascent() / 2 - metrics.descent() / 2, p.font(), arrow)
        p.strokePath(path, QPen(QColor(0, 0, 0, 200), 6))
        p.fillPath(path, QColor(255, 214, 0))
        self._pill(p, area.center().x(), rect.bottom() + 10, self.t(direction) if direction in GUIDE_GLYPHS else direction,
                   QColor(255, 160, 0, 220), center=True, pixels=18)

    def chat_lines(self) -> list[tuple[str, str]]:
        """The chat lines over the picture, oldest first: (who, what is written). In a call that had a third
        participant each agent's line starts with its writer's name, or its role when it has none."""
        lines = []
        for (who, msg), writer in zip(self.call.chat_shown(), self.call.chat_writers_shown(), strict=True):
            if writer is not None:
                msg = f"{writer.get('name') or self.t(Person.from_message(writer).role_key)}: {msg}"
            lines.append((who, msg))
        return lines

    def _chat(self, p: QPainter, area: QRect) -> None:
        y = area.bottom() - 16
        p.setFont(self._font(16, True))
        metrics = p.fontMetrics()
        for who, msg in reversed(self.chat_lines()):
            width = min(area.width() - 40, metrics.horizontalAdvance(msg) + 36)
            height = metrics.height() + 12
            rect = QRect(16, y - height, width, height)
            p.setPen(Qt.NoPen)
            p.setBrush(QColor(20, 90, 200, 210) if who == "agent" else QColor(60, 60, 60, 200))
            p.drawRoundedRect(rect, 10, 10)
            p.setPen(QColor("white"))
            p.drawText(rect.adjusted(12, 0, -12, 0), Qt.AlignVCenter | Qt.AlignLeft,
                       metrics.elidedText(msg, Qt.ElideRight, width - 20))
            y -= height + 8


__all__ = ["CONTROL_COLUMN", "PreviewView"]
