"""Scaling of RGB24 frames, single planes and I420 frames, any size to any size.

Two methods, both separable and both exact integer arithmetic defined by tap tables built here (the
Cython kernel and the NumPy reference read the same tables, so they agree bit for bit):

``"bilinear"``
    Pixel centres aligned (OpenCV's ``INTER_LINEAR`` / ``align_corners=False``): output pixel ``d``
    samples source position ``(d + 0.5) * src / dst - 0.5``, clamped to the edge pixels, with the
    fraction rounded to 1/256. Result: ``round_half_up(sum(w_y * w_x * p) / 65536)``. For the zoom
    steps and mild downscales; below half size it skips pixels and aliases.
``"area"``
    Every output pixel is the mean of the source area it covers (a box filter), weights rounded to
    1/4096 per axis and summing to exactly 1. For the quality levels (any camera size down to
    1280x720, 640x480, 320x240); when upscaling it replicates pixels, blending only across the
    boundaries.

An exact 2:1 reduction on both axes is the same 2x2 mean for both methods and takes a dedicated
kernel. An I420 frame scales plane by plane: Y to (height, width), U and V to
(ceil(height / 2), ceil(width / 2)), so with odd sizes the chroma grid can be off by up to half a
chroma pixel. Every function writes into ``out`` when given (shape checked, must not overlap the
input), otherwise allocates it; the GIL is released during the pass.
"""

from functools import lru_cache

import numpy as np

from . import _scale_reference, load_extension
from .planes import I420, as_rows, check_i420, check_image, check_output, check_side, chroma_size

_native = load_extension("_scale")

METHODS = ("bilinear", "area")
AREA_ONE = 4096


def backend() -> str:
    """``"native"`` when the Cython kernels run, ``"reference"`` for the NumPy fallback."""
    return "native" if _native is not None else "reference"


def _frozen(*arrays):
    for arr in arrays:
        arr.setflags(write=False)
    return arrays


@lru_cache(maxsize=64)
def bilinear_taps(src: int, dst: int):
    """(i0, i1, q): output d = (p[i0] * (256 - q) + p[i1] * q) / 256 along one axis."""
    pos = (np.arange(dst, dtype=np.float64) + 0.5) * (src / dst) - 0.5
    pos = np.clip(pos, 0.0, src - 1)
    i0 = np.floor(pos).astype(np.int64)
    q = np.floor((pos - i0) * 256 + 0.5).astype(np.int64)
    carry = q == 256
    i0[carry] += 1
    q[carry] = 0
    i1 = np.minimum(i0 + 1, src - 1)
    return _frozen(i0.astype(np.int32), i1.astype(np.int32), q.astype(np.int32))


@lru_cache(maxsize=64)
def area_taps(src: int, dst: int):
    """(start, count, weights): output d = sum_k weights[d, k] * p[start[d] + k] / 4096, k < count[d].

    Exact rationals: output d covers [d * src, (d + 1) * src) and source pixel j covers
    [j * dst, (j + 1) * dst), in units of 1 / dst source pixels. Each row of weights sums to 4096;
    the rounding remainder goes to the row's largest weight.
    """
    d = np.arange(dst, dtype=np.int64)
    lo, hi = d * src, (d + 1) * src
    start = lo // dst
    count = (hi - 1) // dst - start + 1
    taps = int(count.max())
    j = start[:, None] + np.arange(taps)[None, :]
    overlap = np.minimum((j + 1) * dst, hi[:, None]) - np.maximum(j * dst, lo[:, None])
    overlap = np.where(np.arange(taps)[None, :] < count[:, None], np.maximum(overlap, 0), 0)
    weights = (overlap * (2 * AREA_ONE) + src) // (2 * src)
    largest = np.argmax(weights, axis=1)
    weights[d, largest] += AREA_ONE - weights.sum(axis=1)
    return _frozen(start.astype(np.int32), count.astype(np.int32), np.ascontiguousarray(weights, np.int32))


def _check_method(method) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


class Scale:
    """The scaling API over one kernel module (the extension or the NumPy reference)."""

    def __init__(self, kernels):
        self._kernels = kernels

    def _scale(self, src, width, height, method, out, name, channels, sources=None):
        shape = (height, width) if channels == 1 else (height, width, channels)
        if out is None:
            out = np.empty(shape, np.uint8)
        else:
            out = check_output(out, name, channels, shape, sources or (src,))
        h, w = src.shape[:2]
        s2, d2 = as_rows(src), as_rows(out)
        if (h, w) == (height, width):
            np.copyto(out, src)
        elif (h, w) == (2 * height, 2 * width):
            self._kernels.halve(s2, d2, channels)
        elif method == "bilinear":
            self._kernels.bilinear(s2, d2, channels, *bilinear_taps(w, width), *bilinear_taps(h, height))
        else:
            self._kernels.area(s2, d2, channels, *area_taps(w, width), *area_taps(h, height))
        return out

    def scale_plane(self, src, width, height, *, method="bilinear", out=None) -> np.ndarray:
        """Scale a uint8 plane (h, w) to (height, width)."""
        src = check_image(src, "src", 1)
        width, height = check_side(width, "width"), check_side(height, "height")
        return self._scale(src, width, height, _check_method(method), out, "out", 1)

    def scale_rgb(self, src, width, height, *, method="bilinear", out=None) -> np.ndarray:
        """Scale an RGB24 frame (h, w, 3) to (height, width, 3)."""
        src = check_image(src, "src", 3)
        width, height = check_side(width, "width"), check_side(height, "height")
        return self._scale(src, width, height, _check_method(method), out, "out", 3)

    def scale_i420(self, src, width, height, *, method="bilinear", out=None) -> I420:
        """Scale an I420 frame (three planes) to width x height; ``out`` is three planes."""
        src = check_i420(src, "src")
        width, height = check_side(width, "width"), check_side(height, "height")
        method = _check_method(method)
        out = (None, None, None) if out is None else check_i420(out, "out", output=True)
        cw, ch = chroma_size(width, height)
        return I420(
            self._scale(src.y, width, height, method, out[0], "out.y", 1, src),
            self._scale(src.u, cw, ch, method, out[1], "out.u", 1, src),
            self._scale(src.v, cw, ch, method, out[2], "out.v", 1, src),
        )


#: The same API over the NumPy reference: the test oracle.
reference = Scale(_scale_reference)
_api = Scale(_native) if _native is not None else reference
scale_plane = _api.scale_plane
scale_rgb = _api.scale_rgb
scale_i420 = _api.scale_i420
