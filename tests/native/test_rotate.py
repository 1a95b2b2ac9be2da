"""Rotation by quarter turns: bit-exact against the NumPy reference and against np.rot90."""

import numpy as np
import pytest
from anysupport_native import reference_forced, rotate
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import SMALL, i420, random_image, run_threaded

DEGREES = (0, 90, 180, 270, -90, 450)
sides = st.one_of(st.sampled_from(SMALL), st.integers(1, 1920))


def test_backend_follows_the_environment():
    assert rotate.backend() == ("reference" if reference_forced() else "native")


@settings(settings.get_profile("kernels"))
@given(width=sides, height=st.one_of(st.sampled_from(SMALL), st.integers(1, 1080)),
       degrees=st.sampled_from(DEGREES), seed=st.integers(0, 2**32 - 1))
def test_rotate_matches_reference(width, height, degrees, seed):
    rng = np.random.default_rng(seed)
    rgb = random_image(rng, (height, width, 3))
    got = rotate.rotate_rgb(rgb, degrees)
    assert np.array_equal(got, rotate.reference.rotate_rgb(rgb, degrees))
    assert np.array_equal(got, np.rot90(rgb, -(degrees // 90)))
    frame = i420(rng, width, height)
    got = rotate.rotate_i420(frame, degrees)
    want = rotate.reference.rotate_i420(frame, degrees)
    for g, w, src in zip(got, want, frame, strict=True):
        assert np.array_equal(g, w)
        assert np.array_equal(g, np.rot90(src, -(degrees // 90)))


@pytest.mark.parametrize("size", [(1, 1), (318, 238), (8, 8), (9, 17), (1280, 720)])
@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_every_turn_of_edge_sizes(rng, size, degrees):
    w, h = size
    plane = random_image(rng, (h, w))
    assert np.array_equal(rotate.rotate_plane(plane, degrees), np.rot90(plane, -(degrees // 90)))


def test_four_turns_are_the_identity(rng):
    frame = i420(rng, 319, 241)
    out = frame
    for _ in range(4):
        out = rotate.rotate_i420(out, 90)
    assert all(np.array_equal(a, b) for a, b in zip(out, frame, strict=True))


def test_writes_into_the_given_buffer(rng):
    src = random_image(rng, (37, 21, 3))
    out = np.zeros((21, 37, 3), np.uint8)
    assert rotate.rotate_rgb(src, 270, out=out) is out
    assert np.array_equal(out, np.rot90(src, 1))


def test_padded_rows_and_strided_input(rng):
    big = random_image(rng, (50, 80))
    crop = big[5:45, 3:70]  # padded rows: used in place
    assert np.array_equal(rotate.rotate_plane(crop, 90), np.rot90(crop, -1))
    strided = big[:, ::3]  # pixels not packed: copied first
    assert np.array_equal(rotate.rotate_plane(strided, 90), np.rot90(strided, -1))
    rgb = random_image(rng, (20, 30, 4))[..., :3]
    assert np.array_equal(rotate.rotate_rgb(rgb, 180), np.rot90(rgb, 2))


@pytest.mark.parametrize(
    "call",
    [
        lambda: rotate.rotate_plane(np.zeros((4, 4), np.uint16), 90),
        lambda: rotate.rotate_plane(np.zeros((4, 4, 3), np.uint8), 90),
        lambda: rotate.rotate_plane(np.zeros((0, 4), np.uint8), 90),
        lambda: rotate.rotate_plane([[1, 2]], 90),
        lambda: rotate.rotate_plane(np.zeros((4, 4), np.uint8), 45),
        lambda: rotate.rotate_plane(np.zeros((4, 4), np.uint8), 90.0),
        lambda: rotate.rotate_rgb(np.zeros((4, 4), np.uint8), 90),
        lambda: rotate.rotate_rgb(np.zeros((4, 5, 3), np.uint8), 90, out=np.zeros((4, 5, 3), np.uint8)),
        lambda: rotate.rotate_rgb(np.zeros((4, 5, 3), np.uint8), 90, out=np.zeros((5, 4, 3), np.float32)),
        lambda: rotate.rotate_rgb(np.zeros((4, 5, 3), np.uint8), 90, out=np.zeros((5, 8, 3), np.uint8)[:, ::2]),
        lambda: rotate.rotate_i420((np.zeros((4, 4), np.uint8),) * 2, 90),
        lambda: rotate.rotate_i420((np.zeros((4, 4), np.uint8),) * 3, 90),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_output_overlapping_the_input_is_refused():
    buf = np.zeros((8, 8), np.uint8)
    with pytest.raises(ValueError, match="overlap"):
        rotate.rotate_plane(buf, 180, out=buf)


def test_read_only_output_is_refused():
    out = np.zeros((3, 2), np.uint8)
    out.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        rotate.rotate_plane(np.zeros((2, 3), np.uint8), 90, out=out)


def test_threads_get_the_same_results(rng):
    frames = [i420(rng, 641, 479) for _ in range(8)]
    jobs = [(f, d) for f in frames for d in (90, 180, 270)]
    threaded = run_threaded(rotate.rotate_i420, jobs)
    for (frame, degrees), got in zip(jobs, threaded, strict=True):
        want = rotate.reference.rotate_i420(frame, degrees)
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
