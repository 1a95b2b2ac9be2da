"""The console's viewer path per 1280×720 frame, against baselines measured in the same run.

    .venv/bin/pytest benchmarks/test_bench_viewer.py --benchmark-enable --benchmark-group-by=group \\
        --benchmark-columns=min,median,mean
    .venv/bin/python -m benchmarks.test_bench_viewer --frames 120      # the per-frame split and the ratios

The console's path (what ``ConsoleBridge`` and ``VideoView`` do): H.264 decode → ``ViewRenderer.render``
(RGB, the drawings composited at the frame's size, native rotate, native scale of the visible part to
an 824×620 view) on the media thread → ``image_from_rgb`` (a ``QImage``) and a ``QPainter`` drawing it,
on the GUI thread. Baselines on the same frames in the same run:

- ``opencv``: the same steps with PyAV's RGB conversion, OpenCV (one thread) for the rectangle, the
  quarter turn and the resize, and the same ``QImage`` wrap and paint;
- ``copy``: ``np.copyto`` of one 1280×720 RGB frame, the memory-bandwidth floor.

The views: upright 1:1, turned 90°, turned 90° and zoomed in 3 steps. The goals (issue 10): the GUI
thread's share ≤ 4 ms a frame; the console ≤ 20 % of a core at medium (640×480, 30 fps), which
``main`` estimates from the viewer path's CPU per medium frame × 30. Without ``--benchmark-enable``
(the project default) every case runs once, as a smoke test, and its picture is checked against the
baseline's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import cache

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from anysupport_agent.render import ViewRenderer  # noqa: E402
from anysupport_client.media.annotation import AnnotationScene  # noqa: E402
from anysupport_client.media.codec import VideoDecoder, VideoEncoder  # noqa: E402
from anysupport_client.media.quality import LEVELS  # noqa: E402
from anysupport_client.media.sources import TestPatternTrack  # noqa: E402
from anysupport_qt import QImage, QPainter, QRect, image_from_rgb  # noqa: E402

cv2.setNumThreads(1)

WIDGET = (824, 620)
VIEWS = {"upright": (0, 0), "turned": (1, 0), "turned_zoom3": (1, 3)}
RECT = {"id": "r", "shape": "rect", "color": "#ff0000", "width": 4, "points": [[0.2, 0.2], [0.6, 0.7]]}


@cache
def stream(width: int = 1280, height: int = 720, n: int = 60) -> tuple[bytes, ...]:
    """``n`` frames of the test pattern as H.264 access units (the first an IDR)."""
    level = "high" if width >= 1280 else "medium"
    encoder = VideoEncoder(LEVELS[level].quality)
    source = TestPatternTrack(width, height)
    packets = []
    for i in range(n):
        for payload, _key in encoder.encode(source.render(i * 3000), keyframe=i == 0):
            packets.append(payload)
    return tuple(packets)


class Feed:
    """Decoded frames of the stream, in order, restarting at its IDR (one frame per ``next()``)."""

    def __init__(self, packets):
        self.packets = packets
        self.decoder = VideoDecoder()
        self.i = 0

    def next(self):
        while True:
            if self.i % len(self.packets) == 0:
                self.decoder.reset()
            frames = self.decoder.decode(self.packets[self.i % len(self.packets)])
            self.i += 1
            if frames:
                return frames[-1]


def _scene() -> AnnotationScene:
    scene = AnnotationScene()
    scene.apply({"op": "add", "item": RECT})
    return scene


class GuiSide:
    """The GUI thread's part: wrap the picture in a ``QImage`` and paint it into the view."""

    def __init__(self):
        self.target = QImage(WIDGET[0], WIDGET[1], QImage.Format_RGB32)

    def paint(self, rgb: np.ndarray, dest) -> QImage:
        image = image_from_rgb(rgb)
        painter = QPainter(self.target)
        painter.drawImage(QRect(*dest), image)
        painter.end()
        return image


class ConsolePath:
    def __init__(self, view: str):
        turns, zoom = VIEWS[view]
        self.renderer = ViewRenderer(_scene())
        self.renderer.set_view(widget_size=WIDGET, zoom_steps=zoom, quarter_turns=turns)
        self.gui = GuiSide()

    def media(self, frame):
        return self.renderer.render(frame)

    def frame(self, frame):
        rendered = self.media(frame)
        self.gui.paint(rendered.image, rendered.dest)
        return rendered


class OpenCvPath:
    """The same steps with PyAV and OpenCV, on the geometry the console computed (``ViewTransform``)."""

    def __init__(self, view: str):
        turns, zoom = VIEWS[view]
        self.turns = turns
        self.transform = ConsolePath(view).renderer.transform
        self.gui = GuiSide()

    def media(self, frame):
        rgb = frame.to_ndarray(format="rgb24")
        h, w = rgb.shape[:2]
        (x0, y0), (x1, y1) = RECT["points"]
        cv2.rectangle(rgb, (round(x0 * w), round(y0 * h)), (round(x1 * w), round(y1 * h)), (255, 0, 0), RECT["width"])
        if self.turns:
            rgb = cv2.rotate(rgb, cv2.ROTATE_90_CLOCKWISE)
        t = self.transform.for_frame(w, h)
        (sx, sy, sw, sh), dest = t.visible_source()
        crop = rgb[sy:sy + sh, sx:sx + sw]
        if (dest[2], dest[3]) != (sw, sh):
            crop = cv2.resize(crop, (dest[2], dest[3]), interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(crop), dest

    def frame(self, frame):
        rgb, dest = self.media(frame)
        self.gui.paint(rgb, dest)
        return rgb, dest


@pytest.fixture(scope="module")
def gui(qapp):
    return qapp


@pytest.fixture(scope="module")
def packets():
    return stream()


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.benchmark(group="viewer-1280x720")
def test_console_viewer_path(benchmark, gui, packets, view):
    feed, path = Feed(packets), ConsolePath(view)
    rendered = benchmark(lambda: path.frame(feed.next()))
    x, y, w, h = rendered.dest
    assert rendered.image.shape == (h, w, 3) and rendered.frame_size == (1280, 720)
    # the console's picture is the baseline's (same frame, same geometry; filters differ by a few levels)
    frame = Feed(packets).next()
    reference, dest = OpenCvPath(view).media(frame)
    console = ConsolePath(view).media(frame)
    assert dest == console.dest
    assert np.abs(console.image.astype(int) - reference.astype(int)).mean() < 6


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.benchmark(group="viewer-1280x720")
def test_opencv_viewer_path(benchmark, gui, packets, view):
    feed, path = Feed(packets), OpenCvPath(view)
    rgb, dest = benchmark(lambda: path.frame(feed.next()))
    assert rgb.shape == (dest[3], dest[2], 3)


@pytest.mark.benchmark(group="viewer-1280x720")
def test_copy_one_frame(benchmark):
    src = np.full((720, 1280, 3), 77, np.uint8)
    dst = np.empty_like(src)
    benchmark(np.copyto, dst, src)
    assert dst[0, 0, 0] == 77


@pytest.mark.benchmark(group="viewer-1280x720-gui")
def test_gui_thread_part(benchmark, gui, packets):
    rendered = ConsolePath("upright").media(Feed(packets).next())
    side = GuiSide()
    image = benchmark(side.paint, rendered.image, rendered.dest)
    assert (image.width(), image.height()) == (rendered.dest[2], rendered.dest[3])


def test_split_reports_every_part(gui, packets):
    figures = split(packets, frames=3)
    for view in VIEWS:
        row = figures[view]
        assert row["decode_ms"] > 0 and row["render_ms"] > 0 and row["gui_ms"] > 0 and row["opencv_ms"] > 0
    assert figures["copy_ms"] > 0 and figures["medium_cpu_pct"] > 0


# -- the per-frame split, for the figures ------------------------------------------------------------------
def _median(values) -> float:
    return float(np.median(np.asarray(values, dtype=float)))


def split(packets, frames: int = 120) -> dict:
    """Median ms per frame of each part and of the baselines, measured in turn on the same frames."""
    figures: dict = {}
    for view in VIEWS:
        feed, console, opencv = Feed(packets), ConsolePath(view), OpenCvPath(view)
        decode, render, gui, base = [], [], [], []
        for _ in range(frames):
            t0 = time.perf_counter()
            frame = feed.next()
            t1 = time.perf_counter()
            rendered = console.media(frame)
            t2 = time.perf_counter()
            console.gui.paint(rendered.image, rendered.dest)
            t3 = time.perf_counter()
            opencv.media(frame)
            t4 = time.perf_counter()
            decode.append((t1 - t0) * 1000)
            render.append((t2 - t1) * 1000)
            gui.append((t3 - t2) * 1000)
            base.append((t4 - t3) * 1000)
        figures[view] = {"decode_ms": _median(decode), "render_ms": _median(render), "gui_ms": _median(gui),
                         "gui_p90_ms": float(np.percentile(gui, 90)), "opencv_ms": _median(base),
                         "ratio_vs_opencv": _median(render) / _median(base) if _median(base) else float("nan")}
    src = np.full((720, 1280, 3), 77, np.uint8)
    dst = np.empty_like(src)
    copies = []
    for _ in range(frames):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        copies.append((time.perf_counter() - t0) * 1000)
    figures["copy_ms"] = _median(copies)
    # CPU of the whole viewer path (decode, render, GUI) per medium frame, × 30 frames a second
    medium = stream(640, 480)
    feed, console = Feed(medium), ConsolePath("upright")
    start = time.process_time()
    for _ in range(frames):
        console.frame(feed.next())
    figures["medium_cpu_pct"] = (time.process_time() - start) / frames * 30 * 100
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the viewer path per 1280x720 frame, split by thread")
    parser.add_argument("--frames", type=int, default=120)
    args = parser.parse_args(argv)
    from anysupport_qt import QApplication

    _app = QApplication.instance() or QApplication(sys.argv[:1])
    figures = split(stream(), args.frames)
    print(f"load average {os.getloadavg()[0]:.2f}; {args.frames} frames of 1280x720 into {WIDGET[0]}x{WIDGET[1]}; "
          f"copy of one frame {figures['copy_ms']:.3f} ms")
    print("| View | decode | render (media thread) | GUI thread p50 / p90 | OpenCV same steps (media part) "
          "| render ÷ OpenCV |")
    print("|---|---|---|---|---|---|")
    for view in VIEWS:
        r = figures[view]
        print(f"| {view} | {r['decode_ms']:.2f} ms | {r['render_ms']:.2f} ms | {r['gui_ms']:.2f} / "
              f"{r['gui_p90_ms']:.2f} ms | {r['opencv_ms']:.2f} ms | {r['ratio_vs_opencv']:.2f} |")
    print(f"viewer path at medium (640x480, 30 fps: decode + render + GUI): {figures['medium_cpu_pct']:.1f}% of a core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
