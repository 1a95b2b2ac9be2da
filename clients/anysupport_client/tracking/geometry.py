"""Homography arithmetic shared by the tracker, its checks and the customer-side composition.

A homography here is a 3x3 float64 NumPy array mapping a point ``(x, y)`` of one picture to
``(x', y')`` of another: ``(x' w, y' w, w) = H (x, y, 1)``. Pictures are in their own pixels unless
said otherwise; the protocol uses *normalised* coordinates (fractions of the width and height, as
the drawings' points are), which ``to_normalised`` / ``from_normalised`` convert to and from.
"""

from __future__ import annotations

import numpy as np

Region = tuple[float, float, float, float]  # x, y, width, height


def scale_matrix(sx: float, sy: float | None = None) -> np.ndarray:
    return np.array([[sx, 0.0, 0.0], [0.0, sx if sy is None else sy, 0.0], [0.0, 0.0, 1.0]])


def translation(tx: float, ty: float) -> np.ndarray:
    return np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


def project(h: np.ndarray, points) -> np.ndarray:
    """``points`` (n, 2) through ``h``; float64 (n, 2). Points at or behind the horizon come out inf."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    q = pts @ h[:2, :2].T + h[:2, 2]
    w = pts @ h[2, :2] + h[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = q / w[:, None]
    out[w <= 1e-12] = np.inf
    return out


def normalised(h: np.ndarray) -> np.ndarray:
    """``h`` scaled so that h[2, 2] == 1 (or by its largest entry when that is ~0)."""
    h = np.asarray(h, np.float64)
    d = h[2, 2] if abs(h[2, 2]) > 1e-12 else np.max(np.abs(h))
    return h / d


def corners(region: Region) -> np.ndarray:
    x, y, w, h = region
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64)


def to_normalised(h: np.ndarray, start_size: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """A pixel homography (start frame of ``start_size`` → frame of ``size``) in normalised coordinates."""
    return normalised(scale_matrix(1 / size[0], 1 / size[1]) @ h @ scale_matrix(start_size[0], start_size[1]))


def from_normalised(h: np.ndarray, start_size: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """The inverse of ``to_normalised``: back to pixels of the given sizes."""
    return normalised(scale_matrix(size[0], size[1]) @ h @ scale_matrix(1 / start_size[0], 1 / start_size[1]))


def clip_region(region: Region, width: int, height: int, margin: float = 0.0) -> Region | None:
    """``region`` within the picture (``margin`` pixels inside its edges); None when nothing is left."""
    x, y, w, h = region
    x0, y0 = max(margin, x), max(margin, y)
    x1, y1 = min(width - margin, x + w), min(height - margin, y + h)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return x0, y0, x1 - x0, y1 - y0


def grow_region(region: Region, pad: float, min_side: float) -> Region:
    """``region`` padded by ``pad`` on every side, then widened about its centre to ``min_side``."""
    x, y, w, h = region
    x, y, w, h = x - pad, y - pad, w + 2 * pad, h + 2 * pad
    if w < min_side:
        x -= (min_side - w) / 2
        w = min_side
    if h < min_side:
        y -= (min_side - h) / 2
        h = min_side
    return x, y, w, h


def polygon_area(points: np.ndarray) -> float:
    """Signed area of a polygon (positive when its vertices turn clockwise on screen, y down)."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
