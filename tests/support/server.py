"""Start the real ``anysupport serve`` (with its own embedded database) in a child process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

from tests.support.processes import end_process

ADMIN_PASSWORD = "admin-test-password"
LISTENING = re.compile(r"listening on (https?)://([^:\s]+):(\d+)")


class ServerProcess:
    def __init__(self, data_dir: str, settings: Mapping[str, object] | None = None, *, admin_password=ADMIN_PASSWORD):
        self.data_dir = data_dir
        self.settings = dict(settings or {})
        self.admin_password = admin_password
        self.process: subprocess.Popen | None = None
        self.lines: list[str] = []
        self.port: int | None = None
        self.scheme = "http"
        self._listening = threading.Event()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return self.url.replace("http", "ws", 1)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANYSUPPORT_") or k == "ANYSUPPORT_NATIVE"}
        if self.admin_password:
            env["ANYSUPPORT_ADMIN_PASSWORD"] = self.admin_password
        env["ANYSUPPORT_LOG_LEVEL"] = "info"
        for key, value in self.settings.items():
            if isinstance(value, list):
                value = ",".join(value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            env[f"ANYSUPPORT_{key.upper()}"] = str(value)
        if os.environ.get("ANYSUPPORT_TEST_MONGO_URI") and "mongo_uri" not in self.settings:
            env["ANYSUPPORT_MONGO_URI"] = os.environ["ANYSUPPORT_TEST_MONGO_URI"]
            env["ANYSUPPORT_MONGO_DB"] = f"anysupport_test_{os.getpid()}_{int(time.time() * 1000)}"
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self._listening.clear()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "anysupport", "serve", "--port", "0", "--data-dir", self.data_dir],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        if not self._listening.wait(timeout):
            self.stop()
            raise RuntimeError("server did not start:\n" + "".join(self.lines[-30:]))
        return self

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.append(line)
            m = LISTENING.search(line)
            if m:
                self.scheme, self.port = m.group(1), int(m.group(3))
                self._listening.set()

    def log_text(self) -> str:
        return "".join(self.lines)

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if regex.search(line):
                    return line
            time.sleep(0.02)
        raise AssertionError(f"no log line matching {pattern!r}:\n" + "".join(self.lines[-20:]))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        proc, self.process = self.process, None
        if proc is None:
            return None
        return end_process(proc, timeout, sig)

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()
