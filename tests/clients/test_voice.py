"""Voice, both ways, really heard: the jitter buffer, the output path, and tones end to end.

The end-to-end test plays through the real output (SoundCard → libpulse → a private PulseAudio's
null sink) and records the sink's monitor with ``parec``: a 440 Hz tone sent by the customer must
come out of the agent's output at 440 Hz, and the agent's 660 Hz tone out of the customer's.
"""

import asyncio
import subprocess

import numpy as np
import pytest
from anysupport_client.media.playout import PACKET_SAMPLES, JitterBuffer
from anysupport_client.media.sources import TestPatternTrack, ToneTrack
from anysupport_client.media.speaker import VoiceOutput, audio_devices, open_voice_output, speakers
from anysupport_client.session import AgentClient, CustomerSession

from tests.support.audio import RATE, dominant_frequency


def _packet(i: int) -> np.ndarray:
    return np.full(PACKET_SAMPLES, i + 1, np.int16)  # each packet recognisable by its value


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


# -- the jitter buffer, with an injected clock --------------------------------------------------------
def test_steady_packets_play_in_order_after_the_prebuffer():
    clock = Clock()
    jb = JitterBuffer(min_ms=40, clock=clock)
    out = []
    for i in range(10):
        clock.now = i * 0.020
        jb.push(i, _packet(i))
        out.append(jb.pull(PACKET_SAMPLES))
    assert jb.jitter_s == pytest.approx(0, abs=1e-9) and jb.target_samples == 1920  # 40 ms, the floor
    played = np.concatenate(out)
    start = np.argmax(played != 0)
    assert start == 1 * PACKET_SAMPLES  # silent until two packets (40 ms) were there
    assert [int(v) for v in played[start::PACKET_SAMPLES]] == list(range(1, 10))
    assert jb.lost == jb.late == jb.underruns == 0


def test_the_target_follows_the_arrival_jitter():
    clock = Clock()
    jb = JitterBuffer(min_ms=40, max_ms=240, clock=clock)
    rng = np.random.default_rng(3)
    for i in range(200):
        clock.now = i * 0.020 + rng.uniform(0, 0.060)  # up to 60 ms late, at random
        jb.push(i, _packet(i))
        jb.pull(PACKET_SAMPLES)
    assert 0.010 < jb.jitter_s < 0.040
    assert 60 < jb.stats()["target_ms"] <= 240


def test_the_target_covers_tcp_retransmission_stalls_the_jitter_estimate_hides():
    """Over a WebSocket a lost segment holds everything behind it for a round trip: every 1.5 s the
    packets of 250 ms arrive at once at its end. After the first stalls the buffer holds enough to
    play through them; the smoothed jitter alone would have asked for far less."""
    clock = Clock()
    jb = JitterBuffer(clock=clock)
    arrivals = []
    for i in range(1500):  # 30 s
        sent = i * 0.020
        into_cycle = sent % 1.5
        arrivals.append((1.25 + sent - into_cycle if 1.0 <= into_cycle < 1.25 else sent, i))
    arrivals.sort()
    underruns_at = []
    k = 0
    for tick in range(1500 + 40):
        clock.now = tick * 0.020
        while k < len(arrivals) and arrivals[k][0] <= clock.now:
            jb.push(arrivals[k][1], _packet(arrivals[k][1] % 30000))
            k += 1
        before = jb.underruns
        jb.pull(PACKET_SAMPLES)
        if jb.underruns > before:
            underruns_at.append(clock.now)
    during = [t for t in underruns_at if t < 30.0]  # (after 30 s the voice ends: the buffer runs dry)
    assert during and all(t < 5.0 for t in during), underruns_at  # learnt within the first few stalls
    assert jb.stats()["target_ms"] >= 200 and jb.stats()["late_p95_ms"] >= 150
    assert (3 * jb.jitter_s + 0.020) * 1000 < 200  # what the jitter estimate alone would have wanted
    assert jb.lost == 0


def test_a_lost_packet_is_silence_and_a_late_one_is_dropped():
    clock = Clock()
    jb = JitterBuffer(min_ms=40, clock=clock)
    for i in (0, 1, 3, 4):  # 2 never comes in time
        jb.push(i, _packet(i))
    played = np.concatenate([jb.pull(PACKET_SAMPLES) for _ in range(4)])
    assert [int(v) for v in played[::PACKET_SAMPLES]] == [1, 2, 0, 4]
    assert jb.lost == 1
    jb.push(2, _packet(2))  # too late now
    assert jb.late == 1
    assert int(jb.pull(PACKET_SAMPLES)[0]) == 5


def test_reordered_packets_are_put_back_in_order():
    jb = JitterBuffer(min_ms=60, clock=Clock())
    for i in (1, 0, 3, 2):
        jb.push(i, _packet(i))
    played = np.concatenate([jb.pull(PACKET_SAMPLES) for _ in range(4)])
    assert [int(v) for v in played[::PACKET_SAMPLES]] == [1, 2, 3, 4]


def test_running_dry_prebuffers_again_and_too_much_is_dropped_to_the_target():
    jb = JitterBuffer(min_ms=40, max_ms=100, clock=Clock())
    for i in range(2):
        jb.push(i, _packet(i))
    jb.pull(2 * PACKET_SAMPLES)
    assert not jb.pull(PACKET_SAMPLES).any() and jb.underruns == 1 and not jb.playing
    for i in range(2, 12):  # 200 ms at once (a stalled device, a burst)
        jb.push(i, _packet(i))
    assert jb.buffered <= jb.max_samples and jb.overflow_dropped > 0
    first = int(jb.pull(PACKET_SAMPLES)[0])
    assert first > 3  # the oldest went: the voice catches up instead of lagging


def test_a_new_stream_restarts_the_buffer():
    clock = Clock()
    jb = JitterBuffer(min_ms=20, clock=clock)
    for i in range(100, 103):
        clock.now = i * 0.020
        jb.push(i, _packet(i))
        jb.pull(PACKET_SAMPLES)
    clock.now += 0.020
    jb.push(0, _packet(0))  # a new key: sequences start again
    assert jb.restarts == 1
    assert int(jb.pull(PACKET_SAMPLES)[0]) == 1


def test_a_packet_of_another_length_is_played_whole():
    jb = JitterBuffer(min_ms=20, clock=Clock())
    jb.push(0, np.arange(1, 1441, dtype=np.int16))  # 30 ms
    out = np.concatenate([jb.pull(480) for _ in range(3)])
    assert (out == np.arange(1, 1441)).all()


# -- the output path ---------------------------------------------------------------------------------
def test_no_such_output_is_an_error_not_a_crash(pulse):
    errors = []
    output = VoiceOutput("no-such-speaker-here", on_error=errors.append)
    assert output.start() is False and output.error and errors == [output.error]
    assert open_voice_output("none") is None and open_voice_output("default").device is None
    assert "agent_speaker" in speakers() and "customer_speaker" in speakers()
    devices = audio_devices()
    assert {d["id"] for d in devices["speakers"]} >= {"agent_speaker", "customer_speaker"}
    assert all(not d["id"].endswith(".monitor") for d in devices["microphones"])


async def test_voice_output_plays_what_it_is_given(pulse):
    output = VoiceOutput("agent_speaker")
    assert output.start(), output.error
    try:
        recording = asyncio.ensure_future(pulse.record("agent_speaker", 1.0))
        source = ToneTrack(1000.0)  # paced in real time, 20 ms a frame, like packets off the network
        i = 0
        # fed until the recording is done and the output has played a second (on a loaded machine the
        # recording may start late and the jitter buffer may hold more: both only delay the second)
        while not recording.done() or output.stats()["played_ms"] < 1000:
            frame = await source.recv()
            output.push(i, frame.to_ndarray().reshape(-1))
            i += 1
            assert i < 500, output.stats()  # 10 s of tone and still not a second played
        heard = recording.result()
        frequency, purity = dominant_frequency(heard)
        stats = output.stats()
        # a clean tone: gaps (a starved device on a loaded machine) would spread its energy
        assert abs(frequency - 1000) <= 2 and purity > 0.75, (frequency, purity, stats)
        assert stats["lost"] == 0 and stats["late"] == 0, stats
    finally:
        output.stop()


# -- end to end: customer ↔ agent ------------------------------------------------------------------------
@pytest.mark.slow
async def test_tones_are_heard_both_ways_at_their_frequencies(pulse, server, agent_factory):
    _api, agent, password = await agent_factory()
    client = AgentClient(server.url, language="en")
    await client.start(agent["login"], password, force=True)
    agent_speaker = VoiceOutput("agent_speaker")
    customer = CustomerSession(server.url, video=TestPatternTrack(), audio=ToneTrack(440.0), language="en",
                               voice=VoiceOutput("customer_speaker"))
    try:
        assert agent_speaker.start(), agent_speaker.error
        session = await client.create_session()
        await customer.start(session.code)
        await session.wait_until(lambda: session.state == "online", 10, "online")
        await client.accept(session.id)
        await customer.wait_until(lambda: customer.voice_on is not None, 15, "the customer's speaker")
        assert customer.voice_on and customer.voice.running, customer.voice.error
        session.play_voice(agent_speaker)
        # "상담원 화면 보기" on: the agent's camera and voice go out, the customer's voice comes in
        heard_by_agent = asyncio.ensure_future(pulse.record("agent_speaker", 1.0))
        heard_by_customer = asyncio.ensure_future(pulse.record("customer_speaker", 1.0))
        session.agent_video(True, TestPatternTrack(320, 240, 15), ToneTrack(660.0))
        agent_heard, customer_heard = await asyncio.gather(heard_by_agent, heard_by_customer)

        frequency, purity = dominant_frequency(agent_heard)
        assert abs(frequency - 440) <= 3, frequency
        assert purity > 0.75, (purity, agent_speaker.stats())  # a clean tone: no gaps or clicks from the buffer
        frequency, purity = dominant_frequency(customer_heard)
        assert abs(frequency - 660) <= 3, frequency
        assert purity > 0.75, (purity, customer.voice.stats())
        assert agent_speaker.stats()["received"] > 40 and customer.voice.stats()["received"] > 40
    finally:
        await customer.close()
        await client.close()
        agent_speaker.stop()
    assert not customer.voice.running


def sine_source(pulse, name: str, frequency: int) -> None:
    """A PulseAudio virtual microphone playing a tone, made the default source."""
    env = pulse.env()
    subprocess.run(["pactl", "load-module", "module-sine-source", f"source_name={name}", f"rate={RATE}",
                    f"frequency={frequency}"], env=env, check=True, capture_output=True)
    subprocess.run(["pactl", "set-default-source", name], env=env, check=True, capture_output=True)


async def test_the_microphone_is_read_through_soundcard(pulse):
    """#17.1: the agent's microphone: FFmpeg's pulse input is not in the PyAV wheel, so the voice never left
    Linux; now SoundCard reads it. A virtual source plays 523 Hz; 20 ms frames at 48 kHz carry it."""
    from anysupport_client.media.sources import MicrophoneTrack, open_audio_source

    sine_source(pulse, "anysupport_mic_523", 523)
    track = open_audio_source("mic")  # what the console opens by default
    assert isinstance(track, MicrophoneTrack)
    try:
        frames = [await asyncio.wait_for(track.recv(), 5) for _ in range(60)]
    finally:
        track.stop()
    assert all(f.sample_rate == 48000 and f.samples == 960 for f in frames)
    pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames[10:]])
    frequency, purity = dominant_frequency(pcm)
    assert abs(frequency - 523) <= 3 and purity > 0.75, (frequency, purity)
    with pytest.raises(Exception):  # noqa: B017 (SoundCard's own error for an unknown device)
        MicrophoneTrack("no such microphone anywhere")


@pytest.mark.slow
async def test_the_agents_microphone_reaches_the_customer(pulse, server, agent_factory):
    """#17.1 end to end: the agent's default microphone (a virtual source playing 587 Hz) is what the
    customer's speaker plays."""
    from anysupport_client.media.sources import open_audio_source

    sine_source(pulse, "anysupport_mic_587", 587)
    _api, agent, password = await agent_factory()
    client = AgentClient(server.url, language="en")
    await client.start(agent["login"], password, force=True)
    customer = CustomerSession(server.url, video=TestPatternTrack(), audio=ToneTrack(440.0), language="en",
                               voice=VoiceOutput("customer_speaker"))
    try:
        session = await client.create_session()
        await customer.start(session.code)
        await session.wait_until(lambda: session.state == "online", 10, "online")
        await client.accept(session.id)
        await customer.wait_until(lambda: customer.voice_on is not None, 15, "the customer's speaker")
        heard_by_customer = asyncio.ensure_future(pulse.record("customer_speaker", 1.0))
        session.agent_video(True, TestPatternTrack(320, 240, 15), open_audio_source("mic"))
        frequency, purity = dominant_frequency(await heard_by_customer)
        assert abs(frequency - 587) <= 3 and purity > 0.6, (frequency, purity, customer.voice.stats())
    finally:
        await customer.close()
        await client.close()
