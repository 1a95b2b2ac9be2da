"""Alpha compositing of the annotation overlay onto RGB24 and I420 frames, in place.

The overlay is RGBA with straight (not premultiplied) alpha, uint8, any size, placed with its top-left
corner at frame pixel (x, y) (negative or past the edge is fine: it is clipped). Per pixel the frame
becomes ``round((frame * (255 - a) + overlay * a) / 255)``, exactly.

On an I420 frame the overlay is converted to BT.601 limited-range YUV (libyuv's 8-bit integer
formulas), luma is blended per pixel, and each chroma sample becomes the mean over its 2x2 block of
blending every pixel on its own: ``(C * (255 n - A) + sum(a_i * C_i)) / (255 n)`` rounded half up,
where n is the number of frame pixels in the block (4, or 2 or 1 on the odd last row or column) and A
the sum of their alphas. The NumPy reference computes the same integers, so native and reference
agree exactly (the documented tolerance, 1 LSB, is never used).

The overlay is mostly empty. Fully transparent runs of 8 pixels (16 for I420) are skipped after four
64-bit loads; ``rects`` does better: a list of (x, y, width, height) rectangles in overlay coordinates
outside which the caller promises the overlay is fully transparent (``dirty_rects`` computes them,
once per change of the overlay, not per frame). Then only the 16x16 frame tiles they touch are read.
Overlapping rectangles are fine. If the promise is broken, pixels outside the rectangles may or may not
be composited.

The GIL is released while pixels are blended, and nothing is allocated per frame.
"""

import numpy as np

from . import _composite_reference, load_extension
from .planes import I420, check_i420, check_image, check_int

_native = load_extension("_composite")

# Offsets are clamped to this before they reach the kernel; anything beyond is off every frame.
_FAR = 1 << 40


def backend() -> str:
    """``"native"`` when the Cython kernels run, ``"reference"`` for the NumPy fallback."""
    return "native" if _native is not None else "reference"


def _check_offset(value, name):
    return max(-_FAR, min(_FAR, check_int(value, name)))


def _check_rects(rects):
    if rects is None:
        return None
    arr = np.asarray(rects)
    if arr.size == 0:
        return np.zeros((0, 4), np.int64)
    if arr.dtype.kind not in "iu" or arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"rects must be integer (x, y, width, height) rows, got {arr.dtype} {arr.shape}")
    if (arr[:, 2:] < 0).any():
        raise ValueError("rects must not have a negative width or height")
    return np.ascontiguousarray(np.clip(arr, -_FAR, _FAR), dtype=np.int64)


def dirty_rects(overlay, tile: int = 32) -> np.ndarray:
    """Rectangles (x, y, width, height) covering every non-transparent pixel of ``overlay``.

    Runs of non-empty ``tile`` x ``tile`` tiles, one row of tiles at a time. Compute it when the
    overlay changes and pass it as ``rects`` with every frame.
    """
    overlay = check_image(overlay, "overlay", 4)
    tile = check_int(tile, "tile")
    if tile < 1:
        raise ValueError(f"tile must be positive, got {tile}")
    h, w = overlay.shape[:2]
    tile = min(tile, max(h, w))  # a larger tile gives the same one rectangle, and its mask would not fit in memory
    th, tw = -(-h // tile), -(-w // tile)
    alpha = np.zeros((th * tile, tw * tile), bool)
    alpha[:h, :w] = overlay[..., 3] != 0
    occupied = alpha.reshape(th, tile, tw, tile).any(axis=(1, 3))
    rects = []
    for ty in range(th):
        row = np.concatenate(([False], occupied[ty], [False]))
        edges = np.flatnonzero(row[1:] != row[:-1])
        for start, stop in zip(edges[0::2], edges[1::2], strict=True):
            x0, x1 = start * tile, min(stop * tile, w)
            y0, y1 = ty * tile, min(ty * tile + tile, h)
            rects.append((x0, y0, x1 - x0, y1 - y0))
    return np.array(rects, dtype=np.int64).reshape(-1, 4)


class Composite:
    """The compositing API over one kernel module (the extension or the NumPy reference)."""

    def __init__(self, kernels):
        self._kernels = kernels

    def composite_rgb(self, frame, overlay, x=0, y=0, *, rects=None) -> np.ndarray:
        """Blend ``overlay`` (h, w, 4) onto the RGB24 ``frame`` (H, W, 3) at (x, y), in place.

        Returns ``frame``.
        """
        frame = check_image(frame, "frame", 3, output=True)
        overlay = check_image(overlay, "overlay", 4)
        x, y = _check_offset(x, "x"), _check_offset(y, "y")
        rects = _check_rects(rects)
        if rects is None or len(rects):
            self._kernels.composite_rgb(frame, overlay, x, y, rects)
        return frame

    def composite_i420(self, frame, overlay, x=0, y=0, *, rects=None) -> I420:
        """Blend ``overlay`` (h, w, 4) onto the I420 ``frame`` (planes y, u, v) at (x, y), in place.

        Returns the frame's planes as an ``I420``.
        """
        frame = check_i420(frame, "frame", output=True)
        overlay = check_image(overlay, "overlay", 4)
        x, y = _check_offset(x, "x"), _check_offset(y, "y")
        rects = _check_rects(rects)
        if rects is None or len(rects):
            self._kernels.composite_i420(frame.y, frame.u, frame.v, overlay, x, y, rects)
        return frame


#: The same API over the NumPy reference: the test oracle.
reference = Composite(_composite_reference)
_api = Composite(_native) if _native is not None else reference
composite_rgb = _api.composite_rgb
composite_i420 = _api.composite_i420
