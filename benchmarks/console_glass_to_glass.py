"""Glass to glass to the painted viewer: the test pattern's stamp read back from what the console paints.

    .venv/bin/python -m benchmarks.console_glass_to_glass --quality medium --seconds 8   # or high, low

The real server and the headless mobile client (``anysupport-mobile --headless --source test``) run in
child processes, the console in this process (offscreen, auto-connect). Each picture the viewer paints
is grabbed back, its stamp read (capture time) and its age taken. Three figures per frame:

- the age of the painted picture (glass to glass; goal at medium p50 ≤ 30 ms, p99 ≤ 70 ms on loopback);
- the GUI thread's own work (wrap the rendered picture in a ``QImage`` and paint it), without the readback;
- the console's CPU, this process's user + system time as a share of one core, minus the CPU the
  readback took (the grab, its conversion and the stamp read, timed with the GUI thread's own clock), so
  the figure is what the console needs, not what measuring it costs.

The last line printed is a JSON object of the figures (``benchmarks/test_console_smoke.py`` reads it).
``ConsoleRun`` is the harness ``benchmarks/recording_cpu.py`` uses too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from benchmarks.harness import percentile, process_cpu, quality_parser, report

WARMUP_FRAMES = 30


class ConsoleRun:
    """The server and a headless mobile customer in child processes, the console here, offscreen.

    ``run(tick)`` starts everything, connects the customer and calls ``tick(self)`` every 50 ms on the GUI
    thread once the viewer is open; ``tick`` calls ``self.finish()`` when it has its figures.
    """

    def __init__(self, level: str = "medium", seconds: float = 8.0, *, audio: str = "none"):
        self.level = level
        self.audio = audio
        self.seconds = seconds
        self.work = tempfile.mkdtemp(prefix="anysupport-console-bench-")
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        os.environ["ANYSUPPORT_AGENT_CONFIG_DIR"] = os.path.join(self.work, "config")
        os.environ["XDG_DOCUMENTS_DIR"] = os.path.join(self.work, "docs")
        self.console = None
        self.customer: subprocess.Popen | None = None
        self.app = None

    def _serve(self):
        from anysupport_client.loop import LoopThread

        from tests.support.client import Api
        from tests.support.server import ADMIN_PASSWORD, ServerProcess

        self.server = ServerProcess(os.path.join(self.work, "server")).start()
        self.helper = LoopThread("bench-customer").start()

        async def make_agent() -> None:
            api = Api(self.server.url)
            token, _ = await api.login("admin", ADMIN_PASSWORD)
            r = await api.with_token(token).post("/api/v1/admin/agents", {
                "login": "bench", "name": "bench", "password": "pw-bench", "settings": {"auto_connect": True}})
            assert r.status == 201, r.body

        async def new_code() -> str:
            api = Api(self.server.url)
            token, _ = await api.login("bench", "pw-bench", client="web")
            return (await api.with_token(token).post("/api/v1/sessions")).json["code"]

        self.helper.run(make_agent(), 30)
        self._new_code = lambda: self.helper.run(new_code(), 30)

    def _join(self) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "anysupport_mobile", "--headless", "--server", self.server.url,
                                 "--code", self._new_code(), "--source", "test", "--quality", self.level,
                                 "--audio", self.audio, "--seconds", str(self.seconds * 4 + 60)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def viewer(self):
        return self.console.main.viewer

    def run(self, tick: Callable[[ConsoleRun], None], *, on_viewer: Callable[[ConsoleRun], None] | None = None,
            deadline: float = 120.0) -> None:
        from anysupport_agent.app import ConsoleApp
        from anysupport_agent.settings import Settings
        from anysupport_qt import QApplication, QTimer, apply_korean_font

        self._serve()
        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        settings = Settings()
        settings.update({"server_url": self.server.url, "language": "ko"})
        self.console = ConsoleApp(settings=settings, font_family=apply_korean_font(self.app),
                                  open_folder=lambda path: None, camera="test", audio="none", speaker="none")
        self.console.start("bench", "pw-bench")
        started = time.monotonic()
        state = {"joined": False}

        def step() -> None:
            if time.monotonic() - started > deadline:
                self.error = f"no figures after {deadline:.0f} s"
                self.finish()
                return
            main = self.console.main
            if main is None:
                return
            if not state["joined"]:
                state["joined"] = True
                self.customer = self._join()
                main.viewer.resize(1180, 760)
                if on_viewer is not None:
                    on_viewer(self)
                return
            tick(self)

        self.error: str | None = None
        self.timer = QTimer()
        self.timer.timeout.connect(step)
        self.timer.start(50)
        try:
            self.app.exec_()
        finally:
            self.timer.stop()
            self.console.shutdown()
            if self.customer is not None:
                self.customer.terminate()
                self.customer.wait(15)
            self.helper.stop()
            self.server.stop()

    def finish(self) -> None:
        self.app.quit()


def measure(level: str = "medium", seconds: float = 8.0) -> dict:
    import numpy as np
    from anysupport_client.media.stamp import age_us, read_stamp
    from anysupport_qt import rgb_from_image

    ages: list[float] = []
    gui_ms: list[float] = []
    readback_cpu = [0.0]
    window: dict = {}
    run = ConsoleRun(level, seconds)

    def painted(rendered) -> None:
        viewer = run.viewer
        viewer.bridge.painted()
        start = time.perf_counter()
        viewer.view.show_rendered(rendered)  # what the console's own slot does
        viewer.view.repaint()
        gui_ms.append((time.perf_counter() - start) * 1000)
        read_start = time.thread_time()  # the readback below is the measurement's, not the console's
        shown = rgb_from_image(viewer.view.grab().toImage())
        x, y, w, h = rendered.dest
        picture = shown[max(0, y):y + h, max(0, x):x + w].astype(np.float32)
        luma = (0.299 * picture[..., 0] + 0.587 * picture[..., 1] + 0.114 * picture[..., 2]).astype(np.uint8)
        stamp = read_stamp(np.ascontiguousarray(luma))
        if stamp is not None:
            ages.append(age_us(stamp[1], time.time_ns() // 1000) / 1000)
        if "start" in window:
            readback_cpu[0] += time.thread_time() - read_start

    def on_viewer(run: ConsoleRun) -> None:
        bridge = run.viewer.bridge
        bridge.rendered.disconnect()
        bridge.rendered.connect(painted)

    def tick(run: ConsoleRun) -> None:
        if "start" not in window:
            if len(ages) >= WARMUP_FRAMES:
                window.update(start=time.monotonic(), cpu=process_cpu(), first=len(ages), first_gui=len(gui_ms))
                readback_cpu[0] = 0.0
            return
        if time.monotonic() - window["start"] > seconds:
            elapsed = time.monotonic() - window["start"]
            busy = process_cpu() - window["cpu"]
            window.update(elapsed=elapsed, busy=busy, readback=readback_cpu[0],
                          ages=ages[window["first"]:], gui=gui_ms[window["first_gui"]:])
            run.finish()

    run.run(tick, on_viewer=on_viewer, deadline=seconds + 90)
    if run.error or "elapsed" not in window:
        return {"level": level, "error": run.error or "the run ended early", "frames": len(ages)}
    a, g = window["ages"], window["gui"]
    return {"level": level, "seconds": round(window["elapsed"], 1), "frames": len(a),
            "p50_ms": round(percentile(a, 50), 1), "p99_ms": round(percentile(a, 99), 1),
            "gui_p50_ms": round(percentile(g, 50), 2), "gui_p90_ms": round(percentile(g, 90), 2),
            "console_cpu_pct": round((window["busy"] - window["readback"]) / window["elapsed"] * 100, 1),
            "readback_cpu_pct": round(window["readback"] / window["elapsed"] * 100, 1),
            "load": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    args = quality_parser(__doc__, seconds=8.0).parse_args(argv)
    return report(args.quality, measure(args.quality, args.seconds), lambda f: (
        f"{f['frames']} frames in {f['seconds']} s; glass to painted viewer p50 {f['p50_ms']} ms, p99 "
        f"{f['p99_ms']} ms; GUI thread per frame (wrap, paint) p50 {f['gui_p50_ms']} ms, p90 {f['gui_p90_ms']} ms; "
        f"console CPU {f['console_cpu_pct']}% of a core (readback {f['readback_cpu_pct']}% left out); "
        f"load average {f['load']:.2f}"), lambda f: f"{f['error']} ({f['frames']} frames read back)")


if __name__ == "__main__":
    sys.exit(main())
