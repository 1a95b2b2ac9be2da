"""The console's viewer path per 1280×720 frame, against baselines measured in the same run.

    .venv/bin/pytest benchmarks/test_bench_viewer.py --benchmark-enable --benchmark-group-by=group \\
        --benchmark-columns=min,median,mean
    .venv/bin/python -m benchmarks.test_bench_viewer --frames 120      # the per-frame split and the ratios
    .venv/bin/python -m benchmarks.test_bench_viewer --steps --repeat 3  # each pixel step beside OpenCV's

The console's path (what ``ConsoleBridge`` and ``VideoView`` do): H.264 decode → ``ViewRenderer.render``
(native I420 → RGB, the drawings composited into it at the frame's size, native rotate, native scale
of the visible part to an 824×620 view) on the media thread → ``image_from_rgb`` (a ``QImage``) and a ``QPainter`` drawing it,
on the GUI thread. Baselines on the same frames in the same run:

- ``opencv``: the same steps with PyAV's RGB conversion, OpenCV (one thread) for the rectangle, the
  quarter turn and the resize, and the same ``QImage`` wrap and paint;
- ``copy``: ``np.copyto`` of one 1280×720 RGB frame, the memory-bandwidth floor;
- ``swscale``: the console's steps as they were before issue 20 (PyAV's swscale conversion and a
  copy of the frame to draw on), to show what the switch to the native conversion gained.

``--steps`` measures each pixel step of the path on its own, interleaved frame by frame with the
OpenCV call doing the same on the same frame (issue 20: every step at least OpenCV's speed):
I420 → RGB (native from PyAV's planes, against ``cvtColor`` from an already packed buffer, and
swscale), the quarter turn of the RGB frame, the scaling of each view's visible part, and the
I420 quarter turn at 640x480 and 1280x720.

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
from anysupport_native import convert, rotate, scale  # noqa: E402
from anysupport_native.planes import I420  # noqa: E402
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


class SwscalePath(ConsolePath):
    """The console's steps before issue 20: swscale's RGB, copied to draw on (the undrawn kept)."""

    def media(self, frame):
        r = self.renderer
        rgb = frame.to_ndarray(format="rgb24")
        drawn = r.compositor.composite_rgb(rgb.copy())
        h, w = rgb.shape[:2]
        t = r.transform.for_frame(w, h)
        turned = rotate.rotate_rgb(drawn, 90 * t.quarter_turns) if t.quarter_turns else drawn
        (sx, sy, sw, sh), dest = t.visible_source()
        crop = np.ascontiguousarray(turned[sy:sy + sh, sx:sx + sw])
        if (dest[2], dest[3]) != (sw, sh):
            crop = scale.scale_rgb(crop, dest[2], dest[3])
        return crop, dest


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
def test_swscale_viewer_path(benchmark, gui, packets, view):
    feed, path = Feed(packets), SwscalePath(view)
    rgb, dest = benchmark(lambda: path.media(feed.next()))
    assert rgb.shape == (dest[3], dest[2], 3)
    # the same picture as the console's (swscale's chroma is interpolated: a few levels)
    frame = Feed(packets).next()
    assert np.abs(rgb.astype(int) - ConsolePath(view).media(frame).image.astype(int)).mean() < 3


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
        assert row["swscale_ms"] > 0
    assert figures["copy_ms"] > 0 and figures["medium_cpu_pct"] > 0


def test_steps_report_every_step_and_agree(packets):
    rows = steps(packets, frames=2)
    assert {r["step"] for r in rows} >= {"I420 → RGB 1280x720", "rotate RGB 90° 1280x720", "rotate I420 90° 640x480"}
    assert all(r["native_ms"] > 0 and r["opencv_ms"] > 0 for r in rows)


# -- the per-frame split, for the figures ------------------------------------------------------------------
def _median(values) -> float:
    return float(np.median(np.asarray(values, dtype=float)))


def split(packets, frames: int = 120) -> dict:
    """Median ms per frame of each part and of the baselines, measured in turn on the same frames."""
    figures: dict = {}
    for view in VIEWS:
        feed, console, opencv, before = Feed(packets), ConsolePath(view), OpenCvPath(view), SwscalePath(view)
        decode, render, gui, base, old = [], [], [], [], []
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
            before.media(frame)
            old.append((time.perf_counter() - t4) * 1000)
            decode.append((t1 - t0) * 1000)
            render.append((t2 - t1) * 1000)
            gui.append((t3 - t2) * 1000)
            base.append((t4 - t3) * 1000)
        figures[view] = {"decode_ms": _median(decode), "render_ms": _median(render), "gui_ms": _median(gui),
                         "gui_p90_ms": float(np.percentile(gui, 90)), "opencv_ms": _median(base),
                         "ratio_vs_opencv": _median(render) / _median(base) if _median(base) else float("nan"),
                         "swscale_ms": _median(old), "swscale_ratio": _median(old) / _median(base)}
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


def _interleaved(a, b, rounds: int) -> tuple[float, float]:
    """Median ms of a() and b(), called alternately (which goes first alternates too)."""
    ta, tb = [], []
    for i in range(rounds):
        for first in ((a, ta), (b, tb)) if i % 2 else ((b, tb), (a, ta)):
            fn, out = first
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1000)
    return _median(ta), _median(tb)


def steps(packets, frames: int = 120, rounds: int = 20) -> list[dict]:
    """Each pixel step of the viewer path beside OpenCV's, on decoded frames of the stream (median ms)."""
    rows = []
    feed = Feed(packets)
    frames_ = [feed.next() for _ in range(max(1, frames // rounds))]

    def add(step, native, opencv, other=None):
        n, c = [], []
        o = []
        for f in frames_:
            a, b = _interleaved(lambda f=f: native(f), lambda f=f: opencv(f), rounds)
            n.append(a)
            c.append(b)
            if other is not None:
                o.append(_interleaved(lambda f=f: other(f), lambda: None, rounds)[0])
        row = {"step": step, "native_ms": _median(n), "opencv_ms": _median(c), "ratio": _median(n) / _median(c)}
        if other is not None:
            row["swscale_ms"] = _median(o)
        rows.append(row)

    first = frames_[0]
    packed = {id(f): f.to_ndarray() for f in frames_}  # cvtColor's input: the planes in one buffer
    out_rgb, out_cv = np.empty((720, 1280, 3), np.uint8), np.empty((720, 1280, 3), np.uint8)
    add("I420 → RGB 1280x720", lambda f: convert.i420_to_rgb(convert.planes_of(f), out=out_rgb),
        lambda f: cv2.cvtColor(packed[id(f)], cv2.COLOR_YUV2RGB_I420, dst=out_cv),
        lambda f: f.to_ndarray(format="rgb24"))
    rgbs = {id(f): f.to_ndarray(format="rgb24") for f in frames_}
    turned, turned_cv = np.empty((1280, 720, 3), np.uint8), np.empty((1280, 720, 3), np.uint8)
    add("rotate RGB 90° 1280x720", lambda f: rotate.rotate_rgb(rgbs[id(f)], 90, out=turned),
        lambda f: cv2.rotate(rgbs[id(f)], cv2.ROTATE_90_CLOCKWISE, dst=turned_cv))
    for view in VIEWS:
        t = ConsolePath(view).renderer.transform.for_frame(1280, 720)
        (sx, sy, sw, sh), dest = t.visible_source()
        src = {id(f): np.ascontiguousarray((np.rot90(rgbs[id(f)], -t.quarter_turns) if t.quarter_turns
                                            else rgbs[id(f)])[sy:sy + sh, sx:sx + sw]) for f in frames_}
        out_s, out_c = np.empty((dest[3], dest[2], 3), np.uint8), np.empty((dest[3], dest[2], 3), np.uint8)
        add(f"scale {view} {sw}x{sh} → {dest[2]}x{dest[3]}",
            lambda f, src=src, dest=dest, out_s=out_s: scale.scale_rgb(src[id(f)], dest[2], dest[3], out=out_s),
            lambda f, src=src, dest=dest, out_c=out_c: cv2.resize(src[id(f)], (dest[2], dest[3]), dst=out_c,
                                                                   interpolation=cv2.INTER_LINEAR))
    for w, h in ((640, 480), (1280, 720)):
        planes = {id(f): I420(*(np.ascontiguousarray(p) for p in convert.planes_of(
            f if (f.width, f.height) == (w, h) else f.reformat(w, h)))) for f in frames_}
        out = I420.empty(h, w)
        outs = [np.empty((p.shape[1], p.shape[0]), np.uint8) for p in planes[id(first)]]

        def cv_turn(f, planes=planes, outs=outs):
            for p, o in zip(planes[id(f)], outs, strict=True):
                cv2.rotate(p, cv2.ROTATE_90_CLOCKWISE, dst=o)

        add(f"rotate I420 90° {w}x{h}", lambda f, planes=planes, out=out: rotate.rotate_i420(planes[id(f)], 90, out=out),
            cv_turn)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the viewer path per 1280x720 frame, split by thread")
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--steps", action="store_true", help="each pixel step beside OpenCV's, instead of the split")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    if args.steps:
        for k in range(args.repeat):
            rows = steps(stream(), args.frames)
            print(f"run {k + 1}, load average {os.getloadavg()[0]:.2f}: median ms, interleaved with OpenCV (one thread)")
            print("| step | native | OpenCV | native ÷ OpenCV | swscale |")
            print("|---|---|---|---|---|")
            for r in rows:
                sws = f"{r['swscale_ms']:.3f}" if "swscale_ms" in r else "–"
                print(f"| {r['step']} | {r['native_ms']:.3f} | {r['opencv_ms']:.3f} | {r['ratio']:.2f} | {sws} |")
        return 0
    from anysupport_qt import QApplication

    _app = QApplication.instance() or QApplication(sys.argv[:1])
    figures = split(stream(), args.frames)
    print(f"load average {os.getloadavg()[0]:.2f}; {args.frames} frames of 1280x720 into {WIDGET[0]}x{WIDGET[1]}; "
          f"copy of one frame {figures['copy_ms']:.3f} ms")
    print("| View | decode | render (media thread) | GUI thread p50 / p90 | OpenCV same steps (media part) "
          "| render ÷ OpenCV | before (swscale + copy) | ÷ OpenCV |")
    print("|---|---|---|---|---|---|---|---|")
    for view in VIEWS:
        r = figures[view]
        print(f"| {view} | {r['decode_ms']:.2f} ms | {r['render_ms']:.2f} ms | {r['gui_ms']:.2f} / "
              f"{r['gui_p90_ms']:.2f} ms | {r['opencv_ms']:.2f} ms | {r['ratio_vs_opencv']:.2f} | "
              f"{r['swscale_ms']:.2f} ms | {r['swscale_ratio']:.2f} |")
    print(f"viewer path at medium (640x480, 30 fps: decode + render + GUI): {figures['medium_cpu_pct']:.1f}% of a core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
