"""The link's rules, driven directly with an injected clock and random source."""

from __future__ import annotations

import random

import pytest

from benchmarks.netlab.link import Direction, Link
from benchmarks.netlab.profiles import PROFILES, Profile


def packet(size: int = 1250, src: bytes = b"\x0a\x4d\x02\x02", dst: bytes = b"\x0a\x4d\x01\x01",
           number: int = 0) -> bytes:
    body = number.to_bytes(4, "big")
    return b"\x45" + b"\0" * 11 + src + dst + body + b"\0" * (size - 24)


def test_the_profiles_are_the_issues_table():
    p = PROFILES
    assert (p["wifi"].rate_bps, p["wifi"].rtt_ms, p["wifi"].loss, p["wifi"].jitter_ms) == (30e6, 10, 0, 0)
    assert (p["lte"].rate_bps, p["lte"].rtt_ms, p["lte"].loss) == (10e6, 50, 0.005)
    assert (p["congested"].rate_bps, p["congested"].rtt_ms, p["congested"].loss, p["congested"].jitter_ms) == \
        (2e6, 150, 0.02, 30)
    assert (p["3g"].rate_bps, p["3g"].rtt_ms, p["3g"].loss) == (750e3, 300, 0.01)
    handover = p["handover"]
    assert (handover.rate_bps, handover.rtt_ms, handover.loss) == (p["lte"].rate_bps, p["lte"].rtt_ms, p["lte"].loss)
    assert handover.outage_s == 2.0 and handover.new_address
    assert not any(q.reorder for q in p.values())


def test_packets_are_serialised_at_the_rate_then_delayed():
    d = Direction(rate_bps=10e6, delay_s=0.025)
    for i in range(4):
        assert d.offer(packet(1250, number=i), 0.0)
    # 1250 bytes at 10 Mbit/s: 1 ms each, then 25 ms on the wire
    assert d.next_due() == pytest.approx(0.026)
    assert d.take_due(0.0259) == []
    assert len(d.take_due(0.02601)) == 1
    assert len(d.take_due(0.0275)) == 1
    out = d.take_due(1.0)
    assert [int.from_bytes(p[20:24], "big") for p in out] == [2, 3]
    assert d.counters.delivered == 4 and d.counters.delivered_bytes == 5000


def test_an_idle_link_does_not_bank_its_rate():
    d = Direction(rate_bps=10e6, delay_s=0.0)
    d.offer(packet(), 0.0)
    d.take_due(1.0)
    d.offer(packet(), 5.0)  # long after: serialised from its own arrival, not in the past
    assert d.next_due() == pytest.approx(5.001)


def test_the_queue_drops_the_tail_past_its_bound():
    d = Direction(rate_bps=1e6, delay_s=0.0, queue_bytes=5000)
    accepted = [d.offer(packet(1000, number=i), 0.0) for i in range(8)]
    assert accepted == [True] * 5 + [False] * 3
    assert d.counters.dropped_queue == 3
    assert d.backlog_bytes(0.0) == pytest.approx(5000)
    # once a packet's worth has drained (8 ms at 1 Mbit/s), one more fits
    assert d.offer(packet(1000), 0.008)
    assert not d.offer(packet(1000), 0.008)


def test_queue_bound_from_the_profile():
    assert PROFILES["congested"].queue_bytes == int(2e6 / 8 * 0.2)
    assert Profile("x", None, 10).queue_bytes is None


def test_random_loss_is_drawn_per_packet_from_the_injected_source():
    d = Direction(rate_bps=None, delay_s=0.0, loss=0.1, rng=random.Random(7))
    kept = sum(d.offer(packet(100), 0.0) for _ in range(20_000))
    assert d.counters.lost_random == 20_000 - kept
    assert abs(d.counters.lost_random / 20_000 - 0.1) < 0.01
    again = Direction(rate_bps=None, delay_s=0.0, loss=0.1, rng=random.Random(7))
    assert sum(again.offer(packet(100), 0.0) for _ in range(20_000)) == kept  # same seed, same fate


def test_jitter_keeps_the_order_unless_told():
    def arrivals(reorder: bool) -> list[int]:
        d = Direction(rate_bps=None, delay_s=0.075, jitter_s=0.03, reorder=reorder, rng=random.Random(3))
        for i in range(200):
            d.offer(packet(100, number=i), i * 0.005)
        return [int.from_bytes(p[20:24], "big") for p in d.take_due(10.0)]

    in_order = arrivals(False)
    assert in_order == list(range(200))
    shuffled = arrivals(True)
    assert sorted(shuffled) == list(range(200)) and shuffled != list(range(200))


def test_jitter_spreads_the_delay_uniformly():
    d = Direction(rate_bps=None, delay_s=0.075, jitter_s=0.03, reorder=True, rng=random.Random(5))
    delays = []
    for i in range(2000):
        d.offer(packet(100, number=i), float(i))
        delays.append(d.next_due() - i)
        d.take_due(i + 1.0)
    assert min(delays) >= 0.045 and max(delays) <= 0.105
    assert abs(sum(delays) / len(delays) - 0.075) < 0.002


def test_link_down_loses_what_is_queued_and_in_flight_until_up():
    link = Link(PROFILES["lte"], seed=1)
    link.up.offer(packet(), 0.0)
    link.down.offer(packet(), 0.0)
    link.set_up(False, 0.001)
    assert link.next_due() is None
    assert not link.up.offer(packet(), 0.5)
    counters = link.counters()
    assert counters["up"]["lost_down"] == 2 and counters["down"]["lost_down"] == 1
    link.set_up(True, 2.0)
    assert link.up.offer(packet(), 2.0)
    assert link.up.next_due() == pytest.approx(2.0 + 1250 * 8 / 10e6 + 0.025)


def test_an_unrouted_address_loses_its_packets_both_ways():
    link = Link(PROFILES["wifi"], seed=1)
    old, new, server = b"\x0a\x4d\x02\x02", b"\x0a\x4d\x02\x03", b"\x0a\x4d\x01\x01"
    link.unroute(old)
    assert not link.up.offer(packet(src=old, dst=server), 0.0)
    assert not link.down.offer(packet(src=server, dst=old), 0.0)
    assert link.up.offer(packet(src=new, dst=server), 0.0)
    assert link.down.offer(packet(src=server, dst=new), 0.0)
    assert link.counters()["up"]["lost_unrouted"] == 1
    link.reroute(old)
    assert link.up.offer(packet(src=old, dst=server), 0.0)


def test_the_two_directions_draw_from_their_own_random_streams():
    link = Link(PROFILES["congested"], seed=11)
    ups = [link.up.offer(packet(100), 0.0) for _ in range(500)]
    downs = [link.down.offer(packet(100), 0.0) for _ in range(500)]
    assert ups != downs
