"""``Presence`` directly, on one node: who of a session has a socket open, the grace fields it keeps,
and the notices to the other participants. The same rules across nodes: tests/cluster."""

from __future__ import annotations

import pytest

from anysupport.sessions.placement import SingleNode
from anysupport.sessions.presence import CUSTOMER, Participant, agent_of, others, participants
from tests.support.managers import build_managers

CUSTOMER_FIELDS = {"name": "고객", "email": None, "phone": None, "language": "en"}


@pytest.fixture
def m(db_store, clock):
    return build_managers(db_store, clock, reconnect_grace=30)


def test_a_session_has_its_agent_and_its_customer():
    session = {"id": "s1", "agent_id": "a1"}
    assert participants(session) == (Participant("agent", "a1"), CUSTOMER)
    assert list(others(session, CUSTOMER)) == [agent_of(session)]
    assert (agent_of(session).gone_field, CUSTOMER.gone_field) == ("agent_gone_at", "customer_gone_at")
    assert agent_of(session).node_field is None and CUSTOMER.node_field == "customer_node"


async def test_sockets_come_and_go_with_their_grace_clocks_and_notices(m, clock):
    assert isinstance(m.sessions.placement, SingleNode)
    presence = m.sessions.presence
    agent = await m.agent()
    console = await m.open_console(agent)
    session = await m.sessions.create(agent)
    await m.sessions.join(session["code"], CUSTOMER_FIELDS, "203.0.113.7")
    customer = await m.open_customer(session["id"])
    session = await m.sessions.connect(agent, session["id"])
    assert presence.present(session, CUSTOMER) and presence.present(session, agent_of(session))
    assert await presence.present_now(session["id"], CUSTOMER)

    await m.close_customer(customer)
    stored = await m.store.sessions.get(session["id"])
    assert stored["customer_gone_at"] == clock() and not presence.present(stored, CUSTOMER)
    assert console.of_type("peer")[-1] == {"type": "peer", "peer": "customer", "status": "reconnecting",
                                           "session_id": session["id"],
                                           "time": clock().isoformat(timespec="milliseconds")}
    assert "customer_node" not in stored  # one node records no node

    # a socket found open here while the record says it is gone (what a slow node of a cluster meets)
    m.hub.attach_customer(session["id"], customer)
    assert presence.returned(stored) == {"customer_gone_at": None}
    m.hub.detach_customer(session["id"], customer)

    clock.advance(5)
    await m.close_console(console)
    stored = await m.store.sessions.get(session["id"])
    assert stored["agent_gone_at"] == clock()
    back = await m.open_console(agent)
    assert (await m.store.sessions.get(session["id"]))["agent_gone_at"] is None
    assert back.sent == []  # the customer is the one told the agent is back, and it has no socket now
