"""PlaneTracker on synthetic sequences with known truth: the contract, accuracy, loss and return.

The sequences (``tests/support/scenes.py``) are a textured plane filmed by a moving hand-held
camera with noise and motion blur, most of them through the project's H.264 at a quality level.
The goals of issue 20 are asserted here as limits the tracker must keep; the benchmark
(``benchmarks/test_bench_tracking.py``) reports the figures.
"""

from __future__ import annotations

import numpy as np
import pytest
from anysupport_client.tracking import PlaneTracker

from tests.support import scenes
from tests.support.scenes import AWAY, HAND, LIGHTING, REF_SIZE, moving
from tests.support.tracking import GONE, longest_hidden, losses, returns, shown_errors, track

FPS = 30
NEVER_OFF = 20.0  # px: a drawing shown is never further than this from where it belongs
GOAL_P95 = 3.0  # px, stroke error at 640x480 up to 200 px/s


# -- the contract ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_frames():
    scene = moving(150, seconds=0.2)
    return scene, scene.render(0), scene.render(3)


def test_update_returns_a_float_3x3_homography_from_the_start_frame(two_frames):
    scene, first, later = two_frames
    tracker = PlaneTracker()
    assert tracker.start(first, scene.region) is None
    h = tracker.update(later)
    assert isinstance(h, np.ndarray) and h.shape == (3, 3) and h.dtype == np.float64
    assert h[2, 2] == pytest.approx(1.0)
    truth = scene.truth(0, 3)
    assert scenes.stroke_error(h, truth, scene.stroke_points()) < 1.0


def test_grey_and_rgb_frames_give_the_same_answer(two_frames):
    scene, first, later = two_frames
    import cv2

    rgb, grey = PlaneTracker(), PlaneTracker()
    rgb.start(first, scene.region)
    grey.start(cv2.cvtColor(first, cv2.COLOR_RGB2GRAY), scene.region)
    np.testing.assert_allclose(rgb.update(later), grey.update(cv2.cvtColor(later, cv2.COLOR_RGB2GRAY)), atol=1e-9)


def test_without_a_region_the_whole_frame_is_followed(two_frames):
    scene, first, later = two_frames
    tracker = PlaneTracker()
    tracker.start(first)
    h = tracker.update(later)
    assert h is not None
    assert scenes.stroke_error(h, scene.truth(0, 3), scene.stroke_points()) < 1.5


def test_the_start_frame_itself_maps_to_identity(two_frames):
    scene, first, _ = two_frames
    tracker = PlaneTracker()
    tracker.start(first, scene.region)
    np.testing.assert_allclose(tracker.update(first), np.eye(3), atol=0.02)


@pytest.mark.parametrize(
    "frame, message",
    [
        (np.zeros((480, 640), np.float32), "uint8"),
        ([[0] * 640] * 480, "uint8"),
        (np.zeros((480, 640, 4), np.uint8), "grey or"),
        (np.zeros((480,), np.uint8), "grey or"),
        (np.zeros((8, 640), np.uint8), "16 to"),
    ],
)
def test_bad_frames_are_refused_with_a_clear_error(two_frames, frame, message):
    with pytest.raises(ValueError, match=message):
        PlaneTracker().start(frame)
    tracker = PlaneTracker()
    tracker.start(two_frames[1])
    with pytest.raises(ValueError, match=message):
        tracker.update(frame)


@pytest.mark.parametrize(
    "region, message",
    [
        ((10, 10, 0, 5), "positive size"),
        ((10, 10, -5, 5), "positive size"),
        ((float("nan"), 0, 5, 5), "positive size"),
        ((1, 2, 3), "positive size"),
        ("box", "x, y, width, height"),
        ((700, 10, 50, 50), "outside"),
    ],
)
def test_bad_regions_are_refused(two_frames, region, message):
    with pytest.raises(ValueError, match=message):
        PlaneTracker().start(two_frames[1], region)


def test_update_before_start_is_an_error(two_frames):
    with pytest.raises(RuntimeError, match="start"):
        PlaneTracker().update(two_frames[1])


def test_a_surface_without_texture_is_untrackable_and_never_shown():
    flat = np.full((480, 640), 128, np.uint8)
    tracker = PlaneTracker()
    tracker.start(flat, (100, 100, 50, 50))
    assert tracker.trackable is False
    assert tracker.update(flat) is None and tracker.reason == "untrackable"


def test_a_region_at_the_edge_of_the_frame_is_followed(two_frames):
    scene, first, later = two_frames
    tracker = PlaneTracker()
    tracker.start(first, (600, 440, 80, 80))  # partly outside: clipped
    h = tracker.update(later)
    assert h is not None
    corner = [(620.0, 460.0)]
    assert scenes.stroke_error(h, scene.truth(0, 3), corner) < 1.5


# -- accuracy --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("speed", [100, 200])
def test_stroke_error_p95_within_3_px_up_to_200_px_per_second_through_h264(speed):
    steps = track(moving(speed), "medium")
    errors = shown_errors(steps)
    assert len(errors) == len(steps), "the surface never left the picture: it must be shown every frame"
    assert np.percentile(errors, 95) <= GOAL_P95
    assert errors.max() <= NEVER_OFF


def test_faster_than_200_px_per_second_it_is_never_shown_off():
    steps = track(moving(400), "medium")
    errors = shown_errors(steps)
    assert len(errors) >= 0.8 * len(steps)
    assert errors.max() <= NEVER_OFF
    assert np.percentile(errors, 95) <= 2 * GOAL_P95


def test_clean_pictures_rgb_input():
    steps = track(moving(200, seconds=2.0), None, form="rgb")
    errors = shown_errors(steps)
    assert len(errors) == len(steps) and np.percentile(errors, 95) <= GOAL_P95


def test_low_quality_320x240_h264():
    steps = track(moving(150, seconds=3.0), "low")
    errors = shown_errors(steps) * 2  # in 640x480 pixels
    assert len(errors) >= 0.95 * len(steps)
    assert np.percentile(errors, 95) <= GOAL_P95 and errors.max() <= NEVER_OFF


def test_high_quality_1280x720_is_tracked_at_the_working_size():
    steps = track(moving(200, seconds=3.0), "high")
    errors = shown_errors(steps) / 2  # in 640x480 pixels
    assert len(errors) == len(steps)
    assert np.percentile(errors, 95) <= GOAL_P95


# -- loss and return -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def away_steps():
    return track(AWAY, "medium")


def test_a_surface_that_leaves_the_picture_is_hidden_within_one_frame(away_steps):
    events = losses(away_steps)
    assert events, "the scene must take the surface out of the picture"
    for first, lag in events:
        assert lag is not None and lag <= 1, f"still shown {lag} frames after the surface left at frame {first}"
    # and never shown while it is gone (beyond that one frame)
    gone = [s for s in away_steps if s.visible < GONE]
    assert sum(s.homography is not None for s in gone) <= len(events)


def test_a_lost_surface_is_never_shown_more_than_20_px_off(away_steps):
    assert shown_errors(away_steps).max() <= NEVER_OFF


def test_a_surface_that_comes_back_is_found_within_half_a_second(away_steps):
    events = returns(away_steps)
    assert events, "the scene must bring the surface back"
    for first, lag in events:
        assert lag is not None and lag <= FPS // 2, f"found {lag} frames after it came back at frame {first}"


def test_sliding_slowly_out_of_the_picture_and_back():
    steps = track(AWAY.with_(name="slide", away_ramp=1.2, away=(0.6, 1.8), seconds=5.0), "medium")
    assert shown_errors(steps).max() <= NEVER_OFF
    assert all(lag is not None and lag <= 1 for _, lag in losses(steps))
    assert all(lag is not None and lag <= FPS // 2 for _, lag in returns(steps))


# -- what passes in front, lighting ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hand_steps():
    return track(HAND, "medium")


def test_a_hand_passing_never_carries_the_drawing_away(hand_steps):
    # the hand crosses the drawing: a drawing that followed it would be tens of pixels off
    assert shown_errors(hand_steps).max() <= NEVER_OFF
    covered = [s for s in hand_steps if s.visible < 0.6 and s.error is not None]
    assert covered, "the drawing stays shown through part of the hand's passage"
    assert max(s.error for s in covered) <= GOAL_P95


def test_a_hand_passing_hides_the_drawing_only_briefly(hand_steps):
    assert longest_hidden(hand_steps) <= FPS // 2
    # and shown again, on the object, once the hand has gone
    after = [s for s in hand_steps if s.index > (HAND.hand[0] + 2 * HAND.hand[1]) * FPS]
    assert after and all(s.error is not None and s.error <= GOAL_P95 for s in after)


def test_a_lighting_change_is_followed():
    steps = track(LIGHTING, "medium")
    errors = shown_errors(steps)
    assert len(errors) == len(steps)
    assert np.percentile(errors, 95) <= GOAL_P95 and errors.max() <= NEVER_OFF


# -- freeze-frame and quality changes --------------------------------------------------------------------------
def test_a_drawing_made_on_a_frozen_picture_anchors_after_the_release():
    # drawn on frame 0, released 1.5 s later: the camera has moved on meanwhile
    scene = moving(200, seconds=3.0)
    steps = track(scene, "medium", skip_to=45)
    shown = [s for s in steps if s.error is not None]
    assert shown and shown[0].index <= 45 + FPS // 2
    assert max(s.error for s in shown) <= NEVER_OFF
    assert np.percentile([s.error for s in shown], 95) <= GOAL_P95


def test_a_quality_change_finds_the_surface_in_the_new_size():
    """Medium (640x480) then high (1280x720, 16:9: another crop of the sensor): found again, in place."""
    scene = moving(100, seconds=2.0)
    medium, high = scene.size_of("medium"), scene.size_of("high")
    tracker = PlaneTracker()
    frames = list(scene.decoded("medium", form="grey"))
    tracker.start(frames[0], scene.region)
    for f in frames[1:30]:
        assert tracker.update(f) is not None
    points = scene.stroke_points()
    found = None
    for i, f in enumerate(scene.decoded("high", form="grey")):
        if i < 30:
            continue
        h = tracker.update(f)
        if h is not None:
            found = found or i
            truth = scene.truth(0, i, high, start_size=medium)
            assert scenes.stroke_error(h, truth, points) <= 2 * GOAL_P95  # 1280-wide pixels
    assert found is not None and found - 30 <= FPS // 2


def test_a_smaller_frame_after_the_start_is_found_in_it():
    scene = moving(100, seconds=1.0)
    tracker = PlaneTracker()
    tracker.start(scene.render(0), scene.region)
    small = (320, 240)
    shown = []
    for i in range(1, 20):
        h = tracker.update(scene.render(i, small))
        if h is not None:
            shown.append(i)
            truth = scene.truth(0, i, small, start_size=REF_SIZE)
            assert scenes.stroke_error(h, truth, scene.stroke_points()) <= GOAL_P95 / 2
    assert shown and shown[0] <= FPS // 2
