"""The session list (세션 탭): code, state, created, number, one row per session, live from ``state``."""

from __future__ import annotations

from typing import Any

from anysupport_qt import QAbstractTableModel, QBrush, QColor, QModelIndex, Qt

from .. import zone
from ..session_list import ExpiredSessions
from ..texts import Texts

COLUMNS = ("code", "state", "created_at", "number")
HEADERS = {"code": "col_code", "state": "col_state", "created_at": "col_created", "number": "col_number"}
ORDER = {"connected": 0, "online": 1, "offline": 2, "expired": 3}


def short_time(iso: str | None) -> str:
    """``05-17 21:16:54`` in the server's zone (``zone``), as the manual shows it."""
    return zone.show(iso, "%m-%d %H:%M:%S")


class SessionsModel(QAbstractTableModel):
    IdRole = Qt.UserRole + 1
    StateRole = Qt.UserRole + 2

    FADED = QColor(150, 150, 150)  # an expired session, until it leaves the list

    def __init__(self, texts: Texts, parent=None, *, expired: ExpiredSessions | None = None):
        super().__init__(parent)
        self.texts = texts
        self.rows: list[dict[str, Any]] = []
        self.expired = expired or ExpiredSessions()  # how long expired sessions stay (faded)
        self.pinned: set[str] = set()  # sessions that stay whatever the rule (the one selected)

    def rowCount(self, parent=None) -> int:  # noqa: N802 (Qt's name)
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent=None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return self.texts(HEADERS[COLUMNS[section]])
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.DisplayRole:
            if column == "state":
                return self.texts(f"state_{row.get('state', 'offline')}")
            if column == "created_at":
                return short_time(row.get("created_at"))
            value = row.get(column)
            return "" if value is None else str(value)
        if role == Qt.TextAlignmentRole:
            return int(Qt.AlignCenter)
        if role == self.IdRole:
            return row["id"]
        if role == self.StateRole:
            return row.get("state")
        expired = row.get("state") == "expired"
        if role == Qt.ForegroundRole and expired:
            return QBrush(self.FADED)
        if role == Qt.ToolTipRole and (row.get("customer") or expired):
            customer = row.get("customer") or {}
            lines = [" · ".join(str(customer[k]) for k in ("name", "phone", "ip") if customer.get(k))]
            if expired:
                lines.append(self.texts("expired_leaves_list", minutes=round(self.expired.keep_seconds / 60)))
            return "\n".join(line for line in lines if line)
        return None

    # -- changes ---------------------------------------------------------------------------------------
    def reset(self, sessions: list[dict[str, Any]]) -> None:
        for session in sessions:
            self.expired.note(session)
        self.beginResetModel()
        self.rows = sorted((dict(s) for s in sessions if self.expired.shown(s, self.pinned)), key=self._key)
        self.endResetModel()

    @staticmethod
    def _key(row: dict[str, Any]):
        return ORDER.get(row.get("state"), 9), row.get("created_at") or ""

    def upsert(self, session: dict[str, Any]) -> None:
        """A session appeared or changed: update its row in place (or add it, unless it has left the list)."""
        self.expired.note(session)
        for i, row in enumerate(self.rows):
            if row["id"] == session["id"]:
                row.update({k: v for k, v in session.items() if v is not None or k not in row})
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
                return
        if not self.expired.shown(session, self.pinned):
            return
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows))
        self.rows.append(dict(session))
        self.endInsertRows()

    def prune(self) -> list[str]:
        """Drop the expired sessions whose time in the list is over (not the pinned); returns their ids."""
        gone = [i for i, row in enumerate(self.rows) if not self.expired.shown(row, self.pinned)]
        ids = [self.rows[i]["id"] for i in gone]
        for i in reversed(gone):  # row by row, so the view keeps its selection
            self.beginRemoveRows(QModelIndex(), i, i)
            del self.rows[i]
            self.endRemoveRows()
        return ids

    def remove_expired(self) -> None:
        keep = [r for r in self.rows if r.get("state") != "expired"]
        if len(keep) != len(self.rows):
            self.reset(keep)

    def row_of(self, session_id: str) -> int:
        for i, row in enumerate(self.rows):
            if row["id"] == session_id:
                return i
        return -1

    def session(self, row: int) -> dict[str, Any] | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None
