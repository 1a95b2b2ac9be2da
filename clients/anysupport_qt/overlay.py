"""Annotation text drawn by Qt: the ``TextRenderer`` the pipeline's ``OverlayCompositor`` calls.

The compositor (``anysupport_client.media.annotation``) has no fonts of its own; a desktop program
hands it this renderer so text items show in a font with Hangul, outlined so they read on any picture.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .images import rgba_from_image
from .qt import QColor, QFont, QImage, QPainter, QPainterPath, QPen, Qt

__all__ = ["qt_text_renderer"]


def qt_text_renderer(family: str | None) -> Callable[[str, float, tuple[int, int, int, int]], np.ndarray]:
    """A renderer of ``(text, pixel size, rgba)`` → an RGBA (h, w, 4) array, in ``family`` (None: Qt's default)."""

    def render(content: str, size: float, rgba) -> np.ndarray:
        font = QFont(family) if family else QFont()
        font.setPixelSize(max(6, int(round(size))))
        font.setBold(True)
        path = QPainterPath()
        path.addText(0, 0, font, content)
        box = path.boundingRect()
        pad = max(2, int(size / 8))
        image = QImage(int(box.width()) + 2 * pad + 2, int(box.height()) + 2 * pad + 2, QImage.Format_RGBA8888)
        image.fill(Qt.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.translate(pad - box.left(), pad - box.top())
        painter.strokePath(path, QPen(QColor(0, 0, 0, min(200, rgba[3])), max(2.0, size / 8)))
        painter.fillPath(path, QColor(*rgba))
        painter.end()
        return rgba_from_image(image)

    return render
