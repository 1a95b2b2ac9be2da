"""ConsoleClient against the real server, with the headless customer (no Qt)."""

from __future__ import annotations

import pytest
from anysupport_agent.service import ConsoleClient
from anysupport_client.api import ApiError
from anysupport_client.media.sources import TestPatternTrack, ToneTrack
from anysupport_client.session import CustomerSession

from tests.clients.conftest import wait_until


@pytest.fixture
async def console(server, agent_factory):
    _client, agent, password = await agent_factory()
    console = ConsoleClient(server.url, language="en")
    await console.login(agent["login"], password)
    yield console
    await console.close()


async def test_login_errors(server, agent_factory):
    _client, agent, password = await agent_factory()
    console = ConsoleClient(server.url, language="en")
    with pytest.raises(ApiError) as wrong:
        await console.login(agent["login"], "nope")
    assert wrong.value.error == "invalid_credentials" and wrong.value.message
    me = await console.login(agent["login"], password)
    assert me["login"] == agent["login"]
    with pytest.raises(ApiError) as expired:
        await console.resume("not-a-token")
    assert expired.value.status == 401


async def test_session_life_with_a_customer(console, server):
    events = []
    console.listeners.append(lambda name, data: events.append((name, data)))
    hello = await console.open()
    assert hello["agent"]["login"] == console.agent["login"]
    session = await console.create_session()
    frames = []
    packets = []
    voices = []
    console.video_sinks.append(lambda s, f: frames.append((f.width, f.height)))
    console.packet_sinks.append(lambda s, h, p, w, hh: packets.append(h.keyframe))
    console.audio_sinks.append(lambda s, pcm: voices.append(len(pcm)))
    source = TestPatternTrack()
    customer = CustomerSession(server.url, video=source, audio=ToneTrack(), language="en")
    await customer.start(session["code"], name="Tester")
    try:
        await wait_until(lambda: console.live_sessions[session["id"]].state == "online")
        await console.connect_session(session["id"])
        await wait_until(lambda: console.live_sessions[session["id"]].sas is not None)
        await wait_until(lambda: len(frames) > 5)
        assert frames[-1] == (640, 480) and True in packets
        ours = console.live_sessions[session["id"]]
        assert ours.sas_display == customer.media.keys.sas_display
        await wait_until(lambda: bool(ours.capabilities))
        console.view(session["id"])
        console.camera(session["id"], "flash", on=True)
        console.chat(session["id"], "안녕하세요")
        await wait_until(lambda: any(c.get("text") == "안녕하세요" for c in customer.chat))
        await wait_until(lambda: any(c[0] == "flash" for c in source.commands))
        await wait_until(lambda: any(n == "stats" and d.get("latency_ms") is not None and d["kbps"] > 0
                                     for n, d in events), timeout=8)
        states = [d["session"]["state"] for n, d in events if n == "session" and d["session"]["id"] == session["id"]]
        assert states[:3] == ["offline", "online", "connected"]
    finally:
        await customer.close()
