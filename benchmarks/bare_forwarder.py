"""The baseline for the relay benchmark: a bare Tornado WebSocket forwarder.

It pairs two sockets by ``?pair=ID`` and writes every binary message it gets on one to the other,
with nothing else: no authentication, header parsing, queues or counters. Run by
``relay_load.py --baseline`` in a separate process, like the real server.

    .venv/bin/python benchmarks/bare_forwarder.py --port 0 [--loop asyncio|uvloop]
        # prints "listening on http://127.0.0.1:PORT"
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import tornado.netutil
import tornado.web
import tornado.websocket


class Forward(tornado.websocket.WebSocketHandler):
    pairs: dict[str, list] = {}

    def open(self) -> None:
        self.pair = self.get_query_argument("pair")
        self.pairs.setdefault(self.pair, []).append(self)

    def on_message(self, message) -> None:
        for other in self.pairs.get(self.pair, ()):
            if other is not self:
                other.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        members = self.pairs.get(self.pair, [])
        if self in members:
            members.remove(self)


async def main(port: int) -> None:
    app = tornado.web.Application([(r"/ws", Forward)], websocket_max_message_size=1 << 20)
    sockets = tornado.netutil.bind_sockets(port, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    print(f"listening on http://127.0.0.1:{sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


if __name__ == "__main__":
    import tornado.httpserver

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main(args.port))
