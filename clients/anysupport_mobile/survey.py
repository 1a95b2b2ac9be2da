"""The satisfaction survey (만족도 조사) after the end: the server's question and choices, then the thanks.

The panel shows what the server sent (``survey`` event: the question and the choices in the
customer's language, whether a comment is asked for) and says which choice was pressed with
``answered(value, comment or None)``; after an answer its buttons stay greyed, also when it is built
again in the other language.
"""

from __future__ import annotations

from typing import Any

from anysupport_qt import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
    pyqtSignal,
)

from .texts import text

CHOICE_COLOURS = {"satisfied": "#1a9c4a", "neutral": "#c98a00", "unsatisfied": "#c0392b"}


class SurveyPanel(QFrame):
    answered = pyqtSignal(str, object)  # the choice's value, the comment (None: none written)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setStyleSheet("QFrame { background: rgba(255,255,255,0.96); border-radius: 14px; }"
                           "QLabel { color: #222; } QLineEdit { padding: 6px; border: 1px solid #bbb;"
                           " border-radius: 6px; }")
        self.hide()
        self.box = QVBoxLayout(self)
        self.buttons: dict[str, QPushButton] = {}
        self.feedback_edit: QLineEdit | None = None

    def show_survey(self, survey: dict[str, Any], language: str, *, answer: str | None = None) -> None:
        """Build the question and its choices (greyed when ``answer`` was given already) and show the panel."""
        self._clear()
        title = QLabel(text("survey_title", language))
        title.setStyleSheet("font-size: 14px; color: #666;")
        question = QLabel(survey["question"])
        question.setWordWrap(True)
        question.setStyleSheet("font-size: 19px; font-weight: bold;")
        self.box.addWidget(title)
        self.box.addWidget(question)
        row = QHBoxLayout()
        for choice in survey["choices"]:
            button = QPushButton(choice["label"])
            button.setStyleSheet(f"QPushButton {{ font-size: 16px; padding: 10px; color: white; border-radius: 8px;"
                                 f" background: {CHOICE_COLOURS.get(choice['value'], '#1a5fd0')}; }}"
                                 "QPushButton:disabled { background: #aaa; }")
            button.clicked.connect(lambda _=False, v=choice["value"]: self._answer(v))
            button.setEnabled(answer is None)
            self.buttons[choice["value"]] = button
            row.addWidget(button)
        self.box.addLayout(row)
        self.feedback_edit = QLineEdit()
        self.feedback_edit.setPlaceholderText(survey.get("feedback_prompt") or text("feedback", language))
        self.feedback_edit.setVisible(bool(survey.get("feedback")))
        self.box.addWidget(self.feedback_edit)
        self.box.addStretch(1)
        self.show()
        self.raise_()

    def show_thanks(self, language: str) -> None:
        self._clear()
        label = QLabel(text("thanks", language))
        label.setAlignment(Qt.AlignCenter)
        label.setStyleSheet("font-size: 20px; font-weight: bold;")
        self.box.addWidget(label)
        self.show()
        self.raise_()

    def _answer(self, value: str) -> None:
        comment = self.feedback_edit.text().strip() if self.feedback_edit is not None else ""
        for button in self.buttons.values():
            button.setEnabled(False)
        self.answered.emit(value, comment or None)

    def _clear(self) -> None:
        self.buttons = {}
        self.feedback_edit = None
        while self.box.count():
            item = self.box.takeAt(0)
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


__all__ = ["SurveyPanel"]
