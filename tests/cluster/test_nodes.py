"""Three real nodes on one database behind a real nginx: a session lives on its agent's node, the
customer is sent there, and what one node must tell another goes through the database."""

from __future__ import annotations

import asyncio
import re

import pytest
from anysupport_client.media.adaptation import Adapter
from anysupport_client.media.sources import TestPatternTrack
from anysupport_client.session import CustomerSession

from tests.support.agent import AgentPeer
from tests.support.client import Api, Socket, create_agent
from tests.support.cluster import Nodes, SharedDatabase
from tests.support.server import ADMIN_PASSWORD

pytestmark = pytest.mark.slow


async def console(cluster, login: str, password: str) -> AgentPeer:
    token, _ = await cluster.api().login(login, password)
    agent = AgentPeer(cluster.url, token=token)  # the console's socket goes through nginx
    await agent.start()
    return agent


def ws_base(url: str) -> str:
    return "ws" + url[len("http"):]


def customer_for(cluster) -> CustomerSession:
    return CustomerSession(cluster.url, video=TestPatternTrack(), level="low", language="en", adapter=Adapter("low"),
                           name="Tester")


@pytest.mark.parametrize("cluster", ["poll", "change_stream"], indirect=True)
async def test_a_customer_joined_through_another_node_is_announced_and_relayed(cluster):
    login, password = await cluster.new_agent()
    agent = await console(cluster, login, password)
    customer = customer_for(cluster)
    try:
        session = await agent.create_session()  # the REST call may reach any node: the session is on the console's
        home = session["node"]
        assert home in cluster.nodes.ids
        other = next(n for n in cluster.nodes.ids if n != home)
        joined = await cluster.api(other).post("/api/v1/join", {"code": session["code"], "name": "Kim"})
        assert joined.status == 200, joined.body
        assert joined.json["ws_url"] == f"/node/{home}/ws"  # the customer is sent to the agent's node

        # the agent hears of the join made on the other node
        await agent.current.wait_until(lambda: agent.current.state == "online", 10, "online on the console")
        customer.resume(joined.json["session_id"], joined.json["token"], joined.json["ws_url"])
        await customer.start()
        await agent.accept()
        await customer.wait_until(lambda: customer.media is not None and customer.media.ready, 10, "customer keys")
        frames = await agent.wait_frames(5, timeout=15)
        assert frames[-1].number > frames[0].number
        assert customer.sas == agent.current.sas_display
        agent.chat("보이시나요?")
        assert (await customer.wait_for("chat", text="보이시나요?"))["from"] == "agent"
        customer.send_chat("네")
        assert (await agent.current.wait_for("chat", text="네"))["from"] == "customer"
        # the customer's socket is held by the agent's node, not by the one that answered the join
        assert f"listening to the other nodes {'through a change stream' if cluster.events == 'change_stream' else 'by reading'}" \
            in "".join(cluster.nodes.procs[home].lines)
        assert f"customer socket open ({joined.json['session_id']})" in "".join(cluster.nodes.procs[home].lines)
    finally:
        customer._closing = True
        await customer.close()
        await agent.close()


async def test_a_forced_login_and_an_admin_disable_through_other_nodes_close_the_console(cluster):
    login, password = await cluster.new_agent()
    agent = await console(cluster, login, password)
    second_login, second_password = await cluster.new_agent()
    second = await console(cluster, second_login, second_password)
    try:
        home = (await agent.create_session())["node"]
        elsewhere = [n for n in cluster.nodes.ids if n != home]
        # the console on `home` counts as live on every node
        refused = await cluster.api(elsewhere[1]).post("/api/v1/auth/login", {"login": login, "password": password})
        assert refused.status == 409 and refused.error == "already_logged_in"
        forced = await cluster.api(elsewhere[1]).post("/api/v1/auth/login",
                                                     {"login": login, "password": password, "force": True})
        assert forced.status == 200
        kicked = await agent.wait_for("kicked", timeout=10)
        assert kicked["reason"] == "logged_in_elsewhere"
        # the node logs the kick after sending it: wait for the line (its reader is a thread) off the loop
        await asyncio.to_thread(cluster.nodes.procs[home].wait_for_log,
                                re.escape(f"console of agent {agent.client.agent['id']} kicked"))

        second_home = (await second.create_session())["node"]
        admin_node = next(n for n in cluster.nodes.ids if n != second_home)
        admin = await cluster.admin(admin_node)
        r = await admin.patch(f"/api/v1/admin/agents/{second_login}", {"disabled": True})
        assert r.status == 200, r.body
        kicked = await second.wait_for("kicked", timeout=10)
        assert kicked["reason"] == "account_changed"
    finally:
        await agent.close()
        await second.close()


async def test_two_hundred_sessions_spread_over_the_nodes_none_lost(cluster):
    from tests.support.client import Socket

    agents = []
    for _ in range(20):
        login, password = await cluster.new_agent(auto_connect=True)
        token, _ = await cluster.api().login(login, password)
        sock = await Socket.connect(cluster.url.replace("http", "ws", 1), token)
        await sock.recv_type("hello")
        agents.append((cluster.api(token=token), sock))
    sessions = []
    for api, sock in agents:
        for _ in range(10):
            r = await api.post("/api/v1/sessions")
            assert r.status == 201, r.body
            sessions.append((r.json, sock))
    homes = {s["node"] for s, _ in sessions}
    # the consoles (hence the sessions) are spread by nginx's consistent hash of their tokens
    assert len(homes) >= 2 and homes <= set(cluster.nodes.ids), homes

    async def join(i: int, session: dict, console):
        node = cluster.nodes.ids[i % 3]  # joins reach every node
        joined = await cluster.api(node).post("/api/v1/join", {"code": session["code"]})
        assert joined.status == 200, joined.body
        assert joined.json["ws_url"] == f"/node/{session['node']}/ws"
        customer = await Socket.connect(cluster.url.replace("http", "ws", 1), joined.json["token"],
                                        path=joined.json["ws_url"])
        hello = await customer.recv_type("hello")
        assert hello["ws_url"] == joined.json["ws_url"]
        if hello["session"]["state"] != "connected":  # auto-connect on the agent's node, announced to both sides
            await customer.recv_type("state", state="connected", timeout=30)
        return customer

    customers = await asyncio.gather(*(join(i, s, c) for i, (s, c) in enumerate(sessions)))
    for (session, console), customer in zip(sessions, customers, strict=True):  # one chat each way per session
        await console.send({"type": "chat", "session_id": session["id"], "text": f"hello {session['number']}"})
        await customer.send({"type": "chat", "text": f"back {session['number']}"})
    for (session, _console), customer in zip(sessions, customers, strict=True):
        got = await customer.recv_type("chat", timeout=20)
        assert got["text"] == f"hello {session['number']}"
    texts = set()
    for _api, sock in agents:
        for _ in range(10):
            texts.add((await sock.recv_type("chat", timeout=20))["text"])
    assert texts == {f"back {s['number']}" for s, _ in sessions}
    counts = {}
    for api, _sock in agents:  # every session is connected, on the node of its agent's console, with its record
        listed = (await api.get("/api/v1/sessions")).json["sessions"]
        assert [s["state"] for s in listed] == ["connected"] * 10
        for s in listed:
            counts[s["node"]] = counts.get(s["node"], 0) + 1
            assert (await api.get(f"/api/v1/sessions/{s['id']}/record")).status == 200
    assert sum(counts.values()) == 200 and set(counts) == homes, counts
    for customer in customers:
        customer.close()
    for _api, sock in agents:
        sock.close()


async def test_kill_9_of_the_agents_node_mid_session_both_sides_come_back_on_another_node(cluster):
    login, password = await cluster.new_agent()
    agent = await console(cluster, login, password)
    customer = customer_for(cluster)
    keys = []
    customer.listeners.append(lambda name, data: keys.append(data["sas_display"]) if name == "keys" else None)
    try:
        session = await agent.create_session()
        home = session["node"]
        await customer.start(session["code"])  # through nginx: whichever node answers, the socket goes home
        await agent.accept()
        await customer.wait_until(lambda: keys, 10, "customer keys")
        await agent.wait_frames(5, timeout=15)
        fields = {"customer_name": "김고객", "trouble_type": None, "content": "프린터가 안 돼요", "phone": "010-1234-5678"}
        fields = {k: v for k, v in fields.items() if v is not None}
        saved = await agent.rest.request("PUT", f"/api/v1/sessions/{agent.session_id}/record", fields)
        before = await agent.rest.request("GET", f"/api/v1/sessions/{agent.session_id}/record")
        mark = agent.mark()

        assert cluster.nodes.kill(home) == -9  # mid-session, with the media flowing
        await agent.wait_for("hello", timeout=20, since=mark)  # the console is back through nginx, elsewhere
        await customer.wait_until(lambda: len(keys) >= 2, 20, "new keys after the node died")
        # both sides agree on the same new keys (a second exchange may have superseded the first)
        await agent.current.wait_until(lambda: agent.current.media.ready and customer.sas == agent.current.sas_display,
                                       20, "the same new keys on both sides")
        now = await agent.rest.request("GET", f"/api/v1/sessions/{agent.session_id}")
        new_home = now["node"]
        assert new_home != home and now["state"] == "connected"
        assert customer.ws_url.endswith(f"/node/{new_home}/ws")  # the resume answer named the new node
        frames = await agent.wait_frames(10, timeout=20)
        assert frames[-1].number > frames[0].number
        agent.chat("다시 보입니다")
        assert (await customer.wait_for("chat", text="다시 보입니다"))["from"] == "agent"
        customer.send_chat("좋아요")
        assert (await agent.current.wait_for("chat", text="좋아요"))["from"] == "customer"

        # the node comes back: it does not claim the session it no longer holds
        cluster.nodes.start(home)
        cluster.nodes.procs[home].wait_for_log("listening on", timeout=30)
        again = await agent.rest.request("GET", f"/api/v1/sessions/{agent.session_id}")
        assert again["node"] == new_home and again["state"] == "connected"
        agent.chat("still here")
        await customer.wait_for("chat", text="still here")

        record = await agent.rest.request("GET", f"/api/v1/sessions/{agent.session_id}/record")
        assert {k: record[k] for k in fields} == fields
        assert record["started_at"] == before["started_at"] == saved["started_at"] and record["ip"] == before["ip"]
        agent.end()
        survey = await customer.wait_for("survey", timeout=10)
        assert survey["session_id"] == agent.session_id
        customer.answer_survey("satisfied")
        await customer.wait_for("survey_saved", timeout=10)
        record = await agent.rest.request("GET", f"/api/v1/sessions/{agent.session_id}/record")
        assert record["ended_at"] and record["satisfaction"] == "satisfied"
        assert {k: record[k] for k in fields} == fields
    finally:
        customer._closing = True
        await customer.close()
        await agent.close()


async def test_after_a_kill_9_the_console_back_elsewhere_is_not_told_the_customer_is_there(tmp_path):
    """#18.11 with real nodes: node a, holding the agent's console and the customer's socket, is killed;
    while its last heartbeat is still younger than node_timeout (30 s here, so the window cannot close
    before the console is back), the console's hello on node b must not say customer_present: true (the
    customer's socket died with a; a console believing it would start a key exchange and get
    peer_not_connected); once the customer is back on b, the console hears it and b says so."""
    database = SharedDatabase(str(tmp_path / "db")).start()
    nodes = Nodes(str(tmp_path), database, count=2, node_timeout=30.0)
    try:
        nodes.start_all()
        admin_token, _ = await Api(nodes.url("a")).login("admin", ADMIN_PASSWORD, force=True)
        await create_agent(Api(nodes.url("a"), admin_token), "presence1", "pw-presence-1")
        token, _ = await Api(nodes.url("a")).login("presence1", "pw-presence-1")
        agent = Api(nodes.url("a"), token)
        console = await Socket.connect(ws_base(nodes.url("a")), token)
        await console.recv_type("hello")
        session = (await agent.post("/api/v1/sessions")).json
        assert session["node"] == "a"
        joined = (await Api(nodes.url("a")).post("/api/v1/join", {"code": session["code"]})).json
        customer = await Socket.connect(ws_base(nodes.url("a")), joined["token"])
        await customer.recv_type("hello")
        await agent.post(f"/api/v1/sessions/{session['id']}/connect")
        await customer.recv_type("state", state="connected")
        listed = (await agent.get(f"/api/v1/sessions/{session['id']}")).json
        assert listed["customer_present"] is True

        assert nodes.kill("a") == -9
        console.close()
        customer.close()
        console = await Socket.connect(ws_base(nodes.url("b")), token)  # the console is back, on b
        hello = await console.recv_type("hello")
        [back] = [s for s in hello["sessions"] if s["id"] == session["id"]]
        assert back["node"] == "b" and back["state"] == "connected"
        assert back["customer_present"] is False  # a's record of the customer's socket is not trusted
        agent_b = Api(nodes.url("b"), token)
        assert (await agent_b.get(f"/api/v1/sessions/{session['id']}")).json["customer_present"] is False

        customer = await Socket.connect(ws_base(nodes.url("b")), joined["token"])  # the customer is back
        await customer.recv_type("hello")
        await console.recv_type("peer", peer="customer", status="back")
        assert (await agent_b.get(f"/api/v1/sessions/{session['id']}")).json["customer_present"] is True
        console.close()
        customer.close()
    finally:
        nodes.stop_all()
        database.stop()
