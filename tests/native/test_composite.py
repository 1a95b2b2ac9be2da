"""Compositing an RGBA overlay onto RGB24 and I420 frames.

Tolerance: none. The kernels and the NumPy reference compute the same integers (the issue allows
1 LSB; we need 0), and the reference itself is checked against the real-valued formula below.
"""

import numpy as np
import pytest
from anysupport_native import composite, reference_forced
from anysupport_native.planes import I420
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import SMALL, i420, random_image, run_threaded

ALPHAS = ("random", "transparent", "opaque", "sparse", "binary")


def make_overlay(rng, width, height, alpha):
    overlay = random_image(rng, (height, width, 4))
    a = overlay[..., 3]
    if alpha == "transparent":
        a[...] = 0
    elif alpha == "opaque":
        a[...] = 255
    elif alpha == "binary":
        a[...] = np.where(rng.random(a.shape) < 0.5, 0, 255)
    elif alpha == "sparse":  # a few strokes on an empty layer, like the agent's drawings
        a[...] = 0
        for _ in range(3):
            y0, x0 = rng.integers(0, height), rng.integers(0, width)
            a[y0 : y0 + rng.integers(1, 12), x0 : x0 + rng.integers(1, 60)] = rng.integers(1, 256)
    return overlay


def copy_i420(frame):
    return I420(*(p.copy() for p in frame))


frame_sides = st.one_of(st.sampled_from(SMALL), st.integers(1, 1920))
case = st.fixed_dictionaries(
    {
        "width": frame_sides,
        "height": st.one_of(st.sampled_from(SMALL), st.integers(1, 1080)),
        "ow": st.one_of(st.sampled_from(SMALL), st.integers(1, 1920)),
        "oh": st.one_of(st.sampled_from(SMALL), st.integers(1, 1080)),
        "alpha": st.sampled_from(ALPHAS),
        "seed": st.integers(0, 2**32 - 1),
        # offsets from well outside the top-left to past the bottom-right
        "fx": st.floats(-1.2, 1.2),
        "fy": st.floats(-1.2, 1.2),
    }
)


def unpack(c):
    rng = np.random.default_rng(c["seed"])
    x = int(c["fx"] * max(c["width"], c["ow"]))
    y = int(c["fy"] * max(c["height"], c["oh"]))
    return rng, make_overlay(rng, c["ow"], c["oh"], c["alpha"]), x, y


def test_backend_follows_the_environment():
    assert composite.backend() == ("reference" if reference_forced() else "native")


@settings(settings.get_profile("kernels"))
@given(c=case)
def test_rgb_matches_reference(c):
    rng, overlay, x, y = unpack(c)
    frame = random_image(rng, (c["height"], c["width"], 3))
    want = composite.reference.composite_rgb(frame.copy(), overlay, x, y)
    assert np.array_equal(composite.composite_rgb(frame.copy(), overlay, x, y), want)
    rects = composite.dirty_rects(overlay, tile=int(rng.integers(1, 40)))
    assert np.array_equal(composite.composite_rgb(frame.copy(), overlay, x, y, rects=rects), want)


@settings(settings.get_profile("kernels"))
@given(c=case)
def test_i420_matches_reference(c):
    rng, overlay, x, y = unpack(c)
    frame = i420(rng, c["width"], c["height"])
    want = composite.reference.composite_i420(copy_i420(frame), overlay, x, y)
    got = composite.composite_i420(copy_i420(frame), overlay, x, y)
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
    rects = composite.dirty_rects(overlay, tile=int(rng.integers(1, 40)))
    got = composite.composite_i420(copy_i420(frame), overlay, x, y, rects=rects)
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))


def test_rgb_is_the_rounded_real_blend(rng):
    frame = random_image(rng, (64, 64, 3))
    overlay = random_image(rng, (64, 64, 4))
    a = overlay[..., 3:].astype(float) / 255
    exact = frame * (1 - a) + overlay[..., :3] * a
    got = composite.composite_rgb(frame.copy(), overlay)
    assert np.abs(got - exact).max() < 0.5 + 1e-9


def test_opaque_overlay_writes_its_bt601_colour_into_i420():
    frame = I420(np.zeros((4, 6), np.uint8), np.zeros((2, 3), np.uint8), np.zeros((2, 3), np.uint8))
    overlay = np.zeros((4, 6, 4), np.uint8)
    overlay[...] = (255, 0, 0, 255)  # pure red: Y 82, U 90, V 240 in BT.601 limited range
    composite.composite_i420(frame, overlay)
    assert (frame.y == 82).all() and (frame.u == 90).all() and (frame.v == 240).all()


def test_i420_chroma_is_the_alpha_weighted_block_mean():
    frame = I420(np.full((2, 2), 16, np.uint8), np.full((1, 1), 128, np.uint8), np.full((1, 1), 128, np.uint8))
    overlay = np.zeros((2, 2, 4), np.uint8)
    overlay[0, 0] = (255, 0, 0, 255)  # one opaque red pixel out of four: a quarter of red's chroma
    composite.composite_i420(frame, overlay)
    # rounded half up: 118.5 -> 119
    assert frame.u[0, 0] == (128 * 3 + 90 + 2) // 4 and frame.v[0, 0] == (128 * 3 + 240 + 2) // 4
    assert frame.y.tolist() == [[82, 16], [16, 16]]


def test_transparent_overlay_and_offsets_off_the_frame_change_nothing(rng):
    frame = random_image(rng, (30, 40, 3))
    before = frame.copy()
    composite.composite_rgb(frame, make_overlay(rng, 40, 30, "transparent"))
    overlay = make_overlay(rng, 10, 10, "opaque")
    for x, y in ((40, 0), (-10, 0), (0, 30), (0, -10), (10**30, -(10**30))):
        composite.composite_rgb(frame, overlay, x, y)
    composite.composite_rgb(frame, overlay, rects=[])
    assert np.array_equal(frame, before)


def test_overlapping_rects_composite_once(rng):
    frame = random_image(rng, (50, 70, 3))
    overlay = make_overlay(rng, 70, 50, "random")
    want = composite.reference.composite_rgb(frame.copy(), overlay, 3, -2)
    rects = [(0, 0, 70, 50), (5, 5, 20, 20), (-10, -10, 200, 200)]
    assert np.array_equal(composite.composite_rgb(frame.copy(), overlay, 3, -2, rects=rects), want)


def test_dirty_rects_cover_every_visible_pixel(rng):
    overlay = make_overlay(rng, 101, 67, "sparse")
    covered = np.zeros(overlay.shape[:2], bool)
    for x, y, w, h in composite.dirty_rects(overlay, tile=16):
        covered[y : y + h, x : x + w] = True
    assert covered[overlay[..., 3] > 0].all()
    assert len(composite.dirty_rects(make_overlay(rng, 9, 9, "transparent"))) == 0


def test_dirty_rects_with_a_tile_past_the_overlay(rng):
    overlay = make_overlay(rng, 101, 67, "sparse")
    # one rectangle, without a (tile x tile) mask of 2**80 bytes
    assert composite.dirty_rects(overlay, tile=1 << 40).tolist() == [[0, 0, 101, 67]]


def test_padded_frame_rows_and_strided_overlay(rng):
    big = random_image(rng, (40, 60, 3))
    overlay = random_image(rng, (30, 80, 4))[:, ::2]  # pixels not packed: copied first
    want = composite.reference.composite_rgb(big[5:35, 4:50].copy(), overlay, 1, 2)
    got = big.copy()
    composite.composite_rgb(got[5:35, 4:50], overlay, 1, 2)  # a crop, composited in place
    assert np.array_equal(got[5:35, 4:50], want)


frame3 = np.zeros((4, 4, 3), np.uint8)
over4 = np.zeros((2, 2, 4), np.uint8)


@pytest.mark.parametrize(
    "call",
    [
        lambda: composite.composite_rgb(frame3.astype(np.float32), over4),
        lambda: composite.composite_rgb(frame3, over4.astype(np.int16)),
        lambda: composite.composite_rgb(frame3, over4[..., :3]),
        lambda: composite.composite_rgb(frame3[..., :2], over4),
        lambda: composite.composite_rgb(frame3[:, ::2], over4),  # written in place: must be packed
        lambda: composite.composite_rgb(frame3, over4, 1.5, 0),
        lambda: composite.composite_rgb(frame3, over4, rects=[(0, 0, 1)]),
        lambda: composite.composite_rgb(frame3, over4, rects=[(0, 0, -1, 1)]),
        lambda: composite.composite_rgb(frame3, over4, rects=[(0.0, 0.0, 1.0, 1.0)]),
        lambda: composite.composite_rgb(frame3, np.zeros((0, 2, 4), np.uint8)),
        lambda: composite.composite_i420(frame3, over4),
        lambda: composite.composite_i420(
            (np.zeros((4, 4), np.uint8), np.zeros((2, 2), np.uint8), np.zeros((3, 2), np.uint8)), over4
        ),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_read_only_frame_is_refused():
    frame = np.zeros((4, 4, 3), np.uint8)
    frame.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        composite.composite_rgb(frame, over4)


def test_threads_get_the_same_results(rng):
    overlay = make_overlay(rng, 320, 240, "random")
    frames = [i420(rng, 321, 243) for _ in range(12)]
    jobs = [(copy_i420(f), overlay, i - 6, 3 - i) for i, f in enumerate(frames)]
    threaded = run_threaded(composite.composite_i420, jobs)
    for got, i in zip(threaded, range(12), strict=True):
        want = composite.reference.composite_i420(copy_i420(frames[i]), overlay, i - 6, 3 - i)
        assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
