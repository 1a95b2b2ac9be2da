"""Rotation of RGB24 and I420 frames by quarter turns, exact.

``degrees`` is clockwise (a phone held in landscape-left shows upright after ``rotate_*(frame, 90)``)
and any multiple of 90, negative ones included; 0 copies. Odd-sized I420 frames rotate plane by plane,
which is exact for every plane; the chroma of the frame's odd last row or column then lands on the
first one after a 180 degree turn. Every function writes into ``out`` when given (its shape must be
the rotated shape and it must not overlap the input) and otherwise allocates the result; the GIL is
released while the pixels move.
"""

import numpy as np

from . import _rotate_reference, load_extension
from .planes import I420, check_disjoint, check_i420, check_image, check_int, check_output

_native = load_extension("_rotate")


def backend() -> str:
    """``"native"`` when the Cython kernels run, ``"reference"`` for the NumPy fallback."""
    return "native" if _native is not None else "reference"


def _quarter_turns(degrees) -> int:
    degrees = check_int(degrees, "degrees")
    if degrees % 90:
        raise ValueError(f"degrees must be a multiple of 90, got {degrees}")
    return (degrees // 90) % 4


def _rotated_shape(shape, turns):
    return (shape[1], shape[0], *shape[2:]) if turns % 2 else tuple(shape)


class Rotate:
    """The rotation API over one kernel module (the extension or the NumPy reference)."""

    def __init__(self, kernels):
        self._kernels = kernels

    def _rotate(self, src, turns, out, name, channels, sources=None):
        shape = _rotated_shape(src.shape, turns)
        if out is None:
            out = np.empty(shape, np.uint8)
        else:
            out = check_output(out, name, channels, shape, sources or (src,))
        if turns == 0:
            np.copyto(out, src)
        elif channels == 1:
            self._kernels.rotate_plane(src, out, turns)
        else:
            self._kernels.rotate_rgb(src, out, turns)
        return out

    def rotate_plane(self, src, degrees, *, out=None) -> np.ndarray:
        """Rotate a uint8 plane (height, width) clockwise by ``degrees``."""
        src = check_image(src, "src", 1)
        return self._rotate(src, _quarter_turns(degrees), out, "out", 1)

    def rotate_rgb(self, src, degrees, *, out=None) -> np.ndarray:
        """Rotate an RGB24 frame (height, width, 3) clockwise by ``degrees``."""
        src = check_image(src, "src", 3)
        return self._rotate(src, _quarter_turns(degrees), out, "out", 3)

    def rotate_i420(self, src, degrees, *, out=None) -> I420:
        """Rotate an I420 frame (three planes) clockwise by ``degrees``; ``out`` is three planes."""
        src = check_i420(src, "src")
        turns = _quarter_turns(degrees)
        shapes = [_rotated_shape(p.shape, turns) for p in src]
        if out is None:
            out = I420(*(np.empty(shape, np.uint8) for shape in shapes))
        else:
            out = check_i420(out, "out", output=True)
            for plane, shape, n in zip(out, shapes, "yuv", strict=True):
                if plane.shape != shape:
                    raise ValueError(f"out.{n} must have shape {shape}, got {plane.shape}")
            check_disjoint(out, src, "out")
        if turns == 0:
            for s, o in zip(src, out, strict=True):
                np.copyto(o, s)
        else:
            # one call for the three planes: one crossing into the kernel, one release of the GIL
            self._kernels.rotate_i420(*src, *out, turns)
        return out


#: The same API over the NumPy reference: the test oracle.
reference = Rotate(_rotate_reference)
_api = Rotate(_native) if _native is not None else reference
rotate_plane = _api.rotate_plane
rotate_rgb = _api.rotate_rgb
rotate_i420 = _api.rotate_i420
