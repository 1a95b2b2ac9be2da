"""The chat of the session on screen: who said what, newest last.

In a two-party call a line is the agent's own ("상담원") or the customer's ("고객"), as always. Once the
session has listed a third participant (issue 21), every line names its writer (``ChatWriters``, the rule
shared with the customer page and app): this console's own lines "나", the customer by name (or 고객), any
other agent by name with its role ("이전문 (전문가)"). ``chat_label`` is that rule's text, with no Qt.
"""

from __future__ import annotations

from typing import Any

from anysupport_qt import QAbstractListModel, QColor, QModelIndex, Qt

from anysupport.protocol.chat_writers import ChatWriters

from ..texts import Texts

COLOURS = {"me": "#1a73e8", "customer": "#188038", "other": "#a142f4"}  # own lines, the customer's, other agents'


def chat_label(entry: dict[str, Any], writers: ChatWriters, texts: Texts) -> tuple[str, str]:
    """The writer's name as this console shows it before a line, and which colour: ``me``, ``customer``,
    ``other``. Two-party calls keep 상담원 / 고객 (a line is the agent's own or the customer's)."""
    writer = writers.writer(entry)
    if writer is None:
        return (texts("me"), "me") if entry.get("from") == "agent" else (texts("customer"), "customer")
    if writers.is_mine(entry):
        return texts("chat_me"), "me"
    if writer.get("role") == "customer":
        return writer.get("name") or texts("customer"), "customer"
    role = texts(f'role_{writer.get("role") or "guest"}')
    name = writer.get("name")
    return (texts("chat_writer", name=name, role=role) if name else role), "other"


class ChatModel(QAbstractListModel):
    def __init__(self, texts: Texts, parent=None):
        super().__init__(parent)
        self.texts = texts
        self.entries: list[dict[str, Any]] = []
        self.session_id: str | None = None
        self.writers = ChatWriters()  # of ``session_id``'s participants, as listed so far

    def rowCount(self, parent=None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self.entries)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        who, kind = chat_label(entry, self.writers, self.texts)
        if role == Qt.DisplayRole:
            return f"{who}: {entry.get('text', '')}"
        if role == Qt.ForegroundRole:
            return QColor(COLOURS[kind])
        return None

    def set_participants(self, session_id: str | None, participants: list[dict[str, Any]], you: int | None) -> None:
        """Who takes part in the session shown (the viewer's list on every change): remembered per session,
        so a writer who left is still named; a new session starts a new memory."""
        if session_id != self.session_id:
            self.session_id, self.writers = session_id, ChatWriters()
        named = self.writers.named
        self.writers.learn(participants, you)
        if self.entries and named != self.writers.named:  # every line gains a name: their heights change too
            self.layoutAboutToBeChanged.emit()
            self.layoutChanged.emit()
        elif self.entries and named:  # a writer's name may have changed
            self.dataChanged.emit(self.index(0), self.index(len(self.entries) - 1))

    def append(self, entry: dict[str, Any]) -> None:
        self.beginInsertRows(QModelIndex(), len(self.entries), len(self.entries))
        self.entries.append(dict(entry))
        self.endInsertRows()

    def reset(self, entries: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.entries = [dict(e) for e in entries]
        self.endResetModel()
