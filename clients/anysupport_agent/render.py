"""The viewer's pixel path, off the GUI thread: decoded frame → drawings → rotate → crop and zoom.

``ViewRenderer.render`` runs on the media thread for every decoded frame of the session on screen:
the agent's drawings are composited at the frame's own size (what the customer sees, and what a
capture "with drawings" saves), the native kernels turn it by the view's quarter turns and scale
only the part that shows to the widget's pixels (``ViewTransform.visible_source``). The GUI thread
gets a ready ``Rendered`` picture and just paints it. No Qt in here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

import av
import numpy as np
from anysupport_client.media.annotation import AnnotationScene, OverlayCompositor, TextRenderer
from anysupport_native import convert, rotate, scale

from .transform import ViewTransform


def frame_rgb(frame: av.VideoFrame) -> np.ndarray:
    """A new RGB24 array of a decoded frame: the native conversion for yuv420p (what H.264 decodes to;
    0.85x OpenCV's cvtColor, where PyAV's swscale is 1.2x), swscale for anything else."""
    if frame.format.name == "yuv420p":
        return convert.i420_to_rgb(convert.planes_of(frame))
    return frame.to_ndarray(format="rgb24")


@dataclass
class Rendered:
    image: np.ndarray  # RGB24, the visible part at widget pixels
    dest: tuple[int, int, int, int]  # where it goes in the widget
    transform: ViewTransform  # the geometry it was made for
    frame_size: tuple[int, int]
    render_ms: float
    frame: av.VideoFrame | None = None  # the decoded frame shown (what a drawing on it is anchored to)


class ViewRenderer:
    def __init__(self, scene: AnnotationScene, *, text_renderer: TextRenderer | None = None):
        self.compositor = OverlayCompositor(scene, text_renderer=text_renderer)
        self.lock = threading.Lock()
        self.transform = ViewTransform(0, 0, 1, 1)
        self.last_frame: av.VideoFrame | None = None  # the last frame as received
        self.last_drawn: np.ndarray | None = None  # ... in RGB at its size, with the drawings

    def set_scene(self, scene: AnnotationScene) -> None:
        with self.lock:
            self.compositor = OverlayCompositor(scene, text_renderer=self.compositor.text_renderer)

    def set_view(self, *, widget_size: tuple[int, int] | None = None, zoom_steps: int | None = None,
                 quarter_turns: int | None = None, pan: tuple[float, float] | None = None) -> ViewTransform:
        """Change the geometry (any thread); the next render uses it. ``pan``: fractions of the picture."""
        with self.lock:
            t = self.transform
            if widget_size is not None:
                t = t.resized(*widget_size)
            if zoom_steps is not None:
                t = replace(t, zoom_steps=zoom_steps)
            if quarter_turns is not None:
                t = replace(t, quarter_turns=quarter_turns % 4)
            if pan is not None:
                t = replace(t, pan_u=pan[0], pan_v=pan[1])
            self.transform = t
            return t

    def pan_by(self, dx: float, dy: float) -> ViewTransform:
        """Move the picture by a drag of ``(dx, dy)`` widget pixels (limited so it keeps filling the widget)."""
        with self.lock:
            self.transform = self.transform.panned(dx, dy)
            return self.transform

    @property
    def last_rgb(self) -> np.ndarray | None:
        """The last frame in RGB without the drawings (a capture without them), made when asked."""
        frame = self.last_frame
        return None if frame is None else frame_rgb(frame)

    def forget(self) -> None:
        """Drop the last frame (another session on screen)."""
        with self.lock:
            self.last_frame = self.last_drawn = None

    def render(self, frame: av.VideoFrame | None = None) -> Rendered | None:
        """Render ``frame`` (or the last one again, after a zoom or a drawing) for the current view.

        The frame is converted afresh each time and the drawings blended into that array in place:
        no copy of the frame is kept without them (``last_rgb`` converts again for a capture)."""
        start = time.perf_counter()
        with self.lock:
            if frame is None:
                frame = self.last_frame
            else:
                self.last_frame = frame
        if frame is None:
            return None
        rgb = frame_rgb(frame)
        with self.lock:
            drawn = self.compositor.composite_rgb(rgb)
            self.last_drawn = drawn
            h, w = rgb.shape[:2]
            self.transform = self.transform.for_frame(w, h)
            t = self.transform
        turned = rotate.rotate_rgb(drawn, 90 * t.quarter_turns) if t.quarter_turns else drawn
        visible = t.visible_source()
        if visible is None:
            return None
        (sx, sy, sw, sh), dest = visible
        crop = np.ascontiguousarray(turned[sy:sy + sh, sx:sx + sw])
        if (dest[2], dest[3]) != (sw, sh):
            crop = scale.scale_rgb(crop, dest[2], dest[3])
        return Rendered(crop, dest, t, (w, h), (time.perf_counter() - start) * 1000, frame)
