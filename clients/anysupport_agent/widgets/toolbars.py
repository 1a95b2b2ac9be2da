"""The viewer's toolbars, one piece per group: the view, the customer's camera, drawing, recording.

Each bar is a row of buttons that says what the agent pressed with its own signals and shows what it
is told (the device's capabilities and state, the recording control); none of them talks to the
network. The viewer composes them and wires them to the bridge.

- ``ViewBar`` (the agent's view only): 확대, 축소, 회전, 화면 멈춤 (freeze-frame: draw calmly, the drawings anchor
  on release).
- ``CameraBar`` (commands to the customer's device): 일시 정지 / 영상 시작, 화질, 플래시, 포커스, 카메라
  스위치, 스피커폰, 상담원 화면 보기. What the device cannot do is greyed out with a tooltip saying why.
- ``DrawingBar`` (그리기): the shapes, 굵기, the colours, 실행 취소, 모두 지우기.
- ``RecordingBar`` (녹화 and 영상 캡쳐): 고객영상만 녹화, 전체화면 녹화, 일시정지, 정지, 영상 캡쳐, 그리기 포함;
  it follows a ``RecordingControl`` and paces the whole-view grabs (``frame_due``).
"""

from __future__ import annotations

import functools
from typing import Any

from anysupport_qt import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSize,
    QSpinBox,
    Qt,
    QTimer,
    QToolButton,
    QWidget,
    icon,
    pyqtSignal,
)

from ..recording_control import RECORD_FPS, RecordingControl
from ..texts import Texts
from .video_view import SHAPES

COLOURS = ("#ff0000", "#ffd400", "#00c853", "#2979ff", "#ffffff", "#000000")
QUALITIES = ("high", "medium", "low")
DEFAULT_QUALITY = "medium"


class IconButton(QToolButton):
    """An action shown as its icon (``anysupport_qt.icon``), its text the tooltip: the text stays the
    button's ``text()`` (what it does now: 일시 정지 / 영상 시작 …), so a changed text changes the tooltip."""

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        if not self.property("own_tip"):
            super().setToolTip(text)

    def setToolTip(self, tip: str) -> None:  # noqa: N802 (Qt's name)
        """A reason (a greyed-out capability) replaces the text as the tooltip; an empty one gives it back."""
        self.setProperty("own_tip", bool(tip))
        super().setToolTip(tip or self.text())


def tool_button(text: str, *, checkable: bool = False, action: str | None = None) -> QToolButton:
    """A toolbar button: ``action``'s icon with the text as tooltip (issue 17 #24), else the text alone."""
    button = IconButton() if action else QToolButton()
    button.setText(text)
    button.setCheckable(checkable)
    if action:
        button.setIcon(icon(action))
        button.setIconSize(QSize(22, 22))
        button.setToolButtonStyle(Qt.ToolButtonIconOnly)
        button.setAutoRaise(True)
    else:
        button.setToolButtonStyle(Qt.ToolButtonTextOnly)
    return button


def set_quietly(button: QToolButton, checked: bool) -> None:
    """Show a state without it reading as the agent's command."""
    button.blockSignals(True)
    button.setChecked(checked)
    button.blockSignals(False)


class _Bar(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(2)  # icon buttons side by side: all four groups in one row at 1366 px wide

    def _add(self, *widgets: QWidget) -> None:
        for widget in widgets:
            self.row.addWidget(widget)


class ViewBar(_Bar):
    zoom = pyqtSignal(int)  # steps: +1 in, -1 out
    reset = pyqtSignal()  # the whole picture again: no zoom, no pan
    rotate = pyqtSignal()  # a quarter turn clockwise
    freeze = pyqtSignal(bool)  # freeze-frame on / off

    def __init__(self, texts: Texts, parent: QWidget | None = None):
        super().__init__(parent)
        self.texts = texts
        self.zoom_in_button = tool_button(texts("zoom_in"), action="zoom_in")
        self.zoom_out_button = tool_button(texts("zoom_out"), action="zoom_out")
        self.zoom_label = QLabel()
        self.zoom_label.setToolTip(texts("zoom_tip"))
        self.zoom_label.setMinimumWidth(self.zoom_label.fontMetrics().horizontalAdvance("1000 %") + 8)
        self.zoom_label.setAlignment(Qt.AlignCenter)
        self.reset_button = tool_button(texts("zoom_reset"), action="zoom_reset")
        self.reset_button.setToolTip(texts("zoom_reset_tip"))
        self.rotate_button = tool_button(texts("rotate"), action="rotate")
        self.freeze_button = tool_button(texts("freeze"), checkable=True, action="freeze")
        self._add(self.zoom_in_button, self.zoom_out_button, self.zoom_label, self.reset_button, self.rotate_button,
                  self.freeze_button)
        self.freeze_button.toggled.connect(self._freeze_toggled)
        self.zoom_in_button.clicked.connect(lambda: self.zoom.emit(1))
        self.zoom_out_button.clicked.connect(lambda: self.zoom.emit(-1))
        self.reset_button.clicked.connect(self.reset)
        self.rotate_button.clicked.connect(self.rotate)
        self.show_zoom(1.0)

    def _freeze_toggled(self, on: bool) -> None:
        self.freeze_button.setText(self.texts("freeze_release" if on else "freeze"))
        self.freeze.emit(on)

    def show_frozen(self, on: bool) -> None:
        """The button as the picture is (checked, and its text), without asking for a change."""
        set_quietly(self.freeze_button, on)
        self.freeze_button.setText(self.texts("freeze_release" if on else "freeze"))

    def show_zoom(self, zoom: float) -> None:
        """The zoom as a percentage of the fitted picture ("121 %")."""
        self.zoom_label.setText(self.texts("zoom_percent", percent=round(zoom * 100)))


class CameraBar(_Bar):
    video = pyqtSignal(bool)  # send the video (False: pause it)
    quality = pyqtSignal(str)  # high | medium | low
    flash = pyqtSignal(bool)
    focus_mode = pyqtSignal(bool)  # the next click on the picture is a focus point
    switch = pyqtSignal()
    speakerphone = pyqtSignal(bool)
    agent_video = pyqtSignal(bool)  # the agent's camera and voice to the customer

    def __init__(self, texts: Texts, parent: QWidget | None = None):
        super().__init__(parent)
        self.texts = t = texts
        self.pause_button = tool_button(t("pause"), checkable=True, action="pause")
        self.quality_box = QComboBox()
        for level in QUALITIES:
            self.quality_box.addItem(t(level), level)
        self.quality_box.setCurrentIndex(QUALITIES.index(DEFAULT_QUALITY))
        self.quality_box.setToolTip(t("quality"))
        self.flash_button = tool_button(t("flash"), checkable=True, action="flash")
        self.focus_button = tool_button(t("focus"), checkable=True, action="focus")
        self.focus_button.setToolTip(t("focus_hint"))
        self.switch_button = tool_button(t("camera_switch"), action="camera_switch")
        self.speaker_button = tool_button(t("speakerphone"), checkable=True, action="speakerphone")
        self.agent_video_button = tool_button(t("agent_video"), checkable=True, action="agent_video")
        self._add(self.pause_button, self.quality_box, self.flash_button, self.focus_button, self.switch_button,
                  self.speaker_button, self.agent_video_button)
        self.pause_button.toggled.connect(self._paused)
        self.quality_box.activated.connect(lambda i: self.quality.emit(QUALITIES[i]))
        self.flash_button.toggled.connect(self.flash)
        self.focus_button.toggled.connect(self.focus_mode)
        self.switch_button.clicked.connect(self.switch)
        self.speaker_button.toggled.connect(self.speakerphone)
        self.agent_video_button.toggled.connect(self.agent_video)

    def _paused(self, paused: bool) -> None:
        self.pause_button.setText(self.texts("resume") if paused else self.texts("pause"))
        self.video.emit(not paused)

    def reset(self, has_session: bool) -> None:
        """A new session (or none): nothing on, the default quality; without a session nothing can be pressed."""
        for button in (self.pause_button, self.flash_button, self.speaker_button, self.agent_video_button):
            set_quietly(button, False)
        self.pause_button.setText(self.texts("pause"))
        self.quality_box.setCurrentIndex(QUALITIES.index(DEFAULT_QUALITY))
        for widget in (self.pause_button, self.quality_box, self.flash_button, self.focus_button, self.switch_button,
                       self.speaker_button, self.agent_video_button):
            widget.setEnabled(has_session)

    def show_capabilities(self, caps: dict[str, Any]) -> None:
        t = self.texts

        def allow(widget, ok: bool, why: str, tip: str) -> None:
            widget.setEnabled(ok)
            widget.setToolTip(tip if ok else t(why))

        allow(self.flash_button, bool(caps.get("flash")), "cap_no_flash", t("flash"))
        allow(self.focus_button, bool(caps.get("focus")), "cap_no_focus", t("focus_hint"))
        allow(self.switch_button, len(caps.get("cameras", [])) >= 2, "cap_one_camera", t("camera_switch"))
        allow(self.speaker_button, bool(caps.get("speakerphone", caps.get("audio"))), "cap_no_speakerphone",
              t("speakerphone"))
        qualities = caps.get("qualities") or list(QUALITIES)
        model = self.quality_box.model()
        for i, level in enumerate(QUALITIES):
            item = model.item(i)
            item.setEnabled(level in qualities)
            item.setToolTip(t(level) if level in qualities else t("cap_no_quality"))

    def show_camera_state(self, state: dict[str, Any]) -> None:
        """The buttons follow the device's truth (``camera_state``), without sending anything."""
        for button, key in ((self.flash_button, "flash"), (self.speaker_button, "speakerphone")):
            if key in state:
                set_quietly(button, bool(state[key]))
        if "video" in state:
            set_quietly(self.pause_button, not state["video"])
            # the customer's stop wins (#17.6): starting it again is only a request the customer answers
            by_customer = state.get("video_paused_by") == "customer"
            self.pause_button.setText(self.texts("pause") if state["video"] else
                                      self.texts("ask_video") if by_customer else self.texts("resume"))
            self.pause_button.setToolTip(self.texts("ask_video_tip") if by_customer and not state["video"] else "")
        if state.get("quality") in QUALITIES:
            self.quality_box.setCurrentIndex(QUALITIES.index(state["quality"]))


class DrawingBar(_Bar):
    shape = pyqtSignal(object)  # the shape to draw, or None: not drawing
    colour = pyqtSignal(str)
    width_changed = pyqtSignal(int)  # pixels of the picture as the customer sends it
    undo = pyqtSignal()
    clear = pyqtSignal()

    def __init__(self, texts: Texts, parent: QWidget | None = None):
        super().__init__(parent)
        t = texts
        self.shape_group = QButtonGroup(self)
        self.shape_group.setExclusive(False)  # exclusive by hand: pressing the chosen shape again stops drawing
        self.shape_buttons: dict[str, QToolButton] = {}
        for shape in SHAPES:
            button = tool_button(t(f"shape_{shape}"), checkable=True, action=f"shape_{shape}")
            self.shape_group.addButton(button)
            self.shape_buttons[shape] = button
            button.toggled.connect(functools.partial(self._shape_toggled, shape))
            self._add(button)
        self.chosen: str | None = None
        self.thickness = QSpinBox()
        self.thickness.setRange(1, 32)
        self.thickness.setValue(4)
        self.thickness.setToolTip(t("thickness"))
        self.thickness.setSuffix(" px")  # the thickness, compact (its tooltip names it)
        self.thickness.valueChanged.connect(self.width_changed)
        self._add(self.thickness)
        self.colour_buttons: dict[str, QToolButton] = {}
        for colour in COLOURS:
            button = QToolButton()
            button.setCheckable(True)
            button.setToolTip(t("colour"))
            button.setStyleSheet(f"QToolButton {{ background: {colour}; min-width: 16px; min-height: 16px; }}"
                                 f"QToolButton:checked {{ border: 2px solid #1a73e8; }}")
            button.clicked.connect(functools.partial(self.set_colour, colour))
            self.colour_buttons[colour] = button
            self._add(button)
        self.undo_button = tool_button(t("undo"), action="undo")
        self.clear_button = tool_button(t("clear"), action="clear")
        self._add(self.undo_button, self.clear_button)
        self.undo_button.clicked.connect(self.undo)
        self.clear_button.clicked.connect(self.clear)
        self.current_colour = COLOURS[0]
        self.set_colour(COLOURS[0])

    def _shape_toggled(self, shape: str, on: bool) -> None:
        if on:
            self.chosen = shape  # first: the others' unchecking below then says nothing
            for other, button in self.shape_buttons.items():
                if other != shape and button.isChecked():
                    button.setChecked(False)
            self.shape.emit(shape)
        elif self.chosen == shape:
            self.chosen = None
            self.shape.emit(None)

    def stop_drawing(self) -> None:
        for button in self.shape_buttons.values():
            button.setChecked(False)

    def set_colour(self, colour: str) -> None:
        self.current_colour = colour
        for c, button in self.colour_buttons.items():
            button.setChecked(c == colour)
        self.colour.emit(colour)

    def set_session(self, has_session: bool) -> None:
        for widget in (self.undo_button, self.clear_button, *self.shape_buttons.values()):
            widget.setEnabled(has_session)


class RecordingBar(_Bar):
    start = pyqtSignal(str)  # customer | view
    pause = pyqtSignal(bool)
    stop = pyqtSignal()
    capture = pyqtSignal()
    frame_due = pyqtSignal()  # time to grab the viewer for the whole-view recording

    def __init__(self, texts: Texts, parent: QWidget | None = None):
        super().__init__(parent)
        self.texts = t = texts
        self.record_customer_button = tool_button(t("record_customer"), action="record_customer")
        self.record_screen_button = tool_button(t("record_screen"), action="record_screen")
        self.record_pause_button = tool_button(t("record_pause"), checkable=True, action="record_pause")
        self.record_stop_button = tool_button(t("record_stop"), action="record_stop")
        self.capture_button = tool_button(t("capture"), action="capture")
        self.capture_drawings = QCheckBox(t("capture_drawings"))
        self.capture_drawings.setChecked(True)
        self._add(self.record_customer_button, self.record_screen_button, self.record_pause_button,
                  self.record_stop_button, self.capture_button, self.capture_drawings)
        self.record_customer_button.clicked.connect(lambda: self.start.emit("customer"))
        self.record_screen_button.clicked.connect(lambda: self.start.emit("view"))
        self.record_pause_button.toggled.connect(self.pause)
        self.record_stop_button.clicked.connect(self.stop)
        self.capture_button.clicked.connect(self.capture)
        self.grab_timer = QTimer(self)
        self.grab_timer.setInterval(1000 // RECORD_FPS)
        self.grab_timer.timeout.connect(self.frame_due)

    def show_control(self, control: RecordingControl, has_session: bool) -> None:
        """The buttons, the pause button's face and the grabs as the recording control says."""
        enabled = control.enabled(has_session)
        self.record_customer_button.setEnabled(enabled["customer"])
        self.record_screen_button.setEnabled(enabled["view"])
        self.record_pause_button.setEnabled(enabled["pause"])
        self.record_stop_button.setEnabled(enabled["stop"])
        self.capture_button.setEnabled(has_session)
        set_quietly(self.record_pause_button, control.paused)
        self.record_pause_button.setText(self.texts("record_resume") if control.paused else self.texts("record_pause"))
        if control.grabbing and not self.grab_timer.isActive():
            self.grab_timer.start()
        elif not control.grabbing:
            self.grab_timer.stop()


__all__ = ["COLOURS", "QUALITIES", "CameraBar", "DrawingBar", "RecordingBar", "ViewBar", "tool_button"]
