"""A TCP proxy whose client→server direction can be throttled: a slow uplink, as on a weak mobile link."""

from __future__ import annotations

import asyncio

CHUNK = 4096


class ThrottledProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.rate: float | None = None  # bytes per second client → server; None = unthrottled
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> ThrottledProxy:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0, limit=CHUNK)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self.server.close()
        for task in list(self._tasks):
            task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target, limit=CHUNK)
        for coro in (self._pump(reader, up_writer, throttled=True), self._pump(up_reader, writer, throttled=False)):
            task = asyncio.ensure_future(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, throttled: bool) -> None:
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
                if throttled and self.rate:
                    await asyncio.sleep(len(data) / self.rate)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
