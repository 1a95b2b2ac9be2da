"""The trouble-type tree (장애유형) of the record form, from ``GET /api/v1/trouble-types``."""

from __future__ import annotations

from typing import Any

from anysupport_qt import QStandardItem, QStandardItemModel, Qt

IdRole = Qt.UserRole + 1


class TroubleTypeModel(QStandardItemModel):
    def load(self, tree: list[dict[str, Any]]) -> None:
        self.clear()

        def add(parent: QStandardItem, nodes: list[dict[str, Any]]) -> None:
            for node in nodes:
                item = QStandardItem(node.get("name", ""))
                item.setEditable(False)
                item.setData(node["id"], IdRole)
                parent.appendRow(item)
                add(item, node.get("children", []))

        add(self.invisibleRootItem(), tree)

    def find(self, type_id: str | None):
        """The index of the type with that id (invalid index when none)."""
        if type_id:
            hits = self.match(self.index(0, 0), IdRole, type_id, 1, Qt.MatchRecursive | Qt.MatchExactly)
            if hits:
                return hits[0]
        return self.index(-1, -1)

    def path(self, type_id: str | None) -> str:
        index = self.find(type_id)
        names = []
        while index.isValid():
            names.append(index.data())
            index = index.parent()
        return " / ".join(reversed(names))
