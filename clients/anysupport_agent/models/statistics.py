"""One statistics table (장애 유형, 해결 여부, 고객 만족도): label, count, ratio, and the 전체 total row."""

from __future__ import annotations

from typing import Any

from anysupport_qt import QAbstractTableModel, QFont, Qt

from ..texts import Texts

TABLES = ("trouble_type", "resolution", "satisfaction")


class StatisticsModel(QAbstractTableModel):
    def __init__(self, texts: Texts, table: str, parent=None):
        super().__init__(parent)
        self.texts = texts
        self.table = table
        self.title = ""
        self.rows: list[dict[str, Any]] = []
        self.total: dict[str, Any] | None = None

    def rowCount(self, parent=None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self.rows) + (1 if self.total else 0)

    def columnCount(self, parent=None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else 3

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return (self.title or self.texts("col_item"), self.texts("col_count"), self.texts("col_ratio"))[section]
        return None

    def _row(self, row: int) -> dict[str, Any]:
        return self.rows[row] if row < len(self.rows) else self.total

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        row = self._row(index.row())
        if role == Qt.DisplayRole:
            if index.column() == 0:
                return row.get("label", "")
            if index.column() == 1:
                return str(row.get("count", 0))
            return f"{row.get('ratio', 0.0) * 100:.1f}%"
        if role == Qt.TextAlignmentRole and index.column():
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.FontRole and index.row() == len(self.rows):
            font = QFont()
            font.setBold(True)
            return font
        return None

    def load(self, stats: dict[str, Any]) -> None:
        table = stats.get(self.table) or {}
        self.beginResetModel()
        self.title = table.get("title", "")
        self.rows = list(table.get("rows", []))
        self.total = table.get("total")
        self.endResetModel()
        self.headerDataChanged.emit(Qt.Horizontal, 0, 2)
