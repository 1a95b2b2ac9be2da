"""Issue 17 #9: the console at 1366×768 and 1920×1080, in real X windows (Xvfb, Qt's xcb platform): the
walk of ``layout_walk.py`` in a child pytest per screen size; its screenshots are the whole X screen too
(``agent-xcb-layout-<size>-*.png``, looked at)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.xvfb import Xvfb

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (1920, 1080)])
def test_a_call_fits_the_screen_in_real_x_windows(tmp_path, width, height):
    with Xvfb(width, height) as display:
        env = {**display.env(), "ANYSUPPORT_TEST_SCREEN": f"{width}x{height}"}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'inner'}",
             str(HERE / "layout_walk.py")],
            cwd=HERE.parents[1], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "2 passed" in done.stdout
