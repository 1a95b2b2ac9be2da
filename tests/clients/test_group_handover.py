"""Issue 21, hand-over in version 2, end to end with the Python clients over the real server: a customer
(test pattern and tone) and two agents' clients that speak [1, 2] as the console does. The call is sealed
from the start (two participants, version 2); it is handed to the second agent, which takes a new index;
the customer starts a new epoch, the second agent decodes its frames and exchanges sealed chat, and the
keys the first agent held open nothing sent after the hand-over. An agent auto-connected by the server
(its console said ``?versions=1,2``) is sealed from the start too."""

from __future__ import annotations

from typing import Any

import pytest
from anysupport_client.media.sources import TestPatternTrack, ToneTrack
from anysupport_client.session import AgentClient, CustomerSession
from anysupport_native import group
from anysupport_native.framing import FrameError

CONSOLE_VERSIONS = [1, 2]  # what clients/anysupport_agent/service.py gives its AgentClient


async def _console(server, agent_factory, **settings):
    _api, agent, password = await agent_factory(**settings)
    client = AgentClient(server.url, language="en", versions=CONSOLE_VERSIONS)
    await client.login(agent["login"], password, force=True)
    await client.start()
    return client, agent


async def _customer_frames_after(receiver, old_epoch: int) -> list[bytes]:
    """Once ``receiver`` holds the customer's key of an epoch after ``old_epoch``: the customer's frames of
    such epochs it received (and decoded) while ten more were decoded."""
    await receiver.wait_until(lambda: receiver.media.group.keys.highest.get(0, 0) > old_epoch, 10, "a new key")
    captured: list[bytes] = []
    on_frame = receiver.on_frame
    receiver.on_frame = lambda frame: (captured.append(frame), on_frame(frame))
    decoded = receiver.frames_decoded
    await receiver.wait_until(lambda: receiver.frames_decoded > decoded + 10, 10, "frames of the new epoch")
    receiver.on_frame = on_frame
    frames = [f for f in captured if f[:1] == b"\x02" and group.parse_header(f).epoch > old_epoch]
    assert frames
    return frames


def _people(participants: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    return [(p["index"], p["role"], p["name"]) for p in participants]


async def _joined_and_accepted(agent_client: AgentClient, customer: CustomerSession):
    """A new session of ``agent_client``'s, the customer joined, the agent connected it (versions [1, 2])."""
    session = await agent_client.create_session()
    await customer.start(session.code, name="홍길동")
    await session.wait_until(lambda: session.state == "online", 10, "online")
    await agent_client.accept(session.id)  # with the client's versions
    return session


async def test_a_call_sealed_from_the_start_is_handed_over_with_new_keys(server, agent_factory):
    customer = CustomerSession(server.url, video=TestPatternTrack(), audio=ToneTrack(600), language="en")
    (first, kim), (second, lee) = await _console(server, agent_factory), await _console(server, agent_factory)
    try:
        session = await _joined_and_accepted(first, customer)
        # sealed from the start: version 2 with two participants, the code shown is the pair's with the customer
        await session.wait_until(lambda: session.media.group.active and 0 in session.pair_sas, 10, "the pair")
        await customer.wait_until(lambda: 1 in customer.pair_sas, 10, "the customer's pair")
        assert session.index == 1 and session.customer_code.replace(" ", "") == customer.pair_sas[1]
        decoded = session.frames_decoded
        await session.wait_until(lambda: session.frames_decoded > decoded + 5, 10, "version-2 video")
        sealed_at_first: list[dict[str, Any]] = []
        on_message = session.on_message
        session.on_message = lambda m: (sealed_at_first.append(m) if m.get("type") == "sealed" else None,
                                        on_message(m))
        customer.send_chat("처음 상담원에게")
        await session.wait_until(lambda: any(c["text"] == "처음 상담원에게" for c in session.chat), 10, "chat")
        assert sealed_at_first, "the chat travelled sealed"

        # -- the hand-over ---------------------------------------------------------------------------------
        old_keys = session.media.group.keys  # what the first agent held when it handed the call over
        old_epoch = customer.media.group.epoch
        await first.offer_handover(session.id, lee["login"])
        await second.wait_for("handover_offer", 10, session_id=session.id)
        taken = await second.accept_handover(session.id, keys=True, timeout=15)
        await taken.wait_until(lambda: taken.index == 2 and 0 in taken.pair_sas, 10, "the new agent's pair")
        await customer.wait_until(lambda: 2 in customer.pair_sas and customer.media.group.epoch > old_epoch, 10,
                                  "the customer's new pair and epoch")
        assert customer.pair_sas[2] == taken.pair_sas[0] and taken.customer_code.replace(" ", "") == taken.pair_sas[0]
        assert taken.pair_sas[0] != customer.pair_sas.get(1)  # a new code (the old pair is gone)
        assert 1 not in customer.pair_sas
        assert _people(customer.participants) == [(0, "customer", "홍길동"), (2, "agent", lee["name"])]
        assert session.id not in first.live_sessions  # the call left the first console
        new_frames = await _customer_frames_after(taken, old_epoch)
        sealed_after: list[dict[str, Any]] = []
        on_message = taken.on_message
        taken.on_message = lambda m: (sealed_after.append(m) if m.get("type") == "sealed" else None, on_message(m))
        assert taken.send_chat("이어서 도와드리겠습니다")
        await customer.wait_until(lambda: any(c["text"] == "이어서 도와드리겠습니다" for c in customer.chat), 10,
                                  "the customer reads the new agent")
        customer.send_chat("고맙습니다")
        await taken.wait_until(lambda: any(c["text"] == "고맙습니다" for c in taken.chat), 10, "the new agent reads")
        assert sealed_after

        # -- the first agent's keys open nothing sent after ------------------------------------------------
        for frame in new_frames:
            with pytest.raises(FrameError):
                old_keys.opener.open(frame)
        for message in sealed_after:
            with pytest.raises(FrameError):
                old_keys.opener.open(group.unb64(message["frame"]))

        # -- the record names both agents --------------------------------------------------------------------
        saved = await second.rest.put_record(session.id, content="넘겨받아 해결", resolution="solved")
        assert [a["login"] for a in saved["agents"]] == [kim["login"], lee["login"]]
    finally:
        await customer.close()
        for client in (first, second):
            await client.close()


async def test_auto_connect_of_a_console_speaking_version_2_is_sealed_from_the_start(server, agent_factory):
    console, _agent = await _console(server, agent_factory, auto_connect=True)
    customer = CustomerSession(server.url, video=TestPatternTrack(), language="en")
    try:
        session = await console.create_session()
        await customer.start(session.code, name="홍길동")
        await session.wait_until(lambda: session.state == "connected", 10, "connected by the server")
        await session.wait_until(lambda: session.media.group.active and 0 in session.pair_sas, 10, "version 2")
        await customer.wait_until(lambda: 1 in customer.pair_sas, 10, "the customer's pair")
        assert session.pair_sas[0] == customer.pair_sas[1]
    finally:
        await customer.close()
        await console.close()


async def test_a_call_with_a_guest_is_handed_over_and_the_guest_stays(server, agent_factory):
    """With an invited expert (index 2) the new agent takes index 3: the expert stays a guest, pairs with
    the new agent, and every participant's new epoch leaves the first agent's keys behind."""
    customer = CustomerSession(server.url, video=TestPatternTrack(), language="en")
    (first, _kim), (second, lee) = await _console(server, agent_factory), await _console(server, agent_factory)
    expert_client, expert = await _console(server, agent_factory)
    try:
        session = await _joined_and_accepted(first, customer)
        await first.invite(session.id, expert["id"], "full")
        await expert_client.wait_for("invitation", 10, session_id=session.id)
        xs = await expert_client.accept_invitation(session.id)
        await xs.wait_until(lambda: {0, 1} <= set(xs.pair_sas), 10, "the expert's pairs")
        old_keys, old_epoch = session.media.group.keys, customer.media.group.epoch

        await first.offer_handover(session.id, lee["login"])
        await second.wait_for("handover_offer", 10, session_id=session.id)
        taken = await second.accept_handover(session.id, keys=True, timeout=15)
        await taken.wait_until(lambda: taken.index == 3 and {0, 2} <= set(taken.pair_sas), 10, "the new pairs")
        await xs.wait_until(lambda: 3 in xs.pair_sas and 1 not in xs.pair_sas, 10, "the expert pairs with lee")
        assert xs.pair_sas[3] == taken.pair_sas[2] and customer.pair_sas.get(3) == taken.pair_sas[0]
        assert [(p["index"], p["role"]) for p in xs.participants] == [(0, "customer"), (2, "guest"), (3, "agent")]
        assert xs.index == 2 and xs.info.get("guest")
        for frame in await _customer_frames_after(xs, old_epoch):
            with pytest.raises(FrameError):
                old_keys.opener.open(frame)
    finally:
        await customer.close()
        for client in (first, second, expert_client):
            await client.close()
