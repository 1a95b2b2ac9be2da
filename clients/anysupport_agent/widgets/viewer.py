"""The viewer (영상): the customer's live video with its toolbar, drawing, chat and guidance.

The toolbar follows the manual: zoom ±10 %, rotate 90° clockwise (agent side only), pause/resume,
quality, flash, focus (click a point), camera switch, speakerphone, 상담원 화면 보기, recording
(customer only / whole view, pause, stop) and capture. What the customer's device cannot do is
greyed out with a tooltip saying why (``capabilities``); buttons show the device's truth
(``camera_state``). The status line shows the security code (SAS), bitrate, frame rate, latency,
and the picture says "reconnecting" when the customer drops.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from anysupport_qt import (
    QButtonGroup,
    QCheckBox,
    QColor,
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QKeySequence,
    QLabel,
    QSpinBox,
    QSplitter,
    Qt,
    QTimer,
    QToolButton,
    QVBoxLayout,
    QWidget,
    rgb_from_image,
)

from ..capture import save_capture
from ..models.phrases import PhrasesModel
from ..recorder import recording_name
from ..settings import BACKGROUNDS, Settings
from ..texts import Texts
from ..transform import MAX_ZOOM_STEPS, MIN_ZOOM_STEPS
from .chat_panel import ChatPanel
from .common import MessageLine, OpenFolder
from .video_view import SHAPES, VideoView

COLOURS = ("#ff0000", "#ffd400", "#00c853", "#2979ff", "#ffffff", "#000000")
QUALITIES = ("high", "medium", "low")
RECORD_FPS = 10


def _button(text: str, *, checkable: bool = False) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setCheckable(checkable)
    button.setToolButtonStyle(Qt.ToolButtonTextOnly)
    return button


class ViewerWindow(QWidget):
    def __init__(self, *, texts: Texts, settings: Settings, bridge, phrases: PhrasesModel, open_folder: OpenFolder,
                 font_family: str | None = None, parent=None):
        super().__init__(parent)
        self.texts = texts
        self.settings = settings
        self.bridge = bridge
        self.open_folder = open_folder
        self.session_id: str | None = None
        self.session: dict[str, Any] = {}
        self.zoom_steps = 0
        self.quarter_turns = 0
        self.state = ""
        self.recording: str | None = None  # "customer" | "view"
        self.last_saved: Path | None = None
        self.resize(1180, 760)
        t = texts
        self.view = VideoView(ask_text=lambda parent: self._ask_text(parent))
        self.view.font_family = font_family
        self.view.resized.connect(self._view_resized)
        self.view.focus_clicked.connect(self._focus)
        self.view.item_drawn.connect(self._drawn)
        bridge.rendered.connect(self._show_rendered)
        # -- the toolbar -------------------------------------------------------------------------------------
        self.zoom_in_button = _button("＋ " + t("zoom_in"))
        self.zoom_out_button = _button("－ " + t("zoom_out"))
        self.rotate_button = _button("↻ " + t("rotate"))
        self.pause_button = _button(t("pause"), checkable=True)
        self.quality = QComboBox()
        for level in QUALITIES:
            self.quality.addItem(t(level), level)
        self.quality.setCurrentIndex(1)
        self.quality.setToolTip(t("quality"))
        self.flash_button = _button(t("flash"), checkable=True)
        self.focus_button = _button(t("focus"), checkable=True)
        self.focus_button.setToolTip(t("focus_hint"))
        self.switch_button = _button(t("camera_switch"))
        self.speaker_button = _button(t("speakerphone"), checkable=True)
        self.agent_video_button = _button(t("agent_video"), checkable=True)
        self.record_customer_button = _button("● " + t("record_customer"))
        self.record_screen_button = _button("● " + t("record_screen"))
        self.record_pause_button = _button(t("record_pause"), checkable=True)
        self.record_stop_button = _button("■ " + t("record_stop"))
        self.capture_button = _button(t("capture"))
        self.capture_drawings = QCheckBox(t("capture_drawings"))
        self.capture_drawings.setChecked(True)
        bar1 = QHBoxLayout()
        for w in (self.zoom_in_button, self.zoom_out_button, self.rotate_button, self.pause_button, self.quality,
                  self.flash_button, self.focus_button, self.switch_button, self.speaker_button,
                  self.agent_video_button):
            bar1.addWidget(w)
        bar1.addStretch(1)
        bar2 = QHBoxLayout()
        for w in (self.record_customer_button, self.record_screen_button, self.record_pause_button,
                  self.record_stop_button, self.capture_button, self.capture_drawings):
            bar2.addWidget(w)
        bar2.addStretch(1)
        # -- drawing ---------------------------------------------------------------------------------------------
        bar3 = QHBoxLayout()
        self.draw_label = QLabel(t("draw"))
        bar3.addWidget(self.draw_label)
        self.shape_group = QButtonGroup(self)
        self.shape_group.setExclusive(False)
        self.shape_buttons: dict[str, QToolButton] = {}
        for shape in SHAPES:
            button = _button(t(f"shape_{shape}"), checkable=True)
            self.shape_group.addButton(button)
            self.shape_buttons[shape] = button
            button.toggled.connect(functools.partial(self._shape_toggled, shape))
            bar3.addWidget(button)
        self.thickness = QSpinBox()
        self.thickness.setRange(1, 32)
        self.thickness.setValue(4)
        self.thickness.setToolTip(t("thickness"))
        self.thickness.setPrefix(t("thickness") + " ")
        bar3.addWidget(self.thickness)
        self.colour_buttons: dict[str, QToolButton] = {}
        for colour in COLOURS:
            button = QToolButton()
            button.setCheckable(True)
            button.setToolTip(t("colour"))
            button.setStyleSheet(f"QToolButton {{ background: {colour}; min-width: 16px; min-height: 16px; }}"
                                 f"QToolButton:checked {{ border: 2px solid #1a73e8; }}")
            button.clicked.connect(functools.partial(self.set_colour, colour))
            self.colour_buttons[colour] = button
            bar3.addWidget(button)
        self.undo_button = _button(t("undo"))
        self.clear_button = _button(t("clear"))
        bar3.addWidget(self.undo_button)
        bar3.addWidget(self.clear_button)
        bar3.addStretch(1)
        self.set_colour(COLOURS[0])
        # -- the status line ----------------------------------------------------------------------------------------
        self.sas_label = QLabel()
        self.sas_label.setToolTip(t("sas_tip"))
        self.sas_label.setStyleSheet("font-weight: bold; font-size: 15px;")
        self.stats_label = QLabel()
        self.rec_label = QLabel(t("recording_on"))
        self.rec_label.setStyleSheet("color: #c5221f; font-weight: bold;")
        self.rec_label.hide()
        self.message = MessageLine()
        status = QHBoxLayout()
        status.addWidget(self.sas_label)
        status.addSpacing(20)
        status.addWidget(self.stats_label)
        status.addSpacing(20)
        status.addWidget(self.rec_label)
        status.addStretch(1)
        # -- the panel -------------------------------------------------------------------------------------------------
        self.panel = ChatPanel(texts=texts, bridge=bridge, phrases=phrases)
        self.panel.send_chat.connect(self._chat)
        self.panel.send_guide.connect(self._guide)
        self.panel.setMinimumWidth(330)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self.view)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar1)
        layout.addLayout(bar2)
        layout.addLayout(bar3)
        layout.addWidget(splitter, 1)
        layout.addLayout(status)
        layout.addWidget(self.message)
        # -- wiring -----------------------------------------------------------------------------------------------------
        self.zoom_in_button.clicked.connect(lambda: self.zoom(1))
        self.zoom_out_button.clicked.connect(lambda: self.zoom(-1))
        self.rotate_button.clicked.connect(self.rotate)
        self.pause_button.toggled.connect(self._pause)
        self.quality.activated.connect(lambda i: self._camera("quality", level=QUALITIES[i]))
        self.flash_button.toggled.connect(lambda on: self._camera("flash", on=on))
        self.focus_button.toggled.connect(self._focus_mode)
        self.switch_button.clicked.connect(self._switch)
        self.speaker_button.toggled.connect(lambda on: self._call("speakerphone", on))
        self.agent_video_button.toggled.connect(self._agent_video)
        self.record_customer_button.clicked.connect(lambda: self.start_recording("customer"))
        self.record_screen_button.clicked.connect(lambda: self.start_recording("view"))
        self.record_pause_button.toggled.connect(self._record_pause)
        self.record_stop_button.clicked.connect(self.stop_recording)
        self.capture_button.clicked.connect(self.capture)
        self.thickness.valueChanged.connect(lambda v: setattr(self.view, "width_px", v))
        self.undo_button.clicked.connect(lambda: self._annotate("undo"))
        self.clear_button.clicked.connect(lambda: self._annotate("clear"))
        self.record_timer = QTimer(self)
        self.record_timer.setInterval(1000 // RECORD_FPS)
        self.record_timer.timeout.connect(self._record_frame)
        settings.listeners.append(self._setting_changed)
        self._apply_settings()
        self._recording_buttons()
        self.set_session(None)

    # -- the session ------------------------------------------------------------------------------------------------
    def set_session(self, session: dict[str, Any] | None) -> None:
        if self.recording:
            self.stop_recording()
        self.session = dict(session or {})
        self.session_id = self.session.get("id")
        self.bridge.call(self.bridge.view, self.session_id)
        self.view.clear_picture()
        self.zoom_steps = self.quarter_turns = 0
        self.bridge.renderer.set_view(zoom_steps=0, quarter_turns=0, widget_size=(self.view.width(), self.view.height()))
        self.sas_label.setText("")
        self.stats_label.setText("")
        for button in (self.pause_button, self.flash_button, self.speaker_button, self.agent_video_button):
            button.blockSignals(True)
            button.setChecked(False)
            button.blockSignals(False)
        self.quality.setCurrentIndex(1)
        self._set_controls(session is not None)
        if session is None:
            self.setWindowTitle(self.texts("viewer"))
            self.view.set_notice(self.texts("no_session"))
            self.panel.chat_model.reset([])
            return
        self.setWindowTitle(f"{self.texts('viewer')} - {self.texts('col_code')} {self.session.get('code', '')}")
        self.view.set_notice(self.texts("waiting_video"))
        self.panel.chat_model.reset(self.bridge.client.live_sessions[self.session_id].chat
                                    if self.session_id in self.bridge.client.live_sessions else [])
        known = self.bridge.client.live_sessions.get(self.session_id)
        if known is not None:
            if known.sas_display:
                self.on_keys({"sas_display": known.sas_display})
            if known.capabilities:
                self.on_capabilities(known.capabilities)

    def _set_controls(self, on: bool) -> None:
        """Without a session nothing can be sent: every command is greyed (capabilities refine it later)."""
        controls = [self.pause_button, self.quality, self.flash_button, self.focus_button, self.switch_button,
                    self.speaker_button, self.agent_video_button, self.record_customer_button,
                    self.record_screen_button, self.capture_button, self.undo_button, self.clear_button,
                    *self.shape_buttons.values(), self.panel.chat_edit, self.panel.send_button,
                    *self.panel.direction_buttons.values()]
        for widget in controls:
            widget.setEnabled(on)
        if not on:
            self.record_pause_button.setEnabled(False)
            self.record_stop_button.setEnabled(False)

    # -- what the client tells ---------------------------------------------------------------------------------------
    def on_event(self, name: str, data: dict[str, Any]) -> None:
        if data.get("session_id") not in (None, self.session_id) and name != "session":
            return
        if name == "keys":
            self.on_keys(data)
        elif name == "capabilities":
            self.on_capabilities(data)
        elif name == "camera_state":
            self.on_camera_state(data)
        elif name == "chat":
            self.panel.chat_model.append(data)
            self.panel.chat_view.scrollToBottom()
        elif name == "stats":
            figures = {"kbps": data.get("kbps", 0), "fps": data.get("fps", 0)}
            if data.get("latency_ms") is None:  # no round trip measured yet
                self.stats_label.setText(self.texts("link_stats_no_rtt", **figures))
            else:
                self.stats_label.setText(self.texts("link_stats", ms=data["latency_ms"], **figures))
        elif name == "voice_error":
            self.message.show_error(self.texts("voice_unavailable"))
        elif name == "peer":
            if data.get("status") == "reconnecting":
                self.view.set_notice(self.texts("customer_reconnecting"))
            elif data.get("status") in ("back", "joined"):
                self.view.set_notice("" if self.view.image is not None else self.texts("waiting_video"))
        elif name == "session" and data["session"].get("id") == self.session_id:
            self.state = data["session"].get("state", "")
            if self.state == "expired":
                if self.recording:
                    self.stop_recording()
                self.view.set_notice(self.texts("session_ended"))

    def on_keys(self, data: dict[str, Any]) -> None:
        self.sas_label.setText(self.texts("sas", sas=data.get("sas_display") or data.get("sas", "")))

    def on_capabilities(self, caps: dict[str, Any]) -> None:
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
        model = self.quality.model()
        for i, level in enumerate(QUALITIES):
            item = model.item(i)
            item.setEnabled(level in qualities)
            item.setToolTip(t(level) if level in qualities else t("cap_no_quality"))

    def on_camera_state(self, state: dict[str, Any]) -> None:
        for button, key in ((self.flash_button, "flash"), (self.speaker_button, "speakerphone")):
            if key in state:
                button.blockSignals(True)
                button.setChecked(bool(state[key]))
                button.blockSignals(False)
        if "video" in state:
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(not state["video"])
            self.pause_button.setText(self.texts("resume") if not state["video"] else self.texts("pause"))
            self.pause_button.blockSignals(False)
            self.view.set_notice("" if state["video"] else self.texts("video_paused"))
        if state.get("quality") in QUALITIES:
            self.quality.setCurrentIndex(QUALITIES.index(state["quality"]))
        if state.get("width") and state.get("height"):
            self.view.frame_size = (state["width"], state["height"])

    # -- the picture ------------------------------------------------------------------------------------------------
    def _show_rendered(self, rendered) -> None:
        self.bridge.painted()
        if self.session_id is None:
            return
        if self.view.image is None and self.view.notice == self.texts("waiting_video"):
            self.view.set_notice("")
        self.view.show_rendered(rendered)

    def _view_resized(self, width: int, height: int) -> None:
        self.bridge.renderer.set_view(widget_size=(width, height))
        self.bridge.rerender()

    def zoom(self, steps: int) -> None:
        self.zoom_steps = min(MAX_ZOOM_STEPS, max(MIN_ZOOM_STEPS, self.zoom_steps + steps))
        self.bridge.renderer.set_view(zoom_steps=self.zoom_steps)
        self.bridge.rerender()

    def rotate(self) -> None:
        self.quarter_turns = (self.quarter_turns + 1) % 4
        self.bridge.renderer.set_view(quarter_turns=self.quarter_turns)
        self.bridge.rerender()

    # -- commands ---------------------------------------------------------------------------------------------------
    def _call(self, method: str, *args: Any, **kw: Any) -> None:
        if self.session_id is not None:
            self.bridge.call(functools.partial(getattr(self.bridge.client, method), self.session_id, *args, **kw))

    def _camera(self, command: str, **fields: Any) -> None:
        self._call("camera", command, **fields)

    def _pause(self, paused: bool) -> None:
        self.pause_button.setText(self.texts("resume") if paused else self.texts("pause"))
        self._camera("video", on=not paused)

    def _switch(self) -> None:
        facing = self.bridge.client.live_sessions[self.session_id].camera_state.get("facing", "back") \
            if self.session_id in self.bridge.client.live_sessions else "back"
        self._camera("switch", facing="front" if facing == "back" else "back")

    def _focus_mode(self, on: bool) -> None:
        self.view.focus_mode = on
        if on:
            for button in self.shape_buttons.values():
                button.setChecked(False)
        self.view.setCursor(Qt.CrossCursor if on else Qt.ArrowCursor)

    def _focus(self, x: float, y: float) -> None:
        self._camera("focus", x=round(x, 5), y=round(y, 5))

    def _agent_video(self, on: bool) -> None:
        if self.session_id is not None:
            self.bridge.submit(self.bridge.client.agent_video(self.session_id, on))

    def _chat(self, text: str) -> None:
        self._call("chat", text)

    def _guide(self, direction: str) -> None:
        self._call("guide", direction)

    def _annotate(self, op: str, item: dict[str, Any] | None = None) -> None:
        self._call("annotate", op, item)
        self.bridge.rerender()

    def _drawn(self, item: dict[str, Any]) -> None:
        # widths are pixels of the picture as the customer sends it, the frame the transform maps to
        self._annotate("add", item)

    def _shape_toggled(self, shape: str, on: bool) -> None:
        if on:
            for other, button in self.shape_buttons.items():
                if other != shape and button.isChecked():
                    button.setChecked(False)
            self.focus_button.setChecked(False)
            self.view.shape = shape
        elif self.view.shape == shape:
            self.view.shape = None

    def set_colour(self, colour: str) -> None:
        self.view.color = colour
        for c, button in self.colour_buttons.items():
            button.setChecked(c == colour)

    def _ask_text(self, parent) -> str | None:
        text, ok = QInputDialog.getText(parent, self.texts("shape_text"), self.texts("text_prompt"))
        return text if ok and text.strip() else None

    # -- canned phrases by shortcut -----------------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:  # noqa: N802
        modifiers = int(event.modifiers()) & int(Qt.ControlModifier | Qt.AltModifier | Qt.ShiftModifier)
        is_f_key = Qt.Key_F1 <= event.key() <= Qt.Key_F12
        if modifiers or is_f_key:
            shortcut = QKeySequence(modifiers | event.key()).toString()
            phrase = self.panel.phrases.by_shortcut(shortcut)
            if phrase is not None:
                self._chat(phrase["text"])
                event.accept()
                return
        super().keyPressEvent(event)

    # -- recording and capture ------------------------------------------------------------------------------------------
    def _recording_buttons(self) -> None:
        on = self.recording is not None
        self.record_customer_button.setEnabled(not on)
        self.record_screen_button.setEnabled(not on)
        self.record_stop_button.setEnabled(on)
        self.record_pause_button.setEnabled(self.recording == "view")
        self.rec_label.setVisible(on)

    def start_recording(self, kind: str) -> Path | None:
        if self.session_id is None or self.recording is not None:
            return None
        folder = Path(self.settings["record_folder"])
        path = folder / recording_name(kind, self.session.get("code", "0000"))
        self.bridge.start_recording(kind, path)
        self.recording = kind
        if kind == "view":
            self.record_timer.start()
        self._recording_buttons()
        return path

    def _record_frame(self) -> None:
        self.bridge.record_frame(rgb_from_image(self.grab().toImage()))

    def _record_pause(self, paused: bool) -> None:
        recorder = self.bridge.view_recorder
        if recorder is None:
            return
        self.record_pause_button.setText(self.texts("record_resume") if paused else self.texts("record_pause"))
        self.bridge.call(recorder.pause if paused else recorder.resume)

    def stop_recording(self) -> None:
        kind, self.recording = self.recording, None
        self.record_timer.stop()
        self.record_pause_button.blockSignals(True)
        self.record_pause_button.setChecked(False)
        self.record_pause_button.setText(self.texts("record_pause"))
        self.record_pause_button.blockSignals(False)
        self._recording_buttons()
        if kind is not None:
            self.bridge.stop_recording("customer" if kind == "customer" else "view", self._recording_saved)

    def _recording_saved(self, path: Path | None) -> None:
        if path is None:
            self.message.show_error(self.texts("no_frame"))
            return
        self.last_saved = path
        self.message.show_info(self.texts("recording_saved", path=str(path)))
        self.open_folder(path.parent)

    def capture(self) -> Path | None:
        renderer = self.bridge.renderer
        with renderer.lock:
            rgb = renderer.last_drawn if self.capture_drawings.isChecked() else renderer.last_rgb
            rgb = None if rgb is None else rgb.copy()
        if rgb is None:
            self.message.show_error(self.texts("no_frame"))
            return None
        path = save_capture(rgb, Path(self.settings["capture_folder"]), self.session.get("code", "0000"),
                            drawings=self.capture_drawings.isChecked())
        self.last_saved = path
        self.message.show_info(self.texts("capture_saved", path=str(path)))
        return path

    # -- settings ------------------------------------------------------------------------------------------------------
    def _setting_changed(self, name: str, _value: Any) -> None:
        if name in ("background", "guidance_panel"):
            self._apply_settings()

    def _apply_settings(self) -> None:
        self.view.background = QColor(BACKGROUNDS[self.settings["background"]])
        self.panel.setVisible(self.settings["guidance_panel"])
        self.view.update()

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.recording:
            self.stop_recording()
        super().closeEvent(event)
