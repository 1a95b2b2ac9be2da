"""Anchored drawings on the customer page, end to end (issue 20): Chromium's fake camera plays a Y4M of
a textured plane filmed by a moving camera (``tests/support/scenes.py``, each frame's scene index
stamped, ``media/stamp.py``, in the band that both the 4:3 and the 16:9 crop of the sensor keep); the agent (``AgentPeer``) decodes the page's video,
follows the drawing's surface with the Python ``PlaneTracker`` on the frames it decodes and sends an
``annotation`` and then ``anchor`` messages for each frame's ``timestamp_us``; the page composes them
with its own frames in its Worker and draws the drawing through the result. The drawn position must
follow the scene's truth; a camera switch hides the drawing."""

from __future__ import annotations

import collections
import contextlib
import time
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from anysupport_client.media.stamp import read_stamp
from anysupport_client.tracking import PlaneTracker, to_normalised
from anysupport_native import convert
from playwright.async_api import async_playwright

from tests.support.agent import AgentPeer
from tests.support.browser import CHROMIUM, PHONE, CustomerPage, chromium_args
from tests.support.client import admin_api, create_agent
from tests.support.page_scene import GOAL_P95, SCENE, answer_errors, stamp_band, write_stamped_y4m
from tests.support.scenes import REF_SIZE, project

# alone: the drawn stroke is compared with the truth frame by frame while a browser encodes, a tracker runs
# in a Worker and the agent decodes and tracks; with another worker loading the CPU the agent decodes half
# the frames and the answers lose their frames (a clean CI run once: p95 5.14 px, 16 % hidden)
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.alone, pytest.mark.asyncio(loop_scope="module")]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HIGH = (1280, 720)  # the high level: a 16:9 crop of the 4:3 sensor


def wide(size: tuple[int, int]) -> bool:
    """A 16:9 picture: the high level (1280x720, or a step of its ladder on a loaded machine)."""
    return size[0] * 9 == size[1] * 16


def four_by_three(size: tuple[int, int]) -> bool:
    return size[0] * 3 == size[1] * 4


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def moving_camera(tmp_path_factory):
    """A Chromium whose camera films the moving plane."""
    y4m = write_stamped_y4m(SCENE, tmp_path_factory.mktemp("camera") / "plane.y4m")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=chromium_args(y4m))
        try:
            yield chromium
        finally:
            await chromium.close()


class TrackingAgent:
    """The console's part, scripted: the PlaneTracker on the decoded frames, an anchor message per frame."""

    def __init__(self, peer: AgentPeer):
        self.peer = peer
        self.tracker = PlaneTracker()
        self.start: int | None = None  # the scene index of the frame the drawing was made on
        self.index: dict[int, int] = {}  # timestamp_us → scene index of each decoded frame
        self.sizes: dict[int, tuple[int, int]] = {}  # timestamp_us → size of each decoded frame
        self.start_size: tuple[int, int] | None = None
        self.anchoring = False
        self.sent = 0
        self.lost = 0
        self.item = None
        self.also: str | None = None  # another drawing id the anchor messages name with the same homography

    def draw_on_next_frame(self) -> None:
        self.anchoring = True

    def stop(self) -> None:
        self.anchoring = False

    def on_frame(self, frame, record) -> None:
        if record.timestamp_us is None:
            return
        y = np.ascontiguousarray(convert.planes_of(frame).y)
        stamp = read_stamp(stamp_band(y))
        if stamp is None:
            return
        size = (frame.width, frame.height)
        self.index[record.timestamp_us] = stamp[0]
        self.sizes[record.timestamp_us] = size
        if not self.anchoring:
            return
        if self.start is None:
            self.tracker.start(y, SCENE.region)
            self.start = stamp[0]
            self.start_size = size
            points = [[x / size[0], y_ / size[1]] for x, y_ in SCENE.stroke]
            self.item = {"id": "d1", "shape": "stroke", "color": "#ff2020", "width": 5, "points": points}
            self.peer.annotate("add", self.item)
            return
        h = self.tracker.update(y)
        self.lost += h is None
        value = None if h is None else to_normalised(h, self.start_size, size).ravel().tolist()
        anchors = {"d1": value} if self.also is None else {"d1": value, self.also: value}
        self.peer.send({"type": "anchor", "timestamp_us": record.timestamp_us, "anchors": anchors})
        self.sent += 1


async def new_peer(server_url: str) -> AgentPeer:
    """A fresh agent that sees the customer's picture as sent (no drawings composited into it)."""
    login = f"anc{int(time.time() * 1000) % 10_000_000}"
    await create_agent(await admin_api(server_url), login, name=f"상담원 {login}")
    peer = AgentPeer(server_url, login=login, password="pw-" + login, composite=False, read_stamps=False)
    await peer.start()
    await peer.create_session()
    return peer


def page_errors(answers, agent, keep=None):
    """Stroke error (px of the sent picture) of each page answer for a frame the agent decoded (whose
    size ``keep`` accepts, when given); None when hidden."""
    return answer_errors(answers, agent.index, agent.sizes, agent.start, agent.start_size, "d1",
                         SCENE.stroke_points(), keep=keep, report_over=GOAL_P95)


@contextlib.asynccontextmanager
async def moving_call(server, moving_camera, agents):
    """A Korean phone page filming the stamped moving scene, in a call with a tracking agent whose keys
    are agreed and who has decoded 15 frames: (customer page, agent peer, TrackingAgent)."""
    context = await moving_camera.new_context(locale="ko-KR", **PHONE)
    context.set_default_timeout(15_000)
    customer = CustomerPage(await context.new_page())
    try:
        peer = agents.keep(await new_peer(server.url))
        agent = TrackingAgent(peer)
        await customer.join(server.url, peer.session["code"])
        await peer.accept(timeout=15)
        await peer.wait_for_keys(15)
        peer.frame_listeners.append(agent.on_frame)
        await peer.wait_frames(15, timeout=15)
        yield customer, peer, agent
    finally:
        await context.close()


async def test_the_drawing_follows_the_object_on_the_page(server, moving_camera, agents):
    async with moving_call(server, moving_camera, agents) as (customer, peer, agent):
        assert agent.index, "the agent reads the scene index stamped in each frame"

        agent.draw_on_next_frame()
        placed = await customer.page.wait_for_function(
            "() => window.anysupportOverlay && window.anysupportOverlay.drawn.some((d) => d.id === 'd1')"
            " && window.anysupportCall.anchors.placement('d1')")
        first = await placed.json_value()  # the drawing's first placement on the page
        answers = await customer.value("window.anysupportCall.anchors.answers")
        await customer.wait(f"window.anysupportCall.anchors.answers >= {answers} + 3")
        ARTIFACTS.mkdir(exist_ok=True)
        await customer.page.screenshot(path=str(ARTIFACTS / "anchoring-start.png"))

        await customer.wait("window.anysupportCall.anchors.answers >= 180", timeout=20_000)
        shown_now = await customer.page.wait_for_function("""() => {
            const a = window.anysupportCall.anchors;
            if (!window.anysupportOverlay.drawn.some((d) => d.id === 'd1')) return null;
            return {drawn: window.anysupportOverlay.drawn, last: a.recent[a.recent.length - 1],
                    recent: a.recent.slice(-150), skipped: a.skipped, late: a.lateMs.slice(-150)};
        }""")
        drawn = await shown_now.json_value()
        await customer.page.screenshot(path=str(ARTIFACTS / "anchoring-moved.png"))

        errors = page_errors(drawn["recent"], agent)
        shown = np.array([e for e in errors if e is not None])
        ms = np.array([a["ms"] + a["anchor_ms"] for a in drawn["recent"]])
        read_ms = np.array([a["read_ms"] for a in drawn["recent"]])
        grey_ms = np.array([a["grey_ms"] for a in drawn["recent"]])
        print(f"\npage: {len(errors)} answers for frames the agent decoded, shown {len(shown)}, p50 "
              f"{np.median(shown):.2f} p95 {np.percentile(shown, 95):.2f} max {shown.max():.2f} px; "
              f"console lost {agent.lost} of {agent.sent}; Worker p50 {np.median(ms):.2f} ms a frame "
              f"(the luma box-averaged to 160 wide p50 {np.median(grey_ms):.2f} ms, composing p50 "
              f"{np.median([a['ms'] - a['grey_ms'] for a in drawn['recent']]):.2f} ms, anchor messages p50 "
              f"{np.median([a['anchor_ms'] for a in drawn['recent']]):.2f} ms; waiting for the pixels "
              f"p50 {np.median(read_ms):.2f} ms), "
              f"frames skipped {drawn['skipped']}, unreadable {drawn['last']['unreadable']}")
        reasons = collections.Counter(a["reasons"]["d1"] for a in drawn["recent"] if "d1" in a["reasons"])
        late = np.array(drawn["late"])
        print(f"reasons: {dict(reasons)}; anchors behind the newest frame p50 {np.median(late):.0f} ms, "
              f"max {late.max():.0f} ms")
        # hidden only where the rule says so: the console's answer came later than the frames kept
        # (about a second; on a loaded machine the round trip can take that long), never otherwise
        assert len(shown) >= 60
        others = sum(n for r, n in reasons.items() if r not in ("ok", "frame_not_held"))
        assert others <= 0.05 * len(drawn["recent"]), reasons
        if reasons.get("frame_not_held", 0) > 0.05 * len(drawn["recent"]):
            assert late.max() > 800, "frames are held for about a second"
        assert np.percentile(shown, 95) <= GOAL_P95

        # a removed drawing is no longer anchored nor drawn, even while anchor messages still name it
        peer.annotate("add", {**agent.item, "id": "e1", "color": "#2020ff"})
        agent.also = "e1"
        await customer.wait("window.anysupportCall.anchors.placement('e1')")
        peer.annotate("remove", item_id="e1")
        await customer.wait("window.anysupportCall.anchors.placement('e1') === undefined"
                            " && !window.anysupportOverlay.drawn.some((d) => d.id === 'e1')")
        count = await customer.value("window.anysupportCall.anchors.answers")
        await customer.wait(f"window.anysupportCall.anchors.answers >= {count} + 10")
        assert await customer.value("window.anysupportCall.anchors.placement('e1') === undefined"
                                    " && !window.anysupportOverlay.drawn.some((d) => d.id === 'e1')")
        agent.also = None

        # what is on the screen is the drawing through the newest answer, and it moved with the object
        last = drawn["last"]
        on_screen = next(d for d in drawn["drawn"] if d["id"] == "d1")
        h = np.array(last["anchors"]["d1"]).reshape(3, 3)
        item = np.array(agent.item["points"])
        expected = (np.c_[item, np.ones(len(item))] @ h.T)
        np.testing.assert_allclose(np.array(on_screen["points"]), expected[:, :2] / expected[:, 2:], atol=1e-9)
        start_points = np.c_[item, np.ones(len(item))] @ np.array(first).reshape(3, 3).T
        moved = np.abs(np.array(on_screen["points"]) - start_points[:, :2] / start_points[:, 2:]).max() * REF_SIZE[0]
        assert moved > 10, f"the camera moved, the drawing with it ({moved:.1f} px)"

        # a camera switch: the anchored drawing hides, and stays hidden (the console stops anchoring it)
        agent.stop()
        await customer.wait("window.anysupportCall.anchors.placement('d1')")
        count = await customer.value("window.anysupportCall.anchors.answers")
        await customer.page.evaluate("""async () => {
            const call = window.anysupportCall;
            const stream = await navigator.mediaDevices.getUserMedia({video: true});
            call.camera.use(stream, 'front');
            call.sendCameraState();
        }""")
        assert await customer.value("window.anysupportCall.anchors.placement('d1')") is None
        await customer.wait(f"window.anysupportCall.anchors.answers >= {count} + 30", timeout=15_000)
        assert await customer.value("window.anysupportCall.anchors.placement('d1')") is None
        assert not await customer.value("window.anysupportOverlay.drawn.some((d) => d.id === 'd1')")
        await customer.page.screenshot(path=str(ARTIFACTS / "anchoring-switched.png"))
        await customer.assert_no_errors()


def on_screen_error(shown, agent) -> float:
    """How far (px of the sent picture) the drawing on the screen is from the scene's truth: the
    overlay's points (fractions of the sent picture) through its picture rectangle against the truth on
    the camera picture the preview shows whole (the sent picture is its centre crop)."""
    rect, last = shown["rect"], shown["last"]
    j = agent.index[last["timestamp_us"]]
    size = agent.sizes[last["timestamp_us"]]
    points = np.array(next(d for d in shown["drawn"] if d["id"] == "d1")["points"])
    screen = np.c_[rect["x"] + points[:, 0] * rect["w"], rect["y"] + points[:, 1] * rect["h"]]
    truth = project(SCENE.truth(agent.start, j, REF_SIZE, agent.start_size),
                    np.array(agent.item["points"]) * agent.start_size)
    camera = rect["camera"]
    expected = np.c_[camera["x"] + truth[:, 0] / REF_SIZE[0] * camera["w"],
                     camera["y"] + truth[:, 1] / REF_SIZE[1] * camera["h"]]
    return float(np.linalg.norm(screen - expected, axis=1).max() * size[0] / rect["w"])


async def shown_on_a_sent_frame(customer: CustomerPage, peer: AgentPeer, agent: TrackingAgent, probe: str) -> dict:
    """What ``probe`` returns once the overlay's newest answer is for a frame the agent decoded (the page
    answers for every camera frame, also those the level's frame rate does not send; it is ahead of the
    agent)."""
    for _ in range(30):
        shown = await (await customer.page.wait_for_function(probe)).json_value()
        t = shown["last"]["timestamp_us"]
        await peer.current.wait_until(lambda t=t: agent.index and max(agent.index) >= t, 15, "the agent catching up")
        if t in agent.index:
            return shown
    raise AssertionError("the overlay's answer was never for a frame the agent decoded")


SHOWN_NOW = """() => {
    const a = window.anysupportCall.anchors, o = window.anysupportOverlay;
    if (!o.drawn.some((d) => d.id === 'd1')) return null;
    return {drawn: o.drawn, rect: o.rect, last: a.recent[a.recent.length - 1], recent: a.recent.slice(-120),
            reasons: a.recent.slice(-120).map((r) => r.reasons.d1)};
}"""


async def test_a_quality_change_keeps_the_drawing_on_the_object(server, moving_camera, agents):
    """medium 640x480 → high 1280x720 (a 16:9 crop of the 4:3 sensor) while a drawing is anchored: the
    page's answers and what its overlay draws over the whole-camera preview stay on the scene."""
    async with moving_call(server, moving_camera, agents) as (customer, peer, agent):
        assert set(agent.sizes.values()) == {REF_SIZE}, "the call starts at the medium level"

        agent.draw_on_next_frame()
        await customer.wait("window.anysupportCall.anchors.placement('d1')"
                            " && window.anysupportOverlay.drawn.some((d) => d.id === 'd1')")
        count = await customer.value("window.anysupportCall.anchors.answers")
        await customer.wait(f"window.anysupportCall.anchors.answers >= {count} + 60", timeout=20_000)
        before = await shown_on_a_sent_frame(customer, peer, agent, SHOWN_NOW)
        ARTIFACTS.mkdir(exist_ok=True)
        await customer.page.screenshot(path=str(ARTIFACTS / "anchoring-quality-medium.png"))
        errors_before = [e for e in page_errors(before["recent"], agent, four_by_three) if e is not None]
        screen_before = on_screen_error(before, agent)

        peer.camera("quality", level="high")
        await peer.wait_for("camera_state", timeout=15, quality="high")
        count = await customer.value("window.anysupportCall.anchors.answers")
        await customer.wait(f"window.anysupportCall.anchors.answers >= {count} + 120", timeout=30_000)
        after = await shown_on_a_sent_frame(
            customer, peer, agent, SHOWN_NOW.replace("return {", "if (o.rect.w / o.rect.h < 1.5) return null; return {"))
        await customer.page.screenshot(path=str(ARTIFACTS / "anchoring-quality-high.png"))
        assert wide(agent.sizes[after["last"]["timestamp_us"]])
        errors_after = page_errors(after["recent"], agent, wide)
        sizes_after = collections.Counter(agent.sizes[a["timestamp_us"]] for a in after["recent"]
                                          if a["timestamp_us"] in agent.sizes)
        shown_after = [e for e in errors_after if e is not None]
        screen_after = on_screen_error(after, agent)
        reasons = collections.Counter(after["reasons"])
        print(f"\nquality change: before (640x480) {len(errors_before)} shown, p95 "
              f"{np.percentile(errors_before, 95):.2f} px, on the screen {screen_before:.2f} px; after (16:9) "
              f"{len(shown_after)} of {len(errors_after)} shown (frames {dict(sizes_after)}), p50 {np.median(shown_after):.2f} p95 "
              f"{np.percentile(shown_after, 95):.2f} max {max(shown_after):.2f} px, on the screen "
              f"{screen_after:.2f} px; reasons {dict(reasons)}; console lost {agent.lost} of {agent.sent}")
        assert len(errors_before) >= 20 and np.percentile(errors_before, 95) <= GOAL_P95
        assert screen_before <= GOAL_P95
        assert HIGH in agent.sizes.values(), "the page sent the high level's 1280x720"
        assert len(shown_after) >= 30, reasons
        assert np.percentile(shown_after, 95) <= GOAL_P95
        assert screen_after <= GOAL_P95
        await customer.assert_no_errors()
