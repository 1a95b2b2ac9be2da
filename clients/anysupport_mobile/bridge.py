"""The Qt side of a ``CustomerSession``: it runs on its own asyncio thread; events come back as signals.

The window never blocks on the network or the codecs: the session, its media and the preview's
compositing run on a ``LoopThread``; the window gets ready-to-show RGB arrays and plain events
through queued signals, and calls the session back with ``call``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from anysupport_client.loop import LoopThread
from anysupport_client.session import CustomerSession

from .qt import QObject, pyqtSignal


class SessionBridge(QObject):
    event = pyqtSignal(str, object)
    preview = pyqtSignal(object)  # RGB24 ndarray with the agent's drawings composited
    agent_frame = pyqtSignal(object)  # RGB24 ndarray of the agent's camera

    def __init__(self, make_session: Callable[[], CustomerSession], *, preview_fps: float = 30.0):
        super().__init__()
        self.thread = LoopThread("anysupport-mobile-media").start()
        self.preview_interval = 1.0 / preview_fps
        self._last_preview = 0.0
        self.session: CustomerSession = self.thread.run(self._create(make_session), timeout=10)
        self.session.listeners.append(self._on_event)

    @staticmethod
    async def _create(make_session: Callable[[], CustomerSession]) -> CustomerSession:
        return make_session()

    def join(self, code: str) -> None:
        future = self.thread.submit(self.session.start(code))

        def done(f) -> None:
            exc = f.exception()
            if exc is not None:  # ApiError carries the server's code and its text in our language
                self.event.emit("join_failed", {"error": getattr(exc, "error", None), "message": getattr(exc, "message", "")})

        future.add_done_callback(done)

    def call(self, method: str, *args: Any) -> None:
        self.thread.call(getattr(self.session, method), *args)

    def close(self) -> None:
        if self.thread.running:
            try:
                self.thread.run(self.session.close(), timeout=10)
            except Exception:  # closing must not fail the window's shutdown
                pass
            self.thread.stop()

    # runs on the media thread
    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "preview":
            now = time.monotonic()
            if now - self._last_preview >= self.preview_interval:
                self._last_preview = now
                self.preview.emit(self.session.preview_rgb(data["frame"]))
        elif name == "agent_frame":
            self.agent_frame.emit(data["frame"].to_ndarray(format="rgb24"))
        else:
            self.event.emit(name, dict(data))
