"""The load generators run once, small, in the normal suite so they cannot rot (figures come from
running them by hand with realistic sizes; see docs/performance.md)."""

import pytest

from benchmarks import control_latency, relay_load


@pytest.mark.slow
def test_relay_load_generator_smoke():
    result = relay_load.main(["--sessions", "3", "--seconds", "2"])
    assert result["frames_sent"] > 0 and result["lost"] == 0
    baseline = relay_load.main(["--sessions", "3", "--seconds", "2", "--baseline"])
    assert baseline["frames_received"] == baseline["frames_sent"]


@pytest.mark.slow
def test_control_latency_smoke():
    result = control_latency.main(["--sessions", "3", "--messages", "3", "--rate", "10"])
    assert result["messages"] == result["expected"] == 9
