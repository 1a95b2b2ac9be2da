"""A call handed over to an agent whose console is on another node, with real nodes behind nginx: the
session moves to that node, the customer follows it there (``moved``), new keys are agreed and the picture
reaches the new agent (docs/protocol.md, "Handing a session over")."""

from __future__ import annotations

import pytest
from anysupport_client.media.adaptation import Adapter
from anysupport_client.media.sources import TestPatternTrack
from anysupport_client.session import CustomerSession

from tests.support.agent import AgentPeer

pytestmark = pytest.mark.slow


async def console_on(cluster, node: str, login: str, password: str) -> AgentPeer:
    """An agent's console opened straight on ``node`` (not through nginx, which picks a node by token)."""
    token, _ = await cluster.api(node).login(login, password)
    agent = AgentPeer(cluster.nodes.url(node), token=token)
    await agent.start()
    return agent


async def test_a_call_handed_over_to_a_console_on_another_node(cluster):
    home, other = cluster.nodes.ids[0], cluster.nodes.ids[1]
    kim_login, kim_password = await cluster.new_agent()
    lee_login, lee_password = await cluster.new_agent()
    kim = await console_on(cluster, home, kim_login, kim_password)
    lee = await console_on(cluster, other, lee_login, lee_password)
    customer = CustomerSession(cluster.url, video=TestPatternTrack(), level="low", language="en",
                               adapter=Adapter("low"), name="Tester")
    keys: list[str] = []
    customer.listeners.append(lambda name, data: keys.append(data["sas_display"]) if name == "keys" else None)
    try:
        session = await kim.create_session()
        assert session["node"] == home
        await customer.start(session["code"])
        await kim.accept()
        await customer.wait_until(lambda: keys, 15, "customer keys")
        await kim.wait_frames(3, timeout=15)
        sid = kim.session_id

        offered = await cluster.api(other, kim.client.token).post(f"/api/v1/sessions/{sid}/handover",
                                                                 {"to": lee_login})
        assert offered.status == 201, offered.body  # any node takes the offer
        await lee.wait_for("handover_offer", timeout=10, session_id=sid)
        taken = await lee.client.accept_handover(sid, keys=True, timeout=30)
        assert taken.info.get("node") == other
        await kim.wait_for("handed_over", timeout=10, session_id=sid)
        assert sid not in kim.client.session_infos
        # the customer followed the session to the other node, and agreed new keys with lee
        await customer.wait_until(lambda: customer.ws_url.endswith(f"/node/{other}/ws"), 15, "moved")
        await customer.wait_until(lambda: len(keys) >= 2 and customer.sas == taken.sas_display, 20, "new keys")
        assert keys[-1] != keys[0] and customer.agent_name == lee_login  # the name is the login here
        decoded = taken.frames_decoded
        await taken.wait_until(lambda: taken.frames_decoded > decoded + 3, 20, "frames at the new agent")
        lee.current = taken
        lee.chat("이제 제가 도와드릴게요")
        assert (await customer.wait_for("chat", text="이제 제가 도와드릴게요"))["from"] == "agent"
        record = await lee.rest.request("GET", f"/api/v1/sessions/{sid}/record")
        assert [a["login"] for a in record["agents"]] == [kim_login, lee_login]
    finally:
        customer._closing = True
        await customer.close()
        await kim.close()
        await lee.close()


async def test_a_call_sealed_from_the_start_handed_over_to_another_node(cluster):
    """Version 2 from the start (the agents' clients speak [1, 2], as the console does): the session moves to
    the new agent's node, the new agent takes index 2, and the customer, back on that node, gets the list
    without index 1 and agrees a new pair with it (docs/protocol.md, "Handing a session over")."""
    home, other = cluster.nodes.ids[0], cluster.nodes.ids[1]
    (kim_login, kim_password), (lee_login, lee_password) = await cluster.new_agent(), await cluster.new_agent()
    kim, lee = await console_on(cluster, home, kim_login, kim_password), await console_on(cluster, other, lee_login,
                                                                                          lee_password)
    customer = CustomerSession(cluster.url, video=TestPatternTrack(), level="low", language="en",
                               adapter=Adapter("low"), name="Tester")
    try:
        session = await kim.create_session()
        await customer.start(session["code"])
        await kim.accept(versions=[1, 2])
        await customer.wait_until(lambda: customer.agent_code is not None and customer.media.group.active, 15,
                                  "sealed from the start")
        first_code, sid = customer.agent_code, kim.session_id
        offered = await cluster.api(home, kim.client.token).post(f"/api/v1/sessions/{sid}/handover", {"to": lee_login})
        assert offered.status == 201, offered.body
        await lee.wait_for("handover_offer", timeout=10, session_id=sid)
        taken = await lee.client.accept_handover(sid, keys=True, timeout=30)
        await customer.wait_until(lambda: customer.ws_url.endswith(f"/node/{other}/ws"), 15, "moved")
        await customer.wait_until(lambda: customer.agent_index == 2 and customer.agent_code is not None
                                  and customer.agent_code == taken.customer_code, 20, "the new agent's pair")
        assert customer.agent_code != first_code and 1 not in customer.pair_sas
        decoded = taken.frames_decoded
        await taken.wait_until(lambda: taken.frames_decoded > decoded + 3, 20, "frames at the new agent")
        assert taken.index == 2
    finally:
        customer._closing = True
        await customer.close()
        await kim.close()
        await lee.close()
