"""The blind relay directly: real sealed frames through ``Relay.on_frame`` between in-memory
connections, with a hand-moved clock for the rate budget and the error and keyframe-request
intervals. No server and no database (the relay reads only the live-session table in memory).
End to end, with real sockets, in test_relay.py."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from anysupport_native import framing

from anysupport.sessions.manager import LiveSession
from tests.support.clock import ManualClock
from tests.support.connections import Principal, RecordingConnection
from tests.support.managers import build_managers

SID = "65a1f0c2e4b5d6a7b8c9d0e1"
AGENT_ID = "6b071c1443f808085a26f9d7"
KEY_C2A = bytes.fromhex("54e42404d1cf47e926858d14a9241ab4")
KEY_A2C = bytes.fromhex("e82a3e015fdac9841fb1ae007748ff27")


class Call:
    """One connected session: the agent's console, the customer's socket, and their sealers."""

    def __init__(self, **settings):
        self.clock = ManualClock()
        self.m = build_managers(None, self.clock, **settings)
        self.relay = self.m.relay
        self.m.sessions.live[SID] = LiveSession(SID, AGENT_ID, "connected")
        self.console = self.m.console({"id": AGENT_ID})
        self.customer = self.attach_customer()
        self.customer_sealer = framing.FrameSealer(KEY_C2A, "customer")
        self.agent_sealer = framing.FrameSealer(KEY_A2C, "agent")

    def attach_customer(self) -> RecordingConnection:
        conn = RecordingConnection(Principal("customer", session_id=SID))
        conn.media = self.relay.new_sender(conn)
        self.m.hub.attach_customer(SID, conn)
        return conn

    def customer_frame(self, stream=framing.STREAM_CUSTOMER_VIDEO, size=100, keyframe=False) -> bytes:
        return self.customer_sealer.seal(stream, bytes(size), keyframe=keyframe, timestamp_us=1)

    def from_customer(self, frame: bytes) -> None:
        self.relay.on_frame(self.customer, frame)

    def from_agent(self, data: bytes) -> None:
        self.relay.on_frame(self.console, data)

    def errors(self, conn) -> list[str]:
        return [m["field"] for m in conn.of_type("error", error="frame_dropped")]

    def dropped(self, reason: str) -> int:
        return self.relay.total.dropped[reason]


@pytest.fixture
def call():
    return Call()


async def test_frames_cross_unchanged_with_the_session_prefix_on_the_agent_side(call):
    frame = call.customer_frame(keyframe=True)
    call.from_customer(frame)
    assert call.console.frames == [bytes.fromhex(SID) + frame]
    reply = call.agent_sealer.seal(framing.STREAM_AGENT_AUDIO, b"opus", timestamp_us=2)
    call.from_agent(bytes.fromhex(SID) + reply)
    assert call.customer.frames == [reply]
    # what arrives opens with the key the relay never had
    header, payload = framing.FrameOpener(KEY_C2A, "customer").open(call.console.frames[0][12:])
    assert header.keyframe and payload == bytes(100)
    t = call.relay.total
    assert (t.frames_in, t.frames_out) == (2, 2) and t.bytes_out == len(frame) + 12 + len(reply)
    text = call.relay.metrics_text()
    assert "anysupport_relay_frames_out_total 2.0" in text
    assert 'anysupport_relay_dropped_total{reason="rate"} 0.0' in text
    assert SID not in text  # totals only; per session in the admin API
    (counters,) = call.relay.session_counters()
    assert counters == {"session_id": SID, "frames_in": 2, "bytes_in": len(frame) + 12 + len(reply),
                        "frames_out": 2, "bytes_out": len(frame) + 12 + len(reply), "dropped": {}}


def test_metrics_carry_the_node_label_when_a_node_id_is_configured(call):
    call.relay.config = SimpleNamespace(**{**call.relay.config.values, "node_id": "node-a"})
    call.from_customer(b"\x09" + bytes(40))
    text = call.relay.metrics_text()
    assert 'anysupport_relay_frames_in_total{node="node-a"} 1.0' in text
    assert 'anysupport_relay_dropped_total{node="node-a",reason="malformed"} 1.0' in text
    assert 'anysupport_sessions_live{node="node-a",state="connected"} 1.0' in text


@pytest.mark.parametrize(
    "make, reason, named",
    [
        (lambda c: b"\x01" * 11, "malformed", False),  # shorter than the session id
        (lambda c: bytes.fromhex(SID) + b"\x01" * 20, "malformed", True),  # shorter than a frame
        (lambda c: bytes.fromhex(SID) + b"\x02" + c.agent_sealer.seal(2, b"x", timestamp_us=1)[1:], "malformed", True),
        (lambda c: bytes.fromhex(SID) + c.agent_sealer.seal(2, bytes(700), timestamp_us=1), "too_large", True),
        (lambda c: bytes.fromhex(SID) + c.customer_frame(), "wrong_direction", True),  # a reflected customer frame
        (lambda c: bytes.fromhex("f" * 24) + c.agent_sealer.seal(2, b"x", timestamp_us=1), "not_connected", False),
    ],
    ids=["no_prefix", "short", "bad_version", "too_large", "wrong_direction", "unknown_session"],
)
async def test_refused_agent_frames(make, reason, named):
    call = Call(media_max_frame_bytes=512)
    call.from_agent(make(call))
    assert call.customer.frames == [] and call.dropped(reason) == 1
    [error] = call.console.of_type("error")
    assert error["error"] == "frame_dropped" and error["field"] == reason
    assert ("session_id" in error) == named  # named only when it is a live session


async def test_a_session_not_connected_relays_nothing(call):
    call.m.sessions.live[SID].state = "online"
    call.from_customer(call.customer_frame())
    assert call.console.frames == [] and call.errors(call.customer) == ["not_connected"]
    call.m.sessions.live[SID].state = "connected"
    other_agent = call.m.console({"id": "0" * 24})
    other_agent.media = call.relay.new_sender(other_agent)
    call.relay.on_frame(other_agent, bytes.fromhex(SID) + call.agent_sealer.seal(2, b"x", timestamp_us=1))
    assert call.customer.frames == [] and call.errors(other_agent) == ["not_connected"]  # not its session


async def test_drop_errors_come_at_most_once_per_second_per_reason(call):
    for _ in range(5):
        call.from_agent(bytes.fromhex(SID) + call.customer_frame())
    call.from_agent(b"short")
    assert call.errors(call.console) == ["wrong_direction", "malformed"]
    call.clock.advance(0.999)
    call.from_agent(bytes.fromhex(SID) + call.customer_frame())
    assert call.errors(call.console) == ["wrong_direction", "malformed"]
    call.clock.advance(0.001)
    call.from_agent(bytes.fromhex(SID) + call.customer_frame())
    assert call.errors(call.console) == ["wrong_direction", "malformed", "wrong_direction"]
    assert call.dropped("wrong_direction") == 7


async def test_the_frame_rate_budget_refills_with_the_clock():
    call = Call(media_max_fps=5)
    for _ in range(7):
        call.from_customer(call.customer_frame())
    assert len(call.console.frames) == 5 and call.dropped("rate") == 2 and call.errors(call.customer) == ["rate"]
    call.clock.advance(0.2)  # one frame's worth at 5 per second
    call.from_customer(call.customer_frame())
    call.from_customer(call.customer_frame())
    assert len(call.console.frames) == 6 and call.dropped("rate") == 3


async def test_no_receiver_drops_quietly(call):
    call.m.hub.detach_console(AGENT_ID, call.console)
    call.from_customer(call.customer_frame())
    assert call.dropped("no_receiver") == 1 and call.customer.of_type("error") == []


async def test_a_slow_receiver_sheds_video_asks_for_a_keyframe_and_keeps_audio():
    call = Call(media_queue_bytes=65536)
    call.console.stalled = True
    video, audio = framing.STREAM_CUSTOMER_VIDEO, framing.STREAM_CUSTOMER_AUDIO
    call.from_customer(call.customer_frame(keyframe=True, size=10_000))  # written, its flush pending
    for _ in range(3):
        call.from_customer(call.customer_frame(audio, size=200))
    for _ in range(8):  # 8 × 10 KB of delta video behind a stalled write: over the 64 KiB budget
        call.from_customer(call.customer_frame(size=10_000))
    assert call.dropped("queue_full") >= 1
    [request] = call.customer.of_type("keyframe_request")
    assert (request["from"], request["stream"], request["reason"]) == ("server", "customer_video", "receiver_behind")
    assert request["session_id"] == SID
    # later delta frames cannot be decoded without a keyframe: dropped, and the request repeats at most every 0.5 s
    call.from_customer(call.customer_frame(size=1000))
    assert call.dropped("awaiting_keyframe") >= 1 and len(call.customer.of_type("keyframe_request")) == 1
    call.clock.advance(0.5)
    call.from_customer(call.customer_frame(size=1000))
    assert len(call.customer.of_type("keyframe_request")) == 2
    # the keyframe goes through and makes the queued video of its stream stale
    call.from_customer(call.customer_frame(keyframe=True, size=1000))
    outbox = call.relay.outboxes[id(call.console)]
    queued_video = [i for i in outbox.queue if i.stream == video]
    assert [i.keyframe for i in queued_video] == [True]
    assert sum(1 for i in outbox.queue if i.stream == audio) == 3  # audio is shed last: all kept
    assert outbox.bytes + outbox.inflight <= 65536
    # the receiver drains: everything queued is written, in order, and the queue is empty
    written_before = len(call.console.frames)
    call.console.drain()
    while outbox.queue or call.console.pending:
        await asyncio.sleep(0)
        call.console.drain()
    streams = [framing.unpack_header(f[12:28]).stream for f in call.console.frames[written_before:]]
    assert streams == [audio, audio, audio, video]
    assert outbox.bytes == 0


async def test_forgetting_a_session_drops_its_counters_and_budgets(call):
    call.from_customer(call.customer_frame())
    assert SID in call.relay.per_session and SID in call.customer.media.buckets
    call.relay.forget_session(SID)
    assert SID not in call.relay.per_session and SID not in call.customer.media.buckets


def test_a_cluster_node_labels_its_series_with_its_own_id(call):
    from anysupport.relay.metrics import exposition

    cluster = SimpleNamespace(enabled=True, node_id="n7")  # the id the cluster resolved (set or generated)
    body, content_type = exposition(call.relay, "", cluster)
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert 'anysupport_relay_frames_out_total{node="n7"} 0.0' in body.decode()
    body, content_type = exposition(call.relay, "application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text") and body.decode().endswith("# EOF\n")


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda c: bytes.fromhex(SID) + b"\x01" * 20, "malformed"),
        (lambda c: bytes.fromhex(SID) + c.agent_sealer.seal(2, bytes(700), timestamp_us=1), "too_large"),
        (lambda c: bytes.fromhex(SID) + c.customer_frame(), "wrong_direction"),
        (lambda c: bytes.fromhex(SID) + c.agent_sealer.seal(2, b"x", timestamp_us=1), "not_connected"),
    ],
    ids=["malformed", "too_large", "wrong_direction", "not_connected"],
)
async def test_another_agents_session_is_neither_named_nor_counted(make, reason):
    """Issue 18 #9: a frame prefixed with another agent's live session id must not confirm that
    session (no ``session_id`` in the error) nor add to its counters."""
    call = Call(media_max_frame_bytes=512)
    intruder = call.m.console({"id": "0" * 24})
    intruder.media = call.relay.new_sender(intruder)
    call.relay.on_frame(intruder, make(call))
    [error] = intruder.of_type("error")
    assert error["error"] == "frame_dropped" and error["field"] == reason
    assert "session_id" not in error
    assert call.relay.session_counters() == [] and call.dropped(reason) == 1
    assert call.customer.frames == []


async def test_a_media_flood_is_cut_off_and_a_paced_sender_never_is():
    """#18.6: refused frames past media_flood_frames in one second close the socket (4008 flooding,
    after an error saying so); the count starts again each second, and frames within the budget are
    never counted."""
    call = Call(media_max_fps=10.0, media_flood_frames=50)
    frame = call.customer_frame()
    for _ in range(10):  # the burst the budget allows
        call.from_customer(frame)
    for _ in range(50):  # refused (over the rate), but not yet a flood
        call.from_customer(frame)
    assert call.customer.closed is None and call.dropped("rate") == 50
    call.clock.advance(1.0)  # a new second: the count starts again (and the budget refills: 10 pass)
    for _ in range(10 + 51):
        call.from_customer(frame)
    assert call.customer.closed == (4008, "flooding")
    flood = call.customer.of_type("error", error="flooding")
    assert len(flood) == 1 and flood[0]["message"]
    before = len(call.console.frames)
    for _ in range(1000):  # what still arrives before the socket is gone is refused quietly
        call.from_customer(frame)
    assert len(call.console.frames) == before and len(call.customer.of_type("error", error="flooding")) == 1

    # a sender within its budget, for a long time, is never cut off
    paced = Call(media_max_fps=10.0, media_flood_frames=50)
    for _ in range(300):
        paced.clock.advance(0.1)
        paced.from_customer(paced.customer_frame())
    assert paced.customer.closed is None and paced.dropped("rate") == 0 and len(paced.console.frames) == 300


async def test_frames_for_no_receiver_are_not_a_flood():
    """The agent away (no console) is not the customer's fault: those frames never count."""
    call = Call(media_max_fps=100000.0, media_flood_frames=10)
    call.m.hub.detach_console(AGENT_ID, call.console)
    for _ in range(100):
        call.from_customer(call.customer_frame())
    assert call.customer.closed is None and call.dropped("no_receiver") == 100


# -- more than one receiver (issue 21) ------------------------------------------------------------------------
EXPERT_ID, LEAD_ID = "6b071c1443f808085a26f9d8", "6b071c1443f808085a26f9d9"


async def test_customer_frames_reach_every_watcher_each_through_its_own_queue():
    call = Call(media_queue_bytes=65536)
    expert, lead = call.m.console({"id": EXPERT_ID}), call.m.console({"id": LEAD_ID})
    call.m.sessions.live[SID].watchers = (EXPERT_ID, LEAD_ID)
    frame = call.customer_frame(keyframe=True)
    call.from_customer(frame)
    assert call.console.frames == expert.frames == lead.frames == [bytes.fromhex(SID) + frame]
    assert call.relay.total.frames_out == 3 and call.relay.session_counters()[0]["frames_out"] == 3
    # the lead stops reading: only its own queue sheds video; the others get every frame
    lead.stalled = True
    for _ in range(10):
        call.from_customer(call.customer_frame(size=10_000))
    assert len(call.console.frames) == len(expert.frames) == 11
    assert call.dropped("queue_full") >= 1 and len(lead.frames) < 11
    assert call.relay.outboxes[id(lead)].bytes <= 65536


async def test_only_the_sessions_agent_sends_to_the_customer():
    call = Call()
    expert = call.m.console({"id": EXPERT_ID})
    call.m.sessions.live[SID].watchers = (EXPERT_ID,)
    call.relay.on_frame(expert, bytes.fromhex(SID) + call.agent_sealer.seal(2, b"x", timestamp_us=1))
    assert call.customer.frames == [] and call.dropped("not_connected") == 1
    # with nobody at all to receive, the frame is dropped once, whatever the number of watchers
    call.m.hub.detach_console(AGENT_ID, call.console)
    call.m.hub.detach_console(EXPERT_ID, expert)
    call.from_customer(call.customer_frame())
    assert call.dropped("no_receiver") == 1
