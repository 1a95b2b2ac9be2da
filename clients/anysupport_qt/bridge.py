"""The asyncio-thread bridge: network and media run on their own asyncio loop, Qt on its thread.

A window must never block on the network or the codecs. A ``LoopBridge`` starts a ``LoopThread``
(``anysupport_client.loop``), runs coroutines there, and brings what happens back to the GUI thread
through queued signals: ``event(name, data)`` for the client's events, and the ``on_result`` /
``on_error`` callbacks of ``submit``, which are called on the GUI thread. Subclasses (the mobile
client's ``SessionBridge``, the console's) add their own frame signals.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any

from anysupport_client.loop import LoopThread

from .qt import QObject, pyqtSignal

__all__ = ["LoopBridge", "error_event"]


def error_event(exc: BaseException) -> dict[str, Any]:
    """What a failed call tells the window: the server's code and its text in our language, when it was one."""
    return {"error": getattr(exc, "error", None), "message": getattr(exc, "message", ""),
            "status": getattr(exc, "status", None), "retry_after": getattr(exc, "retry_after", None),
            "body": getattr(exc, "body", None), "exception": type(exc).__name__}


class LoopBridge(QObject):
    event = pyqtSignal(str, object)
    _delivered = pyqtSignal(object, object)  # (callback, value), queued onto the GUI thread

    def __init__(self, *, thread_name: str = "anysupport-media"):
        super().__init__()
        self.thread = LoopThread(thread_name).start()
        self._delivered.connect(self._deliver)

    def create(self, factory: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Build an object on the loop thread (aiortc tracks and asyncio primitives want their loop)."""

        async def make() -> Any:
            return factory()

        return self.thread.run(make(), timeout=timeout)

    def submit(self, coro: Coroutine[Any, Any, Any], *, on_result: Callable[[Any], None] | None = None,
               on_error: Callable[[dict[str, Any]], None] | None = None,
               failed: str | None = None) -> concurrent.futures.Future:
        """Run ``coro`` on the loop; ``on_result(value)`` or ``on_error(error_event)`` run on the GUI thread,
        and a failure is also emitted as ``event(failed, error_event)`` when ``failed`` is given."""
        future = self.thread.submit(coro)

        def done(f: concurrent.futures.Future) -> None:
            if f.cancelled():
                return
            exc = f.exception()
            if exc is None:
                if on_result is not None:
                    self._delivered.emit(on_result, f.result())
                return
            info = error_event(exc)
            if on_error is not None:
                self._delivered.emit(on_error, info)
            if failed is not None:
                self.event.emit(failed, info)

        future.add_done_callback(done)
        return future

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = 10.0) -> Any:
        """Run ``coro`` on the loop and wait for it (start-up and shutdown only: it blocks the caller)."""
        return self.thread.run(coro, timeout)

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` on the loop thread, soon; fire and forget."""
        self.thread.call(fn, *args)

    def forward(self, name: str, data: dict[str, Any] | None = None) -> None:
        """Emit a client event to the GUI thread (call it from the loop thread; the dict is copied)."""
        self.event.emit(name, dict(data or {}))

    def close(self, closing: Coroutine[Any, Any, Any] | None = None, timeout: float = 10.0) -> None:
        if not self.thread.running:
            if closing is not None:
                closing.close()
            return
        if closing is not None:
            try:
                self.thread.run(closing, timeout=timeout)
            except Exception:  # closing must not fail the window's shutdown
                pass
        self.thread.stop()

    @staticmethod
    def _deliver(callback: Callable[[Any], None], value: Any) -> None:
        callback(value)
