"""Frame kernels against the alternatives, on the same input, at 640x480 and 1280x720.

Each group is one operation at one size; its members are our kernel (``native``: the public API, which
is the NumPy reference when ``ANYSUPPORT_NATIVE=reference``), the NumPy reference (``reference``),
OpenCV doing the same operation (``opencv``, one thread), swscale through PyAV's
``VideoFrame.reformat`` where it does the same (``swscale``, one thread), and ``np.copyto`` of the
frame (``copy``), the memory-bandwidth floor. Every member's result is checked against the reference:
native exactly, OpenCV within 1 LSB, swscale in the mean (its filters and chroma siting differ).

Measure with::

    .venv/bin/pytest benchmarks/test_bench_kernels.py --benchmark-enable --benchmark-columns=min,median,mean

Without ``--benchmark-enable`` (the project default) every case runs once, as a smoke test.
"""

import zlib
from functools import cache

import av
import cv2
import numpy as np
import pytest
from anysupport_native import composite, convert, rotate, scale
from anysupport_native.convert import video_frame
from anysupport_native.planes import I420, chroma_size

cv2.setNumThreads(1)

SIZES = {"640x480": (640, 480), "1280x720": (1280, 720)}
ZOOM = 1.1  # one viewer zoom step


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def picture(rng, h, w):
    """A camera-like plane: smooth shading and edges plus a little sensor noise (white noise would
    make filters that differ only in their taps, like swscale's, look unrelated)."""
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    fx, fy, phase = rng.uniform(2, 12), rng.uniform(2, 12), rng.uniform(0, 6)
    base = 128 + 70 * np.sin(fx * x * 6.28 + phase) * np.cos(fy * y * 6.28) + 40 * (x > 0.5)
    return np.clip(base + rng.normal(0, 3, (h, w)), 0, 255).astype(np.uint8)


@cache
def rgb_frame(w, h):
    rng = _rng("rgb", w, h)
    return np.dstack([picture(rng, h, w) for _ in range(3)])


@cache
def i420_frame(w, h):
    rng = _rng("i420", w, h)
    cw, ch = chroma_size(w, h)
    return I420(picture(rng, h, w), picture(rng, ch, cw), picture(rng, ch, cw))


@cache
def overlay(w, h, density):
    """``dense``: every pixel translucent. ``sparse``: strokes on ~5% of the pixels, like annotations."""
    rng = _rng("overlay", w, h, density)
    ov = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    if density == "dense":
        ov[..., 3] = rng.integers(1, 255, (h, w))
        return ov
    alpha = np.zeros((h, w), np.uint8)
    while (alpha > 0).mean() < 0.05:
        x, y = rng.integers(0, w - 40), rng.integers(0, h - 8)
        alpha[y : y + 6, x : x + rng.integers(40, w // 3)] = 255  # a horizontal stroke
        cx, cy = rng.integers(0, w - 30), rng.integers(0, h - 30)
        alpha[cy : cy + 24, cx : cx + 24] = 200  # a blob (arrow head, text box)
    ov[..., 3] = alpha
    return ov


def copy_floor(src):
    """np.copyto of the same frame: the memory-bandwidth floor."""
    planes = src if isinstance(src, tuple) else (src,)
    outs = [np.empty_like(p) for p in planes]

    def run():
        for o, p in zip(outs, planes, strict=True):
            np.copyto(o, p)

    return run, None


# --- compositing --------------------------------------------------------------------------------


def cv_blend_rgb(frame, ov):
    """OpenCV's straight-alpha blend: per-pixel weights into cv2.blendLinear."""
    rgb = cv2.cvtColor(ov, cv2.COLOR_RGBA2RGB)
    w_over = cv2.multiply(ov[..., 3], 1 / 255, dtype=cv2.CV_32F)
    w_under = cv2.subtract(1.0, w_over)
    return cv2.blendLinear(frame, rgb, w_under, w_over)


def composite_cases(kind, density):
    def build(impl, w, h):
        ov = overlay(w, h, density)
        rects = composite.dirty_rects(ov)
        if kind == "rgb":
            frame = rgb_frame(w, h)
            api = {"native": composite, "native+rects": composite, "reference": composite.reference}
            if impl == "opencv":
                return (lambda: cv_blend_rgb(frame, ov)), (lambda: cv_blend_rgb(frame, ov))
            if impl == "copy":
                return copy_floor(frame)
            target = frame.copy()
            kw = {"rects": rects} if impl == "native+rects" else {}
            fn = api[impl].composite_rgb
            return (lambda: fn(target, ov, **kw)), (lambda: fn(frame.copy(), ov, **kw))
        frame = i420_frame(w, h)
        if impl == "copy":
            return copy_floor(tuple(frame))
        api = {"native": composite, "native+rects": composite, "reference": composite.reference}
        target = I420(*(p.copy() for p in frame))
        kw = {"rects": rects} if impl == "native+rects" else {}
        fn = api[impl].composite_i420
        return (lambda: fn(target, ov, **kw)), (lambda: fn(I420(*(p.copy() for p in frame)), ov, **kw))

    impls = ["native", "reference", "copy"]
    if density == "sparse":
        impls.insert(1, "native+rects")
    if kind == "rgb":
        impls.insert(-1, "opencv")
    oracle = lambda w, h: build("reference", w, h)[1]()  # noqa: E731
    return build, impls, oracle


# --- rotation -----------------------------------------------------------------------------------

CV_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def rotate_cases(kind, degrees):
    def build(impl, w, h):
        src = rgb_frame(w, h) if kind == "rgb" else i420_frame(w, h)
        if impl == "copy":
            return copy_floor(src if kind == "rgb" else tuple(src))
        if impl == "opencv":
            planes = (src,) if kind == "rgb" else tuple(src)
            outs = [cv2.rotate(p, CV_ROTATE[degrees]) for p in planes]

            def run():
                for p, o in zip(planes, outs, strict=True):
                    cv2.rotate(p, CV_ROTATE[degrees], dst=o)
                return outs[0] if kind == "rgb" else I420(*outs)

            return run, run
        api = rotate if impl == "native" else rotate.reference
        fn = api.rotate_rgb if kind == "rgb" else api.rotate_i420
        out = fn(src, degrees)
        return (lambda: fn(src, degrees, out=out)), (lambda: fn(src, degrees))

    oracle = lambda w, h: build("reference", w, h)[1]()  # noqa: E731
    return build, ["native", "reference", "opencv", "copy"], oracle


# --- scaling ------------------------------------------------------------------------------------

CV_INTERP = {"bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}
SWS_INTERP = {"bilinear": "BILINEAR", "area": "AREA"}


def target_size(w, h, factor):
    return max(1, round(w * factor)), max(1, round(h * factor))


def scale_cases(kind, method, factor):
    def build(impl, w, h):
        tw, th = target_size(w, h, factor)
        src = rgb_frame(w, h) if kind == "rgb" else i420_frame(w, h)
        if impl == "copy":
            return copy_floor(src if kind == "rgb" else tuple(src))
        if impl == "opencv":
            if kind == "rgb":
                out = np.empty((th, tw, 3), np.uint8)

                def run_rgb():
                    return cv2.resize(src, (tw, th), dst=out, interpolation=CV_INTERP[method])

                return run_rgb, run_rgb
            out = I420.empty(tw, th)

            def run():
                for p, o in zip(src, out, strict=True):
                    cv2.resize(p, (o.shape[1], o.shape[0]), dst=o, interpolation=CV_INTERP[method])
                return out

            return run, run
        if impl == "swscale":
            fmt = "rgb24" if kind == "rgb" else "yuv420p"
            frame = av.VideoFrame.from_ndarray(src, format="rgb24") if kind == "rgb" else video_frame(src)

            def run_sws():
                return frame.reformat(tw, th, interpolation=SWS_INTERP[method], threads=1)

            def result():
                out = run_sws()
                if kind == "rgb":
                    return out.to_ndarray(format=fmt)
                from anysupport_native.convert import planes_of

                return I420(*(p.copy() for p in planes_of(out)))

            return run_sws, result
        api = scale if impl == "native" else scale.reference
        fn = api.scale_rgb if kind == "rgb" else api.scale_i420
        out = fn(src, tw, th, method=method)
        return (lambda: fn(src, tw, th, method=method, out=out)), (lambda: fn(src, tw, th, method=method))

    oracle = lambda w, h: build("reference", w, h)[1]()  # noqa: E731
    return build, ["native", "reference", "opencv", "swscale", "copy"], oracle


# --- colour conversion ---------------------------------------------------------------------------


def convert_cases():
    """I420 → RGB24. OpenCV's cvtColor needs the planes in one buffer: it gets one packed in advance
    (its own time only); swscale converts a PyAV frame (``to_ndarray``), as the console did."""

    def build(impl, w, h):
        src = i420_frame(w, h)
        if impl == "copy":
            return copy_floor(src)  # the RGB frame is twice the I420 bytes: this is half the floor
        if impl == "opencv":
            packed = np.concatenate([p.ravel() for p in src]).reshape(h * 3 // 2, w)
            out = np.empty((h, w, 3), np.uint8)

            def run():
                return cv2.cvtColor(packed, cv2.COLOR_YUV2RGB_I420, dst=out)

            return run, run
        if impl == "swscale":
            frame = video_frame(src)
            run = lambda: frame.to_ndarray(format="rgb24")  # noqa: E731
            return run, run
        api = convert if impl == "native" else convert.reference
        out = api.i420_to_rgb(src)
        return (lambda: api.i420_to_rgb(src, out=out)), (lambda: api.i420_to_rgb(src))

    oracle = lambda w, h: build("reference", w, h)[1]()  # noqa: E731
    return build, ["native", "reference", "opencv", "swscale", "copy"], oracle


# --- the viewer's per-frame work ------------------------------------------------------------------


def viewer_step(api_rotate, api_scale, api_composite, frame, ov, rects, bufs):
    """Decoded 1280x720 I420 -> rotate 90 -> 110% zoom (centre crop scaled back) -> annotations."""
    turned = api_rotate.rotate_i420(frame, 90, out=bufs[0])
    h, w = turned.y.shape
    cw, ch = (round(w / ZOOM) // 2) * 2, (round(h / ZOOM) // 2) * 2
    x0, y0 = ((w - cw) // 4) * 2, ((h - ch) // 4) * 2
    crop = I420(
        turned.y[y0 : y0 + ch, x0 : x0 + cw],
        turned.u[y0 // 2 : (y0 + ch) // 2, x0 // 2 : (x0 + cw) // 2],
        turned.v[y0 // 2 : (y0 + ch) // 2, x0 // 2 : (x0 + cw) // 2],
    )
    zoomed = api_scale.scale_i420(crop, w, h, method="bilinear", out=bufs[1])
    return api_composite.composite_i420(zoomed, ov, 0, 0, rects=rects)


def viewer_cases(density):
    def build(impl, w, h):
        frame = i420_frame(w, h)
        if impl == "copy":
            return copy_floor(tuple(frame))
        ov = overlay(h, w, density)  # portrait after the turn
        rects = composite.dirty_rects(ov) if impl == "native+rects" else None
        apis = (rotate, scale, composite) if impl.startswith("native") else (
            rotate.reference, scale.reference, composite.reference
        )
        bufs = (I420.empty(h, w), I420.empty(h, w))
        run = lambda: viewer_step(*apis, frame, ov, rects, bufs)  # noqa: E731
        return run, run

    impls = ["native", "native+rects", "reference", "copy"] if density == "sparse" else ["native", "reference", "copy"]
    return build, impls, lambda w, h: build("reference", w, h)[1]()


GROUPS = {
    "composite-rgb-dense": composite_cases("rgb", "dense"),
    "composite-rgb-sparse5": composite_cases("rgb", "sparse"),
    "composite-i420-dense": composite_cases("i420", "dense"),
    "composite-i420-sparse5": composite_cases("i420", "sparse"),
    "rotate-i420-90": rotate_cases("i420", 90),
    "rotate-i420-180": rotate_cases("i420", 180),
    "rotate-rgb-90": rotate_cases("rgb", 90),
    "rotate-rgb-180": rotate_cases("rgb", 180),
    "scale-i420-bilinear-half": scale_cases("i420", "bilinear", 0.5),
    "scale-i420-bilinear-zoom110": scale_cases("i420", "bilinear", ZOOM),
    "scale-i420-area-third": scale_cases("i420", "area", 1 / 3),
    "scale-rgb-bilinear-zoom110": scale_cases("rgb", "bilinear", ZOOM),
    "scale-rgb-area-half": scale_cases("rgb", "area", 0.5),
    "scale-rgb-bilinear-fit064": scale_cases("rgb", "bilinear", 824 / 1280),  # the viewer: 1280x720 in 824x464
    "scale-rgb-bilinear-fit048": scale_cases("rgb", "bilinear", 349 / 720),  # ... turned upright
    "convert-i420-rgb": convert_cases(),
    "viewer-step-sparse5": viewer_cases("sparse"),
}

CASES = [
    pytest.param(group, size, impl, id=f"{group}-{size}-{impl}")
    for group, (_, impls, _) in GROUPS.items()
    for size in SIZES
    for impl in impls
    if not (group.startswith("viewer") and size != "1280x720")
]


def _planes(result):
    return list(result) if isinstance(result, tuple) else [result]


def check_agreement(impl, result, want):
    for got, ref in zip(_planes(result), _planes(want), strict=True):
        assert got.shape == ref.shape
        diff = np.abs(got.astype(np.int16) - ref.astype(np.int16))
        if impl.startswith("native"):
            assert diff.max() == 0
        elif impl == "opencv":
            assert diff.max() <= 1
        else:  # swscale: different filter taps and chroma siting, same picture
            assert diff.mean() <= 3.0


@pytest.mark.parametrize("group, size, impl", CASES)
def test_kernel(benchmark, group, size, impl):
    build, _, oracle = GROUPS[group]
    w, h = SIZES[size]
    benchmark.group = f"{group} {size}"
    run, result = build(impl, w, h)
    benchmark(run)
    if result is not None and impl != "reference":
        check_agreement(impl, result(), oracle(w, h))
