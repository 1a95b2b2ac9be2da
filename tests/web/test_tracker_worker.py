"""The page's tracking Worker (``anysupport/static/customer/tracker-worker.js``, a port of
``anysupport_client.tracking.late``) in real headless Chromium, on the synthetic scenes of
``tests/support/scenes.py``: the console's homographies (the Python ``PlaneTracker`` on the H.264 frames
it decoded) arrive 200 ms late and the Worker composes them with its own flow on the page's frames
(160 pixels wide, grey, the very pictures the Python ``FrameHistory`` keeps). The drawing must stay
within 5 px p95 of the truth at 640x480, as the Python ``LateAnchor`` does; the Worker's cost per
frame is measured beside the Python one (OpenCV) on the same frames in the same run."""

from __future__ import annotations

import base64
import time

import cv2
import numpy as np
import pytest
from anysupport_client.tracking import FrameHistory, from_normalised, to_normalised

from tests.support.scenes import REF_SIZE, moving, stroke_error
from tests.support.tracking import compose_late, console_answers

pytestmark = [pytest.mark.browser]

GOAL_P95 = 5.0  # px at 640x480
GOAL_MS = 2.0  # median per frame in the Worker (issue 20)
DELAY = 6  # frames at 30 fps: 200 ms
PERIOD = 1_000_000 // 30

RUN_WORKER = """async ([frames, anchors, region]) => {
    const worker = new Worker('/static/customer/tracker-worker.js', {type: 'module'});
    const failed = new Promise((_, reject) => { worker.onerror = (e) => reject(new Error('worker: ' + e.message)); });
    const out = [];
    for (let n = 0; n < frames.length; n++) {
        const a = anchors[n];
        if (a) worker.postMessage({type: 'anchor', timestamp_us: a.t, anchors: {d1: {h: a.h, region: region}}});
        const raw = atob(frames[n].data);
        const data = new Uint8Array(raw.length);
        for (let i = 0; i < raw.length; i++) data[i] = raw.charCodeAt(i);
        const answer = new Promise((resolve) => { worker.onmessage = (e) => resolve(e.data); });
        worker.postMessage({type: 'grey', timestamp_us: frames[n].t, width: frames[n].w, height: frames[n].h, data: data},
                           [data.buffer]);
        const got = await Promise.race([answer, failed]);
        out.push({t: got.timestamp_us, h: got.anchors.d1 === undefined ? 'absent' : got.anchors.d1,
                  reason: got.reasons.d1 || null, ms: got.ms + got.anchor_ms});
    }
    worker.terminate();
    return out;
}"""


@pytest.fixture(scope="module")
def console_homographies():
    """What the console sends: its tracker's answers on the H.264 frames it decoded (medium), 200 px/s."""
    scene = moving(200)
    return scene, console_answers(scene)


def small_frames(scene):
    """The page's own frames as the Worker keeps them: the clean camera pictures, 160 wide, grey."""
    history = FrameHistory(seconds=10)
    return [history.push(n * PERIOD + 1, frame).grey for n, frame in enumerate(scene.frames_rgb())]


def bare_lk_ms(frames) -> float:
    """Baseline: OpenCV's pyramidal LK alone, 48 corners one way between consecutive 160-wide frames."""
    times = []
    for a, b in zip(frames[:-1], frames[1:], strict=True):
        t0 = time.perf_counter()
        pts = cv2.goodFeaturesToTrack(a, 48, 0.01, 5, blockSize=5)
        cv2.calcOpticalFlowPyrLK(a, b, pts, None, winSize=(11, 11), maxLevel=3)
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


async def test_worker_keeps_the_drawing_within_5_px_p95_with_200_ms_of_delay(server, open_page, console_homographies):
    scene, console = console_homographies
    frames = small_frames(scene)
    x, y, w, h = scene.region
    region = [x / REF_SIZE[0], y / REF_SIZE[1], w / REF_SIZE[0], h / REF_SIZE[1]]
    anchors = [None] * len(frames)
    for n in range(DELAY, len(frames)):
        k = n - DELAY
        anchors[n] = {"t": k * PERIOD + 1, "h": to_normalised(console[k], REF_SIZE, REF_SIZE).ravel().tolist()}
    payload = [{"t": n * PERIOD + 1, "w": f.shape[1], "h": f.shape[0], "data": base64.b64encode(f.tobytes()).decode()}
               for n, f in enumerate(frames)]

    page, problems = await open_page()
    await page.goto(server.url + "/")
    got = await page.evaluate(RUN_WORKER, [payload, anchors, region])
    python = compose_late(scene, console, delay_frames=DELAY)  # the reference, same frames, same run
    problems.assert_none()

    points = scene.stroke_points()
    errors, hidden = [], []
    for n, answer in enumerate(got):
        assert answer["t"] == n * PERIOD + 1
        if n < DELAY:
            assert answer["h"] == "absent"  # nothing anchored before the first anchor message
            continue
        if answer["h"] is None:
            hidden.append((n, answer["reason"]))
            continue
        composed = from_normalised(np.array(answer["h"]).reshape(3, 3), REF_SIZE, REF_SIZE)
        errors.append(stroke_error(composed, scene.truth(scene.start, n), points))
    errors = np.array(errors)
    reference = np.array([s.error for s in python if s.error is not None])
    late = np.array([s.late_error for s in python if s.late_error is not None])
    worker_ms = np.array([a["ms"] for a in got[DELAY:]])
    python_ms = float(np.median([s.ms for s in python]))
    print(f"\nworker: shown {len(errors)}/{len(got) - DELAY}, p50 {np.median(errors):.2f} p95 "
          f"{np.percentile(errors, 95):.2f} max {errors.max():.2f} px; Python LateAnchor p50 {np.median(reference):.2f} "
          f"p95 {np.percentile(reference, 95):.2f} px; late homography alone p50 {np.median(late):.1f} px")
    print(f"cost per frame: worker p50 {np.median(worker_ms):.2f} p90 {np.percentile(worker_ms, 90):.2f} ms; "
          f"Python LateAnchor (OpenCV) p50 {python_ms:.2f} ms; bare OpenCV LK p50 {bare_lk_ms(frames):.2f} ms")
    assert not hidden, f"the surface stays in view, the drawing must be shown on every frame: {hidden[:5]}"
    assert np.percentile(errors, 95) <= GOAL_P95
    assert np.median(late) > 3 * np.median(errors)
    # the goal is 2 ms; on a loaded machine (2 shared cores) both sides slow alike, so the Worker may
    # then take up to 1.5x what OpenCV's LateAnchor took on the same frames in this run
    assert np.median(worker_ms) <= max(GOAL_MS, 1.5 * python_ms)


RUN_STEPS = """async ([frames, steps]) => {
    const worker = new Worker('/static/customer/tracker-worker.js', {type: 'module'});
    const out = [];
    let n = 0;
    for (const step of steps) {
        if (step.anchor) worker.postMessage({type: 'anchor', timestamp_us: step.anchor.t, anchors: step.anchor.anchors});
        if (step.clear) worker.postMessage({type: 'clear'});
        const f = frames[n++];
        const raw = atob(f.data);
        const data = Uint8Array.from(raw, (c) => c.charCodeAt(0));
        const answer = new Promise((resolve) => { worker.onmessage = (e) => resolve(e.data); });
        worker.postMessage({type: 'grey', timestamp_us: f.t, width: f.w, height: f.h, data: data});
        const got = await answer;
        out.push({anchors: got.anchors, reasons: got.reasons});
    }
    worker.terminate();
    return out;
}"""


async def test_worker_hides_a_drawing_lost_on_the_console_or_on_a_frame_no_longer_held(server, open_page,
                                                                                        console_homographies):
    scene, console = console_homographies
    frames = small_frames(scene)[:40]
    payload = [{"t": n * PERIOD + 1, "w": f.shape[1], "h": f.shape[0], "data": base64.b64encode(f.tobytes()).decode()}
               for n, f in enumerate(frames)]
    x, y, w, h = scene.region
    region = [x / REF_SIZE[0], y / REF_SIZE[1], w / REF_SIZE[0], h / REF_SIZE[1]]

    def anchor(k, **entries):
        return {"t": k * PERIOD + 1, "anchors": {name: {"h": None if k_ is None else
                                                        to_normalised(console[k_], REF_SIZE, REF_SIZE).ravel().tolist(),
                                                        "region": region} for name, k_ in entries.items()}}

    steps = [{} for _ in frames]
    steps[3] = {"anchor": anchor(1, a=1, b=1)}        # both anchored
    steps[5] = {"anchor": anchor(3, a=3, b=None)}     # b lost on the console
    steps[36] = {"anchor": anchor(2, a=2)}            # frame 2 is no longer held (about a second kept); b not listed
    steps[38] = {"anchor": anchor(37, a=37)}
    steps[39] = {"clear": True}                       # a camera switch
    page, problems = await open_page()
    await page.goto(server.url + "/")
    got = await page.evaluate(RUN_STEPS, [payload, steps])
    problems.assert_none()
    assert got[2]["anchors"] == {}
    assert got[3]["anchors"]["a"] is not None and got[3]["anchors"]["b"] is not None
    assert got[5]["anchors"]["a"] is not None
    assert got[5]["anchors"]["b"] is None and got[5]["reasons"]["b"] == "lost_on_console"
    assert got[36]["anchors"] == {"a": None} and got[36]["reasons"]["a"] == "frame_not_held"
    assert got[38]["anchors"]["a"] is not None
    assert got[39]["anchors"] == {}


PORT_CHECK = """async ([a, b, w, h]) => {
    const {FrameHistory, SMALL_FLOW} = await import('/static/customer/tracking/late.js');
    const {goodFeatures} = await import('/static/customer/tracking/features.js');
    const {forwardBackward} = await import('/static/customer/tracking/flow.js');
    const decode = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    const history = new FrameHistory();
    const first = history.push(1, {width: w, height: h, data: decode(a)});
    const second = history.push(2, {width: w, height: h, data: decode(b)});
    const corners = goodFeatures(first.picture, [8, 8, w - 8, h - 8], 48, 0.01, 6);
    const xs = corners.map((p) => p[0]), ys = corners.map((p) => p[1]);
    const flow = forwardBackward(history.pyramidOf(first), history.pyramidOf(second), xs, ys, SMALL_FLOW, 0.35);
    return {corners: corners, x: Array.from(flow.x), y: Array.from(flow.y), kept: Array.from(flow.kept)};
}"""


async def test_the_port_finds_the_corners_and_flow_opencv_finds(server, open_page):
    """goodFeatures and the pyramidal LK of tracking/ against cv.goodFeaturesToTrack and
    cv.calcOpticalFlowPyrLK on the same two small frames (10 px/frame of motion at 640x480)."""
    scene = moving(300)
    a, b = small_frames(scene.with_(seconds=0.2))[2:4]
    page, problems = await open_page()
    await page.goto(server.url + "/")
    got = await page.evaluate(PORT_CHECK, [base64.b64encode(a.tobytes()).decode(), base64.b64encode(b.tobytes()).decode(),
                                           a.shape[1], a.shape[0]])
    problems.assert_none()
    mask = np.zeros_like(a)
    mask[8:a.shape[0] - 8, 8:a.shape[1] - 8] = 255
    want = cv2.goodFeaturesToTrack(a, 48, 0.01, 6, mask=mask, blockSize=5).reshape(-1, 2)
    corners = np.array(got["corners"], np.float32)
    assert len(corners) == len(want)
    same = sum(bool(np.any(np.all(want == c, axis=1))) for c in corners)
    assert same >= 0.9 * len(want), f"{same} of {len(want)} corners as OpenCV's"
    p1, st, _ = cv2.calcOpticalFlowPyrLK(a, b, corners.reshape(-1, 1, 2), None, winSize=(11, 11), maxLevel=3,
                                         criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 10, 0.03))
    both = (st.ravel() == 1) & (np.array(got["kept"]) == 1)
    assert both.sum() >= 0.8 * len(corners)
    diff = np.hypot(np.array(got["x"])[both] - p1[both, 0, 0], np.array(got["y"])[both] - p1[both, 0, 1])
    print(f"\ncorners as OpenCV's: {same}/{len(want)}; LK positions vs OpenCV's: median {np.median(diff):.3f}, "
          f"max {diff.max():.3f} px (160 wide)")
    assert np.median(diff) < 0.05 and diff.max() < 0.3


SMALL_GREY = """async ([rgba, y, u, v, w, h, crops]) => {
    const {smallGrey} = await import('/static/customer/small-frames.js');
    const decode = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    const frames = {
        RGBA: new VideoFrame(decode(rgba), {format: 'RGBA', codedWidth: w, codedHeight: h, timestamp: 0}),
        I420: new VideoFrame(new Uint8Array([...decode(y), ...decode(u), ...decode(v)]),
                             {format: 'I420', codedWidth: w, codedHeight: h, timestamp: 0}),
    };
    const out = {};
    for (const [name, frame] of Object.entries(frames)) {
        out[name] = [];
        for (const crop of crops) {
            const {picture} = await smallGrey(frame, crop);
            let text = '';
            for (const byte of picture.data) text += String.fromCharCode(byte);
            out[name].push({width: picture.width, height: picture.height, data: btoa(text)});
        }
        frame.close();
    }
    return out;
}"""


async def test_camera_frames_are_made_small_and_grey_as_the_python_history_does(server, open_page):
    """small-frames.js on an RGBA and an I420 VideoFrame of a scene picture, whole and cropped to 16:9,
    against OpenCV's INTER_AREA of the grey (RGB2GRAY) and of the luma plane."""
    import av
    from anysupport_native import convert

    rgb = moving(200).render(5)
    h, w = rgb.shape[:2]
    planes = convert.planes_of(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p"))
    crops = [{"x": 0, "y": 0, "w": w, "h": h}, {"x": 0, "y": 60, "w": w, "h": 360}]
    rgba = np.dstack([rgb, np.full((h, w), 255, np.uint8)])
    text = [base64.b64encode(np.ascontiguousarray(a).tobytes()).decode() for a in (rgba, planes.y, planes.u, planes.v)]
    page, problems = await open_page()
    await page.goto(server.url + "/")
    got = await page.evaluate(SMALL_GREY, [*text, w, h, crops])
    problems.assert_none()
    sources = {"RGBA": cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), "I420": np.ascontiguousarray(planes.y)}
    for name, source in sources.items():
        for crop, small in zip(crops, got[name], strict=True):
            part = source[crop["y"]:crop["y"] + crop["h"], crop["x"]:crop["x"] + crop["w"]]
            size = (160, round(160 * crop["h"] / crop["w"]))
            want = cv2.resize(part, size, interpolation=cv2.INTER_AREA).astype(int)
            mine = np.frombuffer(base64.b64decode(small["data"]), np.uint8).reshape(small["height"], small["width"])
            assert (small["width"], small["height"]) == size
            diff = np.abs(mine.astype(int) - want)
            print(f"\n{name} {size}: mean {diff.mean():.2f}, p99 {np.percentile(diff, 99):.0f} grey levels from INTER_AREA")
            assert diff.mean() < 0.5 and np.percentile(diff, 99) <= 2
