"""``SessionManager`` directly: a real store (embedded MongoDB), in-memory connections, a clock moved
by hand. The same rules are tested end to end, over HTTP and WebSockets, in test_sessions.py."""

from __future__ import annotations

import asyncio

import pytest

from anysupport.errors import Conflict, Forbidden, NotFound, RateLimited
from anysupport.protocol.vocabulary import CLOSE_SESSION_ENDED
from tests.support.managers import build_managers

CUSTOMER = {"name": "홍길동", "email": None, "phone": None, "language": "ko"}
IP = "203.0.113.7"


@pytest.fixture
def make(db_store, clock):
    return lambda **settings: build_managers(db_store, clock, **settings)


async def test_create_gives_a_claimed_code_and_announces_offline(make, clock):
    m = make()
    agent = await m.agent()
    console = await m.open_console(agent)
    session = await m.sessions.create(agent)
    assert len(session["code"]) == 4 and session["state"] == "offline" and session["created_at"] == clock()
    assert not await m.store.sessions.claim_code(session["code"])  # the code is held while the session lives
    [state] = console.of_type("state")
    assert state["state"] == "offline" and state["session"]["code"] == session["code"]
    assert state["time"] == clock().isoformat(timespec="milliseconds")
    assert m.sessions.live[session["id"]].state == "offline"


async def test_live_sessions_per_agent_are_capped(make):
    m = make(agent_max_live_sessions=2)
    agent, other = await m.agent("kim"), await m.agent("lee")
    first = await m.sessions.create(agent)
    await m.sessions.create(agent)
    with pytest.raises(Conflict) as refused:
        await m.sessions.create(agent)
    assert refused.value.code == "too_many_live_sessions" and refused.value.fields == {"limit": 2}
    assert (await m.sessions.create(other))["state"] == "offline"  # the cap is per agent
    await m.sessions.expire(first["id"], "deleted")
    assert (await m.sessions.create(agent))["state"] == "offline"  # expired ones do not count


async def test_concurrent_creations_do_not_pass_the_cap(make):
    m = make(agent_max_live_sessions=5)
    agent = await m.agent()
    results = await asyncio.gather(*(m.sessions.create(agent) for _ in range(12)), return_exceptions=True)
    made = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(made) == 5 and len(refused) == 7
    assert await m.store.sessions.count_live(agent["id"]) == 5


async def test_creation_rate_follows_the_clock(make, clock):
    m = make(session_create_max=3, session_create_window=60)
    agent = await m.agent()
    for _ in range(3):
        await m.sessions.expire((await m.sessions.create(agent))["id"], "deleted")
    with pytest.raises(RateLimited) as limited:
        await m.sessions.create(agent)
    assert limited.value.code == "too_many_sessions_created" and limited.value.retry_after == 60
    clock.advance(59)
    with pytest.raises(RateLimited) as limited:
        await m.sessions.create(agent)
    assert limited.value.retry_after == 1
    clock.advance(1)
    assert (await m.sessions.create(agent))["state"] == "offline"


async def test_join_needs_the_code_and_a_number_only_narrows_it(make, clock):
    m = make()
    agent = await m.agent()
    session = await m.sessions.create(agent)
    other = await m.sessions.create(agent)
    wrong = f"{(int(session['code']) + 1) % 10000:04d}"
    if wrong == other["code"]:
        wrong = f"{(int(session['code']) + 2) % 10000:04d}"
    for code, number in ((wrong, session["number"]), (other["code"], session["number"]),
                         (session["code"], other["number"])):
        with pytest.raises(NotFound) as refused:
            await m.sessions.join(code, CUSTOMER, IP, number=number)
        assert refused.value.code == "invalid_code"
    assert (await m.store.sessions.get(session["id"]))["state"] == "offline"
    joined, token = await m.sessions.join(session["code"], CUSTOMER, IP, number=session["number"])
    assert joined["state"] == "online" and joined["online_at"] == clock() and token
    assert joined["customer"] == {**CUSTOMER, "ip": IP}
    principal = await m.auth.authenticate(token)
    assert principal.kind == "customer" and principal.session_id == session["id"]
    with pytest.raises(Conflict) as taken:
        await m.sessions.join(session["code"], CUSTOMER, IP)
    assert taken.value.code == "code_in_use"


async def test_failed_joins_are_limited_per_address_on_the_clock(make, clock):
    m = make(join_max_attempts=3, join_window=60)
    agent = await m.agent()
    session = await m.sessions.create(agent)
    for _ in range(3):
        with pytest.raises(NotFound):
            await m.sessions.join("0000" if session["code"] != "0000" else "0001", CUSTOMER, IP)
    with pytest.raises(RateLimited) as limited:
        await m.sessions.join(session["code"], CUSTOMER, IP)  # even the right code waits
    assert limited.value.retry_after == 60
    joined, _token = await m.sessions.join(session["code"], CUSTOMER, "198.51.100.1")  # another address
    assert joined["state"] == "online"
    clock.advance(60)
    second = await m.sessions.create(agent)
    assert (await m.sessions.join(second["code"], CUSTOMER, IP))[0]["state"] == "online"


async def test_a_whole_session_is_announced_to_both_sides_in_order(make, clock):
    m = make()
    agent = await m.agent()
    console = await m.open_console(agent)
    session = await m.sessions.create(agent)
    sid = session["id"]
    await m.sessions.join(session["code"], CUSTOMER, IP)
    clock.advance(2)
    customer = await m.open_customer(sid)
    clock.advance(3)
    connected = await m.sessions.connect(agent, sid)
    assert connected["connected_at"] == clock() and connected["customer_gone_at"] is None
    record = await m.store.records.by_session(sid)
    assert record["started_at"] == clock() and record["ip"] == IP and record["customer_name"] == "홍길동"
    clock.advance(60)
    await m.sessions.end(sid, "customer")

    assert [(x["type"], x.get("state") or x.get("status")) for x in console.sent] == [
        ("state", "offline"), ("state", "online"), ("peer", "joined"), ("state", "connected"), ("state", "expired"),
    ]
    assert console.of_type("state", state="connected")[0]["session"]["customer_present"] is True
    expired = console.of_type("state", state="expired")[0]
    assert expired["reason"] == "ended_by_customer" and expired["session"]["expire_reason"] == "ended_by_customer"
    assert [(x["type"], x.get("state")) for x in customer.sent] == [
        ("state", "connected"), ("state", "expired"), ("survey", None),
    ]
    # the customer's view: no contact details, no node; the agent's client's versions (none said here)
    assert set(customer.sent[0]["session"]) == {"id", "state", "number", "agent_name", "agent_versions"}
    assert customer.sent[0]["session"]["agent_versions"] == []
    assert (await m.store.records.by_session(sid))["ended_at"] == clock()
    assert sid not in m.sessions.live
    assert await m.store.sessions.claim_code(session["code"])  # the code is free again


async def test_connect_rules(make):
    m = make()
    agent, other = await m.agent("kim"), await m.agent("lee")
    session = await m.sessions.create(agent)
    with pytest.raises(Conflict) as refused:
        await m.sessions.connect(agent, session["id"])
    assert refused.value.code == "session_not_online" and refused.value.fields == {"state": "offline"}
    with pytest.raises(NotFound):
        await m.sessions.connect(other, session["id"])
    admin = await m.agent("boss", role="admin")
    await m.sessions.join(session["code"], CUSTOMER, IP)
    with pytest.raises(Forbidden) as forbidden:
        await m.sessions.connect(admin, session["id"])  # an admin may look, not take over
    assert forbidden.value.code == "not_your_session"


async def test_unused_codes_and_waiting_customers_time_out_on_the_clock(make, clock):
    m = make(offline_timeout=30, waiting_timeout=20)
    agent = await m.agent()
    console = await m.open_console(agent)
    unused = await m.sessions.create(agent)
    waiting = await m.sessions.create(agent)
    await m.sessions.join(waiting["code"], CUSTOMER, IP)
    clock.advance(19.9)
    assert await m.sessions.sweep() == 0
    clock.advance(0.2)
    assert await m.sessions.sweep() == 1
    assert console.of_type("state", state="expired")[0]["reason"] == "waiting_timeout"
    clock.advance(9.8)
    assert await m.sessions.sweep() == 0
    clock.advance(0.2)
    assert await m.sessions.sweep() == 1
    assert (await m.store.sessions.get(unused["id"]))["expire_reason"] == "code_unused"
    assert await m.store.records.by_session(waiting["id"]) is None  # never connected: no record


async def test_a_customer_away_past_the_grace_ends_the_session(make, clock):
    m = make(reconnect_grace=30)
    agent = await m.agent()
    console = await m.open_console(agent)
    session = await m.sessions.create(agent)
    await m.sessions.join(session["code"], CUSTOMER, IP)
    customer = await m.open_customer(session["id"])
    await m.sessions.connect(agent, session["id"])
    await m.close_customer(customer)
    assert console.of_type("peer")[-1]["status"] == "reconnecting"
    clock.advance(29)
    assert await m.sessions.sweep() == 0
    back = await m.open_customer(session["id"])  # back within the grace: the clock stops
    assert console.of_type("peer")[-1]["status"] == "back"
    clock.advance(300)
    assert await m.sessions.sweep() == 0
    await m.close_customer(back)
    clock.advance(30.001)
    assert await m.sessions.sweep() == 1
    assert console.of_type("state", state="expired")[0]["reason"] == "customer_gone"


async def test_an_agent_away_past_the_grace_ends_the_session(make, clock):
    m = make(reconnect_grace=10)
    agent = await m.agent()
    console = await m.open_console(agent)
    session = await m.sessions.create(agent)
    await m.sessions.join(session["code"], CUSTOMER, IP)
    customer = await m.open_customer(session["id"])
    await m.sessions.connect(agent, session["id"])
    await m.close_console(console)
    assert customer.of_type("peer")[-1] == {"type": "peer", "peer": "agent", "status": "reconnecting",
                                            "session_id": session["id"], "time": clock().isoformat(timespec="milliseconds")}
    clock.advance(5)
    console = await m.open_console(agent)
    assert customer.of_type("peer")[-1]["status"] == "back"
    await m.close_console(console)
    clock.advance(10.001)
    assert await m.sessions.sweep() == 1
    assert customer.of_type("state", state="expired")[0]["reason"] == "agent_gone"


async def test_accepting_before_the_customer_socket_opens_starts_its_grace(make, clock):
    m = make(reconnect_grace=30)
    agent = await m.agent()
    console = await m.open_console(agent)
    session = await m.sessions.create(agent)
    await m.sessions.join(session["code"], CUSTOMER, IP)  # joined over REST; no socket yet
    connected = await m.sessions.connect(agent, session["id"])
    assert connected["customer_gone_at"] == clock()
    assert console.of_type("state", state="connected")[0]["session"]["customer_present"] is False
    clock.advance(10)
    customer = await m.open_customer(session["id"])
    assert console.of_type("peer")[-1]["status"] == "joined"  # the agent starts its key exchange now
    assert customer.sent == []  # connected shows first in the customer's hello, not as a state message
    clock.advance(100)
    assert await m.sessions.sweep() == 0


async def test_auto_connect_needs_an_open_console(make):
    m = make()
    agent = await m.agent(auto_connect=True)
    first = await m.sessions.create(agent)
    joined, _ = await m.sessions.join(first["code"], CUSTOMER, IP)
    assert joined["state"] == "online"  # no console: the agent accepts by hand later
    await m.open_console(agent)
    second = await m.sessions.create(agent)
    joined, _ = await m.sessions.join(second["code"], CUSTOMER, IP)
    assert joined["state"] == "connected"


async def test_expiry_offers_the_survey_or_closes_the_customer(make):
    m = make()
    agent = await m.agent()
    never = await m.sessions.create(agent)
    await m.sessions.join(never["code"], CUSTOMER, IP)
    waiting = await m.open_customer(never["id"])
    await m.sessions.expire(never["id"], "deleted")
    assert waiting.closed == (CLOSE_SESSION_ENDED, "session_ended") and not waiting.of_type("survey")
    assert await m.sessions.expire(never["id"], "deleted") is None  # only once

    session = await m.sessions.create(agent)
    await m.sessions.join(session["code"], {**CUSTOMER, "language": "en"}, IP)
    customer = await m.open_customer(session["id"])
    await m.sessions.connect(agent, session["id"])
    await m.sessions.expire(session["id"], "deleted")
    [survey] = customer.of_type("survey")
    assert survey["question"] == "Were you satisfied with the support?" and customer.closed is None
    m.sessions.survey_done(session["id"])
    assert customer.closed == (CLOSE_SESSION_ENDED, "session_ended")


async def test_restore_starts_every_connected_grace_clock(make, clock):
    m = make(reconnect_grace=30)
    agent = await m.agent()
    await m.open_console(agent)
    session = await m.sessions.create(agent)
    await m.sessions.join(session["code"], CUSTOMER, IP)
    await m.open_customer(session["id"])
    await m.sessions.connect(agent, session["id"])
    # a new process over the same database: nobody is connected to it yet
    restarted = build_managers(m.store, clock, reconnect_grace=30)
    clock.advance(5)
    await restarted.sessions.restore()
    assert restarted.sessions.live[session["id"]].state == "connected"
    stored = await m.store.sessions.get(session["id"])
    assert stored["customer_gone_at"] == clock() and stored["agent_gone_at"] == clock()
    clock.advance(30.001)
    assert await restarted.sessions.sweep() == 1


async def test_a_customer_socket_opening_while_the_record_opens_may_speak_at_once(make):
    """The stored state becomes connected before the call record is written; a customer socket that
    opens in between reads connected (its hello says so) and its first messages must be accepted."""
    m = make()
    agent = await m.agent()
    console = await m.open_console(agent)
    session = await m.sessions.create(agent)
    await m.sessions.join(session["code"], CUSTOMER, IP)
    entered, release = asyncio.Event(), asyncio.Event()
    open_for = m.records.open_for

    async def slow_open_for(s):
        entered.set()
        await release.wait()  # the database is slow to write the record
        return await open_for(s)

    m.records.open_for = slow_open_for
    accepting = asyncio.create_task(m.sessions.connect(agent, session["id"]))
    await entered.wait()
    customer = await m.open_customer(session["id"])
    stored = await m.store.sessions.get(session["id"])
    assert stored["state"] == "connected"  # what the customer's hello shows
    peer = m.control.new_peer(role="customer", agent_id=None, session_id=session["id"], language="en",
                              send=customer.send_json)
    await m.control.dispatch(peer, {"type": "capabilities", "flash": False, "focus": False, "cameras": [],
                                    "audio": False})
    assert console.of_type("capabilities")[0]["from"] == "customer"
    release.set()
    await accepting
    assert (await m.store.records.by_session(session["id"])) is not None
