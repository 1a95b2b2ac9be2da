"""Issue 21: a client written from docs/protocol.md and docs/api.md alone (tests/support/docclient.py: Tornado
and `cryptography`, no AnySupport client code) joins a real session as the third participant, invited by the
session's agent (the Python library) into a call with a library customer: it keys every pair, opens the
customer's version-2 video (PyAV decodes an access unit), reads and sends sealed chat, and its security
codes match the library's."""

from __future__ import annotations

import av
from anysupport_client.media.sources import TestPatternTrack
from anysupport_client.session import AgentClient, CustomerSession

from tests.support.docclient import KIND_VIDEO, DocParticipant


async def test_client_from_the_docs_joins_as_the_third_participant(server, agent_factory):
    _api, agent, password = await agent_factory()
    agent_client = AgentClient(server.url, language="en", read_stamps=True)
    await agent_client.login(agent["login"], password, force=True)
    await agent_client.start()
    _api, expert, expert_password = await agent_factory()
    doc = DocParticipant(server.url)
    customer = CustomerSession(server.url, video=TestPatternTrack(), language="en")
    try:
        me = await doc.login(expert["login"], expert_password)
        assert me["id"] == expert["id"]
        await doc.open()
        session = await agent_client.create_session()
        await customer.start(session.code, name="홍길동")
        await session.wait_until(lambda: session.state == "online", 10, "online")
        await agent_client.accept(session.id)
        await session.wait_until(lambda: session.capabilities.get("versions") == [1, 2], 10, "capabilities")

        await agent_client.invite(session.id, expert["id"], "full")
        await doc.wait_until(lambda: any(m["type"] == "invitation" and m.get("session_id") == session.id
                                         for m in doc.messages), 5, "the invitation")
        answer = await doc.accept(session.id)
        assert answer["status"] == "accepted" and answer["index"] == 2

        # pairwise channels with the customer (0) and the agent (1), and both of their sender keys
        await doc.wait_until(lambda: doc.me == 2 and doc.version == 2 and set(doc.pairs) == {0, 1}, 5, "pairs")
        await doc.wait_until(lambda: {s for s, _e in doc.keys} == {0, 1}, 5, "sender keys")
        # the customer's video, sealed as version 2 frames
        await doc.wait_until(lambda: any(f[0][1] == KIND_VIDEO and f[0][3] == 0 and f[0][2] & 1 for f in doc.frames),
                             5, "a keyframe of the customer's video")
        keyframe = next(p for f, p in doc.frames if f[1] == KIND_VIDEO and f[3] == 0 and f[2] & 1)
        assert keyframe.startswith(b"\x00\x00\x00\x01\x67")  # Annex B, SPS first
        decoder = av.CodecContext.create("h264", "r")
        pictures = decoder.decode(av.Packet(keyframe)) + decoder.decode(None)  # one access unit, then flush
        assert pictures and (pictures[0].width, pictures[0].height) == (640, 480)

        # sealed chat both ways
        customer.send_chat("고객이 봉인해 보냅니다")
        await doc.wait_until(lambda: any(c["text"] == "고객이 봉인해 보냅니다" and c["from_index"] == 0
                                         for c in doc.chats), 5, "the customer's sealed chat")
        doc.send_sealed({"type": "chat", "text": "문서만 보고 만든 전문가입니다"})
        await customer.wait_until(lambda: any(c["text"] == "문서만 보고 만든 전문가입니다" for c in customer.chat),
                                  5, "the expert's chat at the customer")
        assert not any(m["type"] == "error" for m in doc.messages), [m for m in doc.messages if m["type"] == "error"]

        # each pair's security code is the same on both sides
        await customer.wait_until(lambda: len(customer.pair_sas) == 2, 5, "customer's pairs")
        await session.wait_until(lambda: len(session.pair_sas) == 2, 5, "agent's pairs")
        assert doc.pairs[0].sas == customer.pair_sas[2]
        assert doc.pairs[1].sas == session.pair_sas[2]
        assert [(p["index"], p["role"]) for p in customer.participants] == [(0, "customer"), (1, "agent"), (2, "guest")]
    finally:
        await customer.close()
        await doc.close()
        await agent_client.close()
