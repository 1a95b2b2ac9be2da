"""Handing a session over, end to end: the real server, REST and WebSockets (the rules one by one, with a
hand-moved clock, are in test_handover_manager.py)."""

from __future__ import annotations

import asyncio

from anysupport.protocol.messages import validate_server_message
from tests.support.client import Api, Socket
from tests.support.sessions import open_session


async def test_hand_over_over_rest_and_sockets(server, agent_factory, admin):
    client, agent, session, _joined, console, customer = await open_session(server, agent_factory)
    sid = session["id"]
    assert (await client.post(f"/api/v1/sessions/{sid}/connect")).status == 200
    await customer.recv_type("state", state="connected")
    other, colleague, _ = await agent_factory()
    other_console = await Socket.connect(server.ws_base, other.token)
    await other_console.recv_type("hello")

    listed = await client.get("/api/v1/agents")
    assert listed.status == 200
    found = {a["login"]: a for a in listed.json["agents"]}
    assert found[colleague["login"]]["available"] is True and agent["login"] not in found
    assert set(found[colleague["login"]]) == {"login", "name", "number", "available"}

    refused = await client.post(f"/api/v1/sessions/{sid}/handover", {"to": agent["login"]}, headers={"Accept-Language": "en"})
    assert (refused.status, refused.error) == (400, "handover_to_self")
    refused = await client.post(f"/api/v1/sessions/{sid}/handover", {"to": "nobody-here"})
    assert (refused.status, refused.error) == (404, "agent_not_found")
    stranger = await other.post(f"/api/v1/sessions/{sid}/handover", {"to": agent["login"]})
    assert (stranger.status, stranger.error) == (404, "session_not_found")

    offered = await client.post(f"/api/v1/sessions/{sid}/handover", {"to": colleague["login"]})
    assert offered.status == 201 and offered.json["to"]["login"] == colleague["login"]
    offer = validate_server_message(await other_console.recv_type("handover_offer", session_id=sid))
    assert offer["by"]["login"] == agent["login"] and offer["session"]["customer_present"] is True
    again = await client.post(f"/api/v1/sessions/{sid}/handover", {"to": colleague["login"]})
    assert (again.status, again.error) == (409, "handover_pending")
    assert "이미" in again.json["message"] or "already" in again.json["message"]
    seen = await other.get(f"/api/v1/sessions/{sid}/handover")
    assert seen.status == 200 and seen.json["by"]["login"] == agent["login"]
    wrong = await client.post(f"/api/v1/sessions/{sid}/handover/accept")
    assert (wrong.status, wrong.error) == (403, "not_your_handover")

    accepted = await other.post(f"/api/v1/sessions/{sid}/handover/accept")
    assert accepted.status == 200, accepted.body
    assert accepted.json["agent_login"] == colleague["login"]
    assert [a["login"] for a in accepted.json["agents"]] == [agent["login"], colleague["login"]]
    gone = validate_server_message(await console.recv_type("handed_over", session_id=sid))
    assert gone["to_agent"]["login"] == colleague["login"]
    arrived = validate_server_message(await other_console.recv_type("handed_over", session_id=sid))
    assert arrived["session"]["agent_login"] == colleague["login"]
    state = await other_console.recv_type("state", session_id=sid)
    assert state["state"] == "connected" and state["session"]["customer_present"] is True
    notice = validate_server_message(await customer.recv_type("peer"))
    assert (notice["status"], notice["name"]) == ("handed_over", colleague["name"])

    # media and messages follow the new agent: the customer's chat reaches the new console, not the old
    await customer.send({"type": "chat", "text": "누구세요?"})
    chat = await other_console.recv_type("chat", session_id=sid)
    assert chat["text"] == "누구세요?"
    await console.send({"type": "chat", "session_id": sid, "text": "still here"})
    error = await console.recv_type("error")
    assert error["error"] == "session_not_found"

    assert sid not in [s["id"] for s in (await client.get("/api/v1/sessions")).json["sessions"]]
    assert sid in [s["id"] for s in (await other.get("/api/v1/sessions")).json["sessions"]]
    saved = await other.put(f"/api/v1/sessions/{sid}/record", {"content": "handed over, solved", "resolution": "solved"})
    assert saved.status == 200, saved.body
    assert [a["login"] for a in saved.json["agents"]] == [agent["login"], colleague["login"]]
    assert (await client.get(f"/api/v1/sessions/{sid}/record")).status == 404
    await other_console.send({"type": "end", "session_id": sid})
    await customer.recv_type("state", state="expired")
    mine = await other.get("/api/v1/records/stats")
    theirs = await client.get("/api/v1/records/stats")
    assert mine.json["total"] == 1 and theirs.json["total"] == 0
    records = (await admin.get(f"/api/v1/records?agent={colleague['login']}")).json
    assert [r["session_id"] for r in records["records"]].count(sid) == 1
    for sock in (console, other_console, customer):
        sock.close()


async def test_decline_cancel_and_a_console_that_is_closed(server, agent_factory):
    client, agent, session, _joined, console, customer = await open_session(server, agent_factory)
    sid = session["id"]
    await client.post(f"/api/v1/sessions/{sid}/connect")
    other, colleague, _ = await agent_factory()
    refused = await client.post(f"/api/v1/sessions/{sid}/handover", {"to": colleague["login"]}, headers={"Accept-Language": "ko"})
    assert (refused.status, refused.error) == (409, "agent_not_available")
    assert colleague["name"] in refused.json["message"] and "콘솔" in refused.json["message"]
    other_console = await Socket.connect(server.ws_base, other.token)
    await other_console.recv_type("hello")
    assert (await client.post(f"/api/v1/sessions/{sid}/handover", {"to": colleague["login"]})).status == 201
    await other_console.recv_type("handover_offer")
    assert (await other.post(f"/api/v1/sessions/{sid}/handover/decline")).status == 204
    declined = validate_server_message(await console.recv_type("handover_declined", session_id=sid))
    assert declined["by"]["login"] == colleague["login"]
    assert (await client.post(f"/api/v1/sessions/{sid}/handover", {"to": colleague["login"]})).status == 201
    await other_console.recv_type("handover_offer")
    assert (await client.delete(f"/api/v1/sessions/{sid}/handover")).status == 204
    cancelled = await other_console.recv_type("handover_cancelled", session_id=sid)
    assert cancelled["reason"] == "cancelled"
    late = await other.post(f"/api/v1/sessions/{sid}/handover/accept", headers={"Accept-Language": "en"})
    assert (late.status, late.error) == (404, "handover_not_found") and "no hand-over" in late.json["message"]
    assert (await Api(server.url).get("/api/v1/agents")).status == 401
    for sock in (console, other_console, customer):
        sock.close()
    await asyncio.sleep(0)
