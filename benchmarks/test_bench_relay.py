"""The relay's own work per frame, against a plain copy of the same bytes.

``Relay.on_frame`` takes one sealed frame from a sender and hands it to the receiver's socket: the
session prefix, the size check, the header parse, the direction, session and rate checks, the
per-session counters and the receiver's outbox. The receiver here is a socket whose write is always
flushed at once (the usual case on a healthy connection), so what is measured is the relay alone,
not Tornado's IOStream (which ``relay_load.py`` measures with the bare forwarder as its baseline).
The baseline is the copy the relay cannot avoid: adding the 12-byte session prefix to the frame.

    .venv/bin/pytest benchmarks/test_bench_relay.py --benchmark-enable
    .venv/bin/python -m benchmarks.test_bench_relay --fanout   # cost per extra receiver (issue 21)

With more than two participants (issue 21) a customer frame goes to the session's agent and to every
watching agent, each through its own queue. Goal: the relay's CPU per frame per extra receiver at
most 1.3× the two-party cost per frame; ``--fanout`` measures 1–4 receivers interleaved, in one run.

Goal (issue 13): the relay's work is a few µs per frame over the copy. In the normal suite
(``--benchmark-disable``) every case runs once, and the checks that frames really crossed still run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

import pytest
from anysupport_native import framing, group

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


WATCHERS = [f"6b071c1443f808085a26f9{i:02x}" for i in range(0xe0, 0xe3)]  # invited agents, a supervisor


def build_call(done: asyncio.Future, watchers: int = 0, *, version: int = 1):
    """A connected session with its agent, ``watchers`` more agents receiving, and its customer. With
    ``version`` 2 the others are participants (indexes 2, 3, …) of a version-2 session instead."""
    m = build_managers(None, ManualClock())
    relay = Relay(m.config, m.hub, m.sessions)  # the real clock: the rate budget refills as it runs
    live = m.sessions.live[SID] = LiveSession(SID, AGENT_ID, "connected",
                                              watchers=tuple(WATCHERS[:watchers]) if version == 1 else ())
    if version == 2:
        live.roster.update({"id": SID, "agent_id": AGENT_ID, "agent_name": "agent", "customer": {"name": "c"},
                            "guests": [{"index": 2 + i, "agent_id": w, "name": w, "rights": "full"}
                                       for i, w in enumerate(WATCHERS[:watchers])]})
    console = FlushedSocket(Principal("agent", agent_id=AGENT_ID), done)
    customer = FlushedSocket(Principal("customer", session_id=SID), done)
    others = [FlushedSocket(Principal("agent", agent_id=w), done) for w in WATCHERS[:watchers]]
    for conn in (console, customer, *others):
        conn.media = relay.new_sender(conn)
        conn.media.fps = 1e9  # no rate drops here
    m.hub.attach_console(AGENT_ID, console)
    for w, conn in zip(WATCHERS, others, strict=False):
        m.hub.attach_console(w, conn)
    m.hub.attach_customer(SID, customer)
    return relay, console, customer, others


@pytest.fixture
def call():
    loop = asyncio.new_event_loop()
    done = loop.create_future()
    done.set_result(None)
    relay, console, customer, _ = build_call(done)
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


@pytest.mark.parametrize("receivers", [1, 2, 3, 4])
@pytest.mark.benchmark(group="fan-out video, version 2")
def test_customer_to_participants_v2(benchmark, receivers):
    loop = asyncio.new_event_loop()
    done = loop.create_future()
    done.set_result(None)
    relay, console, customer, others = build_call(done, receivers - 1, version=2)
    frames = _cycle(_group_frames(DELTA))
    benchmark(lambda: relay.on_frame(customer, frames()))
    assert all(c.frames == console.frames >= 1 for c in others)
    assert relay.total.frames_out == console.frames * receivers and sum(relay.total.dropped.values()) == 0
    loop.close()


@pytest.mark.parametrize("receivers", [1, 2, 3, 4])
@pytest.mark.benchmark(group="fan-out video")
def test_customer_to_agents(benchmark, receivers):
    loop = asyncio.new_event_loop()
    done = loop.create_future()
    done.set_result(None)
    relay, console, customer, others = build_call(done, receivers - 1)
    frames = _cycle(_frames("customer", framing.STREAM_CUSTOMER_VIDEO, DELTA))
    benchmark(lambda: relay.on_frame(customer, frames()))
    assert all(c.frames == console.frames >= 1 for c in others)
    assert relay.total.frames_out == console.frames * receivers and sum(relay.total.dropped.values()) == 0
    loop.close()


def _group_frames(size: int, count: int = 64) -> list[bytes]:
    sealer = group.GroupSealer(SID, 0, 1, os.urandom(16))
    return [sealer.seal(group.KIND_VIDEO, os.urandom(size)) for _ in range(count)]


def fanout(rounds: int = 30, per_round: int = 2000, version: int = 1) -> dict[int, float]:
    """Median µs per customer video frame with 1–4 receivers, the cases interleaved round by round."""
    loop = asyncio.new_event_loop()
    done = loop.create_future()
    done.set_result(None)
    calls = {n: build_call(done, n - 1, version=version) for n in (1, 2, 3, 4)}
    frames = (_frames("customer", framing.STREAM_CUSTOMER_VIDEO, DELTA) if version == 1
              else _group_frames(DELTA))
    times: dict[int, list[float]] = {n: [] for n in calls}
    for r in range(rounds):
        for n in (calls if r % 2 else reversed(list(calls))):
            relay, _console, customer, _ = calls[n]
            on_frame = relay.on_frame
            t0 = time.perf_counter()
            for i in range(per_round):
                on_frame(customer, frames[i & 63])
            times[n].append((time.perf_counter() - t0) / per_round * 1e6)
    loop.close()
    return {n: statistics.median(t) for n, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the relay's cost per frame per extra receiver")
    parser.add_argument("--fanout", action="store_true", required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--version", type=int, choices=(1, 2), default=1,
                        help="2: version-2 frames routed by participant index (issue 21)")
    args = parser.parse_args(argv)
    for k in range(args.repeat):
        us = fanout(version=args.version)
        base = us[1]
        print(f"run {k + 1}, load average {os.getloadavg()[0]:.2f}: customer video ({DELTA} bytes, version "
              f"{args.version}), median µs per frame")
        print("| receivers | µs per frame | per extra receiver | ÷ two-party cost per frame |")
        print("|---|---|---|---|")
        for n, t in us.items():
            extra = (t - base) / (n - 1) if n > 1 else float("nan")
            print(f"| {n} | {t:.2f} | {'–' if n == 1 else f'{extra:.2f}'} | {'–' if n == 1 else f'{extra / base:.2f}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
