"""The console's CPU while recording, both recordings, against not recording in the same run.

    .venv/bin/python -m benchmarks.recording_cpu --quality medium --seconds 6

One console (this process, offscreen) views one headless mobile customer (``--source test --audio
tone``, a child process, as is the server) and goes through phases of ``--seconds`` each:

1. not recording (the baseline);
2. 고객영상만 녹화 (``CustomerVideoRecorder``: the received H.264 remuxed into MP4, no re-encoding,
   the customer's voice to AAC);
3. not recording again (the baseline once more: the machine is shared, so the two baselines show
   how much it moved);
4. 전체화면 녹화 (``ViewRecorder``: the viewer grabbed 10 times a second, libx264 on its own thread).

CPU is this process's user + system time (all threads: the media loop, the GUI, the encoder thread)
as a share of one core. Each recording's cost is its phase minus the mean of the two baselines, and
its ratio to that mean. Both MP4 files are opened with PyAV afterwards (video and audio streams,
frames). The last line printed is a JSON object of the figures.
"""

from __future__ import annotations

import os
import sys
import time

from benchmarks.console_glass_to_glass import ConsoleRun
from benchmarks.harness import process_cpu, quality_parser, report

PHASES = ("idle", "customer", "idle_again", "view")
WARMUP_FRAMES = 30


def _probe(path) -> dict:
    import av

    with av.open(str(path)) as container:
        video = [s for s in container.streams if s.type == "video"]
        audio = [s for s in container.streams if s.type == "audio"]
        packets = sum(1 for packet in container.demux(video[0]) if packet.size) if video else 0
        return {"video_streams": len(video), "audio_streams": len(audio), "video_packets": packets,
                "bytes": os.path.getsize(path)}


def measure(level: str = "medium", seconds: float = 6.0) -> dict:
    run = ConsoleRun(level, seconds, audio="tone")
    state: dict = {"phase": -1, "cpu": {}, "saved": {}, "frames": 0}

    def count_frames(rendered) -> None:
        state["frames"] += 1

    def on_viewer(run: ConsoleRun) -> None:
        run.viewer.bridge.rendered.connect(count_frames)
        run.viewer.open_folder = lambda path: None

    def begin(index: int) -> None:
        viewer = run.viewer
        state.update(phase=index, start=time.monotonic(), start_cpu=process_cpu())
        name = PHASES[index]
        if name in ("customer", "view"):
            state["saved"][name] = viewer.start_recording(name)

    def end(index: int) -> None:
        viewer = run.viewer
        elapsed = time.monotonic() - state["start"]
        state["cpu"][PHASES[index]] = (process_cpu() - state["start_cpu"]) / elapsed * 100
        if PHASES[index] in ("customer", "view"):
            viewer.stop_recording()

    def tick(run: ConsoleRun) -> None:
        phase = state["phase"]
        if phase < 0:
            if state["frames"] >= WARMUP_FRAMES and run.viewer.session_id is not None:
                begin(0)
            return
        if time.monotonic() - state["start"] < seconds:
            return
        end(phase)
        if phase + 1 < len(PHASES):
            begin(phase + 1)
            return
        state.setdefault("stopping", time.monotonic())
        if getattr(run.viewer, "last_saved", None) == state["saved"].get("view") or \
                time.monotonic() - state["stopping"] > 20:
            run.finish()

    run.run(tick, on_viewer=on_viewer, deadline=len(PHASES) * seconds + 120)
    if run.error or len(state["cpu"]) < len(PHASES):
        return {"level": level, "error": run.error or "the run ended early", "phases": state["cpu"]}
    cpu = state["cpu"]
    baseline = (cpu["idle"] + cpu["idle_again"]) / 2
    figures = {"level": level, "seconds_per_phase": seconds, "load": os.getloadavg()[0],
               **{f"{name}_cpu_pct": round(cpu[name], 1) for name in PHASES},
               "customer_extra_pct": round(cpu["customer"] - baseline, 1),
               "view_extra_pct": round(cpu["view"] - baseline, 1),
               "customer_ratio": round(cpu["customer"] / baseline, 2) if baseline else None,
               "view_ratio": round(cpu["view"] / baseline, 2) if baseline else None}
    for name in ("customer", "view"):
        path = state["saved"].get(name)
        figures[f"{name}_file"] = _probe(path) if path is not None and os.path.exists(path) else None
    return figures


def main(argv: list[str] | None = None) -> int:
    args = quality_parser(__doc__, seconds=6.0).parse_args(argv)
    return report(args.quality, measure(args.quality, args.seconds), lambda f: (
        f"{args.seconds:.0f} s a phase, load average {f['load']:.2f}: console CPU not recording "
        f"{f['idle_cpu_pct']}% / {f['idle_again_cpu_pct']}%, customer video only {f['customer_cpu_pct']}% "
        f"({f['customer_extra_pct']:+} points, ×{f['customer_ratio']}), whole view {f['view_cpu_pct']}% "
        f"({f['view_extra_pct']:+} points, ×{f['view_ratio']}) of a core"),
        lambda f: f"{f['error']} (phases measured: {f['phases']})")


if __name__ == "__main__":
    sys.exit(main())
