"""The viewer's toolbar pieces alone (offscreen widgets, no server): what they say and what they show."""

from __future__ import annotations

from pathlib import Path

from anysupport_agent.recording_control import RECORD_FPS, RecordingControl
from anysupport_agent.texts import Texts
from anysupport_agent.widgets.toolbars import CameraBar, DrawingBar, RecordingBar, ViewBar

KO = Texts("ko")


def test_the_view_bar_says_zoom_steps_and_turns(qtbot):
    bar = ViewBar(KO)
    qtbot.addWidget(bar)
    said = []
    bar.zoom.connect(lambda steps: said.append(("zoom", steps)))
    bar.rotate.connect(lambda: said.append(("rotate",)))
    bar.zoom_in_button.click()
    bar.zoom_out_button.click()
    bar.rotate_button.click()
    assert said == [("zoom", 1), ("zoom", -1), ("rotate",)]


def test_the_camera_bar_sends_commands_but_only_shows_the_devices_state(qtbot):
    bar = CameraBar(KO)
    qtbot.addWidget(bar)
    said = []
    for name in ("video", "quality", "flash", "speakerphone", "agent_video", "focus_mode"):
        getattr(bar, name).connect(lambda value, name=name: said.append((name, value)))
    bar.switch.connect(lambda: said.append(("switch",)))
    bar.reset(True)
    bar.pause_button.click()
    assert said[-1] == ("video", False) and bar.pause_button.text() == KO("resume")
    bar.pause_button.click()
    bar.quality_box.activated.emit(2)
    bar.flash_button.click()
    bar.switch_button.click()
    bar.focus_button.click()
    assert said[1:] == [("video", True), ("quality", "low"), ("flash", True), ("switch",), ("focus_mode", True)]

    said.clear()
    bar.show_camera_state({"video": False, "flash": False, "speakerphone": True, "quality": "high"})
    assert said == []  # the device's truth is not a command
    assert bar.pause_button.isChecked() and bar.pause_button.text() == KO("resume")
    assert not bar.flash_button.isChecked() and bar.speaker_button.isChecked()
    assert bar.quality_box.currentData() == "high"

    bar.show_capabilities({"flash": False, "focus": True, "cameras": ["back"], "qualities": ["medium", "low"]})
    assert not bar.flash_button.isEnabled() and bar.flash_button.toolTip() == KO("cap_no_flash")
    assert bar.focus_button.isEnabled()
    assert not bar.switch_button.isEnabled() and bar.switch_button.toolTip() == KO("cap_one_camera")
    assert not bar.speaker_button.isEnabled() and bar.speaker_button.toolTip() == KO("cap_no_speakerphone")
    high = bar.quality_box.model().item(0)
    assert not high.isEnabled() and high.toolTip() == KO("cap_no_quality")

    bar.reset(False)  # no session: nothing on, nothing can be pressed
    assert said == [] and not bar.pause_button.isChecked() and bar.pause_button.text() == KO("pause")
    assert bar.quality_box.currentData() == "medium"
    assert not any(w.isEnabled() for w in (bar.pause_button, bar.quality_box, bar.agent_video_button))


def test_the_drawing_bar_has_one_shape_at_a_time_and_a_colour(qtbot):
    bar = DrawingBar(KO)
    qtbot.addWidget(bar)
    shapes, colours, widths = [], [], []
    bar.shape.connect(shapes.append)
    bar.colour.connect(colours.append)
    bar.width_changed.connect(widths.append)
    bar.shape_buttons["rect"].click()
    bar.shape_buttons["arrow"].click()
    assert shapes == ["rect", "arrow"] and bar.chosen == "arrow" and not bar.shape_buttons["rect"].isChecked()
    bar.shape_buttons["arrow"].click()  # pressed again: not drawing
    assert shapes[-1] is None and bar.chosen is None
    bar.shape_buttons["stroke"].click()
    bar.stop_drawing()
    assert shapes[-1] is None and not any(b.isChecked() for b in bar.shape_buttons.values())
    bar.colour_buttons["#2979ff"].click()
    assert colours == ["#2979ff"] and bar.current_colour == "#2979ff"
    assert [c for c, b in bar.colour_buttons.items() if b.isChecked()] == ["#2979ff"]
    bar.thickness.setValue(9)
    assert widths == [9]


def test_the_recording_bar_follows_the_control_and_paces_the_grabs(qtbot, tmp_path):
    control = RecordingControl(lambda: Path(tmp_path))
    bar = RecordingBar(KO)
    qtbot.addWidget(bar)
    said = []
    bar.start.connect(lambda kind: said.append(("start", kind)))
    bar.stop.connect(lambda: said.append(("stop",)))
    bar.capture.connect(lambda: said.append(("capture",)))
    bar.show_control(control, False)
    assert not bar.record_customer_button.isEnabled() and not bar.capture_button.isEnabled()
    bar.show_control(control, True)
    bar.record_screen_button.click()
    bar.capture_button.click()
    assert said == [("start", "view"), ("capture",)]
    control.start("view", "1234")
    bar.show_control(control, True)
    assert bar.grab_timer.isActive() and bar.grab_timer.interval() == 1000 // RECORD_FPS
    assert bar.record_pause_button.isEnabled() and not bar.record_customer_button.isEnabled()
    with qtbot.wait_signal(bar.frame_due, timeout=2000):
        pass
    paused = []
    bar.pause.connect(paused.append)
    bar.record_pause_button.click()
    assert paused == [True]
    control.pause(True)
    bar.show_control(control, True)
    assert bar.record_pause_button.isChecked() and bar.record_pause_button.text() == KO("record_resume")
    assert paused == [True]  # showing the state is not a command
    bar.record_stop_button.click()
    control.stop()
    bar.show_control(control, True)
    assert said[-1] == ("stop",) and not bar.grab_timer.isActive()
    assert not bar.record_pause_button.isChecked() and bar.record_pause_button.text() == KO("record_pause")
    assert bar.record_customer_button.isEnabled() and not bar.record_stop_button.isEnabled()


def test_a_video_the_customer_stopped_is_asked_for_not_started(qtbot):
    """#17.6: the customer's stop wins; the agent's button asks, and says so."""
    bar = CameraBar(KO)
    qtbot.addWidget(bar)
    said = []
    bar.video.connect(lambda on: said.append(on))
    bar.reset(True)
    bar.show_camera_state({"video": False, "video_paused_by": "customer"})
    assert bar.pause_button.isChecked() and bar.pause_button.text() == KO("ask_video") == "영상 요청"
    assert bar.pause_button.toolTip() == KO("ask_video_tip")
    bar.pause_button.click()  # the request: the customer's page shows it, camera_state stays off
    assert said == [True]
    bar.show_camera_state({"video": False, "video_paused_by": "customer"})
    assert bar.pause_button.isChecked() and bar.pause_button.text() == KO("ask_video")
    bar.show_camera_state({"video": True})  # the customer turned it on
    assert not bar.pause_button.isChecked() and bar.pause_button.text() == KO("pause") == bar.pause_button.toolTip()
    bar.show_camera_state({"video": False, "video_paused_by": "agent"})
    assert bar.pause_button.text() == KO("resume")
