"""Moving I420 frames between PyAV and the kernels, at any size.

Pixel-format and colour conversion is swscale's job, through PyAV: ``VideoFrame.reformat`` (and
``to_ndarray(format="rgb24")``) converts camera and decoder formats (nv12, yuyv422, yuvj420p, ...) to
yuv420p or rgb24 and back, with the BT.601/709 matrices and range handling. We do not rewrite it.

What PyAV lacks is a way to hand a yuv420p frame's planes to NumPy at odd sizes and without copies:
``to_ndarray()`` refuses odd widths and concatenates the planes into a fresh (h * 3 / 2, w) array,
and ``from_ndarray`` accepts only that layout. The two functions here fill that gap: views of the
planes (row stride = PyAV's line size, which every kernel accepts), and a frame built from planes.
"""

import av
import numpy as np

from .planes import I420, check_i420, chroma_size


def planes_of(frame: "av.VideoFrame") -> I420:
    """Writable views (no copy) of the Y, U and V planes of a yuv420p ``frame``, any size.

    The views keep the frame's buffers alive; writing to them writes to the frame.
    """
    if not isinstance(frame, av.VideoFrame) or frame.format.name != "yuv420p":
        raise ValueError(f"expected a yuv420p av.VideoFrame, got {getattr(frame, 'format', type(frame))}")
    cw, ch = chroma_size(frame.width, frame.height)
    views = []
    for plane, (w, h) in zip(frame.planes, ((frame.width, frame.height), (cw, ch), (cw, ch)), strict=True):
        rows = np.frombuffer(plane, np.uint8)[: plane.line_size * h].reshape(h, plane.line_size)
        views.append(rows[:, :w])
    return I420(*views)


def video_frame(planes) -> "av.VideoFrame":
    """A new yuv420p ``av.VideoFrame`` holding a copy of the I420 ``planes`` (any size)."""
    planes = check_i420(planes, "planes")
    frame = av.VideoFrame(planes.width, planes.height, "yuv420p")
    for dst, src in zip(planes_of(frame), planes, strict=True):
        np.copyto(dst, src)
    return frame
