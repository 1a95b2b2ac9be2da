"""The mobile client's window: a phone's camera app, held sideways.

The preview fills the window (cropped to fill, like a camera app), with what the agent sends over
it: the drawings (composited into the picture by the pipeline), chat text, the direction arrow,
the recording indicator, the agent's camera in a corner while it is on. The controls sit in a
column on the right: the menu (flash, speakerphone, camera switch, language), stop/start of the
video, and the end button. After the end, the satisfaction survey.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from anysupport_qt import (
    QAction,
    QApplication,
    QColor,
    QFont,
    QFrame,
    QHBoxLayout,
    QImage,
    QLabel,
    QLineEdit,
    QMenu,
    QPainter,
    QPainterPath,
    QPen,
    QPushButton,
    QRect,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    apply_korean_font,
    image_from_rgb,
)

from .bridge import SessionBridge
from .texts import GUIDE_ARROWS, TEXTS, text

CHAT_SECONDS = 12.0
GUIDE_SECONDS = 5.0
CONTROL_COLUMN = 96


class PreviewView(QWidget):
    """The camera picture and everything laid over it."""

    def __init__(self, language: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.language = language
        self.image: QImage | None = None
        self.agent_image: QImage | None = None
        self.agent_video = False
        self.recording = False
        self.paused = False
        self.status = ""
        self.notice = ""  # a standing problem the customer should know of (no speaker)
        self.sas: str | None = None
        self.chat: list[tuple[float, str, str]] = []
        self.guide: tuple[float, str] | None = None
        self.setAttribute(Qt.WA_OpaquePaintEvent)

    def t(self, key: str, **fields: str) -> str:
        return text(key, self.language, **fields)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.setRenderHint(QPainter.SmoothPixmapTransform)
        p.fillRect(self.rect(), QColor(12, 12, 12))
        area = self.rect().adjusted(0, 0, -CONTROL_COLUMN, 0)
        if self.image is not None:
            # cover the area, cropping the picture's overflow, as camera apps do
            scaled = self.image.size().scaled(area.size(), Qt.KeepAspectRatioByExpanding)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(area.center())
            p.save()
            p.setClipRect(area)
            p.drawImage(target, self.image)
            p.restore()
        if self.paused:
            p.fillRect(area, QColor(0, 0, 0, 140))
            self._pill(p, area.center().x(), area.center().y(), self.t("paused"), QColor(0, 0, 0, 200), center=True)
        now = time.monotonic()
        # status and security code, top left
        y = 12
        if self.status:
            self._pill(p, 12, y, self.status, QColor(0, 0, 0, 150))
            y += 34
        if self.sas:
            self._pill(p, 12, y, self.t("secure_code", sas=self.sas), QColor(0, 0, 0, 150))
            y += 34
        if self.notice:
            self._pill(p, 12, y, self.notice, QColor(160, 40, 20, 190))
        if self.recording:
            self._recording(p, area)
        if self.agent_video:
            self._agent_corner(p, area)
        if self.guide and now - self.guide[0] < GUIDE_SECONDS:
            self._guide(p, area, self.guide[1])
        self._chat(p, area, now)
        p.end()

    def _font(self, pixels: int, bold: bool = False) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(pixels)
        font.setBold(bold)
        return font

    def _pill(self, p: QPainter, x: int, y: int, label: str, fill: QColor, *, center: bool = False,
              pixels: int = 15) -> QRect:
        p.setFont(self._font(pixels, True))
        metrics = p.fontMetrics()
        w, h = metrics.horizontalAdvance(label) + 20, metrics.height() + 10
        rect = QRect(x - w // 2, y - h // 2, w, h) if center else QRect(x, y, w, h)
        p.setPen(Qt.NoPen)
        p.setBrush(fill)
        p.drawRoundedRect(rect, h / 2, h / 2)
        p.setPen(QColor("white"))
        p.drawText(rect, Qt.AlignCenter, label)
        return rect

    def _recording(self, p: QPainter, area: QRect) -> None:
        label = self.t("recording")
        p.setFont(self._font(15, True))
        w = p.fontMetrics().horizontalAdvance(label) + 40
        rect = QRect(area.center().x() - w // 2, 12, w, 28)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(rect, 14, 14)
        blink = int(time.monotonic() * 2) % 2 == 0
        p.setBrush(QColor(235, 40, 40) if blink else QColor(150, 30, 30))
        p.drawEllipse(rect.left() + 10, rect.top() + 8, 12, 12)
        p.setPen(QColor("white"))
        p.drawText(rect.adjusted(28, 0, -6, 0), Qt.AlignVCenter | Qt.AlignLeft, label)

    def _agent_corner(self, p: QPainter, area: QRect) -> None:
        w = max(120, area.width() // 4)
        h = w * 3 // 4
        rect = QRect(area.right() - w - 12, 12, w, h)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(30, 30, 30))
        p.drawRoundedRect(rect, 8, 8)
        if self.agent_image is not None:
            scaled = self.agent_image.size().scaled(rect.size(), Qt.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(rect.center())
            p.drawImage(target, self.agent_image)
        p.setPen(QPen(QColor("white"), 2))
        p.setBrush(Qt.NoBrush)
        p.drawRoundedRect(rect, 8, 8)
        self._pill(p, rect.left() + 6, rect.bottom() - 30, self.t("agent_camera"), QColor(0, 0, 0, 160), pixels=12)

    def _guide(self, p: QPainter, area: QRect, direction: str) -> None:
        arrow = GUIDE_ARROWS.get(direction, "•")
        p.setFont(self._font(max(48, area.height() // 5), True))
        rect = QRect(area.left(), area.center().y() - area.height() // 5, area.width(), area.height() // 3)
        path = QPainterPath()
        metrics = p.fontMetrics()
        x = rect.center().x() - metrics.horizontalAdvance(arrow) / 2
        path.addText(x, rect.center().y() + metrics.ascent() / 2 - metrics.descent() / 2, p.font(), arrow)
        p.strokePath(path, QPen(QColor(0, 0, 0, 200), 6))
        p.fillPath(path, QColor(255, 214, 0))
        self._pill(p, area.center().x(), rect.bottom() + 10, self.t(direction) if direction in GUIDE_ARROWS else direction,
                   QColor(255, 160, 0, 220), center=True, pixels=18)

    def _chat(self, p: QPainter, area: QRect, now: float) -> None:
        lines = [(who, msg) for t, who, msg in self.chat if now - t < CHAT_SECONDS][-3:]
        y = area.bottom() - 16
        p.setFont(self._font(16, True))
        metrics = p.fontMetrics()
        for who, msg in reversed(lines):
            width = min(area.width() - 40, metrics.horizontalAdvance(msg) + 36)
            height = metrics.height() + 12
            rect = QRect(16, y - height, width, height)
            p.setPen(Qt.NoPen)
            p.setBrush(QColor(20, 90, 200, 210) if who == "agent" else QColor(60, 60, 60, 200))
            p.drawRoundedRect(rect, 10, 10)
            p.setPen(QColor("white"))
            p.drawText(rect.adjusted(12, 0, -12, 0), Qt.AlignVCenter | Qt.AlignLeft,
                       metrics.elidedText(msg, Qt.ElideRight, width - 20))
            y -= height + 8


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
    def __init__(self, bridge: SessionBridge, *, language: str = "ko", code: str | None = None):
        super().__init__()
        self.bridge = bridge
        self.language = language
        self.capabilities: dict[str, Any] = {}
        self.camera_state: dict[str, Any] = {}
        self.state: str | None = None
        self.survey: dict[str, Any] | None = None
        self.voice_failed = False
        self.key_failure: str | None = None  # why the end-to-end keys were refused (key_exchange_failed)
        self.setMinimumSize(640, 360)
        self.resize(860, 480)
        self.view = PreviewView(language, self)

        self.menu_button = QPushButton("☰", self)
        _round(self.menu_button, 52, "rgba(0,0,0,0.45)", "rgba(60,60,60,0.8)", 22)
        self.menu = QMenu(self)
        self.flash_action = QAction(self)
        self.flash_action.setCheckable(True)
        self.flash_action.toggled.connect(lambda on: self.bridge.call("set_flash", on))
        self.speaker_action = QAction(self)
        self.speaker_action.setCheckable(True)
        self.speaker_action.toggled.connect(lambda on: self.bridge.call("set_speakerphone", on))
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

        self.join_panel = self._join_panel()
        self.survey_panel = QFrame(self)
        self.survey_panel.setStyleSheet("QFrame { background: rgba(255,255,255,0.96); border-radius: 14px; }"
                                        "QLabel { color: #222; } QLineEdit { padding: 6px; border: 1px solid #bbb;"
                                        " border-radius: 6px; }")
        self.survey_panel.hide()
        self.survey_layout = QVBoxLayout(self.survey_panel)
        self.survey_buttons: dict[str, QPushButton] = {}

        bridge.event.connect(self.on_event)
        bridge.preview.connect(self.on_preview)
        bridge.agent_frame.connect(self.on_agent_frame)
        self.ticker = QTimer(self)  # blink the REC dot, let chat and arrows fade
        self.ticker.timeout.connect(self.view.update)
        self.ticker.start(250)
        self.retranslate()
        if bridge.session.token:  # opened from the customer page's link: the page has joined already
            self.join_button.setEnabled(False)
            self._set_state("joining")
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
        self.flash_action.setText(self._capable("flash", self.t("flash")))
        self.speaker_action.setText(self._capable("speakerphone", self.t("speakerphone")))
        self.switch_action.setText(self._capable("switch", self.t("camera_switch")))
        self.language_action.setText(self.t("language"))
        self.video_button.setText(self.t("start") if self.camera_state.get("video") is False else self.t("stop"))
        self.end_button.setText(self.t("end"))
        self.join_label.setText(self.t("join_prompt"))
        self.join_button.setText(self.t("join"))
        self.view.status = self._status_text()
        self.view.notice = self._notice()
        if self.survey is not None and self.survey_panel.isVisible():
            self._build_survey(self.survey)
        self.view.update()

    def _capable(self, what: str, label: str) -> str:
        if not self.capabilities:
            return label
        able = {"flash": self.capabilities.get("flash", False),
                "switch": len(self.capabilities.get("cameras", [])) > 1,
                "speakerphone": self.capabilities.get("speakerphone", False)}[what]
        return label if able else self.t("not_available", what=label)

    def _notice(self) -> str:
        """The standing problem to show: no secure connection first, then no speaker."""
        if self.key_failure:
            return self.t("key_failed_version" if self.key_failure == "unsupported_version" else "key_failed")
        return self.t("no_speaker") if self.voice_failed else ""

    def _status_text(self) -> str:
        return {None: "", "online": self.t("waiting"), "connected": self.t("connected"),
                "expired": self.t("ended"), "reconnecting": self.t("reconnecting"),
                "agent_reconnecting": self.t("agent_reconnecting"), "joining": self.t("joining")}.get(self.state, "")

    # -- layout -----------------------------------------------------------------------------------------
    def _join_panel(self) -> QFrame:
        panel = QFrame(self)
        panel.setStyleSheet("QFrame { background: rgba(255,255,255,0.95); border-radius: 14px; }"
                            "QLabel { color: #222; font-size: 15px; }"
                            "QLineEdit { font-size: 28px; padding: 6px; letter-spacing: 8px; border: 1px solid #aaa;"
                            " border-radius: 8px; }"
                            "QPushButton { font-size: 16px; padding: 8px; background: #1a5fd0; color: white;"
                            " border-radius: 8px; }")
        layout = QVBoxLayout(panel)
        self.join_label = QLabel(panel)
        self.join_label.setWordWrap(True)
        self.code_edit = QLineEdit(panel)
        self.code_edit.setMaxLength(4)
        self.code_edit.setAlignment(Qt.AlignCenter)
        self.code_edit.setInputMask("9999")
        self.join_button = QPushButton(panel)
        self.join_button.clicked.connect(lambda: self.join(self.code_edit.text()))
        self.code_edit.returnPressed.connect(lambda: self.join(self.code_edit.text()))
        self.join_error = QLabel(panel)
        self.join_error.setStyleSheet("color: #c00;")
        for widget in (self.join_label, self.code_edit, self.join_button, self.join_error):
            layout.addWidget(widget)
        return panel

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

    # -- actions ----------------------------------------------------------------------------------------
    def join(self, code: str) -> None:
        code = code.strip()
        if len(code) != 4 or not code.isdigit():
            self.join_error.setText(self.t("join_prompt"))
            return
        self.join_error.setText("")
        self.join_button.setEnabled(False)
        self._set_state("joining")
        self.bridge.join(code)

    def _join_error(self, failure: dict[str, Any]) -> str:
        """What went wrong and what to do: our text for the codes a customer meets, else the server's."""
        key = f"join_{failure.get('error')}"
        if key in TEXTS:
            return self.t(key)
        return failure.get("message") or self.t("join_failed")

    def _show_menu(self) -> None:
        self.menu.popup(self.menu_button.mapToGlobal(self.menu_button.rect().bottomLeft()))

    def _toggle_video(self) -> None:
        on = self.camera_state.get("video") is False
        self.camera_state["video"] = on
        self.bridge.call("set_video", on)
        self.view.paused = not on
        self.retranslate()

    def answer_survey(self, answer: str) -> None:
        feedback = self.feedback_edit.text().strip() or None
        self.bridge.call("answer_survey", answer, feedback)
        for button in self.survey_buttons.values():
            button.setEnabled(False)

    # -- what the session says --------------------------------------------------------------------------
    def _set_state(self, state: str | None) -> None:
        self.state = state
        self.view.status = self._status_text()
        self.view.update()

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "join_failed":
            self.join_button.setEnabled(True)
            self.join_error.setText(self._join_error(data))
            self._set_state(None)
        elif name in ("joined", "state"):
            self.join_panel.hide()
            self._set_state(data.get("state", "online"))
            if data.get("state") == "expired":
                self.video_button.setEnabled(False)
                self.end_button.setEnabled(False)
        elif name == "connection":
            self._set_state("reconnecting" if data["status"] == "reconnecting" else "connected")
        elif name == "peer" and data.get("peer") == "agent":
            self._set_state("agent_reconnecting" if data.get("status") == "reconnecting" else "connected")
        elif name == "keys":
            self.view.sas = data["sas_display"]
            self.key_failure = None
            self.view.notice = self._notice()
        elif name == "key_exchange_failed":
            self.key_failure = data.get("reason")
            self.view.sas = None
            self.view.notice = self._notice()
        elif name == "voice":
            self.voice_failed = not data.get("on")
            self.view.notice = self._notice()
        elif name == "camera_state":
            self.camera_state = data
            self.view.paused = data.get("video") is False
            for action, key in ((self.flash_action, "flash"), (self.speaker_action, "speakerphone")):
                action.blockSignals(True)
                action.setChecked(bool(data.get(key)))
                action.blockSignals(False)
            self.retranslate()
        elif name == "capabilities":
            self.capabilities = data
            self.flash_action.setEnabled(bool(data.get("flash")))
            self.switch_action.setEnabled(len(data.get("cameras", [])) > 1)
            self.retranslate()
        elif name == "chat":
            self.view.chat.append((time.monotonic(), data.get("from", "agent"), data["text"]))
        elif name == "guide":
            self.view.guide = (time.monotonic(), data["direction"])
        elif name == "recording":
            self.view.recording = data["on"]
        elif name == "agent_video":
            self.view.agent_video = data["on"]
            if not data["on"]:
                self.view.agent_image = None
        elif name == "survey":
            self.survey = data
            self._build_survey(data)
            self.survey_panel.show()
            self.survey_panel.raise_()
        elif name == "survey_saved":
            self._thanks()
        self.view.update()

    def on_preview(self, rgb: np.ndarray) -> None:
        self.view.image = image_from_rgb(rgb)
        self.view.update()

    def on_agent_frame(self, rgb: np.ndarray) -> None:
        self.view.agent_image = image_from_rgb(rgb)

    # -- the survey -------------------------------------------------------------------------------------
    def _clear_survey(self) -> None:
        while self.survey_layout.count():
            item = self.survey_layout.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
            elif item.layout() is not None:
                inner = item.layout()
                while inner.count():
                    sub = inner.takeAt(0).widget()
                    if sub is not None:
                        sub.hide()
                        sub.deleteLater()
                inner.deleteLater()

    def _build_survey(self, survey: dict[str, Any]) -> None:
        self._clear_survey()
        title = QLabel(self.t("survey_title"))
        title.setStyleSheet("font-size: 14px; color: #666;")
        question = QLabel(survey["question"])
        question.setWordWrap(True)
        question.setStyleSheet("font-size: 19px; font-weight: bold;")
        self.survey_layout.addWidget(title)
        self.survey_layout.addWidget(question)
        row = QHBoxLayout()
        self.survey_buttons = {}
        colours = {"satisfied": "#1a9c4a", "neutral": "#c98a00", "unsatisfied": "#c0392b"}
        for choice in survey["choices"]:
            button = QPushButton(choice["label"])
            button.setStyleSheet(f"QPushButton {{ font-size: 16px; padding: 10px; color: white; border-radius: 8px;"
                                 f" background: {colours.get(choice['value'], '#1a5fd0')}; }}"
                                 "QPushButton:disabled { background: #aaa; }")
            button.clicked.connect(lambda _=False, v=choice["value"]: self.answer_survey(v))
            self.survey_buttons[choice["value"]] = button
            row.addWidget(button)
        self.survey_layout.addLayout(row)
        self.feedback_edit = QLineEdit()
        self.feedback_edit.setPlaceholderText(self.t("feedback"))
        self.feedback_edit.setVisible(bool(survey.get("feedback")))
        self.survey_layout.addWidget(self.feedback_edit)
        self.survey_layout.addStretch(1)

    def _thanks(self) -> None:
        self._clear_survey()
        label = QLabel(self.t("thanks"))
        label.setAlignment(Qt.AlignCenter)
        label.setStyleSheet("font-size: 20px; font-weight: bold;")
        self.survey_layout.addWidget(label)
        self.survey_panel.show()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.ticker.stop()
        self.bridge.close()
        super().closeEvent(event)


def setup_application(argv: list[str] | None = None) -> tuple[QApplication, str | None]:
    """The QApplication with a Hangul font; returns it and the font's family (None: none installed)."""
    app = QApplication.instance() or QApplication(argv or ["anysupport-mobile"])
    return app, apply_korean_font(app)


__all__ = ["MobileWindow", "PreviewView", "setup_application"]
