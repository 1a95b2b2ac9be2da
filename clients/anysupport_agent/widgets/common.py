"""Small pieces the widgets share: asking the user, opening a folder, a message line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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


def ask_unsaved_dialog(texts: Texts) -> AskUnsaved:
    def ask(parent: QWidget) -> str:
        box = QMessageBox(QMessageBox.Question, texts("unsaved_title"), texts("unsaved_text"), parent=parent)
        save = box.addButton(texts("save"), QMessageBox.AcceptRole)
        discard = box.addButton(texts("discard"), QMessageBox.DestructiveRole)
        box.addButton(texts("cancel"), QMessageBox.RejectRole)
        box.exec_()
        clicked = box.clickedButton()
        return "save" if clicked is save else "discard" if clicked is discard else "cancel"

    return ask


def ask_end_call_dialog(texts: Texts) -> AskEndCall:
    def ask(parent: QWidget) -> str:
        box = QMessageBox(QMessageBox.Question, texts("close_viewer_title"), texts("close_viewer_text"), parent=parent)
        end = box.addButton(texts("end_support"), QMessageBox.DestructiveRole)
        keep = box.addButton(texts("keep_call"), QMessageBox.AcceptRole)
        box.addButton(texts("cancel"), QMessageBox.RejectRole)
        box.setDefaultButton(keep)
        box.exec_()
        clicked = box.clickedButton()
        return "end" if clicked is end else "keep" if clicked is keep else "cancel"

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
