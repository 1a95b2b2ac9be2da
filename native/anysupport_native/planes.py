"""Frames as the kernels see them, and the argument checks every kernel wrapper shares.

An RGB24 frame is a uint8 array (height, width, 3). An I420 frame is three uint8 planes: Y
(height, width), U and V (ceil(height / 2), ceil(width / 2)); odd sizes are allowed, the last chroma
row or column then covers a single luma row or column. Rows may be padded (a row stride larger than
the row, as in PyAV's planes or a crop ``frame[y0:y1, x0:x1]``), but the pixels of one row must be
packed. Inputs that are not are copied; outputs that are not are refused.
"""

import operator
from typing import NamedTuple

import numpy as np

from . import load_extension

# The same answers for well-formed arrays, from their C fields (None: the Python checks alone).
_fast = load_extension("_planes")

# Larger sides are refused before any allocation: no camera or screen comes near it.
MAX_SIDE = 16384


class I420(NamedTuple):
    """The three planes of a yuv420p frame."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @property
    def width(self) -> int:
        return self.y.shape[1]

    @property
    def height(self) -> int:
        return self.y.shape[0]

    @classmethod
    def empty(cls, width: int, height: int) -> "I420":
        cw, ch = chroma_size(width, height)
        return cls(
            np.empty((height, width), np.uint8), np.empty((ch, cw), np.uint8), np.empty((ch, cw), np.uint8)
        )


def chroma_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of the U and V planes of an I420 frame."""
    return (width + 1) // 2, (height + 1) // 2


def check_side(value, name: str) -> int:
    try:
        side = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, not {type(value).__name__}") from None
    if not 1 <= side <= MAX_SIDE:
        raise ValueError(f"{name} must be between 1 and {MAX_SIDE}, got {side}")
    return side


def check_int(value, name: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, not {type(value).__name__}") from None


def _packed(arr: np.ndarray, channels: int) -> bool:
    if channels == 1:
        return arr.strides[1] == 1
    return arr.strides[2] == 1 and arr.strides[1] == channels


def check_image(arr, name: str, channels: int, *, output: bool = False) -> np.ndarray:
    """An image of uint8 pixels with 1 (2-D) or 3/4 (3-D) channels, its rows' pixels packed.

    An input with another layout is copied; an output (written in place) raises instead.
    """
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, not {type(arr).__name__}")
    if arr.dtype != np.uint8:
        raise ValueError(f"{name} must have dtype uint8, not {arr.dtype}")
    if channels == 1:
        if arr.ndim != 2:
            raise ValueError(f"{name} must be a 2-D plane (height, width), got shape {arr.shape}")
    elif arr.ndim != 3 or arr.shape[2] != channels:
        raise ValueError(f"{name} must have shape (height, width, {channels}), got {arr.shape}")
    if not (1 <= arr.shape[0] <= MAX_SIDE and 1 <= arr.shape[1] <= MAX_SIDE):
        raise ValueError(f"{name} must be between 1x1 and {MAX_SIDE}x{MAX_SIDE}, got shape {arr.shape}")
    if output:
        if not arr.flags.writeable:
            raise ValueError(f"{name} is read-only")
        if not _packed(arr, channels):
            raise ValueError(
                f"{name} is written in place, so the pixels of each row must be packed "
                f"(strides {arr.strides}); pass a C-contiguous array or a row slice of one"
            )
        return arr
    if not _packed(arr, channels):
        arr = np.ascontiguousarray(arr)
    return arr


def check_i420(planes, name: str, *, output: bool = False) -> I420:
    """Three planes (Y, U, V) with I420 shapes, checked like ``check_image``."""
    if _fast is not None and _fast.i420_ok(planes, output):
        return planes if type(planes) is I420 else I420(*planes)
    try:
        y, u, v = planes
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be three planes (y, u, v)") from None
    y = check_image(y, f"{name}.y", 1, output=output)
    u = check_image(u, f"{name}.u", 1, output=output)
    v = check_image(v, f"{name}.v", 1, output=output)
    cw, ch = chroma_size(y.shape[1], y.shape[0])
    for plane, plane_name in ((u, "u"), (v, "v")):
        if plane.shape != (ch, cw):
            raise ValueError(
                f"{name}.{plane_name} must have shape {(ch, cw)} for a {y.shape[1]}x{y.shape[0]} frame, "
                f"got {plane.shape}"
            )
    if output and (
        np.may_share_memory(y, u) or np.may_share_memory(y, v) or np.may_share_memory(u, v)
    ):
        raise ValueError(f"the planes of {name} overlap")
    return I420(y, u, v)


def check_output(out, name: str, channels: int, shape: tuple, src) -> np.ndarray:
    """A caller-given output buffer: right shape, packed rows, writable, not overlapping the input."""
    out = check_image(out, name, channels, output=True)
    if out.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {out.shape}")
    check_disjoint(out, src, name)
    return out


def check_disjoint(out, src, name: str) -> None:
    """Refuse an output (an array or I420 planes) that may share memory with any array of ``src``."""
    outs = tuple(out) if isinstance(out, I420) else (out,)
    if _fast is not None and _fast.disjoint(outs, src):
        return
    for o in outs:
        for arr in src:
            if np.may_share_memory(o, arr):
                raise ValueError(f"{name} must not overlap the input")


def as_rows(arr: np.ndarray) -> np.ndarray:
    """The (height, width * channels) view of a packed image, never a copy."""
    if arr.ndim == 2:
        return arr
    view = arr.view()
    view.shape = (arr.shape[0], arr.shape[1] * arr.shape[2])
    return view
