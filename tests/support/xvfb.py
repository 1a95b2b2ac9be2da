"""A real X server for tests that open real windows: ``Xvfb`` on a free display, plus looking at it.

Each Xvfb gets a display number no other Xvfb of the run has had: the test worker's own range
(``gw0`` from :100, ``gw1`` from :300, ...) and never a number twice in a run, claimed in a folder of
the run's own that the programs a test starts share (an inner pytest, ``benchmarks.browsers``), because a
new server on a number whose old server is still ending loses its display: "could not connect to display
:0" in a clean CI run when ``-displayfd`` alone picked the first free number for both workers, and ":303"
(the console aborting, -6) when the worker's counter knew nothing of the numbers an inner pytest had used.
``-displayfd`` still tells when the server accepts clients: reading that pipe is the wait, no sleep.
The screen is read back with Qt's ``xcb`` platform in a child process (the test process keeps its
offscreen platform), and windows are found by title with ``xwininfo`` (x11-utils).
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.processes import end_process

_CLAIMS = Path(tempfile.gettempdir()) / "anysupport-xvfb-claims"


def _next_display_number() -> int:
    """A display number that no Xvfb of this test run has used (see the module's docstring): claimed with
    an exclusive create under the run's id, which the processes a test starts (an inner pytest, a benchmark)
    inherit, so they never take a number the worker had, nor it one of theirs."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    base = 100 + 200 * (int(worker[2:]) if worker[2:].isdigit() else 20 + os.getpid() % 100)
    folder = _CLAIMS / (os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}")
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(base, base + 200):
        if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        try:
            os.close(os.open(folder / str(number), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue
        return number
    raise RuntimeError(f"all X displays :{base}-:{base + 199} are taken in this run (left-over Xvfb servers?)")


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

    def start(self, timeout: float = 20.0, attempts: int = 3) -> Xvfb:
        """Start Xvfb and return once a real client (``xwininfo -root``) can connect to it; a server
        that did not come up is started again on the next number, up to ``attempts`` times."""
        errors = []
        for _ in range(attempts):
            self._launch(timeout)
            if self._answers(timeout):
                return self
            errors.append(self._stop_reading_errors())
        raise RuntimeError(f"Xvfb did not come up in {attempts} attempts:\n" + "\n---\n".join(errors))

    def _launch(self, timeout: float) -> None:
        read_end, write_end = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", f":{_next_display_number()}", "-displayfd", str(write_end), "-screen", "0", self.size, "-nolisten", "tcp"],
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
        self.display = f":{number}" if number.isdigit() else None

    def _answers(self, timeout: float) -> bool:
        """The server is alive and a client can connect to its display."""
        if self.display is None or self.process.poll() is not None:
            return False
        try:
            done = subprocess.run(["xwininfo", "-display", self.display, "-root"], capture_output=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0 and self.process.poll() is None

    def _stop_reading_errors(self) -> str:
        process = self.process
        self.stop()
        text = process.stderr.read().decode(errors="replace") if process and process.stderr else ""
        return f"display {self.display}: exit {process.returncode if process else None}: {text[-1500:]}"

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env["DISPLAY"] = self.display
        env["QT_QPA_PLATFORM"] = "xcb"
        env["PYTHONFAULTHANDLER"] = "1"  # a program that aborts prints every thread's Python stack first
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
                said = ""
                if alive.stderr is not None:
                    said = alive.stderr.read()
                    said = said.decode(errors="replace") if isinstance(said, bytes) else said
                raise RuntimeError(f"the program exited ({alive.returncode}) before showing {title!r}; "
                                   f"it printed: {said[-3000:]}")
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
