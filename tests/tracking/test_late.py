"""The customer's side: FrameHistory and LateAnchor composing a late homography with its own flow."""

from __future__ import annotations

import numpy as np
import pytest
from anysupport_client.tracking import FrameHistory, LateAnchor, to_normalised

from tests.support.scenes import REF_SIZE, moving
from tests.support.tracking import compose_late, console_answers

GOAL_P95 = 5.0  # px at 640x480, with 200 ms of delay
DELAY = 6  # frames at 30 fps: 200 ms


# -- FrameHistory ------------------------------------------------------------------------------------------------
def test_history_keeps_about_a_second_of_small_grey_frames():
    history = FrameHistory(seconds=1.0, fps=30)
    frame = np.zeros((480, 640, 3), np.uint8)
    for n in range(40):
        item = history.push(1000 + n, frame)
    assert item.grey.shape == (120, 160) and item.grey.dtype == np.uint8
    assert len(history.frames) == 31
    assert history.find(1000 + 39) is history.newest
    assert history.find(1000 + 9) is not None and history.find(1000 + 8) is None  # gone
    assert history.find(5000) is None and history.find(1000 + 20).timestamp_us == 1020


def test_history_keeps_the_aspect_ratio_and_restarts_on_a_new_one():
    history = FrameHistory()
    history.push(1, np.zeros((480, 640), np.uint8))
    item = history.push(2, np.zeros((720, 1280), np.uint8))
    assert item.grey.shape == (90, 160) and len(history.frames) == 1


def test_history_refuses_timestamps_that_do_not_increase_and_bad_frames():
    history = FrameHistory()
    history.push(10, np.zeros((48, 64), np.uint8))
    with pytest.raises(ValueError, match="increase"):
        history.push(10, np.zeros((48, 64), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        history.push(11, np.zeros((48, 64), np.float64))


# -- LateAnchor --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def console_homographies():
    """What the console sends: its tracker's answers on the H.264 frames it decoded (medium)."""
    scene = moving(200)
    return scene, console_answers(scene)


def test_composed_overlay_within_5_px_p95_with_200_ms_of_delay(console_homographies):
    scene, console = console_homographies
    steps = compose_late(scene, console, delay_frames=DELAY)
    composed = np.array([s.error for s in steps if s.error is not None])
    late = np.array([s.late_error for s in steps if s.late_error is not None])
    assert len(composed) == len(steps), "the surface stays in view: the drawing is shown on every frame"
    assert np.percentile(composed, 95) <= GOAL_P95
    # the point of it: the late homography alone is far off at this speed
    assert np.median(late) > 3 * np.median(composed)


def test_a_lost_surface_on_the_console_hides_the_drawing(console_homographies):
    scene, console = console_homographies
    history = FrameHistory()
    anchor = LateAnchor(history, (0.4, 0.4, 0.2, 0.2))
    history.push(1, scene.render(0))
    anchor.receive(1, None)
    assert anchor.current() is None and anchor.reason == "lost_on_console"


def test_a_homography_for_a_frame_no_longer_held_hides_the_drawing(console_homographies):
    scene, console = console_homographies
    history = FrameHistory(seconds=0.1, fps=30)
    anchor = LateAnchor(history, (0.4, 0.4, 0.2, 0.2))
    for n in range(8):
        history.push(n + 1, scene.render(n))
    anchor.receive(1, to_normalised(console[0], REF_SIZE, REF_SIZE))
    assert anchor.current() is None and anchor.reason == "frame_not_held"


def test_the_base_frame_itself_gives_the_late_homography(console_homographies):
    scene, console = console_homographies
    history = FrameHistory()
    x, y, w, h = scene.region
    anchor = LateAnchor(history, (x / 640, y / 480, w / 640, h / 480))
    history.push(7, scene.render(3))
    late = to_normalised(console[3], REF_SIZE, REF_SIZE)
    anchor.receive(7, late)
    np.testing.assert_allclose(anchor.current(), late)


def test_a_flat_picture_cannot_be_followed_and_hides_the_drawing():
    history = FrameHistory()
    anchor = LateAnchor(history, (0.4, 0.4, 0.2, 0.2))
    flat = np.full((480, 640), 90, np.uint8)
    history.push(1, flat)
    anchor.receive(1, np.eye(3))
    history.push(2, flat)
    assert anchor.current() is None and anchor.reason == "few_points"


@pytest.mark.parametrize("bad", [np.eye(2), np.full((3, 3), np.inf), [[1, 2, 3]]])
def test_a_malformed_homography_is_refused(bad):
    history = FrameHistory()
    history.push(1, np.zeros((48, 64), np.uint8))
    with pytest.raises(ValueError, match="3x3"):
        LateAnchor(history).receive(1, bad)


@pytest.mark.parametrize("region", [(0, 0, 0, 1), (0, 0, 1), (np.nan, 0, 1, 1)])
def test_a_bad_region_is_refused(region):
    with pytest.raises(ValueError, match="positive size"):
        LateAnchor(FrameHistory(), region)
