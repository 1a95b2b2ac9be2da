"""``ReconnectingSocket``: the reconnection rule of both clients, against a real WebSocket server.

The server here is Tornado's own WebSocket handler on a free port, scripted by each test (close with a
code, refuse the handshake, answer pings), so every branch of the rule is reached on purpose; the
console and the customer run the same rule against the real AnySupport server in
``test_agent_client.py``, ``test_pipeline.py``, ``test_customer_restart.py`` and ``tests/cluster``.
Time that matters (the grace, the round trip) comes from an injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Iterator

import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket
from anysupport_client.api import ControlSocket
from anysupport_client.session.connection import FINAL_CLOSE_CODES, ReconnectingSocket, backoff

from tests.clients.conftest import wait_until
from tests.clients.throttle import ThrottledProxy

TOKEN = "the-token"


class Script:
    """What the server does: who connected, and what to answer the next handshakes."""

    def __init__(self):
        self.sockets: asyncio.Queue[tuple[str, Handler]] = asyncio.Queue()  # (path, handler) per socket opened
        self.refuse: int | None = None  # answer handshakes with this HTTP status
        self.on_refusal = lambda: None  # called at each refused handshake
        self.refused = 0
        self.on_ping = lambda: None  # called before answering a ping
        self.tokens: list[str] = []


class Handler(tornado.websocket.WebSocketHandler):
    def initialize(self, script: Script):
        self.script = script

    def prepare(self):
        self.script.tokens.append(self.request.headers.get("Authorization", ""))
        status = self.script.refuse
        if status is not None:
            self.script.refused += 1
            self.script.on_refusal()
            raise tornado.web.HTTPError(status)

    def open(self):
        self.script.sockets.put_nowait((self.request.path, self))

    def on_message(self, message):
        message = json.loads(message)
        if message.get("type") == "ping":
            self.script.on_ping()
            self.write_message(json.dumps({"type": "pong", "id": message["id"]}))
        else:
            self.write_message(json.dumps({"type": "echo", "of": message}))


def listen(app: tornado.web.Application) -> tuple[tornado.httpserver.HTTPServer, int]:
    """``app`` served on a free loopback port: the server and the port."""
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    http = tornado.httpserver.HTTPServer(app)
    http.add_sockets(sockets)
    return http, sockets[0].getsockname()[1]


@pytest.fixture
async def server():
    script = Script()
    http, port = listen(tornado.web.Application([(r"/(?:b/)?ws", Handler, {"script": script})]))
    script.url = f"ws://127.0.0.1:{port}"
    yield script
    http.stop()
    await http.close_all_connections()


class Owner:
    """What a client gives the connection: it keeps what arrives and what the link does, as futures."""

    def __init__(self, script: Script, **options):
        self.messages: asyncio.Queue[dict] = asyncio.Queue()
        self.statuses: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()
        self.connection = ReconnectingSocket(script.url + "/ws", TOKEN, on_message=self.messages.put_nowait,
                                             on_frame=self.frames.put_nowait,
                                             on_status=lambda status, data: self.statuses.put_nowait((status, data)),
                                             **options)
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.connection.start()
        self.task = asyncio.ensure_future(self.connection.run())

    async def status(self) -> tuple[str, dict]:
        return await asyncio.wait_for(self.statuses.get(), 10)

    async def finished(self) -> None:
        await asyncio.wait_for(self.task, 10)

    async def close(self) -> None:
        self.connection.close()
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)


async def opened(script: Script) -> tuple[str, Handler]:
    return await asyncio.wait_for(script.sockets.get(), 10)


def never() -> Iterator[float]:
    """A back-off so long that a test waiting on it would time out: what must happen at once does."""
    return itertools.repeat(3600.0)


def quick() -> Iterator[float]:
    """A short back-off, for tests that go through many attempts."""
    return itertools.repeat(0.01)


def test_the_backoff_doubles_up_to_its_cap():
    assert list(itertools.islice(backoff(), 6)) == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


async def test_a_drop_comes_back_with_the_same_token_and_the_owner_hears_of_it(server):
    owner = Owner(server)
    await owner.start()
    try:
        _path, first = await opened(server)
        assert owner.connection.send_json({"type": "chat", "text": "a"})
        assert (await asyncio.wait_for(owner.messages.get(), 10))["of"]["text"] == "a"
        owner.connection.abort()  # no close handshake: as the network would
        assert (await owner.status())[0] == "reconnecting"
        await opened(server)
        assert await owner.status() == ("back", {})
        assert owner.connection.reconnects == 1 and server.tokens == [f"Bearer {TOKEN}"] * 2
        assert owner.connection.send_json({"type": "chat", "text": "b"})
        assert (await asyncio.wait_for(owner.messages.get(), 10))["of"]["text"] == "b"
    finally:
        await owner.close()


@pytest.mark.parametrize("code", [1000, 1001, 4008, 4009])
async def test_a_close_that_is_not_final_comes_back_and_says_its_code(server, code):
    owner = Owner(server)
    await owner.start()
    try:
        _path, socket = await opened(server)
        socket.close(code, "bye")
        assert await owner.status() == ("reconnecting", {"code": code})
        await opened(server)
        assert (await owner.status())[0] == "back"
    finally:
        await owner.close()


@pytest.mark.parametrize("code", sorted(FINAL_CLOSE_CODES))
async def test_a_final_close_code_ends_the_connection(server, code):
    owner = Owner(server)
    await owner.start()
    _path, socket = await opened(server)
    socket.close(code, "final")
    await owner.finished()
    assert owner.statuses.empty() and owner.connection.socket is None
    assert (owner.connection.close_code, owner.connection.close_reason) == (code, "final")
    assert server.sockets.empty()


async def test_the_owner_saying_it_is_over_ends_the_connection(server):
    over = {"now": False}
    owner = Owner(server, over=lambda: over["now"])
    await owner.start()
    _path, socket = await opened(server)
    over["now"] = True  # the console was kicked, or the customer's session ended and its survey is answered
    socket.close(1000, "")
    await owner.finished()
    assert owner.statuses.empty()


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_a_refused_handshake_ends_it_and_says_so(server, status):
    owner = Owner(server)
    await owner.start()
    _path, socket = await opened(server)
    server.refuse = status  # the token was revoked, or the session is gone
    socket.close(1001, "server_shutdown")
    assert (await owner.status())[0] == "reconnecting"
    assert await owner.status() == ("refused", {"code": status})
    await owner.finished()
    assert server.refused == 1


async def test_it_keeps_trying_within_the_grace_and_gives_up_after_it(server):
    now = [100.0]
    owner = Owner(server, grace=30.0, clock=lambda: now[0], delays=quick)
    await owner.start()
    _path, socket = await opened(server)
    server.refuse = 503  # the server restarting: worth trying again

    def refused() -> None:
        if server.refused == 3:
            now[0] += 31  # the third attempt comes after the grace

    server.on_refusal = refused
    socket.close(1001, "server_shutdown")
    await owner.finished()
    assert server.refused == 3 and owner.statuses.get_nowait()[0] == "reconnecting" and owner.statuses.empty()


async def test_without_a_grace_it_tries_until_it_is_back(server):
    now = [100.0]
    owner = Owner(server, clock=lambda: now[0], delays=quick)  # the console: its token stays valid, however long
    await owner.start()
    try:
        _path, socket = await opened(server)
        server.refuse = 503

        def refused() -> None:
            now[0] += 3600
            if server.refused == 3:
                server.refuse = None

        server.on_refusal = refused
        socket.close(1001, "server_shutdown")
        await opened(server)
        assert [(await owner.status())[0] for _ in range(2)] == ["reconnecting", "back"]
    finally:
        await owner.close()


async def test_a_socket_that_died_without_a_close_is_tried_again_at_once_then_backs_off(server):
    owner = Owner(server, delays=never)  # any wait would be an hour: what comes back came back at once
    await owner.start()
    try:
        await opened(server)
        owner.connection.abort()  # the network (or the phone's OS on a network change) killed it: no close code
        await opened(server)
        assert [(await owner.status())[0] for _ in range(2)] == ["reconnecting", "back"]
        server.refuse = 503
        owner.connection.abort()  # the one immediate try is refused; the next waits for the back-off
        assert (await owner.status())[0] == "reconnecting"
        await wait_until(lambda: server.refused == 1)
        await asyncio.sleep(0.2)  # nothing to wait on: the back-off is an hour, a second try would come now
        assert server.refused == 1 and server.sockets.empty()
    finally:
        await owner.close()


async def test_a_socket_the_server_closed_with_a_code_waits_before_trying_again(server):
    owner = Owner(server, delays=never)
    await owner.start()
    try:
        _path, socket = await opened(server)
        socket.close(1001, "server_shutdown")
        assert (await owner.status())[0] == "reconnecting"
        await asyncio.sleep(0.2)
        assert server.sockets.empty()
    finally:
        await owner.close()


async def test_moved_goes_to_the_new_address_at_once(server):
    owner = Owner(server, delays=never)
    await owner.start()
    try:
        path, socket = await opened(server)
        assert path == "/ws"
        owner.connection.follow(server.url + "/b/ws")
        socket.close(4004, "moved")
        path, _socket = await opened(server)  # with the back-off it would wait an hour
        assert path == "/b/ws" and (await owner.status())[0] == "reconnecting"
        assert (await owner.status())[0] == "back"
        assert owner.connection.url == server.url + "/b/ws"
    finally:
        await owner.close()


async def test_closing_while_away_stops_trying(server):
    owner = Owner(server, delays=never)
    await owner.start()
    _path, socket = await opened(server)
    socket.close(1001, "server_shutdown")
    assert (await owner.status())[0] == "reconnecting"
    owner.connection.close()  # during the back-off
    await owner.finished()
    assert server.sockets.empty() and owner.statuses.empty()


async def test_a_killed_client_does_not_come_back(server):
    owner = Owner(server)
    await owner.start()
    await opened(server)
    owner.connection.abort(reconnect=False)
    await owner.finished()
    assert owner.statuses.empty() and server.sockets.empty()


async def test_pings_measure_the_round_trip_and_the_pong_still_reaches_the_owner(server):
    now = [100.0]
    server.on_ping = lambda: now.__setitem__(0, now[0] + 0.0123)  # 12.3 ms between ping and pong
    owner = Owner(server, ping_interval=0.2, clock=lambda: now[0])
    await owner.start()
    try:
        await opened(server)
        assert owner.connection.rtt_ms is None
        pong = await asyncio.wait_for(owner.messages.get(), 10)
        assert pong == {"type": "pong", "id": 1} and owner.connection.rtt_ms == 12.3
    finally:
        await owner.close()


async def test_binary_frames_go_to_the_owner_and_sending_while_away_fails(server):
    owner = Owner(server, delays=never)
    await owner.start()
    try:
        _path, socket = await opened(server)
        socket.write_message(b"\x01\x02", binary=True)
        assert await asyncio.wait_for(owner.frames.get(), 10) == b"\x01\x02"
        socket.close(1001, "")
        assert (await owner.status())[0] == "reconnecting"
        assert not owner.connection.send_json({"type": "chat"}) and not owner.connection.send_binary(b"x")
        assert owner.connection.pending_bytes == 0
    finally:
        await owner.close()


# -- the socket's own queue: voice before video, stale video dropped -----------------------------------
class Recorder(tornado.websocket.WebSocketHandler):
    def initialize(self, got: list):
        self.got = got

    def on_message(self, message):
        self.got.append(message)


@contextlib.asynccontextmanager
async def recorder_behind_a_proxy():
    """A WebSocket server that keeps every message it gets, behind a ThrottledProxy: (messages, proxy)."""
    got: list[bytes] = []
    http, port = listen(tornado.web.Application([(r"/ws", Recorder, {"got": got})]))
    proxy = await ThrottledProxy("127.0.0.1", port).start()
    try:
        yield got, proxy
    finally:
        proxy.rate = None
        await proxy.close()
        http.stop()


async def test_voice_goes_ahead_of_queued_video_and_video_that_waited_too_long_is_dropped():
    now = [0.0]
    async with recorder_behind_a_proxy() as (got, proxy):
        socket = await ControlSocket.open(proxy.url.replace("http:", "ws:") + "/ws", TOKEN, notsent_lowat=16384)
        socket.clock = lambda: now[0]
        dropped: list[int] = []
        socket.on_video_dropped = lambda count: dropped.append(count)
        proxy.rate = 400_000  # bytes/s: 2.4 MB of video takes 6 s, so most of it waits in our queue
        for k in range(300):
            assert socket.send_binary(b"v" + k.to_bytes(2, "big") + bytes(8000), video=True)
        assert socket.video and socket.pending_bytes > 2_000_000  # counted where the sender sees it
        assert socket.send_binary(b"a-voice-packet")  # not video: goes now, behind at most one video frame
        await wait_until(lambda: b"a-voice-packet" in got, 10)
        assert len(socket.video) > 200  # the voice did not wait for them
        now[0] += 1.0  # the queued video is stale now: dropped when Tornado asks for more, not sent late
        await wait_until(lambda: not socket.video and socket.in_tornado == 0, 10)
        assert socket.video_dropped > 200 and sum(dropped) == socket.video_dropped
        await wait_until(lambda: len(got) == 300 - socket.video_dropped + 1, 10)
        video = [m for m in got if m.startswith(b"v")]
        assert [int.from_bytes(m[1:3], "big") for m in video] == sorted(int.from_bytes(m[1:3], "big") for m in video)
        socket.close()


async def test_frames_queued_behind_a_keyframe_wait_from_when_it_reached_the_kernel():
    now = [0.0]
    async with recorder_behind_a_proxy() as (got, proxy):
        socket = await ControlSocket.open(proxy.url.replace("http:", "ws:") + "/ws", TOKEN, notsent_lowat=16384)
        socket.clock = lambda: now[0]
        proxy.rate = 1_000_000
        assert socket.send_binary(b"k" + bytes(1_500_000), video=True, keyframe=True)  # 1.5 s of link
        for k in range(10):
            assert socket.send_binary(b"p" + k.to_bytes(2, "big") + bytes(2000), video=True)
        await wait_until(lambda: socket.in_tornado > 0 and len(socket.video) == 10, 10)
        now[0] += 1.0  # a long wait, all of it behind the keyframe
        await wait_until(lambda: not socket.video and socket.in_tornado == 0, 10)
        assert socket.video_dropped == 0
        await wait_until(lambda: len(got) == 11, 10)
        socket.close()
