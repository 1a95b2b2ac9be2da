"""``anysupport-mobile --headless``: the real program against the real server and a scripted agent."""

import asyncio
import fractions
import json
import sys

import av
import numpy as np
import pytest
from anysupport_client.media.sources import FileTrack, open_audio_source, open_video_source


def make_clip(path, frames=45, size=(320, 240)):
    """A short H.264 clip with moving content, made here (no binary fixtures)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            rgb = np.zeros((size[1], size[0], 3), np.uint8)
            rgb[:, :, 1] = 80
            rgb[40:120, (i * 5) % (size[0] - 60):(i * 5) % (size[0] - 60) + 60] = (230, 30, 30)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = fractions.Fraction(1, 30)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.mark.slow
async def test_headless_program_streams_obeys_and_answers_the_survey(server, agent_factory):
    from tests.support.agent import AgentPeer

    client, _, _ = await agent_factory()
    agent = AgentPeer(server.url, token=client.token)
    await agent.start()
    session = await agent.create_session()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "anysupport_mobile", "--headless", "--server", server.url, "--code", session["code"],
        "--source", "test", "--audio", "tone", "--lang", "en", "--survey", "satisfied", "--seconds", "30",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await agent.accept(timeout=20)
        frames = await agent.wait_frames(20, timeout=15)
        assert [f.number for f in frames] == sorted(f.number for f in frames)
        agent.camera("quality", level="low")
        await agent.wait_frames(3, timeout=10, predicate=lambda f: (f.width, f.height) == (320, 240))
        # voice is on while the agent's video is: the customer's audio starts flowing
        agent.agent_video(True)
        audio = agent.media.receivers[1]
        await agent.current.wait_until(lambda: audio.packets > 10, 10, "voice packets")
        agent.end()
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await agent.close()
    events = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    assert "keys" in names and "survey" in names and "survey_saved" in names, (names, err.decode()[-2000:])
    assert proc.returncode == 0
    stats = events[-1]
    assert stats["event"] == "stats" and stats["video"]["sent"] >= 20
    record = await agent.rest.record(session["id"])
    assert record["satisfaction"] == "satisfied"


async def test_file_source_streams_a_clip(tmp_path, pair_factory):
    clip = tmp_path / "clip.mp4"
    make_clip(clip)
    source = open_video_source(f"file:{clip}")
    assert isinstance(source, FileTrack)
    assert source.capabilities() == {"flash": False, "focus": False, "cameras": ["back"], "device": f"file {clip}"}
    agent, customer, _ = await pair_factory(source=source)
    frames = await agent.wait_frames(10, timeout=15)
    assert (frames[-1].width, frames[-1].height) == (640, 480)  # scaled up to the medium level
    assert agent.video_receiver.decode_errors == 0
    # the clip cannot switch cameras or light a flash, and the agent is told so
    caps = await agent.wait_for("capabilities")
    assert caps["flash"] is False and caps["cameras"] == ["back"]
    mark = len(agent.inbox)
    agent.camera("flash", on=True)
    state = await agent.wait_for("camera_state", since=mark)
    assert state["flash"] is False
    customer.source.stop()


def test_source_specs():
    assert open_video_source("test").capabilities()["cameras"] == ["back", "front"]
    assert open_video_source("test:1280x960").sensor == (1280, 960)
    assert open_audio_source("none") is None
    assert open_audio_source("tone:1000").frequency == 1000
    with pytest.raises(ValueError):
        open_video_source("screen")
    with pytest.raises(ValueError):
        open_video_source("file:")


@pytest.mark.slow
async def test_headless_program_takes_the_customer_page_link(server, agent_factory):
    """The customer page joins first and hands its token over in an anysupport://join link."""
    import urllib.parse

    from tests.support.agent import AgentPeer
    from tests.support.client import Api

    client, _, _ = await agent_factory()
    agent = AgentPeer(server.url, token=client.token)
    await agent.start()
    session = await agent.create_session()
    joined = (await Api(server.url).post("/api/v1/join", {"code": session["code"]})).json
    link = "anysupport://join?" + urllib.parse.urlencode(
        {"server": server.url, "code": session["code"], "session": joined["session_id"], "token": joined["token"]})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "anysupport_mobile", link, "--headless", "--source", "test", "--audio", "none", "--survey", "neutral",
        "--seconds", "20", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await agent.accept(timeout=20)
        assert len(await agent.wait_frames(5, timeout=15)) == 5
        agent.end()
        await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await agent.close()


async def test_a_link_that_is_not_ours_is_refused():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "anysupport_mobile", "https://evil.example/join?code=1234", "--headless",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _out, err = await proc.communicate()
    assert proc.returncode == 2 and b"anysupport://join" in err
