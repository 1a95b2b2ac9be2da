"""Issue 20, the console's side: ``SessionAnchors`` on the media thread, with the real tracker on made scenes.

Each test feeds the scene's frames (through the project's H.264 where it matters) as the bridge does
(the Y plane of each decoded frame and its timestamp) and checks what the viewer would draw (the
``AnchoredScene``'s warped items) against the scene's truth, and the ``anchor`` messages sent.
"""

from __future__ import annotations

import time

import numpy as np
from anysupport_agent.anchoring import SessionAnchors, homography_message
from anysupport_client.media.annotation import AnnotationScene, warp_item
from anysupport_client.tracking import PlaneTracker

from tests.support.clock import ManualClock
from tests.support.scenes import AWAY, REF_SIZE, moving, project

FPS_US = 33_333


def arrow(scene, item_id="a1", size=REF_SIZE):
    """An arrow along the scene's stroke (from its first to its fourth point), normalised."""
    (x0, y0), (x1, y1) = scene.stroke[0], scene.stroke[3]
    return {"id": item_id, "shape": "arrow", "color": "#ff0000", "width": 4,
            "points": [[x0 / REF_SIZE[0], y0 / REF_SIZE[1]], [x1 / REF_SIZE[0], y1 / REF_SIZE[1]]]}


def added(anchors: SessionAnchors, item, frame) -> bool:
    anchors.scene.apply({"op": "add", "item": item})
    return anchors.drawn(item, frame)


def shown_points(anchors: SessionAnchors, item_id: str, size) -> np.ndarray | None:
    """Where the viewer draws item ``item_id`` now, in pixels of a frame of ``size``; None when hidden."""
    for item in anchors.shown.ordered():
        if item["id"] == item_id:
            return np.asarray(item["points"], np.float64) * size
    return None


def true_points(scene, item, start: int, i: int, size, start_size=REF_SIZE) -> np.ndarray:
    pts = np.asarray(item["points"], np.float64) * start_size
    return project(scene.truth(start, i, size, start_size), pts)


def clocked(scene) -> tuple[SessionAnchors, ManualClock]:
    clock = ManualClock()
    return SessionAnchors(AnnotationScene(), clock=clock.monotonic), clock


def test_an_arrow_follows_its_surface_through_h264_and_anchor_messages_go_out_at_15_hz():
    scene = moving(150, seconds=2.0)
    anchors, clock = clocked(scene)
    frames = list(scene.decoded("medium", form="grey"))
    item = arrow(scene)
    assert added(anchors, item, frames[0])
    assert anchors.active
    messages, errors = [], []
    for i in range(1, len(frames)):
        clock.advance(1 / 30)
        message = anchors.frame(frames[i], 1_000_000 + i * FPS_US)
        if message is not None:
            messages.append(message)
        got = shown_points(anchors, "a1", REF_SIZE)
        assert got is not None, f"hidden at frame {i}"
        errors.append(np.max(np.linalg.norm(got - true_points(scene, item, 0, i, REF_SIZE), axis=1)))
    assert np.percentile(errors, 95) < 3.0 and max(errors) < 5.0, (np.percentile(errors, 95), max(errors))
    # every second frame at 30 fps: 15 Hz; the message is the protocol's
    assert len(messages) >= (len(frames) - 1) // 2
    last = messages[-1]
    assert set(last) == {"type", "timestamp_us", "anchors"} and last["type"] == "anchor"
    assert last["timestamp_us"] % FPS_US == 1_000_000 % FPS_US
    h = np.asarray(last["anchors"]["a1"]).reshape(3, 3)
    assert h[2, 2] == 1.0
    # what is sent maps the drawing as it is drawn
    warped = np.asarray(warp_item(item, h)["points"]) * REF_SIZE
    i = (last["timestamp_us"] - 1_000_000) // FPS_US
    assert np.max(np.linalg.norm(warped - true_points(scene, item, 0, i, REF_SIZE), axis=1)) < 3.0
    print(f"console tracking cost, one drawing at 640x480: median {anchors.cost_ms():.2f} ms a frame")


def test_when_frames_arrive_late_only_every_third_is_tracked():
    scene = moving(100, seconds=1.0)
    anchors, clock = clocked(scene)
    assert added(anchors, arrow(scene), scene.render(0))
    now = 10_000_000
    for i in range(1, 6):  # on time: 40 ms after capture
        clock.advance(1 / 30)
        anchors.frame(scene.render(i), now + i * FPS_US - 40_000, now_us=now + i * FPS_US)
    assert anchors.frames_skipped == 0
    tracked = len(anchors.costs)
    for i in range(6, 15):  # the media thread falls behind: 400 ms after capture
        clock.advance(1 / 30)
        anchors.frame(scene.render(i), now + i * FPS_US - 400_000, now_us=now + i * FPS_US)
    assert anchors.frames_skipped == 6 and len(anchors.costs) == tracked + 3
    assert not anchors.tracked or len(anchors.costs) == tracked + 3  # the viewer skips the untracked ones


def test_at_15_fps_every_frame_sends():
    scene = moving(100, seconds=1.0)
    anchors, clock = clocked(scene)
    assert added(anchors, arrow(scene), scene.render(0))
    sent = 0
    for i in range(1, 8):
        clock.advance(1 / 15)
        sent += anchors.frame(scene.render(i), i * 66_667) is not None
    assert sent == 7


def test_remove_undo_and_clear_forget_their_anchors():
    scene = moving(100, seconds=1.0)
    anchors, _ = clocked(scene)
    first = scene.render(0)
    assert added(anchors, arrow(scene, "a1"), first) and added(anchors, arrow(scene, "a2"), first)
    anchors.frame(scene.render(1), 1)
    anchors.scene.apply({"op": "remove", "id": "a1"})
    anchors.annotated("remove", ["a1"])
    assert set(anchors.anchors.trackers) == {"a2"} and set(anchors.shown.homographies) == {"a2"}
    message = anchors.frame(scene.render(2), 2) or anchors.frame(scene.render(3), 3)
    assert set(message["anchors"]) == {"a2"}
    anchors.scene.apply({"op": "clear"})
    anchors.annotated("clear", ["a2"])
    assert not anchors.active and anchors.frame(scene.render(4), 4) is None
    assert anchors.shown.ordered() == []


def test_at_most_max_anchored_drawings_are_followed_at_once():
    from anysupport_agent.anchoring import MAX_ANCHORED

    scene = moving(100, seconds=1.0)
    anchors, _ = clocked(scene)
    first = scene.render(0)
    results = [added(anchors, arrow(scene, f"a{n}"), first) for n in range(MAX_ANCHORED + 1)]
    assert results == [True] * MAX_ANCHORED + [False]
    assert f"a{MAX_ANCHORED}" in {i["id"] for i in anchors.shown.ordered()}  # shown where drawn


def test_a_drawing_whose_surface_is_never_found_again_goes_back_to_where_it_was_drawn():
    """Diagonal stripes scrolling along themselves (the console's test pattern): corners to start from,
    nothing rigid to follow."""
    from anysupport_agent.anchoring import CONFIRM_FRAMES
    from anysupport_client.media.sources import TestPatternTrack

    pattern = TestPatternTrack()
    frames = [pattern.render(i * 3000).to_ndarray(format="rgb24") for i in range(CONFIRM_FRAMES + 3)]
    anchors = SessionAnchors(AnnotationScene())
    item = {"id": "a1", "shape": "arrow", "color": "#ff0000", "width": 4, "points": [[0.4, 0.45], [0.55, 0.6]]}
    assert added(anchors, item, frames[0])
    sent = []
    for i, frame in enumerate(frames[1:], 1):
        sent.append(anchors.frame(frame, i))
        if i < CONFIRM_FRAMES:
            assert shown_points(anchors, "a1", REF_SIZE) is None  # hidden while it is looked for
    assert not anchors.active and anchors.shown.ordered() == [item]  # where it was drawn
    assert all(m is None or m["anchors"] in ({"a1": None}, {}) for m in sent)  # then no longer listed


def test_a_drawing_on_a_flat_picture_stays_where_it_was_drawn():
    anchors = SessionAnchors(AnnotationScene())
    flat = np.full((480, 640), 128, np.uint8)
    item = {"id": "t1", "shape": "text", "color": "#ff0000", "text": "여기", "size": 24, "points": [[0.5, 0.5]]}
    assert not added(anchors, item, flat)
    assert not anchors.active and anchors.shown.ordered() == [item]


def test_when_the_camera_looks_away_the_drawing_is_hidden_and_found_again():
    scene = AWAY
    anchors, clock = clocked(scene)
    item = arrow(scene)
    frames = list(scene.decoded("medium", form="grey"))
    assert added(anchors, item, frames[0])
    shown_far_off, hidden_while_away, found_after = [], 0, None
    t0, dur = scene.away
    for i in range(1, len(frames)):
        clock.advance(1 / 30)
        anchors.frame(frames[i], i)
        got = shown_points(anchors, "a1", REF_SIZE)
        visible = scene.visible_fraction(i)
        if got is None:
            hidden_while_away += visible < 0.3
            continue
        error = np.max(np.linalg.norm(got - true_points(scene, item, 0, i, REF_SIZE), axis=1))
        shown_far_off.append(error)
        if i / 30 > t0 + dur + scene.away_ramp and found_after is None:
            found_after = i / 30 - (t0 + dur + scene.away_ramp)
    assert hidden_while_away > 20  # hidden while the surface was out of the picture
    assert max(shown_far_off) < 20  # never shown in a wrong place
    assert found_after is not None and found_after < 0.5


def test_a_camera_switch_hides_anchored_drawings_and_tells_the_customer():
    scene = moving(100, seconds=1.0)
    anchors, _ = clocked(scene)
    assert anchors.camera_state({"facing": "back"}) is None
    still = {"id": "s1", "shape": "line", "color": "#00ff00", "width": 2, "points": [[0.1, 0.1], [0.2, 0.2]]}
    anchors.scene.apply({"op": "add", "item": still})  # drawn before anchoring: stays
    assert added(anchors, arrow(scene), scene.render(0))
    anchors.frame(scene.render(1), 1)
    assert anchors.camera_state({"facing": "back", "flash": True}) is None  # the same camera
    message = anchors.camera_state({"facing": "front"}, 12345)
    assert message == {"type": "anchor", "timestamp_us": 12345, "anchors": {"a1": None}}
    assert not anchors.active
    assert [i["id"] for i in anchors.shown.ordered()] == ["s1"]  # the anchored one hidden, the other stays
    # a drawing made on a frozen picture, not anchored yet, stays where it was drawn through a switch
    anchors.freeze(scene.render(2))
    pending = {**still, "id": "p1"}
    assert not added(anchors, pending, scene.render(3))
    message = anchors.camera_state({"facing": "back"}, 1)
    assert "p1" not in message["anchors"]  # (the hidden one is said null again)
    assert anchors.release() == [] and [i["id"] for i in anchors.shown.ordered()] == ["s1", "p1"]


def test_freeze_frame_anchors_the_drawings_made_on_it_when_released():
    scene = moving(150, seconds=2.0)
    anchors, clock = clocked(scene)
    frames = list(scene.decoded("medium", form="grey"))
    anchors.freeze(frames[0])
    item = arrow(scene)
    for i in range(1, 20):  # the agent draws calmly while the customer's camera moves on
        clock.advance(1 / 30)
        assert anchors.frame(frames[i], i) is None
        if i == 10:
            assert not added(anchors, item, frames[i])  # waits for the release
    assert shown_points(anchors, "a1", REF_SIZE) is not None
    assert anchors.release() == ["a1"]
    for i in range(20, 50):
        clock.advance(1 / 30)
        anchors.frame(frames[i], i)
    got = shown_points(anchors, "a1", REF_SIZE)
    assert got is not None
    # anchored to the frozen frame (0), not to the frame shown when it was drawn or released
    assert np.max(np.linalg.norm(got - true_points(scene, item, 0, 49, REF_SIZE), axis=1)) < 3.0


def test_while_frozen_the_viewer_keeps_the_frozen_frames_positions_and_the_customer_gets_live_ones():
    scene = moving(150, seconds=1.0)
    anchors, clock = clocked(scene)
    assert added(anchors, arrow(scene), scene.render(0))
    for i in range(1, 5):
        clock.advance(1 / 30)
        anchors.frame(scene.render(i), i)
    at_freeze = anchors.shown.homographies["a1"].copy()
    anchors.freeze(scene.render(4))
    sent = None
    for i in range(5, 15):
        clock.advance(1 / 30)
        sent = anchors.frame(scene.render(i), i) or sent
    assert np.array_equal(anchors.shown.homographies["a1"], at_freeze)
    assert not np.allclose(np.asarray(sent["anchors"]["a1"]).reshape(3, 3), at_freeze, atol=1e-3)


def test_a_quality_change_keeps_the_drawing_on_the_scene():
    """640x480 → 1280x720 (the high level also crops the 4:3 sensor to 16:9): the points still land on the object."""
    scene = moving(120, seconds=2.0)
    anchors, clock = clocked(scene)
    medium = list(scene.decoded("medium", form="grey"))
    high = list(scene.decoded("high", form="grey"))
    item = arrow(scene)
    assert added(anchors, item, medium[0])
    errors = []
    for i in range(1, 60):
        clock.advance(1 / 30)
        frame, size = (medium[i], (640, 480)) if i < 30 else (high[i], (1280, 720))
        anchors.frame(frame, i)
        got = shown_points(anchors, "a1", size)
        if got is not None and i >= 30:
            errors.append(np.max(np.linalg.norm(got - true_points(scene, item, 0, i, size), axis=1)))
    assert len(errors) >= 25  # found again at once (at most a few frames hidden)
    assert max(errors) < 6.0, max(errors)  # pixels of the 1280x720 frame: 3 at 640


def test_homography_message_is_nine_numbers_with_h22_one():
    h = np.array([[1.02, 0.013, -0.021], [-0.009, 1.01, 0.017], [0.0004, -0.0002, 1.0]])
    assert homography_message(h) == [1.02, 0.013, -0.021, -0.009, 1.01, 0.017, 0.0004, -0.0002, 1.0]
    assert homography_message(None) is None


def test_warp_item_maps_each_shape():
    shift = np.array([[1, 0, 0.1], [0, 1, 0.05], [0, 0, 1]], np.float64)
    rect = {"id": "r", "shape": "rect", "color": "#fff", "points": [[0.1, 0.1], [0.3, 0.2]]}
    out = warp_item(rect, shift)
    assert out["shape"] == "stroke" and np.allclose(out["points"][0], [0.2, 0.15])
    assert len(out["points"]) == 5 and np.allclose(out["points"][2], [0.4, 0.25])
    ellipse = warp_item({**rect, "shape": "ellipse"}, shift)
    assert ellipse["shape"] == "stroke" and len(ellipse["points"]) == 49
    text = warp_item({"id": "t", "shape": "text", "color": "#fff", "text": "a", "points": [[0.5, 0.5]]}, shift)
    assert text["shape"] == "text" and np.allclose(text["points"], [[0.6, 0.55]])
    behind = np.array([[1, 0, 0], [0, 1, 0], [-4, 0, 1]], np.float64)
    assert warp_item(rect, behind) is None


def test_the_tracking_cost_beside_a_bare_opencv_pass():
    """The console's added cost per frame (one drawing), next to a plain LK pass on the same frames."""
    import cv2

    scene = moving(200, seconds=2.0)
    frames = list(scene.decoded("medium", form="grey"))
    anchors = SessionAnchors(AnnotationScene(), anchors=None)
    assert added(anchors, arrow(scene), frames[0])
    corners = cv2.goodFeaturesToTrack(frames[0], 100, 0.01, 8)
    ours, bare = [], []
    for i in range(1, len(frames)):
        anchors.frame(frames[i], i)
        ours.append(anchors.costs[-1])
        start = time.perf_counter()
        cv2.calcOpticalFlowPyrLK(frames[i - 1], frames[i], corners, None, winSize=(21, 21), maxLevel=3)
        bare.append((time.perf_counter() - start) * 1000)
    # a figure beside its baseline, not an assert (a CI run at load 8 gave 10.8 ms against 1.7 ms): the ratio's
    # goal is measured by benchmarks/test_bench_tracking.py; here every frame must have been tracked and timed
    print(f"tracking {np.median(ours):.2f} ms, bare LK {np.median(bare):.2f} ms a frame (medians)")
    assert len(ours) == len(frames) - 1 and all(cost > 0 for cost in ours)
    assert isinstance(anchors.anchors.trackers["a1"], PlaneTracker)
