"""The session package's plain parts, without a server: key exchange failures, events, tracks, stats."""

import asyncio

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError
from anysupport_client.e2e import KeyExchange
from anysupport_client.session import ConnectionStats, EventSource, SessionMedia, failure_reason
from anysupport_client.session.tracks import MediaClock, TrackFanout, audio_frame, video_packet
from anysupport_native import keys

from tests.support.clock import ManualClock

SESSION = "65a1f0c2e4b5d6a7b8c9d0e1"


def _media(side: str):
    sent: list[dict] = []
    events: list[tuple[str, dict]] = []
    media = SessionMedia(side, SESSION, send_json=sent.append, send_frame=lambda frame: True,
                         emit=lambda name, data: events.append((name, data)))
    return media, sent, events


def test_a_bad_public_key_is_refused_and_told_to_the_agent():
    customer, sent, events = _media("customer")
    agent = KeyExchange("agent", SESSION)
    customer.on_key_exchange(agent.start())
    assert sent[-1]["type"] == "key_exchange" and "public_key" in sent[-1]
    customer.on_key_exchange({"type": "key_exchange", "version": 1, "public_key": "not-a-key"})
    assert sent[-1] == {"type": "key_exchange_failed", "reason": "bad_public_key"}  # customers leave out session_id
    assert events[-1][0] == "key_exchange_failed"
    assert events[-1][1]["reason"] == "bad_public_key" and events[-1][1]["by"] == "us"
    assert not customer.ready and customer.failure["reason"] == "bad_public_key"


def test_a_reveal_that_breaks_the_commitment_is_bad_commitment():
    customer, sent, events = _media("customer")
    agent = KeyExchange("agent", SESSION)
    customer.on_key_exchange(agent.start())
    other = keys.encode_public_key(keys.generate_private_key())  # not the key the agent committed to
    customer.on_key_exchange({"type": "key_exchange", "version": 1, "public_key": other})
    assert sent[-1] == {"type": "key_exchange_failed", "reason": "bad_commitment"}
    assert events[-1][1]["reason"] == "bad_commitment"


def test_the_agent_names_the_session_and_refuses_an_unknown_version_and_bad_fields():
    agent, sent, events = _media("agent")
    agent.start_key_exchange()
    agent.on_key_exchange({"type": "key_exchange", "version": 2, "public_key": "x"})
    assert sent[-1] == {"type": "key_exchange_failed", "session_id": SESSION, "reason": "unsupported_version"}
    agent.on_key_exchange({"type": "key_exchange", "version": 1, "public_key": 12345})
    assert sent[-1]["reason"] == "protocol"
    assert [name for name, _ in events] == ["key_exchange_failed", "key_exchange_failed"]


def test_a_good_exchange_after_a_failure_clears_it_and_both_sides_agree():
    agent, to_customer, agent_events = _media("agent")
    customer, to_agent, customer_events = _media("customer")
    agent.on_key_exchange({"type": "key_exchange", "version": 1, "public_key": "bad"})
    assert agent.failure is not None
    agent.start_key_exchange()
    while to_customer or to_agent:
        if to_customer:
            customer.on_key_exchange(to_customer.pop(0))
        if to_agent:
            agent.on_key_exchange(to_agent.pop(0))
    assert agent.ready and customer.ready and agent.keys.sas == customer.keys.sas
    assert agent.failure is None and customer_events[-1][0] == "keys"


def test_the_peers_failure_is_emitted_for_the_window():
    customer, _sent, events = _media("customer")
    customer.on_key_exchange_failed({"type": "key_exchange_failed", "reason": "bad_commitment", "from": "agent"})
    assert events == [("key_exchange_failed", {"reason": "bad_commitment", "by": "peer", "code": "bad_commitment",
                                               "session_id": SESSION})]
    customer.on_key_exchange_failed({"type": "key_exchange_failed", "reason": "something_new"})
    assert events[-1][1]["reason"] == "protocol"


@pytest.mark.parametrize(("code", "reason"), [
    ("bad_commitment", "bad_commitment"), ("bad_public_key", "bad_public_key"), ("low_order_key", "bad_public_key"),
    ("reflected_key", "bad_public_key"), ("unsupported_version", "unsupported_version"),
    ("bad_session_id", "protocol"), ("bad_side", "protocol")])
def test_failure_reasons(code, reason):
    assert failure_reason(code) == reason


async def test_customer_session_sends_and_emits_key_exchange_failed():
    from anysupport_client.media.sources import TestPatternTrack
    from anysupport_client.session import CustomerSession

    session = CustomerSession("http://127.0.0.1:9", video=TestPatternTrack(), language="en")
    session.session_id = SESSION
    sent: list[dict] = []
    session.send = lambda message: sent.append(message) or True
    seen: list[tuple[str, dict]] = []
    session.listeners.append(lambda name, data: seen.append((name, data)))
    session.on_message({"type": "key_exchange", "version": 1, "commitment": KeyExchange("agent", SESSION).start()["commitment"]})
    session.on_message({"type": "key_exchange", "version": 1, "public_key": "AAAA"})
    assert sent[-1] == {"type": "key_exchange_failed", "reason": "bad_public_key"}
    session.on_message({"type": "key_exchange_failed", "reason": "bad_commitment", "from": "agent"})
    assert [d["by"] for n, d in seen if n == "key_exchange_failed"] == ["us", "peer"]


# -- events -------------------------------------------------------------------------------------------
async def test_wait_for_sees_the_past_and_the_future_and_marks_survive_trimming():
    source = EventSource()
    source._note({"type": "a", "n": 1})
    assert (await source.wait_for("a"))["n"] == 1
    mark = source.mark()
    waiting = asyncio.ensure_future(source.wait_for("a", since=mark))
    await asyncio.sleep(0)
    source._note({"type": "a", "n": 2})
    assert (await waiting)["n"] == 2
    for i in range(3000):
        source._note({"type": "b", "n": i})
    late = source.mark()
    source._note({"type": "b", "n": -1})
    assert (await source.wait_for("b", since=late))["n"] == -1
    with pytest.raises(TimeoutError, match="no message 'c'"):
        await source.wait_for("c", timeout=0.05)


async def test_wait_event_and_wait_until_resolve_on_emit_not_on_a_timer():
    source = EventSource()
    box = {"v": 0}
    until = asyncio.ensure_future(source.wait_until(lambda: box["v"] >= 2, 5))
    event = asyncio.ensure_future(source.wait_event("tick", 5, v=2))
    await asyncio.sleep(0)
    for v in (1, 2):
        box["v"] = v
        source.emit("tick", {"v": v})
    assert (await event) == {"v": 2}
    await until
    assert not source._conditions and not source._event_waiters


# -- tracks and stats ---------------------------------------------------------------------------------
async def test_fanout_gives_each_consumer_its_own_track_and_drops_the_oldest_for_a_slow_one():
    fanout = TrackFanout("video", maxsize=3)
    fast, slow = fanout.subscribe(), fanout.subscribe()
    for i in range(5):
        fanout.push(i)
        assert await fast.recv() == i
    assert slow.dropped == 2 and [await slow.recv() for _ in range(3)] == [2, 3, 4]
    waiting = asyncio.ensure_future(slow.recv())
    await asyncio.sleep(0)
    slow.stop()
    with pytest.raises(MediaStreamError):
        await waiting
    assert fanout.tracks == [fast]
    fanout.stop()
    with pytest.raises(MediaStreamError):
        await fast.recv()


def test_media_clock_puts_audio_and_video_on_one_timeline():
    clock = MediaClock()
    assert clock.video_pts(1_000_000) == 0
    assert clock.video_pts(1_040_000) == 3600  # 40 ms at 90 kHz
    assert clock.audio_pts(1_020_000) == 960  # 20 ms at 48 kHz
    assert clock.audio_pts(999_000) == 0  # never negative
    frame = audio_frame(np.zeros(960, np.int16), 960)
    assert frame.samples == 960 and frame.pts == 960 and frame.sample_rate == 48000
    packet = video_packet(b"\x00\x00\x00\x01\x65", 3600, True)
    assert packet.pts == 3600 and packet.is_keyframe and packet.time_base.denominator == 90000


def test_connection_stats_over_a_sliding_window_with_an_injected_clock():
    now = [100.0]
    stats = ConnectionStats(window=2.0, clock=lambda: now[0])
    for i in range(60):  # 30 fps, 5000 bytes a frame, for two seconds
        now[0] = 100.0 + i / 30
        stats.received(5000)
        stats.decoded(latency_ms=20.0 + (i % 3))
    snap = stats.snapshot()
    assert snap["fps"] == 30.0 and snap["bitrate_kbps"] == pytest.approx(60 * 5000 * 8 / 2 / 1000, rel=0.02)
    assert snap["latency_ms"] == 21.0
    now[0] += 5  # nothing for a while: the window empties
    snap = stats.snapshot()
    assert snap["fps"] == 0 and snap["bitrate_kbps"] == 0 and snap["latency_ms"] is None


# -- the agent client without a server ------------------------------------------------------------------
class _Socket:
    def __init__(self):
        self.sent: list[dict] = []
        self.closed = False
        self.pending_bytes = 0

    def send_json(self, message):
        self.sent.append(message)
        return True

    def send_binary(self, data):
        return True


def _agent_client(clock=None):
    from anysupport_client.session import AgentClient

    client = AgentClient("http://127.0.0.1:9", clock=clock)
    client.connection.socket = _Socket()
    client.on_message({"type": "hello", "role": "agent", "agent": {"login": "kim", "settings": {"auto_connect": False}},
                       "sessions": [{"id": SESSION, "code": "1234", "state": "connected", "number": 1,
                                     "customer_present": False}]})
    return client


def test_agent_client_keeps_the_live_state_and_keys_once_the_customer_is_there():
    client = _agent_client()
    events: list[tuple[str, dict]] = []
    client.listeners.append(lambda name, data: events.append((name, data)))
    session = client.session(SESSION)
    assert client.session_infos[SESSION]["state"] == "connected" and not client.socket.sent  # no customer yet: no keys
    client.on_message({"type": "peer", "session_id": SESSION, "peer": "customer", "status": "joined"})
    assert client.socket.sent[-1]["type"] == "key_exchange" and client.socket.sent[-1]["session_id"] == SESSION
    assert "commitment" in client.socket.sent[-1] and session.customer_present
    client.on_message({"type": "state", "session_id": SESSION, "state": "expired", "reason": "ended_by_customer",
                       "session": {"id": SESSION, "state": "expired"}})
    assert client.session_infos[SESSION]["state"] == "expired" and client.session_infos[SESSION]["code"] == "1234"
    names = [n for n, _ in events]
    assert names.count("sessions") == 1 and "state" in names and "peer" in names
    assert all(d.get("session_id") == SESSION for n, d in events if n in ("peer", "state"))


def test_agent_session_sends_key_exchange_failed_with_its_id_and_emits_both_ways():
    clock = ManualClock()
    client = _agent_client(clock.monotonic)
    seen: list[dict] = []
    client.listeners.append(lambda name, data: name == "key_exchange_failed" and seen.append(data))
    client.on_message({"type": "peer", "session_id": SESSION, "peer": "customer", "status": "joined"})
    client.on_message({"type": "key_exchange", "session_id": SESSION, "version": 1, "public_key": "short",
                       "from": "customer"})
    assert client.socket.sent[-1] == {"type": "key_exchange_failed", "session_id": SESSION, "reason": "bad_public_key"}
    client.on_message({"type": "key_exchange_failed", "session_id": SESSION, "reason": "bad_commitment",
                       "from": "customer"})
    assert [(d["by"], d["reason"], d["session_id"]) for d in seen] == [
        ("us", "bad_public_key", SESSION), ("peer", "bad_commitment", SESSION)]
    session = client.session(SESSION)
    assert not session.ready and session.media.failure["by"] == "peer"
    clock.advance(2)  # new keys at most as often as the re-key limit allows (issue 18 #7)
    session.rekey()  # the console's "try again"
    assert client.socket.sent[-1]["type"] == "key_exchange" and "commitment" in client.socket.sent[-1]


def test_the_viewed_session_is_the_one_heard():
    from anysupport_client.media.speaker import VoiceOutput

    client = _agent_client()
    client.on_message({"type": "hello", "role": "agent", "agent": {"login": "kim"}, "sessions": [
        {"id": SESSION, "code": "1234", "state": "connected"}, {"id": "b" * 24, "code": "5678", "state": "online"}]})
    speaker = VoiceOutput("unused")  # never started: only where packets go is looked at
    client.set_voice(speaker)
    client.view(SESSION)
    assert client.session(SESSION).voice is speaker and client.session("b" * 24).voice is None
    client.view("b" * 24)
    assert client.session(SESSION).voice is None and client.session("b" * 24).voice is speaker
    with pytest.raises(KeyError):
        client.view("c" * 24)


def _keyed_session(client):
    """The session of ``_agent_client`` with keys agreed against a reference customer."""
    from anysupport_client.e2e import KeyExchange

    customer = KeyExchange("customer", SESSION)
    client.on_message({"type": "peer", "session_id": SESSION, "peer": "customer", "status": "joined"})
    answer = customer.receive(client.socket.sent.pop())[0]
    client.on_message({"type": "key_exchange", "session_id": SESSION, "from": "customer", **answer})
    customer.receive(client.socket.sent.pop())
    session = client.session(SESSION)
    assert session.ready and session.sas == customer.keys.sas
    return session


def test_the_session_carries_out_resume_and_a_refused_request_for_keys():
    clock = ManualClock()
    client = _agent_client(clock.monotonic)
    session = _keyed_session(client)
    failures: list[dict] = []
    client.listeners.append(lambda name, data: name == "key_exchange_failed" and failures.append(data))

    client.on_message({"type": "peer", "session_id": SESSION, "peer": "customer", "status": "reconnecting"})
    client.on_message({"type": "peer", "session_id": SESSION, "peer": "customer", "status": "back"})
    assert client.socket.sent[-1] == {"type": "keyframe_request", "stream": "customer_video", "session_id": SESSION}

    commitments = 0
    for _ in range(4):  # a customer asking again and again without ever agreeing
        clock.advance(60)  # (slower than the re-key limit, which is tested on its own)
        client.on_message({"type": "peer", "session_id": SESSION, "peer": "customer", "status": "reconnecting"})
        client.on_message({"type": "peer", "session_id": SESSION, "peer": "customer", "status": "back"})
        before = len(client.socket.sent)
        client.on_message({"type": "key_exchange_failed", "session_id": SESSION, "reason": "no_keys",
                           "from": "customer"})
        commitments += sum("commitment" in m for m in client.socket.sent[before:])
    assert commitments == 3
    assert failures == [{"reason": "no_keys", "by": "peer", "code": "no_keys", "session_id": SESSION}]
    assert session.media.failure["reason"] == "no_keys" and not session.negotiation.exchanging


def test_every_message_handler_names_a_message_the_server_sends():
    """``on_message`` dispatches to ``_on_<type>``: a method of that shape that is not a message handler
    would be called by a message of that name."""
    from anysupport_client.session import AgentClient, AgentSession, CustomerSession

    from anysupport.protocol.messages import SERVER_TYPES

    for cls in (AgentClient, AgentSession, CustomerSession):
        handlers = {name[len("_on_"):] for name in dir(cls) if name.startswith("_on_")}
        assert handlers and handlers <= SERVER_TYPES, (cls.__name__, handlers - SERVER_TYPES)
