"""Checking the pictures handed to the tracking classes, and their grey form."""

from __future__ import annotations

import cv2
import numpy as np

MAX_SIDE = 16384


def as_grey(frame, name: str = "frame") -> np.ndarray:
    """``frame`` as a contiguous (H, W) uint8 grey picture; a clear ``ValueError`` for anything else."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise ValueError(f"{name} must be a uint8 NumPy array, got {getattr(frame, 'dtype', type(frame))}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2:
        grey = frame
    elif frame.ndim == 3 and frame.shape[2] == 3:
        grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    else:
        raise ValueError(f"{name} must be (H, W) grey or (H, W, 3) RGB, got shape {frame.shape}")
    h, w = grey.shape
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
        raise ValueError(f"{name} must be 16 to {MAX_SIDE} pixels on a side, got {w}x{h}")
    return np.ascontiguousarray(grey)
