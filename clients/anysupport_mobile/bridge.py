"""The Qt side of a ``CustomerSession``: it runs on the bridge's asyncio thread; events come back as signals.

The window never blocks on the network or the codecs: the session, its media and the preview's
compositing run on the ``LoopBridge``'s thread; the window gets ready-to-show RGB arrays and plain
events through queued signals, and calls the session back with ``call``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from anysupport_client.session import CustomerSession
from anysupport_qt import LoopBridge, pyqtSignal


class SessionBridge(LoopBridge):
    preview = pyqtSignal(object)  # RGB24 ndarray with the agent's drawings composited
    agent_frame = pyqtSignal(object)  # RGB24 ndarray of the agent's camera

    def __init__(self, make_session: Callable[[], CustomerSession], *, preview_fps: float = 30.0):
        super().__init__(thread_name="anysupport-mobile-media")
        self.preview_interval = 1.0 / preview_fps
        self._last_preview = 0.0
        self.session: CustomerSession = self.create(make_session)
        self.session.listeners.append(self._on_event)

    def join(self, code: str | None) -> None:
        self.submit(self.session.start(code), failed="join_failed")

    def call(self, method: str, *args: Any) -> None:  # type: ignore[override] (by name: the window has no session)
        super().call(getattr(self.session, method), *args)

    def close(self) -> None:  # type: ignore[override]
        super().close(self.session.close())

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
            self.forward(name, data)
