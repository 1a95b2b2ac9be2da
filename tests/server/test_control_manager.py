"""``ControlChannel`` directly: each text message through the real checks, sessions and store, with
in-memory connections and a hand-moved clock for the rate budget. End to end in test_control.py."""

from __future__ import annotations

import json

import pytest

from anysupport.protocol.vocabulary import CLOSE_SESSION_ENDED
from tests.support.managers import build_managers

CUSTOMER = {"name": "고객", "email": None, "phone": None, "language": "en"}


@pytest.fixture
def m(db_store, clock):
    return build_managers(db_store, clock, control_rate=10, control_burst=20, control_max_invalid=5)


def peer_of(m, conn, *, language="en"):
    """The control peer the WebSocket handler makes for a socket (its budget counts on the injected clock)."""
    p = conn.principal
    return m.control.new_peer(role=p.kind, agent_id=p.agent_id, session_id=p.session_id, language=language,
                              send=conn.send_json)


async def connected(m, *, accept=True):
    agent = await m.agent()
    console = await m.open_console(agent)
    session = await m.sessions.create(agent)
    await m.sessions.join(session["code"], CUSTOMER, "203.0.113.7")
    customer = await m.open_customer(session["id"])
    if accept:
        await m.sessions.connect(agent, session["id"])
    console.sent.clear()
    customer.sent.clear()
    return agent, session["id"], console, customer, peer_of(m, console), peer_of(m, customer)


async def send(m, peer, message):
    await m.control.on_text(peer, message if isinstance(message, str) else json.dumps(message, ensure_ascii=False))


async def test_relayed_messages_reach_the_other_side_with_from_session_and_time(m):
    _agent, sid, console, customer, agent_peer, customer_peer = await connected(m)
    await send(m, agent_peer, {"type": "guide", "session_id": sid, "direction": "left"})
    [guide] = customer.sent
    assert guide.pop("time") == m.clock().isoformat(timespec="milliseconds")  # stamped on the injected clock
    assert guide == {"type": "guide", "session_id": sid, "direction": "left", "from": "agent"}
    assert console.sent == []  # no acknowledgement: success is silence
    await send(m, customer_peer, {"type": "chat", "text": "네, 보이시나요?"})
    [chat] = console.of_type("chat")
    assert chat["from"] == "customer" and chat["session_id"] == sid and chat["text"] == "네, 보이시나요?"
    assert customer_peer.invalid == agent_peer.invalid == 0


async def test_key_exchange_failed_is_relayed_both_ways(m):
    _agent, sid, console, customer, agent_peer, customer_peer = await connected(m)
    await send(m, customer_peer, {"type": "key_exchange_failed", "reason": "bad_commitment"})
    [told] = console.of_type("key_exchange_failed")
    assert told["reason"] == "bad_commitment" and told["from"] == "customer" and told["session_id"] == sid
    await send(m, agent_peer, {"type": "key_exchange_failed", "session_id": sid, "reason": "bad_public_key"})
    assert customer.of_type("key_exchange_failed")[0]["reason"] == "bad_public_key"
    await send(m, customer_peer, {"type": "key_exchange_failed", "reason": "timeout"})
    [error] = customer.of_type("error")
    assert error["error"] == "invalid_message" and error["field"] == "reason"


async def test_an_absent_peer_or_an_unaccepted_session_refuses_relaying(m):
    _agent, sid, console, customer, agent_peer, customer_peer = await connected(m, accept=False)
    await send(m, agent_peer, {"type": "key_exchange", "session_id": sid, "commitment": "Q" * 43})
    [error] = console.of_type("error")
    assert (error["error"], error["ref"], error["session_id"]) == ("session_not_connected", "key_exchange", sid)
    await m.sessions.connect(await m.store.agents.by_id(console.principal.agent_id), sid)
    await m.close_customer(customer)
    console.sent.clear()
    await send(m, agent_peer, {"type": "key_exchange", "session_id": sid, "commitment": "Q" * 43})
    [error] = console.of_type("error")
    assert error["error"] == "peer_not_connected" and error["ref"] == "key_exchange"
    assert error["message"] == "The other side is not connected right now."
    assert agent_peer.invalid == 0  # session errors do not count as invalid messages
    # a media report is a measurement, stale at once: for an absent peer it is dropped without the error
    console.sent.clear()
    await send(m, agent_peer, {"type": "media_report", "session_id": sid, "stream": "customer_video", "received": 30,
                               "lost": 0, "late_ms": 12.5})
    assert console.of_type("error") == []


async def test_agents_must_name_their_own_session(m):
    _agent, sid, console, customer, agent_peer, customer_peer = await connected(m)
    other = await m.agent("lee")
    theirs = await m.sessions.create(other)
    await send(m, agent_peer, {"type": "chat", "text": "hi"})
    await send(m, agent_peer, {"type": "chat", "session_id": theirs["id"], "text": "hi"})
    await send(m, agent_peer, {"type": "chat", "session_id": "f" * 24, "text": "hi"})
    assert [e["error"] for e in console.of_type("error")] == ["session_required", "session_not_found",
                                                             "session_not_found"]
    await send(m, customer_peer, {"type": "chat", "session_id": theirs["id"], "text": "hi"})
    assert customer.of_type("error")[0]["error"] == "session_not_found"


async def test_ping_is_answered_at_once_without_a_session(m):
    _agent, _sid, console, _customer, agent_peer, _customer_peer = await connected(m)
    await send(m, agent_peer, {"type": "ping", "id": "c-42"})
    [pong] = console.sent
    assert set(pong) == {"type", "id", "time"} and pong["id"] == "c-42"


async def test_invalid_messages_are_counted_until_the_cut_off(m):
    _agent, _sid, console, _customer, agent_peer, _customer_peer = await connected(m)
    bad = ["{bad", "[1]", json.dumps({"type": "hello"}), json.dumps({"type": "survey", "answer": "satisfied"}),
           "x" * (m.config.control_max_bytes + 1)]
    for text in bad[:-1]:
        await send(m, agent_peer, text)
        assert agent_peer.close_reason is None
    await send(m, agent_peer, bad[-1])
    assert [e["error"] for e in console.of_type("error")] == [
        "invalid_json", "invalid_message", "unknown_type", "not_allowed", "message_too_large"]
    assert agent_peer.close_reason == "too_many_invalid_messages"


async def test_the_rate_budget_refills_with_the_clock_and_a_flood_is_cut_off(m, clock):
    _agent, _sid, console, _customer, agent_peer, _customer_peer = await connected(m)
    ping = {"type": "ping"}
    for _ in range(20):  # the burst
        await send(m, agent_peer, ping)
    await send(m, agent_peer, ping)
    assert console.types() == ["pong"] * 20 + ["error"] and console.sent[-1]["error"] == "rate_limited"
    clock.advance(0.5)  # 10 per second: five messages' worth
    console.sent.clear()
    for _ in range(6):
        await send(m, agent_peer, ping)
    assert console.types() == ["pong"] * 5 + ["error"]
    assert agent_peer.flooded == 1  # a message within budget reset the count
    for _ in range(20):
        await send(m, agent_peer, ping)
    assert agent_peer.close_reason == "flooding"  # more than control_burst dropped in a row


async def test_the_survey_over_the_channel_is_saved_once_then_the_socket_ends(m):
    _agent, sid, console, customer, agent_peer, customer_peer = await connected(m)
    await send(m, customer_peer, {"type": "survey", "answer": "satisfied"})
    assert customer.of_type("error")[0]["error"] == "survey_not_open"
    await send(m, customer_peer, {"type": "end"})
    assert customer.of_type("state", state="expired")[0]["reason"] == "ended_by_customer"
    assert customer.of_type("survey")
    await send(m, customer_peer, {"type": "survey", "answer": "neutral", "feedback": "좋아요"})
    assert customer.of_type("survey_saved") and customer.closed == (CLOSE_SESSION_ENDED, "session_ended")
    record = await m.store.records.by_session(sid)
    assert record["satisfaction"] == "neutral" and record["feedback"] == "좋아요"
    await send(m, customer_peer, {"type": "survey", "answer": "satisfied"})
    # the socket is closed, so the second answer's error is not delivered; the record is unchanged
    assert (await m.store.records.by_session(sid))["satisfaction"] == "neutral"
    await send(m, agent_peer, {"type": "end", "session_id": sid})
    assert console.of_type("error")[-1]["error"] == "session_not_connected"


async def test_errors_speak_the_connection_language(m):
    _agent, sid, _console, customer, _agent_peer, _customer_peer = await connected(m, accept=False)
    korean = peer_of(m, customer, language="ko")
    await send(m, korean, {"type": "chat", "text": "여보세요"})
    assert customer.of_type("error")[0]["message"] == "세션이 연결되어 있지 않습니다."
