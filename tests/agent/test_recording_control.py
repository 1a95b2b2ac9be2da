"""The viewer's recording rules: one recording at a time, its file's name, pause for the whole view only (no Qt)."""

import time
from pathlib import Path

import pytest
from anysupport_agent.recording_control import RecordingControl


def test_one_recording_at_a_time_named_by_code_kind_and_the_clocks_time(tmp_path):
    folders = [tmp_path / "first"]
    when = time.mktime((2025, 5, 17, 21, 16, 54, 0, 0, -1))
    control = RecordingControl(lambda: folders[0], clock=lambda: when)
    assert not control.running and control.enabled(True) == {"customer": True, "view": True, "pause": False,
                                                              "stop": False}
    assert control.enabled(False) == {"customer": False, "view": False, "pause": False, "stop": False}
    path = control.start("customer", "1675")
    assert path == tmp_path / "first" / "AnySupport-1675-customer-20250517-211654.mp4"
    assert control.running and control.kind == "customer" and not control.grabbing and control.path == path
    assert control.enabled(True) == {"customer": False, "view": False, "pause": False, "stop": True}
    assert control.start("view", "1675") is None and control.kind == "customer"  # one at a time
    assert not control.pause(True) and not control.paused  # the customer-only recording has no pause
    assert control.stop() == "customer" and not control.running and control.path is None
    assert control.stop() is None  # nothing runs: nothing to stop

    folders[0] = tmp_path / "changed"  # 설정 changed the folder: the next recording goes there
    path = control.start("view", None)
    assert path == Path(tmp_path / "changed" / "AnySupport-0000-view-20250517-211654.mp4")
    assert control.grabbing and control.enabled(True)["pause"] and control.enabled(True)["stop"]
    assert control.pause(True) and control.paused and control.grabbing  # paused grabs are the recorder's to drop
    assert control.pause(False) and not control.paused
    control.pause(True)
    assert control.stop() == "view" and not control.paused and not control.grabbing
    with pytest.raises(ValueError):
        control.start("screen", "1675")
