"""Issue 18 #1: once the server has sent its close frame, nothing more the client sends is acted on,
even by a client that ignores the close and keeps sending (Tornado waits up to 5 s for its answer)."""

from __future__ import annotations

import json

import pytest

from tests.support.rawws import OP_CLOSE, OP_TEXT, RawSocket
from tests.support.sessions import open_session


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
    for i in range(20):
        await chat(f"after {i}")
    # our close answered at last: the server has read (and ignored) every chat before it
    await raw.send(OP_CLOSE, b"\x03\xe8")
    assert (await raw.read_until_close())[0] is None
    assert await customer_chats(customer) == []
    raw.close()
    if how == "replaced":
        other.close()
