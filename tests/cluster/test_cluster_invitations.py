"""Invitations across nodes (issue 21, "works across nodes"), on three nodes' managers over one real store
with a hand-moved clock (as test_cluster_managers): the REST calls reach any node, the invited agent's
console is on another node than the session, its guest socket on the session's node is what the session's
node routes to; plus the hub's lookup of a participant's socket."""

from __future__ import annotations

import json

import pytest

from anysupport.errors import Conflict, NotFound
from anysupport.ws.hub import Hub
from tests.cluster.test_cluster_managers import Node, agent, three_nodes
from tests.support.clock import ManualClock
from tests.support.connections import Principal, RecordingConnection


def test_the_hub_finds_a_guest_socket_before_the_console():
    hub = Hub()
    console = RecordingConnection(Principal("agent", agent_id="lee"))
    guest = RecordingConnection(Principal("agent", agent_id="lee"))
    customer = RecordingConnection(Principal("customer", session_id="s1"))
    hub.attach_console("lee", console)
    hub.attach_customer("s1", customer)
    assert hub.participant("s1", "lee") is console and hub.participant("s1", None) is customer
    hub.attach_guest("s1", "lee", guest)
    assert hub.participant("s1", "lee") is guest  # this session only
    assert hub.participant("s2", "lee") is console
    assert hub.console("lee") is console and hub.has_console("lee")  # the console is untouched
    assert guest in hub.all()  # a revoked token closes it too
    newer = RecordingConnection(Principal("agent", agent_id="lee"))
    hub.attach_guest("s1", "lee", newer)
    assert guest.closed is not None and hub.guest("s1", "lee") is newer  # one guest socket per (session, agent)
    assert not hub.detach_guest("s1", "lee", guest)
    hub.end_guest("s1", "lee", "removed")
    assert newer.closed is not None and newer.closed[1] == "removed"
    assert hub.detach_guest("s1", "lee", newer) and hub.participant("s1", "lee") is console


async def connected_call(a: Node, kim: dict, *, versions=(1, 2)) -> tuple[str, RecordingConnection, RecordingConnection]:
    """kim's console on ``a``, a connected session there with its customer (who speaks ``versions``)."""
    console = await a.open_console(kim)
    session = await a.sessions.create(kim)
    await a.sessions.join(session["code"], {"name": "Hong"}, "10.0.0.9")
    await a.sessions.connect(kim, session["id"], versions=[1, 2])
    customer = await a.open_customer(session["id"])
    peer = a.services.control.new_peer(role="customer", agent_id=None, session_id=session["id"], language="en",
                                       send=customer.send_json)
    await a.services.control.on_text(peer, json.dumps({"type": "capabilities", "flash": False, "focus": False, "cameras": [], "audio": False,
                                                               "versions": list(versions)}))
    assert not [m for m in customer.sent if m["type"] == "error"], customer.sent
    return session["id"], console, customer


def last(conn: RecordingConnection, kind: str) -> dict:
    return [m for m in conn.sent if m["type"] == kind][-1]


async def test_an_agent_on_another_node_is_invited_through_a_third_joins_and_is_removed(db_store, tmp_path):
    clock = ManualClock()
    a, b, c = await three_nodes(db_store, clock, tmp_path)
    kim, lee = await agent(db_store, "kim"), await agent(db_store, "lee")
    sid, kim_console, customer = await connected_call(a, kim)
    lee_console = await b.open_console(lee)
    for node in (a, b, c):
        await node.poll()

    # the invitation, made through c: the session is not in c's memory; lee's console is on b
    assert sid not in c.sessions.live
    invited = await c.services.invitations.invite(kim, sid, lee["id"], "full")
    assert invited["agent_id"] == lee["id"]
    assert not [m for m in lee_console.sent if m["type"] == "invitation"]
    await b.poll()
    assert last(lee_console, "invitation")["status"] == "open"

    # accepted through b (its console's node): it is told the session's node and to open a guest socket
    answer = await b.services.invitations.answer(lee, sid, True)
    assert (answer["index"], answer["ws_url"], answer["guest_socket"]) == (2, "/node/a/ws", True)
    # a guest socket opened on b is sent to a (``moved``), as a customer's would be
    assert (await b.services.invitations.check_guest_socket(lee["id"], sid))["node"] == "a"
    await a.poll()  # the session's node applies it: roster, and the list to the sockets it holds
    assert a.sessions.live[sid].roster.index_of("agent", lee["id"]) == 2
    listed = last(customer, "participants")
    assert [(p["index"], p["present"]) for p in listed["participants"]] == [(0, True), (1, True), (2, False)]

    await a.services.invitations.check_guest_socket(lee["id"], sid)
    guest = RecordingConnection(Principal("agent", agent_id=lee["id"]))
    a.hub.attach_guest(sid, lee["id"], guest)
    a.services.invitations.sockets_changed(session_id=sid)
    assert [p["present"] for p in last(customer, "participants")["participants"]] == [True, True, True]
    assert last(guest, "participants")["you"] == 2
    assert a.hub.participant(sid, lee["id"]) is guest
    listed = await c.services.invitations.list(kim, sid)  # GET …/participants through a node without it
    assert [(p["index"], p["present"]) for p in listed["participants"]] == [(0, True), (1, True), (2, True)]
    hello = await b.services.invitations.guest_sessions(lee["id"])  # a restarted console on b finds it
    assert [(s["id"], s["ws_url"], s["guest_socket"], s["index"]) for s in hello] == [(sid, "/node/a/ws", True, 2)]
    assert (await a.services.invitations.guest_sessions(lee["id"]))[0]["guest_socket"] is False

    # removed through c: the console on b and the guest socket on a hear it; the guest socket is closed
    await c.services.invitations.remove(kim, sid, 2)
    await a.poll()
    await b.poll()
    assert last(guest, "removed")["index"] == 2 and guest.closed[1] == "removed"
    assert last(lee_console, "removed")["index"] == 2
    assert [p["index"] for p in last(customer, "participants")["participants"]] == [0, 1]
    assert a.sessions.live[sid].roster.index_of("agent", lee["id"]) is None
    with pytest.raises(NotFound):
        await a.services.invitations.check_guest_socket(lee["id"], sid)
    assert last(kim_console, "participants")["participants"][-1]["index"] == 1


async def test_invitation_rules_read_from_the_store_on_another_node(db_store, tmp_path):
    clock = ManualClock()
    a, b, c = await three_nodes(db_store, clock, tmp_path)
    kim, lee, park = await agent(db_store, "kim"), await agent(db_store, "lee"), await agent(db_store, "park")
    sid, kim_console, _customer = await connected_call(a, kim, versions=(1,))
    with pytest.raises(Conflict) as refused:
        await c.services.invitations.invite(kim, sid, lee["id"], "full")
    assert refused.value.code == "customer_not_group_capable"  # read from the store: c holds nothing of it

    sid, kim_console, _customer = await connected_call(a, kim)
    with pytest.raises(Conflict) as refused:
        await c.services.invitations.invite(kim, sid, lee["id"], "full")
    assert refused.value.code == "invitee_not_online"  # no console anywhere
    await b.open_console(lee)
    await c.open_console(park)
    await c.services.invitations.invite(kim, sid, lee["id"], "view")
    await b.services.invitations.invite(kim, sid, park["id"], "full")
    # both accept at once through different nodes: one index each, never the same one twice
    first = await b.services.invitations.answer(lee, sid, True)
    second = await c.services.invitations.answer(park, sid, True)
    assert {first["index"], second["index"]} == {2, 3}
    stored = await db_store.sessions.get(sid)
    assert sorted(g["index"] for g in stored["guests"]) == [2, 3] and stored["next_index"] == 4
    assert first["guest_socket"] and second["guest_socket"] and second["ws_url"] == "/node/a/ws"
    with pytest.raises(NotFound):
        await c.services.invitations.answer(park, sid, True)  # used up
    # a decline made elsewhere reaches the inviting agent's console on the session's node
    await a.poll()
    assert last(kim_console, "participants")["participants"][-1]["index"] == 3
    # a decline made through another node reaches the inviting agent's console on the session's node
    choi = await agent(db_store, "choi")
    await c.open_console(choi)
    await a.services.invitations.invite(kim, sid, choi["id"], "full")
    assert (await c.services.invitations.answer(choi, sid, False))["status"] == "declined"
    await a.poll()
    assert last(kim_console, "invitation")["status"] == "declined"


async def test_a_guest_socket_follows_its_session_to_another_node(db_store, tmp_path):
    clock = ManualClock()
    a, b, c = await three_nodes(db_store, clock, tmp_path)
    kim, lee = await agent(db_store, "kim"), await agent(db_store, "lee")
    sid, _kim_console, _customer = await connected_call(a, kim)
    await c.open_console(lee)
    await a.services.invitations.invite(kim, sid, lee["id"], "full")
    assert (await c.services.invitations.answer(lee, sid, True))["guest_socket"]
    await a.poll()
    guest = RecordingConnection(Principal("agent", agent_id=lee["id"]))
    a.hub.attach_guest(sid, lee["id"], guest)

    # kim's console comes back on b (its node's proxy sent it there): the session moves, and so does the guest
    await b.open_console(kim)
    await a.poll()
    moved = last(guest, "moved")
    assert moved["ws_url"] == "/node/b/ws" and guest.closed[0] == 4004
    # reopened on a, it would be sent on again; on b it is taken
    assert (await a.services.invitations.check_guest_socket(lee["id"], sid))["node"] == "b"
    assert await b.services.invitations.check_guest_socket(lee["id"], sid) is None
    assert b.sessions.live[sid].roster.index_of("agent", lee["id"]) == 2
    # the session's node stops beating: nowhere to send the guest socket to now (its client tries again)
    clock.advance(10)
    for node in (a, c):
        await node.cluster.beat()
    with pytest.raises(Conflict) as refused:
        await c.services.invitations.check_guest_socket(lee["id"], sid)
    assert refused.value.code == "session_elsewhere"
