"""An expert invited into a call whose console is on another node, with real nodes behind nginx (issue 21,
"works across nodes"): the session lives on node a with its agent's console; the expert's console is on b
and the supervisor's on c. Invited through a (and once through nginx, any node), each accepts through
nginx, opens a guest socket on a (docs/protocol.md, "The guest socket"), decodes the customer's picture and
chats sealed; the customer's participants name them; removed, the expert opens nothing sent after; a
view-only guest's frames are refused. And when the call moves node with its agent's console, the guest
socket follows it (``moved``) and the expert keeps decoding."""

from __future__ import annotations

import time

import pytest
from anysupport_client.api import websocket_url
from anysupport_client.media.sources import TestPatternTrack
from anysupport_client.session import AgentClient, CustomerSession
from anysupport_native import group
from anysupport_native.framing import FrameError

pytestmark = pytest.mark.slow


async def console_on(cluster, node: str, login: str, password: str) -> AgentClient:
    """An agent's client: REST through nginx (any node), its console socket on ``node`` (``/node/<id>/ws``)."""
    client = AgentClient(cluster.url, language="en")
    client.connection.url = websocket_url(cluster.url, f"/node/{node}/ws")
    await client.login(login, password, force=True)
    await client.start()
    return client


async def test_guests_whose_consoles_are_on_other_nodes(cluster):
    home, other, third = cluster.nodes.ids[:3]
    logins = [await cluster.new_agent() for _ in range(3)]
    kim = await console_on(cluster, home, *logins[0])
    lee = await console_on(cluster, other, *logins[1])
    park = await console_on(cluster, third, *logins[2])
    customer = CustomerSession(cluster.url, video=TestPatternTrack(), level="low", language="en")
    try:
        session = await kim.create_session()
        assert session.info["node"] == home
        await customer.start(session.code, name="홍길동")
        await session.wait_until(lambda: session.state == "online", 15, "online")
        await kim.accept(session.id, timeout=20)
        await session.wait_until(lambda: session.capabilities.get("versions") == [1, 2], 15, "capabilities")
        await customer.wait_until(lambda: customer.ws_url.endswith(f"/node/{home}/ws"), 15, "customer on a")

        # invited through node a itself; the invitation reaches lee's console on b
        r = await cluster.api(home, kim.token).post(f"/api/v1/sessions/{session.id}/invitations",
                                                     {"agent_id": lee.agent["id"], "rights": "full"})
        assert r.status == 201, r.body
        await lee.wait_for("invitation", 15, session_id=session.id)
        started = time.monotonic()
        xs = await lee.accept_invitation(session.id)
        assert session.id in lee.guests and lee.guests.link(session.id).url.split("?")[0].endswith(f"/node/{home}/ws")
        await xs.wait_until(lambda: xs.frames_decoded > 0, 15, "the expert's first decoded frame")
        print(f"\nexpert on node {other}: first decoded frame {(time.monotonic() - started) * 1000:.0f} ms "
              "after accepting")
        # the customer's list names it, present (its guest socket is on the session's node)
        await customer.wait_until(lambda: [(p["index"], p["present"]) for p in customer.participants]
                                  == [(0, True), (1, True), (2, True)], 15, "the expert listed")
        assert customer.participants[2]["name"] == lee.agent["name"]
        # a sealed chat, both ways
        await xs.wait_until(lambda: xs.media.group.ready, 15, "the expert's keys")
        assert xs.send_chat("전문가입니다")
        await customer.wait_until(lambda: any(c["text"] == "전문가입니다" for c in customer.chat), 15, "the chat")
        customer.send_chat("안녕하세요")
        await xs.wait_until(lambda: any(c["text"] == "안녕하세요" for c in xs.chat), 15, "the customer's chat")
        assert not [m for m in lee.inbox if m.get("type") == "error"]  # nothing it sent was refused

        # the expert's console restarts: its hello lists the session (on another node), and the new client
        # opens the guest socket there by itself
        await lee.close()
        lee = await console_on(cluster, other, *logins[1])
        await lee.wait_until(lambda: session.id in lee.guests, 15, "the guest socket reopened")
        xs = lee.session(session.id)
        assert xs.info["guest"] and xs.info["index"] == 2
        await xs.wait_until(lambda: xs.frames_decoded > 0, 15, "the restarted expert's frames")

        # removed: a new epoch; nothing sent after opens with what the expert held
        expert_opener = xs.media.group.keys.opener
        captured: list[bytes] = []
        on_frame = session.on_frame
        session.on_frame = lambda frame: (captured.append(frame), on_frame(frame))
        old = customer.media.group.epoch
        await session.remove_participant(2)
        await xs.wait_until(lambda: xs.removed, 15, "removed")
        await customer.wait_until(lambda: customer.media.group.epoch > old, 15, "customer's new epoch")
        await session.wait_until(lambda: sum(1 for f in captured if f[:1] == b"\x02"
                                             and group.parse_header(f).epoch > old) >= 10, 15, "new frames")
        for frame in [f for f in captured if f[:1] == b"\x02" and group.parse_header(f).epoch > old]:
            with pytest.raises(FrameError):
                expert_opener.open(frame)
        await lee.wait_until(lambda: session.id not in lee.guests, 15, "the guest socket closed")
        await customer.wait_until(lambda: [p["index"] for p in customer.participants] == [0, 1], 15, "list")

        # a view-only guest, invited through nginx (any node): it sees, and its frames are refused
        await kim.invite(session.id, park.agent["id"], "view")
        await park.wait_for("invitation", 15, session_id=session.id)
        ss = await park.accept_invitation(session.id)
        assert session.id in park.guests
        await ss.wait_until(lambda: ss.frames_decoded > 0, 15, "the supervisor sees")
        ss.agent_video(True, TestPatternTrack(320, 240, 15))
        refused = await park.wait_for("error", 15, error="frame_dropped")
        assert refused["field"] == "view_only"
    finally:
        customer._closing = True
        await customer.close()
        for client in (kim, lee, park):
            await client.close()


async def test_a_guest_follows_the_call_when_it_moves_node(cluster):
    """The session's agent's console comes back on another node (the proxy sent its reconnection there): the
    session moves with it, the customer follows (``moved``), and so does the expert's guest socket."""
    home, other, third = cluster.nodes.ids[:3]
    kim_login, lee_login = await cluster.new_agent(), await cluster.new_agent()
    kim = await console_on(cluster, home, *kim_login)
    lee = await console_on(cluster, other, *lee_login)
    customer = CustomerSession(cluster.url, video=TestPatternTrack(), level="low", language="en")
    try:
        session = await kim.create_session()
        await customer.start(session.code, name="홍길동")
        await session.wait_until(lambda: session.state == "online", 15, "online")
        await kim.accept(session.id, timeout=20)
        await session.wait_until(lambda: session.capabilities.get("versions") == [1, 2], 15, "capabilities")
        await kim.invite(session.id, lee.agent["id"], "full")
        await lee.wait_for("invitation", 15, session_id=session.id)
        xs = await lee.accept_invitation(session.id)
        await xs.wait_until(lambda: xs.frames_decoded > 0, 15, "the expert's first decoded frame")

        kim.connection.url = websocket_url(cluster.url, f"/node/{third}/ws")
        kim.drop_connection()
        await customer.wait_until(lambda: customer.ws_url.endswith(f"/node/{third}/ws"), 20, "customer moved")
        await lee.wait_until(lambda: session.id in lee.guests
                             and f"/node/{third}/ws" in lee.guests.link(session.id).url, 20, "guest socket moved")
        decoded = xs.frames_decoded
        await xs.wait_until(lambda: xs.frames_decoded > decoded + 3, 30, "the expert's frames on the new node")
    finally:
        customer._closing = True
        await customer.close()
        for client in (kim, lee):
            await client.close()
