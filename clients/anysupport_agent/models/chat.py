"""The chat of the session on screen: who said what, newest last."""

from __future__ import annotations

from typing import Any

from anysupport_qt import QAbstractListModel, QColor, QModelIndex, Qt

from ..texts import Texts


class ChatModel(QAbstractListModel):
    def __init__(self, texts: Texts, parent=None):
        super().__init__(parent)
        self.texts = texts
        self.entries: list[dict[str, Any]] = []

    def rowCount(self, parent=None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self.entries)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        who = self.texts("me") if entry.get("from") == "agent" else self.texts("customer")
        if role == Qt.DisplayRole:
            return f"{who}: {entry.get('text', '')}"
        if role == Qt.ForegroundRole:
            return QColor("#1a73e8") if entry.get("from") == "agent" else QColor("#188038")
        return None

    def append(self, entry: dict[str, Any]) -> None:
        self.beginInsertRows(QModelIndex(), len(self.entries), len(self.entries))
        self.entries.append(dict(entry))
        self.endInsertRows()

    def reset(self, entries: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.entries = [dict(e) for e in entries]
        self.endResetModel()
