"""영상 캡쳐: the current frame as a PNG (PyAV's PNG encoder; no imaging library needed). No Qt."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np


def png_bytes(rgb: np.ndarray) -> bytes:
    rgb = np.ascontiguousarray(rgb[:, :, :3])
    h, w = rgb.shape[:2]
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height = w, h
    codec.pix_fmt = "rgb24"
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    packets = list(codec.encode(frame)) + list(codec.encode(None))
    return b"".join(bytes(p) for p in packets)


def save_capture(rgb: np.ndarray, folder: Path, session_code: str, *, drawings: bool,
                 when: float | None = None) -> Path:
    """Write ``rgb`` (the frame at its own size, with or without the drawings) to a new PNG in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    base = f"AnySupport-{session_code}-{stamp}{'-drawing' if drawings else ''}"
    path = folder / f"{base}.png"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{base}-{n}.png"
    path.write_bytes(png_bytes(rgb))
    return path
