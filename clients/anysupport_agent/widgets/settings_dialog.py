"""설정: the guidance panel, three background colours, language, folders, audio devices, waiting alerts."""

from __future__ import annotations

from anysupport_client.media.speaker import speakers
from anysupport_qt import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from ..devices import microphones
from ..settings import BACKGROUNDS, Settings
from ..texts import Texts


class SettingsDialog(QDialog):
    def __init__(self, texts: Texts, settings: Settings, parent=None):
        super().__init__(parent)
        self.texts = texts
        self.settings = settings
        self.setWindowTitle(texts("settings_title"))
        self.guidance = QCheckBox(texts("guidance_panel"))
        self.guidance.setChecked(settings["guidance_panel"])
        self.background = QComboBox()
        for name in BACKGROUNDS:
            self.background.addItem(texts(f"bg_{name}"), name)
        self.background.setCurrentIndex(list(BACKGROUNDS).index(settings["background"]))
        self.language = QComboBox()
        self.language.addItem(texts("lang_ko"), "ko")
        self.language.addItem(texts("lang_en"), "en")
        self.language.setCurrentIndex(0 if settings["language"] == "ko" else 1)
        self.record_folder = QLineEdit(settings["record_folder"])
        self.capture_folder = QLineEdit(settings["capture_folder"])
        self.audio_input = self._devices("input", settings["audio_input"])
        self.audio_output = self._devices("output", settings["audio_output"])
        self.alerts = {kind: QCheckBox(texts(f"alert_{kind}")) for kind in ("sound", "taskbar", "notification")}
        alerts_row = QHBoxLayout()
        for kind, box in self.alerts.items():
            box.setChecked(settings[f"alert_{kind}"])
            alerts_row.addWidget(box)
        alerts_row.addStretch(1)
        form = QFormLayout(self)
        form.addRow(self.guidance)
        form.addRow(texts("background"), self.background)
        form.addRow(texts("language"), self.language)
        form.addRow("", QLabel(texts("language_restart")))
        form.addRow(texts("record_folder"), self._with_browse(self.record_folder))
        form.addRow(texts("capture_folder"), self._with_browse(self.capture_folder))
        form.addRow(texts("audio_input"), self.audio_input)
        form.addRow(texts("audio_output"), self.audio_output)
        form.addRow(QLabel(texts("alerts_group")))
        form.addRow(alerts_row)
        buttons = QDialogButtonBox()
        buttons.addButton(texts("ok_button"), QDialogButtonBox.AcceptRole)
        buttons.addButton(texts("cancel"), QDialogButtonBox.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.setMinimumWidth(520)

    def _devices(self, kind: str, current: str) -> QComboBox:
        box = QComboBox()
        box.addItem(self.texts("default_device"), "")
        for name in (microphones() if kind == "input" else speakers()):
            box.addItem(name, name)
        if current and box.findData(current) < 0:
            box.addItem(current, current)
        box.setCurrentIndex(max(0, box.findData(current)))
        return box

    def _with_browse(self, edit: QLineEdit) -> QWidget:
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        button = QPushButton(self.texts("browse"))
        row.addWidget(button)

        def browse() -> None:
            folder = QFileDialog.getExistingDirectory(self, self.texts("browse"), edit.text())
            if folder:
                edit.setText(folder)

        button.clicked.connect(browse)
        return holder

    def accept(self) -> None:
        self.settings.update({
            "guidance_panel": self.guidance.isChecked(),
            "background": self.background.currentData(),
            "language": self.language.currentData(),
            "record_folder": self.record_folder.text().strip() or self.settings["record_folder"],
            "capture_folder": self.capture_folder.text().strip() or self.settings["capture_folder"],
            "audio_input": self.audio_input.currentData(),
            "audio_output": self.audio_output.currentData(),
            **{f"alert_{kind}": box.isChecked() for kind, box in self.alerts.items()},
        })
        super().accept()
