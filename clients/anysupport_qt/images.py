"""NumPy arrays ↔ ``QImage``: the pipeline works in arrays, Qt paints images."""

from __future__ import annotations

import numpy as np

from .qt import QImage

__all__ = ["image_from_rgb", "image_from_rgba", "rgb_from_image", "rgba_from_image"]


def image_from_rgb(rgb: np.ndarray) -> QImage:
    """A QImage owning a copy of an RGB24 (h, w, 3) array."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format_RGB888).copy()


def image_from_rgba(rgba: np.ndarray) -> QImage:
    """A QImage owning a copy of an RGBA8888 (h, w, 4) array (straight alpha)."""
    rgba = np.ascontiguousarray(rgba)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, rgba.strides[0], QImage.Format_RGBA8888).copy()


def _rows(image: QImage, fmt: QImage.Format, channels: int) -> np.ndarray:
    image = image.convertToFormat(fmt)
    w, h = image.width(), image.height()
    ptr = image.constBits()
    ptr.setsize(image.bytesPerLine() * h)
    rows = np.frombuffer(ptr, np.uint8).reshape(h, image.bytesPerLine())
    return rows[:, : w * channels].reshape(h, w, channels).copy()


def rgba_from_image(image: QImage) -> np.ndarray:
    """A QImage as an RGBA8888 (straight alpha) (h, w, 4) array (a copy)."""
    return _rows(image, QImage.Format_RGBA8888, 4)


def rgb_from_image(image: QImage) -> np.ndarray:
    """A QImage as an RGB24 (h, w, 3) array (a copy): what a painted widget shows, for captures and tests."""
    return _rows(image, QImage.Format_RGB888, 3)
