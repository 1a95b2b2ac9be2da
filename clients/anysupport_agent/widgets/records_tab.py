"""지원 기록 관리: a period, 보기 (the three statistics tables), and 전체 기록 보기 (Excel).

The first time the tab is shown it loads the current month (the 1st to today), so a team lead who opens
it reads this month's figures instead of empty tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from anysupport_qt import (
    QCheckBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .. import zone
from ..models.statistics import TABLES, StatisticsModel
from ..paths import documents_dir
from ..texts import Texts
from .common import MessageLine, OpenFolder

#: ``choose_path(parent, suggested) -> Path | None`` — injectable so tests skip the file dialog.
ChoosePath = Callable[[QWidget, Path], Path | None]


def choose_path_dialog(texts: Texts) -> ChoosePath:
    def choose(parent: QWidget, suggested: Path) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(parent, texts("export_save"), str(suggested), "Excel (*.xlsx)")
        return Path(name) if name else None

    return choose


class RecordsTab(QWidget):
    def __init__(self, *, texts: Texts, bridge, open_folder: OpenFolder, choose_path: ChoosePath, parent=None):
        super().__init__(parent)
        self.texts = texts
        self.bridge = bridge
        self.open_folder = open_folder
        self.choose_path = choose_path
        self.whole = QCheckBox(texts("whole_period"))
        self.whole.setChecked(True)
        self.opened = False  # the first showing loads the current month
        self.day_from = QDateEdit()
        self.day_to = QDateEdit()
        for edit in (self.day_from, self.day_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        self.day_to.setDate(zone.today())  # the server's day (zone.py), not the PC's
        self.day_from.setDate(self.day_to.date().addMonths(-1))
        self.zone_label = QLabel()  # the zone the days are counted in, named (zone.py)
        self.show_button = QPushButton(texts("show"))
        self.export_button = QPushButton(texts("export"))
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: the server builds the workbook
        self.progress.setFormat(texts("exporting"))
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.total = QLabel()
        self.message = MessageLine()
        top = QHBoxLayout()
        top.addWidget(self.whole)
        top.addWidget(QLabel(texts("from")))
        top.addWidget(self.day_from)
        top.addWidget(QLabel("~"))
        top.addWidget(QLabel(texts("to")))
        top.addWidget(self.day_to)
        top.addWidget(self.zone_label)
        top.addWidget(self.show_button)
        top.addStretch(1)
        top.addWidget(self.export_button)
        tables = QHBoxLayout()
        self.models: dict[str, StatisticsModel] = {}
        self.views: dict[str, QTableView] = {}
        for name in TABLES:
            model = StatisticsModel(texts, name, self)
            view = QTableView()
            view.setModel(model)
            view.verticalHeader().hide()
            view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
            view.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
            view.setMinimumWidth(260)
            self.models[name] = model
            self.views[name] = view
            tables.addWidget(view)
        title = QLabel(texts("stats_title"))
        title.setStyleSheet("font-weight: bold;")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(title)
        layout.addWidget(self.total)
        layout.addLayout(tables, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        self.whole.toggled.connect(lambda on: (self.day_from.setEnabled(not on), self.day_to.setEnabled(not on)))
        self.show_button.clicked.connect(lambda: self.show_statistics())
        self.export_button.clicked.connect(self.export)
        bridge.event.connect(self._on_event)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if not self.opened:
            self.opened = True
            self.show_current_month()

    def show_current_month(self) -> None:
        """The period becomes the 1st of this month to today, and this month's statistics are loaded.
        The request leaves the end open ("up to now"): the server counts days in its own time zone,
        which may already be tomorrow for this PC."""
        self.zone_label.setText(self.texts("time_zone_named", zone=zone.name()))
        self.day_to.setDate(zone.today())
        today = self.day_to.date()
        self.whole.setChecked(False)
        self.day_from.setDate(today.addDays(1 - today.day()))
        self.show_statistics(self.period()[0], None)

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "export_progress" and self.progress.isVisible() and data.get("total"):
            self.progress.setRange(0, int(data["total"]))
            self.progress.setValue(int(data["bytes"]))

    def period(self) -> tuple[str | None, str | None]:
        if self.whole.isChecked():
            return None, None
        a, b = self.day_from.date(), self.day_to.date()
        if a > b:
            a, b = b, a
        return a.toString("yyyy-MM-dd"), b.toString("yyyy-MM-dd")

    def _error(self, info: dict[str, Any]) -> None:
        self.progress.hide()
        self.export_button.setEnabled(True)
        self.message.show_error(self.texts.error_text(info))

    def show_statistics(self, *period: str | None) -> None:
        """The statistics of ``period`` (first, last), by default the one chosen on the tab."""
        self.message.clear_message()
        client = self.bridge.client
        first, last = period or self.period()
        self.bridge.submit(client.rest.statistics(first, last, lang=client.language), on_result=self._loaded,
                           on_error=self._error)

    def _loaded(self, stats: dict[str, Any]) -> None:
        for model in self.models.values():
            model.load(stats)
        total = stats.get("total", 0)
        self.total.setText(self.texts("records_total_one" if total == 1 else "records_total", n=total))

    def export(self) -> None:
        day_from, day_to = self.period()
        today = zone.today().isoformat()
        # the name says which days: a period's first and last, or everything until today
        name = f"AnySupport-records-{day_from}-{day_to}.xlsx" if day_from else f"AnySupport-records-all-until-{today}.xlsx"
        path = self.choose_path(self, documents_dir() / name)
        if path is None:
            return
        self.message.clear_message()
        self.progress.setRange(0, 0)  # busy until the server says how big the workbook is
        self.progress.show()
        self.export_button.setEnabled(False)

        bridge = self.bridge

        def progress(done: int, total: int | None) -> None:  # on the loop thread
            bridge.forward("export_progress", {"bytes": done, "total": total})

        async def fetch_and_write() -> Path:
            path.parent.mkdir(parents=True, exist_ok=True)
            await bridge.client.rest.export(day_from, day_to, str(path), lang=bridge.client.language, progress=progress)
            return path

        self.bridge.submit(fetch_and_write(), on_result=self._exported, on_error=self._write_error)

    def _write_error(self, info: dict[str, Any]) -> None:
        if info.get("error") is None:  # not the server: the file could not be written
            self.progress.hide()
            self.export_button.setEnabled(True)
            self.message.show_error(self.texts("export_failed", error=info.get("exception", "")))
        else:
            self._error(info)

    def _exported(self, path: Path) -> None:
        self.progress.hide()
        self.export_button.setEnabled(True)
        self.message.show_info(self.texts("export_done", path=str(path)))
        self.open_folder(path.parent)

