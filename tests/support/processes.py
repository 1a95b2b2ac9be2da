"""Ending a child process of a test: ask it (a signal), wait, then kill it."""

from __future__ import annotations

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
