"""The join panel: the 4-digit code the agent gave, the 접속 button, and why a join failed."""

from __future__ import annotations

from anysupport_qt import QFrame, QLabel, QLineEdit, QPushButton, Qt, QVBoxLayout, QWidget, pyqtSignal

from .texts import text


class JoinPanel(QFrame):
    submitted = pyqtSignal(str)  # the code as typed (the window checks it)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setStyleSheet("QFrame { background: rgba(255,255,255,0.95); border-radius: 14px; }"
                           "QLabel { color: #222; font-size: 15px; }"
                           "QLineEdit { font-size: 28px; padding: 6px; letter-spacing: 8px; border: 1px solid #aaa;"
                           " border-radius: 8px; }"
                           "QPushButton { font-size: 16px; padding: 8px; background: #1a5fd0; color: white;"
                           " border-radius: 8px; }")
        layout = QVBoxLayout(self)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.code_edit = QLineEdit(self)
        self.code_edit.setMaxLength(4)
        self.code_edit.setAlignment(Qt.AlignCenter)
        self.code_edit.setInputMask("9999")
        self.button = QPushButton(self)
        self.button.clicked.connect(lambda: self.submitted.emit(self.code_edit.text()))
        self.code_edit.returnPressed.connect(lambda: self.submitted.emit(self.code_edit.text()))
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #c00;")
        for widget in (self.label, self.code_edit, self.button, self.error):
            layout.addWidget(widget)

    def retranslate(self, language: str) -> None:
        self.label.setText(text("join_prompt", language))
        self.button.setText(text("join", language))


__all__ = ["JoinPanel"]
