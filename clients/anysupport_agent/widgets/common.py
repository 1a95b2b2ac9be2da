"""Small pieces the widgets share: asking the user, opening a folder, a message line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from anysupport_qt import QDesktopServices, QLabel, QMessageBox, QUrl, QWidget

from ..texts import Texts

#: ``ask_unsaved(parent) -> "save" | "discard" | "cancel"`` — injectable so tests answer without a modal loop.
AskUnsaved = Callable[[QWidget], str]
#: ``ask_end_call(parent) -> "end" | "keep" | "cancel"`` — closing the viewer of a live call (injectable for tests).
AskEndCall = Callable[[QWidget], str]
#: ``confirm(parent, text) -> bool`` — a yes/no question before something that cannot be undone (injectable).
Confirm = Callable[[QWidget, str], bool]
#: ``open_folder(path)`` — injectable so tests do not launch a file manager.
OpenFolder = Callable[[Path], None]


def open_folder(path: Path) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def ask_question(parent: QWidget, title: str, text: str, choices: list[tuple[str, str, Any]],
                 cancel: str, default: str | None = None) -> str:
    """A question box with ``choices`` (answer, button text, role) and a cancel button; returns the answer
    of the button clicked, ``"cancel"`` for cancel or a closed box."""
    box = QMessageBox(QMessageBox.Question, title, text, parent=parent)
    buttons = {answer: box.addButton(label, role) for answer, label, role in choices}
    box.addButton(cancel, QMessageBox.RejectRole)
    if default is not None:
        box.setDefaultButton(buttons[default])
    box.exec_()
    clicked = box.clickedButton()
    return next((answer for answer, button in buttons.items() if button is clicked), "cancel")


def ask_unsaved_dialog(texts: Texts) -> AskUnsaved:
    def ask(parent: QWidget) -> str:
        return ask_question(parent, texts("unsaved_title"), texts("unsaved_text"),
                            [("save", texts("save"), QMessageBox.AcceptRole),
                             ("discard", texts("discard"), QMessageBox.DestructiveRole)], texts("cancel"))

    return ask


def ask_end_call_dialog(texts: Texts) -> AskEndCall:
    def ask(parent: QWidget) -> str:
        return ask_question(parent, texts("close_viewer_title"), texts("close_viewer_text"),
                            [("end", texts("end_support"), QMessageBox.DestructiveRole),
                             ("keep", texts("keep_call"), QMessageBox.AcceptRole)], texts("cancel"), default="keep")

    return ask


def confirm_dialog(texts: Texts) -> Confirm:
    def confirm(parent: QWidget, text: str) -> bool:
        answer = QMessageBox.question(parent, texts("confirm_title"), text, QMessageBox.Yes | QMessageBox.No,
                                      QMessageBox.No)
        return answer == QMessageBox.Yes

    return confirm


class MessageLine(QLabel):
    """One line saying what just happened (an error in red, news in the normal colour)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.hide()

    def show_error(self, text: str) -> None:
        self.setStyleSheet("color: #c5221f;")
        self.setText(text)
        self.show()

    def show_info(self, text: str) -> None:
        self.setStyleSheet("")
        self.setText(text)
        self.show()

    def clear_message(self) -> None:
        self.setText("")
        self.hide()
