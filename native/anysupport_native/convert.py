"""Moving I420 frames between PyAV and the kernels, at any size, and I420 to RGB24 for display.

Pixel-format conversion is swscale's job, through PyAV: ``VideoFrame.reformat`` (and
``to_ndarray(format="rgb24")``) converts camera and decoder formats (nv12, yuyv422, yuvj420p, ...) to
yuv420p or rgb24 and back, with the BT.601/709 matrices and range handling. We do not rewrite it.
The one exception is ``i420_to_rgb``: the console turns every decoded frame into RGB for display,
swscale took 1.3x as long as OpenCV's ``cvtColor`` for it, and ``cvtColor`` wants the three planes
copied into one buffer first. The kernel (BT.601 limited range, each chroma sample over its 2x2
block, exact integers defined in ``_yuv.h``) reads PyAV's planes in place.

What PyAV lacks is a way to hand a yuv420p frame's planes to NumPy at odd sizes and without copies:
``to_ndarray()`` refuses odd widths and concatenates the planes into a fresh (h * 3 / 2, w) array,
and ``from_ndarray`` accepts only that layout. The two functions here fill that gap: views of the
planes (row stride = PyAV's line size, which every kernel accepts), and a frame built from planes.
"""

import av
import numpy as np

from . import _convert_reference, load_extension
from .planes import I420, as_rows, check_i420, check_output, chroma_size

_native = load_extension("_convert")


def backend() -> str:
    """``"native"`` when the Cython kernel runs, ``"reference"`` for the NumPy fallback."""
    return "native" if _native is not None else "reference"


class Convert:
    """The colour conversion API over one kernel module (the extension or the NumPy reference)."""

    def __init__(self, kernels):
        self._kernels = kernels

    def i420_to_rgb(self, src, *, out=None) -> np.ndarray:
        """RGB24 (height, width, 3) of an I420 frame (three planes), BT.601 limited range."""
        src = check_i420(src, "src")
        shape = (src.height, src.width, 3)
        if out is None:
            out = np.empty(shape, np.uint8)
        else:
            out = check_output(out, "out", 3, shape, src)
        self._kernels.i420_to_rgb(src.y, src.u, src.v, as_rows(out))
        return out


#: The same API over the NumPy reference: the test oracle.
reference = Convert(_convert_reference)
_api = Convert(_native) if _native is not None else reference
i420_to_rgb = _api.i420_to_rgb


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
