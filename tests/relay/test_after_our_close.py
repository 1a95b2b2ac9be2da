"""Issue 18 #1: once the server has sent its close frame, nothing more the client sends is acted on,
even by a client that ignores the close and keeps sending (Tornado waits up to 5 s for its answer)."""

from __future__ import annotations

import asyncio
import json
import os
import time

import psutil
import pytest

from tests.relay.test_relay import metrics
from tests.support.client import Api, admin_api, create_agent
from tests.support.rawws import OP_BINARY, OP_CLOSE, OP_TEXT, RawSocket
from tests.support.sessions import open_session

OP_CONTINUATION = 0x0


async def read_until_our_close(sock: RawSocket) -> int:
    while True:
        opcode, payload = await sock.read_frame()
        if opcode == OP_CLOSE:
            return int.from_bytes(payload[:2], "big")


async def until_type(sock: RawSocket, kind: str) -> dict:
    while True:
        opcode, payload = await sock.read_frame()
        if opcode == OP_TEXT and json.loads(payload).get("type") == kind:
            return json.loads(payload)


async def customer_chats(customer) -> list[str]:
    """Every chat the customer has received, up to the answer to a ping sent now (the server answers
    in order, so anything relayed before it is in by then)."""
    await customer.send({"type": "ping", "id": "sync"})
    texts = []
    while True:
        message = await customer.recv()
        if message.get("type") == "chat":
            texts.append(message["text"])
        elif message.get("type") == "pong":
            return texts


@pytest.mark.parametrize("how", ["logout", "replaced", "disabled", "password_reset", "abuse"])
async def test_a_console_closed_by_us_is_no_longer_served(server, agent_factory, admin, how):
    client, agent, session, _joined, console, customer = await open_session(server, agent_factory)
    assert (await client.post(f"/api/v1/sessions/{session['id']}/connect")).status == 200
    console.conn.close()
    raw = await RawSocket.connect(server.ws_base + "/ws", client.token)
    await until_type(raw, "hello")

    async def chat(text: str) -> None:
        await raw.send(OP_TEXT, json.dumps({"type": "chat", "session_id": session["id"], "text": text}).encode())

    await chat("before")
    assert await customer_chats(customer) == ["before"]
    if how == "logout":
        assert (await client.post("/api/v1/auth/logout")).status == 204
        expected = 4001
    elif how == "replaced":
        other = await RawSocket.connect(server.ws_base + "/ws", client.token)
        expected = 4002
    elif how == "disabled":
        r = await admin.patch(f"/api/v1/admin/agents/{agent['login']}", {"disabled": True})
        assert r.status == 200, r.body
        expected = 4001
    elif how == "password_reset":
        r = await admin.post(f"/api/v1/admin/agents/{agent['login']}/password", {"password": "brand-new-pass"})
        assert r.status == 200, r.body
        expected = 4001
    else:
        for _ in range(40):
            await raw.send(OP_TEXT, b'{"type": "no_such_type"}')
        expected = 4008
    assert await read_until_our_close(raw) == expected
    if how in ("replaced", "abuse"):
        # #18.2: a replaced socket, or one cut off for abuse, is dropped as soon as our close is written
        assert await raw.read_until_close(idle=5) == (None, "", 0)
        assert await customer_chats(customer) == []
        raw.close()
        if how == "replaced":
            other.close()
        return
    for i in range(20):
        await chat(f"after {i}")
    # our close answered at last: the server has read (and ignored) every chat before it
    await raw.send(OP_CLOSE, b"\x03\xe8")
    assert (await raw.read_until_close())[0] is None
    assert await customer_chats(customer) == []
    raw.close()
    if how == "replaced":
        other.close()


async def joined_customer(srv) -> tuple[str, str]:
    """A new agent's session on ``srv`` and a customer joined to it: (the agent's token, the customer's)."""
    login = unique_login()
    await create_agent(await admin_api(srv.url, client="web"), login, "close-password")
    api = Api(srv.url)
    agent_token, _ = await api.login(login, "close-password")
    session = (await api.with_token(agent_token).post("/api/v1/sessions")).json
    joined = (await api.post("/api/v1/join", {"code": session["code"]})).json
    return agent_token, joined["token"]


def unique_login() -> str:
    return f"close{os.urandom(4).hex()}"


async def test_a_client_that_ignores_our_close_is_dropped_after_ws_close_timeout(make_server):
    """#18.2: Tornado waits 5 s for the client's answer to our close, reading all the while; we wait
    ws_close_timeout and keep nothing it sends meanwhile."""
    srv = make_server({"ws_close_timeout": 0.5})
    agent_token, _customer = await joined_customer(srv)
    raw = await RawSocket.connect(srv.ws_base + "/ws", agent_token)
    await until_type(raw, "hello")
    assert (await Api(srv.url, agent_token).post("/api/v1/auth/logout")).status == 204
    assert await read_until_our_close(raw) == 4001
    started = time.monotonic()
    for i in range(10):  # it keeps sending one unfinished message, 64 KiB at a time, and never answers
        try:
            await raw.send(OP_CONTINUATION if i else OP_BINARY, os.urandom(65536), fin=False)
        except ConnectionError:
            break
    assert await raw.read_until_close(idle=5) == (None, "", 0)
    assert time.monotonic() - started < 3  # ws_close_timeout (0.5 s) and a margin, not Tornado's 5 s
    raw.close()


async def test_replacing_sockets_with_unfinished_fragments_costs_no_memory_and_opens_are_limited(make_server):
    """#18.2: one customer token opened 60 sockets in turn and wrote an unfinished 1 MB fragment to each
    replaced one: the server grew 115 MB. A replaced socket is now dropped at once and keeps nothing;
    and one token may open only ws_open_max sockets in ws_open_window (429 too_many_connections)."""
    srv = make_server({"ws_open_max": 70, "ws_open_window": 60})
    _agent, token = await joined_customer(srv)
    server = psutil.Process(srv.process.pid)
    baseline = server.memory_info().rss
    peak = baseline
    sockets = []
    for _ in range(60):
        sock = await RawSocket.connect(srv.ws_base + "/ws", token, rcvbuf=1 << 20)
        await until_type(sock, "hello")
        # an unfinished 1 MB message on the new socket, which the next one replaces; the replaced ones
        # are never read from nor closed by this client (it ignores our close)
        try:
            await sock.send(OP_BINARY, os.urandom(1 << 20), fin=False)
        except ConnectionError:
            pass
        sockets.append(sock)
        peak = max(peak, server.memory_info().rss)
    # what the sockets' frame readers keep, as the server counts it: at most the newest socket's
    # unfinished message (each replaced one dropped its own at once)
    held = (await metrics(Api(srv.url)))["anysupport_ws_reader_bytes"]
    assert held <= (1 << 20) + 65536, f"the frame readers keep {held / (1 << 20):.1f} MiB"
    for _ in range(20):  # what the server holds a moment later, while the replaced ones would still wait
        await asyncio.sleep(0.05)
        peak = max(peak, server.memory_info().rss)
    for sock in sockets:
        sock.close()
    growth = peak - baseline
    assert growth < 40 * (1 << 20), f"the server grew {growth / (1 << 20):.0f} MiB"  # 115 MB before
    # the open limit: 70 in the window, 60 used
    for _ in range(10):
        (await RawSocket.connect(srv.ws_base + "/ws", token)).close()
    with pytest.raises(ConnectionError) as refused:
        await RawSocket.connect(srv.ws_base + "/ws", token)
    assert "429" in str(refused.value) and "too_many_connections" in str(refused.value)
