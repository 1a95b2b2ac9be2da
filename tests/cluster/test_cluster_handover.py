"""Handing a session over with several nodes (docs/protocol.md, "Handing a session over"): the offer is kept
on the session in the database, so any node may make, answer or sweep it (REST reaches any node); the
session moves to the node of its new agent's console, its customer is sent there, and the nodes hear of the
hand-over through the cluster's events."""

from __future__ import annotations

import pytest

from anysupport.errors import Conflict, NotFound
from tests.support.clock import ManualClock

from .test_cluster_managers import agent, three_nodes


async def connected_on_a(db_store, clock, tmp_path):
    a, b, c = await three_nodes(db_store, clock, tmp_path)
    kim = await agent(db_store, "kim", auto_connect=True)
    old = await a.open_console(kim)
    session = await a.sessions.create(kim)
    await a.sessions.join(session["code"], {"name": "고객"}, "10.0.0.9")
    customer = await a.open_customer(session["id"])
    assert (await db_store.sessions.get(session["id"]))["state"] == "connected"
    return a, b, c, kim, old, session["id"], customer


async def test_offered_through_one_node_accepted_through_another(db_store, tmp_path):
    clock = ManualClock()
    a, b, c, kim, old, sid, customer = await connected_on_a(db_store, clock, tmp_path)
    lee = await agent(db_store, "lee")
    new = await a.open_console(lee)
    await b.services.handover.offer(kim, sid, "lee")  # the REST call reached b
    await a.poll()  # the offer reaches lee's console on a through the events
    assert new.of_type("handover_offer")[0]["by"]["login"] == "kim"
    assert (await c.services.handover.pending(lee, sid))["to"]["login"] == "lee"
    session = await c.services.handover.accept(lee, sid)  # the accept reached c
    assert session["node"] == "a" and session["agent_id"] == lee["id"]
    assert a.sessions.live[sid].agent_id == kim["id"]  # a has not read the events yet
    await a.poll()
    assert a.sessions.live[sid].agent_id == lee["id"]  # the relay on a now routes to lee's console
    assert old.of_type("handed_over") and new.of_type("handed_over")[0]["session"]["node"] == "a"
    assert new.types()[-1] == "state" and new.sent[-1]["session"]["agent_login"] == "lee"
    assert customer.of_type("peer", status="handed_over")[0]["name"] == "Agent lee"
    with pytest.raises(NotFound):  # taken: nobody may answer it again, on any node
        await b.services.handover.accept(lee, sid)


async def test_an_offer_lapses_once_whichever_nodes_sweep(db_store, tmp_path):
    clock = ManualClock()
    a, b, c, kim, old, sid, _customer = await connected_on_a(db_store, clock, tmp_path)
    lee = await agent(db_store, "lee")
    new = await a.open_console(lee)
    await a.services.handover.offer(kim, sid, "lee")
    clock.advance(60)
    assert [await n.services.handover.sweep() for n in (b, c, a)] == [1, 0, 0]
    await a.poll()
    assert [m["reason"] for m in new.of_type("handover_cancelled")] == ["expired"]
    assert [m["reason"] for m in old.of_type("handover_cancelled")] == ["expired"]


async def test_a_colleague_on_another_node_takes_the_call_over_and_the_customer_follows(db_store, tmp_path):
    clock = ManualClock()
    a, b, c, kim, old, sid, customer = await connected_on_a(db_store, clock, tmp_path)
    lee = await agent(db_store, "lee")
    new = await b.open_console(lee)  # lee's console is on b, the session on a
    await a.poll()  # a hears of lee's console on b (before anything else, as it would in time)
    await c.services.handover.offer(kim, sid, "lee")
    await b.poll()
    assert new.of_type("handover_offer")
    session = await c.services.handover.accept(lee, sid)
    assert session["node"] == "b"  # it lives with its new agent's console
    await a.poll()
    await b.poll()
    assert sid not in a.sessions.live and b.sessions.live[sid].agent_id == lee["id"]
    assert old.of_type("handed_over")
    # the customer on a: told who, then sent to b
    assert customer.of_type("peer", status="handed_over")[0]["name"] == "Agent lee"
    [moved] = customer.of_type("moved")
    assert moved["ws_url"] == "/node/b/ws" and customer.closed == (4004, "moved")
    # lee's console: the session arrived, connected, the customer not there yet (its key exchange waits)
    arrived = new.of_type("handed_over")[0]["session"]
    assert arrived["node"] == "b"
    state = new.of_type("state")[-1]
    assert state["state"] == "connected" and state["session"]["customer_present"] is False
    await b.open_customer(sid)  # the customer reconnects where it was sent, before a has seen its old socket go
    assert new.sent[-1]["type"] == "peer" and new.sent[-1]["status"] == "back"  # lee's exchange starts now
    a.hub.detach_customer(sid, customer)
    await a.sessions.customer_detached(sid)
    await b.poll()  # a's late "reconnecting" about the old socket is not passed on: the customer is here
    assert new.sent[-1]["type"] == "peer" and new.sent[-1]["status"] == "back"
    assert (await db_store.sessions.get(sid))["customer_gone_at"] is None


async def test_an_offer_to_an_agent_without_a_console_is_refused(db_store, tmp_path):
    clock = ManualClock()
    a, _b, _c, kim, _old, sid, _customer = await connected_on_a(db_store, clock, tmp_path)
    await agent(db_store, "lee")
    with pytest.raises(Conflict) as refused:
        await a.services.handover.offer(kim, sid, "lee")
    assert refused.value.code == "agent_not_available"


async def with_a_guest(db_store, node, sid):
    """park invited into the session on ``node`` (version 2 from then on), its console open there."""
    park = await agent(db_store, "park")
    console = await node.open_console(park)
    session = await db_store.sessions.set_fields(sid, {"guests": [
        {"index": 2, "agent_id": park["id"], "name": "Agent park", "rights": "full"}], "next_index": 3})
    node.sessions.set_live(session)
    return console


async def test_a_session_with_a_guest_handed_over_through_another_node(db_store, tmp_path):
    """Version 2: the accept reached c, the session stays on a (lee's console is there); once a reads the
    events, everyone on a gets the list with lee at the new index 3 and kim's index 1 gone."""
    clock = ManualClock()
    a, b, c, kim, old, sid, customer = await connected_on_a(db_store, clock, tmp_path)
    guest = await with_a_guest(db_store, a, sid)
    lee = await agent(db_store, "lee")
    new = await a.open_console(lee)
    await b.services.handover.offer(kim, sid, "lee")
    session = await c.services.handover.accept(lee, sid)
    assert (session["node"], session["agent_index"], session["next_index"]) == ("a", 3, 4)
    await a.poll()
    roster = a.sessions.live[sid].roster
    assert sorted(roster.by_index) == [0, 2, 3] and roster.by_agent[lee["id"]] == 3
    for conn, you in ((customer, 0), (guest, 2), (new, 3)):
        [listed] = conn.of_type("participants")
        assert listed["you"] == you and [(p["index"], p["role"]) for p in listed["participants"]] == [
            (0, "customer"), (2, "guest"), (3, "agent")]
    assert old.of_type("participants") == []


async def test_a_session_with_a_guest_is_not_moved_to_a_console_on_another_node(db_store, tmp_path):
    clock = ManualClock()
    a, b, _c, kim, _old, sid, _customer = await connected_on_a(db_store, clock, tmp_path)
    await with_a_guest(db_store, a, sid)
    lee = await agent(db_store, "lee")
    await b.open_console(lee)  # lee's console is on b: the guest's is on a, the session's node
    await a.services.handover.offer(kim, sid, "lee")
    with pytest.raises(Conflict) as refused:
        await b.services.handover.accept(lee, sid)
    assert refused.value.code == "session_has_guests"
    assert (await db_store.sessions.get(sid))["agent_id"] == kim["id"]
