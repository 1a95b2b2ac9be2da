"""The mobile client's window: a phone's camera app, held sideways.

The preview (``preview.PreviewView``) fills the window, with what the agent sends over it. The
controls sit in a column on the right: the menu (flash, speakerphone, camera switch, language),
stop/start of the video, and the end button. Before the call the join panel (``join.JoinPanel``)
asks for the code; after the end, the satisfaction survey (``survey.SurveyPanel``). The call's state
and the reading of the session's events are ``call.CallState``'s, who is present ``presence.Presence``'s
(issue 21: shown over the picture with a notice on every join and leave); the window hands each event to
both and shows the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from anysupport_qt import (
    QAction,
    QApplication,
    QMenu,
    QPushButton,
    Qt,
    QTimer,
    QWidget,
    apply_korean_font,
    image_from_rgb,
)

from .bridge import SessionBridge
from .call import CallState
from .join import JoinPanel
from .presence import Presence
from .preview import CONTROL_COLUMN, PreviewView
from .survey import SurveyPanel
from .texts import join_error_text, text

ROUND = """
QPushButton {{ background: {bg}; color: white; border: 2px solid rgba(255,255,255,0.85);
              border-radius: {r}px; font-weight: bold; font-size: {fs}px; }}
QPushButton:pressed {{ background: {pressed}; }}
QPushButton:disabled {{ color: rgba(255,255,255,0.4); border-color: rgba(255,255,255,0.3); }}
"""


def _round(button: QPushButton, size: int, bg: str, pressed: str, font_px: int = 14) -> None:
    button.setFixedSize(size, size)
    button.setStyleSheet(ROUND.format(bg=bg, pressed=pressed, r=size // 2, fs=font_px))
    button.setCursor(Qt.PointingHandCursor)


class MobileWindow(QWidget):
    def __init__(self, bridge: SessionBridge, *, language: str = "ko", code: str | None = None,
                 call: CallState | None = None, presence: Presence | None = None):
        super().__init__()
        self.bridge = bridge
        self.language = language
        self.call = call or CallState()
        self.presence = presence or Presence(self.call.clock)
        self.setMinimumSize(640, 360)
        self.resize(860, 480)
        self.view = PreviewView(self.call, language, self, presence=self.presence)

        self.menu_button = QPushButton("☰", self)
        _round(self.menu_button, 52, "rgba(0,0,0,0.45)", "rgba(60,60,60,0.8)", 22)
        self.menu = QMenu(self)
        self.flash_action = QAction(self)
        self.flash_action.setCheckable(True)
        self.flash_action.toggled.connect(lambda on: self.bridge.call("set_flash", self.call.set_camera("flash", on)))
        self.speaker_action = QAction(self)
        self.speaker_action.setCheckable(True)
        self.speaker_action.toggled.connect(
            lambda on: self.bridge.call("set_speakerphone", self.call.set_camera("speakerphone", on)))
        self.switch_action = QAction(self)
        self.switch_action.triggered.connect(lambda: self.bridge.call("switch_camera"))
        self.language_action = QAction(self)
        self.language_action.triggered.connect(self.toggle_language)
        for action in (self.flash_action, self.speaker_action, self.switch_action):
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(self.language_action)
        self.menu_button.clicked.connect(self._show_menu)

        self.video_button = QPushButton(self)
        _round(self.video_button, 72, "rgba(255,255,255,0.18)", "rgba(255,255,255,0.4)", 16)
        self.video_button.clicked.connect(self._toggle_video)
        self.end_button = QPushButton(self)
        _round(self.end_button, 60, "rgba(220,40,40,0.9)", "rgba(160,20,20,1)", 16)
        self.end_button.clicked.connect(lambda: self.bridge.call("end"))

        self.join_panel = JoinPanel(self)
        self.join_panel.submitted.connect(self.join)
        self.survey_panel = SurveyPanel(self)
        self.survey_panel.answered.connect(self.answer_survey)

        bridge.event.connect(self.on_event)
        bridge.preview.connect(self.on_preview)
        bridge.agent_frame.connect(self.on_agent_frame)
        self.ticker = QTimer(self)  # blink the REC dot, let chat and arrows fade
        self.ticker.timeout.connect(self.view.update)
        self.ticker.start(250)
        self.retranslate()
        if bridge.session.token:  # opened from the customer page's link: the page has joined already
            self.call.join(None)
            self._refresh()
            self.bridge.join(None)
        elif code:
            self.join(code)

    # -- language ---------------------------------------------------------------------------------------
    def t(self, key: str, **fields: str) -> str:
        return text(key, self.language, **fields)

    def toggle_language(self) -> None:
        self.language = "en" if self.language == "ko" else "ko"
        self.view.language = self.language
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.t("title"))
        self.menu_button.setToolTip(self.t("menu"))
        self.language_action.setText(self.t("language"))
        self.end_button.setText(self.t("end"))
        self.join_panel.retranslate(self.language)
        self._show_survey()
        self._refresh()

    # -- showing the call -------------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Every control as the call's state says (the texts in the current language)."""
        call = self.call
        for action, what, key in ((self.flash_action, "flash", "flash"),
                                  (self.speaker_action, "speakerphone", "speakerphone"),
                                  (self.switch_action, "switch", "camera_switch")):
            label = self.t(key)
            action.setText(label if call.able(what) else self.t("not_available", what=label))
        self.flash_action.setEnabled(call.able("flash"))
        self.switch_action.setEnabled(call.able("switch"))
        for action, key in ((self.flash_action, "flash"), (self.speaker_action, "speakerphone")):
            action.blockSignals(True)  # the device's truth, not a command
            action.setChecked(bool(call.camera_state.get(key)))
            action.blockSignals(False)
        self.video_button.setText(self.t("start") if call.paused else self.t("stop"))
        self.video_button.setEnabled(not call.ended)
        self.end_button.setEnabled(not call.ended)
        self.join_panel.setVisible(not call.joined)
        self.join_panel.button.setEnabled(call.state != "joining")
        self.join_panel.error.setText("" if call.join_failure is None
                                      else join_error_text(call.join_failure, self.language))
        self.view.update()

    def _show_survey(self) -> None:
        if self.call.survey_saved:
            self.survey_panel.show_thanks(self.language)
        elif self.call.survey is not None:
            self.survey_panel.show_survey(self.call.survey, self.language, answer=self.call.survey_answer)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        w, h = self.width(), self.height()
        self.view.setGeometry(0, 0, w, h)
        column_x = w - CONTROL_COLUMN
        self.menu_button.move(column_x + (CONTROL_COLUMN - 52) // 2, 16)
        self.video_button.move(column_x + (CONTROL_COLUMN - 72) // 2, h // 2 - 36)
        self.end_button.move(column_x + (CONTROL_COLUMN - 60) // 2, h - 76)
        pw, ph = min(360, w - CONTROL_COLUMN - 40), 200
        self.join_panel.setGeometry((w - CONTROL_COLUMN - pw) // 2, (h - ph) // 2, pw, ph)
        sw, sh = min(420, w - CONTROL_COLUMN - 40), min(300, h - 40)
        self.survey_panel.setGeometry((w - CONTROL_COLUMN - sw) // 2, (h - sh) // 2, sw, sh)
        super().resizeEvent(event)

    # -- what the customer does -------------------------------------------------------------------------
    def join(self, code: str) -> None:
        code = self.call.join(code)
        self._refresh()
        if code is not None:
            self.bridge.join(code)

    def _show_menu(self) -> None:
        self.menu.popup(self.menu_button.mapToGlobal(self.menu_button.rect().bottomLeft()))

    def _toggle_video(self) -> None:
        self.bridge.call("set_video", self.call.toggle_video())
        self._refresh()

    def answer_survey(self, answer: str, feedback: str | None = None) -> None:
        self.call.answer(answer)
        self.bridge.call("answer_survey", answer, feedback)

    # -- what the session says --------------------------------------------------------------------------
    def on_event(self, name: str, data: dict[str, Any]) -> None:
        self.call.apply(name, data)
        self.presence.apply(name, data, agent_name=self.bridge.session.agent_name)
        if name == "agent_video" and not self.call.agent_video:
            self.view.agent_image = None
        if name in ("survey", "survey_saved"):
            self._show_survey()
        self._refresh()

    def on_preview(self, rgb: np.ndarray) -> None:
        self.view.image = image_from_rgb(rgb)
        self.view.update()

    def on_agent_frame(self, rgb: np.ndarray) -> None:
        self.view.agent_image = image_from_rgb(rgb)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.ticker.stop()
        self.bridge.close()
        super().closeEvent(event)


def setup_application(argv: list[str] | None = None) -> tuple[QApplication, str | None]:
    """The QApplication with a Hangul font; returns it and the font's family (None: none installed)."""
    app = QApplication.instance() or QApplication(argv or ["anysupport-mobile"])
    return app, apply_korean_font(app)


__all__ = ["MobileWindow", "setup_application"]
