"""Issue 20 end to end: the agent's drawing stays on the object on both sides, on the real server.

The Python customer client films a made scene (a textured board, the camera moving at up to 120-150
px/s; ``tests/support/scenes.py``) from a Y4M file, as ``--source file:PATH`` does; a real console
(offscreen) draws on the moving picture. After the motion, where each side draws the drawing (the
console's homography for the frame it decoded, the customer's composed one for its newest sent frame)
is compared with the scene's truth for those frames. Also: the surface leaving the picture hides the
drawing on both sides and it comes back; freeze-frame; a quality change keeps it in place; a camera
switch hides it. Screenshots of both sides at the start and after the motion (``test-artifacts/``).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from anysupport_qt import Qt

from tests.support.scene_customer import SceneCustomer
from tests.support.scenes import REF_SIZE, Scene, project

from .conftest import ARTIFACTS, log_in, screenshot
from .test_console_session import connect_by_hand, new_session
from .test_video_view import at, drag

pytestmark = pytest.mark.slow

# 15 frames a second: half the work of 30 for both sides on the shared test machine (the motion per second,
# what the tracker must follow, is the same; per frame it is twice as large)
MOVING = Scene(name="e2e-moving", seconds=16.0, fps=15, speed=120.0)
F = MOVING.fps
AWAY = Scene(name="e2e-away", seconds=16.0, fps=15, speed=60.0, away=(6.0, 2.5))  # off at 6 s, back at 8.85 s
CLOSE_PX = 4.0  # "within a few px" of the truth, at 640x480


@pytest.fixture
def scene_call(qtbot, console_factory, new_agent, server, helper_loop):
    """start(scene, two_cameras=False) → (viewer, customer, console anchors of the call)."""
    made: list[SceneCustomer] = []

    def start(scene: Scene, *, two_cameras: bool = False):
        login, password = new_agent()
        app = console_factory()
        main = log_in(qtbot, app, login, password)
        session = new_session(qtbot, main)
        customer = SceneCustomer(helper_loop, server.url, scene, two_cameras=two_cameras)
        made.append(customer)
        viewer = connect_by_hand(qtbot, main, session, customer)
        viewer.resize(1000, 640)  # (a smaller picture to paint: the shared test machine is slow)
        qtbot.waitUntil(lambda: viewer.isVisible() and viewer.view.rendered is not None
                        and viewer.view.rendered.frame_size == (640, 480), timeout=20000)
        console_session = viewer.bridge.client.live_sessions[session["id"]]
        stamps: dict[int, int] = {}  # the console's frame pts → the frame's timestamp_us
        # first, before the console's own listener hands the frame to the viewer
        def stamp(frame, record) -> None:
            stamps[frame.pts] = stamps["latest"] = record.timestamp_us

        console_session.frame_listeners.insert(0, stamp)
        tracked: list[tuple[int, dict]] = []  # (scene frame, the console's homographies for it), as decoded

        def answered(frame, record) -> None:  # after the viewer's media path has tracked the frame
            anchors = viewer.bridge.anchoring.get(console_session.id)
            last = anchors.last if anchors is not None else None
            if last is not None and last[0] == record.timestamp_us and last[0] in customer.index_of:
                tracked.append((customer.index_of[last[0]], dict(last[1])))

        console_session.frame_listeners.append(answered)
        customer.rewind()  # the scene from its start now that the call shows it
        call = Call(qtbot, viewer, customer, console_session, stamps)
        call.tracked = tracked
        return call

    yield start
    for customer in made:
        customer.close()


class Call:
    def __init__(self, qtbot, viewer, customer: SceneCustomer, console_session, stamps):
        self.qtbot, self.viewer, self.customer, self.console_session, self.stamps = qtbot, viewer, customer, \
            console_session, stamps
        self.scene = customer.scene
        self.drawn: list[tuple[dict, int]] = []  # (item, scene index of the frame it was drawn on)
        viewer.view.item_drawn.connect(self._drawn)

    def _drawn(self, item) -> None:
        # the viewer anchors the drawing to the frame shown when it is drawn (connected before us)
        self.drawn.append((item, self.index_of_shown()))

    def index_of_shown(self) -> int:
        return self.customer.index_of[self.stamps[self.viewer.view.rendered.frame.pts]]

    @property
    def anchors(self):
        return self.viewer.bridge.anchoring[self.console_session.id]

    def console_index(self) -> int | None:
        """The scene frame the console decoded last (it may be behind the customer on a busy machine)."""
        return self.customer.index_of.get(self.stamps.get("latest"))

    def wait_index(self, lo: int, hi: int, timeout: int = 15000) -> int:
        """Wait until the console decodes scene frame ``lo`` … ``hi`` (of the file's first pass) and the
        viewer shows a frame whose timestamp is known."""
        hi = min(hi, self.scene.frames - 1)

        trail = []

        def there() -> bool:
            index = self.console_index()
            trail.append((index, self.customer.last_index, self.stamps.get("latest")))
            return index is not None and lo <= index <= hi and self.viewer.view.rendered.frame.pts in self.stamps

        try:
            self.qtbot.waitUntil(there, timeout=timeout)
        except Exception:
            raise AssertionError(f"the console never decoded scene frames {lo}…{hi} (last {self.console_index()}, "
                                 f"the customer at {self.customer.last_index}; {trail[::max(1, len(trail) // 12)]})") \
                from None
        return self.console_index()

    def draw(self, shape: str, start: tuple[float, float], end: tuple[float, float]) -> tuple[dict, int]:
        """Draw ``shape`` from frame point ``start`` to ``end`` (fractions), as the agent does with the mouse."""
        view = self.viewer.view
        self.viewer.drawing_bar.shape_buttons[shape].click()
        before = len(self.drawn)
        self.qtbot.mousePress(view, Qt.LeftButton, pos=at(view, *start))
        drag(view, at(view, (start[0] + end[0]) / 2, (start[1] + end[1]) / 2))
        self.qtbot.mouseRelease(view, Qt.LeftButton, pos=at(view, *end))
        self.viewer.drawing_bar.stop_drawing()
        assert len(self.drawn) == before + 1
        return self.drawn[-1]

    def object_points(self, index: int) -> tuple[tuple[float, float], tuple[float, float]]:
        """The scene's stroke (a trace on the board, frame 0) as it lies in frame ``index``, normalised."""
        pts = project(self.scene.truth(0, index), [self.scene.stroke[0], self.scene.stroke[3]]) / REF_SIZE
        return tuple(pts[0]), tuple(pts[1])

    # -- where each side has the drawing --------------------------------------------------------------
    def errors(self, item: dict, start: int, size=REF_SIZE, start_size=REF_SIZE) -> dict[str, float | None]:
        """{"console": px, "customer": px} from the truth of each side's latest frame; None: hidden."""
        out = {}
        pts = np.asarray(item["points"], np.float64)
        for side, last in (("console", self.anchors.last), ("customer", self.customer.session.anchors.last)):
            if last is None or last[0] not in self.customer.index_of:
                out[side] = float("nan")
                continue
            timestamp_us, homographies = last
            h = homographies.get(item["id"])
            if h is None:
                out[side] = None
                continue
            index = self.customer.index_of[timestamp_us]
            got = project(np.asarray(h), pts) * size
            truth = project(self.scene.truth(start, index, size, start_size), pts * start_size)
            out[side] = float(np.max(np.linalg.norm(got - truth, axis=1)))
        return out

    def wait_close(self, item, start, *, size=REF_SIZE, limit=CLOSE_PX, timeout=10000) -> dict[str, float]:
        """Wait until both sides show ``item`` within ``limit`` px of the truth (two looks running)."""
        seen: list = []

        def good(e) -> bool:
            return all(v is not None and v == v and v <= limit for v in e.values())

        def close() -> bool:
            seen.append(self.errors(item, start, size=size))
            return len(seen) >= 2 and good(seen[-1]) and good(seen[-2])

        try:
            self.qtbot.waitUntil(close, timeout=timeout)
        except Exception:
            raise AssertionError(f"not within {limit} px on both sides after {len(seen)} looks: last errors "
                                 f"{seen[-5:]}") from None
        return seen[-1]

    def wait_hidden(self, item, timeout=10000) -> None:
        self.qtbot.waitUntil(lambda: all(v is None for v in self.errors(item, 0).values()), timeout=timeout)

    def customer_picture(self, name: str):
        rgb = self.customer.loop.run(self._preview())
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"agent-{name}.png"
        assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        return path

    async def _preview(self):
        return self.customer.session.preview_rgb()


def red(rgb) -> bool:
    """The drawing (pure red, #ff0000) is in this picture."""
    return rgb is not None and int(((rgb[..., 0] > 220) & (rgb[..., 1] < 40) & (rgb[..., 2] < 40)).sum()) > 50


def test_an_arrow_drawn_on_the_moving_object_stays_on_it_on_both_sides(scene_call):
    call = scene_call(MOVING)
    viewer = call.viewer
    # the arrow on the board's trace, where it is in the frame on screen
    call.wait_index(F, 3 * F)
    item, start = call.draw("arrow", *call.object_points(call.index_of_shown()))
    call.qtbot.waitUntil(lambda: item["id"] in call.anchors.anchors.trackers, timeout=5000)  # on the media thread
    call.qtbot.waitUntil(lambda: red(call.viewer.view.rendered.image), timeout=5000)  # the arrow on screen
    screenshot(viewer, "anchor-start-ko")
    call.qtbot.waitUntil(lambda: (call.customer.session.anchors.last or (0, {}))[1].get(item["id"]) is not None
                         and red(call.customer.loop.run(call._preview())), timeout=15000)  # anchored there too (the first
                         # anchor is sealed, composed late on the customer's frames: seconds on a loaded CI machine)
    call.customer_picture("anchor-start-customer")
    call.wait_index(start + 3 * F // 2, MOVING.frames - 1)  # 1.5 s or more of the camera moving
    moved = call.errors(item, start)
    errors = call.wait_close(item, start)
    screenshot(viewer, "anchor-after-motion-ko")
    call.customer_picture("anchor-after-motion-customer")
    drawn = np.asarray(item["points"]) * REF_SIZE
    truth_moved = max(np.max(np.linalg.norm(project(call.scene.truth(start, i), drawn) - drawn, axis=1))
                      for i in range(start, call.console_index() + 1))
    assert truth_moved > 5 * CLOSE_PX  # the object moved: a drawing left where it was drawn would have been off
    print(f"after the motion ({truth_moved:.0f} px): console {errors['console']:.2f} px, customer "
          f"{errors['customer']:.2f} px (first look {moved})")
    print(f"console tracking cost: median {call.anchors.cost_ms():.2f} ms a frame")



def test_freeze_frame_the_agent_draws_on_a_still_picture_and_on_release_it_follows_the_object(scene_call):
    call = scene_call(MOVING)
    viewer = call.viewer
    call.wait_index(F, MOVING.frames - 6 * F)
    viewer.view_bar.freeze_button.click()
    assert viewer.view_bar.freeze_button.isChecked()
    frozen = call.index_of_shown()
    # (a frame already on its way to the screen may show first; then the frozen one, and it stays)
    call.qtbot.waitUntil(lambda: call.index_of_shown() == frozen, timeout=5000)
    call.wait_index(frozen + F // 2, MOVING.frames - 1)
    assert call.index_of_shown() == frozen
    rect, on = call.draw("rect", *call.object_points(frozen))
    assert on == frozen and rect["id"] not in call.anchors.anchors.trackers  # waits for the release
    screenshot(viewer, "anchor-frozen-ko")
    call.wait_index(frozen + F, MOVING.frames - 1)
    call.qtbot.keyClick(viewer, Qt.Key_F, Qt.ControlModifier | Qt.ShiftModifier)  # the shortcut releases it
    assert not viewer.view_bar.freeze_button.isChecked()
    call.qtbot.waitUntil(lambda: rect["id"] in call.anchors.anchors.trackers, timeout=5000)
    call.wait_index(frozen + 3 * F, MOVING.frames - 1)
    errors = call.wait_close(rect, frozen)
    screenshot(viewer, "anchor-after-freeze-ko")
    print(f"freeze-frame rectangle: console {errors['console']:.2f} px, customer {errors['customer']:.2f} px")


def test_a_quality_change_keeps_the_drawing_in_place_and_a_camera_switch_hides_it(scene_call):
    call = scene_call(MOVING, two_cameras=True)
    viewer = call.viewer
    call.wait_index(F, 3 * F)
    item, start = call.draw("arrow", *call.object_points(call.index_of_shown()))
    call.wait_index(start + F, MOVING.frames - 1)
    call.wait_close(item, start)
    viewer.camera_bar.quality.emit("high")  # 고화질: 1280x720, the 4:3 picture cropped to 16:9
    call.qtbot.waitUntil(lambda: viewer.view.rendered.frame_size == (1280, 720), timeout=10000)
    errors = call.wait_close(item, start, size=(1280, 720), limit=2 * CLOSE_PX)
    screenshot(viewer, "anchor-high-quality-ko")
    call.customer_picture("anchor-high-quality-customer")
    print(f"after 640x480 → 1280x720: console {errors['console']:.2f} px, customer {errors['customer']:.2f} px "
          "(of 1280x720)")
    # the customer turns to the other camera: the drawing is hidden on both sides
    viewer.camera_bar.switch_button.click()
    call.qtbot.waitUntil(lambda: not call.anchors.active, timeout=10000)
    call.qtbot.waitUntil(lambda: item["id"] not in {i["id"] for i in call.anchors.shown.ordered()}, timeout=5000)
    call.qtbot.waitUntil(lambda: item["id"] not in {
        i["id"] for i in call.customer.session.anchors.shown.ordered()}, timeout=5000)
    screenshot(viewer, "anchor-camera-switched-ko")


def test_when_the_camera_looks_away_the_drawing_hides_on_both_sides_and_comes_back(scene_call):
    call = scene_call(AWAY)
    fps = AWAY.fps
    t0, dur = AWAY.away
    ramp = AWAY.away_ramp
    tries = 0
    while tries < 3:  # a busy machine may hold the GUI until the glance away: then again from the start
        tries += 1
        call.wait_index(F // 2, 2 * F)
        item, start = call.draw("arrow", *call.object_points(call.index_of_shown()))
        if start < 3 * F:
            break
        call.viewer.drawing_bar.clear.emit()
        call.customer.rewind()
        call.tracked.clear()
        call.customer.shown.clear()
    assert start < 3 * F, f"the console could not draw before the glance away in {tries} tries"
    away = range(int((t0 + ramp + 0.2) * fps), int((t0 + dur) * fps))  # the surface out of the picture
    back = int((t0 + dur + ramp) * fps)
    # what each side did, frame by frame, recorded where it happens (the media threads), not by the GUI
    call.wait_index(back + fps, AWAY.frames - 1, timeout=int(AWAY.seconds * 1000))
    pts = np.asarray(item["points"], np.float64)

    def error(index: int, homographies: dict) -> float | None:
        h = homographies.get(item["id"])
        if h is None:
            return None
        truth = project(AWAY.truth(start, index), pts * REF_SIZE)
        return float(np.max(np.linalg.norm(project(np.asarray(h), pts) * REF_SIZE - truth, axis=1)))

    for side, log in (("console", call.tracked), ("customer", call.customer.shown)):
        errors = [(i, error(i, hs)) for i, hs in log if i >= start and item["id"] in hs]
        before = [e for i, e in errors if i < t0 * fps and e is not None]
        while_away = [e for i, e in errors if i in away]
        after = [e for i, e in errors if i >= back + fps // 2]
        shown = [e for i, e in errors if e is not None]
        assert before and max(before) <= CLOSE_PX, (side, start, errors[:30])
        assert while_away and all(e is None for e in while_away), (side, while_away)  # hidden, not drawn elsewhere
        assert after and all(e is not None and e <= CLOSE_PX for e in after[-5:]), (side, after)  # found again
        assert max(shown) < 20, (side, max(shown))
        found = next(i for i, e in errors if i >= back and e is not None)
        print(f"{side}: on the object before ({max(before):.2f} px), hidden for all {len(while_away)} frames away, "
              f"found {(found - back) / fps:.2f} s after the surface was back, largest error shown {max(shown):.2f} px")
    screenshot(call.viewer, "anchor-back-after-away-ko")
