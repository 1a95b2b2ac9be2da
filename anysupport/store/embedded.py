"""The embedded database: an ``nx-27017`` child process (MongoDB wire protocol over SQLite).

Started on a free loopback port with its data under ``<data_dir>/db``, waited for until it answers,
and stopped with the server. On Linux the child also gets SIGTERM if the server itself dies
(``PR_SET_PDEATHSIG``), so no database process outlives its server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time

log = logging.getLogger("anysupport.store")

_LAUNCH = (
    "import sys\n"
    "from nx_27017.nx_27017 import main\n"
    "sys.argv[0] = 'nx-27017'\n"
    "sys.exit(main())\n"
)


class EmbeddedDatabaseError(RuntimeError):
    """The embedded database could not start or died; the message says what to do."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedMongo:
    def __init__(self, data_dir: str, *, start_timeout: float = 20.0):
        self.data_dir = os.path.abspath(os.path.join(data_dir, "db"))
        self.start_timeout = start_timeout
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    def _log_path(self) -> str:
        return os.path.join(self.data_dir, "nx-27017.log")

    def _tail_log(self) -> str:
        with contextlib.suppress(OSError), open(self._log_path(), encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-5:]).strip()
        return ""

    async def start(self) -> str:
        try:
            import nx_27017  # noqa: F401
        except ImportError:
            raise EmbeddedDatabaseError(
                "the embedded database needs the package nx-27017: pip install 'anysupport[server]', "
                "or give --mongo-uri of a real MongoDB"
            ) from None
        os.makedirs(self.data_dir, exist_ok=True)
        last_error = ""
        for _attempt in range(3):  # the free port can be taken between our probe and the child's bind
            self.port = free_port(self.host)
            args = [
                sys.executable, "-c", _LAUNCH,
                "--data-dir", self.data_dir,
                "--host", self.host,
                "--port", str(self.port),
                "--log-file", self._log_path(),
                "--pid-file", os.path.join(self.data_dir, "nx-27017.pid"),
            ]  # fmt: skip
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the server, which stops us in order
            )
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    last_error = f"it exited with code {self.process.returncode}. {self._tail_log()}"
                    break
                try:
                    _r, w = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 0.5)
                    w.close()
                    log.info("embedded database (nx-27017) on %s:%s, data in %s", self.host, self.port, self.data_dir)
                    return self.uri
                except (OSError, TimeoutError):
                    await asyncio.sleep(0.05)
            else:
                await self.stop()
                raise EmbeddedDatabaseError(
                    f"the embedded database did not answer within {self.start_timeout:g} s "
                    f"(log: {self._log_path()}). {self._tail_log()}"
                )
        raise EmbeddedDatabaseError(f"the embedded database could not start: {last_error} (log: {self._log_path()})")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        for _ in range(100):
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        else:
            proc.kill()
            proc.wait()
        log.info("embedded database stopped")
