"""The viewer (영상): the customer's live video with its toolbars, drawing, chat and guidance.

The window composes its pieces and wires them to the bridge: the toolbars, one per group
(``toolbars.ViewBar``: zoom ±10 % with its percentage and a reset, rotate 90° clockwise, freeze-frame
(``FREEZE_SHORTCUT``), agent side only; a drag pans the zoomed picture; ``CameraBar``: pause/resume,
quality, flash, focus (click a point), camera switch, speakerphone, 상담원 화면 보기; ``DrawingBar``;
``RecordingBar``: customer only / whole view, pause, stop, and capture), the recording rules
(``recording_control.RecordingControl``), the picture (``VideoView``) and the guidance panel
(``ChatPanel``). What the customer's device cannot do is greyed out with a tooltip saying why
(``capabilities``); buttons show the device's truth (``camera_state``). The status line shows the
security code (SAS), bitrate, frame rate, latency, and the picture says "reconnecting" when the
customer drops.

지원 종료 (beside the status line) ends the call with the protocol's ``end``. Closing the window of a
live call asks (``ask_end_call``): end the support, or keep the call (the window closes, the call goes
on, and 영상 보기 / a double-click in the session list opens it again). When the call is over the
picture keeps its last frame under "the call has ended", and chat, directions, drawing, camera commands
and recording are disabled (``ended``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from anysupport_client.participants import joined_and_left
from anysupport_qt import (
    QApplication,
    QColor,
    QHBoxLayout,
    QInputDialog,
    QKeySequence,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    Qt,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    rgb_from_image,
)

from ..capture import save_capture
from ..models.phrases import PhrasesModel
from ..recording_control import RecordingControl
from ..settings import BACKGROUNDS, Settings
from ..texts import Texts
from ..transform import MAX_ZOOM_STEPS, MIN_ZOOM_STEPS
from .chat_panel import ChatPanel
from .common import AskEndCall, MessageLine, OpenFolder, ask_end_call_dialog
from .invite import ParticipantsPanel
from .toolbars import CameraBar, DrawingBar, RecordingBar, ViewBar
from .video_view import VideoView

FREEZE_SHORTCUT = "Ctrl+Shift+F"  # 화면 멈춤; a canned phrase given the same keys wins


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """``width`` × ``height`` or less, so that the whole window (its frame too) is on the screen it opens on
    (a 1366×768 laptop: issue 17 #9)."""
    screen = window.screen() if hasattr(window, "screen") else None
    screen = screen or QApplication.primaryScreen()
    if screen is None:
        window.resize(width, height)
        return
    area = screen.availableGeometry()
    w, h = min(width, area.width() - 16), min(height, area.height() - 48)  # the frame and title bar
    w = max(w, min(window.minimumSizeHint().width(), area.width() - 2))  # (wider than asked if it must be)
    window.resize(max(w, 640), max(h, 480))
    window.move(area.x() + max(0, (area.width() - window.width()) // 2), area.y())


class ViewerWindow(QWidget):
    _rekey_waiting = False  # a rekey_limit wait is shown: the next keys agreed end it
    _pair_code: str | None = None  # version 2: the code of the pair with the customer shown for this session

    def __init__(self, *, texts: Texts, settings: Settings, bridge, phrases: PhrasesModel, open_folder: OpenFolder,
                 font_family: str | None = None, ask_end_call: AskEndCall | None = None,
                 record_form: QWidget | None = None, parent=None):
        super().__init__(parent)
        self.texts = texts
        self.ask_end_call = ask_end_call or ask_end_call_dialog(texts)
        self._closing_quietly = False
        self.settings = settings
        self.bridge = bridge
        self.open_folder = open_folder
        self.session_id: str | None = None
        self.session: dict[str, Any] = {}
        self.zoom_steps = 0
        self.quarter_turns = 0
        self.state = ""
        self.recording = RecordingControl(lambda: Path(self.settings["record_folder"]))
        self.last_saved: Path | None = None
        self.record_form = record_form  # the viewed session's record, written during the call (issue 17 #9)
        fit_to_screen(self, 1180, 760)
        self.view = VideoView(ask_text=lambda parent: self._ask_text(parent))
        self.view.font_family = font_family
        self.view.resized.connect(self._view_resized)
        self.view.focus_clicked.connect(self._focus)
        self.view.item_drawn.connect(self._drawn)
        self.view.pan_dragged.connect(self.pan)
        bridge.rendered.connect(self._show_rendered)
        self.view_bar = self._view_bar()
        self.camera_bar = self._camera_bar()
        self.drawing_bar = self._drawing_bar()
        self.record_bar = self._record_bar()
        self.panel = ChatPanel(texts=texts, bridge=bridge, phrases=phrases)
        self.panel.send_chat.connect(self._chat)
        self.panel.send_guide.connect(self._guide)
        self.panel.setMinimumWidth(330)
        self.participants = ParticipantsPanel(texts)
        self._left_myself = False  # 나가기 pressed here: the ``removed`` that follows is this agent's own doing
        self.participants.remove.connect(lambda index: setattr(self, "_left_myself", index == self.participants.you))
        self.message = MessageLine()
        self._lay_out()
        fit_to_screen(self, 1180, 760)  # again, with the tools laid out: centred at the width they need
        settings.listeners.append(self._setting_changed)
        self._apply_settings()
        self.set_session(None)

    # -- the pieces ---------------------------------------------------------------------------------------------------
    def _view_bar(self) -> ViewBar:
        bar = ViewBar(self.texts)
        bar.zoom.connect(self.zoom)
        bar.reset.connect(self.reset_view)
        bar.rotate.connect(self.rotate)
        bar.freeze.connect(self.freeze)
        return bar

    def _camera_bar(self) -> CameraBar:
        bar = CameraBar(self.texts)
        bar.video.connect(lambda on: self._camera("video", on=on))
        bar.quality.connect(lambda level: self._camera("quality", level=level))
        bar.flash.connect(lambda on: self._camera("flash", on=on))
        bar.focus_mode.connect(self._focus_mode)
        bar.switch.connect(self._switch)
        bar.speakerphone.connect(lambda on: self._call("speakerphone", on))
        bar.agent_video.connect(self._agent_video)
        return bar

    def _drawing_bar(self) -> DrawingBar:
        bar = DrawingBar(self.texts)
        bar.shape.connect(self._shape_chosen)
        bar.colour.connect(lambda colour: setattr(self.view, "color", colour))
        bar.width_changed.connect(lambda width: setattr(self.view, "width_px", width))
        bar.undo.connect(lambda: self._annotate("undo"))
        bar.clear.connect(lambda: self._annotate("clear"))
        self.view.color = bar.current_colour
        return bar

    def _record_bar(self) -> RecordingBar:
        bar = RecordingBar(self.texts)
        bar.start.connect(self.start_recording)
        bar.pause.connect(self._record_pause)
        bar.stop.connect(self.stop_recording)
        bar.capture.connect(self.capture)
        bar.frame_due.connect(self._record_frame)
        return bar

    def _lay_out(self) -> None:
        """One row of tools over the picture and the side panel, then the status line and the message."""
        self.sas_label = QLabel()
        self.sas_label.setToolTip(self.texts("sas_tip"))
        self.sas_label.setStyleSheet("font-weight: bold; font-size: 15px;")
        self.stats_label = QLabel()
        self.rec_label = QLabel(self.texts("recording_on"))
        self.rec_label.setStyleSheet("color: #c5221f; font-weight: bold;")
        self.rec_label.hide()
        self.end_button = QPushButton(self.texts("end_support"))
        self.end_button.setToolTip(self.texts("end_support_tip"))
        self.end_button.setStyleSheet("QPushButton:enabled { color: #c5221f; font-weight: bold; }")
        self.end_button.clicked.connect(self.end_support)
        status = QHBoxLayout()
        for widget in (self.sas_label, self.stats_label, self.rec_label):
            status.addWidget(widget)
            status.addSpacing(20)
        status.addStretch(1)
        status.addWidget(self.end_button)
        splitter = QSplitter(Qt.Horizontal)
        self.splitter = splitter
        splitter.addWidget(self.view)
        if self.record_form is not None:
            # beside the chat, the record of the call: written while watching, not behind the viewer
            self.side_tabs = QTabWidget()
            self.side_tabs.addTab(self.panel, self.texts("tab_guidance"))
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # the form takes the panel's width
            scroll.setWidget(self.record_form)
            self.side_tabs.addTab(scroll, self.texts("tab_record"))
            self.side_tabs.addTab(self.participants, self.texts("tab_participants"))
            self.side_tabs.currentChanged.connect(self._side_tab_changed)
            splitter.addWidget(self.side_tabs)
        else:
            self.side_tabs = QTabWidget()
            self.side_tabs.addTab(self.panel, self.texts("tab_guidance"))
            self.side_tabs.addTab(self.participants, self.texts("tab_participants"))
            splitter.addWidget(self.side_tabs)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        # one row of icon groups — view, camera, recording, drawing — each icon's text its tooltip (issue 17 #24)
        row = QHBoxLayout()
        for i, bar in enumerate((self.view_bar, self.camera_bar, self.record_bar, self.drawing_bar)):
            if i:
                row.addSpacing(14)
            row.addWidget(bar)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(splitter, 1)
        layout.addLayout(status)
        layout.addWidget(self.message)

    # -- the session ------------------------------------------------------------------------------------------------
    def _side_tab_changed(self, index: int) -> None:
        if index == 1 and self.record_form is not None and self.side_tabs.widget(1) is not self.participants:
            self.record_form.refresh()  # the draft may have changed in the main window's form meanwhile
            # the record wants more width than the chat: give it up to 42 % of the window
            total = sum(self.splitter.sizes())
            side = max(self.splitter.sizes()[1], min(int(total * 0.42), 480))
            self.splitter.setSizes([total - side, side])

    def set_session(self, session: dict[str, Any] | None) -> None:
        if self.recording.running:
            self.stop_recording()
        if self.view_bar.freeze_button.isChecked() and (session or {}).get("id") != self.session_id:
            self.freeze(False)
        if self.record_form is not None and (session or {}).get("id") != self.session_id:
            self.record_form.set_session(session)
        if (session or {}).get("id") != self.session_id:
            self._left_myself = False
        self.session = dict(session or {})
        self.session_id = self.session.get("id")
        self.state = self.session.get("state", "")
        self.bridge.call(self.bridge.view, self.session_id)
        self.view.clear_picture()
        self.zoom_steps = self.quarter_turns = 0
        self.bridge.renderer.set_view(zoom_steps=0, quarter_turns=0, pan=(0.0, 0.0),
                                      widget_size=(self.view.width(), self.view.height()))
        self.view_bar.show_zoom(1.0)
        self.sas_label.setText("")
        self._pair_code = None
        self.stats_label.setText("")
        self.view_only = self.session.get("rights") == "view"  # an agent invited (or supervising) to watch only
        self._set_controls(session is not None)
        self._show_participants()
        if self.record_form is not None:  # an invited agent writes no record: the call is its agent's
            self.side_tabs.setTabVisible(1, not self.session.get("guest"))
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
            self._pair_code = known.customer_code if self._speaks_version_2() else None
            if known.customer_code:  # version 2: the code of this console's pair with the customer
                self.on_keys({"sas_display": known.customer_code})
            if known.capabilities:
                self.on_capabilities(known.capabilities)

    def _set_controls(self, on: bool) -> None:
        """Without a session nothing can be sent: every command is greyed (capabilities refine it later).
        A view-only participant sends nothing at all: camera, voice, drawing, directions and chat stay greyed
        (the server refuses them anyway); only a guest's own local recording and captures remain."""
        sends = on and not getattr(self, "view_only", False)
        self.camera_bar.reset(on)
        self.camera_bar.setEnabled(sends)
        self.drawing_bar.set_session(sends)
        self.drawing_bar.setEnabled(sends)
        for bar in (self.camera_bar, self.drawing_bar):
            bar.setToolTip("" if sends or not on else self.texts("view_only_tip"))
        self.record_bar.show_control(self.recording, on)
        for widget in (self.panel.chat_edit, self.panel.send_button, *self.panel.direction_buttons.values()):
            widget.setEnabled(sends)
        self.end_button.setEnabled(on and not self.session.get("guest"))  # the call is its agent's to end
        self.participants.invite_button.setEnabled(on and not self.session.get("guest"))  # and to invite into
        if not sends:
            self.view.shape = None
            self.view.focus_mode = False
        if not on and self.view_bar.freeze_button.isChecked():  # freezing is local: a watcher may freeze too
            self.freeze(False)

    def _show_participants(self, data: dict[str, Any] | None = None) -> None:
        """The participants tab from the client's live session; on a new list, a notice per join and leave."""
        if self.session_id is None:
            self.participants.show_participants([], None, {})
            return
        found, you, codes = self.bridge.client.participants(self.session_id)
        self.panel.chat_model.set_participants(self.session_id, found, you)  # chat lines name their writers
        # the first list of a call that had two: its customer and agent were there already
        before = self.participants.participants or [p for p in found if p.get("role") in ("customer", "agent")]
        if data is not None:
            joined, left = joined_and_left(before, found)
            joined = [p for p in joined if p["index"] != you]
            notices = [self.texts("participant_joined", name=p.get("name") or "",
                                  role=self.texts(f'role_{p.get("role", "guest")}')) for p in joined]
            notices += [self.texts("participant_left", name=p.get("name") or "") for p in left]
            if notices:
                self.message.show_info(" ".join(notices))
        self.participants.show_participants(found, you, codes)

    # -- what the client tells ---------------------------------------------------------------------------------------
    def on_event(self, name: str, data: dict[str, Any]) -> None:
        if data.get("session_id") not in (None, self.session_id) and name != "session":
            return
        if name == "keys":
            if not self._speaks_version_2():  # in version 2 the code shown is the pair's with the customer
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
        elif name == "guest_socket" and data.get("status") == "failed":  # its session on another node: unreachable
            self.message.show_error(self.texts("guest_socket_failed"))
        elif name == "microphone_error":
            self.message.show_error(self.texts("microphone_unavailable"))
        elif name == "key_exchange_failed" and data.get("reason") == "rekey_limit":
            self.message.show_error(self.texts("rekey_limited", seconds=data.get("retry_after") or 0))
            self._rekey_waiting = True
        elif name == "peer" and self.state != "expired":  # after the end the notice says so, whatever follows
            if data.get("status") == "reconnecting":
                self.view.set_notice(self.texts("customer_reconnecting"))
            elif data.get("status") in ("back", "joined"):
                self.view.set_notice("" if self.view.image is not None else self.texts("waiting_video"))
        elif name == "participants":
            self._show_participants(data)
        elif name == "pair_keys":
            self._show_participants()
            if data.get("peer") == 0:  # the code the customer compares (sealed from the start, or with guests)
                # a new pair with the customer (its page reloaded): announced as a changed code, as in version 1
                changed = self._pair_code is not None and data.get("sas_display") != self._pair_code
                self._pair_code = data.get("sas_display")
                self.on_keys({**data, "generation": 2 if changed else 1})
        elif name == "removed":  # out of the call: no list of who is in it any more, nothing to send
            self.ended()
            self.view.set_notice(self.texts("left_call" if self._left_myself else "removed_from_call"))
            self._left_myself = False  # said: a later removal (another call) is not this agent's doing
            self.participants.show_participants([], None, {})
        elif name == "session" and data["session"].get("id") == self.session_id:
            self.state = data["session"].get("state", "")
            if self.state == "expired":
                self.ended()

    def _speaks_version_2(self) -> bool:
        known = self.bridge.client.live_sessions.get(self.session_id)
        return known is not None and known.media.group.active

    @property
    def live(self) -> bool:
        """A call is on: commands may be sent."""
        return self.session_id is not None and self.state == "connected"

    def ended(self) -> None:
        """The call is over: the last picture stays, dimmed under the notice; nothing more can be sent."""
        if self.recording.running:
            self.stop_recording()
        self._set_controls(False)
        self.view.set_notice(self.texts("session_ended"))

    def on_keys(self, data: dict[str, Any]) -> None:
        code = data.get("sas_display") or data.get("sas", "")
        self.sas_label.setText(self.texts("sas", sas=code))
        changed = (data.get("generation") or 1) > 1
        # a new code mid-call (issue 18 #7): said prominently, so it is compared again with the customer's
        self.sas_label.setStyleSheet("font-weight: bold; font-size: 15px;" + (
            " background: #ffeb3b; color: #000; padding: 2px 6px;" if changed else ""))
        if changed:
            self.message.show_error(self.texts("sas_changed", sas=code))
        elif self._rekey_waiting:  # the wait it spoke of is over: the keys are agreed
            self.message.clear_message()
        self._rekey_waiting = False

    def on_capabilities(self, caps: dict[str, Any]) -> None:
        self.camera_bar.show_capabilities(caps)

    def on_camera_state(self, state: dict[str, Any]) -> None:
        self.camera_bar.show_camera_state(state)
        focus = state.get("focus")
        if isinstance(focus, dict) and {"x", "y", "applied"} <= set(focus):
            # the customer's camera answered a focus point: shown on the picture, and said when it could not
            self.view.show_focus(focus["x"], focus["y"], bool(focus["applied"]))
            if not focus["applied"]:
                self.message.show_error(self.texts("focus_not_applied"))
        if "video" in state and self.state != "expired":
            by_customer = state.get("video_paused_by") == "customer"
            self.view.set_notice("" if state["video"] else
                                 self.texts("video_paused_by_customer" if by_customer else "video_paused"))
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
        transform = self.bridge.renderer.set_view(zoom_steps=self.zoom_steps)
        self.view_bar.show_zoom(transform.zoom)
        self.bridge.rerender()

    def pan(self, dx: float, dy: float) -> None:
        """A drag of the zoomed picture: it follows the mouse (as far as it can go)."""
        self.bridge.renderer.pan_by(dx, dy)
        self.bridge.rerender()

    def reset_view(self) -> None:
        """원래 크기: the whole picture, centred (the rotation stays)."""
        self.zoom_steps = 0
        transform = self.bridge.renderer.set_view(zoom_steps=0, pan=(0.0, 0.0))
        self.view_bar.show_zoom(transform.zoom)
        self.bridge.rerender()

    def rotate(self) -> None:
        self.quarter_turns = (self.quarter_turns + 1) % 4
        self.bridge.renderer.set_view(quarter_turns=self.quarter_turns)
        self.bridge.rerender()

    # -- commands ---------------------------------------------------------------------------------------------------
    def _call(self, method: str, *args: Any, **kw: Any) -> None:
        if self.live:
            self.bridge.call(functools.partial(getattr(self.bridge.client, method), self.session_id, *args, **kw))

    def _camera(self, command: str, **fields: Any) -> None:
        self._call("camera", command, **fields)

    def _switch(self) -> None:
        facing = self.bridge.client.live_sessions[self.session_id].camera_state.get("facing", "back") \
            if self.session_id in self.bridge.client.live_sessions else "back"
        self._camera("switch", facing="front" if facing == "back" else "back")

    def _focus_mode(self, on: bool) -> None:
        self.view.focus_mode = on
        if on:  # a click is a focus point or a drawing, not both
            self.drawing_bar.stop_drawing()
        self.view.setCursor(Qt.CrossCursor if on else Qt.ArrowCursor)

    def _focus(self, x: float, y: float) -> None:
        self._camera("focus", x=round(x, 5), y=round(y, 5))

    def _agent_video(self, on: bool) -> None:
        if self.live:
            self.bridge.submit(self.bridge.client.agent_video(self.session_id, on))

    def _chat(self, text: str) -> None:
        self._call("chat", text)

    def _guide(self, direction: str) -> None:
        self._call("guide", direction)

    def _annotate(self, op: str, item: dict[str, Any] | None = None) -> None:
        if self.live:
            # the frame the agent drew on (the picture shown): an added drawing is anchored to it
            shown = self.view.rendered.frame if self.view.rendered is not None else None
            self.bridge.call(self.bridge.annotate, self.session_id, op, item, shown)
        self.bridge.rerender()

    def freeze(self, on: bool) -> None:
        """화면 멈춤: the picture stops at the frame shown, so the agent can draw calmly; on release what was
        drawn on it is anchored to that frame and follows the object (issue 20)."""
        if on and not self.live:
            self.view_bar.show_frozen(False)  # nothing to freeze: the button says 화면 멈춤 again
            return
        if self.view_bar.freeze_button.isChecked() != on:
            self.view_bar.show_frozen(on)
        if self.session_id is not None:
            shown = self.view.rendered.frame if self.view.rendered is not None else None
            self.bridge.call(self.bridge.freeze, self.session_id, on, shown)
        self.bridge.rerender()

    def _drawn(self, item: dict[str, Any]) -> None:
        # widths are pixels of the picture as the customer sends it, the frame the transform maps to
        self._annotate("add", item)

    def _shape_chosen(self, shape: str | None) -> None:
        if shape is not None:
            self.camera_bar.focus_button.setChecked(False)
        self.view.shape = shape

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
            if shortcut == FREEZE_SHORTCUT:
                self.freeze(not self.view_bar.freeze_button.isChecked())
                event.accept()
                return
        super().keyPressEvent(event)

    # -- recording and capture ------------------------------------------------------------------------------------------
    def _show_recording(self) -> None:
        self.record_bar.show_control(self.recording, self.live)
        self.rec_label.setVisible(self.recording.running)

    def start_recording(self, kind: str) -> Path | None:
        if not self.live:
            return None
        path = self.recording.start(kind, self.session.get("code"))
        if path is None:
            return None
        self.bridge.start_recording(kind, path)
        self._show_recording()
        return path

    def _record_frame(self) -> None:
        self.bridge.record_frame(rgb_from_image(self.grab().toImage()))

    def _record_pause(self, paused: bool) -> None:
        recorder = self.bridge.view_recorder
        if recorder is None or not self.recording.pause(paused):
            return
        self._show_recording()
        self.bridge.call(recorder.pause if paused else recorder.resume)

    def stop_recording(self) -> None:
        kind = self.recording.stop()
        self._show_recording()
        if kind is not None:
            self.bridge.stop_recording(kind, self._recording_saved)

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
            rgb = renderer.last_drawn if self.record_bar.capture_drawings.isChecked() else renderer.last_rgb
            rgb = None if rgb is None else rgb.copy()
        if rgb is None:
            self.message.show_error(self.texts("no_frame"))
            return None
        path = save_capture(rgb, Path(self.settings["capture_folder"]), self.session.get("code", "0000"),
                            drawings=self.record_bar.capture_drawings.isChecked())
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

    def end_support(self) -> None:
        """지원 종료: ``end``; the server expires the session and the customer's page shows the survey."""
        self._call("end")

    def close_quietly(self) -> None:
        """Close without asking (logging out, the main window closing): the server ends what is left."""
        self._closing_quietly = True
        try:
            self.close()
        finally:
            self._closing_quietly = False

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.live and self.isVisible() and not self._closing_quietly:
            answer = self.ask_end_call(self)
            if answer == "cancel":
                event.ignore()
                return
            if answer == "end":
                self.end_support()
        if self.recording.running:
            self.stop_recording()
        super().closeEvent(event)
