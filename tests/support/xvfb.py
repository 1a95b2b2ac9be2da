"""A real X server for tests that open real windows: ``Xvfb`` on a free display, plus looking at it.

``Xvfb -displayfd`` picks the first free display itself and writes its number to a pipe once it
accepts clients, so there is no guessing of numbers and no sleeping: reading the pipe is the wait.
The screen is read back with Qt's ``xcb`` platform in a child process (the test process keeps its
offscreen platform), and windows are found by title with ``xwininfo`` (x11-utils).
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.support.processes import end_process

_GRAB = """
import sys
from anysupport_qt import QApplication
app = QApplication(sys.argv[:1])
image = app.primaryScreen().grabWindow(0)
sys.exit(0 if image.save(sys.argv[1], "PNG") else 1)
"""


class Xvfb:
    def __init__(self, width: int = 1366, height: int = 768, depth: int = 24):
        self.size = f"{width}x{height}x{depth}"
        self.process: subprocess.Popen | None = None
        self.display: str | None = None

    def start(self, timeout: float = 20.0) -> Xvfb:
        read_end, write_end = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", self.size, "-nolisten", "tcp"],
            pass_fds=(write_end,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(write_end)
        # Xvfb writes the number and then a newline in a second write; closing the pipe before the
        # newline arrives kills it (EPIPE, "Cannot write display number"), so read up to the newline
        deadline = time.monotonic() + timeout
        received = b""
        try:
            while not received.endswith(b"\n"):
                ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
                chunk = os.read(read_end, 32) if ready else b""
                if not chunk:
                    break
                received += chunk
        finally:
            os.close(read_end)
        number = received.decode().strip()
        if not number.isdigit():
            self.stop()
            raise RuntimeError(f"Xvfb did not report a display within {timeout} s")
        self.display = f":{number}"
        return self

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env["DISPLAY"] = self.display
        env["QT_QPA_PLATFORM"] = "xcb"
        env.pop("WAYLAND_DISPLAY", None)
        return env

    def window(self, title: str) -> dict[str, str] | None:
        """``xwininfo``'s facts about the top-level window with this exact title, or None."""
        done = subprocess.run(["xwininfo", "-display", self.display, "-name", title],
                              capture_output=True, text=True)
        if done.returncode != 0:
            return None
        return {m[0].strip(): m[1].strip() for m in re.findall(r"^\s*([^:\n]+):\s*(.*)$", done.stdout, re.M)}

    def wait_window(self, title: str, timeout: float = 30.0, *, alive: subprocess.Popen | None = None) -> dict:
        """Wait until a window of this title is mapped and viewable (polls the X server; no fixed sleep)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.window(title)
            if info and info.get("Map State") == "IsViewable":
                return info
            if alive is not None and alive.poll() is not None:
                raise RuntimeError(f"the program exited ({alive.returncode}) before showing {title!r}")
            time.sleep(0.1)
        raise TimeoutError(f"no viewable window {title!r} on {self.display} within {timeout} s")

    def screenshot(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", _GRAB, str(path)], env=self.env(), check=True, timeout=30)
        return path

    def stop(self) -> None:
        end_process(self.process, 10)
        self.process = None

    def __enter__(self) -> Xvfb:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
