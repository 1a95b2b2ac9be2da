"""The relay's own work per frame, against a plain copy of the same bytes.

``Relay.on_frame`` takes one sealed frame from a sender and hands it to the receiver's socket: the
session prefix, the size check, the header parse, the direction, session and rate checks, the
per-session counters and the receiver's outbox. The receiver here is a socket whose write is always
flushed at once (the usual case on a healthy connection), so what is measured is the relay alone,
not Tornado's IOStream (which ``relay_load.py`` measures with the bare forwarder as its baseline).
The baseline is the copy the relay cannot avoid: adding the 12-byte session prefix to the frame.

    .venv/bin/pytest benchmarks/test_bench_relay.py --benchmark-enable

Goal (issue 13): the relay's work is a few µs per frame over the copy. In the normal suite
(``--benchmark-disable``) every case runs once, and the checks that frames really crossed still run.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from anysupport_native import framing

from anysupport.relay.relay import Relay
from anysupport.sessions.manager import LiveSession
from tests.support.clock import ManualClock
from tests.support.connections import Principal
from tests.support.managers import build_managers

SID = "65a1f0c2e4b5d6a7b8c9d0e1"
AGENT_ID = "6b071c1443f808085a26f9d7"
DELTA = 3906  # a delta frame of 1 Mbit/s, 30 fps video (relay_load.frame_sizes)
AUDIO = 80  # 20 ms of Opus


class FlushedSocket:
    """A receiving socket whose every write the kernel takes at once."""

    def __init__(self, principal: Principal, done: asyncio.Future):
        self.principal = principal
        self.done = done
        self.frames = 0
        self.peer = None
        self.media = None

    def send_binary(self, data: bytes) -> asyncio.Future:
        self.frames += 1
        return self.done

    def send_json(self, message) -> None:
        raise AssertionError(f"no control message expected: {message}")


@pytest.fixture
def call():
    loop = asyncio.new_event_loop()
    done = loop.create_future()
    done.set_result(None)
    m = build_managers(None, ManualClock())
    relay = Relay(m.config, m.hub, m.sessions)  # the real clock: the rate budget refills as it runs
    m.sessions.live[SID] = LiveSession(SID, AGENT_ID, "connected")
    console = FlushedSocket(Principal("agent", agent_id=AGENT_ID), done)
    customer = FlushedSocket(Principal("customer", session_id=SID), done)
    for conn in (console, customer):
        conn.media = relay.new_sender(conn)
        conn.media.fps = 1e9  # no rate drops here
    m.hub.attach_console(AGENT_ID, console)
    m.hub.attach_customer(SID, customer)
    yield relay, console, customer
    loop.close()


def _frames(side: str, stream: int, size: int, count: int = 64) -> list[bytes]:
    sealer = framing.FrameSealer(os.urandom(16), side)
    return [sealer.seal(stream, os.urandom(size), keyframe=False) for _ in range(count)]


def _cycle(frames: list[bytes]):
    state = {"i": 0}

    def next_frame() -> bytes:
        i = state["i"] = (state["i"] + 1) % len(frames)
        return frames[i]

    return next_frame


@pytest.mark.parametrize("size", [AUDIO, DELTA], ids=["audio", "video"])
def test_customer_to_agent(benchmark, call, size):
    relay, console, customer = call
    stream = framing.STREAM_CUSTOMER_AUDIO if size == AUDIO else framing.STREAM_CUSTOMER_VIDEO
    frames = _cycle(_frames("customer", stream, size))
    benchmark(lambda: relay.on_frame(customer, frames()))
    assert console.frames >= 1 and relay.total.frames_out == console.frames
    assert sum(relay.total.dropped.values()) == 0


@pytest.mark.parametrize("size", [AUDIO, DELTA], ids=["audio", "video"])
def test_agent_to_customer(benchmark, call, size):
    relay, console, customer = call
    stream = framing.STREAM_AGENT_AUDIO if size == AUDIO else framing.STREAM_AGENT_VIDEO
    prefix = bytes.fromhex(SID)
    frames = _cycle([prefix + f for f in _frames("agent", stream, size)])
    benchmark(lambda: relay.on_frame(console, frames()))
    assert customer.frames >= 1 and relay.total.frames_out == customer.frames
    assert sum(relay.total.dropped.values()) == 0


@pytest.mark.parametrize("size", [AUDIO, DELTA], ids=["audio", "video"])
def test_baseline_plain_copy(benchmark, size):
    prefix = bytes.fromhex(SID)
    frames = _cycle(_frames("customer", framing.STREAM_CUSTOMER_VIDEO, size))
    out = benchmark(lambda: prefix + frames())
    assert len(out) == size + framing.FRAME_OVERHEAD + 12
