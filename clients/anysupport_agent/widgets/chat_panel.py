"""The guidance panel (안내 기능): chat (Enter sends), the direction buttons, the canned phrases."""

from __future__ import annotations

from typing import Any

from anysupport_qt import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
    pyqtSignal,
)

from anysupport.protocol.vocabulary import GUIDE_GLYPHS

from ..models.chat import ChatModel
from ..models.phrases import PhrasesModel
from ..texts import Texts
from .common import MessageLine

DIRECTIONS = (("rotate_left", 0, 0), ("up", 0, 1), ("rotate_right", 0, 2),
              ("left", 1, 0), ("hold", 1, 1), ("right", 1, 2),
              ("closer", 2, 0), ("down", 2, 1), ("farther", 2, 2), ("ok", 3, 1))


class PhraseDialog(QDialog):
    def __init__(self, texts: Texts, phrase: dict[str, Any] | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(texts("phrases"))
        self.text = QLineEdit((phrase or {}).get("text", ""))
        self.text.setMinimumWidth(320)
        self.shortcut = QLineEdit((phrase or {}).get("shortcut") or "")
        form = QFormLayout(self)
        form.addRow(texts("phrase_text"), self.text)
        form.addRow(texts("phrase_shortcut"), self.shortcut)
        buttons = QDialogButtonBox()
        buttons.addButton(texts("ok_button"), QDialogButtonBox.AcceptRole)
        buttons.addButton(texts("cancel"), QDialogButtonBox.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, Any]:
        return {"text": self.text.text().strip(), "shortcut": self.shortcut.text().strip() or None}


class ChatPanel(QWidget):
    send_chat = pyqtSignal(str)
    send_guide = pyqtSignal(str)

    def __init__(self, *, texts: Texts, bridge, phrases: PhrasesModel, parent=None):
        super().__init__(parent)
        self.texts = texts
        self.bridge = bridge
        self.chat_model = ChatModel(texts, self)
        self.phrases = phrases
        self.chat_view = QListView()
        self.chat_view.setModel(self.chat_model)
        self.chat_view.setWordWrap(True)
        # a wrapped line's height follows the panel's width (and a line that gained its writer's name)
        self.chat_view.setResizeMode(QListView.Adjust)
        self.chat_edit = QLineEdit()
        self.chat_edit.setPlaceholderText(texts("chat_placeholder"))
        self.send_button = QPushButton(texts("send"))
        chat_box = QGroupBox(texts("chat"))
        chat_layout = QVBoxLayout(chat_box)
        chat_layout.addWidget(self.chat_view, 1)
        row = QHBoxLayout()
        row.addWidget(self.chat_edit, 1)
        row.addWidget(self.send_button)
        chat_layout.addLayout(row)
        guide_box = QGroupBox(texts("directions"))
        grid = QGridLayout(guide_box)
        self.direction_buttons: dict[str, QPushButton] = {}
        for name, r, c in DIRECTIONS:
            button = QPushButton(f"{GUIDE_GLYPHS[name]} {texts(name)}")
            button.setToolTip(texts(name))
            button.clicked.connect(lambda _=False, n=name: self.send_guide.emit(n))
            grid.addWidget(button, r, c)
            self.direction_buttons[name] = button
        phrase_box = QGroupBox(texts("phrases"))
        phrase_layout = QVBoxLayout(phrase_box)
        self.phrase_view = QTableView()
        self.phrase_view.setModel(phrases)
        self.phrase_view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.phrase_view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.phrase_view.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.phrase_view.verticalHeader().hide()
        self.phrase_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.phrase_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        # five phrases readable without scrolling (issue 17 #9: two of five showed at 1366×768)
        rows = self.phrase_view.verticalHeader().defaultSectionSize()
        self.phrase_view.setMinimumHeight(self.phrase_view.horizontalHeader().sizeHint().height() + 5 * rows + 4)
        phrase_layout.addWidget(self.phrase_view, 1)
        buttons = QHBoxLayout()
        self.add_button = QPushButton(texts("phrase_add"))
        self.edit_button = QPushButton(texts("phrase_edit"))
        self.delete_button = QPushButton(texts("phrase_delete"))
        self.up_button = QPushButton("▲")
        self.up_button.setToolTip(texts("phrase_up"))
        self.down_button = QPushButton("▼")
        self.down_button.setToolTip(texts("phrase_down"))
        for b in (self.add_button, self.edit_button, self.delete_button, self.up_button, self.down_button):
            buttons.addWidget(b)
        phrase_layout.addLayout(buttons)
        self.message = MessageLine()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(chat_box, 3)
        layout.addWidget(guide_box)
        layout.addWidget(phrase_box, 2)
        layout.addWidget(self.message)
        self.chat_edit.returnPressed.connect(self._send)
        self.send_button.clicked.connect(self._send)
        self.phrase_view.doubleClicked.connect(lambda index: self.send_phrase(index.row()))
        self.add_button.clicked.connect(lambda: self.edit_phrase(None))
        self.edit_button.clicked.connect(lambda: self.edit_phrase(self._row()))
        self.delete_button.clicked.connect(self.delete_phrase)
        self.up_button.clicked.connect(lambda: self.move_phrase(-1))
        self.down_button.clicked.connect(lambda: self.move_phrase(1))
        self.dialog: PhraseDialog | None = None

    def _send(self) -> None:
        text = self.chat_edit.text().strip()
        if text:
            self.send_chat.emit(text[:1000])
            self.chat_edit.clear()

    def _row(self) -> int | None:
        index = self.phrase_view.currentIndex()
        return index.row() if index.isValid() else None

    def send_phrase(self, row: int) -> None:
        phrase = self.phrases.phrase(row)
        if phrase is not None:
            self.send_chat.emit(phrase["text"])

    # -- editing the phrases (kept on the server) -----------------------------------------------------------------
    def reload(self) -> None:
        self.bridge.submit(self.bridge.client.rest.phrases(), on_result=self.phrases.reset, on_error=self._error)

    def _error(self, info: dict[str, Any]) -> None:
        self.message.show_error(self.texts.error_text(info))

    def edit_phrase(self, row: int | None) -> PhraseDialog:
        phrase = self.phrases.phrase(row) if row is not None else None
        self.dialog = PhraseDialog(self.texts, phrase, self)

        def accepted() -> None:
            values = self.dialog.values()
            if not values["text"]:
                return
            if phrase is None:
                coro = self.bridge.client.rest.add_phrase(values["text"], shortcut=values["shortcut"])
            else:
                coro = self.bridge.client.rest.update_phrase(phrase["id"], **values)
            self.bridge.submit(coro, on_result=lambda _r: self.reload(), on_error=self._error)

        self.dialog.accepted.connect(accepted)
        self.dialog.open()
        return self.dialog

    def delete_phrase(self) -> None:
        phrase = self.phrases.phrase(self._row()) if self._row() is not None else None
        if phrase is not None:
            self.bridge.submit(self.bridge.client.rest.delete_phrase(phrase["id"]), on_result=lambda _r: self.reload(),
                               on_error=self._error)

    def move_phrase(self, delta: int) -> None:
        row = self._row()
        order = self.phrases.moved(row, delta) if row is not None else None
        if order is None:
            return

        def done(phrases) -> None:
            self.phrases.reset(phrases)
            self.phrase_view.selectRow(row + delta)

        self.bridge.submit(self.bridge.client.rest.reorder_phrases(order), on_result=done, on_error=self._error)
