"""The limits of issue 18 fuzzed: hypothesis drives one customer through sequences of what those limits
are there for (sockets opened in a loop with one token, media frames over the rate or malformed, request
bodies that trickle in or stop, more connections from one address than it may hold) against a server whose
limits are set so low that the examples reach them. No answer may be a 5xx: a refused socket gets 429 with
our JSON error, a flooding one our JSON error and close 4008, one connection too many is closed; and after
each example the server answers /healthz and has logged no failure."""

from __future__ import annotations

import asyncio
import json
import struct

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import FUZZ_SETTINGS, assert_server_healthy
from tests.fuzz.test_ws_fuzz import Loop
from tests.support.client import Api
from tests.support.rawws import OP_BINARY, OP_CLOSE, OP_TEXT, RawSocket
from tests.support.server import ADMIN_PASSWORD, ServerProcess

LIMITS = {**FUZZ_SETTINGS, "ws_open_max": 3, "ws_open_window": 60, "media_max_fps": 5, "media_flood_frames": 10,
          "http_body_timeout": 1, "max_connections_per_address": 8, "ws_close_timeout": 0.2,
          "session_create_max": 100000}


@pytest.fixture(scope="module")
def limits_server(tmp_path_factory):
    proc = ServerProcess(str(tmp_path_factory.mktemp("limits")), LIMITS).start()
    loop = Loop()

    async def agent_api() -> Api:
        token, _ = await Api(proc.url).login("admin", ADMIN_PASSWORD, force=True)
        return Api(proc.url, token)

    yield proc, loop, loop.run(agent_api())
    loop.stop()
    proc.stop()


# every plan starts by opening the customer's socket; "open" again opens 1-5 more in a row
steps = st.lists(st.one_of(
    st.tuples(st.just("open"), st.integers(1, 5)),
    st.tuples(st.just("frames"), st.integers(1, 60), st.binary(max_size=80)),
    st.tuples(st.just("trickle"), st.integers(0, 99)),
    st.tuples(st.just("crowd"), st.integers(1, 12)),
), min_size=1, max_size=6).map(lambda plan: [("open", 1), *plan])


async def answer_of(sock: RawSocket, ping_id: str) -> tuple[str, object]:
    """After a JSON ping: ("pong", None) if the socket still serves us, else ("closed", (code, reason,
    the error messages sent before the close))."""
    errors = []
    try:
        while True:
            opcode, payload = await asyncio.wait_for(sock.read_frame(), 10)
            if opcode == OP_TEXT:
                message = json.loads(payload)
                if message.get("type") == "pong" and message.get("id") == ping_id:
                    return "pong", None
                if message.get("type") == "error":
                    errors.append(message)
            elif opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return "closed", (code, payload[2:].decode(), errors)
    except (asyncio.IncompleteReadError, ConnectionError):
        return "closed", (None, "", errors)


async def run_steps(proc: ServerProcess, agent: Api, plan: list[tuple]) -> list[str]:
    """Carry out ``plan``; returns which limits it reached (hypothesis' events, for its statistics)."""
    seen: list[str] = []
    created = await agent.post("/api/v1/sessions")
    assert created.status == 201, created.body
    session = created.json
    joined = (await Api(proc.url).post("/api/v1/join", {"code": session["code"], "name": "limits"})).json
    await agent.post(f"/api/v1/sessions/{session['id']}/connect")
    url = proc.ws_base + joined["ws_url"]
    sock: RawSocket | None = None
    held: list[asyncio.StreamWriter] = []
    replaced: list[RawSocket] = []
    pings = iter(range(10**6))
    try:
        for step in plan:
            for _ in range(step[1] if step[0] == "open" else 0):
                if sock is not None:
                    replaced.append(sock)  # never read nor closed by us: the server drops it (4002)
                try:
                    sock = await RawSocket.connect(url, joined["token"])
                except (asyncio.IncompleteReadError, ConnectionResetError):  # closed: one too many here
                    # (the ones held here, and the socket it replaces if the server has not dropped it yet)
                    assert len(held) + 1 >= LIMITS["max_connections_per_address"], len(held)
                    seen.append("a socket over max_connections_per_address")
                    sock = None
                except ConnectionError as refused:
                    text = str(refused)
                    assert text.startswith("HTTP/1.1 429"), text[:300]
                    body = json.loads(text.split("\r\n\r\n", 1)[1])
                    assert body["error"] == "too_many_connections" and body["message"], body
                    seen.append("a socket over ws_open_max: 429")
                    sock = None
            if step[0] == "frames" and sock is not None:
                _, count, payload = step
                try:
                    for _ in range(count):
                        await sock.send(OP_BINARY, payload)
                    ping = f"limits-{next(pings)}"
                    await sock.send_json({"type": "ping", "id": ping})
                except ConnectionError:
                    ping = None
                outcome, detail = await answer_of(sock, ping or "")
                if outcome == "closed":
                    code, reason, errors = detail
                    if code is not None:  # the close frame came: only a flood closes it here
                        assert (code, reason) == (4008, "flooding"), detail
                        assert any(e["error"] == "flooding" and e["message"] for e in errors), errors
                        seen.append("frames over media_flood_frames: 4008")
                    sock.close()
                    sock = None
            elif step[0] == "trickle":  # a 100-byte body of which only some bytes ever come
                reader, writer = await asyncio.open_connection("127.0.0.1", proc.port)
                writer.write(b"POST /api/v1/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 100\r\n\r\n" + b"{" * step[1])
                held.append(writer)
            elif step[0] == "crowd":  # connections that send half a request head
                for _ in range(step[1]):
                    _reader, writer = await asyncio.open_connection("127.0.0.1", proc.port)
                    writer.write(b"GET /healthz HTTP/1.1\r\n")
                    held.append(writer)
    finally:
        for old in [*replaced, *([sock] if sock is not None else [])]:
            old.close()
        for writer in held:
            writer.close()
    await healthy_again(proc)
    assert (await agent.delete(f"/api/v1/sessions/{session['id']}")).status == 204
    return seen


async def healthy_again(proc: ServerProcess) -> None:
    """/healthz answers 200 once the server has seen the example's connections close."""
    for _ in range(200):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", proc.port)
        except ConnectionError:
            await asyncio.sleep(0.05)
            continue
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 10)
            if answer:
                assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
                return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
        await asyncio.sleep(0.05)  # closed as one too many: the server has not seen the closes yet
    raise AssertionError("/healthz did not answer after the example's connections closed")


@given(steps)
@settings(settings.get_profile("fuzz"), max_examples=30)
def test_the_limits_answer_with_our_errors_and_never_5xx(limits_server, plan):  # noqa: D103
    proc, loop, agent = limits_server
    for reached in loop.run(run_steps(proc, agent, plan)):
        event(reached)


def test_the_server_is_still_healthy_after_the_limits_fuzz(limits_server):
    proc, loop, _agent = limits_server
    loop.run(healthy_again(proc))
    assert_server_healthy(proc)
