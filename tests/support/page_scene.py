"""The moving scene as the customer page's fake camera (issue 20 with Chromium).

``write_stamped_y4m(SCENE, path)`` writes the textured plane filmed by a moving camera
(``tests/support/scenes.py``) as a Y4M for ``--use-file-for-fake-video-capture``, forward then backward
(a loop with no jump), each frame stamped with its scene index (``media/stamp.py``) in ``stamp_band``,
the part of the 4:3 sensor that its 16:9 crop keeps too, so a receiver reads it at every quality level:
``scene_index(frame)`` is that index for a decoded frame. The scene's truth then says where the drawing
belongs in any frame either side has. Used by ``tests/web/test_browser_anchoring.py`` (a scripted agent)
and ``tests/agent/test_console_with_page.py`` (the real console).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from anysupport_client.media.stamp import read_stamp, stamp_chroma, stamp_luma
from anysupport_client.tracking import from_normalised
from anysupport_native import convert

from .scenes import REF_SIZE, Scene, stroke_error

GOAL_P95 = 5.0  # px at 640x480: the customer's overlay against the truth (issue 20)
# the drawing below the stamp, so neither side follows the stamp's blocks
SHIFT = 95.0
SCENE = Scene(name="page-anchoring", seconds=4.0, speed=150.0, region=(250, 275, 150, 120),
              stroke=tuple((x, y + SHIFT) for x, y in Scene().stroke))


def stamp_band(y: np.ndarray) -> np.ndarray:
    """The rows of a luma plane that carry the stamp: the part of a 4:3 picture its 16:9 crop keeps (the
    stamp is in that band's top quarter), the whole of a 16:9 picture."""
    height, width = y.shape
    if width * 3 == height * 4:
        return y[height // 8:height - height // 8]
    return y


def scene_index(frame: av.VideoFrame) -> int | None:
    """The scene index stamped in a decoded frame (None: no stamp read)."""
    return luma_scene_index(convert.planes_of(frame).y)


def luma_scene_index(y: np.ndarray) -> int | None:
    """The scene index stamped in a frame's luma plane (None: no stamp read)."""
    stamp = read_stamp(stamp_band(np.ascontiguousarray(y)))
    return None if stamp is None else stamp[0]


def write_stamped_y4m(scene: Scene, path: Path) -> Path:
    """The scene forward then backward (a loop with no jump), each frame stamped with its scene index in
    ``stamp_band`` (so it is read at every quality level)."""
    width, height = REF_SIZE
    order = list(range(scene.frames)) + list(range(scene.frames - 2, 0, -1))
    pictures = {}
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{scene.fps}:1 Ip A1:1 C420jpeg\n".encode())
        for i in order:
            if i not in pictures:
                frame = av.VideoFrame.from_ndarray(scene.render(i), format="rgb24").reformat(format="yuv420p")
                planes = convert.planes_of(frame)
                band = height // 8
                stamp_luma(stamp_band(planes.y), i, 0)
                stamp_chroma(planes.u[band // 2:], planes.v[band // 2:], height - 2 * band)
                pictures[i] = b"".join(np.ascontiguousarray(p).tobytes() for p in planes)
            f.write(b"FRAME\n" + pictures[i])
    return path


def answer_errors(answers, index: dict, sizes: dict, start: int, start_size: tuple[int, int], drawing: str,
                  points: np.ndarray, *, keep=None, report_over: float | None = None) -> list[float | None]:
    """How far (px of the sent picture) the page's anchor answers (``window.anysupportCall.anchors.recent``)
    put ``drawing`` from the scene's truth, one per answer for a frame the agent decoded (``index``: its
    ``timestamp_us`` → scene index, ``sizes``: → frame size; ``keep(size)`` may refuse a size); None
    where the page hid it. The drawing was made on scene frame ``start`` of ``start_size``; ``points``
    are on it in that frame's pixels. Answers off by more than ``report_over`` px are printed."""
    out: list[float | None] = []
    for answer in answers:
        j = index.get(answer["timestamp_us"])
        frame_size = sizes.get(answer["timestamp_us"])
        if j is None or drawing not in answer["anchors"] or (keep is not None and not keep(frame_size)):
            continue
        h = answer["anchors"][drawing]
        if h is None:
            out.append(None)
            continue
        composed = from_normalised(np.array(h).reshape(3, 3), start_size, frame_size)
        out.append(stroke_error(composed, SCENE.truth(start, j, frame_size, start_size), points))
        if report_over is not None and out[-1] > report_over:
            base = answer["bases"][drawing]
            print(f"off by {out[-1]:.1f} px: frame {j}, its base {index.get(base)} "
                  f"({(answer['timestamp_us'] - base) / 1000:.0f} ms before)")
    return out
