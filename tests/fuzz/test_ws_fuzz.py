"""Every control message type fuzzed over a real WebSocket (hypothesis over the JSON Schemas): valid
messages, mutated ones and raw text, from both sides of a connected session. The socket must stay
up (a ping is answered after each message), and the server must log no failure."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anysupport.protocol.messages import (
    CLIENT_SCHEMAS,
    SENDERS,
    ProtocolError,
    parse_json,
    validate_client_message,
)
from tests.fuzz.conftest import assert_server_healthy
from tests.fuzz.schema_strategies import encode, from_schema, mutated
from tests.support.client import Api, Socket

# ``end`` would end the session under test (its handling is tested in tests/server); every other type
# is sent as generated. A valid ``end`` is turned into a ping.
TYPES = sorted(t for t in CLIENT_SCHEMAS if t != "end")


class Loop:
    """An event loop in a thread, so hypothesis' (synchronous) examples can drive async sockets."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def session(fuzz_server):
    from tests.support.server import ADMIN_PASSWORD

    loop = Loop()

    async def open_all():
        admin = Api(fuzz_server.url)
        token, _ = await admin.login("admin", ADMIN_PASSWORD, force=True)
        agent = admin.with_token(token)
        console = await Socket.connect(fuzz_server.ws_base, token)
        await console.recv_type("hello")
        created = (await agent.post("/api/v1/sessions")).json
        joined = (await Api(fuzz_server.url).post("/api/v1/join", {"code": created["code"], "name": "fuzz"})).json
        customer = await Socket.connect(fuzz_server.ws_base, joined["token"], path=joined["ws_url"])
        await customer.recv_type("hello")
        assert (await agent.post(f"/api/v1/sessions/{created['id']}/connect")).status == 200
        await customer.recv_type("state", state="connected")
        return {"agent": console, "customer": customer, "id": created["id"]}

    sockets = loop.run(open_all())
    counter = iter(range(10**9))

    async def send_and_check(role: str, text: str) -> None:
        sock: Socket = sockets[role]
        other: Socket = sockets["customer" if role == "agent" else "agent"]
        await sock.send(text)
        ping_id = f"fuzz-{next(counter)}"
        await sock.send({"type": "ping", "id": ping_id})
        await sock.recv_type("pong", timeout=20, id=ping_id)  # raises if the socket was dropped
        sock.backlog.clear()
        other.backlog.clear()

    yield loop, sockets, send_and_check

    async def close_all() -> None:  # on the sockets' own loop
        for role in ("agent", "customer"):
            sockets[role].close()

    loop.run(close_all())
    loop.stop()


def role_for(kind: str) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(SENDERS[kind]))


@st.composite
def wire_messages(draw) -> tuple[str, str]:
    kind = draw(st.sampled_from(TYPES))
    role = draw(role_for(kind))
    message = draw(from_schema(CLIENT_SCHEMAS[kind]))
    shape = draw(st.sampled_from(["valid", "mutated", "mutated", "raw"]))
    if shape == "mutated":
        message = draw(mutated(message))
    if shape == "raw":
        return role, draw(st.text(max_size=300) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
    return role, encode(message)


def with_session(role: str, text: str, session_id: str) -> str:
    """An agent's messages name the session; keep the generated id only some of the time."""
    try:
        message = json.loads(text)
    except ValueError:
        return text
    if isinstance(message, dict) and role == "agent" and "session_id" in message and hash(text) % 4:
        message["session_id"] = session_id
        return encode(message)
    return text


@given(wire_messages())
@settings(settings.get_profile("fuzz"), max_examples=400)
def test_no_control_message_drops_the_socket(session, role_and_text):  # noqa: D103
    loop, sockets, send_and_check = session
    role, text = role_and_text
    text = with_session(role, text, sockets["id"])
    try:
        message = parse_json(text)
        validate_client_message(message, role)
        if message.get("type") == "end":
            text = encode({"type": "ping"})
    except ProtocolError:
        pass
    loop.run(send_and_check(role, text))


def test_the_fuzzed_server_is_still_healthy(fuzz_server, session):
    import requests

    assert requests.get(fuzz_server.url + "/healthz", timeout=10).status_code == 200
    assert_server_healthy(fuzz_server)
