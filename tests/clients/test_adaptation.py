"""Automatic adaptation: the ladder on its own, then a slow link over the real server."""


import pytest
from anysupport_client.media.adaptation import Adapter
from anysupport_client.media.quality import LEVELS, ladder

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
        assert "send backlog" in reasons or any(r.startswith(("late", "loss")) for r in reasons), reasons
        assert customer.video_sender.quality.bitrate < LEVELS["medium"].quality.bitrate
        proxy.rate = None  # the link clears: the sender climbs back to the top of its level
        await agent.current.wait_until(lambda: adapter.rung == 0, 15, "back to the top")
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
    assert any(h[2] == "relay rate" for h in adapter.history)
    mark, captured = len(agent.frames), customer.video_sender.frames_sent + customer.video_sender.frames_skipped
    # a second of the customer's 30 fps capture (its own clock, not a timer): at most 20 frames pass the relay
    await wait_until(lambda: customer.video_sender.frames_sent + customer.video_sender.frames_skipped >= captured + 30, 10)
    assert len(agent.frames) - mark <= 22
