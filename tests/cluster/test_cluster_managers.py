"""Three nodes' managers on one real store, each built by ``Services.build`` with ``cluster`` on and one
hand-moved clock, no transport: each node reads the events when the test says so (``poll_once``), so
every cross-node rule is checked step by step."""

from __future__ import annotations

from dataclasses import dataclass

from anysupport.auth.manager import AuthManager, token_hash
from anysupport.auth.manager import Principal as TokenPrincipal
from anysupport.cluster.bus import Cluster
from anysupport.cluster.placement import ClusterPlacement
from anysupport.services import Services
from anysupport.sessions.manager import SessionManager
from anysupport.ws.hub import Hub
from tests.support.clock import ManualClock
from tests.support.connections import Principal, RecordingConnection
from tests.support.store import make_config


@dataclass
class Node:
    id: str
    services: Services

    @property
    def cluster(self) -> Cluster:
        return self.services.cluster

    @property
    def hub(self) -> Hub:
        return self.services.hub

    @property
    def auth(self) -> AuthManager:
        return self.services.auth

    @property
    def sessions(self) -> SessionManager:
        return self.services.sessions

    @property
    def placement(self) -> ClusterPlacement:
        return self.services.sessions.placement

    async def poll(self) -> int:
        return await self.cluster.poll_once()

    async def open_console(self, agent) -> RecordingConnection:
        conn = RecordingConnection(Principal("agent", agent_id=agent["id"]))
        self.hub.attach_console(agent["id"], conn)
        await self.sessions.console_attached(agent["id"])
        return conn

    async def open_customer(self, session_id: str) -> RecordingConnection:
        conn = RecordingConnection(Principal("customer", session_id=session_id))
        self.hub.attach_customer(session_id, conn)
        await self.sessions.customer_attached(session_id)
        return conn


async def make_node(store, clock: ManualClock, node_id: str, tmp_path) -> Node:
    config = make_config(cluster=True, node_id=node_id, data_dir=str(tmp_path / node_id), reconnect_grace=30,
                         node_timeout=5.0, node_heartbeat=1.0)
    node = Node(node_id, Services.build(config, store, clock=clock, monotonic=clock.monotonic))
    await node.cluster.beat()
    node.cluster.cursor = None
    await node.cluster.poll_once()  # starts after what is already there
    return node


async def three_nodes(store, clock, tmp_path) -> tuple[Node, Node, Node]:
    a = await make_node(store, clock, "a", tmp_path)
    b = await make_node(store, clock, "b", tmp_path)
    c = await make_node(store, clock, "c", tmp_path)
    for node in (a, b, c):
        await node.cluster.beat()
    return a, b, c


async def agent(store, login="kim", auto_connect=False):
    return await store.agents.create(login=login, name=f"Agent {login}", role="agent", password_hash="x",
                                     number=None, settings={"auto_connect": auto_connect})


def types(conn: RecordingConnection) -> list[str]:
    return [m["type"] + (f":{m['state']}" if m["type"] == "state" else "") for m in conn.sent]


async def test_a_session_lives_on_its_console_node_and_a_join_elsewhere_is_announced_there(db_store, tmp_path):
    clock = ManualClock()
    a, b, c = await three_nodes(db_store, clock, tmp_path)
    kim = await agent(db_store, auto_connect=True)
    console = await a.open_console(kim)
    session = await b.sessions.create(kim)  # the REST call reached b
    assert session["node"] == "a" and "a" not in b.sessions.live
    await a.poll()
    assert types(console)[-1] == "state:offline"

    joined, _token = await c.sessions.join(session["code"], {"name": "Lee"}, "10.0.0.9")
    assert joined["state"] == "online" and c.sessions.ws_url(joined) == "/node/a/ws"
    assert types(console)[-1] == "state:offline"  # a has not read the events yet
    await a.poll()  # a hears of the join and, auto-connect being on, accepts it
    assert types(console)[-2:] == ["state:online", "state:connected"]
    assert a.sessions.live[session["id"]].state == "connected"
    assert (await db_store.sessions.get(session["id"]))["connected_at"] is not None

    customer = await a.open_customer(session["id"])
    assert console.sent[-1] == {**console.sent[-1], "type": "peer", "peer": "customer", "status": "joined"}
    await b.sessions.expire(session["id"], "deleted")  # DELETE /api/v1/sessions/{id} reached b
    await a.poll()
    assert types(console)[-1] == "state:expired" and types(customer)[-1] in ("survey", "state:expired")
    assert session["id"] not in a.sessions.live


async def test_a_customer_on_the_wrong_node_is_sent_on_or_held(db_store, tmp_path):
    clock = ManualClock()
    a, b, c = await three_nodes(db_store, clock, tmp_path)
    kim = await agent(db_store)
    await a.open_console(kim)
    session = await a.sessions.create(kim)
    await b.sessions.join(session["code"], {}, "10.0.0.9")
    stored = await db_store.sessions.get(session["id"])
    assert await b.placement.customer_placement(stored) == "moved"
    assert await a.placement.customer_placement(stored) == "here"
    moved = RecordingConnection(Principal("customer", session_id=session["id"]))
    assert not await b.sessions.admit_customer(moved, session["id"])  # the socket opened on b is sent to a
    assert moved.sent[0]["type"] == "moved" and moved.sent[0]["ws_url"] == "/node/a/ws"
    assert moved.closed == (4004, "moved")

    clock.advance(6)  # a stops beating (killed): after node_timeout the others count it dead
    await b.cluster.beat()
    assert await b.placement.customer_placement(stored) == "hold"
    held = RecordingConnection(Principal("customer", session_id=session["id"]))
    assert await b.sessions.admit_customer(held, session["id"]) and held.sent == [] and held.closed is None


async def test_the_sweep_and_the_restart_touch_only_the_nodes_own_sessions(db_store, tmp_path):
    clock = ManualClock()
    a, b, c = await three_nodes(db_store, clock, tmp_path)
    kim, lee = await agent(db_store, "kim"), await agent(db_store, "lee")
    await a.open_console(kim)
    lee_console = await b.open_console(lee)
    on_a = await a.sessions.create(kim)
    on_b = await b.sessions.create(lee)
    for s, node in ((on_a, a), (on_b, b)):
        await c.sessions.join(s["code"], {}, "10.0.0.9")
        await node.sessions._connect(s["id"])  # the customers never open their sockets: their grace runs
    clock.advance(31)
    for node in (a, b, c):
        await node.cluster.beat()
    assert await c.sessions.sweep() == 0  # c holds neither, and their nodes are alive
    assert await a.sessions.sweep() == 1  # a expires its own only
    assert (await db_store.sessions.get(on_a["id"]))["expire_reason"] == "customer_gone"
    assert (await db_store.sessions.get(on_b["id"]))["state"] == "connected"

    # b restarts (same id): a restart of a starts only a's grace clocks, and b's session is b's again
    b.hub.detach_console(lee["id"], lee_console)
    await a.sessions.restore()
    assert (await db_store.sessions.get(on_b["id"])).get("agent_gone_at") is None
    restarted = await make_node(db_store, clock, "b", tmp_path)
    await restarted.sessions.restore()
    assert (await db_store.sessions.get(on_b["id"]))["agent_gone_at"] is not None
    assert on_b["id"] in restarted.sessions.live


async def test_a_dead_nodes_sessions_move_with_the_console_and_expire_if_nobody_comes(db_store, tmp_path):
    clock = ManualClock()
    a, b, c = await three_nodes(db_store, clock, tmp_path)
    kim, lee = await agent(db_store, "kim"), await agent(db_store, "lee")
    await a.open_console(kim)
    await a.open_console(lee)
    moving, staying = await a.sessions.create(kim), await a.sessions.create(lee)
    for s in (moving, staying):
        await b.sessions.join(s["code"], {}, "10.0.0.9")
        await a.sessions._connect(s["id"])
        await a.open_customer(s["id"])
    # a is killed: no detach runs, no heartbeat any more
    clock.advance(6)
    for node in (b, c):
        await node.cluster.beat()
    held = await c.open_customer(moving["id"])  # the customer came back first, through c (a's backup)
    console = await b.open_console(kim)  # kim's console came back through b: its session moves to b
    assert (await db_store.sessions.get(moving["id"]))["node"] == "b"
    assert moving["id"] in b.sessions.live and console.closed is None
    await c.poll()
    assert held.sent[-1]["type"] == "moved" and held.sent[-1]["ws_url"] == "/node/b/ws" and held.closed[0] == 4004

    # lee never comes back: after the grace, a live node expires the dead node's session
    assert await c.sessions.sweep() == 0  # marks a's connected sessions gone from now
    clock.advance(31)
    await c.cluster.beat()
    assert await c.sessions.sweep() == 1
    assert (await db_store.sessions.get(staying["id"]))["expire_reason"] in ("agent_gone", "customer_gone")
    assert (await db_store.sessions.get(moving["id"]))["state"] == "connected"


async def test_a_console_back_after_its_node_died_is_not_told_the_customer_is_there(db_store, tmp_path):
    """#18.11: a killed node's record of the customer's socket is not trusted, even while its last
    heartbeat is still younger than node_timeout: the console that came back elsewhere must wait for the
    customer's own return (peer joined/back) before it starts the key exchange."""
    clock = ManualClock()
    a, b, c = await three_nodes(db_store, clock, tmp_path)
    kim = await agent(db_store, "kim")
    await a.open_console(kim)
    session = await a.sessions.create(kim)
    await a.sessions.join(session["code"], {}, "10.0.0.9")
    await a.sessions._connect(session["id"])
    await a.open_customer(session["id"])
    assert a.sessions.agent_view(await db_store.sessions.get(session["id"]))["customer_present"] is True
    # a is killed (no detach runs); one second later kim's console is back through b, a still "alive"
    clock.advance(1)
    await b.cluster.beat()
    assert b.cluster.alive("a")
    console = await b.open_console(kim)
    listed = await db_store.sessions.list_live(agent_id=kim["id"])  # what the hello lists
    assert [s["node"] for s in listed] == ["b"]
    assert b.sessions.agent_view(listed[0])["customer_present"] is False
    # the customer comes back (to the session's node, b): now it is there, and the console hears it
    await b.open_customer(session["id"])
    assert b.sessions.agent_view(await db_store.sessions.get(session["id"]))["customer_present"] is True
    assert any(m["type"] == "peer" and m["peer"] == "customer" for m in console.sent)
    # on a third node, the record of the live session's own node is still believed
    await c.cluster.beat()
    assert c.sessions.agent_view(await db_store.sessions.get(session["id"]))["customer_present"] is True


async def test_a_forced_login_elsewhere_kicks_the_console_and_a_stale_console_does_not_block(db_store, tmp_path):
    from anysupport.auth.passwords import hash_password
    from anysupport.errors import Conflict

    clock = ManualClock()
    a, b, c = await three_nodes(db_store, clock, tmp_path)
    kim = await db_store.agents.create(login="kim", name="Kim", role="agent", number=None, settings={},
                                       password_hash=await hash_password("pw-kim-123"))
    console = await a.open_console(kim)
    try:
        await c.auth.login("kim", "pw-kim-123", ip="10.0.0.1")
        raise AssertionError("a live console on a must refuse a login through c")
    except Conflict as exc:
        assert exc.code == "already_logged_in"
    await c.auth.login("kim", "pw-kim-123", force=True, ip="10.0.0.1")
    assert console.closed is None
    await a.poll()
    assert console.sent[-1]["type"] == "kicked" and console.sent[-1]["reason"] == "logged_in_elsewhere"
    assert console.closed[0] == 4001

    # a logout through b closes the socket opened with that token, wherever it is
    token, _ = await c.auth.login("kim", "pw-kim-123", force=True, ip="10.0.0.1")
    await a.poll()  # (the forced login's kick)
    on_a = RecordingConnection(TokenPrincipal("agent", token_hash(token), agent=kim))
    a.hub.attach_console(kim["id"], on_a)
    await b.auth.logout(TokenPrincipal("agent", token_hash(token), agent=kim))
    assert on_a.closed is None
    await a.poll()
    assert on_a.sent[-1]["reason"] == "logged_out" and on_a.closed[0] == 4001
    a.hub.detach_console(kim["id"], on_a)

    # a console recorded on a node that died does not keep the agent out
    again = await a.open_console(kim)
    clock.advance(6)
    await c.cluster.beat()
    await c.auth.login("kim", "pw-kim-123", ip="10.0.0.1")
    assert again.closed is None


async def test_an_older_event_from_another_node_does_not_undo_a_newer_state_here(db_store, tmp_path):
    # the second kill of benchmarks/cross_node.py: the session is created through c (its console is on a),
    # the customer joins through a before a has read c's "created" event; that event, read afterwards,
    # must not take the session (and a's console) back to offline
    clock = ManualClock()
    a, b, c = await three_nodes(db_store, clock, tmp_path)
    kim = await agent(db_store)
    console = await a.open_console(kim)
    session = await c.sessions.create(kim)
    assert session["node"] == "a"
    joined, _token = await a.sessions.join(session["code"], {"name": "Lee"}, "10.0.0.9")
    assert a.sessions.ws_url(joined) == "/node/a/ws" and types(console)[-1] == "state:online"
    await a.poll()  # c's "created" (offline) event arrives after the join made here
    assert types(console)[-1] == "state:online"
    assert a.sessions.live[session["id"]].state == "online"
    connected = await a.sessions._connect(session["id"])  # the agent accepts
    assert connected["state"] == "connected" and types(console)[-1] == "state:connected"
    await b.poll()
    await c.poll()
    assert types(console)[-1] == "state:connected"
