"""I420 to RGB24: the kernel against its NumPy reference (exact) and against OpenCV and swscale.

Tolerance: none against the reference (both compute the integers defined in ``_yuv.h``). Against
OpenCV's ``cvtColor(COLOR_YUV2RGB_I420)``, which has the same definition (BT.601 limited range,
nearest chroma) with other fixed-point coefficients: 1 LSB. Against swscale (PyAV's
``to_ndarray("rgb24")``), whose chroma is interpolated: the same picture in the mean.
"""

import av
import cv2
import numpy as np
import pytest
from anysupport_native import convert, reference_forced
from anysupport_native.planes import I420
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import SMALL, i420, run_threaded

widths = st.one_of(st.sampled_from(SMALL), st.integers(1, 1920))
heights = st.one_of(st.sampled_from(SMALL), st.integers(1, 1080))


def test_backend_follows_the_environment():
    assert convert.backend() == ("reference" if reference_forced() else "native")


@settings(settings.get_profile("kernels"))
@given(w=widths, h=heights, seed=st.integers(0, 2**32 - 1))
def test_matches_reference(w, h, seed):
    frame = i420(np.random.default_rng(seed), w, h)
    got = convert.i420_to_rgb(frame)
    assert got.shape == (h, w, 3) and got.dtype == np.uint8
    assert np.array_equal(got, convert.reference.i420_to_rgb(frame))


def test_black_white_and_grey_are_exact():
    for luma, rgb in ((16, 0), (235, 255), (126, 128)):
        frame = I420(np.full((4, 6), luma, np.uint8), np.full((2, 3), 128, np.uint8), np.full((2, 3), 128, np.uint8))
        assert np.all(convert.i420_to_rgb(frame) == rgb), luma


@pytest.mark.parametrize("size", [(640, 480), (1280, 720), (66, 34)])
def test_within_one_lsb_of_opencv(rng, size):
    w, h = size
    frame = i420(rng, w, h)
    packed = np.concatenate([p.ravel() for p in frame]).reshape(h * 3 // 2, w)
    want = cv2.cvtColor(packed, cv2.COLOR_YUV2RGB_I420)
    assert np.abs(convert.i420_to_rgb(frame).astype(int) - want).max() <= 1


def test_the_same_picture_as_swscale(rng):
    y, x = np.mgrid[0:480, 0:640]
    rgb = np.dstack([(x * 255 // 639), (y * 255 // 479), ((x + y) % 256)]).astype(np.uint8)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    got = convert.i420_to_rgb(convert.planes_of(frame))
    assert np.abs(got.astype(int) - frame.to_ndarray(format="rgb24")).mean() < 1.5


def test_pyav_planes_with_padded_rows_are_read_in_place(rng):
    frame = convert.video_frame(i420(rng, 318, 238))
    planes = convert.planes_of(frame)
    assert planes.y.strides[0] > planes.y.shape[1]  # PyAV pads its rows
    want = convert.reference.i420_to_rgb(I420(*(np.ascontiguousarray(p) for p in planes)))
    assert np.array_equal(convert.i420_to_rgb(planes), want)


def test_writes_into_the_given_buffer_including_a_row_slice(rng):
    frame = i420(rng, 65, 33)
    big = np.zeros((40, 65, 3), np.uint8)
    out = big[3:36]
    assert convert.i420_to_rgb(frame, out=out) is out
    assert np.array_equal(out, convert.reference.i420_to_rgb(frame))
    assert not big[:3].any() and not big[36:].any()


@pytest.mark.parametrize(
    "call",
    [
        lambda: convert.i420_to_rgb((np.zeros((4, 4), np.uint8),) * 2),
        lambda: convert.i420_to_rgb((np.zeros((4, 4), np.uint8),) * 3),
        lambda: convert.i420_to_rgb(tuple(np.zeros(s, np.float32) for s in ((4, 4), (2, 2), (2, 2)))),
        lambda: convert.i420_to_rgb(I420.empty(4, 4), out=np.zeros((4, 4, 3), np.float32)),
        lambda: convert.i420_to_rgb(I420.empty(4, 4), out=np.zeros((4, 5, 3), np.uint8)),
        lambda: convert.i420_to_rgb(I420.empty(4, 4), out=np.zeros((4, 8, 3), np.uint8)[:, ::2]),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_output_overlapping_the_input_is_refused():
    buf = np.zeros((4, 4, 3), np.uint8)
    frame = I420(buf.reshape(4, 12)[:, :4], np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="overlap"):
        convert.i420_to_rgb(frame, out=buf)


def test_threads_get_the_same_results(rng):
    frames = [(i420(rng, 641, 479),) for _ in range(8)]
    for (frame,), got in zip(frames, run_threaded(convert.i420_to_rgb, frames), strict=True):
        assert np.array_equal(got, convert.reference.i420_to_rgb(frame))
