"""Canned phrases (상용문구): text and shortcut, in the agent's order (kept on the server)."""

from __future__ import annotations

from typing import Any

from anysupport_qt import QAbstractTableModel, Qt

from ..texts import Texts


class PhrasesModel(QAbstractTableModel):
    IdRole = Qt.UserRole + 1

    def __init__(self, texts: Texts, parent=None):
        super().__init__(parent)
        self.texts = texts
        self.phrases: list[dict[str, Any]] = []

    def rowCount(self, parent=None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self.phrases)

    def columnCount(self, parent=None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else 2

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return self.texts(("col_phrase", "col_shortcut")[section])
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        phrase = self.phrases[index.row()]
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            return phrase.get("text", "") if index.column() == 0 else (phrase.get("shortcut") or "")
        if role == self.IdRole:
            return phrase["id"]
        return None

    def reset(self, phrases: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.phrases = sorted((dict(p) for p in phrases), key=lambda p: (p.get("order", 0), p.get("text", "")))
        self.endResetModel()

    def phrase(self, row: int) -> dict[str, Any] | None:
        return self.phrases[row] if 0 <= row < len(self.phrases) else None

    def by_shortcut(self, shortcut: str) -> dict[str, Any] | None:
        for phrase in self.phrases:
            if phrase.get("shortcut") == shortcut:
                return phrase
        return None

    def moved(self, row: int, delta: int) -> list[str] | None:
        """The phrase ids in their new order after moving ``row`` by ``delta`` (a swap); None at an end."""
        other = row + delta
        if not (0 <= row < len(self.phrases) and 0 <= other < len(self.phrases)):
            return None
        ids = [p["id"] for p in self.phrases]
        ids[row], ids[other] = ids[other], ids[row]
        return ids
