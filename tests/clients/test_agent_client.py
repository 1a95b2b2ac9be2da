"""``AgentClient`` / ``AgentSession`` against the real server, with an in-process customer."""

import asyncio
import datetime

import openpyxl
import pytest
from aiortc.mediastreams import MediaStreamError
from anysupport_client.media.sources import TestPatternTrack, ToneTrack
from anysupport_client.session import AgentClient, ApiError, CustomerSession

from tests.support.client import Api


async def _logged_in(server, agent_factory, **kw):
    api, agent, password = await agent_factory(**kw)
    client = AgentClient(server.url, language="en", read_stamps=True)
    await client.login(agent["login"], password, force=True)
    await client.start()
    return client, agent, password


async def test_login_errors_carry_status_code_and_retry_after(server, agent_factory):
    _api, agent, password = await agent_factory()
    client = AgentClient(server.url, language="ko")
    with pytest.raises(ApiError) as wrong:
        await client.login(agent["login"], "not-the-password")
    assert wrong.value.status == 401 and wrong.value.code == "invalid_credentials" and wrong.value.message

    console = AgentClient(server.url, language="en")
    await console.start(agent["login"], password, force=True)
    try:
        other = AgentClient(server.url, language="en")
        with pytest.raises(ApiError) as busy:
            await other.login(agent["login"], password)
        assert busy.value.status == 409 and busy.value.code == "already_logged_in"
        # taking over: the older console is kicked and does not come back by itself
        await other.login(agent["login"], password, force=True)
        kicked = await console.wait_for("kicked")
        assert kicked["reason"] == "logged_in_elsewhere" and kicked["message"]
        await console.wait_until(lambda: console.closed is not None, 10, "closed")
        assert console.kicked["reason"] == "logged_in_elsewhere"
        assert console.closed["kicked"] == "logged_in_elsewhere" and console.closed["code"] == 4001
    finally:
        await console.close()

    for _ in range(6):
        try:
            await client.login(agent["login"], "wrong")
        except ApiError as exc:
            last = exc
    assert last.status == 429 and last.code == "too_many_attempts"
    assert isinstance(last.retry_after, int) and last.retry_after > 0
    assert "초" in last.message  # in the client's language


async def test_sessions_are_live_from_state_messages_and_accept_agrees_keys(server, agent_factory):
    client, agent, _ = await _logged_in(server, agent_factory)
    events: list[str] = []
    client.listeners.append(lambda name, data: events.append(name))
    customer = None
    try:
        session = await client.create_session()
        assert session.state == "offline" and len(session.code) == 4
        assert client.session_infos[session.id]["state"] == "offline" and "sessions" in events
        other = await client.create_session()
        assert [s["id"] for s in client.session_list()][:2] == [other.id, session.id]
        await client.delete_session(other.id)
        assert other.id not in client.session_infos

        with pytest.raises(ApiError) as not_online:
            await client.accept(session.id)
        assert not_online.value.code == "session_not_online"

        customer = CustomerSession(server.url, video=TestPatternTrack(), audio=ToneTrack(), language="en")
        await customer.start(session.code, name="홍길동")
        await session.wait_until(lambda: session.state == "online", 10, "online")
        assert client.session_infos[session.id]["customer"]["name"] == "홍길동"
        client.view(session.id)
        assert client.viewed is session
        await client.accept(session.id)
        await customer.wait_until(lambda: customer.sas is not None, 10, "customer keys")
        assert session.ready and session.sas_display == customer.sas and session.sas == customer.media.keys.sas
        assert client.session_infos[session.id]["state"] == "connected"

        # received video as a track, with pts from the customer's clock
        track = session.video_track()
        first = await asyncio.wait_for(track.recv(), 10)
        second = await asyncio.wait_for(track.recv(), 10)
        assert (first.width, first.height) == (640, 480) and second.pts > first.pts >= 0
        assert first.time_base.denominator == 90000

        await session.wait_until(lambda: bool(session.capabilities), 10, "capabilities")
        assert session.capabilities["flash"] is True and session.capabilities["cameras"] == ["back", "front"]
        session.flash(True)
        await session.wait_until(lambda: session.camera_state.get("flash") is True, 10, "flash on")
        await session.wait_until(lambda: session.stats()["fps"] > 5, 10, "frames counted")
        stats = session.stats()
        assert stats["bitrate_kbps"] > 50 and stats["latency_ms"] is not None and stats["width"] == 640
        track.stop()

        # the agent's voice call: the customer's voice arrives as an audio track
        audio = session.audio_track()
        session.agent_video(True, TestPatternTrack(320, 240, 15), ToneTrack(660))
        frame = await asyncio.wait_for(audio.recv(), 10)
        assert frame.sample_rate == 48000 and frame.samples == 960 and frame.time_base.denominator == 48000
        await customer.wait_until(lambda: customer.agent_frame is not None, 10, "agent video")

        session.send_chat("안녕하세요")
        chat = await customer.wait_for("chat")
        assert chat["text"] == "안녕하세요"
        customer.send_chat("네")
        await session.wait_for("chat", text="네")
        assert [c["text"] for c in session.chat] == ["안녕하세요", "네"]

        session.end()
        await session.wait_until(lambda: session.state == "expired", 10, "expired")
        assert client.session_infos[session.id]["state"] == "expired"
        with pytest.raises(MediaStreamError):
            await asyncio.wait_for(audio.recv(), 5)  # the track ended with the session
    finally:
        if customer is not None:
            await customer.close()
        await client.close()


async def test_auto_connect_setting_connects_and_keys_by_itself(server, agent_factory):
    client, _agent, _ = await _logged_in(server, agent_factory)
    customer = None
    try:
        assert client.settings.get("auto_connect") is False
        settings = await client.update_settings(auto_connect=True)
        assert settings["auto_connect"] is True and client.settings["auto_connect"] is True
        url = client.customer_page_url
        assert url.startswith("http")
        session = await client.create_session()
        customer = CustomerSession(server.url, video=TestPatternTrack(), language="en")
        await customer.start(session.code)
        await session.wait_keys(10)
        await customer.wait_until(lambda: customer.sas is not None, 10, "customer keys")
        assert session.state == "connected" and session.sas_display == customer.sas
    finally:
        if customer is not None:
            await customer.close()
        await client.close()


async def test_reconnects_after_a_network_drop_with_its_sessions(server, agent_factory):
    client, _agent, _ = await _logged_in(server, agent_factory)
    try:
        session = await client.create_session()
        mark = client.mark()
        statuses: list[str] = []
        client.listeners.append(lambda name, data: name == "connection" and statuses.append(data["status"]))
        client.drop_connection()
        await client.wait_for("hello", since=mark)
        assert statuses == ["reconnecting", "back"]
        assert session.id in client.session_infos and client.connected.is_set()
    finally:
        await client.close()


async def test_records_phrases_trouble_types_statistics_and_export(server, agent_factory, admin, tmp_path):
    r = await admin.post("/api/v1/admin/trouble-types", {"name": "네트워크"})
    assert r.status == 201, r.body
    network = r.json["id"]
    client, _agent, _ = await _logged_in(server, agent_factory)
    customer = None
    try:
        tree = await client.rest.trouble_types()
        assert any(t["id"] == network for t in tree)

        session = await client.create_session()
        customer = CustomerSession(server.url, video=TestPatternTrack(), language="en")
        await customer.start(session.code, name="Kim")
        await session.wait_until(lambda: session.state == "online", 10, "online")
        await client.accept(session.id)
        with pytest.raises(ApiError) as bad:
            await client.rest.put_record(session.id, resolution="maybe")
        assert bad.value.code == "invalid_field" and bad.value.field == "resolution"
        saved = await client.rest.put_record(session.id, trouble_type=network, content="공유기 재시작", resolution="solved")
        assert saved["resolution"] == "solved"
        record = await client.rest.record(session.id)
        assert record["content"] == "공유기 재시작" and record["customer_name"] == "Kim" and record["ip"]

        today = datetime.date.today()
        day_from = (today - datetime.timedelta(days=1)).isoformat()
        day_to = (today + datetime.timedelta(days=1)).isoformat()
        stats = await client.rest.statistics(day_from, day_to, lang="ko")
        assert stats["total"] >= 1
        solved = next(row for row in stats["resolution"]["rows"] if row["key"] == "solved")
        assert solved["count"] >= 1 and solved["label"] == "해결"
        assert any(r["id"] == session.id or r.get("session_id") == session.id
                   for r in await client.rest.records(day_from, day_to))

        seen: list[tuple[int, int | None]] = []
        dest = tmp_path / "records.xlsx"
        assert await client.rest.export(day_from, day_to, str(dest), progress=lambda got, total: seen.append((got, total)))
        assert seen and seen[-1][0] == dest.stat().st_size
        workbook = openpyxl.load_workbook(dest)
        assert "공유기 재시작" in [c.value for ws in workbook.worksheets for row in ws.iter_rows() for c in row]
        assert not (tmp_path / "records.xlsx.part").exists()
        with pytest.raises(ApiError) as bad_period:
            await client.rest.export("2026-13-01", day_to, str(tmp_path / "bad.xlsx"))
        assert bad_period.value.code == "invalid_query" and not (tmp_path / "bad.xlsx").exists()

        # canned phrases: add, edit, reorder, delete, all on the server
        before = await client.rest.phrases()
        a = await client.rest.add_phrase("잠시만 기다려 주세요", shortcut="Ctrl+1")
        b = await client.rest.add_phrase("카메라를 가까이 대 주세요")
        await client.rest.update_phrase(a["id"], text="잠시만 기다려 주십시오")
        ids = [p["id"] for p in await client.rest.phrases()]
        wanted = [b["id"], *[i for i in ids if i != b["id"]]]
        after = await client.rest.reorder_phrases(wanted)
        assert [p["id"] for p in after] == wanted
        assert next(p for p in after if p["id"] == a["id"])["text"] == "잠시만 기다려 주십시오"
        await client.rest.delete_phrase(a["id"])
        await client.rest.delete_phrase(b["id"])
        left = {p["id"] for p in await client.rest.phrases()}
        assert left == {p["id"] for p in before} and a["id"] not in left
    finally:
        if customer is not None:
            await customer.close()
        await client.close()


async def test_a_token_logged_out_elsewhere_is_refused(server, agent_factory):
    api, _agent, _ = await agent_factory()
    client = AgentClient(server.url, token=api.token)
    await client.start()
    await client.logout()
    assert client.token is None
    r = await Api(server.url).with_token(api.token).get("/api/v1/me")
    assert r.status == 401


async def test_received_packets_remux_into_mp4_without_reencoding(pair_factory, tmp_path):
    """What a recorder does with ``video_packet_track()``: PyAV muxes the H.264 as received, with the voice."""
    import av

    agent, customer, _source = await pair_factory(audio=ToneTrack())
    session = agent.current
    packets_track = session.video_packet_track()
    audio_track = session.audio_track()
    session.agent_video(True)  # the voice call on: the customer's voice comes
    packets = []
    while len(packets) < 45:
        packet = await asyncio.wait_for(packets_track.recv(), 10)
        if packets or packet.is_keyframe:
            packets.append(packet)
    frames = [await asyncio.wait_for(audio_track.recv(), 10) for _ in range(25)]
    packets_track.stop()
    audio_track.stop()
    assert [p.pts for p in packets] == sorted(p.pts for p in packets)

    path = tmp_path / "customer.mp4"
    with av.open(str(path), "w") as out:
        video = out.add_stream("h264", rate=30)
        video.width, video.height = 640, 480
        video.time_base = packets[0].time_base
        voice = out.add_stream("aac", rate=48000)
        base = packets[0].pts
        captured = float((packets[-1].pts - base) * packets[0].time_base)  # seconds between the captures
        for packet in packets:
            packet.pts = packet.dts = packet.pts - base
            packet.stream = video
            out.mux(packet)
        for frame in frames:
            frame.pts = None
            for encoded in voice.encode(frame):
                out.mux(encoded)
        for encoded in voice.encode(None):
            out.mux(encoded)
    with av.open(str(path)) as played:
        stream = played.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (640, 480)
        assert played.streams.audio
        decoded = list(played.decode(stream))
        assert len(decoded) == 45
        # by capture time: 45 frames at 30 fps or fewer (a loaded sender drops its rate) span 1.2 s or more,
        # and the file keeps the span the packets were captured over
        assert captured >= 1.2 and abs(float(decoded[-1].pts * stream.time_base) - captured) < 0.05, captured


@pytest.mark.slow
async def test_the_console_survives_a_network_drop_mid_session_with_its_keys(pair_factory):
    agent, customer, _source = await pair_factory()
    client, session = agent.client, agent.current
    await agent.wait_frames(5)
    sas, mark = session.sas, client.mark()
    client.drop_connection()
    await customer.wait_for("peer", peer="agent", status="reconnecting")
    await client.wait_for("hello", since=mark)
    await customer.wait_for("peer", peer="agent", status="back")
    before = session.frames_decoded
    after = await agent.wait_frames(10, timeout=10)
    assert session.frames_decoded > before and after[-1].number > after[0].number
    assert session.sas == sas and session.state == "connected"  # same keys: nothing to read out again
    session.send_chat("다시 연결되었습니다")
    assert (await customer.wait_for("chat", text="다시 연결되었습니다"))["text"]
