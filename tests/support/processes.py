"""Ending a child process of a test: ask it (a signal), wait, then kill it."""

from __future__ import annotations

import os
import signal
import subprocess


def end_process(proc: subprocess.Popen | None, timeout: float, sig: int = signal.SIGTERM) -> int | None:
    """Send ``sig`` to a running ``proc``, wait ``timeout`` seconds for it, else kill it; its exit code."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def assert_ran_cleanly(stderr: str) -> None:
    """What a desktop program printed shows no fault: Qt found its platform plugin, and no Python
    exception was logged by its ``keep_running`` hook (which keeps the program going, so only this says)."""
    assert "could not load the qt platform plugin" not in stderr.lower(), stderr[-3000:]
    assert "Traceback (most recent call last)" not in stderr, stderr[-6000:]


def alive(pid: int) -> bool:
    """The process runs: it exists and is not a zombie (ended, not reaped yet by whoever adopted it)."""
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False
