"""A client that never reads cannot grow the server (control byte budget, close 4009), and only answers
to our own pings keep a socket alive (unsolicited pongs do not)."""

import asyncio

import psutil
import pytest

from anysupport.protocol.messages import CLIENT_SCHEMAS, SERVER_SCHEMAS
from anysupport.web.app import all_routes
from anysupport.web.openapi import route_methods
from anysupport.ws.heartbeat import Heartbeat
from tests.support.client import Api, Socket
from tests.support.rawws import OP_PING, OP_PONG, OP_TEXT, RawSocket, flood_without_reading
from tests.support.server import ADMIN_PASSWORD


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- the heartbeat rule, with an injected clock --------------------------------------------------------------
def test_only_an_answer_to_our_own_ping_counts():
    clock = Clock()
    beat = Heartbeat(10, 20, clock=clock)
    assert not beat.due()
    clock.now = 10
    assert beat.due()
    payload = beat.ping()
    assert not beat.due()
    for stamp in (11, 15, 25, 30):
        clock.now = stamp
        assert not beat.pong(b"") and not beat.pong(b"forged") and not beat.pong(payload[:4])
    assert not beat.dead()
    clock.now = 30.5
    assert beat.dead() and beat.unsolicited == 12 and beat.answered == 0


def test_an_answer_settles_that_ping_and_the_older_ones():
    clock = Clock()
    beat = Heartbeat(10, 25, clock=clock)
    clock.now = 10
    first = beat.ping()
    clock.now = 20
    second = beat.ping()
    clock.now = 30
    third = beat.ping()
    assert beat.pong(second) and not beat.pong(first)  # settled with the second
    clock.now = 54
    assert not beat.dead()  # the third, sent at 30, has waited 24 s
    clock.now = 55.1
    assert beat.dead()
    assert beat.pong(third) and not beat.dead()


def test_forgotten_payloads_still_count_their_time():
    clock = Clock()
    beat = Heartbeat(1, 100, clock=clock)
    for stamp in range(1, 40):  # more pings than the payloads remembered
        clock.now = stamp
        beat.ping()
    clock.now = 101.5
    assert beat.dead()  # the first ping (t=1) was never answered


# -- every string in every schema is bounded ---------------------------------------------------------------
def unbounded(node, path="", out=None):
    out = [] if out is None else out
    if isinstance(node, dict):
        types = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
        if "string" in types and "maxLength" not in node and not bounded_pattern(node.get("pattern")):
            out.append(path)
        for key, value in node.items():
            unbounded(value, f"{path}.{key}", out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            unbounded(value, f"{path}[{i}]", out)
    return out


def bounded_pattern(pattern):
    import re

    return bool(pattern) and pattern.startswith("^") and pattern.endswith("$") and not re.search(
        r"(?<!\\)[*+]|\{\d+,\}", pattern)


def test_every_string_of_every_control_message_has_a_max_length():
    for direction, schemas in (("client", CLIENT_SCHEMAS), ("server", SERVER_SCHEMAS)):
        for kind, schema in schemas.items():
            assert unbounded(schema) == [], (direction, kind)
            # strict here: the length is stated even where a pattern bounds it
            assert [p for p in _strings(schema) if "maxLength" not in p] == [], (direction, kind)


def _strings(node):
    if isinstance(node, dict):
        types = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
        if "string" in types:
            yield node
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def test_every_string_of_every_rest_body_and_query_is_bounded():
    for pattern, handler, *_ in all_routes():
        for method, spec in route_methods(handler).items():
            if spec is None:
                continue
            assert unbounded(spec.body) == [] and unbounded(spec.query) == [], (pattern, method)


# -- end to end -------------------------------------------------------------------------------------------------
async def admin_token(srv) -> str:
    token, _ = await Api(srv.url).login("admin", ADMIN_PASSWORD, force=True)
    return token


async def test_the_stream_counters_the_budget_reads_exist(server, admin):
    """``unwritten_bytes`` reads two private IOStream counters: fail loudly if Tornado renames them."""
    import tornado.iostream

    stream = tornado.iostream.IOStream(__import__("socket").socket())
    assert stream._total_write_index == 0 and stream._total_write_done_index == 0
    stream.close()


async def test_a_client_that_never_reads_is_closed_at_the_byte_budget(make_server):
    # rate limits raised so that every ping is answered: the byte budget alone has to stop it
    budget = 1_048_576  # control_queue_bytes' default
    srv = make_server({"control_rate": 100000, "control_burst": 100000, "control_max_invalid": 100000})
    result = await flood_without_reading(srv.ws_base + "/ws", await admin_token(srv), srv.process.pid, seconds=4)
    srv.wait_for_log(r"closing agent socket: not reading")
    # the close frame waits behind what the client never read; the server gives up on it after 5 s
    assert (result["close_code"], result["close_reason"]) in ((4009, "not_reading"), (None, "")), result
    assert result["growth"] < budget, result
    # everyone else is served as before
    assert (await Api(srv.url).get("/healthz")).status == 200
    sock = await Socket.connect(srv.ws_base, await admin_token(srv))
    await sock.recv_type("hello")
    await sock.send({"type": "ping", "id": "still-here"})
    assert (await sock.recv_type("pong"))["id"] == "still-here"
    sock.close()


async def test_a_non_reader_at_full_speed_with_default_limits_grows_the_server_less_than_the_budget(make_server):
    srv = make_server()
    budget = 1_048_576  # control_queue_bytes' default
    result = await flood_without_reading(srv.ws_base + "/ws", await admin_token(srv), srv.process.pid, seconds=3)
    assert result["growth"] < budget, result
    assert (await Api(srv.url).get("/healthz")).status == 200
    assert psutil.Process(srv.process.pid).is_running()


async def test_unsolicited_pongs_do_not_keep_a_dead_reader_alive(make_server):
    srv = make_server({"ws_ping_interval": 0.2, "ws_ping_timeout": 1.0})
    sock = await RawSocket.connect(srv.ws_base + "/ws", await admin_token(srv))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while loop.time() < deadline and not any("no answer to our ping" in line for line in srv.lines):
        await sock.send(OP_PONG, b"i am alive, honest")
        await asyncio.sleep(0.05)  # pacing the forged pongs, not waiting for a result
    code, reason, _ = await sock.read_until_close()
    assert (code, reason) == (4009, "ping_timeout")


async def test_a_client_that_answers_our_pings_stays(make_server):
    srv = make_server({"ws_ping_interval": 0.1, "ws_ping_timeout": 1.0})
    sock = await RawSocket.connect(srv.ws_base + "/ws", await admin_token(srv))
    answered = 0
    while answered < 25:  # 25 pings answered: 2.5 s, over two timeouts
        opcode, payload = await asyncio.wait_for(sock.read_frame(), 10)
        if opcode == OP_PING:
            await sock.send(OP_PONG, payload)
            answered += 1
    await sock.send_json({"type": "ping", "id": "alive"})
    while True:
        opcode, payload = await asyncio.wait_for(sock.read_frame(), 10)
        if opcode == OP_PING:
            await sock.send(OP_PONG, payload)
        elif opcode == OP_TEXT and b'"pong"' in payload:
            assert b'"alive"' in payload
            break
    assert not any("no answer to our ping" in line for line in srv.lines)
    sock.close()


@pytest.mark.parametrize("ping_id", ["x" * 65, 2**53])
async def test_ping_ids_are_bounded(server, admin, ping_id):
    sock = await Socket.connect(server.ws_base, admin.token)
    await sock.recv_type("hello")
    await sock.send({"type": "ping", "id": ping_id})
    err = await sock.recv_type("error")
    assert err["error"] == "invalid_message" and err["field"] == "id"
    await sock.send({"type": "ping", "id": "x" * 64})
    assert (await sock.recv_type("pong"))["id"] == "x" * 64
    sock.close()



# -- the control outbox rule, with a socket stand-in whose kernel buffer the test fills and drains -----------
class Pipe:
    """What ControlOutbox sees of a socket: writes, and whether the last one is still unwritten."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.full = False
        self.futures: list[asyncio.Future] = []

    def write(self, text):
        self.written.append(text)
        future = asyncio.get_running_loop().create_future()
        if not self.full:
            future.set_result(None)
        self.futures.append(future)
        return future

    def unwritten(self) -> int:
        return 1 if self.full else 0

    def drain(self) -> None:
        self.full = False
        for future in self.futures:
            if not future.done():
                future.set_result(None)


async def test_outbox_writes_through_while_the_socket_keeps_up():
    from anysupport.ws.outbox import ControlOutbox

    pipe = Pipe()
    box = ControlOutbox(pipe.write, pipe.unwritten, 10_000)
    for i in range(1000):
        assert box.push(f"m{i}")
    assert len(pipe.written) == 1000 and box.backlog == 0


async def test_outbox_queues_behind_a_full_socket_then_refuses_past_the_budget():
    from anysupport.ws.outbox import ITEM_OVERHEAD, ControlOutbox

    pipe = Pipe()
    box = ControlOutbox(pipe.write, pipe.unwritten, 10 * (100 + ITEM_OVERHEAD))
    pipe.full = True
    assert box.push("a" * 100)  # written, but the socket kept it: in flight
    assert pipe.written == ["a" * 100] and box.inflight == 100 + ITEM_OVERHEAD
    for _ in range(9):
        assert box.push("b" * 100)
    assert len(pipe.written) == 1 and len(box.queue) == 9
    assert not box.push("c")  # the tenth queued message would pass the budget
    assert len(box.queue) == 9
    pipe.drain()
    await asyncio.sleep(0)  # one turn of the loop runs the flush callback
    assert len(pipe.written) == 10 and box.backlog == 0  # the queue went out in order, at once


async def test_outbox_drops_everything_once_the_socket_is_closed():
    from anysupport.ws.outbox import ControlOutbox

    box = ControlOutbox(lambda text: None, lambda: 0, 1000)
    assert box.push("x") and box.backlog == 0
