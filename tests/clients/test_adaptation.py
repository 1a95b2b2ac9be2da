"""Automatic adaptation: the ladder on its own, then a slow link over the real server."""


import av
import numpy as np
import pytest
from anysupport_client.media.adaptation import Adapter
from anysupport_client.media.quality import LEVELS, ladder
from anysupport_client.media.sender import AckClock, VideoSender
from anysupport_client.media.sources import TestPatternTrack
from anysupport_native.framing import STREAM_CUSTOMER_VIDEO

from tests.clients.conftest import wait_until
from tests.clients.throttle import ThrottledProxy


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_ladder_lowers_bitrate_then_frame_rate_then_resolution_within_the_level():
    for level in LEVELS.values():
        rungs = ladder(level.quality)
        top = rungs[0]
        assert top == level.quality
        assert [r.bitrate < top.bitrate for r in rungs[1:3]] == [True, True]
        assert all((r.width, r.height, r.fps) == (top.width, top.height, top.fps) for r in rungs[:3])
        assert all(r.fps < top.fps and (r.width, r.height) == (top.width, top.height) for r in rungs[3:5])
        assert all(r.width < top.width and r.height < top.height for r in rungs[5:])
        assert all(a.bitrate >= b.bitrate for a, b in zip(rungs, rungs[1:], strict=False))
        assert all(r.width % 2 == 0 and r.height % 2 == 0 for r in rungs)


def test_adapter_steps_down_once_per_hold_and_climbs_after_a_clean_spell():
    clock = Clock()
    adapter = Adapter("medium", down_hold=1.0, up_after=4.0, clock=clock)
    assert adapter.trouble("relay") and adapter.rung == 1
    assert not adapter.trouble("relay again")  # the same burst
    clock.now += 1.1
    assert adapter.report(received=30, lost=5, late_ms=0) and adapter.rung == 2
    clock.now += 1.1
    assert not adapter.report(received=30, lost=0, late_ms=400)  # one late report is not enough
    clock.now += 0.25
    assert not adapter.report(received=30, lost=0, late_ms=400)  # nor a quarter second of them
    clock.now += 0.25
    assert adapter.report(received=30, lost=0, late_ms=400) and adapter.rung == 3
    clock.now += 1.1
    assert not adapter.report(received=30, lost=0, late_ms=20)  # a clean report changes nothing
    clock.now += 2.0
    assert not adapter.tick()  # 3.1 s since the last trouble
    clock.now += 1.0
    assert adapter.tick() and adapter.rung == 2
    # falling back right after a climb makes the next climb wait longer
    clock.now += 0.5
    assert adapter.trouble("relay") and adapter.rung == 3
    clock.now += 4.5
    assert not adapter.tick()
    clock.now += 4.0
    assert adapter.tick() and adapter.rung == 2
    # never leaves the chosen level, never goes past its lowest rung
    for _ in range(20):
        clock.now += 1.1
        adapter.trouble("relay")
    assert adapter.rung == adapter.lowest
    assert adapter.quality.width < LEVELS["medium"].quality.width
    adapter.set_level("low")
    assert adapter.rung == 0 and adapter.quality == LEVELS["low"].quality


class Link:
    """A fluid model of one TCP uplink under our sender, for the adapter's rules: the link carries
    ``rate`` bits/s; what we send beyond it queues; a report every 0.25 s says the bytes delivered
    and the 80th percentile of lateness (the queue's delay, plus a retransmission's stall of one
    round trip in ``stall_every``-th reports: TCP's loss, not congestion)."""

    def __init__(self, rate: float, rtt_ms: float, stall_every: int = 0, ping_ms: float | None = None):
        self.rate, self.rtt_ms, self.stall_every = rate, rtt_ms, stall_every
        # what the first pings measure: the round trip plus the call's first burst queued ahead of them
        self.ping_ms = ping_ms or rtt_ms
        self.queue = 0.0  # bits
        self.reports = 0

    def report(self, bitrate: float, dt: float = 0.25) -> tuple[int, float]:
        offered = self.queue + bitrate * dt
        delivered = min(offered, self.rate * dt)
        self.queue = offered - delivered
        self.reports += 1
        late = self.queue / self.rate * 1000
        if self.stall_every and self.reports % self.stall_every == 0:
            late += self.rtt_ms
        return int(delivered / 8), late


def run_call(adapter: Adapter, clock: Clock, link: Link, seconds: float) -> list[tuple[float, int, int, float]]:
    """Reports every 0.25 s for ``seconds``; returns (time into the call, rung, bitrate, lateness) after each."""
    start, seen = clock.now, []
    adapter.round_trip(link.ping_ms)  # the first ping's answer, before any picture
    while clock.now - start < seconds:
        clock.now += 0.25
        adapter.sent(adapter.quality.bitrate // 8 // 4)
        size, late = link.report(adapter.quality.bitrate)
        adapter.report(received=round(adapter.quality.fps / 4), lost=0, late_ms=late, received_bytes=size)
        adapter.tick()
        seen.append((round(clock.now - start, 2), adapter.rung, adapter.quality.bitrate, late))
    return seen


def test_on_a_3g_link_the_adapter_is_at_the_low_level_within_5_s_and_stays_off_the_bottom():
    clock = Clock()
    adapter = Adapter("medium", clock=clock)
    # 3G's TCP: 341 of 750 kbit/s; its first pings took 654 ms in the netlab (the first burst queued ahead)
    seen = run_call(adapter, clock, Link(rate=341_000, rtt_ms=300, stall_every=7, ping_ms=654), 40)
    # 225 kbit/s (480×360) from the start, within the low level's bitrate
    assert adapter.history[1][1] == 5 and adapter.history[1][2].startswith("start low")
    low_at = next(t for t, _rung, bitrate, _late in seen if bitrate <= 250_000)
    assert low_at <= 5.0, adapter.history
    # retransmission stalls of one round trip every 1.75 s are not read as congestion, and what the
    # link carried is a ceiling: no climb back into a queue until it is older than max_up_after
    assert all(rung < adapter.lowest for _t, rung, _b, _l in seen), adapter.history
    assert all(bitrate <= 250_000 for t, _r, bitrate, _l in seen if 5 <= t <= 32), adapter.history


@pytest.mark.parametrize("level, rtt_ms, rung, bitrate", [
    ("medium", 40, 0, 800_000), ("medium", 150, 2, 400_000), ("medium", 341, 2, 400_000), ("medium", 654, 5, 225_000),
    ("high", 150, 2, 1_000_000), ("high", 654, 6, 250_000), ("low", 150, 2, 125_000), ("low", 654, 0, 250_000)])
def test_the_first_round_trip_decides_where_the_call_starts(level, rtt_ms, rung, bitrate):
    clock = Clock()
    adapter = Adapter(level, clock=clock)
    adapter.round_trip(rtt_ms)
    assert (adapter.rung, adapter.quality.bitrate) == (rung, bitrate), adapter.history


def test_a_faster_ping_before_the_first_report_moves_the_start_up_and_a_report_fixes_it():
    clock = Clock()
    adapter = Adapter("medium", clock=clock)
    adapter.round_trip(620)  # a busy first moment
    assert adapter.rung == 5
    adapter.round_trip(180)
    assert adapter.rung == 2 and adapter.history[-1][2] == "start low (round trip 180 ms)"
    adapter.round_trip(700)  # slower again: the least round trip counts
    assert adapter.rung == 2
    adapter.round_trip(60)
    assert adapter.rung == 0 and adapter.history[-1][2] == "start at the top (round trip 60 ms)"
    adapter.report(received=30, lost=0, late_ms=5.0, received_bytes=100_000)
    adapter.round_trip(400)  # after the first report the reports decide, not a ping
    assert adapter.rung == 0


def test_on_a_congested_link_the_adapter_keeps_the_queue_short_without_sinking_to_the_bottom():
    clock = Clock()
    adapter = Adapter("medium", clock=clock)
    # 2 % loss: 634 of 2000 kbit/s; its first pings took 308-341 ms in the netlab: it starts at 400 kbit/s
    seen = run_call(adapter, clock, Link(rate=634_000, rtt_ms=150, stall_every=5, ping_ms=341), 60)
    assert adapter.history[1][1] == 2
    after = [s for s in seen if s[0] >= 5.0]
    assert all(bitrate >= 400_000 for _t, _r, bitrate, _l in after), adapter.history
    queued = sorted(late for *_, late in after)
    assert queued[int(0.95 * len(queued))] <= 300, adapter.history  # the stalls (150 ms), not a backlog
    # a climb over what the link carried waits for the ceiling to expire: one failed probe in the minute
    assert sum(1 for _t, _r, why in adapter.history if "growing" in why or why.startswith("late")) <= 2, adapter.history


def test_a_fast_link_starts_at_the_top_and_stays_there():
    clock = Clock()
    adapter = Adapter("medium", clock=clock)
    seen = run_call(adapter, clock, Link(rate=4_000_000, rtt_ms=50, stall_every=9), 20)
    assert {rung for _t, rung, _b, _l in seen} == {0}, adapter.history


def test_lateness_counts_against_the_round_trip_and_a_spike_that_clears_is_not_trouble():
    clock = Clock()
    fast = Adapter("medium", clock=clock)
    fast.round_trip(40)
    assert fast.rung == 0 and fast.late_threshold == 150  # a fast link: the floor
    adapter = Adapter("medium", clock=clock)
    adapter.round_trip(300)  # no report yet: a slow link starts low
    assert adapter.rung == 2
    assert adapter.late_threshold == 450 and adapter.late_hold == 0.6
    for late in (420, 30, 440, 20, 400, 10):  # stalls of a round trip, each cleared by the next report
        clock.now += 0.25
        assert not adapter.report(received=8, lost=0, late_ms=late)
    for _ in range(3):  # over 1.5 round trips, but for less than the hold (two round trips)
        clock.now += 0.25
        assert not adapter.report(received=8, lost=0, late_ms=500)
    clock.now += 0.25
    assert adapter.report(received=8, lost=0, late_ms=500) and adapter.rung == 3
    adapter.round_trip(20)  # reporting has begun: a round trip no longer moves the start
    assert adapter.rung == 3


def test_the_start_follows_the_least_round_trip_before_the_first_report():
    clock = Clock()
    adapter = Adapter("medium", clock=clock)
    assert adapter.round_trip(180) and adapter.rung == 2  # a busy server answered slowly
    assert adapter.round_trip(12) and adapter.rung == 0  # the next ping shows the link is fast
    assert not adapter.round_trip(250) and adapter.rung == 0  # the least counts
    assert adapter.history[-1][2] == "start at the top (round trip 12 ms)"


def test_lateness_growing_report_after_report_is_a_queue():
    clock = Clock()
    adapter = Adapter("medium", clock=clock)
    for late, changed in ((10, False), (40, False), (80, False), (120, True)):  # under 150 ms, but rising
        clock.now += 0.25
        assert adapter.report(received=8, lost=0, late_ms=late) is changed
    assert adapter.history[-1][2] == "late 120 ms and growing"


def test_the_first_trouble_jumps_to_within_the_goodput_not_one_rung():
    clock = Clock()
    adapter = Adapter("medium", clock=clock)
    for _ in range(5):  # 300 kbit/s arriving of the 800 sent
        clock.now += 0.25
        adapter.sent(800_000 // 8 // 4)
        adapter.report(received=8, lost=0, late_ms=0, received_bytes=300_000 // 8 // 4)
    assert round(adapter.goodput) == 300_000
    assert adapter.trouble("unacknowledged") and adapter.quality.bitrate <= 240_000
    assert adapter.history[-1][2] == "unacknowledged, goodput 300 kb/s"
    # a receiver getting what is sent (an encoder under its bitrate, or a climb a moment ago): one rung
    adapter = Adapter("medium", clock=clock)
    for _ in range(5):
        clock.now += 0.25
        adapter.sent(500_000 // 8 // 4)
        adapter.report(received=8, lost=0, late_ms=0, received_bytes=480_000 // 8 // 4)
    assert adapter.trouble("relay") and adapter.rung == 1 and adapter.ceiling is None


def test_an_outage_is_not_read_as_the_links_rate():
    """Reports stop while the link is down: trouble steps one rung and sets no ceiling (in the lab's
    handover a ceiling of the outage's goodput held the call at the bottom rung for 32 s)."""
    clock = Clock()
    adapter = Adapter("medium", clock=clock)
    for _ in range(8):
        clock.now += 0.25
        adapter.sent(800_000 // 8 // 4)
        adapter.report(received=8, lost=0, late_ms=0, received_bytes=800_000 // 8 // 4)
    clock.now += 0.25
    adapter.report(received=1, lost=0, late_ms=0, received_bytes=1_000)  # the last report before the outage
    for _ in range(6):  # 1.5 s down: frames offered, nothing reported
        clock.now += 0.25
        adapter.sent(800_000 // 8 // 4)
    assert adapter.trouble("unacknowledged") and adapter.rung == 1 and adapter.ceiling is None


def test_paced_by_its_acks_on_a_link_that_carries_less_the_sender_goes_down_and_does_not_climb():
    """An ack-clocked sender builds no queue: no lateness, no backlog. Paced for 1.5 s while the link
    carries clearly less than offered (3G's 341 of 400 kbit/s) is trouble; paced, it never climbs."""
    clock = Clock()
    adapter = Adapter("medium", clock=clock)
    adapter.round_trip(300)
    assert adapter.rung == 2
    changed_at = None
    for k in range(1, 120):  # 4 s of frames at 30 fps, one in eight held
        clock.now += 1 / 30
        adapter.sent(400_000 // 8 // 30)
        if k % 8 == 0 and adapter.paced():
            changed_at = changed_at or round(k / 30, 2)
        if k % 8 == 0:
            adapter.report(received=8, lost=0, late_ms=5, received_bytes=341_000 // 8 * 8 // 30)
        assert not adapter.tick() or adapter.rung < 2
    assert changed_at is not None and 1.5 <= changed_at <= 3.0, adapter.history  # goodput known, then 1.5 s
    assert adapter.quality.bitrate <= 250_000 and adapter.history[-1][2].startswith("paced, goodput")
    # a link that carries what is offered: pacing (after a keyframe, say) is not trouble, and
    # climbing waits until the pacing has stopped for a second
    clock.now += 60
    adapter = Adapter("medium", clock=clock)
    adapter.trouble("relay")
    for _ in range(8):
        clock.now += 0.25
        adapter.sent(560_000 // 8 // 4)
        adapter.report(received=8, lost=0, late_ms=0, received_bytes=560_000 // 8 // 4)
        assert not adapter.paced()
    clock.now += 4.0
    adapter.paced()
    assert not adapter.tick()
    clock.now += 1.0
    assert adapter.tick() and adapter.rung == 0


def test_the_ack_clock_holds_video_beyond_a_round_trip_of_the_bitrate_in_flight():
    clock = Clock()
    acks = AckClock(clock=clock)
    for k in range(20):
        acks.sent(1_000_000 + k * 33_000, 3_000)  # 20 frames of 3 kB
    assert not acks.holding(400_000, 300)  # no acknowledgement yet: a receiver that does not send last_us
    acks.acked(1_000_000 + 4 * 33_000)
    assert not acks.holding(400_000, 300)  # one report: its spacing is not known yet
    clock.now += 0.25
    acks.acked(1_000_000 + 9 * 33_000)  # the first ten arrived
    assert acks.in_flight == 30_000
    assert acks.window(400_000, 300) == 37_500  # 50 kB/s × (0.3 + 0.25 + 0.2)
    assert not acks.holding(400_000, 300)
    for k in range(3):
        acks.sent(2_000_000 + k, 3_000)
    assert not acks.holding(400_000, 300)  # 39 kB in flight, less the largest frame: within the window
    acks.sent(2_000_003, 3_000)
    assert acks.holding(400_000, 300) and acks.held == 1 and acks.held_for() == 0
    clock.now += 0.1
    assert acks.holding(400_000, 300) and round(acks.held_for(), 3) == 0.1  # the sender counts 0.3 s as trouble
    clock.now += 0.25
    acks.acked(2_000_003)
    assert acks.in_flight == 0 and not acks.holding(400_000, 300)
    acks.sent(3_000_000, 20_000)  # a keyframe is a burst, not a backlog
    assert not acks.holding(400_000, 300)
    for k in range(16):  # the reports' spacing was 0.35 s: a window of 42.5 kB
        acks.sent(3_000_001 + k, 3_000)
    assert acks.holding(400_000, 300)
    clock.now += 2.5  # the receiver stopped reporting: nothing to pace by
    assert not acks.holding(400_000, 300)
    acks.reset()
    assert acks.in_flight == 0


def test_a_held_frame_counts_as_offered_so_the_adapter_sees_the_link_fall_short():
    """An ack-clocked sender sends only what the link delivers; frames held back still count as
    offered, so goodput under the offer shows and the first trouble can jump."""
    clock = Clock()
    sent = []
    sender = VideoSender(TestPatternTrack(), STREAM_CUSTOMER_VIDEO, lambda *frame: sent.append(frame) or True,
                         adapter=Adapter("medium", clock=clock))
    sender.acks.clock = clock
    for k in range(10):  # 200 kB on its way, two reports that did not acknowledge it
        sender.acks.sent(1 + k, 20_000)
    sender.acks.acked(0)
    clock.now += 0.25
    sender.acks.acked(0)
    frame = av.VideoFrame.from_ndarray(np.zeros((480, 640, 3), np.uint8), format="rgb24")
    for k in range(3):
        sender._next_due = 0.0  # due now (the sender's frame clock is the real one)
        assert not sender.process(frame, capture_us=20 + k)
    assert not sent and sender.acks.held == 3
    assert len(sender.adapter._sent) == 3 and {size for _, size in sender.adapter._sent} == {800_000 // 8 // 30}


def test_frames_the_sender_dropped_itself_are_not_the_links_loss():
    clock = Clock()
    sender = VideoSender(TestPatternTrack(), STREAM_CUSTOMER_VIDEO, lambda *frame: True,
                         adapter=Adapter("medium", clock=clock))
    sender.dropped_here(3)  # stale in our own queue: sealed, numbered, never sent
    assert sender._force_keyframe
    sender.report(received=5, lost=3, late_ms=0)  # the receiver saw the gap: 3 of 8 "lost"
    assert sender.adapter.rung == 0
    sender.report(received=5, lost=3, late_ms=0)  # these the link lost
    assert sender.adapter.rung == 1 and sender.adapter.history[-1][2] == "loss 3/8"


@pytest.mark.slow
async def test_slow_uplink_makes_the_sender_adapt_down_and_back_up_when_it_clears(server, pair_factory):
    proxy = await ThrottledProxy("127.0.0.1", server.port).start()
    adapter = Adapter("medium", down_hold=0.3, up_after=1.0, max_up_after=2.0)
    try:
        agent, customer, _source = await pair_factory(adapter=adapter, customer_url=proxy.url)
        await agent.wait_frames(10)
        assert adapter.rung == 0
        proxy.rate = 12_000  # bytes/s: far below what medium quality needs
        # re-checked on every frame the agent decodes (frames keep coming, slower)
        await agent.current.wait_until(lambda: adapter.rung >= 3, 10, "rung 3")
        reasons = [h[2] for h in adapter.history]
        assert adapter.rung >= 3, adapter.history
        assert any(r.startswith(("send backlog", "unacknowledged", "late", "loss")) for r in reasons), reasons
        assert customer.video_sender.quality.bitrate < LEVELS["medium"].quality.bitrate
        proxy.rate = None  # the link clears: the sender climbs back to the top of its level
        await agent.current.wait_until(lambda: adapter.rung == 0, 30, "back to the top")
        assert adapter.rung == 0, "; ".join(str(x) for x in [(round(t - adapter.history[0][0], 2), r, why) for t, r, why in adapter.history])
        frames = await agent.wait_frames(10)
        assert all((f.width, f.height) == (640, 480) for f in frames[-3:])
    finally:
        await proxy.close()


@pytest.mark.slow
async def test_relay_dropping_for_rate_makes_the_sender_lower_its_frame_rate(make_server, pair_factory):
    server = make_server({"media_max_fps": 20})  # the relay drops what is over 20 frames a second
    adapter = Adapter("medium", down_hold=0.3, up_after=30.0)
    agent, customer, _source = await pair_factory(server, adapter=adapter)
    await agent.current.wait_until(lambda: adapter.quality.fps <= 20, 10, "20 fps or less")
    assert adapter.quality.fps <= 20, adapter.history
    assert any(h[2].startswith("relay rate") for h in adapter.history), adapter.history  # (", goodput …" when it jumped)
    mark, captured = len(agent.frames), customer.video_sender.frames_sent + customer.video_sender.frames_skipped
    # a second of the customer's 30 fps capture (its own clock, not a timer): at most 20 frames pass the relay
    await wait_until(lambda: customer.video_sender.frames_sent + customer.video_sender.frames_skipped >= captured + 30, 10)
    assert len(agent.frames) - mark <= 22
