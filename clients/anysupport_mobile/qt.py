"""Qt enters the mobile client here (PyQt5), with the glue between its images and NumPy."""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QObject, QPoint, QRect, QRectF, QSize, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QFontMetrics,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
)
from PyQt5.QtWidgets import (
    QAction,
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

__all__ = [
    "QAction", "QApplication", "QBrush", "QColor", "QFont", "QFontDatabase", "QFontMetrics", "QFrame",
    "QHBoxLayout", "QImage", "QLabel", "QLineEdit", "QMenu", "QObject", "QPainter", "QPainterPath", "QPen",
    "QPoint", "QPushButton", "QRect", "QRectF", "QSize", "QTimer", "QToolButton", "QVBoxLayout", "QWidget", "Qt",
    "image_from_rgb", "pick_font_family", "rgba_from_image", "pyqtSignal",
]

KOREAN_FAMILIES = ("NanumGothic", "NanumBarunGothic", "NanumSquareRound", "Noto Sans CJK KR", "Malgun Gothic",
                   "Apple SD Gothic Neo")


def pick_font_family() -> str | None:
    """A family with Hangul glyphs, when one is installed (fonts-nanum on Debian)."""
    families = set(QFontDatabase().families())
    for family in KOREAN_FAMILIES:
        if family in families:
            return family
    return None


def image_from_rgb(rgb: np.ndarray) -> QImage:
    """A QImage owning a copy of an RGB24 (h, w, 3) array."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format_RGB888).copy()


def rgba_from_image(image: QImage) -> np.ndarray:
    """An RGBA8888 (straight alpha) QImage as an (h, w, 4) array (a copy)."""
    image = image.convertToFormat(QImage.Format_RGBA8888)
    w, h = image.width(), image.height()
    ptr = image.constBits()
    ptr.setsize(image.bytesPerLine() * h)
    rows = np.frombuffer(ptr, np.uint8).reshape(h, image.bytesPerLine())
    return rows[:, : w * 4].reshape(h, w, 4).copy()
