"""The embedded database: an ``nx-27017`` child process (MongoDB wire protocol over SQLite).

Started on a free loopback port with its data under ``<data_dir>/db``, waited for until it answers,
and stopped with the server. On Linux the child also gets SIGTERM if the server itself dies
(``PR_SET_PDEATHSIG``), and a thread in the child (``launch_program``) ends it ``ORPHAN_GRACE`` seconds after
its server is gone if it has not stopped by then, so no database process outlives its server.

The data directory belongs to one process at a time: ``DataDirLock`` takes an OS file lock
(``fcntl.flock``) on ``<data_dir>/anysupport.lock`` before the child starts, atomically, so of two
servers started at once exactly one gets it; the other is told the holder's PID. The kernel drops
the lock when its process ends, however it ends, so a crash never leaves a stale lock behind.

When the child dies, the store's supervisor restarts it on the same port (``restart``) as
``RestartPolicy`` allows: a bounded number of attempts with growing delays.
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
from collections.abc import Callable

try:
    import fcntl
except ImportError:  # Windows: no flock; the lock is then taken with msvcrt
    fcntl = None

log = logging.getLogger("anysupport.store")

_LAUNCH = (
    "import sys\n"
    "from nx_27017.nx_27017 import main\n"
    "sys.argv[0] = 'nx-27017'\n"
    "sys.exit(main())\n"
)
# PR_SET_PDEATHSIG asks the child to stop in order (SIGTERM) when its server dies; should that take longer
# than ORPHAN_GRACE seconds (its shutdown waits for the queries still running in its threads, which a
# loaded machine makes slow), this watcher, run first in the child, ends it. SQLite keeps every committed
# write either way.
ORPHAN_GRACE = 10.0
_WATCH = (
    "import os, threading, time\n"
    "def _watch(server, grace):\n"
    "    while os.getppid() == server:\n"
    "        time.sleep(0.5)\n"
    "    time.sleep(grace)\n"
    "    os._exit(0)\n"
    "threading.Thread(target=_watch, args=({server}, {grace}), daemon=True).start()\n"
)


def launch_program(server_pid: int, grace: float = ORPHAN_GRACE) -> str:
    """The ``python -c`` program of the database child of ``server_pid``: nx-27017, ended ``grace`` seconds
    after that process is gone if it is still running then."""
    return _WATCH.format(server=int(server_pid), grace=float(grace)) + _LAUNCH


class EmbeddedDatabaseError(RuntimeError):
    """The embedded database could not start or died; the message says what to do."""


class DataDirInUse(EmbeddedDatabaseError):
    """Another process (a server, or an ``anysupport agent`` command) holds the data directory."""

    def __init__(self, data_dir: str, pid: int | None):
        self.data_dir = data_dir
        self.pid = pid
        holder = f"PID {pid}" if pid else "PID unknown"
        super().__init__(
            f"the data directory {data_dir} is in use by another AnySupport process ({holder}); "
            "stop that one first, or give this one another --data-dir"
        )


LOCK_NAME = "anysupport.lock"


class DataDirLock:
    """An exclusive OS file lock on ``<data_dir>/anysupport.lock``, holding the owner's PID as text."""

    def __init__(self, data_dir: str):
        self.data_dir = os.path.abspath(data_dir)
        self.path = os.path.join(self.data_dir, LOCK_NAME)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        try:
            os.makedirs(self.data_dir, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # not truncated: the holder's PID stays readable
        except OSError as exc:
            why = "it is a file, not a folder" if os.path.isfile(self.data_dir) else (exc.strerror or str(exc))
            raise EmbeddedDatabaseError(
                f"cannot use the data directory {self.data_dir}: {why}; "
                "give --data-dir a folder this user may write to"
            ) from None
        try:
            _lock(fd)
        except BlockingIOError:
            os.close(fd)
            raise DataDirInUse(self.data_dir, self._holder()) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def _holder(self) -> int | None:
        # the holder writes its PID just after taking the lock: give it a moment when both start at once
        deadline = time.monotonic() + 2.0
        while True:
            with contextlib.suppress(OSError, ValueError), open(self.path, encoding="ascii") as fh:
                return int(fh.read().split()[0])
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the descriptor drops the lock


def _lock(fd: int) -> None:
    """Take the lock without waiting; ``BlockingIOError`` when another process has it."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    import msvcrt

    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        raise BlockingIOError("locked") from None


class RestartPolicy:
    """How often a dead embedded database is restarted: ``attempts`` in a row, the delays doubling from
    ``first_delay`` up to ``max_delay``; the count starts again once a restart has stayed up for
    ``stable_after`` seconds. The clock is injected (tests drive it)."""

    def __init__(self, attempts: int = 5, *, first_delay: float = 0.25, max_delay: float = 4.0,
                 stable_after: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.clock = clock
        self.used = 0
        self._up_since: float | None = None

    def failed(self) -> float | None:
        """The database is down (died, or a restart failed): seconds to wait before the next attempt,
        or None when the attempts are used up."""
        if self._up_since is not None and self.clock() - self._up_since >= self.stable_after:
            self.used = 0
        self._up_since = None
        if self.used >= self.attempts:
            return None
        self.used += 1
        return min(self.first_delay * 2 ** (self.used - 1), self.max_delay)

    def started(self) -> None:
        """A restart succeeded (the count is kept until it has stayed up for ``stable_after``)."""
        self._up_since = self.clock()


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
    def __init__(self, data_dir: str, *, start_timeout: float = 20.0, orphan_grace: float = ORPHAN_GRACE):
        self.lock = DataDirLock(data_dir)
        self.orphan_grace = orphan_grace
        self.data_dir = os.path.abspath(os.path.join(data_dir, "db"))
        self.start_timeout = start_timeout
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    @property
    def log_path(self) -> str:
        return self._log_path()

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def _pid_path(self) -> str:
        return os.path.join(self.data_dir, "nx-27017.pid")

    def _log_path(self) -> str:
        return os.path.join(self.data_dir, "nx-27017.log")

    def _tail_log(self) -> str:
        with contextlib.suppress(OSError), open(self._log_path(), encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-5:]).strip()
        return ""

    async def start(self) -> str:
        """Take the data directory's lock, start the child on a free port; its URI."""
        self.lock.acquire()
        try:
            return await self._launch(None)
        except BaseException:
            self.lock.release()
            raise

    async def restart(self) -> str:
        """Start the child again after it died, on the same port when it is free; its URI."""
        if self.process is not None and self.process.poll() is None:
            return self.uri
        self.process = None
        return await self._launch(self.port)

    async def _launch(self, port: int | None) -> str:
        try:
            import nx_27017  # noqa: F401
        except ImportError:
            raise EmbeddedDatabaseError(
                "the embedded database needs the package nx-27017: pip install 'anysupport[server]', "
                "or give --mongo-uri of a real MongoDB"
            ) from None
        os.makedirs(self.data_dir, exist_ok=True)
        # nx-27017 refuses to start while its PID file names a live process; a child killed with -9
        # leaves the file behind, and its PID may belong to someone else by now. We hold the data
        # directory's lock, so no other nx-27017 can be using it: the file is stale.
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._pid_path())
        last_error = ""
        for attempt in range(3):  # the free port can be taken between our probe and the child's bind
            self.port = port if port is not None and attempt == 0 else free_port(self.host)
            args = [
                sys.executable, "-c", launch_program(os.getpid(), self.orphan_grace),
                "--data-dir", self.data_dir,
                "--host", self.host,
                "--port", str(self.port),
                "--log-file", self._log_path(),
                "--pid-file", self._pid_path(),
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
                await self.stop_child()
                raise EmbeddedDatabaseError(
                    f"the embedded database did not answer within {self.start_timeout:g} s "
                    f"(log: {self._log_path()}). {self._tail_log()}"
                )
        raise EmbeddedDatabaseError(f"the embedded database could not start: {last_error} (log: {self._log_path()})")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def stop(self) -> None:
        """Stop the child and give up the data directory."""
        try:
            await self.stop_child()
        finally:
            self.lock.release()

    async def stop_child(self) -> None:
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
