"""An asyncio event loop on its own thread, for hosts that own their main thread (Qt, pytest-qt).

The media pipeline and the connection are asyncio code. A Qt window cannot run them on its own
thread without blocking its paint loop, so it starts a ``LoopThread`` and hands coroutines to it;
results come back as ``concurrent.futures.Future``s, events through the host's own thread-safe
mechanism (Qt queued signals).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any


class LoopThread:
    def __init__(self, name: str = "anysupport-media"):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._started.set)
        self.loop.run_forever()
        # let cancelled tasks unwind before the loop goes
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    def start(self) -> LoopThread:
        self._thread.start()
        self._started.wait()
        return self

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        """Run ``coro`` on the loop and wait for its result from this (another) thread."""
        return self.submit(coro).result(timeout)

    def call(self, fn, *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()
