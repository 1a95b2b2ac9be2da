"""The store's part of several nodes, against the real database (embedded, or
``ANYSUPPORT_TEST_MONGO_URI``): heartbeats, consoles, the events log, sessions by node."""

from __future__ import annotations

import datetime as dt

from anysupport.store.common import utcnow


async def test_heartbeats_are_one_document_per_node(db_store):
    await db_store.cluster.heartbeat("a", url="", instance="x")
    await db_store.cluster.heartbeat("a", url="https://a.example.com", instance="y")
    await db_store.cluster.heartbeat("b", url="", instance="z")
    nodes = {n["id"]: n for n in await db_store.cluster.list_nodes()}
    assert set(nodes) == {"a", "b"} and nodes["a"]["url"] == "https://a.example.com"
    assert isinstance(nodes["a"]["seen_at"], dt.datetime)
    await db_store.cluster.forget_node("a")
    assert [n["id"] for n in await db_store.cluster.list_nodes()] == ["b"]


async def test_a_console_is_forgotten_only_by_the_node_that_holds_it(db_store):
    await db_store.cluster.set_console("agent1", "a")
    await db_store.cluster.set_console("agent1", "b")  # it moved
    assert await db_store.cluster.console_node("agent1") == "b"
    assert not await db_store.cluster.clear_console("agent1", "a")  # a's late detach leaves b's record
    assert await db_store.cluster.console_node("agent1") == "b"
    await db_store.cluster.set_console("agent2", "b")
    assert await db_store.cluster.clear_node_consoles("b") == 2
    assert await db_store.cluster.console_node("agent1") is None


async def test_events_are_numbered_read_after_a_number_and_purged(db_store):
    start = await db_store.cluster.last_seq()
    for i in range(3):
        await db_store.cluster.publish("a", "kick", {"agent_id": f"x{i}", "sent_at": utcnow()})
    events = await db_store.cluster.events_after(start)
    assert [e["seq"] for e in events] == [start + 1, start + 2, start + 3]
    assert events[0]["origin"] == "a" and events[0]["kind"] == "kick" and events[0]["payload"]["agent_id"] == "x0"
    assert isinstance(events[0]["payload"]["sent_at"], dt.datetime)  # times inside payloads come back as times
    assert [e["seq"] for e in await db_store.cluster.events_after(start + 2)] == [start + 3]
    assert await db_store.cluster.last_seq() == start + 3
    assert await db_store.cluster.purge_events(utcnow() + dt.timedelta(seconds=1)) == 3
    assert await db_store.cluster.events_after(start) == []


async def test_sessions_by_node(db_store):
    agent = {"id": "ag1", "login": "kim", "name": "Kim"}
    now = utcnow()
    s1 = await db_store.sessions.create(code="1111", agent=agent, now=now, node="a")
    s2 = await db_store.sessions.create(code="2222", agent=agent, now=now, node="b")
    assert await db_store.sessions.live_nodes() == ["a", "b"]
    assert [s["id"] for s in await db_store.sessions.list_live(node="a")] == [s1["id"]]
    moved = await db_store.sessions.move_agent_sessions("ag1", "c")
    assert {s["id"] for s in moved} == {s1["id"], s2["id"]}
    assert await db_store.sessions.live_nodes() == ["c"]
    assert await db_store.sessions.move_agent_sessions("ag1", "c") == []
    for s in (s1, s2):
        await db_store.sessions.transition(s["id"], ("offline",), {"state": "connected", "connected_at": now})
    await db_store.sessions.set_fields(s2["id"], {"node": "d"})
    assert await db_store.sessions.mark_all_gone(now, node="c") == 2  # both sides of s1 only
    assert (await db_store.sessions.get(s2["id"]))["agent_gone_at"] is None
    later = now + dt.timedelta(seconds=60)
    due = await db_store.sessions.due_for_expiry(offline_before=later, online_before=later, gone_before=later,
                                                 nodes=["d"])
    assert due == []
    due = await db_store.sessions.due_for_expiry(offline_before=later, online_before=later, gone_before=later,
                                                 nodes=["c", "d"])
    assert [s["id"] for s in due] == [s1["id"]]
