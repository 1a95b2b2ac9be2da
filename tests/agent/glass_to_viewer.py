"""Glass to glass to the painted viewer: the test pattern's stamp read back from what the console paints.

    .venv/bin/python -m tests.agent.glass_to_viewer [high|medium|low] [SECONDS]

A measurement, not a test (pytest does not collect it): the real server and the headless mobile client
(``anysupport-mobile --headless --source test``) in child processes, the console in this process
(offscreen) with auto-connect. Each picture the viewer paints is grabbed back, its stamp read (capture
time) and its age taken. The CPU figure is this process: the console alone (the readback grabs
included, so a little more than the console needs).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time


def main() -> int:
    level = sys.argv[1] if len(sys.argv) > 1 else "medium"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 8.0
    work = tempfile.mkdtemp(prefix="anysupport-g2v-")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["ANYSUPPORT_AGENT_CONFIG_DIR"] = os.path.join(work, "config")
    os.environ["XDG_DOCUMENTS_DIR"] = os.path.join(work, "docs")

    import numpy as np
    from anysupport_agent.app import ConsoleApp
    from anysupport_agent.settings import Settings
    from anysupport_client.loop import LoopThread
    from anysupport_client.media.stamp import age_us, read_stamp
    from anysupport_qt import QApplication, QTimer, apply_korean_font, rgb_from_image

    from tests.support.client import Api
    from tests.support.server import ADMIN_PASSWORD, ServerProcess

    server = ServerProcess(os.path.join(work, "server")).start()
    helper = LoopThread("g2v-customer").start()

    async def make_agent() -> None:
        api = Api(server.url)
        token, _ = await api.login("admin", ADMIN_PASSWORD)
        r = await api.with_token(token).post("/api/v1/admin/agents", {
            "login": "bench", "name": "bench", "password": "pw-bench", "settings": {"auto_connect": True}})
        assert r.status == 201, r.body

    async def new_code() -> str:
        api = Api(server.url)
        token, _ = await api.login("bench", "pw-bench", client="web")
        return (await api.with_token(token).post("/api/v1/sessions")).json["code"]

    def join() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "anysupport_mobile", "--headless", "--server", server.url,
                                 "--code", helper.run(new_code(), 30), "--source", "test", "--quality", level,
                                 "--audio", "none", "--seconds", str(seconds + 20)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    helper.run(make_agent(), 30)
    app = QApplication(sys.argv[:1])
    settings = Settings()
    settings.update({"server_url": server.url, "language": "ko"})
    console = ConsoleApp(settings=settings, font_family=apply_korean_font(app), open_folder=lambda path: None,
                         camera="test", audio="none", speaker="none")
    console.start("bench", "pw-bench")
    ages: list[float] = []
    gui_ms: list[float] = []
    state: dict = {}

    def painted(rendered) -> None:
        viewer = console.main.viewer
        viewer.bridge.painted()
        start = time.perf_counter()
        viewer.view.show_rendered(rendered)
        viewer.view.repaint()
        shown = rgb_from_image(viewer.view.grab().toImage())
        gui_ms.append((time.perf_counter() - start) * 1000)
        x, y, w, h = rendered.dest
        picture = shown[max(0, y):y + h, max(0, x):x + w].astype(np.float32)
        luma = (0.299 * picture[..., 0] + 0.587 * picture[..., 1] + 0.114 * picture[..., 2]).astype(np.uint8)
        stamp = read_stamp(np.ascontiguousarray(luma))
        if stamp is not None:
            ages.append(age_us(stamp[1], time.time_ns() // 1000) / 1000)

    def tick() -> None:
        main = console.main
        if main is None:
            return
        if "start" not in state:
            state["customer"] = join()
            main.viewer.bridge.rendered.disconnect()
            main.viewer.bridge.rendered.connect(painted)
            main.viewer.resize(1180, 760)
            state["start"], state["cpu"] = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        elif len(ages) < 30:
            state["start"], state["cpu"] = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        elif time.monotonic() - state["start"] > seconds:
            now, before = resource.getrusage(resource.RUSAGE_SELF), state["cpu"]
            busy = now.ru_utime - before.ru_utime + now.ru_stime - before.ru_stime
            cpu = busy / (time.monotonic() - state["start"]) * 100
            a, g = np.array(ages[30:]), np.array(gui_ms[30:])
            print(f"{level}: {len(a)} frames; glass to painted viewer p50 {np.percentile(a, 50):.1f} ms, "
                  f"p99 {np.percentile(a, 99):.1f} ms; GUI thread per frame (wrap, paint, grab for the readback) "
                  f"p50 {np.percentile(g, 50):.2f} ms; console CPU {cpu:.0f}% of a core")
            app.quit()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(50)
    app.exec_()
    console.shutdown()
    state["customer"].terminate()
    state["customer"].wait(15)
    helper.stop()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
