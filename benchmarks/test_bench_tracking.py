"""Tracking the surface under a drawing (issue 20): accuracy, loss, cost, and the customer's composition.

    .venv/bin/pytest benchmarks/test_bench_tracking.py --benchmark-enable --benchmark-group-by=group \\
        --benchmark-columns=min,median,mean
    .venv/bin/python -m benchmarks.test_bench_tracking               # the figures (tables), ~2 min
    .venv/bin/python -m benchmarks.test_bench_tracking --repeat 3    # the cost part three times

On the synthetic scenes of ``tests/support/scenes.py`` (a textured plane, a hand-held camera, noise,
motion blur, the project's H.264 at the medium level, 640x480 at 30 fps):

- stroke error (the largest distance, over the drawing's points, between where the tracker puts
  them and the truth) p50 / p95 / max, by peak speed; goal p95 <= 3 px up to 200 px/s;
- loss: frames until hidden after the surface leaves, the largest error ever shown, frames until
  found again after it returns (goals: 1 frame, 20 px, 15 frames = 0.5 s);
- cost per frame of ``PlaneTracker.update`` beside a bare OpenCV pass measured on the same frames
  in the same run, interleaved frame by frame (load on the machine hits both alike): chained
  ``calcOpticalFlowPyrLK`` from the previous frame on 100 corners of the region, OpenCV's default
  window (21) and levels (3); goal <= 3 ms;
- the customer's side: ``LateAnchor`` composing the console's homography, 200 ms (6 frames) late,
  with its own flow on 160-wide frames; error p95 (goal <= 5 px), beside the late homography alone,
  and its cost per frame (push + compose) beside a bare LK pass at 160x120.

OpenCV runs on one thread (``cv2.setNumThreads(1)``), as the console's media thread would use it.
Without ``--benchmark-enable`` (the project default) every case runs once as a smoke test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import cv2
import numpy as np
import pytest
from anysupport_client.tracking import PlaneTracker
from anysupport_client.tracking.late import FrameHistory, LateAnchor

from tests.support.scenes import AWAY, HAND, LIGHTING, REF_SIZE, Scene, moving
from tests.support.tracking import compose_late, longest_hidden, losses, returns, shown_errors, track

cv2.setNumThreads(1)

SPEEDS = (50, 100, 200, 300, 400)
DELAY = 6  # frames: 200 ms at 30 fps
LK_BARE = {"winSize": (21, 21), "maxLevel": 3}


class BareFlow:
    """The baseline: plain chained LK from the previous frame on the region's corners (no checks at all)."""

    def __init__(self, first: np.ndarray, region, n: int = 100):
        x, y, w, h = (int(v) for v in region)
        mask = np.zeros(first.shape, np.uint8)
        mask[y:y + h, x:x + w] = 255
        self.seed = cv2.goodFeaturesToTrack(first, n, 0.01, 5, mask=mask)
        self.points = self.seed
        self.prev = first

    def update(self, frame: np.ndarray) -> int:
        nxt, st, _ = cv2.calcOpticalFlowPyrLK(self.prev, frame, self.points, None, **LK_BARE)
        self.points = nxt[st.ravel() == 1].reshape(-1, 1, 2)
        if len(self.points) < 20:
            self.points = self.seed
        self.prev = frame
        return len(self.points)


def grey_frames(scene: Scene, level: str = "medium") -> list[np.ndarray]:
    return list(scene.decoded(level, form="grey"))


# -- pytest-benchmark cases ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def frames():
    return grey_frames(moving(200))


def _cycle(seq):
    state = {"i": 0}

    def nxt():
        state["i"] = state["i"] % (len(seq) - 1) + 1
        return state["i"], seq[state["i"]]

    return nxt


@pytest.mark.benchmark(group="tracking-640x480")
def test_plane_tracker_update(benchmark, frames):
    scene = moving(200)
    tracker = PlaneTracker()
    tracker.start(frames[0], scene.region)
    nxt = _cycle(frames)

    def step():
        i, frame = nxt()
        if i == 1:  # the sequence starts again: so does the drawing
            tracker.start(frames[0], scene.region)
        return tracker.update(frame)

    h = benchmark(step)
    assert h is not None and h.shape == (3, 3)


@pytest.mark.benchmark(group="tracking-640x480")
def test_bare_opencv_flow(benchmark, frames):
    flow = BareFlow(frames[0], moving(200).region)
    nxt = _cycle(frames)
    assert benchmark(lambda: flow.update(nxt()[1])) >= 20


@pytest.fixture(scope="module")
def customer():
    scene = moving(200)
    rgb = [scene.render(i) for i in range(40)]
    return scene, rgb


@pytest.mark.benchmark(group="tracking-customer-160")
def test_late_anchor_push_and_compose(benchmark, customer):
    scene, rgb = customer
    history = FrameHistory()
    x, y, w, h = scene.region
    anchor = LateAnchor(history, (x / 640, y / 480, w / 640, h / 480))
    for n in range(DELAY + 1):
        history.push(n + 1, rgb[n])
    anchor.receive(1, np.eye(3))
    state = {"n": DELAY + 1, "t": DELAY + 1}

    def step():
        n = state["n"]
        if n >= len(rgb):
            n = DELAY + 1
        state["t"] += 1
        history.push(state["t"], rgb[n])
        anchor.receive(state["t"] - DELAY, np.eye(3))
        state["n"] = n + 1
        return anchor.current()

    benchmark(step)


@pytest.mark.benchmark(group="tracking-customer-160")
def test_bare_opencv_flow_small(benchmark, customer):
    _, rgb = customer
    small = [cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (160, 120), interpolation=cv2.INTER_AREA) for f in rgb]
    flow = BareFlow(small[0], (0, 0, 160, 120), n=48)
    nxt = _cycle(small)
    benchmark(lambda: flow.update(nxt()[1]))


def test_figures_report_every_part():
    figures = cost(moving(200, seconds=1.0), rounds=1)
    assert figures["tracker_ms"] > 0 and figures["bare_ms"] > 0
    late = customer_side(moving(200, seconds=1.0), delays=(DELAY,))
    assert late[DELAY]["p95"] >= 0 and late[DELAY]["ms"] > 0


# -- the figures --------------------------------------------------------------------------------------------------
def accuracy(level: str | None) -> dict:
    out = {}
    for speed in SPEEDS:
        steps = track(moving(speed), level)
        e = shown_errors(steps)
        out[speed] = {"shown": len(e) / len(steps), "p50": float(np.median(e)), "p95": float(np.percentile(e, 95)),
                      "max": float(e.max())}
    return out


def loss_figures() -> dict:
    scenes = {
        "glance away (0.35 s pan)": AWAY,
        "slide out and back (1.2 s pan)": AWAY.with_(name="slide", away_ramp=1.2, away=(0.6, 1.8), seconds=5.0),
        "hand passing": HAND,
        "lighting to 50 %": LIGHTING,
    }
    out = {}
    for name, scene in scenes.items():
        steps = track(scene, "medium")
        e = shown_errors(steps)
        out[name] = {"hide": [lag for _, lag in losses(steps)], "found": [lag for _, lag in returns(steps)],
                     "max": float(e.max()), "p95": float(np.percentile(e, 95)),
                     "hidden_visible": longest_hidden(steps, while_visible=0.3),
                     "hidden_frames": sum(s.homography is None for s in steps), "frames": len(steps)}
    return out


def cost(scene: Scene, rounds: int = 3) -> dict:
    """Median ms per frame, tracker and bare flow interleaved frame by frame on the same decoded frames."""
    seq = grey_frames(scene)
    tracker_ms, bare_ms = [], []
    for _ in range(rounds):
        tracker = PlaneTracker()
        tracker.start(seq[0], scene.region)
        bare = BareFlow(seq[0], scene.region)
        for frame in seq[1:]:
            t0 = time.perf_counter()
            tracker.update(frame)
            t1 = time.perf_counter()
            bare.update(frame)
            t2 = time.perf_counter()
            tracker_ms.append((t1 - t0) * 1000)
            bare_ms.append((t2 - t1) * 1000)
    t, b = np.asarray(tracker_ms), np.asarray(bare_ms)
    return {"tracker_ms": float(np.median(t)), "tracker_p90": float(np.percentile(t, 90)),
            "bare_ms": float(np.median(b)), "bare_p90": float(np.percentile(b, 90)),
            "ratio": float(np.median(t) / np.median(b))}


def customer_side(scene: Scene, delays=(3, DELAY, 9)) -> dict:
    console = [np.eye(3)]
    tracker = PlaneTracker()
    seq = grey_frames(scene)
    tracker.start(seq[0], scene.region)
    console += [tracker.update(f) for f in seq[1:]]
    rgb = [scene.render(i) for i in range(scene.frames)]
    small = [cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (160, 120), interpolation=cv2.INTER_AREA) for f in rgb]
    out = {}
    for delay in delays:
        steps = compose_late(scene, console, delay_frames=delay, customer_frames=rgb)
        composed = np.array([s.error for s in steps if s.error is not None])
        late = np.array([s.late_error for s in steps if s.late_error is not None])
        # the bare pass at the same size, interleaved: resize of the same frame + one LK
        bare = BareFlow(small[0], (0, 0, 160, 120), n=48)
        bare_ms = []
        for f in rgb[1:]:
            t0 = time.perf_counter()
            g = cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (160, 120), interpolation=cv2.INTER_AREA)
            bare.update(g)
            bare_ms.append((time.perf_counter() - t0) * 1000)
        out[delay] = {"shown": len(composed) / max(1, len(steps)), "p50": float(np.median(composed)),
                      "p95": float(np.percentile(composed, 95)), "max": float(composed.max()),
                      "late_p50": float(np.median(late)), "late_p95": float(np.percentile(late, 95)),
                      "ms": float(np.median([s.ms for s in steps])), "bare_ms": float(np.median(bare_ms))}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="tracking figures on synthetic planar scenes (issue 20)")
    parser.add_argument("--repeat", type=int, default=1, help="repeat the cost measurement")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}; {REF_SIZE[0]}x{REF_SIZE[1]} at 30 fps; OpenCV {cv2.__version__}, "
          "one thread")
    if not args.skip_accuracy:
        print("\n| peak speed | clean: shown / p50 / p95 / max | H.264 medium: shown / p50 / p95 / max |")
        print("|---|---|---|")
        clean, h264 = accuracy(None), accuracy("medium")
        for speed in SPEEDS:
            c, h = clean[speed], h264[speed]
            print(f"| {speed} px/s | {c['shown']:.0%} / {c['p50']:.2f} / {c['p95']:.2f} / {c['max']:.2f} px | "
                  f"{h['shown']:.0%} / {h['p50']:.2f} / {h['p95']:.2f} / {h['max']:.2f} px |")
        print("\n| scene (H.264 medium) | hidden after the surface left (frames) | largest error shown | p95 shown "
              "| found after it came back (frames) | longest hidden with >= 30 % visible | hidden frames |")
        print("|---|---|---|---|---|---|---|")
        for name, r in loss_figures().items():
            print(f"| {name} | {r['hide'] or '–'} | {r['max']:.2f} px | {r['p95']:.2f} px | {r['found'] or '–'} | "
                  f"{r['hidden_visible']} | {r['hidden_frames']} / {r['frames']} |")
    print("\n| run | PlaneTracker.update p50 / p90 | bare chained LK p50 / p90 | ratio (p50) |")
    print("|---|---|---|---|")
    for k in range(args.repeat):
        c = cost(moving(200))
        print(f"| {k + 1} (load {os.getloadavg()[0]:.1f}) | {c['tracker_ms']:.2f} / {c['tracker_p90']:.2f} ms | "
              f"{c['bare_ms']:.2f} / {c['bare_p90']:.2f} ms | {c['ratio']:.2f} |")
    print("\n| delay | composed: shown / p50 / p95 / max | late homography alone: p50 / p95 | push + compose p50 "
          "| bare LK 160x120 (incl. resize) p50 |")
    print("|---|---|---|---|---|")
    for delay, r in customer_side(moving(200)).items():
        print(f"| {delay * 1000 // 30} ms | {r['shown']:.0%} / {r['p50']:.2f} / {r['p95']:.2f} / {r['max']:.2f} px | "
              f"{r['late_p50']:.1f} / {r['late_p95']:.1f} px | {r['ms']:.2f} ms | {r['bare_ms']:.2f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
