"""The run figures' rules, on recordings made up here."""

from __future__ import annotations

import pytest

from benchmarks.netlab.metrics import (
    Recording,
    first_frame_after,
    freezes,
    percentile,
    settle_time,
    summarize,
    time_to_bitrate,
    timeline,
    unwrap16,
    voice_gaps,
)


def steady_voice(start: float, seconds: float, *, skip: set[int] = frozenset(), delay: dict[int, float] = None):
    delay = delay or {}
    return [(start + i * 0.02 + 0.05 + delay.get(i, 0.0), i) for i in range(int(seconds / 0.02)) if i not in skip]


def test_percentiles_are_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5.0], 99) == 5.0
    assert percentile(list(range(101)), 95) == 95


def test_a_freeze_is_a_gap_over_half_a_second():
    times = [0.0, 0.033, 0.066, 0.6, 0.633, 1.7]
    assert freezes(times) == [(0.066, pytest.approx(0.534)), (0.633, pytest.approx(1.067))]
    assert freezes([0.0, 0.5, 1.0]) == []


def test_rtp_sequences_are_unwrapped():
    assert unwrap16([65534, 65535, 0, 1]) == [65534, 65535, 65536, 65537]
    assert unwrap16([1, 0, 65535]) == [1, 0, -1]


def test_steady_voice_has_no_gap_and_a_lost_packet_is_concealed():
    assert voice_gaps(steady_voice(0.0, 5.0), 5.0)["gaps"] == 0
    one_lost = voice_gaps(steady_voice(0.0, 5.0, skip={100}), 5.0)
    assert one_lost["gaps"] == 0 and one_lost["lost"] == 1


def test_a_stall_of_the_stream_is_a_voice_gap():
    # a TCP retransmission holds 15 packets (300 ms) back, then they come all at once
    held = {i: (115 - i) * 0.02 for i in range(100, 115)}
    result = voice_gaps(steady_voice(0.0, 5.0, delay=held), 5.0)
    assert result["gaps"] == 1
    assert 150 <= result["longest_gap_ms"] <= 320


def test_three_lost_packets_in_a_row_are_heard():
    assert voice_gaps(steady_voice(0.0, 5.0, skip={50, 51, 52}), 5.0)["gaps"] == 1
    assert voice_gaps([], 5.0)["gaps"] == 0


def test_settling_within_one_rung_of_the_end():
    levels = [(10.0, 0, 800_000), (11.0, 1, 560_000), (12.5, 2, 400_000), (14.0, 3, 400_000), (20.0, 2, 400_000),
              (24.0, 3, 400_000)]
    assert settle_time(levels, 10.0) == 2.5  # rung 2 at 12.5 s, within one of the final 3 from then on
    assert settle_time([(10.0, 0, 800_000)], 10.0) == 0.0
    assert settle_time([], 10.0) is None


def test_settling_of_a_bitrate_only_sender():
    levels = [(0.0, None, 800_000), (1.0, None, 700_000), (2.0, None, 300_000), (3.0, None, 240_000),
              (4.0, None, 280_000), (9.0, None, 270_000)]
    assert settle_time(levels, 0.0) == 2.0
    assert time_to_bitrate(levels, 0.0) == 3.0
    assert time_to_bitrate(levels[:2], 0.0) is None


def test_summary_and_timeline_of_a_recording():
    rec = Recording(start=100.0, end=160.0)
    for k in range(60 * 30):
        t = 100.0 + k / 30
        if 130.0 <= t < 131.0:
            continue  # one freeze of a second
        rec.frames.append((t, 80.0 + (k % 100), 640, 480))
        rec.video_bytes.append((t, 3000))
    rec.voice = steady_voice(100.0, 60.0)
    rec.levels = [(100.0, 0, 800_000), (102.0, 1, 560_000)]
    figures = summarize(rec)
    assert figures["freezes"] == 1 and figures["freezes_per_min"] == 1.0
    assert figures["longest_freeze_s"] == pytest.approx(1.03, abs=0.02)
    assert figures["g2g_p50_ms"] == pytest.approx(130, abs=2)
    assert figures["fps"] == pytest.approx(29.5, abs=0.1)
    assert figures["video_kbps"] == pytest.approx(708, abs=2)
    assert figures["voice_gaps"] == 0 and figures["settle_s"] == 0.0 and figures["final_rung"] == 1
    rows = timeline(rec)
    assert len(rows) == 60 and rows[0]["rung"] == 0 and rows[5]["rung"] == 1 and rows[30]["fps"] == 0
    assert rows[0]["size"] == "640x480" and rows[0]["kbps"] == 720.0


def test_first_new_frame_after_the_link_came_back():
    rec = Recording(start=0.0, end=10.0, frames=[(4.0, 50.0, 640, 480), (6.4, 900.0, 640, 480),
                                                  (6.7, 60.0, 640, 480)])
    assert first_frame_after(rec, 6.0) == pytest.approx(0.4)
    # the picture decoded at 6.4 s was captured at 5.5 s, before the outage began (5.8 s): not a new one
    assert first_frame_after(rec, 6.0, captured_after=5.8) == pytest.approx(0.7)
    assert first_frame_after(rec, 7.0) is None


def test_the_silence_after_the_last_packet_is_not_a_gap():
    result = voice_gaps(steady_voice(0.0, 5.0), 8.0)
    assert result["gaps"] == 0 and result["silent_ms"] == 0
    assert voice_gaps(steady_voice(0.0, 5.0, skip={100}), 8.0)["silent_ms"] == 20
