"""The console as an agent starts it on a Linux desktop: a real X server (Xvfb), Qt's ``xcb`` platform.

The offscreen platform used elsewhere does not load ``libqxcb.so``, so it cannot notice the system
libraries that plugin needs (issue 17 #5: "Could not load the Qt platform plugin xcb" on a plain
Debian). Here the program is started exactly as README.md's "For agents: the console" says and must
show its login window on the X display; the screen is saved under test-artifacts/.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import assert_ran_cleanly, end_process
from tests.support.xvfb import Xvfb

from .conftest import ARTIFACTS

pytestmark = pytest.mark.slow

# the wheel's own copy (located without importing the binding, which only anysupport_qt may do)
PLUGIN = Path(importlib.util.find_spec("PyQt5").submodule_search_locations[0]) / "Qt5" / "plugins" / "platforms" / "libqxcb.so"


def test_the_xcb_plugin_finds_every_system_library():
    # the message names the missing libraries, which README.md's apt-get line must then provide
    for library in (PLUGIN, PLUGIN.parents[2] / "lib" / "libQt5XcbQpa.so.5"):
        done = subprocess.run(["ldd", str(library)], capture_output=True, text=True, check=True)
        missing = [line.split()[0] for line in done.stdout.splitlines() if "not found" in line]
        assert not missing, f"{library.name} needs {missing}: install them (README.md, For agents)"


@pytest.mark.parametrize("language, title", [("ko", "애니서포트 비디오 - 로그인"), ("en", "AnySupport Video - Log in")])
def test_the_console_opens_its_login_window_under_xcb(server, console_home, language, title):
    with Xvfb(1366, 768) as display:
        env = display.env()
        env["ANYSUPPORT_LOG_LEVEL"] = "INFO"
        env.pop("ANYSUPPORT_AGENT_PASSWORD", None)
        program = subprocess.Popen([sys.executable, "-m", "anysupport_agent", "--server", server.url,
                                    "--lang", language, "--audio", "none", "--camera", "test"],
                                   env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        try:
            try:
                window = display.wait_window(title, alive=program)
            except (TimeoutError, RuntimeError) as exc:
                program.kill()
                raise AssertionError(f"{exc}\n{program.communicate(timeout=10)[1][-3000:]}") from None
            assert int(window["Width"]) > 200 and int(window["Height"]) > 150
            shot = display.screenshot(ARTIFACTS / f"agent-xcb-login-{language}.png")
            assert shot.stat().st_size > 2000
        finally:
            end_process(program, 15)
        assert_ran_cleanly(program.stderr.read())
