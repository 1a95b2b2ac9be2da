"""The sessions-of-three load generator (benchmarks/group_load.py) runs once, small, so it cannot rot:
a real server, three sessions of three with the Python clients' version-2 keys, the expert removed
halfway. Figures come from running it by hand (docs/performance.md)."""

import asyncio

from benchmarks import group_load


def test_sessions_of_three_lose_nothing_and_the_removed_open_nothing():
    result = asyncio.run(group_load.run(group_load.parse(["--sessions", "3", "--seconds", "3", "--no-pin"])))
    assert result["frames_sent"] > 500 and result["deliveries_expected"] > 500
    assert result["lost"] == 0
    assert result["removed_opened"] == 0 and result["post_removal_frames_tried"] > 0
    assert result["rekey_ms_max"] is not None and result["refused"] == 0
