"""The shared Qt module of the desktop programs: image conversion, fonts, the overlay text, the bridge."""

import threading

import numpy as np
import pytest
from anysupport_client.api import ApiError
from anysupport_qt import (
    LoopBridge,
    QApplication,
    apply_korean_font,
    image_from_rgb,
    image_from_rgba,
    qt_text_renderer,
    rgb_from_image,
    rgba_from_image,
)


def test_images_round_trip_at_odd_sizes_and_strided_input(qtbot):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (239, 317, 3), dtype=np.uint8)
    image = image_from_rgb(rgb)
    assert (image.width(), image.height()) == (317, 239)
    assert np.array_equal(rgb_from_image(image), rgb)
    strided = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)[:, ::2]
    assert np.array_equal(rgb_from_image(image_from_rgb(strided)), strided)
    rgba = rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    assert np.array_equal(rgba_from_image(image_from_rgba(rgba)), rgba)


def test_korean_font_and_overlay_text_have_hangul_glyphs(qtbot):
    app = QApplication.instance()
    family = apply_korean_font(app)
    assert family is not None, "install fonts-nanum: Korean text would show as boxes"
    text = qt_text_renderer(family)("나사를 푸세요", 28, (255, 255, 0, 255))
    assert text.ndim == 3 and text.shape[2] == 4 and text.shape[0] >= 28
    yellow = (text[..., 0] > 200) & (text[..., 1] > 200) & (text[..., 2] < 80) & (text[..., 3] > 200)
    assert yellow.sum() > 200  # glyphs, filled, not an empty box outline


def test_bridge_runs_coroutines_on_its_loop_and_answers_on_the_gui_thread(qtbot):
    bridge = LoopBridge(thread_name="test-bridge")
    gui = threading.get_ident()
    seen: dict = {}

    async def work(x):
        seen["loop_thread"] = threading.get_ident()
        return x * 2

    async def fail():
        raise ApiError(429, "too_many_attempts", "잠시 후 다시 시도하세요", {"retry_after": 30})

    try:
        with qtbot.waitSignal(bridge._delivered, timeout=5000):
            bridge.submit(work(21), on_result=lambda v: seen.update(value=v, thread=threading.get_ident()))
        qtbot.waitUntil(lambda: "value" in seen, timeout=5000)
        assert seen["value"] == 42 and seen["thread"] == gui and seen["loop_thread"] != gui
        with qtbot.waitSignal(bridge.event, timeout=5000) as blocker:
            bridge.submit(fail(), failed="login_failed", on_error=lambda e: seen.update(error=e))
        name, data = blocker.args
        assert name == "login_failed" and data["error"] == "too_many_attempts" and data["status"] == 429
        qtbot.waitUntil(lambda: "error" in seen, timeout=5000)
        assert seen["error"]["message"] == "잠시 후 다시 시도하세요"
    finally:
        bridge.close()
    assert not bridge.thread.running


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 3, 3)])
def test_tiny_images(shape, qtbot):
    rgb = np.full(shape, 7, np.uint8)
    assert np.array_equal(rgb_from_image(image_from_rgb(rgb)), rgb)


_FAULTY_PROGRAM = """
import logging, sys
from anysupport_qt import QApplication, QTimer, QWidget, keep_running
logging.basicConfig(level=logging.WARNING)
app = QApplication(["faulty"])
if sys.argv[1] == "hook":
    keep_running(logging.getLogger("faulty"))
class Faulty(QWidget):
    def paintEvent(self, event):  # a fault on every paint: logged once, then counted
        raise ValueError("paint fault")
window = Faulty()
window.show()
def slot():
    raise KeyError("slot fault")
for _ in range(3):
    window.repaint()
QTimer.singleShot(0, slot)
QTimer.singleShot(0, lambda: print("still running", flush=True))
QTimer.singleShot(0, app.quit)
sys.exit(app.exec_())
"""


@pytest.mark.parametrize("hook", ["none", "hook"])
def test_a_fault_in_a_slot_or_paint_is_logged_and_the_program_goes_on(hook):
    """PyQt5 aborts a program (exit -6) on an exception in a slot or event handler; the programs' hook
    (``keep_running``, installed by both mains) logs the traceback, each place once, and goes on."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", _FAULTY_PROGRAM, hook], env=env, capture_output=True, text=True,
                          timeout=60)
    if hook == "none":  # why the hook exists
        assert done.returncode == -6 and "still running" not in done.stdout, done.stderr
        return
    assert done.returncode == 0, done.stderr
    assert "still running" in done.stdout
    assert done.stderr.count("ValueError: paint fault") == 1  # three paints, one traceback
    assert "KeyError: 'slot fault'" in done.stderr
    assert done.stderr.count("a fault in the program, which goes on") == 2


def test_the_fault_log_counts_a_repeated_place_and_says_every_hundredth(caplog):
    import logging

    from anysupport_qt.faults import FaultLog

    hook = FaultLog(logging.getLogger("faults-test"))

    def fault():
        try:
            raise RuntimeError("again")
        except RuntimeError as exc:
            hook(type(exc), exc, exc.__traceback__)

    with caplog.at_level(logging.ERROR, "faults-test"):
        for _ in range(200):
            fault()
    assert len(caplog.records) == 3  # the first in full, then the 100th and the 200th counted
    assert caplog.records[0].exc_info is not None and "200 times" in caplog.records[2].getMessage()
