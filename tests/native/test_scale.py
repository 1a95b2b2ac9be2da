"""Scaling: bilinear and area, any size to any size.

Tolerance: none against the NumPy reference (both compute the same integers from the same tap
tables; the issue allows 1 LSB). Against OpenCV's INTER_LINEAR / INTER_AREA, an independent
implementation of the same definitions, the tolerance is 1 LSB (rounding of the weights).
"""

import cv2
import numpy as np
import pytest
from anysupport_native import reference_forced, scale
from anysupport_native.planes import I420
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import SMALL, i420, random_image, run_threaded

widths = st.one_of(st.sampled_from(SMALL), st.integers(1, 1920))
heights = st.one_of(st.sampled_from(SMALL), st.integers(1, 1080))
methods = st.sampled_from(scale.METHODS)


def test_backend_follows_the_environment():
    assert scale.backend() == ("reference" if reference_forced() else "native")


@settings(settings.get_profile("kernels"))
@given(w=widths, h=heights, dw=widths, dh=heights, method=methods, seed=st.integers(0, 2**32 - 1))
def test_rgb_and_plane_match_reference(w, h, dw, dh, method, seed):
    rng = np.random.default_rng(seed)
    rgb = random_image(rng, (h, w, 3))
    got = scale.scale_rgb(rgb, dw, dh, method=method)
    assert got.shape == (dh, dw, 3)
    assert np.array_equal(got, scale.reference.scale_rgb(rgb, dw, dh, method=method))
    plane = rgb[..., 1]  # pixels not packed: copied first
    assert np.array_equal(
        scale.scale_plane(plane, dw, dh, method=method), scale.reference.scale_plane(plane, dw, dh, method=method)
    )


@settings(settings.get_profile("kernels"))
@given(w=widths, h=heights, dw=widths, dh=heights, method=methods, seed=st.integers(0, 2**32 - 1))
def test_i420_matches_reference(w, h, dw, dh, method, seed):
    frame = i420(np.random.default_rng(seed), w, h)
    got = scale.scale_i420(frame, dw, dh, method=method)
    want = scale.reference.scale_i420(frame, dw, dh, method=method)
    assert got.width == dw and got.height == dh
    assert got.u.shape == (-(-dh // 2), -(-dw // 2))
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))


@pytest.mark.parametrize(
    "src, dst",
    [
        ((1280, 720), (824, 464)),  # the viewer: 16:9 fitted into its default window (0.64)
        ((720, 1280), (349, 620)),  # ... turned upright (0.48: the 32-byte gather windows)
        ((720, 962), (464, 620)),  # ... turned and zoomed
        ((1280, 720), (430, 242)),  # 0.34: still gathered
        ((1280, 720), (300, 170)),  # below 1/3: the scalar loop
        ((97, 61), (40, 25)),  # odd sizes, short rows: windows clamped at the row's end
    ],
)
def test_bilinear_downscales_of_the_viewer_match_reference(rng, src, dst):
    rgb = random_image(rng, (src[1], src[0], 3))
    assert np.array_equal(scale.scale_rgb(rgb, *dst), scale.reference.scale_rgb(rgb, *dst))
    plane = np.ascontiguousarray(rgb[..., 0])
    assert np.array_equal(scale.scale_plane(plane, *dst), scale.reference.scale_plane(plane, *dst))


@pytest.mark.parametrize(
    "src, dst",
    [
        ((1280, 720), (640, 360)),
        ((1280, 720), (1408, 792)),  # a 10% zoom step
        ((1920, 1080), (640, 480)),
        ((640, 480), (320, 240)),
        ((318, 238), (1280, 720)),
        ((33, 17), (5, 3)),
    ],
)
@pytest.mark.parametrize("method", scale.METHODS)
def test_within_one_lsb_of_opencv(rng, src, dst, method):
    plane = random_image(rng, (src[1], src[0]))
    got = scale.scale_plane(plane, *dst, method=method)
    if method == "area" and dst[0] > src[0]:
        # OpenCV's INTER_AREA upscales bilinearly; ours replicates (the mean of the covered area).
        want = np.repeat(np.repeat(plane, 4, 0), 4, 1)
        assert np.array_equal(scale.scale_plane(plane, src[0] * 4, src[1] * 4, method="area"), want)
        return
    flag = cv2.INTER_LINEAR if method == "bilinear" else cv2.INTER_AREA
    want = cv2.resize(plane, dst, interpolation=flag)
    assert np.abs(got.astype(int) - want).max() <= 1


@pytest.mark.parametrize("method", scale.METHODS)
def test_constant_images_stay_constant_and_same_size_is_a_copy(rng, method):
    flat = np.full((37, 53, 3), 201, np.uint8)
    for size in ((1, 1), (19, 7), (53, 37), (200, 300)):
        assert (scale.scale_rgb(flat, *size, method=method) == 201).all()
    img = random_image(rng, (37, 53, 3))
    assert np.array_equal(scale.scale_rgb(img, 53, 37, method=method), img)


def test_two_to_one_is_the_rounded_block_mean(rng):
    plane = random_image(rng, (10, 14))
    blocks = plane.reshape(5, 2, 7, 2).astype(int).sum(axis=(1, 3))
    for method in scale.METHODS:
        assert np.array_equal(scale.scale_plane(plane, 7, 5, method=method), (blocks + 2) // 4)


def test_writes_into_the_given_buffer(rng):
    frame = i420(rng, 641, 361)
    out = I420.empty(320, 180)
    got = scale.scale_i420(frame, 320, 180, method="area", out=out)
    assert all(g is o for g, o in zip(got, out, strict=True))
    want = scale.reference.scale_i420(frame, 320, 180, method="area")
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))


def test_padded_rows_are_read_in_place(rng):
    big = random_image(rng, (100, 120, 3))
    crop = big[10:90, 7:111]  # the viewer zooms into a crop
    assert np.array_equal(scale.scale_rgb(crop, 150, 99), scale.reference.scale_rgb(crop.copy(), 150, 99))


@pytest.mark.parametrize(
    "call",
    [
        lambda: scale.scale_plane(np.zeros((4, 4), np.int8), 2, 2),
        lambda: scale.scale_plane(np.zeros((4, 4), np.uint8), 0, 2),
        lambda: scale.scale_plane(np.zeros((4, 4), np.uint8), 2, 10**9),
        lambda: scale.scale_plane(np.zeros((4, 4), np.uint8), 2.5, 2),
        lambda: scale.scale_plane(np.zeros((4, 4), np.uint8), 2, 2, method="bicubic"),
        lambda: scale.scale_rgb(np.zeros((4, 4, 4), np.uint8), 2, 2),
        lambda: scale.scale_rgb(np.zeros((4, 4, 3), np.uint8), 2, 2, out=np.zeros((2, 3, 3), np.uint8)),
        lambda: scale.scale_i420((np.zeros((4, 4), np.uint8),) * 3, 2, 2),
        lambda: scale.scale_i420(
            i420(np.random.default_rng(0), 4, 4), 2, 2, out=(np.zeros((2, 2), np.uint8),) * 3
        ),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_output_overlapping_the_input_is_refused():
    buf = np.zeros((8, 8), np.uint8)
    with pytest.raises(ValueError, match="overlap"):
        scale.scale_plane(buf, 4, 4, out=buf[:4, :4])


def test_threads_get_the_same_results(rng):
    frames = [i420(rng, 1280, 720) for _ in range(4)]
    jobs = [(f, w, h) for f in frames for w, h in ((640, 360), (1408, 792), (427, 240))]
    threaded = run_threaded(lambda f, w, h: scale.scale_i420(f, w, h, method="bilinear"), jobs)
    for (frame, w, h), got in zip(jobs, threaded, strict=True):
        want = scale.reference.scale_i420(frame, w, h, method="bilinear")
        assert all(np.array_equal(g, x) for g, x in zip(got, want, strict=True))
