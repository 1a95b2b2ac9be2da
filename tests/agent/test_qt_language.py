"""Issue 17 #12: Qt's own dialogs speak the console's language (OK / Cancel, the file dialog's buttons).

The translations are the ones the PyQt5 wheel ships (``qtbase_ko.qm``); the expected Korean words are
read from that file itself, so the test checks that the console loads it, not what Qt's translators chose.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from anysupport_agent.qt_language import QtLanguage
from anysupport_qt import (
    QDialogButtonBox,
    QFileDialog,
    QLibraryInfo,
    QMessageBox,
    QTranslator,
)

from .conftest import log_in


def buttons() -> tuple[str, str]:
    box = QMessageBox()
    box.setStandardButtons(QMessageBox.Ok | QMessageBox.Cancel)
    return box.button(QMessageBox.Ok).text(), box.button(QMessageBox.Cancel).text()


def save_dialog_buttons() -> list[str]:
    dialog = QFileDialog(None, "")
    dialog.setOption(QFileDialog.DontUseNativeDialog)
    dialog.setAcceptMode(QFileDialog.AcceptSave)
    return [b.text() for b in dialog.findChild(QDialogButtonBox).buttons()]


def korean(context: str, text: str) -> str:
    translator = QTranslator()
    assert translator.load("qtbase_ko", QLibraryInfo.location(QLibraryInfo.TranslationsPath))
    return translator.translate(context, text)


def test_the_wheel_ships_qts_korean_and_it_reads_as_expected(qapp):
    assert (Path(QtLanguage.folder()) / "qtbase_ko.qm").is_file()
    language = QtLanguage(qapp)
    try:
        assert language.apply("ko")
        assert buttons() == (korean("QPlatformTheme", "OK"), korean("QPlatformTheme", "Cancel")) == ("확인", "취소")
        language.apply("en")
        assert buttons() == ("OK", "Cancel")
    finally:
        language.remove()


@pytest.mark.slow
def test_the_console_in_korean_shows_qts_dialogs_in_korean_and_follows_a_language_change(
        qtbot, console_factory, new_agent):
    assert buttons() == ("OK", "Cancel")  # nothing installed before the console starts
    login, password = new_agent()
    app = console_factory("ko")
    assert buttons() == ("확인", "취소")
    assert save_dialog_buttons() == ["저장(&S)", "취소"]  # the Excel export's save dialog
    main = log_in(qtbot, app, login, password)
    dialog = main.open_settings()  # 설정 → English
    dialog.language.setCurrentIndex(dialog.language.findData("en"))
    dialog.accept()
    assert app.settings["language"] == "en"
    assert buttons() == ("OK", "Cancel")
    dialog = main.open_settings()
    dialog.language.setCurrentIndex(dialog.language.findData("ko"))
    dialog.accept()
    assert buttons() == ("확인", "취소")
    app.shutdown()
    app.shutdown = lambda: None  # the fixture's own shutdown has nothing left to do
    assert buttons() == ("OK", "Cancel")  # the console took its translation with it

