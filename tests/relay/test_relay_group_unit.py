"""The relay with version-2 frames (issue 21), directly: ``Relay.on_frame`` between in-memory
connections of a session of three, a hand-moved clock. The roster comes from a session document as
the session manager keeps it (``LiveSession.roster``). Over real sockets: tests/server/test_group_sessions.py."""

from __future__ import annotations

import os

from anysupport_native import group

from anysupport.relay.relay import FrameError, group_header
from anysupport.sessions.manager import LiveSession
from tests.support.clock import ManualClock
from tests.support.connections import Principal, RecordingConnection
from tests.support.managers import build_managers

SID = "65a1f0c2e4b5d6a7b8c9d0e1"
AGENT_ID, EXPERT_ID, VIEWER_ID = "6b071c1443f808085a26f9d7", "6b071c1443f808085a26f9d8", "6b071c1443f808085a26f9d9"
KEY = bytes(16)
PREFIX = bytes.fromhex(SID)


def session_doc(guests):
    return {"id": SID, "agent_id": AGENT_ID, "agent_name": "김상담", "state": "connected",
            "customer": {"name": "홍길동"}, "guests": guests, "next_index": 2 + len(guests)}


class GroupCall:
    def __init__(self, **settings):
        self.clock = ManualClock()
        self.m = build_managers(None, self.clock, **settings)
        self.relay = self.m.relay
        live = self.m.sessions.live[SID] = LiveSession(SID, AGENT_ID, "connected")
        live.roster.update(session_doc([
            {"index": 2, "agent_id": EXPERT_ID, "name": "이전문", "rights": "full"},
            {"index": 3, "agent_id": VIEWER_ID, "name": "박팀장", "rights": "view"}]))
        self.agent = self.m.console({"id": AGENT_ID})
        self.expert = self.m.console({"id": EXPERT_ID})
        self.viewer = self.m.console({"id": VIEWER_ID})
        self.customer = RecordingConnection(Principal("customer", session_id=SID))
        self.customer.media = self.relay.new_sender(self.customer)
        self.m.hub.attach_customer(SID, self.customer)
        self.sealers = {i: group.GroupSealer(SID, i, 1, KEY) for i in range(4)}

    def frame(self, sender: int, kind: int = group.KIND_VIDEO, *, as_sender: int | None = None, keyframe=False,
              size: int = 100) -> bytes:
        return self.sealers[sender if as_sender is None else as_sender].seal(kind, bytes(size), keyframe=keyframe,
                                                                              timestamp_us=1)

    def errors(self, conn) -> list[str]:
        return [m["field"] for m in conn.of_type("error", error="frame_dropped")]


async def test_a_frame_goes_to_every_other_participant_once_each():
    call = GroupCall()
    frame = call.frame(0, keyframe=True)
    call.relay.on_frame(call.customer, frame)
    for console in (call.agent, call.expert, call.viewer):
        assert console.frames == [PREFIX + frame]
    assert call.customer.frames == []
    frame = call.frame(2, group.KIND_AUDIO)
    call.relay.on_frame(call.expert, PREFIX + frame)
    assert call.customer.frames == [frame] and call.agent.frames[-1] == PREFIX + frame
    assert call.viewer.frames[-1] == PREFIX + frame and len(call.expert.frames) == 1
    t = call.relay.total
    assert (t.frames_in, t.frames_out) == (2, 6)
    # the frame opens with the sender's key, which the relay never had
    opener = group.GroupOpener(SID, 1)
    opener.add_key(2, 1, KEY)
    assert opener.open(call.agent.frames[-1][12:])[1] == bytes(100)


async def test_the_sender_index_view_only_and_kind_are_checked():
    call = GroupCall()
    call.relay.on_frame(call.expert, PREFIX + call.frame(2, as_sender=1))
    call.relay.on_frame(call.viewer, PREFIX + call.frame(3))
    call.relay.on_frame(call.customer, call.frame(0, group.KIND_CONTROL))
    call.relay.on_frame(call.customer, call.frame(0, as_sender=2))
    assert call.errors(call.expert) == ["wrong_sender"] and call.errors(call.viewer) == ["view_only"]
    assert call.errors(call.customer) == ["wrong_direction", "wrong_sender"]
    assert all(c.frames == [] for c in (call.agent, call.expert, call.viewer, call.customer))
    # an agent not in the session is a stranger: not_connected, and the session is not named
    stranger = call.m.console({"id": "6b071c1443f808085a26f9da"})
    call.relay.on_frame(stranger, PREFIX + call.frame(1))
    [error] = stranger.of_type("error")
    assert error["field"] == "not_connected" and "session_id" not in error


async def test_a_removed_participant_gets_nothing_from_then_on():
    call = GroupCall()
    call.m.sessions.live[SID].roster.update(session_doc([
        {"index": 3, "agent_id": VIEWER_ID, "name": "박팀장", "rights": "view"}]))
    call.relay.on_frame(call.customer, call.frame(0, keyframe=True))
    assert call.expert.frames == [] and len(call.agent.frames) == len(call.viewer.frames) == 1
    call.relay.on_frame(call.expert, PREFIX + call.frame(2))
    assert call.errors(call.expert) == ["not_connected"] and call.customer.frames == []


async def test_one_slow_receiver_sheds_only_its_own_frames():
    call = GroupCall(media_queue_bytes=65536)
    call.expert.stalled = True
    for i in range(40):
        call.relay.on_frame(call.customer, call.frame(0, keyframe=(i % 10 == 0), size=8000))
    assert len(call.agent.frames) == len(call.viewer.frames) == 40
    assert len(call.expert.frames) == 1  # the first write is in flight; the rest queued within the limit, or shed
    assert call.relay.total.dropped["queue_full"] + call.relay.total.dropped["awaiting_keyframe"] > 0
    call.expert.drain()


def test_the_relay_reads_a_header_as_the_reference_does():
    good = group.GroupSealer(SID, 2, 7, KEY).seal(group.KIND_AUDIO, b"x", keyframe=True)
    cases = [good, good[:35], bytes([2, 3]) + good[2:], bytes([2, 0, 2]) + good[3:], good[:3] + b"\xff" + good[4:],
             good[:4] + bytes(4) + good[8:]]
    cases += [bytes([2]) + os.urandom(40) for _ in range(300)]
    for frame in cases:
        try:
            h = group.parse_header(frame)
            expected = (h.kind, h.keyframe, h.sender, h.epoch)
        except FrameError:
            expected = None
        try:
            got = group_header(frame)
        except FrameError:
            got = None
        assert got == expected, frame[:8].hex()
